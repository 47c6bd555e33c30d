//! The tunnel-address guard (`vip::AddressGuard`, issue 6): the addresses
//! a cluster member added leave the interface when lnsd goes away, whether
//! it returns or dies (both close the guard's pipe), but not when the guard
//! alone gets SIGTERM (a service manager's graceful stop must let lnsd hand
//! over first). The process-death path is proven end to end by the
//! `kill-active` drill, which fails if a killed node still holds the address.
//! Root only; the namespace is removed on drop.

mod netns_support;

use lns_node::config::{IpPrefix, TunnelAddress};
use lns_node::vip::Vip;
use netns_support::{can_run, enter, ip, Namespace};
use std::process::Command;
use std::time::{Duration, Instant};

fn addresses_on(iface: &str) -> String {
    let out = Command::new("ip")
        .args(["-o", "addr", "show", "dev", iface])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls (real time: the guard is another process) until `done` holds.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tunnel_address(addr: &str, len: u8) -> TunnelAddress {
    TunnelAddress {
        address: IpPrefix {
            addr: addr.parse().expect("literal"),
            len,
        },
        interface: "eth9".into(),
    }
}

#[test]
fn the_addresses_leave_with_the_guard_and_survive_its_sigterm() {
    if !can_run() {
        return;
    }
    let ns = Namespace(format!("lnsd-guard-{}", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    enter(&ns.0);
    // No dummy driver everywhere: a veth pair inside the namespace.
    ip(&[
        "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p",
    ]);
    ip(&["link", "set", "eth9p", "up"]);
    ip(&["link", "set", "eth9", "up"]);
    let vip = Vip::new(vec![
        tunnel_address("198.18.7.100", 24),
        tunnel_address("2001:db8:7::100", 64),
    ]);
    assert!(vip.add_all().is_empty(), "addresses added");
    let shown = addresses_on("eth9");
    assert!(shown.contains("198.18.7.100/24"), "{shown}");
    assert!(shown.contains("2001:db8:7::100/64"), "{shown}");

    let guard = vip.guard().expect("guard starts");
    let pid = guard.pid().expect("a child");
    // A graceful stop signals the whole service: the guard must not act.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(200));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
    assert!(
        matches!(state, Some('S' | 'R')),
        "the guard survived SIGTERM (state {state:?})"
    );
    let shown = addresses_on("eth9");
    assert!(shown.contains("198.18.7.100/24"), "kept: {shown}");
    assert!(shown.contains("2001:db8:7::100/64"), "kept: {shown}");

    // lnsd going away closes the pipe: both addresses leave.
    drop(guard);
    wait_for("the addresses leave eth9", || {
        let shown = addresses_on("eth9");
        !shown.contains("198.18.7.100") && !shown.contains("2001:db8:7::100")
    });
}
