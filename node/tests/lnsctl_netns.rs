//! lnsd's `[mgmt]` section end to end, as root in a throw-away network
//! namespace (skipped with a message otherwise): the whole daemon
//! (`daemon::run_with`) with its socket in a directory that does not exist
//! yet and a TCP listener with a token file; one PAP session (alice) brought
//! up by the test LAC of `netns_support`; then the real `lnsctl` binary:
//! over the Unix socket (created with its directory, mode 0600) and over
//! TCP with the token (a wrong or missing token is refused with a message
//! saying what to do); the socket is removed when lnsd stops.
//!
//! ```text
//!  ns lnsctl-PID
//!  lo: 198.18.0.1 (lnsd: UDP 1701, mgmt TCP 7402)   198.18.0.2 (test LAC)
//!  lnsctlN (TUN): 198.19.255.254, pool 198.19.1.10-20
//! ```

mod netns_support;

use lns_node::config::Config;
use lns_node::control::{ControlSignal, Exit};
use lns_proto::l2tp::CallInfo;
use netns_support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const MGMT_TCP: &str = "198.18.0.1:7402";
const TOKEN: &str = "0123456789abcdef-lnsctl-netns";

fn config(dir: &Path, tun: &str) -> Config {
    std::fs::write(dir.join("mgmt.token"), format!("{TOKEN}\n")).expect("token file");
    let mgmt = format!(
        "[mgmt]\nsocket = \"{}\"\ntcp = \"{MGMT_TCP}\"\ntoken_file = \"mgmt.token\"\n",
        dir.join("run/lnsd/mgmt.sock").display()
    );
    lo_config(dir, &lo_config_text("lnsd-ctl", tun, "", &mgmt))
}

fn lnsctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnsctl"))
        .args(args)
        .env_remove("LNSCTL_TOKEN")
        .output()
        .expect("lnsctl runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lnsctl --json")
}

#[test]
fn lnsctl_over_the_socket_and_over_tcp_with_the_token() {
    if !can_run() {
        return;
    }
    let (ns, dir, tun) = lo_bed("lnsctl", "lnsctl");
    let cfg = config(&dir, &tun);
    let socket = cfg.mgmt.socket.clone();
    let socket_arg = socket.display().to_string();

    let (signals, daemon) = spawn_daemon(&ns.0, cfg);

    let lac_ns = ns.0.clone();
    let checked = std::thread::spawn(move || {
        // lnsctl children inherit this thread's namespace.
        enter(&lac_ns);
        let mut lac = Lac::new();
        let tunnel = lac.tunnel_up();
        assert!(
            lac.call_up(tunnel, CallInfo::default(), Duration::from_secs(15)),
            "PPP up"
        );

        // Over the Unix socket.
        let mode = std::fs::metadata(&socket)
            .expect("socket exists")
            .permissions()
            .mode();
        let status = json(&lnsctl(&["--socket", &socket_arg, "--json", "status"]));
        let sessions = json(&lnsctl(&[
            "--socket",
            &socket_arg,
            "--json",
            "sessions",
            "--user",
            "alice",
        ]));

        // Over TCP: the right token, a wrong one, none.
        let tcp_status = json(&lnsctl(&[
            "--addr", MGMT_TCP, "--token", TOKEN, "--json", "status",
        ]));
        let wrong = lnsctl(&["--addr", MGMT_TCP, "--token", "not-the-token", "status"]);
        let missing = lnsctl(&["--addr", MGMT_TCP, "status"]);

        signals
            .blocking_send(ControlSignal::Shutdown)
            .expect("daemon alive");
        lac.wait_tunnel_down(Duration::from_secs(10));
        (mode, status, sessions, tcp_status, wrong, missing)
    });
    let (mode, status, sessions, tcp_status, wrong, missing) = checked.join().expect("LAC thread");
    let exit = daemon.join().expect("daemon thread").expect("daemon ran");
    let socket_left = dir.join("run/lnsd/mgmt.sock").exists();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    assert_eq!(status["role"], "ROLE_SINGLE", "{status}");
    assert_eq!(status["node"], "lnsd-ctl");
    assert_eq!(status["sessions"], 1, "{status}");
    assert_eq!(status["tunnels"], 1, "{status}");
    let list = sessions["sessions"].as_array().expect("sessions");
    assert_eq!(list.len(), 1, "{sessions}");
    assert_eq!(list[0]["user"], "alice");
    assert_eq!(list[0]["state"], "SESSION_STATE_UP");
    assert_eq!(tcp_status["sessions"], 1, "{tcp_status}");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("token rejected"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--token"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert_eq!(exit, Exit::Clean);
    assert!(!socket_left, "the socket is removed on shutdown");
}
