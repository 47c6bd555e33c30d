//! lac-sim against Debian's l2tpns 2.4.1 with FreeRADIUS, in namespaces
//! lac <-> lns <-> core (REFERENCE.md "Running Debian's l2tpns"): proves
//! the test LAC itself interoperates. Two tunnels x five sessions, PAP and
//! then CHAP; every session must come up with an address from the pool,
//! probes must come back from the reflector in `core` through l2tpns, and
//! teardown (CDN then StopCCN) must be acknowledged. Skips when not root
//! or when l2tpns/FreeRADIUS are not installed (chaos-tests/bin/setup).

use std::net::Ipv4Addr;
use std::process::Command;

use std::time::Duration;

use lns_chaos_tests::harness::{have_program, require_root, Privilege, Signal};
use lns_chaos_tests::peers::l2tpns::{LAC_ADDR, PEER_ADDRESS};
use lns_chaos_tests::peers::{BedOptions, L2tpnsBed};

const TEMPLATE: &str = "sub{n}@interop";
const PASSWORD: &str = "interop-pw";

fn runnable(test: &str) -> bool {
    if require_root(test) == Privilege::Unprivileged {
        return false;
    }
    for p in ["l2tpns", "freeradius"] {
        if !have_program(p) {
            eprintln!("SKIPPED: {p} not installed ({test}); run chaos-tests/bin/setup");
            return false;
        }
    }
    true
}

fn bed(tunnel_secret: Option<&str>) -> L2tpnsBed {
    L2tpnsBed::start(&BedOptions {
        users: 10,
        user_template: TEMPLATE.into(),
        password: PASSWORD.into(),
        tunnel_secret: tunnel_secret.map(str::to_string),
        reflector_bin: env!("CARGO_BIN_EXE_reflector").into(),
        debug: 3,
    })
    .expect("start l2tpns bed")
}

/// lac-sim's command line for 2 x 5 sessions against the bed.
fn lac_sim_command(bed: &L2tpnsBed, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lac-sim"));
    cmd.args([
        "--lns",
        &bed.lns().to_string(),
        "--local",
        &LAC_ADDR.to_string(),
        "--tunnels",
        "2",
        "--sessions-per-tunnel",
        "5",
        "--user-template",
        TEMPLATE,
        "--password",
        PASSWORD,
        "--reflector",
        &bed.reflector().to_string(),
        "--traffic-pps",
        "20",
        "--setup-timeout",
        "30",
        "--json",
    ])
    .args(extra);
    cmd
}

/// Runs lac-sim in `lac` and returns (summary line, JSON report).
fn lac_sim(bed: &L2tpnsBed, extra: &[&str]) -> (String, serde_json::Value) {
    let mut cmd = lac_sim_command(bed, extra);
    cmd.args(["--hold", "2"]);
    let out = bed.topo.run_in("lac", &mut cmd).expect("lac-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    parse_output(&stdout)
}

/// The summary line and the JSON report in lac-sim's output.
fn parse_output(stdout: &str) -> (String, serde_json::Value) {
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_string();
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    let report: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}"));
    (summary, report)
}

fn in_pool(a: Ipv4Addr) -> bool {
    // 198.19.0.0/19
    let o = a.octets();
    o[0] == 198 && o[1] == 19 && o[2] < 32
}

fn check(bed: &L2tpnsBed, summary: &str, r: &serde_json::Value) {
    let log = || bed.l2tpns_log();
    assert!(
        summary.starts_with(
            "lac-sim tunnels=2 tunnels_up=2 tunnels_lost=0 sessions=10 sessions_up=10 "
        ),
        "{summary}\n{}",
        log()
    );
    let list = r["session_list"].as_array().expect("session_list");
    assert_eq!(list.len(), 10);
    let mut seen = std::collections::BTreeSet::new();
    for s in list {
        let ip: Ipv4Addr = s["ipv4"]
            .as_str()
            .unwrap_or_else(|| panic!("session without IPv4: {s}\n{summary}"))
            .parse()
            .expect("IPv4 literal");
        assert!(in_pool(ip), "{ip} is outside the pool");
        assert_ne!(ip, PEER_ADDRESS);
        assert!(seen.insert(ip), "{ip} handed out twice");
        assert!(s["sent"].as_u64().unwrap_or(0) > 0, "no probes sent: {s}");
        assert!(s["received"].as_u64().unwrap_or(0) > 0, "no replies: {s}");
        assert_eq!(s["dropped_early"], false, "{s}");
    }
    let sent = r["sent"].as_u64().expect("sent");
    let losses = r["losses"].as_u64().expect("losses");
    assert!(sent >= 10 * 20, "{summary}");
    // A probe in flight at the last instant may be lost; anything more is a bug.
    assert!(losses * 100 <= sent, "losses {losses} of {sent}: {summary}");
    assert_eq!(r["clean_teardown"], true, "{summary}\n{}", log());
    assert!(summary.ends_with(" teardown=clean"), "{summary}");
}

#[test]
fn lac_sim_pap_and_chap_against_l2tpns() {
    if !runnable("lac_sim_pap_and_chap_against_l2tpns") {
        return;
    }
    let bed = bed(None);
    let (summary, report) = lac_sim(&bed, &["--auth", "pap"]);
    println!("pap:  {summary}");
    check(&bed, &summary, &report);
    let pap_logins = bed.l2tpns_log().matches("PAP login").count();
    assert_eq!(pap_logins, 10, "every PAP session logged in by PAP");
    let (summary, report) = lac_sim(&bed, &["--auth", "chap"]);
    println!("chap: {summary}");
    check(&bed, &summary, &report);
    let log = bed.l2tpns_log();
    // CHAP sessions log in without any further PAP login.
    assert_eq!(log.matches("PAP login").count(), 10);
    assert_eq!(log.matches("Login by sub").count(), 20);
}

#[test]
fn lac_sim_with_tunnel_authentication_against_l2tpns() {
    if !runnable("lac_sim_with_tunnel_authentication_against_l2tpns") {
        return;
    }
    let bed = bed(Some("tunnel-s3cret"));
    let (summary, report) = lac_sim(&bed, &["--auth", "pap", "--tunnel-secret", "tunnel-s3cret"]);
    println!("secret: {summary}");
    check(&bed, &summary, &report);
    // RFC 2661 §5.1.1: a LAC with the wrong secret must not get a tunnel.
    let (summary, _) = lac_sim(&bed, &["--tunnel-secret", "wrong"]);
    println!("wrong secret: {summary}");
    assert!(
        summary.starts_with("lac-sim tunnels=2 tunnels_up=0 "),
        "{summary}"
    );
    assert!(summary.contains(" sessions_up=0 "), "{summary}");
    // Our StopCCN after the failed Challenge Response counts as a lost tunnel.
    assert!(summary.contains(" tunnels_lost=2 "), "{summary}");
}

#[test]
fn lac_sim_holds_until_sigterm_then_tears_down_cleanly() {
    if !runnable("lac_sim_holds_until_sigterm_then_tears_down_cleanly") {
        return;
    }
    let bed = bed(None);
    // No --hold: sessions stay up until a signal (what the failover drills use).
    let mut cmd = lac_sim_command(&bed, &["--auth", "chap"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 2s", Duration::from_secs(60))
        .expect("sessions held");
    sim.signal(Signal::Term).expect("SIGTERM");
    let status = sim
        .wait_exit(Duration::from_secs(30))
        .expect("lac-sim exits");
    assert!(status.success(), "{status}\n{}", sim.log());
    let log = sim.log();
    assert!(log.contains("lac-sim: signal received"), "{log}");
    let (summary, report) = parse_output(&log);
    println!("sigterm: {summary}");
    check(&bed, &summary, &report);
}

#[test]
fn lac_sim_paces_setup_and_reports_an_lns_that_stops() {
    if !runnable("lac_sim_paces_setup_and_reports_an_lns_that_stops") {
        return;
    }
    let mut bed = bed(None);
    // --setup-rate 20/s for 10 sessions: the last ICRQ goes out ~0.45 s in.
    let mut cmd = lac_sim_command(&bed, &["--setup-rate", "20"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 1s", Duration::from_secs(60))
        .expect("sessions held");
    // l2tpns's clean shutdown (SIGQUIT) sends StopCCN on every tunnel.
    bed.stop_l2tpns().expect("l2tpns stops");
    sim.wait_for_log("lac-sim: tunnel", Duration::from_secs(20))
        .expect("lac-sim notices the StopCCN");
    sim.signal(Signal::Term).expect("SIGTERM");
    let status = sim
        .wait_exit(Duration::from_secs(30))
        .expect("lac-sim exits");
    assert!(status.success(), "{status}\n{}", sim.log());
    let (summary, report) = parse_output(&sim.log());
    println!("stopped: {summary}");
    assert!(summary.contains(" sessions_up=10 "), "{summary}");
    assert!(summary.contains(" tunnels_lost=2 "), "{summary}");
    assert!(summary.contains(" dropped=10 "), "{summary}");
    let setup_secs = report["setup_secs"].as_f64().expect("setup_secs");
    assert!(setup_secs >= 0.4, "setup rate not applied: {summary}");
    assert!(sim.log().contains("PeerStopped"), "{}", sim.log());
}
