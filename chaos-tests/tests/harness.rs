//! The namespace harness itself: links work, everything is removed on
//! drop (panics included), children die by PID with their guards, and
//! lac-sim reports an unreachable LNS as failed sessions instead of hanging.
//! Skips when not root.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lns_chaos_tests::harness::{require_root, wait_for_udp_port, Privilege, Topology};

fn namespaces() -> String {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pair() -> Topology {
    Topology::builder()
        .namespace("a")
        .namespace("b")
        .veth(
            ("a", "to-b", &["198.18.100.1/24", "2001:db8:100::1/64"]),
            ("b", "to-a", &["198.18.100.2/24", "2001:db8:100::2/64"]),
        )
        .build()
        .expect("build topology")
}

#[test]
fn veth_pair_carries_traffic_and_is_removed_on_drop() {
    if require_root("veth_pair_carries_traffic_and_is_removed_on_drop") == Privilege::Unprivileged {
        return;
    }
    let topo = pair();
    let (a, b) = (topo.ns("a"), topo.ns("b"));
    assert!(a.starts_with(&format!("lns-{}-", std::process::id())));
    assert!(namespaces().contains(&a) && namespaces().contains(&b));
    let reflector = topo
        .spawn_in(
            "b",
            "reflector",
            Command::new(env!("CARGO_BIN_EXE_reflector")).args(["--bind", "[::]:7"]),
        )
        .expect("spawn reflector");
    wait_for_udp_port(&b, 7, Duration::from_secs(10)).expect("reflector listens");
    for dst in ["198.18.100.2", "2001:db8:100::2"] {
        // bash's /dev/udp: one datagram out, the echo read back.
        let script = format!("exec 3<>/dev/udp/{dst}/7; printf echo >&3; head -c4 <&3");
        let out = topo
            .run_in(
                "a",
                Command::new("timeout").args(["5", "bash", "-c", &script]),
            )
            .unwrap_or_else(|e| panic!("UDP echo to {dst}: {e}"));
        assert_eq!(out.stdout, b"echo", "echo from {dst}");
    }
    let dir = topo.dir().to_path_buf();
    assert!(dir.is_dir());
    drop(reflector);
    drop(topo);
    assert!(!namespaces().contains(&a), "{a} left behind");
    assert!(!namespaces().contains(&b), "{b} left behind");
    assert!(!dir.exists());
}

#[test]
fn namespaces_are_removed_when_the_test_panics() {
    if require_root("namespaces_are_removed_when_the_test_panics") == Privilege::Unprivileged {
        return;
    }
    let name = std::sync::Mutex::new(String::new());
    let r = std::panic::catch_unwind(|| {
        let topo = pair();
        *name.lock().expect("lock") = topo.ns("a");
        panic!("test failure inside a topology");
    });
    assert!(r.is_err());
    let name = name.lock().expect("lock").clone();
    assert!(!name.is_empty());
    assert!(
        !namespaces().contains(&name),
        "{name} left behind after a panic"
    );
}

#[test]
fn addresses_outside_test_ranges_are_refused() {
    if require_root("addresses_outside_test_ranges_are_refused") == Privilege::Unprivileged {
        return;
    }
    let r = Topology::builder()
        .namespace("a")
        .namespace("b")
        .veth(("a", "x", &["192.0.2.1/24"]), ("b", "y", &[]))
        .build();
    assert!(r.is_err());
}

#[test]
fn children_are_killed_by_pid_on_drop() {
    if require_root("children_are_killed_by_pid_on_drop") == Privilege::Unprivileged {
        return;
    }
    let topo = pair();
    let mut reflector = topo
        .spawn_in(
            "b",
            "reflector",
            Command::new(env!("CARGO_BIN_EXE_reflector")).args(["--bind", "198.18.100.2:7"]),
        )
        .expect("spawn reflector");
    wait_for_udp_port(&topo.ns("b"), 7, Duration::from_secs(10)).expect("reflector listens");
    reflector
        .wait_for_log("listening", Duration::from_secs(5))
        .expect("reflector logs");
    let pid = reflector.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(reflector);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} survived"
    );
}

#[test]
fn lac_sim_against_no_lns_fails_fast_and_says_so() {
    if require_root("lac_sim_against_no_lns_fails_fast_and_says_so") == Privilege::Unprivileged {
        return;
    }
    let topo = pair();
    let lns: SocketAddr = "198.18.100.2:1701".parse().expect("literal");
    let started = Instant::now();
    let out = topo
        .run_in(
            "a",
            Command::new(env!("CARGO_BIN_EXE_lac-sim")).args([
                "--lns",
                &lns.to_string(),
                "--local",
                "198.18.100.1",
                "--tunnels",
                "2",
                "--sessions-per-tunnel",
                "3",
                "--traffic-pps",
                "0",
                "--hold",
                "0",
                "--setup-timeout",
                "2",
            ]),
        )
        .expect("lac-sim exits 0 with a report");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        line.starts_with("lac-sim tunnels=2 tunnels_up=0 tunnels_lost=0 sessions=6 sessions_up=0 "),
        "{line}"
    );
    assert!(line.contains(" setup_p50_ms=- "), "{line}");
    assert!(line.trim_end().ends_with(" teardown=unclean"), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}
