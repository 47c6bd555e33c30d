//! lnsd accounting (RFC 2866) and dynamic authorization (RFC 5176) end to
//! end: lac-sim in `lac` dials lnsd in `lns`, which authenticates and
//! accounts against a real FreeRADIUS writing `detail` files; `radclient`
//! sends Disconnect and CoA requests to lnsd's DAE port. Skips when not
//! root or when FreeRADIUS / radclient are missing (chaos-tests/bin/setup).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lns_chaos_tests::harness::{have_program, require_root, Privilege, Signal};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::lnsd::{lnsd_binary, Aaa};
use lns_chaos_tests::peers::{LnsdBed, LnsdOptions};

const TEMPLATE: &str = "sub{n}@acct";
const PASSWORD: &str = "acct-pw";
const DAE_SECRET: &str = "dae-secret";
/// Probe size lac-sim sends (IPv4 bytes).
const PROBE: u64 = 128;

fn runnable(test: &str) -> bool {
    if require_root(test) == Privilege::Unprivileged {
        return false;
    }
    for p in ["freeradius", "radclient"] {
        if !have_program(p) {
            eprintln!("SKIPPED: {p} not installed ({test}); run chaos-tests/bin/setup");
            return false;
        }
    }
    true
}

/// A bed with FreeRADIUS (auth + accounting with `detail`), short
/// counters and interim periods, and the DAE server on 127.0.0.1:3799.
fn bed(users: u32) -> LnsdBed {
    bed_with_interim(users, 3)
}

/// [`bed`] with Interim-Updates every `interim_secs`.
fn bed_with_interim(users: u32, interim_secs: u64) -> LnsdBed {
    let mut opts = LnsdOptions::new(
        users,
        TEMPLATE,
        PASSWORD,
        env!("CARGO_BIN_EXE_reflector").into(),
    );
    opts.aaa = Aaa::Radius;
    opts.lnsd_bin = lnsd_binary().expect("lnsd binary");
    opts.extra_toml = format!(
        r#"
[aaa.accounting]
interim_interval_secs = {interim_secs}
counters_interval_secs = 1

[dae]
listen = ["127.0.0.1:3799"]
clients = [{{ address = "127.0.0.1", secret = "{DAE_SECRET}" }}]
"#
    );
    LnsdBed::start(&opts).expect("start lnsd bed")
}

fn lac_sim(bed: &LnsdBed, sessions: u32, hold: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lac-sim"));
    cmd.args([
        "--lns",
        &bed.lns().to_string(),
        "--local",
        &LAC_ADDR.to_string(),
        "--tunnels",
        "1",
        "--sessions-per-tunnel",
        &sessions.to_string(),
        "--reflector",
        &bed.reflector().to_string(),
        "--traffic-pps",
        "20",
        "--setup-timeout",
        "30",
        "--user-template",
        TEMPLATE,
        "--password",
        PASSWORD,
        "--auth",
        "pap",
        "--json",
    ]);
    if let Some(h) = hold {
        cmd.args(["--hold", h]);
    }
    cmd
}

type Json = serde_json::Value;

fn json_report(stdout: &str) -> Json {
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}"))
}

/// One record of a FreeRADIUS `detail` file: attribute -> value (quotes
/// removed).
type Record = BTreeMap<String, String>;

fn detail(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut cur = Record::new();
    for line in text.lines() {
        if let Some((k, v)) = line.trim().split_once(" = ") {
            if line.starts_with(char::is_whitespace) {
                cur.insert(k.to_string(), v.trim_matches('"').to_string());
                continue;
            }
        }
        if line.trim().is_empty() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn detail_path(bed: &LnsdBed) -> std::path::PathBuf {
    bed.topo.dir().join("radius/acct/detail")
}

/// Waits until the detail file holds `count` records of `status`.
fn wait_records(bed: &LnsdBed, status: &str, count: usize, timeout: Duration) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = detail(&detail_path(bed));
        let n = all
            .iter()
            .filter(|r| r.get("Acct-Status-Type").map(String::as_str) == Some(status))
            .count();
        if n >= count || Instant::now() > deadline {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Acct-Status-Type of every record but the Interim-Updates, in order.
fn statuses(all: &[Record]) -> Vec<&str> {
    all.iter()
        .map(|r| r.get("Acct-Status-Type").map_or("", String::as_str))
        .filter(|s| *s != "Interim-Update")
        .collect()
}

fn num(r: &Record, k: &str) -> u64 {
    r.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// `radclient` in `lns`: sends `attrs` as `kind` (disconnect, coa) to the
/// DAE port; returns its output.
fn radclient(bed: &LnsdBed, kind: &str, secret: &str, attrs: &str) -> String {
    let file = bed.topo.dir().join(format!("radclient-{kind}.txt"));
    std::fs::write(&file, attrs).expect("write radclient input");
    // radclient exits non-zero on a NAK or no answer: both are results here.
    let out = bed
        .topo
        .command_in("lns", "radclient")
        .args(["-x", "-r", "1", "-t", "2", "-f"])
        .arg(&file)
        .args(["127.0.0.1:3799", kind, secret])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("radclient runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn start_interim_and_stop_per_session_with_counters_matching_the_traffic() {
    let test = "start_interim_and_stop_per_session_with_counters_matching_the_traffic";
    if !runnable(test) {
        return;
    }
    let bed = bed(3);
    let out = bed
        .topo
        .run_in("lac", &mut lac_sim(&bed, 3, Some("8")))
        .expect("lac-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = json_report(&stdout);
    let sessions = report["session_list"].as_array().expect("session_list");
    assert_eq!(sessions.len(), 3, "{stdout}\n{}", bed.log());
    let all = wait_records(&bed, "Stop", 3, Duration::from_secs(15));
    let by_id = |id: &str| -> Vec<&Record> {
        all.iter()
            .filter(|r| r.get("Acct-Session-Id").map(String::as_str) == Some(id))
            .collect()
    };
    for s in sessions {
        let user = s["user"].as_str().expect("user");
        let sent = s["sent"].as_u64().expect("sent");
        let received = s["received"].as_u64().expect("received");
        assert!(sent > 50, "{s}");
        let start = all
            .iter()
            .find(|r| {
                r.get("User-Name").map(String::as_str) == Some(user)
                    && r.get("Acct-Status-Type").map(String::as_str) == Some("Start")
            })
            .unwrap_or_else(|| panic!("no Start for {user}: {all:?}\n{}", bed.log()));
        let id = start.get("Acct-Session-Id").expect("Acct-Session-Id");
        let records = by_id(id);
        let status = |st: &str| {
            records
                .iter()
                .filter(|r| r.get("Acct-Status-Type").map(String::as_str) == Some(st))
                .count()
        };
        assert_eq!(status("Start"), 1, "no duplicate Start: {records:?}");
        assert!(status("Interim-Update") >= 1, "{records:?}");
        assert_eq!(status("Stop"), 1, "{records:?}");
        let stop = records
            .iter()
            .find(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
            .expect("stop");
        assert_eq!(stop.get("User-Name").map(String::as_str), Some(user));
        assert_eq!(
            stop.get("Framed-IP-Address").map(String::as_str),
            s["ipv4"].as_str()
        );
        assert!(stop.contains_key("Acct-Terminate-Cause"), "{stop:?}");
        assert_eq!(
            stop.get("Acct-Authentic").map(String::as_str),
            Some("RADIUS"),
            "{stop:?}"
        );
        assert_eq!(
            stop.get("NAS-Identifier").map(String::as_str),
            Some("lnsd-bed"),
            "{stop:?}"
        );
        assert!(stop.contains_key("Event-Timestamp"), "{stop:?}");
        assert!(num(stop, "Acct-Session-Time") >= 7, "{stop:?}");
        // Every probe lac-sim sent went through lnsd's TUN, every reply
        // came back through it (a few control packets of the subscriber
        // may be counted too).
        let (inp, outp) = (
            num(stop, "Acct-Input-Packets"),
            num(stop, "Acct-Output-Packets"),
        );
        assert!(
            (sent..=sent + 3).contains(&inp),
            "in {inp} vs sent {sent}: {stop:?}"
        );
        assert!(
            (received..=received + 3).contains(&outp),
            "out {outp} vs received {received}: {stop:?}"
        );
        assert!(num(stop, "Acct-Input-Octets") >= sent * PROBE, "{stop:?}");
        assert!(
            num(stop, "Acct-Output-Octets") >= received * PROBE,
            "{stop:?}"
        );
        assert_eq!(num(stop, "Acct-Input-Gigawords"), 0);
        // Interims carry counters that only grow, never above the Stop's.
        for r in records
            .iter()
            .filter(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Interim-Update"))
        {
            assert!(num(r, "Acct-Input-Octets") <= num(stop, "Acct-Input-Octets"));
        }
    }
    // Three sessions, three Acct-Session-Ids (Accounting-On has its own).
    let ids: std::collections::BTreeSet<&String> = all
        .iter()
        .filter(|r| r.contains_key("User-Name"))
        .filter_map(|r| r.get("Acct-Session-Id"))
        .collect();
    assert_eq!(ids.len(), 3, "{all:?}");
    assert_eq!(statuses(&all)[0], "Accounting-On", "{all:?}");
}

#[test]
fn radclient_disconnect_and_coa() {
    if !runnable("radclient_disconnect_and_coa") {
        return;
    }
    let bed = bed(3);
    let mut lac = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut lac_sim(&bed, 3, None))
        .expect("lac-sim starts");
    lac.wait_for_log("setup done", Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", lac.log(), bed.log()));
    let user = |n: u32| TEMPLATE.replace("{n}", &n.to_string());

    // Wrong secret: dropped, no answer.
    let out = radclient(
        &bed,
        "disconnect",
        "not-the-secret",
        &format!("User-Name = \"{}\"\n", user(1)),
    );
    assert!(!out.contains("Received Disconnect"), "{out}");
    // Unknown session: NAK 503.
    let out = radclient(
        &bed,
        "disconnect",
        DAE_SECRET,
        "User-Name = \"nobody@acct\"\n",
    );
    assert!(out.contains("Received Disconnect-NAK"), "{out}");
    assert!(
        out.contains("Session-Context-Not-Found") || out.contains("503"),
        "{out}"
    );
    // Good secret, signed with a Message-Authenticator: ACK, session ends.
    let out = radclient(
        &bed,
        "disconnect",
        DAE_SECRET,
        &format!(
            "User-Name = \"{}\"\nMessage-Authenticator = 0x00\n",
            user(1)
        ),
    );
    assert!(
        out.contains("Received Disconnect-ACK"),
        "{out}\n{}",
        bed.log()
    );
    // CoA: a Session-Timeout of 12 s from authentication ends the second
    // session on time.
    let asked = Instant::now();
    let out = radclient(
        &bed,
        "coa",
        DAE_SECRET,
        &format!("User-Name = \"{}\"\nSession-Timeout = 12\n", user(2)),
    );
    assert!(out.contains("Received CoA-ACK"), "{out}\n{}", bed.log());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bed.log().contains("ending session: session timeout") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = asked.elapsed();
    assert!(
        bed.log().contains("ending session: session timeout"),
        "{}",
        bed.log()
    );
    // Not at once (the new limit is in the future), and not late.
    assert!(took >= Duration::from_secs(3), "ended after {took:?}");
    assert!(took <= Duration::from_secs(13), "ended after {took:?}");
    // An unsupported attribute in a CoA: NAK 401.
    let out = radclient(
        &bed,
        "coa",
        DAE_SECRET,
        &format!("User-Name = \"{}\"\nFilter-Id = \"gold\"\n", user(3)),
    );
    assert!(out.contains("Received CoA-NAK"), "{out}");
    assert!(
        out.contains("Unsupported-Attribute") || out.contains("401"),
        "{out}"
    );
    // The LAC saw the CDNs; the third session lived until lac-sim stopped.
    lac.signal(Signal::Int).expect("SIGINT lac-sim");
    lac.wait_exit(Duration::from_secs(20))
        .expect("lac-sim exits");
    let report = json_report(&lac.log());
    let list = report["session_list"].as_array().expect("session_list");
    let early = |u: &str| {
        list.iter()
            .find(|s| s["user"].as_str() == Some(u))
            .map(|s| s["dropped_early"].clone())
    };
    assert_eq!(early(&user(1)), Some(Json::Bool(true)), "{report}");
    assert_eq!(early(&user(2)), Some(Json::Bool(true)), "{report}");
    assert_eq!(early(&user(3)), Some(Json::Bool(false)), "{report}");
    // Their Stops say why.
    let all = wait_records(&bed, "Stop", 3, Duration::from_secs(15));
    let cause = |u: &str| {
        all.iter()
            .find(|r| {
                r.get("User-Name").map(String::as_str) == Some(u)
                    && r.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
            })
            .and_then(|r| r.get("Acct-Terminate-Cause").cloned())
    };
    assert_eq!(cause(&user(1)).as_deref(), Some("Admin-Reset"), "{all:?}");
    assert_eq!(
        cause(&user(2)).as_deref(),
        Some("Session-Timeout"),
        "{all:?}"
    );
}

#[test]
fn sigterm_sends_a_stop_for_every_session_before_exiting() {
    if !runnable("sigterm_sends_a_stop_for_every_session_before_exiting") {
        return;
    }
    let mut bed = bed(3);
    let lac = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut lac_sim(&bed, 3, None))
        .expect("lac-sim starts");
    let mut lac = lac;
    lac.wait_for_log("setup done", Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", lac.log(), bed.log()));
    let all = wait_records(&bed, "Start", 3, Duration::from_secs(10));
    // RFC 2866 §5.1: one Accounting-On, before every Start.
    assert_eq!(
        statuses(&all),
        ["Accounting-On", "Start", "Start", "Start"],
        "{all:?}"
    );
    // lnsd waits for the Acct-Stops to be answered, then exits 0.
    let code = bed.stop_lnsd(Duration::from_secs(20)).expect("lnsd exits");
    assert_eq!(code, Some(0), "{}", bed.log());
    assert!(bed.log().contains("Clean"), "{}", bed.log());
    let all = detail(&detail_path(&bed));
    // Accounting-Off once, after the three Stops, answered before the exit.
    assert_eq!(
        statuses(&all),
        [
            "Accounting-On",
            "Start",
            "Start",
            "Start",
            "Stop",
            "Stop",
            "Stop",
            "Accounting-Off"
        ],
        "{all:?}"
    );
    let stops: Vec<&Record> = all
        .iter()
        .filter(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
        .collect();
    assert_eq!(stops.len(), 3, "{all:?}");
    for s in stops {
        assert_eq!(
            s.get("Acct-Terminate-Cause").map(String::as_str),
            Some("Admin-Reboot"),
            "{s:?}"
        );
    }
    let _ = lac.signal(Signal::Int);
}

#[test]
fn radclient_coa_changes_the_interim_interval_and_the_class() {
    let test = "radclient_coa_changes_the_interim_interval_and_the_class";
    if !runnable(test) {
        return;
    }
    // Interims every 10 minutes: none during the test unless a CoA says so.
    let bed = bed_with_interim(1, 600);
    let mut lac = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut lac_sim(&bed, 1, None))
        .expect("lac-sim starts");
    lac.wait_for_log("setup done", Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", lac.log(), bed.log()));
    let user = TEMPLATE.replace("{n}", "1");
    let all = wait_records(&bed, "Start", 1, Duration::from_secs(10));
    let interims = |all: &[Record]| {
        all.iter()
            .filter(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Interim-Update"))
            .cloned()
            .collect::<Vec<Record>>()
    };
    assert!(interims(&all).is_empty(), "{all:?}");
    // RFC 5176 §3.2: Acct-Interim-Interval 2 s and a new Class ("coa-plan").
    let out = radclient(
        &bed,
        "coa",
        DAE_SECRET,
        &format!("User-Name = \"{user}\"\nAcct-Interim-Interval = 2\nClass = 0x636f612d706c616e\n"),
    );
    assert!(out.contains("Received CoA-ACK"), "{out}\n{}", bed.log());
    // Interims now come: wait for two (bounded; the old interval would
    // give none for 10 minutes).
    let all = wait_records(&bed, "Interim-Update", 2, Duration::from_secs(30));
    let got = interims(&all);
    assert!(
        got.len() >= 2,
        "no Interims after the CoA: {all:?}\n{}",
        bed.log()
    );
    // Each echoes the new Class (FreeRADIUS writes octets in hex).
    for r in &got {
        assert_eq!(
            r.get("Class").map(String::as_str),
            Some("0x636f612d706c616e"),
            "{r:?}"
        );
        assert_eq!(r.get("User-Name"), Some(&user), "{r:?}");
    }
    assert!(
        bed.log().contains("interim interval Some(2s)"),
        "{}",
        bed.log()
    );
    // An attribute that cannot change on a live session: NAK 401, named in the log.
    let out = radclient(
        &bed,
        "coa",
        DAE_SECRET,
        &format!("User-Name = \"{user}\"\nFramed-MTU = 1400\n"),
    );
    assert!(out.contains("Received CoA-NAK"), "{out}");
    assert!(
        out.contains("Unsupported-Attribute") || out.contains("401"),
        "{out}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bed.log().contains("attributes lnsd cannot change") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = bed.log();
    let line = log
        .lines()
        .find(|l| l.contains("attributes lnsd cannot change"))
        .unwrap_or_else(|| panic!("no refusal line:\n{log}"));
    assert!(line.contains("FramedMtu"), "{line}");
    let _ = lac.signal(Signal::Int);
    let _ = lac.wait_exit(Duration::from_secs(20));
}
