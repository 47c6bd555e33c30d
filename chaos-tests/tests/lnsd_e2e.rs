//! lnsd end to end: lac-sim in `lac` dials lnsd in `lns`, probes go through
//! lnsd's TUN to the reflector in `core` (peers::lnsd). Each test asserts
//! lac-sim's report (sessions up, pool addresses, losses, who closed the
//! tunnels) and lnsd's log and exit code. Skips when not root (and, for
//! RADIUS, when FreeRADIUS is not installed: chaos-tests/bin/setup).
//!
//! The lnsd binary is found by `peers::lnsd::lnsd_binary` (`LNSD_BIN`, or
//! `target/<profile>/lnsd`, built with cargo when missing).

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use lns_chaos_tests::harness::{have_program, require_root, Privilege, Signal};
use lns_chaos_tests::peers::l2tpns::{LAC_ADDR, PEER_ADDRESS};
use lns_chaos_tests::peers::lnsd::{lnsd_binary, metric_sum, Aaa};
use lns_chaos_tests::peers::{LnsdBed, LnsdOptions};

const TEMPLATE: &str = "sub{n}@e2e";
const PASSWORD: &str = "e2e-pw";

fn runnable(test: &str, aaa: Aaa) -> bool {
    if require_root(test) == Privilege::Unprivileged {
        return false;
    }
    if aaa == Aaa::Radius && !have_program("freeradius") {
        eprintln!("SKIPPED: freeradius not installed ({test}); run chaos-tests/bin/setup");
        return false;
    }
    true
}

fn bed(users: u32, aaa: Aaa) -> LnsdBed {
    let mut opts = LnsdOptions::new(
        users,
        TEMPLATE,
        PASSWORD,
        env!("CARGO_BIN_EXE_reflector").into(),
    );
    opts.aaa = aaa;
    opts.lnsd_bin = lnsd_binary().expect("lnsd binary");
    LnsdBed::start(&opts).expect("start lnsd bed")
}

/// lac-sim's command line: `tunnels` x `per_tunnel` sessions against the bed.
fn lac_sim_command(bed: &LnsdBed, tunnels: u32, per_tunnel: u32, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lac-sim"));
    cmd.args([
        "--lns",
        &bed.lns().to_string(),
        "--local",
        &LAC_ADDR.to_string(),
        "--tunnels",
        &tunnels.to_string(),
        "--sessions-per-tunnel",
        &per_tunnel.to_string(),
        "--reflector",
        &bed.reflector().to_string(),
        "--traffic-pps",
        "20",
        "--setup-timeout",
        "30",
        "--json",
    ])
    .args(extra);
    // Defaults unless `extra` names its own.
    if !extra.contains(&"--user-template") {
        cmd.args(["--user-template", TEMPLATE]);
    }
    if !extra.contains(&"--password") {
        cmd.args(["--password", PASSWORD]);
    }
    cmd
}

/// Runs lac-sim in `lac` for `--hold 2` and returns (summary, JSON report).
fn lac_sim(bed: &LnsdBed, tunnels: u32, per_tunnel: u32, extra: &[&str]) -> (String, Json) {
    let mut cmd = lac_sim_command(bed, tunnels, per_tunnel, extra);
    cmd.args(["--hold", "2"]);
    let out = bed.topo.run_in("lac", &mut cmd).expect("lac-sim runs");
    parse_output(&String::from_utf8_lossy(&out.stdout))
}

type Json = serde_json::Value;

/// The summary line and the JSON report in lac-sim's output.
fn parse_output(stdout: &str) -> (String, Json) {
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_string();
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    let report: Json =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}"));
    (summary, report)
}

fn in_pool(a: Ipv4Addr) -> bool {
    // 198.19.0.1 - 198.19.255.254
    (0xc613_0001..=0xc613_fffe).contains(&u32::from(a))
}

/// Every session up with a distinct pool address, traffic both ways with
/// ~0 loss, clean teardown; returns the addresses.
fn check_all_up(
    bed: &LnsdBed,
    summary: &str,
    r: &Json,
    tunnels: u32,
    sessions: u32,
) -> Vec<Ipv4Addr> {
    let log = || bed.log();
    let head = format!(
        "lac-sim tunnels={tunnels} tunnels_up={tunnels} tunnels_lost=0 sessions={sessions} sessions_up={sessions} "
    );
    assert!(summary.starts_with(&head), "{summary}\n{}", log());
    let list = r["session_list"].as_array().expect("session_list");
    assert_eq!(list.len(), sessions as usize);
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
        assert!(
            s["received"].as_u64().unwrap_or(0) > 0,
            "no replies: {s}\n{}",
            log()
        );
        assert_eq!(s["dropped_early"], false, "{s}");
    }
    let sent = r["sent"].as_u64().expect("sent");
    let losses = r["losses"].as_u64().expect("losses");
    assert!(sent >= u64::from(sessions) * 20, "{summary}");
    // A probe in flight at the last instant may be lost; more is a bug.
    assert!(losses * 100 <= sent, "losses {losses} of {sent}: {summary}");
    assert_eq!(r["clean_teardown"], true, "{summary}\n{}", log());
    assert!(summary.ends_with(" teardown=clean"), "{summary}");
    seen.into_iter().collect()
}

/// Waits until lnsd's log holds `needle` at least `count` times.
fn wait_log_count(bed: &LnsdBed, needle: &str, count: usize, timeout: Duration) -> usize {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let n = bed.log().matches(needle).count();
        if n >= count || std::time::Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hundred_sessions_pap_and_chap_with_the_users_file() {
    if !runnable(
        "hundred_sessions_pap_and_chap_with_the_users_file",
        Aaa::UsersFile,
    ) {
        return;
    }
    let mut bed = bed(100, Aaa::UsersFile);
    let (summary, report) = lac_sim(&bed, 10, 10, &["--auth", "pap"]);
    println!("pap:  {summary}");
    check_all_up(&bed, &summary, &report, 10, 100);
    // StopCCN from the LAC: lnsd ends every session of the closed tunnels.
    let ended = wait_log_count(&bed, "session ended", 100, Duration::from_secs(10));
    assert_eq!(ended, 100, "{}", bed.log());
    let (summary, report) = lac_sim(&bed, 10, 10, &["--auth", "chap"]);
    println!("chap: {summary}");
    check_all_up(&bed, &summary, &report, 10, 100);
    let ended = wait_log_count(&bed, "session ended", 200, Duration::from_secs(10));
    assert_eq!(ended, 200, "{}", bed.log());
    assert!(bed.lnsd.running(), "{}", bed.log());
}

#[test]
fn hundred_sessions_pap_and_chap_with_freeradius() {
    if !runnable("hundred_sessions_pap_and_chap_with_freeradius", Aaa::Radius) {
        return;
    }
    let bed = bed(100, Aaa::Radius);
    // RADIUS on lo in `lns`, decoded by tshark if the sessions fail.
    let pcap = bed.topo.dir().join("radius.pcap");
    let capture = have_program("tcpdump").then(|| {
        let mut c = Command::new("tcpdump");
        c.args(["-i", "lo", "-U", "-w"])
            .arg(&pcap)
            .args(["udp", "port", "1812"]);
        bed.topo
            .spawn_in("lns", "tcpdump", &mut c)
            .expect("tcpdump")
    });
    let (summary, report) = lac_sim(&bed, 10, 10, &["--auth", "pap"]);
    println!("radius pap:  {summary}");
    if !summary.contains(" sessions_up=100 ") {
        let radius_log = std::fs::read_to_string(bed.topo.dir().join("radius/log/radius.log"));
        println!("FreeRADIUS log:\n{}", radius_log.unwrap_or_default());
        drop(capture);
        if let Ok(out) = Command::new("tshark")
            .args(["-r"])
            .arg(&pcap)
            .args(["-c", "12", "-Y", "radius"])
            .output()
        {
            println!("RADIUS on lo:\n{}", String::from_utf8_lossy(&out.stdout));
        }
    }
    check_all_up(&bed, &summary, &report, 10, 100);
    let (summary, report) = lac_sim(&bed, 10, 10, &["--auth", "chap"]);
    println!("radius chap: {summary}");
    check_all_up(&bed, &summary, &report, 10, 100);
    let radius_log = bed.radius.as_ref().map(|p| p.log()).unwrap_or_default();
    assert!(!radius_log.contains("Login incorrect"), "{radius_log}");
}

#[test]
fn wrong_passwords_are_refused_and_lnsd_stays_up() {
    if !runnable(
        "wrong_passwords_are_refused_and_lnsd_stays_up",
        Aaa::UsersFile,
    ) {
        return;
    }
    let mut bed = bed(10, Aaa::UsersFile);
    for auth in ["pap", "chap"] {
        let (summary, _) = lac_sim(&bed, 2, 5, &["--auth", auth, "--password", "wrong"]);
        println!("wrong {auth}: {summary}");
        assert!(
            summary.contains(" sessions=10 sessions_up=0 "),
            "{summary}\n{}",
            bed.log()
        );
        assert!(bed.lnsd.running(), "{}", bed.log());
    }
    let (summary, report) = lac_sim(&bed, 2, 5, &["--auth", "chap"]);
    println!("good: {summary}");
    check_all_up(&bed, &summary, &report, 2, 10);
}

#[test]
fn a_restarted_lac_gets_new_sessions() {
    if !runnable("a_restarted_lac_gets_new_sessions", Aaa::UsersFile) {
        return;
    }
    // Fast keepalives so that the dead LAC's sessions and tunnels are
    // noticed within seconds: LCP echo every second (3 missed end a
    // session), two retransmissions before a silent tunnel is dropped.
    let mut opts = LnsdOptions::new(
        10,
        TEMPLATE,
        PASSWORD,
        env!("CARGO_BIN_EXE_reflector").into(),
    );
    opts.lnsd_bin = lnsd_binary().expect("lnsd binary");
    opts.echo_interval_secs = 1;
    opts.max_retransmits = 2;
    let mut bed = LnsdBed::start(&opts).expect("start lnsd bed");
    let mut cmd = lac_sim_command(&bed, 2, 5, &["--auth", "pap"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim-1", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 1s", Duration::from_secs(60))
        .expect("sessions held");
    let before = wait_metrics(&bed, Duration::from_secs(10), |m| {
        gauge(m, "lnsd_sessions") == 10.0 && gauge(m, "lnsd_tunnels") == 2.0
    });
    assert_eq!(gauge(&before, "lnsd_sessions"), 10.0, "{before}");
    assert_eq!(gauge(&before, "lnsd_tunnels"), 2.0, "{before}");
    assert_eq!(gauge(&before, "lnsd_pool_used"), 10.0, "{before}");
    sim.signal(Signal::Kill).expect("SIGKILL");
    sim.wait_exit(Duration::from_secs(10))
        .expect("lac-sim dies");
    // The LAC comes back with fresh SCCRQs (new ports, new tunnel ids).
    let (summary, report) = lac_sim(&bed, 2, 5, &["--auth", "pap"]);
    println!("restarted: {summary}");
    check_all_up(&bed, &summary, &report, 2, 10);
    assert!(bed.lnsd.running(), "{}", bed.log());
    // The new LAC closed its tunnels; lnsd must also have cleaned up the
    // dead one's: no tunnel, no session, every address back in the pool.
    let after = wait_metrics(&bed, Duration::from_secs(60), |m| {
        gauge(m, "lnsd_sessions") == 0.0
            && gauge(m, "lnsd_tunnels") == 0.0
            && gauge(m, "lnsd_pool_used") == 0.0
    });
    assert_eq!(
        gauge(&after, "lnsd_sessions"),
        0.0,
        "{after}\n{}",
        bed.log()
    );
    assert_eq!(gauge(&after, "lnsd_tunnels"), 0.0, "{after}\n{}", bed.log());
    assert_eq!(
        gauge(&after, "lnsd_pool_used"),
        0.0,
        "{after}\n{}",
        bed.log()
    );
    let ended = wait_log_count(&bed, "session ended", 20, Duration::from_secs(5));
    assert_eq!(ended, 20, "10 dead and 10 closed sessions:\n{}", bed.log());
}

/// The sum over label sets of `metric` (0 when absent).
fn gauge(text: &str, metric: &str) -> f64 {
    metric_sum(text, metric).unwrap_or(0.0)
}

/// Scrapes lnsd's /metrics until `done` holds or `timeout` passes;
/// returns the last scrape.
fn wait_metrics(bed: &LnsdBed, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let text = bed.metrics().unwrap_or_default();
        if done(&text) || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sigterm_closes_every_tunnel_and_exits_zero() {
    if !runnable("sigterm_closes_every_tunnel_and_exits_zero", Aaa::UsersFile) {
        return;
    }
    let mut bed = bed(10, Aaa::UsersFile);
    let mut cmd = lac_sim_command(&bed, 2, 5, &["--auth", "chap"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 1s", Duration::from_secs(60))
        .expect("sessions held");
    let code = bed.stop_lnsd(Duration::from_secs(20)).expect("lnsd exits");
    assert_eq!(code, Some(0), "{}", bed.log());
    sim.wait_for_log("lac-sim: tunnel", Duration::from_secs(20))
        .expect("lac-sim notices the StopCCN");
    sim.signal(Signal::Term).expect("SIGTERM");
    let status = sim
        .wait_exit(Duration::from_secs(30))
        .expect("lac-sim exits");
    assert!(status.success(), "{status}\n{}", sim.log());
    let (summary, _) = parse_output(&sim.log());
    println!("sigterm: {summary}");
    assert!(summary.contains(" sessions_up=10 "), "{summary}");
    assert!(summary.contains(" tunnels_lost=2 "), "{summary}");
    assert!(summary.contains(" dropped=10 "), "{summary}");
    // Closed by the LNS (StopCCN), not lost to a timeout.
    assert!(sim.log().contains("PeerStopped"), "{}", sim.log());
    assert!(!sim.log().contains("Timeout"), "{}", sim.log());
}

#[test]
fn sighup_reloads_the_users_file() {
    if !runnable("sighup_reloads_the_users_file", Aaa::UsersFile) {
        return;
    }
    let mut bed = bed(10, Aaa::UsersFile);
    let newcomer = ["--auth", "pap", "--user-template", "newcomer{n}@e2e"];
    let (summary, _) = lac_sim(&bed, 1, 1, &newcomer);
    println!("before: {summary}");
    assert!(summary.contains(" sessions_up=0 "), "{summary}");
    bed.add_user("newcomer1@e2e", PASSWORD).expect("add user");
    bed.lnsd.signal(Signal::Hup).expect("SIGHUP");
    bed.lnsd
        .wait_for_log("configuration reloaded", Duration::from_secs(10))
        .expect("lnsd reloads");
    let (summary, report) = lac_sim(&bed, 1, 1, &newcomer);
    println!("after: {summary}");
    check_all_up(&bed, &summary, &report, 1, 1);
}

#[test]
fn an_sccrq_flood_leaves_established_sessions_alone() {
    if !runnable(
        "an_sccrq_flood_leaves_established_sessions_alone",
        Aaa::UsersFile,
    ) {
        return;
    }
    let bed = bed(10, Aaa::UsersFile);
    let rss_before = bed.lnsd_rss_kib().expect("lnsd RSS");
    let mut cmd = lac_sim_command(&bed, 2, 5, &["--auth", "pap", "--hold", "8"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding", Duration::from_secs(60))
        .expect("sessions held");
    // The flood: 800 SCCRQs (below max_half_open 1024), each from a new source port.
    let sent = bed
        .topo
        .run_in(
            "lac",
            Command::new(env!("CARGO_BIN_EXE_sccrq-flood")).args([
                "--lns",
                &bed.lns().to_string(),
                "--local",
                &LAC_ADDR.to_string(),
                "--count",
                "800",
            ]),
        )
        .expect("flood runs");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let status = sim
        .wait_exit(Duration::from_secs(60))
        .expect("lac-sim exits");
    assert!(status.success(), "{status}\n{}", sim.log());
    let (summary, report) = parse_output(&sim.log());
    println!("flood: {summary}");
    check_all_up(&bed, &summary, &report, 2, 10);
    let rss_after = bed.lnsd_rss_kib().expect("lnsd still running");
    println!("lnsd RSS {rss_before} KiB -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
    // And it keeps answering new LACs.
    let (summary, report) = lac_sim(&bed, 1, 2, &["--auth", "chap"]);
    check_all_up(&bed, &summary, &report, 1, 2);
}
