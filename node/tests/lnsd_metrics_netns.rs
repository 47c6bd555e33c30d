//! lnsd's operations endpoint end to end, as root in a throw-away network
//! namespace (skipped with a message otherwise): the whole daemon
//! (`daemon::run_with`) with an `[http]` section, one PAP session brought
//! up by the test LAC of `netns_support`, then `/metrics` scraped over TCP
//! as Prometheus would: one established session and tunnel, one PAP
//! accept, one address used from the pool, L2TP control traffic counted;
//! `/readyz` 200 while serving and 503 once shutdown is asked; the live
//! exposition passes `promtool check metrics` (skipped with a message when
//! promtool is not installed).
//!
//! ```text
//!  ns lnsd-met-PID
//!  lo: 198.18.0.1 (lnsd: UDP 1701, HTTP 9701)   198.18.0.2 (test LAC)
//!  lnsmetN (TUN): 198.19.255.254, pool 198.19.1.10-20
//! ```

mod netns_support;

use lns_node::config::Config;
use lns_node::control::{ControlSignal, Exit};
use lns_proto::l2tp::CallInfo;
use netns_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HTTP: &str = "198.18.0.1:9701";

fn config(dir: &std::path::Path, tun: &str) -> Config {
    let sections = format!("[http]\nlisten = \"{HTTP}\"\n{}", mgmt_section(dir));
    lo_config(dir, &lo_config_text("lnsd-metrics", tun, "", &sections))
}

/// One HTTP/1.1 GET; returns (status, body). Connection: close, so the
/// body ends at EOF.
fn get(path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(HTTP)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: lnsd\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// The value of one series (`name{labels}` exactly as exposed).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `promtool check metrics` on `text`: Some(report) or None when absent.
fn promtool(text: &str) -> Option<(bool, String)> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("promtool reads");
    let out = child.wait_with_output().expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), report))
}

#[test]
fn metrics_and_readiness_of_a_live_session() {
    if !can_run() {
        return;
    }
    let (ns, dir, tun) = lo_bed("lnsd-met", "lnsmet");
    let cfg = config(&dir, &tun);

    let (signals, daemon) = spawn_daemon(&ns.0, cfg);

    let lac_ns = ns.0.clone();
    let scraped = std::thread::spawn(move || {
        enter(&lac_ns);
        let mut lac = Lac::new();
        let tunnel = lac.tunnel_up();
        let ipcp = lac.call_up(tunnel, CallInfo::default(), Duration::from_secs(15));
        assert!(ipcp, "PPP up: {:?} / {:?}", lac.sub_events, lac.events);

        // Gauges are sampled once a second: keep the LAC answering while
        // scraping until the session shows (bounded).
        let deadline = Instant::now() + Duration::from_secs(10);
        let metrics = loop {
            let (status, body) = get("/metrics").expect("scrape");
            assert_eq!(status, 200);
            if value(&body, "lnsd_sessions{state=\"established\"}") == Some(1.0)
                || Instant::now() > deadline
            {
                break body;
            }
            lac.drive(Duration::from_millis(200), |_| false);
        };
        let ready = get("/readyz").expect("readyz");

        signals
            .blocking_send(ControlSignal::Shutdown)
            .expect("daemon alive");
        // The LAC is not driven yet, so the daemon is still waiting for
        // its StopCCN to be acknowledged: readiness must already say so.
        let deadline = Instant::now() + Duration::from_secs(3);
        let stopping = loop {
            let r = get("/readyz").expect("readyz while stopping");
            if r.0 == 503 || Instant::now() > deadline {
                break r;
            }
        };
        lac.wait_tunnel_down(Duration::from_secs(10));
        (metrics, ready, stopping)
    });
    let (metrics, ready, stopping) = scraped.join().expect("LAC thread");
    let exit = daemon.join().expect("daemon thread").expect("daemon ran");
    std::fs::remove_dir_all(&dir).ok();

    let v = |series: &str| value(&metrics, series);
    assert_eq!(v("lnsd_sessions{state=\"established\"}"), Some(1.0));
    assert_eq!(v("lnsd_sessions{state=\"negotiating\"}"), Some(0.0));
    assert_eq!(v("lnsd_tunnels{state=\"established\"}"), Some(1.0));
    assert_eq!(
        v("lnsd_authentications_total{method=\"pap\",outcome=\"accept\"}"),
        Some(1.0)
    );
    assert_eq!(
        v("lnsd_authentications_total{method=\"pap\",outcome=\"reject\"}"),
        Some(0.0)
    );
    assert_eq!(v("lnsd_session_setups_total"), Some(1.0));
    assert_eq!(v("lnsd_tunnel_setups_total"), Some(1.0));
    assert_eq!(v("lnsd_pool_size{pool=\"p\"}"), Some(11.0));
    assert_eq!(v("lnsd_pool_used{pool=\"p\"}"), Some(1.0));
    assert_eq!(v("lnsd_node_role{role=\"active\"}"), Some(1.0));
    let control_rx = v("lnsd_l2tp_rx_packets_total{channel=\"control\"}").unwrap_or(0.0);
    assert!(
        control_rx >= 3.0,
        "SCCRQ, SCCCN, ICRQ, ICCN...: {control_rx}"
    );
    assert!(
        !metrics.contains("alice"),
        "no per-user label in the exposition"
    );
    assert_eq!(ready.0, 200, "{}", ready.1);
    assert_eq!(stopping.0, 503, "{}", stopping.1);
    assert!(stopping.1.contains("stopping"), "{}", stopping.1);
    assert_eq!(exit, Exit::Clean);
    match promtool(&metrics) {
        None => eprintln!("promtool not installed: skipping the exposition lint"),
        Some((ok, report)) => assert!(ok, "promtool check metrics:\n{report}"),
    }
}
