//! lnsctl against a running lnsd (issue 7): lac-sim in `lac` holds sessions
//! on lnsd in `lns` (the [`LnsdBed`]); lnsctl talks to lnsd's management
//! socket (a file in the bed's directory, so it runs outside the
//! namespaces). Each test checks what lnsctl prints (`--json` parsed)
//! against what lac-sim established, what the LAC saw after a kill, a
//! capture of one user's PAP login decoded by tshark (and of the CDN that
//! ends the session when it is killed, in its user's and its session's
//! captures), `lnsctl radius` with a dead and a live (FreeRADIUS) server,
//! and a real Prometheus scraping lnsd. Skips when not root (and when tshark / prometheus /
//! promtool / curl are missing: chaos-tests/bin/setup).
//!
//! The lnsd and lnsctl binaries are found by `peers::lnsd::lnsd_binary` and
//! `lnsctl_binary` (`LNSD_BIN` / `LNSCTL_BIN`, or `target/<profile>/`).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lns_chaos_tests::harness::{
    have_program, require_root, wait_for_file_size, Privilege, Proc, Signal,
};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::lnsd::{lnsctl_binary, lnsd_binary, Aaa, HTTP_ADDR};
use lns_chaos_tests::peers::{LnsdBed, LnsdOptions};

type Json = serde_json::Value;

const TEMPLATE: &str = "sub{n}@ctl";
const PASSWORD: &str = "ctl-pw";

fn runnable(test: &str, programs: &[&str]) -> bool {
    if require_root(test) == Privilege::Unprivileged {
        return false;
    }
    for p in programs {
        if !have_program(p) {
            eprintln!("SKIPPED: {p} not installed ({test}); run chaos-tests/bin/setup");
            return false;
        }
    }
    true
}

fn bed(users: u32) -> LnsdBed {
    bed_with(users, Aaa::UsersFile)
}

fn bed_with(users: u32, aaa: Aaa) -> LnsdBed {
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

/// lac-sim holding `tunnels` x `per_tunnel` PAP sessions until SIGTERM.
fn hold_sessions(bed: &LnsdBed, tunnels: u32, per_tunnel: u32) -> Proc {
    hold_sessions_with(bed, tunnels, per_tunnel, "pap")
}

/// lac-sim holding sessions authenticated with `auth` (pap or chap).
fn hold_sessions_with(bed: &LnsdBed, tunnels: u32, per_tunnel: u32, auth: &str) -> Proc {
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
        "5",
        "--setup-timeout",
        "30",
        "--auth",
        auth,
        "--user-template",
        TEMPLATE,
        "--password",
        PASSWORD,
        "--json",
    ]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 1s", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("sessions not held: {e}\n{}\n{}", sim.log(), bed.log()));
    sim
}

/// Stops lac-sim and returns its summary line and JSON report.
fn finish(mut sim: Proc) -> (String, Json) {
    sim.signal(Signal::Term).expect("SIGTERM");
    let status = sim
        .wait_exit(Duration::from_secs(30))
        .expect("lac-sim exits");
    let log = sim.log();
    assert!(status.success(), "{status}\n{log}");
    let summary = log
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_string();
    let json = log.lines().find(|l| l.starts_with('{')).unwrap_or("{}");
    (summary, serde_json::from_str(json).expect("lac-sim JSON"))
}

/// lnsctl on the bed's management socket.
struct Ctl {
    bin: PathBuf,
    socket: PathBuf,
}

impl Ctl {
    fn new(bed: &LnsdBed) -> Ctl {
        Ctl {
            bin: lnsctl_binary().expect("lnsctl binary"),
            socket: bed.mgmt_socket(),
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--socket").arg(&self.socket);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("lnsctl runs")
    }

    /// Runs with `--json`, expects success, parses the output.
    fn json(&self, args: &[&str]) -> Json {
        let out = self
            .command()
            .arg("--json")
            .args(args)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "lnsctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "lnsctl {args:?} printed bad JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    fn sessions(&self, filter: &[&str]) -> Vec<Json> {
        let mut args = vec!["sessions"];
        args.extend_from_slice(filter);
        let r = self.json(&args);
        r["sessions"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `lnsctl sessions` until `n` remain.
    fn wait_sessions(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.sessions(&[]).len();
            if now == n || Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn field<'a>(v: &'a Json, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_default()
}

fn number(v: &Json, name: &str) -> u64 {
    v[name].as_u64().unwrap_or(0)
}

#[test]
fn lnsctl_reads_filters_and_kills_on_a_running_lnsd() {
    if !runnable("lnsctl_reads_filters_and_kills_on_a_running_lnsd", &[]) {
        return;
    }
    let bed = bed(10);
    let sim = hold_sessions(&bed, 2, 3);
    let ctl = Ctl::new(&bed);

    // status: a single node, its listen address, the counts lac-sim made.
    let status = ctl.json(&["status"]);
    assert_eq!(field(&status, "role"), "ROLE_SINGLE", "{status}");
    assert_eq!(field(&status, "node"), "lnsd-bed");
    assert_eq!(number(&status, "sessions"), 6, "{status}");
    assert_eq!(number(&status, "tunnels"), 2, "{status}");
    assert_eq!(
        status["tunnel_addresses"],
        serde_json::json!(["198.18.0.2:1701"])
    );
    let (table, _) = text(&ctl.run(&["status"]));
    assert!(table.contains("single"), "{table}");

    // sessions: every one up, with a pool address and its user.
    let all = ctl.sessions(&[]);
    assert_eq!(all.len(), 6, "{all:?}");
    let users: BTreeSet<&str> = all.iter().map(|s| field(s, "user")).collect();
    let expected: BTreeSet<String> = (1..=6).map(|n| format!("sub{n}@ctl")).collect();
    assert_eq!(
        users,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for s in &all {
        assert_eq!(field(s, "state"), "SESSION_STATE_UP", "{s}");
        let ip: Ipv4Addr = field(s, "ipv4").parse().expect("an IPv4 address");
        assert_eq!(ip.octets()[..2], [198, 19], "{ip} outside the pool");
    }

    // Filters.
    let alice = ctl.sessions(&["--user", "sub1@ctl"]);
    assert_eq!(alice.len(), 1, "{alice:?}");
    let victim = alice[0].clone();
    let victim_id = number(&victim, "session_id").to_string();
    let tunnel_a = number(&victim, "tunnel_id").to_string();
    assert_eq!(ctl.sessions(&["--tunnel", &tunnel_a]).len(), 3);
    let by_ip = ctl.sessions(&["--ip", field(&victim, "ipv4")]);
    assert_eq!(by_ip.len(), 1);
    assert_eq!(by_ip[0]["session_id"], victim["session_id"]);
    assert_eq!(ctl.sessions(&["--ip", "198.19.0.0/16"]).len(), 6);
    assert_eq!(ctl.sessions(&["--state", "up"]).len(), 6);
    assert_eq!(ctl.sessions(&["--state", "closing"]).len(), 0);
    let bad = ctl.run(&["sessions", "--ip", "not-an-ip"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.contains("--ip"), "{:?}", text(&bad));

    // session show.
    let detail = ctl.json(&["session", "show", &victim_id]);
    assert_eq!(detail["summary"]["user"], "sub1@ctl");
    let (table, _) = text(&ctl.run(&["session", "show", &victim_id]));
    assert!(
        table.contains("sub1@ctl") && table.contains(field(&victim, "ipv4")),
        "{table}"
    );

    // tunnels and tunnel show.
    let tunnels = ctl.json(&["tunnels"]);
    let list = tunnels["tunnels"].as_array().expect("tunnels");
    assert_eq!(list.len(), 2, "{tunnels}");
    for t in list {
        assert_eq!(field(t, "state"), "established");
        assert_eq!(number(t, "sessions"), 3);
        assert!(field(t, "peer_address").starts_with("198.18.0.1:"), "{t}");
    }
    let tunnel_b = list
        .iter()
        .map(|t| number(t, "tunnel_id").to_string())
        .find(|id| *id != tunnel_a)
        .expect("a second tunnel");
    let shown = ctl.json(&["tunnel", "show", &tunnel_b]);
    assert_eq!(shown["session_ids"].as_array().map(Vec::len), Some(3));

    // pools: 198.19.0.1 - 198.19.255.254 (the bed's /16).
    let pools = ctl.json(&["pools"]);
    let pool = &pools["pools"][0];
    assert_eq!(field(pool, "name"), "subscribers");
    assert_eq!(
        (number(pool, "size"), number(pool, "used")),
        (65534, 6),
        "{pools}"
    );

    // counters and radius come from the live metrics.
    let counters = ctl.json(&["counters"]);
    let names: Vec<&str> = counters["counters"]
        .as_array()
        .expect("counters")
        .iter()
        .map(|c| field(c, "name"))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("lnsd_tunnels_established_total")
                || n.starts_with("lnsd_authentications_total")),
        "{names:?}"
    );
    assert!(ctl.run(&["radius"]).status.success());

    // Cluster commands on a single node say why they cannot work.
    let cluster = ctl.run(&["cluster", "status"]);
    assert_eq!(cluster.status.code(), Some(1));
    assert!(
        text(&cluster).1.contains("not a cluster member"),
        "{:?}",
        text(&cluster)
    );

    // session kill by ID, then by user (in the other tunnel), then the
    // other tunnel entirely.
    // A control capture of tunnel A records the kill on the wire.
    let ctl_pcap = bed.topo.dir().join("control.pcap");
    let mut cmd = ctl.command();
    cmd.args(["capture", "--tunnel", &tunnel_a, "--kind", "control"])
        .args(["--count", "3", "--duration", "6", "-w"])
        .arg(&ctl_pcap);
    let mut capture =
        Proc::spawn(cmd, bed.topo.dir().join("lnsctl-control.log")).expect("spawn lnsctl");
    wait_for_file_size(&ctl_pcap, 24, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("capture did not start: {}", capture.log()));
    let killed = ctl.json(&["session", "kill", &victim_id]);
    assert_eq!(number(&killed, "affected"), 1, "{killed}");
    assert_eq!(ctl.wait_sessions(5, Duration::from_secs(10)), 5);
    let status = capture
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("capture did not end: {e}\n{}", capture.log()));
    assert!(status.success(), "{status}\n{}", capture.log());
    if have_program("tshark") {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&ctl_pcap)
            .args([
                "-T",
                "fields",
                "-e",
                "ip.src",
                "-e",
                "l2tp.avp.message_type",
            ])
            .args(["-e", "l2tp.result_code"])
            .output()
            .expect("tshark runs");
        let (rows, err) = text(&out);
        assert!(out.status.success(), "tshark: {err}");
        // RFC 2661 §6.11: our CDN (message type 14), Result Code 3
        // (administrative), sent to the LAC.
        assert!(
            rows.lines().any(|r| r.starts_with("198.18.0.2\t14\t3")),
            "no administrative CDN from lnsd in:\n{rows}"
        );
    }
    let missing = ctl.run(&["session", "show", &victim_id]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).1.contains("not found"),
        "{:?}",
        text(&missing)
    );
    let in_b = ctl.sessions(&["--tunnel", &tunnel_b]);
    let user_b = field(&in_b[0], "user").to_owned();
    let killed = ctl.json(&["session", "kill", "--user", &user_b]);
    assert_eq!(number(&killed, "affected"), 1, "{killed}");
    assert_eq!(ctl.wait_sessions(4, Duration::from_secs(10)), 4);
    let closed = ctl.json(&["tunnel", "kill", &tunnel_b]);
    assert_eq!(number(&closed, "affected"), 1, "{closed}");
    assert_eq!(ctl.wait_sessions(2, Duration::from_secs(10)), 2);
    let unknown = ctl.run(&["tunnel", "kill", "65000"]);
    assert_eq!(unknown.status.code(), Some(1));

    // The LAC saw it: the killed sessions ended early (CDN from the LNS),
    // tunnel B was closed by a StopCCN, the rest of tunnel A kept going.
    let (summary, report) = finish(sim);
    println!("{summary}");
    assert!(summary.contains(" sessions_up=6 "), "{summary}");
    assert!(summary.contains(" dropped=4 "), "{summary}\n{}", bed.log());
    assert!(summary.contains(" tunnels_lost=1 "), "{summary}");
    let list = report["session_list"].as_array().expect("session_list");
    let dropped = |user: &str| {
        list.iter()
            .find(|s| s["user"] == user)
            .map(|s| s["dropped_early"] == true)
    };
    assert_eq!(dropped("sub1@ctl"), Some(true), "{report}");
    assert_eq!(dropped(&user_b), Some(true), "{report}");
    let log = bed.log();
    assert!(log.contains("operator killed sessions"), "{log}");
    assert!(log.contains("operator closed a tunnel"), "{log}");
}

#[test]
fn capture_of_one_users_login_and_of_one_sessions_data_decode_with_tshark() {
    if !runnable(
        "capture_of_one_users_login_and_of_one_sessions_data_decode_with_tshark",
        &["tshark"],
    ) {
        return;
    }
    let bed = bed(10);
    let ctl = Ctl::new(&bed);
    let pcap = bed.topo.dir().join("login.pcap");
    let mut cmd = ctl.command();
    cmd.args([
        "capture", "--user", "sub2@ctl", "--kind", "login", "--count", "2", "-w",
    ])
    .arg(&pcap);
    let mut capture =
        Proc::spawn(cmd, bed.topo.dir().join("lnsctl-capture.log")).expect("spawn lnsctl");
    // The pcap header arrives once the tap is installed.
    wait_for_file_size(&pcap, 24, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("capture did not start: {}", capture.log()));
    // Two sessions log in; only sub2's PAP exchange is captured.
    let sim = hold_sessions(&bed, 1, 2);
    let status = capture
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("capture did not end: {e}\n{}", capture.log()));
    assert!(status.success(), "{status}\n{}", capture.log());
    // The data path too: one session's IP traffic (lac-sim's probes to
    // the reflector) both ways, from the data-plane taps.
    let sub2 = Ctl::new(&bed).sessions(&["--user", "sub2@ctl"]);
    let id = number(&sub2[0], "session_id").to_string();
    let inner = field(&sub2[0], "ipv4").to_owned();
    let data_pcap = bed.topo.dir().join("data.pcap");
    let out = ctl
        .command()
        .args([
            "capture",
            "--session",
            &id,
            "--kind",
            "data",
            "--count",
            "6",
            "-w",
        ])
        .arg(&data_pcap)
        .output()
        .expect("lnsctl capture");
    assert!(out.status.success(), "{:?}", text(&out));
    // The end of sub2's session: its CDN leaves after the session left
    // the tables, and must still be in the user's and in the session's
    // capture. The CDN is the only session-level control message sub2
    // has once up, so each capture ends on its first packet.
    let mut kills = Vec::new();
    for (name, scope) in [("user", "sub2@ctl"), ("session", id.as_str())] {
        let pcap = bed.topo.dir().join(format!("kill-{name}.pcap"));
        let mut cmd = ctl.command();
        cmd.args(["capture", &format!("--{name}"), scope, "--kind", "control"])
            .args(["--count", "1", "-w"])
            .arg(&pcap);
        let capture = Proc::spawn(cmd, bed.topo.dir().join(format!("lnsctl-kill-{name}.log")))
            .expect("spawn lnsctl");
        wait_for_file_size(&pcap, 24, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("capture did not start: {}", capture.log()));
        kills.push((pcap, capture));
    }
    let killed = ctl.json(&["session", "kill", "--user", "sub2@ctl"]);
    assert_eq!(number(&killed, "affected"), 1, "{killed}");
    for (pcap, mut capture) in kills {
        let status = capture
            .wait_exit(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("the CDN was not captured: {e}\n{}", capture.log()));
        assert!(status.success(), "{status}\n{}", capture.log());
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-T", "fields", "-e", "l2tp.avp.message_type"])
            .output()
            .expect("tshark runs");
        let (fields, err) = text(&out);
        assert!(out.status.success(), "tshark: {err}");
        // RFC 2661 §4.4.1: Message Type 14 is CDN.
        let row: Vec<&str> = fields.trim().split('\t').collect();
        assert_eq!(row.first(), Some(&"14"), "{fields}");
    }
    finish(sim);
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&data_pcap)
        .args([
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "ppp.protocol",
        ])
        .output()
        .expect("tshark runs");
    let (rows, err) = text(&out);
    assert!(out.status.success(), "tshark: {err}");
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), 6, "{rows:?}");
    // Outer then inner addresses: every frame carries the session's
    // address inside PPP (protocol 0x0021), and both directions appear.
    assert!(rows.iter().all(|r| r.contains(&inner)), "{rows:?}");
    assert!(rows.iter().all(|r| r.contains("0x0021")), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.starts_with("198.18.0.1,")),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("198.18.0.2,")),
        "{rows:?}"
    );
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-e",
            "l2tp.tunnel",
            "-e",
            "pap.code",
            "-e",
            "pap.peer_id",
        ])
        .output()
        .expect("tshark runs");
    let (fields, err) = text(&out);
    assert!(out.status.success(), "tshark: {err}");
    let lines: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{fields}");
    // RFC 1334 §2.2: Authenticate-Request (1) from sub2, then Authenticate-Ack (2).
    assert_eq!(lines[0].get(1), Some(&"1"), "{fields}");
    assert_eq!(lines[0].get(2), Some(&"sub2@ctl"), "{fields}");
    assert_eq!(lines[1].get(1), Some(&"2"), "{fields}");
    let verbose = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .arg("-V")
        .output()
        .expect("tshark runs");
    let (decoded, _) = text(&verbose);
    assert!(decoded.contains("Layer 2 Tunneling Protocol"), "{decoded}");
    assert!(
        decoded.contains("Password Authentication Protocol"),
        "{decoded}"
    );
    assert!(
        !decoded.contains("sub1@ctl"),
        "another user leaked in:\n{decoded}"
    );

    // CHAP: the Challenge leaves before the user is known; the user's
    // Response and our Success are captured.
    let chap_pcap = bed.topo.dir().join("chap.pcap");
    let mut cmd = ctl.command();
    cmd.args([
        "capture", "--user", "sub3@ctl", "--kind", "login", "--count", "2", "-w",
    ])
    .arg(&chap_pcap);
    let mut capture =
        Proc::spawn(cmd, bed.topo.dir().join("lnsctl-chap.log")).expect("spawn lnsctl");
    wait_for_file_size(&chap_pcap, 24, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("capture did not start: {}", capture.log()));
    let sim = hold_sessions_with(&bed, 1, 3, "chap");
    let status = capture
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("capture did not end: {e}\n{}", capture.log()));
    assert!(status.success(), "{status}\n{}", capture.log());
    finish(sim);
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&chap_pcap)
        .args(["-T", "fields", "-e", "chap.code", "-e", "chap.name"])
        .output()
        .expect("tshark runs");
    let (fields, err) = text(&out);
    assert!(out.status.success(), "tshark: {err}");
    // RFC 1994 §4: Response (2) named sub3, then Success (3).
    let lines: Vec<&str> = fields.lines().collect();
    assert_eq!(lines, ["2\tsub3@ctl", "3\t"], "{fields}");
}

#[test]
fn radius_shows_the_dead_servers_timeouts_and_the_live_ones_latency() {
    if !runnable(
        "radius_shows_the_dead_servers_timeouts_and_the_live_ones_latency",
        &["freeradius"],
    ) {
        return;
    }
    // A first server where nothing listens (200 ms timeout, one try, 1 s
    // dead time), then FreeRADIUS: the first login times out on the dead
    // one and fails over; the others skip it while it is dead.
    let dead = "127.0.0.1:1999";
    let mut opts = LnsdOptions::new(
        10,
        TEMPLATE,
        PASSWORD,
        env!("CARGO_BIN_EXE_reflector").into(),
    );
    opts.aaa = Aaa::Radius;
    opts.dead_radius = Some(dead.parse().expect("literal"));
    opts.lnsd_bin = lnsd_binary().expect("lnsd binary");
    let bed = LnsdBed::start(&opts).expect("start lnsd bed");
    let sim = hold_sessions(&bed, 1, 3);
    let radius = Ctl::new(&bed).json(&["radius"]);
    let auth = |address: &str| {
        radius["servers"]
            .as_array()
            .and_then(|l| {
                l.iter()
                    .find(|s| s["purpose"] == "auth" && s["address"] == address)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no auth server {address} in {radius}"))
    };
    let (dead, live) = (auth(dead), auth("127.0.0.1:1812"));
    assert!(number(&dead, "requests") >= 1, "{radius}");
    assert!(number(&dead, "timeouts") >= 1, "{radius}");
    let state = field(&dead, "state");
    assert!(state == "dead" || state == "probing", "{radius}");
    assert_eq!(number(&dead, "latency_us"), 0, "never answered: {radius}");
    assert_eq!(field(&live, "state"), "up", "{radius}");
    assert!(number(&live, "requests") >= 3, "{radius}");
    assert_eq!(number(&live, "timeouts"), 0, "{radius}");
    assert!(number(&live, "latency_us") > 0, "{radius}");
    // The table for people shows both.
    let table = text(&Ctl::new(&bed).run(&["radius"])).0;
    assert!(
        table.contains("127.0.0.1:1999") && table.contains(" ms"),
        "{table}"
    );
    finish(sim);
}

#[test]
fn prometheus_scrapes_lnsd_and_counts_the_sessions() {
    if !runnable(
        "prometheus_scrapes_lnsd_and_counts_the_sessions",
        &["prometheus", "promtool", "curl", "freeradius"],
    ) {
        return;
    }
    // With FreeRADIUS, so the RADIUS series exist and `lnsctl radius` has
    // a server to show.
    let bed = bed_with(10, Aaa::Radius);
    let sim = hold_sessions(&bed, 2, 3);
    let radius = Ctl::new(&bed).json(&["radius"]);
    let server = radius["servers"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["purpose"] == "auth"))
        .cloned()
        .unwrap_or_else(|| panic!("no auth server in {radius}"));
    let server = &server;
    assert_eq!(field(server, "address"), "127.0.0.1:1812", "{radius}");
    assert_eq!(field(server, "state"), "up", "{radius}");
    assert!(number(server, "requests") >= 6, "{radius}");
    assert_eq!(number(server, "timeouts"), 0, "{radius}");
    // A live scrape passes promtool and holds every metric the dashboard queries.
    let exposition = curl(&bed, &format!("http://{HTTP_ADDR}/metrics"));
    promtool_check(&exposition);
    dashboard_metrics_exist(&exposition);
    // A real Prometheus in `lns`, scraping lnsd every second.
    let dir = bed.topo.dir().join("prometheus");
    std::fs::create_dir_all(dir.join("data")).expect("prometheus dir");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: lnsd\n    static_configs:\n      - targets: ['{HTTP_ADDR}']\n"
        ),
    )
    .expect("prometheus.yml");
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:9090");
    let prometheus = bed
        .topo
        .spawn_in("lns", "prometheus", &mut cmd)
        .expect("spawn prometheus");
    let query = "sum(lnsd_sessions{state=\"established\"})";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let value = loop {
        let body = curl_query(&bed, query);
        let parsed: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        if let Some(v) = parsed["data"]["result"][0]["value"][1].as_str() {
            if v == "6" {
                break v.to_owned();
            }
        }
        last = body;
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw 6 sessions; last answer: {last}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(value, "6", "{last}");
    let up = curl_query(&bed, "up{job=\"lnsd\"}");
    assert!(up.contains("\"1\""), "lnsd target not up: {up}");
    finish(sim);
}

/// `curl URL` inside `lns`.
fn curl(bed: &LnsdBed, url: &str) -> String {
    let out = bed
        .topo
        .run_in(
            "lns",
            Command::new("curl").args(["-sS", "--max-time", "5", url]),
        )
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An instant query to the Prometheus in `lns`.
fn curl_query(bed: &LnsdBed, query: &str) -> String {
    let out = bed.topo.run_in(
        "lns",
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "5",
            "http://127.0.0.1:9090/api/v1/query",
            "--data-urlencode",
            &format!("query={query}"),
        ]),
    );
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn promtool_check(exposition: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(exposition.as_bytes())
        .expect("promtool reads");
    let out = child.wait_with_output().expect("promtool ends");
    let (o, e) = text(&out);
    assert!(out.status.success(), "promtool check metrics: {o}{e}");
    assert!(format!("{o}{e}").trim().is_empty(), "promtool lint: {o}{e}");
}

/// Series with one child per cluster peer or per moving tunnel address: a
/// single node has none (the cluster drills scrape them on members).
const CLUSTER_ONLY: [&str; 2] = ["lnsd_raft_follower_lag_entries", "lnsd_tunnel_address_held"];

/// Every `lnsd_*` name in a dashboard expression is a family (or a
/// histogram's `_bucket`/`_sum`/`_count` series) of the live exposition.
fn dashboard_metrics_exist(exposition: &str) {
    let exposed: BTreeSet<&str> = exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/grafana/lnsd-dashboard.json");
    let dashboard = std::fs::read_to_string(&path).expect("dashboard");
    let queried: BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("lnsd_"))
        .collect();
    assert!(queried.len() >= 20, "only {queried:?}");
    let missing: Vec<&&str> = queried
        .iter()
        .filter(|q| !exposed.contains(**q) && !CLUSTER_ONLY.contains(q))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics the live lnsd does not expose: {missing:?}"
    );
}
