//! `lnsctl capture --user U` on the *active member of a cluster* (issue 7
//! item 3 on a cluster): the drill bed (two lns members and a witness in
//! namespaces, FreeRADIUS), a capture of one user started on the active
//! member's management socket before lac-sim dials, lac-sim bringing two
//! users up with CHAP, and the operator killing the user's session; tshark
//! then decodes the pcap: the user's CHAP exchange, its IPCP negotiation and
//! the kill's LCP Terminate are there, the other user's login is not, and
//! nothing is malformed. A second capture (`--all --kind control`) holds
//! L2TP control messages both received and sent by the active member. (The
//! CDN ending a session is not in a `--user` capture: it is emitted once the
//! session is gone from the tables, so its user is no longer known.) Skips when not root or without tshark/freeradius.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lns_chaos_tests::drill::bed::{BedOptions, ClusterBed};
use lns_chaos_tests::drill::config::{
    Mgmt, Mode, CORE_ADDR, LAC_ADDR, REFLECTOR_PORT, TUNNEL_ADDR,
};
use lns_chaos_tests::harness::{
    have_program, require_root, wait_for_file_size, Privilege, Proc, Signal,
};
use lns_chaos_tests::peers::lnsd::{lnsctl_binary, lnsd_binary};

const TEMPLATE: &str = "capt{n}";
const PASSWORD: &str = "capt-pw";

#[test]
fn capture_of_one_users_login_on_the_active_cluster_member_decodes_with_tshark() {
    let test = "capture_of_one_users_login_on_the_active_cluster_member_decodes_with_tshark";
    if require_root(test) == Privilege::Unprivileged {
        return;
    }
    for p in ["tshark", "freeradius", "nft"] {
        if !have_program(p) {
            eprintln!("SKIPPED: {p} not installed ({test}); run chaos-tests/bin/setup");
            return;
        }
    }
    let bed = ClusterBed::start(&BedOptions {
        users: 2,
        user_template: TEMPLATE.into(),
        storm_users: 0,
        storm_template: "capt-storm{n}".into(),
        password: PASSWORD.into(),
        lnsd_bin: lnsd_binary().expect("lnsd binary"),
        reflector_bin: env!("CARGO_BIN_EXE_reflector").into(),
        log_level: "info".into(),
        mode: Mode::Cluster,
        mgmt: Mgmt::Served,
    })
    .expect("start the cluster bed");
    let active = bed
        .wait_active(None, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("no active member: {e:#}\n{}", bed.logs_tail(30)));
    let socket = bed.mgmt_socket(active).expect("[mgmt] served");
    let pcap = bed.dir().join("cluster-login.pcap");
    let mut cmd = Command::new(lnsctl_binary().expect("lnsctl binary"));
    cmd.arg("--socket").arg(&socket).args([
        "capture",
        "--user",
        "capt2",
        "--kind",
        "control",
        "--kind",
        "login",
        "--kind",
        "negotiation",
        "--duration",
        "25",
        "-w",
    ]);
    cmd.arg(&pcap);
    let mut capture = Proc::spawn(cmd, bed.dir().join("lnsctl-capture.log")).expect("spawn lnsctl");
    // The pcap header arrives once the tap is installed.
    wait_for_file_size(&pcap, 24, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("capture did not start: {}", capture.log()));
    // Every L2TP control message the active member receives and sends.
    let all_pcap = bed.dir().join("cluster-control.pcap");
    let mut cmd = Command::new(lnsctl_binary().expect("lnsctl binary"));
    cmd.arg("--socket").arg(&socket).args([
        "capture",
        "--all",
        "--kind",
        "control",
        "--duration",
        "25",
        "-w",
    ]);
    cmd.arg(&all_pcap);
    let mut all = Proc::spawn(cmd, bed.dir().join("lnsctl-capture-all.log")).expect("spawn lnsctl");
    wait_for_file_size(&all_pcap, 24, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("capture did not start: {}", all.log()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lac-sim"));
    cmd.args(["--lns", &format!("{TUNNEL_ADDR}:1701")])
        .args(["--local", &LAC_ADDR.to_string()])
        .args(["--tunnels", "1", "--sessions-per-tunnel", "2"])
        .args(["--auth", "chap"])
        .args(["--user-template", TEMPLATE, "--password", PASSWORD])
        .args(["--reflector", &format!("{CORE_ADDR}:{REFLECTOR_PORT}")])
        .args(["--setup-timeout", "30"]);
    let mut sim = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("spawn lac-sim");
    sim.wait_for_log("lac-sim: holding 1s", Duration::from_secs(60))
        .unwrap_or_else(|e| {
            panic!(
                "sessions not held: {e}\n{}\n{}",
                sim.log(),
                bed.logs_tail(30)
            )
        });
    // The operator ends capt2's session: the active node's CDN (RFC 2661
    // §5.6), sent once the kill is committed, is an L2TP control message of
    // capt2's session; the LAC's acknowledgement is the tunnel's (a ZLB).
    let kill = Command::new(lnsctl_binary().expect("lnsctl binary"))
        .arg("--socket")
        .arg(&socket)
        .args(["session", "kill", "--user", "capt2"])
        .output()
        .expect("lnsctl runs");
    assert!(
        kill.status.success(),
        "session kill: {}",
        String::from_utf8_lossy(&kill.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while sessions_of(&socket, "capt2") > 0 {
        assert!(
            Instant::now() < deadline,
            "capt2's session did not end\n{}",
            bed.logs_tail(30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sim.signal(Signal::Term).expect("SIGTERM lac-sim");
    sim.wait_exit(Duration::from_secs(30))
        .expect("lac-sim exits");
    let status = capture
        .wait_exit(Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("capture did not end: {e}\n{}", capture.log()));
    assert!(status.success(), "{status}\n{}", capture.log());
    let status = all
        .wait_exit(Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("capture did not end: {e}\n{}", all.log()));
    assert!(status.success(), "{status}\n{}", all.log());
    // Control messages both ways: received from the LAC, and sent (once
    // committed) from the tunnel address the active member holds.
    let control = |filter: &str| tshark_count(&all_pcap, filter);
    assert_eq!(control("_ws.malformed"), 0, "malformed packets");
    let tunnel = TUNNEL_ADDR.to_string();
    assert!(
        control(&format!("l2tp.type == 1 && ip.dst == {tunnel}")) > 0,
        "none received"
    );
    assert!(
        control(&format!("l2tp.type == 1 && ip.src == {tunnel}")) > 0,
        "none sent"
    );
    let count = |filter: &str| tshark_count(&pcap, filter);
    assert_eq!(count("_ws.malformed"), 0, "malformed packets in the pcap");
    // The kill's LCP Terminate-Request (RFC 1661 §5.5) to capt2.
    assert!(
        count("lcp && ppp.code == 5") > 0,
        "no LCP Terminate-Request"
    );
    // RFC 1994 §4: capt2's Response and our Success, nobody else's.
    assert_eq!(count("chap.code == 2 && chap.name == \"capt2\""), 1);
    assert_eq!(count("chap.code == 3"), 1);
    assert_eq!(count("chap.name == \"capt1\""), 0, "another user's login");
    assert!(count("ipcp") > 0, "no IPCP negotiation");
}

/// How many sessions `lnsctl sessions --user USER` lists.
fn sessions_of(socket: &Path, user: &str) -> usize {
    let out = Command::new(lnsctl_binary().expect("lnsctl binary"))
        .arg("--socket")
        .arg(socket)
        .args(["--json", "sessions", "--user", user])
        .output()
        .expect("lnsctl runs");
    assert!(
        out.status.success(),
        "sessions: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["sessions"].as_array().map_or(0, Vec::len)
}

/// Packets of `pcap` matching the display `filter`.
fn tshark_count(pcap: &Path, filter: &str) -> usize {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark -Y {filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}
