//! The real `lnsd` binary in a throw-away network namespace (as root;
//! skipped with a message otherwise), driven by signals like systemd would:
//! a login, SIGHUP after the users file gained a user (that user can then
//! log in; a changed `[ppp]` section is reported as needing a restart),
//! then SIGTERM: the LAC gets CDN and StopCCN and lnsd exits 0.

mod netns_support;

use lns_proto::l2tp::{CallInfo, Event};
use netns_support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn config_text(dir: &std::path::Path, tun: &str, mru: u16) -> String {
    lo_config_text("lnsd-bin", tun, &format!("mru = {mru}"), &mgmt_section(dir))
}

/// Sends a signal with kill(1) (`ip netns exec` execs lnsd: same pid).
fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{name} {pid}");
}

#[test]
fn sighup_reloads_users_and_sigterm_ends_everything_cleanly() {
    if !can_run() {
        return;
    }
    let (ns, dir, tun) = lo_bed("lnsd-bin", "lnsbin");
    std::fs::write(dir.join("users"), "alice wonderland\n").expect("users");
    std::fs::write(dir.join("lnsd.toml"), config_text(&dir, &tun, 1460)).expect("config");
    let log = std::fs::File::create(dir.join("lnsd.log")).expect("log");
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            env!("CARGO_BIN_EXE_lnsd"),
            "--config",
        ])
        .arg(dir.join("lnsd.toml"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(log.try_clone().expect("dup")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn lnsd");
    let lnsd = child.id();

    let lac_ns = ns.0.clone();
    let lac_dir = dir.clone();
    let outcome = std::thread::spawn(move || {
        enter(&lac_ns);
        let mut lac = Lac::new();
        let tunnel = lac.tunnel_up();
        assert!(
            lac.call_up(tunnel, CallInfo::default(), Duration::from_secs(15)),
            "alice up"
        );
        // lnsd re-executed itself with one malloc arena, keeping its pid
        // (`ip netns exec` execs it too), and serves.
        let environ = std::fs::read(format!("/proc/{lnsd}/environ")).expect("environ");
        assert!(
            environ
                .split(|b| *b == 0)
                .any(|kv| kv == b"MALLOC_ARENA_MAX=1"),
            "lnsd runs without MALLOC_ARENA_MAX=1"
        );

        // bob is added to the users file, [ppp] changes: SIGHUP.
        std::fs::write(lac_dir.join("users"), "alice wonderland\nbob builder\n").expect("users");
        std::fs::write(lac_dir.join("lnsd.toml"), config_text(&lac_dir, &tun, 1400))
            .expect("config");
        signal(lnsd, "HUP");
        let reloaded = (0..50).any(|_| {
            lac.drive(Duration::from_millis(100), |_| false);
            std::fs::read_to_string(lac_dir.join("lnsd.log"))
                .is_ok_and(|l| l.contains("AAA reloaded"))
        });
        assert!(reloaded, "lnsd logged the reload");
        lac.user = (b"bob".to_vec(), b"builder".to_vec());
        assert!(
            lac.call_up(tunnel, CallInfo::default(), Duration::from_secs(15)),
            "bob up after reload"
        );
        assert_eq!(lac.ipv4_ups(), 2, "alice and bob");

        signal(lnsd, "TERM");
        let stopped = lac.wait_tunnel_down(Duration::from_secs(10));
        assert!(stopped, "StopCCN received");
        lac.events
            .iter()
            .filter(|e| matches!(e, Event::SessionDown { .. }))
            .count()
    })
    .join();
    if outcome.is_err() {
        signal(lnsd, "KILL");
    }
    let status = child.wait().expect("lnsd exits");
    let log = std::fs::read_to_string(dir.join("lnsd.log")).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    let sessions_down = outcome.unwrap_or_else(|_| panic!("LAC side failed; lnsd log:\n{log}"));
    assert_eq!(sessions_down, 2, "{log}");
    assert!(status.success(), "lnsd exit {status:?}; log:\n{log}");
    assert!(log.contains("needs a restart"), "{log}");
    assert!(log.contains("exit=Clean"), "{log}");
    assert!(
        !log.contains("wonderland") && !log.contains("builder"),
        "no password in the log"
    );
}
