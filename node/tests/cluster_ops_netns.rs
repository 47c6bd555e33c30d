//! Cluster operations through the real `lnsctl` (issue 7 items 1-2, the
//! cluster side), as root in network namespaces (skipped with a message
//! otherwise): two `lnsd` (role lns) and one witness on one bridge,
//! `lac-sim` holding 20 sessions over 2 tunnels with traffic to a
//! reflector in `core` (the bed of `cluster_netns.rs`).
//!
//! ```text
//!  lac 198.18.1.1   lns-a 198.18.1.11   lns-b 198.18.1.12   witness 198.18.1.13
//!        |                |                   |                   |
//!  ======+================+===== bridge ======+===================+=== core 198.18.1.2
//!  tunnel address 198.18.1.100/24 on the active node; core: 198.19.0.0/16 via it
//! ```
//!
//! 1. `lnsctl --socket <standby> session kill --user user5`: the standby
//!    forwards it to the active node, which ends the session (the LAC sees
//!    the CDN, the active node's session count drops to 19).
//! 2. Replacing a dead node, exactly as docs/RUNBOOK.md says: the standby is
//!    killed and `lnsctl cluster remove`d on the active node; its data
//!    directory is wiped; it starts again with `bootstrap = "join"`;
//!    `lnsctl cluster add ID --learner` (given to the witness, which
//!    forwards it), it catches up (lag 0, its replicated table holds every
//!    session), `lnsctl cluster promote ID`, then `lnsctl cluster
//!    transfer-leader ID` makes it the active node.
//!
//! Through all of it the LAC loses no tunnel and no session but the one
//! killed on purpose, and every other session keeps carrying traffic.
//!
//! A second bed (its own namespaces) proves the other forwarded writes:
//! `tunnel kill` and `drill switchover` given to the standby run on the
//! active node, and both nodes leave `lnsd::audit` lines (who, what,
//! result), the active node's naming the forwarding member and its caller.

mod netns_support;

use netns_support::can_run;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MEMBERS: &str = r#"
[[cluster.members]]
id = 1
address = "198.18.1.11:7400"
role = "lns"
[[cluster.members]]
id = 2
address = "198.18.1.12:7400"
role = "lns"
[[cluster.members]]
id = 3
address = "198.18.1.13:7400"
role = "witness"
"#;

const VIP: &str = "198.18.1.100";
const SESSIONS: u64 = 20;
const NAMES: [&str; 2] = ["lnsa", "lnsb"];

type Json = serde_json::Value;

/// Deletes the namespaces (the bridge goes with its namespace).
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A process we started, killed by its PID on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Bed {
    // Field order is drop order: processes before namespaces.
    nodes: [Option<Proc>; 2],
    _witness: Proc,
    _reflector: Proc,
    dir: PathBuf,
    tag: String,
    _ns: Namespaces,
}

impl Bed {
    fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.tag)
    }

    fn holds(&self, i: usize) -> bool {
        let out = Command::new("ip")
            .args([
                "-n",
                &self.ns(NAMES[i]),
                "-4",
                "addr",
                "show",
                "dev",
                "eth0",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.contains(&format!("{VIP}/"))
    }

    /// Waits until exactly one node holds the tunnel address (`want` if given).
    fn wait_holder(&self, want: Option<usize>, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let h = match (self.holds(0), self.holds(1)) {
                (true, false) => Some(0),
                (false, true) => Some(1),
                _ => None,
            };
            if (h.is_some() && (want.is_none() || h == want)) || Instant::now() > deadline {
                return h;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start_node(&mut self, i: usize) {
        let role = NAMES[i];
        let config = self.dir.join(format!("{role}.toml"));
        self.nodes[i] = Some(spawn(
            &self.ns(role),
            Path::new(env!("CARGO_BIN_EXE_lnsd")),
            &["--config", &config.to_string_lossy()],
            &self.dir.join(format!("{role}.log")),
        ));
    }

    /// `lnsctl --json ARGS` on the management socket of `name`.
    fn lnsctl(&self, name: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lnsctl"))
            .arg("--socket")
            .arg(self.dir.join(format!("{name}.sock")))
            .arg("--json")
            .args(args)
            .output()
            .expect("lnsctl runs")
    }

    /// `lnsctl --json ARGS` on `name`, which must succeed.
    fn ctl(&self, name: &str, args: &[&str]) -> Json {
        let out = self.lnsctl(name, args);
        assert!(
            out.status.success(),
            "lnsctl {args:?} on {name}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("lnsctl --json")
    }

    /// Polls `check` on `lnsctl ARGS` of `name` until it holds.
    fn wait_ctl(&self, name: &str, args: &[&str], what: &str, check: impl Fn(&Json) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.lnsctl(name, args);
            let v: Option<Json> = serde_json::from_slice(&out.stdout).ok();
            if out.status.success() && v.as_ref().is_some_and(&check) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: lnsctl {args:?} on {name} last said {v:?} {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for r in ["lnsa", "lnsb", "wit", "lac-sim"] {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{r}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            s.push_str(&format!("---- {r} (last lines) ----\n"));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
}

/// `kill -SIG PID` (a process this test started).
fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spawn(ns: &str, bin: &Path, args: &[&str], log: &Path) -> Proc {
    let f = File::create(log).expect("log file");
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(f.try_clone().expect("dup")))
        .stderr(Stdio::from(f))
        .spawn()
        .expect("spawn");
    Proc(child)
}

/// `lac-sim` or `reflector`: beside lnsd, or built.
fn chaos_bin(name: &str, var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    let path = Path::new(env!("CARGO_BIN_EXE_lnsd")).with_file_name(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", "lns-chaos-tests", "--bin", name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot build {name}");
    }
    path
}

/// An lns member's config; `extra` goes into `[cluster]`.
fn node_config(dir: &Path, name: &str, id: u32, extra: &str) -> String {
    format!(
        r#"
[node]
host_name = "{name}"
[[listen]]
address = "{VIP}:1701"
[limits]
accept_unknown_lacs = true
[ppp]
ipcp_local = "198.18.2.1"
[[pools]]
name = "p"
ranges = [{{ start = "198.19.0.1", end = "198.19.0.254" }}]
[aaa]
users_file = "users"
default_pool = "p"
[tun]
name = "lns0"
[mgmt]
socket = "{sock}"
[cluster]
node_id = {id}
role = "lns"
listen = "198.18.1.1{id}:7400"
data_dir = "{data}"
secret_file = "cluster.secret"
{extra}
{MEMBERS}
[[cluster.tunnel_addresses]]
address = "{VIP}/24"
interface = "eth0"
"#,
        data = dir.join(format!("raft-{name}")).display(),
        sock = dir.join(format!("{name}.sock")).display(),
    )
}

/// A fresh bed; `suffix` keeps the namespaces of the tests of this file,
/// which run in parallel in one process, apart.
fn build_bed(suffix: &str) -> Bed {
    let tag = format!("oc{}{suffix}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("lnsd-opscluster-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let roles = ["br", "lac", "lnsa", "lnsb", "wit", "core"];
    let ns = Namespaces(roles.iter().map(|r| format!("{tag}-{r}")).collect());
    for n in &ns.0 {
        ip(&["netns", "add", n]);
        ip(&["-n", n, "link", "set", "lo", "up"]);
    }
    let br = format!("{tag}-br");
    ip(&["-n", &br, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &br, "link", "set", "br0", "up"]);
    for (r, a) in [
        ("lac", "198.18.1.1/24"),
        ("lnsa", "198.18.1.11/24"),
        ("lnsb", "198.18.1.12/24"),
        ("wit", "198.18.1.13/24"),
        ("core", "198.18.1.2/24"),
    ] {
        let n = format!("{tag}-{r}");
        let port = format!("p-{r}");
        ip(&[
            "link", "add", "eth0", "netns", &n, "type", "veth", "peer", "name", &port, "netns", &br,
        ]);
        ip(&["-n", &br, "link", "set", &port, "master", "br0", "up"]);
        ip(&["-n", &n, "addr", "add", a, "dev", "eth0"]);
        ip(&["-n", &n, "link", "set", "eth0", "up"]);
    }
    let core = format!("{tag}-core");
    ip(&["-n", &core, "route", "add", "198.19.0.0/16", "via", VIP]);
    for r in NAMES {
        let ok = Command::new("ip")
            .args(["netns", "exec", &format!("{tag}-{r}")])
            .args(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip_forward");
    }
    std::fs::write(
        dir.join("cluster.secret"),
        "netns-opscluster-secret-0123456789abcdef\n",
    )
    .expect("secret");
    // chat1..chat20: the second LAC of the promote-guard check.
    let users: String = (1..=SESSIONS)
        .map(|n| format!("user{n} password\nchat{n} password\n"))
        .collect();
    std::fs::write(dir.join("users"), users).expect("users");
    for (i, name) in NAMES.iter().enumerate() {
        let id = u32::try_from(i + 1).expect("1 or 2");
        std::fs::write(
            dir.join(format!("{name}.toml")),
            node_config(&dir, name, id, ""),
        )
        .expect("config");
    }
    let witness = format!(
        "[node]\nhost_name = \"wit\"\n[cluster]\nnode_id = 3\nrole = \"witness\"\n\
         listen = \"198.18.1.13:7400\"\ndata_dir = \"{}\"\nsecret_file = \"cluster.secret\"\n\
         [mgmt]\nsocket = \"{}\"\n{MEMBERS}",
        dir.join("raft-wit").display(),
        dir.join("wit.sock").display()
    );
    std::fs::write(dir.join("wit.toml"), witness).expect("config");
    let reflector = spawn(
        &core,
        &chaos_bin("reflector", "REFLECTOR_BIN"),
        &["--bind", "198.18.1.2:7"],
        &dir.join("reflector.log"),
    );
    let witness = spawn(
        &format!("{tag}-wit"),
        Path::new(env!("CARGO_BIN_EXE_lnsd")),
        &["--config", &dir.join("wit.toml").to_string_lossy()],
        &dir.join("wit.log"),
    );
    let mut bed = Bed {
        nodes: [None, None],
        _witness: witness,
        _reflector: reflector,
        dir,
        tag,
        _ns: ns,
    };
    bed.start_node(0);
    bed.start_node(1);
    bed
}

/// The member `id` in a `cluster status` reply.
fn member(status: &Json, id: u64) -> Option<&Json> {
    status["members"]
        .as_array()?
        .iter()
        .find(|m| m["id"].as_u64() == Some(id))
}

#[test]
fn a_standby_forwards_a_kill_and_a_dead_node_is_replaced_with_no_session_lost() {
    if !can_run() {
        return;
    }
    let lac_sim = chaos_bin("lac-sim", "LAC_SIM_BIN");
    let mut bed = build_bed("");
    let active = bed
        .wait_holder(None, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no node became active\n{}", bed.logs()));
    let standby = 1 - active;
    let standby_id = (standby + 1) as u64;
    let sim_log = bed.dir.join("lac-sim.log");
    let sim_out = bed.dir.join("lac-sim.out");
    let sim = Command::new("ip")
        .args(["netns", "exec", &bed.ns("lac")])
        .arg(&lac_sim)
        .args(["--lns", &format!("{VIP}:1701"), "--local", "198.18.1.1"])
        .args(["--tunnels", "2", "--sessions-per-tunnel", "10"])
        .args(["--reflector", "198.18.1.2:7", "--traffic-pps", "20"])
        .args(["--setup-timeout", "20", "--hold", "50", "--json"])
        .stdout(Stdio::from(File::create(&sim_out).expect("out")))
        .stderr(Stdio::from(File::create(&sim_log).expect("log")))
        .spawn()
        .expect("lac-sim");
    let mut sim = Proc(sim);
    let deadline = Instant::now() + Duration::from_secs(25);
    while !std::fs::read_to_string(&sim_log)
        .unwrap_or_default()
        .contains("setup done")
    {
        assert!(Instant::now() < deadline, "setup not done\n{}", bed.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    bed.wait_ctl(NAMES[standby], &["status"], "standby replica", |s| {
        s["role"] == "ROLE_STANDBY" && s["sessions"] == SESSIONS
    });

    // 1. A kill given to the standby runs on the active node.
    let k = bed.ctl(NAMES[standby], &["session", "kill", "--user", "user5"]);
    assert_eq!(k["affected"], 1, "{k}");
    assert_eq!(
        k["forwarded_to"],
        format!("198.18.1.1{}:7400", active + 1),
        "{k}"
    );
    bed.wait_ctl(NAMES[active], &["status"], "kill on the active", |s| {
        s["sessions"] == SESSIONS - 1
    });
    let left = bed.ctl(NAMES[active], &["sessions", "--user", "user5"]);
    assert_eq!(
        left["sessions"].as_array().map_or(0, Vec::len),
        0,
        "user5 still has a session on the active node: {left}"
    );
    // A kill of something that does not exist comes back as the active
    // node's refusal.
    let missing = bed.lnsctl(NAMES[standby], &["session", "kill", "--user", "nobody"]);
    assert!(!missing.status.success(), "a kill of nobody succeeded");
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("nobody"), "{err}");

    // 2. The standby dies and is replaced (docs/RUNBOOK.md).
    bed.nodes[standby] = None;
    let removed = bed.ctl(
        NAMES[active],
        &["cluster", "remove", &standby_id.to_string()],
    );
    assert_eq!(removed["affected"], 1, "{removed}");
    bed.wait_ctl(NAMES[active], &["cluster", "status"], "removed", |s| {
        s["members"].as_array().map_or(0, Vec::len) == 2 && member(s, standby_id).is_none()
    });
    std::fs::remove_dir_all(bed.dir.join(format!("raft-{}", NAMES[standby])))
        .expect("wipe the data directory");
    std::fs::write(
        bed.dir.join(format!("{}.toml", NAMES[standby])),
        node_config(
            &bed.dir,
            NAMES[standby],
            u32::try_from(standby_id).expect("1 or 2"),
            "bootstrap = \"join\"",
        ),
    )
    .expect("config");
    bed.start_node(standby);
    // Not yet added: it forms no cluster of its own and stays inactive.
    bed.wait_ctl(NAMES[standby], &["status"], "joining node up", |s| {
        s["role"] != "ROLE_ACTIVE"
    });
    let id = standby_id.to_string();
    let added = bed.ctl("wit", &["cluster", "add", &id, "--learner"]);
    assert!(
        added["forwarded_to"]
            .as_str()
            .is_some_and(|a| !a.is_empty()),
        "the witness ran `cluster add` itself: {added}"
    );
    bed.wait_ctl(
        NAMES[active],
        &["cluster", "status"],
        "learner caught up",
        |s| {
            member(s, standby_id).is_some_and(|m| {
                m["learner"] == true && m["lag_entries"] == 0 && m["match_index"].as_u64() > Some(0)
            })
        },
    );
    // 2b. The promote guard on real processes: the learner is frozen while
    // the active node commits more than 1 000 entries (a second LAC, one
    // session on each of 20 tunnels, says HELLO after 1 ms of silence;
    // each is committed), so
    // `promote` is refused with the lag named; resumed and caught up, the
    // learner is promoted.
    let learner = bed.nodes[standby].as_ref().expect("started").0.id();
    signal(learner, "STOP");
    let chatter = Command::new("ip")
        .args(["netns", "exec", &bed.ns("lac")])
        .arg(&lac_sim)
        .args(["--lns", &format!("{VIP}:1701"), "--local", "198.18.1.1"])
        .args(["--tunnels", "20", "--sessions-per-tunnel", "1"])
        .args(["--user-template", "chat{n}"])
        .args(["--hello-interval-ms", "1", "--traffic-pps", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            File::create(bed.dir.join("chatter.log")).expect("log"),
        ))
        .spawn()
        .expect("lac-sim");
    let mut chatter = Proc(chatter);
    let deadline = Instant::now() + Duration::from_secs(90);
    let lag = loop {
        let s: Option<Json> =
            serde_json::from_slice(&bed.lnsctl(NAMES[active], &["cluster", "status"]).stdout).ok();
        let lag = s
            .as_ref()
            .and_then(|s| member(s, standby_id))
            .and_then(|m| m["lag_entries"].as_u64())
            .unwrap_or(0);
        if lag > 1_000 {
            break lag;
        }
        assert!(
            Instant::now() < deadline,
            "the frozen learner's lag stayed at {lag}\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The second LAC leaves (SIGTERM: it closes its tunnels).
    signal(chatter.0.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while chatter.0.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(chatter);
    let refused = bed.lnsctl(NAMES[active], &["cluster", "promote", &id]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a learner {lag} entries behind was promoted"
    );
    let named: u64 = why
        .split("lags ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the refusal names no lag: {why}"));
    assert!(named > 1_000, "{why}");
    assert!(
        why.contains(&format!("cluster promote {id} --force")),
        "{why}"
    );
    signal(learner, "CONT");
    bed.wait_ctl(
        NAMES[active],
        &["cluster", "status"],
        "resumed learner caught up",
        |s| member(s, standby_id).is_some_and(|m| m["learner"] == true && m["lag_entries"] == 0),
    );
    bed.ctl(NAMES[active], &["cluster", "promote", &id]);
    bed.wait_ctl(NAMES[active], &["cluster", "status"], "promoted", |s| {
        member(s, standby_id).is_some_and(|m| m["learner"] == false && m["lag_entries"] == 0)
    });
    bed.wait_ctl(NAMES[standby], &["status"], "caught-up standby", |s| {
        s["role"] == "ROLE_STANDBY" && s["sessions"] == SESSIONS - 1
    });
    assert_eq!(
        bed.wait_holder(None, Duration::from_secs(1)),
        Some(active),
        "the joining node disturbed the active\n{}",
        bed.logs()
    );
    bed.ctl(NAMES[active], &["cluster", "transfer-leader", &id]);
    assert_eq!(
        bed.wait_holder(Some(standby), Duration::from_secs(5)),
        Some(standby),
        "the replacement did not become active\n{}",
        bed.logs()
    );
    bed.wait_ctl(NAMES[standby], &["status"], "replacement active", |s| {
        s["role"] == "ROLE_ACTIVE" && s["sessions"] == SESSIONS - 1
    });

    // 3. lac-sim ends its hold: only user5's session ended early.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = sim.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "lac-sim did not finish\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&sim_out).unwrap_or_default();
    let ctx = || format!("{stdout}\n{}", bed.logs());
    let report: Json =
        serde_json::from_str(stdout.lines().find(|l| l.starts_with('{')).unwrap_or("{}"))
            .expect("lac-sim JSON");
    assert_eq!(report["tunnels_up"], 2, "{}", ctx());
    assert_eq!(
        report["tunnels_lost"],
        0,
        "a StopCCN or a dead tunnel\n{}",
        ctx()
    );
    let list = report["session_list"].as_array().expect("session_list");
    assert_eq!(list.len() as u64, SESSIONS, "{}", ctx());
    for s in list {
        let killed = s["user"] == "user5";
        assert_eq!(
            s["dropped_early"],
            killed,
            "only user5 was killed (CDN): {s}\n{}",
            ctx()
        );
        let sent = s["sent"].as_u64().unwrap_or(0);
        let received = s["received"].as_u64().unwrap_or(0);
        assert!(
            killed || (sent > 0 && received * 3 >= sent * 2),
            "session lost its traffic: {s}\n{}",
            ctx()
        );
    }
    // lac-sim exits non-zero when a session dropped early; the report
    // above is the verdict.
    let _ = status;
}

/// `tunnel kill` and `drill switchover` given to the standby run on the
/// active node (forwarded over `Peer.Forward`), and both nodes leave an
/// audit line (`lnsd::audit`): the standby names the Unix socket caller,
/// the active node the forwarding member and that caller.
#[test]
fn a_standby_forwards_a_tunnel_kill_and_a_switchover_drill_with_audit_lines() {
    if !can_run() {
        return;
    }
    let lac_sim = chaos_bin("lac-sim", "LAC_SIM_BIN");
    let bed = build_bed("f");
    let active = bed
        .wait_holder(None, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no node became active\n{}", bed.logs()));
    let standby = 1 - active;
    let sim_log = bed.dir.join("lac-sim.log");
    let sim = Command::new("ip")
        .args(["netns", "exec", &bed.ns("lac")])
        .arg(&lac_sim)
        .args(["--lns", &format!("{VIP}:1701"), "--local", "198.18.1.1"])
        .args(["--tunnels", "2", "--sessions-per-tunnel", "10"])
        .args(["--reflector", "198.18.1.2:7", "--traffic-pps", "5"])
        .args(["--setup-timeout", "20", "--hold", "60", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&sim_log).expect("log")))
        .spawn()
        .expect("lac-sim");
    let _sim = Proc(sim);
    bed.wait_ctl(NAMES[standby], &["status"], "standby replica", |s| {
        s["role"] == "ROLE_STANDBY" && s["sessions"] == SESSIONS
    });
    let active_address = format!("198.18.1.1{}:7400", active + 1);

    // 1. A tunnel kill given to the standby closes the tunnel on the
    // active node, with its 10 sessions.
    let tunnels = bed.ctl(NAMES[active], &["tunnels"]);
    let tunnel = tunnels["tunnels"][0]["tunnel_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no tunnel in {tunnels}"))
        .to_string();
    let k = bed.ctl(NAMES[standby], &["tunnel", "kill", &tunnel]);
    assert_eq!(k["affected"], 1, "{k}");
    assert_eq!(k["forwarded_to"], active_address, "{k}");
    bed.wait_ctl(
        NAMES[active],
        &["status"],
        "tunnel kill on the active",
        |s| s["sessions"] == SESSIONS - 10,
    );
    bed.wait_ctl(NAMES[standby], &["status"], "replicated kill", |s| {
        s["sessions"] == SESSIONS - 10
    });
    // A tunnel that does not exist: the active node's refusal, forwarded.
    let missing = bed.lnsctl(NAMES[standby], &["tunnel", "kill", "65000"]);
    assert!(
        !missing.status.success(),
        "a kill of tunnel 65000 succeeded"
    );

    // 2. A switchover drill given to the standby runs on the active node
    // and makes the standby active.
    let d = bed.ctl(NAMES[standby], &["drill", "switchover"]);
    assert_eq!(d["forwarded_to"], active_address, "{d}");
    assert_eq!(d["to_node"], (standby + 1).to_string(), "{d}");
    assert_eq!(d["sessions_before"], SESSIONS - 10, "{d}");
    assert_eq!(d["sessions_after"], SESSIONS - 10, "{d}");
    assert_eq!(
        bed.wait_holder(Some(standby), Duration::from_secs(10)),
        Some(standby),
        "the drill did not move the tunnel address\n{}",
        bed.logs()
    );

    // 3. The audit trail on both nodes.
    let log = |i: usize| {
        std::fs::read_to_string(bed.dir.join(format!("{}.log", NAMES[i]))).unwrap_or_default()
    };
    let audit = |i: usize, what: &str| -> Vec<String> {
        log(i)
            .lines()
            .filter(|l| l.contains("lnsd::audit") && l.contains(what))
            .map(str::to_owned)
            .collect()
    };
    let kill = format!("what=\"tunnel kill {tunnel}\"");
    let on_active = audit(active, &kill);
    assert_eq!(on_active.len(), 1, "{on_active:?}\n{}", log(active));
    let standby_id = standby + 1;
    assert!(
        on_active[0].contains(&format!("who=\"member {standby_id} for unix uid=0 pid=")),
        "{on_active:?}"
    );
    assert!(
        on_active[0].contains("result=ok: affected=1"),
        "{on_active:?}"
    );
    let on_standby = audit(standby, &kill);
    assert_eq!(on_standby.len(), 1, "{on_standby:?}\n{}", log(standby));
    assert!(
        on_standby[0].contains("who=\"unix uid=0 pid="),
        "{on_standby:?}"
    );
    assert!(
        on_standby[0].contains(&format!("forwarded_to={active_address}")),
        "{on_standby:?}"
    );
    let refused = audit(active, "what=\"tunnel kill 65000\"");
    assert!(
        refused.len() == 1 && refused[0].contains("result=refused"),
        "{refused:?}"
    );
    let drill = audit(active, "what=\"drill switchover (best standby)\"");
    assert!(
        drill.len() == 1 && drill[0].contains("result=ok: "),
        "{drill:?}\n{}",
        log(active)
    );
}
