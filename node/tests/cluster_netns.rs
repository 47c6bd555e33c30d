//! Failover of a real cluster (issue 6 item 8), as root in network
//! namespaces (skipped with a message otherwise): two `lnsd` (role lns) and
//! one `lnsd` witness on one bridge, `lac-sim` holding 20 sessions over 2
//! tunnels with traffic to a reflector in `core`, which routes the pool via
//! the tunnel address.
//!
//! ```text
//!  lac 198.18.1.1   lns-a 198.18.1.11   lns-b 198.18.1.12   witness 198.18.1.13
//!        |                |                   |                   |
//!  ======+================+===== bridge ======+===================+=== core 198.18.1.2
//!  tunnel address 198.18.1.100/24 on the active node; core: 198.19.0.0/16 via it
//! ```
//!
//! The drill: SIGKILL the active lnsd; the other must become active and hold
//! the tunnel address; the killed one restarts and rejoins as a standby;
//! `lnsctl cluster transfer-leader` given to that standby is forwarded to
//! the active node and transfers leadership back and `lnsctl drill switchover` moves it once more. The real
//! `lnsctl` checks `cluster status` and `status` on every member (the
//! witness included), and the survivor's /metrics counts the failover. Through all of it the
//! LAC must see no CDN and no StopCCN (`tunnels_lost=0 dropped=0`), every
//! session must keep carrying traffic, and the teardown must be clean.
//!
//! The `lac-sim` and `reflector` binaries of `lns-chaos-tests` are found next
//! to the lnsd binary (`LAC_SIM_BIN`, `REFLECTOR_BIN` override), built with
//! cargo when missing.

mod netns_support;

use netns_support::can_run;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
const SESSIONS: u32 = 20;

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
struct Proc {
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{name} {}", self.pid());
    }
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Bed {
    // Field order is drop order: processes before namespaces.
    nodes: Vec<Option<Proc>>,
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

    /// Whether lns node `i` (0 or 1) has the tunnel address on its eth0.
    fn holds(&self, i: usize) -> bool {
        let role = ["lnsa", "lnsb"][i];
        let out = Command::new("ip")
            .args(["-n", &self.ns(role), "-4", "addr", "show", "dev", "eth0"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.contains(&format!("{VIP}/"))
    }

    /// Which lns node holds the tunnel address, if exactly one does.
    fn holder(&self) -> Option<usize> {
        match (self.holds(0), self.holds(1)) {
            (true, false) => Some(0),
            (false, true) => Some(1),
            _ => None,
        }
    }

    /// Waits until exactly one node holds the address (and, with `want`,
    /// that it is node `want`).
    fn wait_holder(&self, want: Option<usize>, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let h = self.holder();
            if h.is_some() && (want.is_none() || h == want) {
                return h;
            }
            if Instant::now() > deadline {
                return h;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until node `i` holds the address (whatever a dead node holds).
    fn wait_holds(&self, i: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.holds(i) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn start_node(&mut self, i: usize) {
        let role = ["lnsa", "lnsb"][i];
        let p = spawn(
            &self.ns(role),
            Path::new(env!("CARGO_BIN_EXE_lnsd")),
            &[
                "--config",
                &self.dir.join(format!("{role}.toml")).to_string_lossy(),
            ],
            &self.dir.join(format!("{role}.log")),
        );
        self.nodes[i] = Some(p);
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for r in ["lnsa", "lnsb", "wit", "lac-sim"] {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{r}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            s.push_str(&format!("---- {r} (last lines) ----\n"));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
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
    Proc { child }
}

/// `lac-sim` or `reflector`: beside lnsd, or built.
fn chaos_bin(name: &str, var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    let lnsd = Path::new(env!("CARGO_BIN_EXE_lnsd"));
    let path = lnsd.with_file_name(name);
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

/// The engine sections every member carries (the witness too).
const ENGINE: &str = r#"[limits]
accept_unknown_lacs = true
[ppp]
ipcp_local = "198.18.2.1"
[[pools]]
name = "p"
ranges = [{ start = "198.19.0.1", end = "198.19.0.254" }]
[aaa]
users_file = "users"
default_pool = "p"
"#;

fn node_config(dir: &Path, name: &str, id: u32) -> String {
    format!(
        r#"
[node]
host_name = "{name}"
[[listen]]
address = "{VIP}:1701"
{ENGINE}[tun]
name = "lns0"
[mgmt]
socket = "{sock}"
[http]
listen = "198.18.1.1{id}:9701"
[cluster]
node_id = {id}
role = "lns"
listen = "198.18.1.1{id}:7400"
data_dir = "{}"
secret_file = "cluster.secret"
{MEMBERS}
[[cluster.tunnel_addresses]]
address = "{VIP}/24"
interface = "eth0"
"#,
        dir.join(format!("raft-{name}")).display(),
        sock = dir.join(format!("{name}.sock")).display(),
    )
}

/// Runs the real `lnsctl --json` against the management socket of `name`.
fn lnsctl(dir: &Path, name: &str, args: &[&str]) -> Json {
    let socket = dir.join(format!("{name}.sock"));
    let out = Command::new(env!("CARGO_BIN_EXE_lnsctl"))
        .arg("--socket")
        .arg(&socket)
        .arg("--json")
        .args(args)
        .output()
        .expect("lnsctl runs");
    assert!(
        out.status.success(),
        "lnsctl {args:?} on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lnsctl --json")
}

/// The roles `lnsctl cluster status` on `name` reports, by member id.
fn cluster_roles(dir: &Path, name: &str) -> Vec<(u64, String)> {
    let r = lnsctl(dir, name, &["cluster", "status"]);
    r["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| {
                    (
                        m["id"].as_u64().unwrap_or(0),
                        m["role"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// GET `path` on the operations endpoint of lns node `i`: (status, body).
fn http_get(tag: &str, i: usize, path: &str) -> (String, String) {
    let role = ["lnsa", "lnsb"][i];
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("{tag}-{role}"), "curl", "-s"])
        .args(["-w", "\n%{http_code}"])
        .arg(format!("http://198.18.1.1{}:9701{path}", i + 1))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match text.rsplit_once('\n') {
        Some((body, code)) => (code.to_owned(), body.to_owned()),
        None => (text, String::new()),
    }
}

/// The value of the series `series` (name and labels) on the /metrics of
/// lns node `i` (-1 when absent).
fn metric(tag: &str, i: usize, series: &str) -> f64 {
    let (_, text) = http_get(tag, i, "/metrics");
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}

/// The `lnsd_failovers_total{kind}` value on the /metrics of lns node `i`.
fn failovers(tag: &str, i: usize, kind: &str) -> f64 {
    metric(tag, i, &format!("lnsd_failovers_total{{kind=\"{kind}\"}}"))
}

fn build_bed() -> Bed {
    let mut bed = build_bed_with("k", &|_, c| c);
    bed.start_node(0);
    bed.start_node(1);
    bed
}

/// The bed with each lns node's config passed through `edit(name,
/// config)` and no lns node started yet.
fn build_bed_with(suffix: &str, edit: &dyn Fn(&str, String) -> String) -> Bed {
    let tag = format!("fo{}{suffix}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("lnsd-cluster-{tag}"));
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
    ip(&[
        "-n",
        &format!("{tag}-core"),
        "route",
        "add",
        "198.19.0.0/16",
        "via",
        VIP,
    ]);
    for r in ["lnsa", "lnsb"] {
        let ok = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("{tag}-{r}"),
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip_forward");
    }
    std::fs::write(
        dir.join("cluster.secret"),
        "netns-test-cluster-secret-0123456789abcdef\n",
    )
    .expect("secret");
    let users: String = (1..=SESSIONS)
        .map(|n| format!("user{n} password\n"))
        .collect();
    std::fs::write(dir.join("users"), users).expect("users");
    for (name, id) in [("lnsa", 1), ("lnsb", 2)] {
        let config = edit(name, node_config(&dir, name, id));
        std::fs::write(dir.join(format!("{name}.toml")), config).expect("config");
    }
    // The witness applies the same log: it carries the engine sections.
    let witness = format!(
        "[node]\nhost_name = \"wit\"\n{ENGINE}[cluster]\nnode_id = 3\nrole = \"witness\"\n\
         listen = \"198.18.1.13:7400\"\ndata_dir = \"{}\"\nsecret_file = \"cluster.secret\"\n\
         [mgmt]\nsocket = \"{}\"\n{MEMBERS}",
        dir.join("raft-wit").display(),
        dir.join("wit.sock").display()
    );
    std::fs::write(dir.join("wit.toml"), witness).expect("config");
    let reflector = spawn(
        &format!("{tag}-core"),
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
    Bed {
        nodes: vec![None, None],
        _witness: witness,
        _reflector: reflector,
        dir,
        tag,
        _ns: ns,
    }
}

type Json = serde_json::Value;

#[test]
fn kill_active_then_rejoin_and_transfer_back_keep_every_session() {
    if !can_run() {
        return;
    }
    let lac_sim = chaos_bin("lac-sim", "LAC_SIM_BIN");
    let mut bed = build_bed();
    let first = bed
        .wait_holder(None, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no node became active\n{}", bed.logs()));
    let other = 1 - first;
    // lac-sim: 2 tunnels x 10 sessions, 20 probes/s each, held 30 s.
    let sim_log = bed.dir.join("lac-sim.log");
    let sim_out = bed.dir.join("lac-sim.out");
    let sim = Command::new("ip")
        .args(["netns", "exec", &bed.ns("lac")])
        .arg(&lac_sim)
        .args([
            "--lns",
            &format!("{VIP}:1701"),
            "--local",
            "198.18.1.1",
            "--tunnels",
            "2",
            "--sessions-per-tunnel",
            "10",
            "--reflector",
            "198.18.1.2:7",
            "--traffic-pps",
            "20",
            "--setup-timeout",
            "20",
            "--hold",
            "30",
            "--json",
        ])
        .stdout(Stdio::from(File::create(&sim_out).expect("out")))
        .stderr(Stdio::from(File::create(&sim_log).expect("log")))
        .spawn()
        .expect("lac-sim");
    let mut sim = Proc { child: sim };
    let deadline = Instant::now() + Duration::from_secs(25);
    while !std::fs::read_to_string(&sim_log)
        .unwrap_or_default()
        .contains("setup done")
    {
        assert!(Instant::now() < deadline, "setup not done\n{}", bed.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));

    // 0. lnsctl on every member: the witness lists all three, one active;
    // `status` names the role on the active and the standby.
    let names = ["lnsa", "lnsb"];
    let roles = cluster_roles(&bed.dir, "wit");
    let want_active = (first + 1) as u64;
    assert_eq!(roles.len(), 3, "{roles:?}");
    assert!(
        roles.contains(&(want_active, "ROLE_ACTIVE".into())),
        "{roles:?}"
    );
    assert!(roles.contains(&(3, "ROLE_WITNESS".into())), "{roles:?}");
    assert_eq!(
        roles.iter().filter(|(_, r)| r == "ROLE_ACTIVE").count(),
        1,
        "{roles:?}"
    );
    let s = lnsctl(&bed.dir, names[first], &["status"]);
    assert_eq!(s["role"], "ROLE_ACTIVE", "{s}");
    assert_eq!(s["active_node"], want_active.to_string(), "{s}");
    let s = lnsctl(&bed.dir, names[other], &["status"]);
    assert_eq!(s["role"], "ROLE_STANDBY", "{s}");
    assert_eq!(s["sessions"], SESSIONS, "standby's replicated table: {s}");
    let w = lnsctl(&bed.dir, "wit", &["status"]);
    assert_eq!(w["role"], "ROLE_WITNESS", "{w}");

    // 1. SIGKILL the active node: the other takes the tunnel address.
    let killed_at = Instant::now();
    if let Some(p) = bed.nodes[first].as_mut() {
        p.signal("KILL");
        p.kill();
    }
    bed.nodes[first] = None;
    // The killed node's namespace keeps the address (nobody removed it,
    // as after a crash of the process): the new node's gratuitous ARPs
    // move the LAC's and the core's neighbour entries; the restarted lnsd
    // removes the stale address before it joins.
    assert!(
        bed.wait_holds(other, Duration::from_secs(5)),
        "the standby did not take over\n{}",
        bed.logs()
    );
    let took = killed_at.elapsed();
    println!("failover: node {} active after {took:?}", other + 1);
    assert!(took < Duration::from_secs(3), "takeover took {took:?}");
    std::thread::sleep(Duration::from_millis(500));
    let roles = cluster_roles(&bed.dir, names[other]);
    assert!(
        roles.contains(&((other + 1) as u64, "ROLE_ACTIVE".into())),
        "survivor's cluster status: {roles:?}"
    );
    // The roles follower samples the leadership once a second: give the
    // counter that long to appear.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut unplanned = failovers(&bed.tag, other, "unplanned");
    while unplanned < 1.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        unplanned = failovers(&bed.tag, other, "unplanned");
    }
    assert_eq!(
        unplanned,
        1.0,
        "lnsd_failovers_total on the survivor (planned: {})",
        failovers(&bed.tag, other, "planned")
    );

    // 2. The killed node restarts and rejoins as a standby.
    std::thread::sleep(Duration::from_secs(3));
    bed.start_node(first);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        bed.holder(),
        Some(other),
        "the rejoining node disturbed the active\n{}",
        bed.logs()
    );

    // 3. `lnsctl cluster transfer-leader` given to the standby is forwarded
    // to the active node: leadership goes back to the standby (the next
    // eligible member).
    let t = lnsctl(&bed.dir, names[first], &["cluster", "transfer-leader"]);
    assert_eq!(
        t["forwarded_to"],
        format!("198.18.1.1{}:7400", other + 1),
        "{t}"
    );
    let back = bed.wait_holder(Some(first), Duration::from_secs(5));
    assert_eq!(
        back,
        Some(first),
        "the transfer did not happen\n{}",
        bed.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    // 3b. The drill: a planned switchover with its gap and session counts.
    let d = lnsctl(&bed.dir, names[first], &["drill", "switchover"]);
    println!("drill: {d}");
    assert_eq!(d["to_node"], (other + 1).to_string(), "{d}");
    let gap = d["gap_ms"].as_u64().unwrap_or(0);
    assert!(gap > 0 && gap < 5_000, "{d}");
    assert_eq!(d["sessions_before"], SESSIONS, "{d}");
    assert_eq!(d["sessions_after"], SESSIONS, "{d}");
    assert!(
        bed.wait_holds(other, Duration::from_secs(5)),
        "drill target not active\n{}",
        bed.logs()
    );
    assert!(
        failovers(&bed.tag, other, "planned") >= 1.0,
        "planned failover not counted"
    );

    // 4. lac-sim ends its hold and tears down: its report is the verdict.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = sim.child.try_wait().expect("wait") {
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
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_owned();
    println!("{summary}");
    let ctx = || format!("{summary}\n{}", bed.logs());
    assert!(status.success(), "lac-sim failed\n{}", ctx());
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
    assert_eq!(report["sessions_up"], SESSIONS, "{}", ctx());
    assert_eq!(report["clean_teardown"], true, "{}", ctx());
    let list = report["session_list"].as_array().expect("session_list");
    for s in list {
        assert_eq!(
            s["dropped_early"],
            false,
            "a CDN or LCP Terminate: {s}\n{}",
            ctx()
        );
        let sent = s["sent"].as_u64().unwrap_or(0);
        let received = s["received"].as_u64().unwrap_or(0);
        // Two switchovers in a 30 s hold: a session that stopped carrying
        // traffic after either would have lost far more than a third.
        assert!(
            sent > 0 && received * 3 >= sent * 2,
            "session lost its traffic: {s}\n{}",
            ctx()
        );
    }
    let sent = report["sent"].as_u64().unwrap_or(0);
    let losses = report["losses"].as_u64().unwrap_or(u64::MAX);
    println!("probes sent={sent} lost={losses}");
}

/// Issue 6 (same state on every member): lns-b's pool differs from the
/// active lns-a's. lns-b must say so (log, `lnsd_config_mismatch`,
/// `/readyz` 503) and must not take over when lns-a dies, while lns-a and
/// the witness (same engine sections) report no mismatch; when lns-a comes
/// back, lns-b hands the leadership it refuses to it (retried hand-off).
#[test]
fn a_member_whose_pool_differs_is_refused() {
    if !can_run() {
        return;
    }
    let mut bed = build_bed_with("m", &|name, c| {
        if name == "lnsb" {
            c.replace("198.19.0.254", "198.19.0.200")
        } else {
            c
        }
    });
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(15)),
        Some(0),
        "lns-a did not become active\n{}",
        bed.logs()
    );
    bed.start_node(1);
    let pools = "lnsd_config_mismatch{section=\"pools\"}";
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&bed.tag, 1, pools) != 1.0 {
        assert!(
            Instant::now() < deadline,
            "lns-b never reported its pool mismatch\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, body) = http_get(&bed.tag, 1, "/readyz");
    assert_eq!(code, "503", "lns-b ready with a different pool: {body}");
    assert!(body.contains("configuration differs"), "{body}");
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("differs from the active node") && log.contains("pools"),
        "lns-b did not log the mismatch\n{}",
        bed.logs()
    );
    assert_eq!(metric(&bed.tag, 0, pools), 0.0, "lns-a flagged itself");
    let (code, body) = http_get(&bed.tag, 0, "/readyz");
    assert_eq!(code, "200", "the active lns-a is not ready: {body}");
    let wit = lnsctl(&bed.dir, "wit", &["cluster", "status"]);
    assert!(wit["members"].is_array(), "{wit}");

    // lns-a dies: lns-b (which may win the election) must not serve.
    if let Some(p) = bed.nodes[0].as_mut() {
        p.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        assert!(
            !bed.holds(1),
            "lns-b took the tunnel address with a different pool\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("refusing to become active"),
        "lns-b was never elected, so the refusal was not exercised\n{}",
        bed.logs()
    );

    // lns-a comes back as a follower of the refusing lns-b: lns-b keeps
    // handing leadership on (a single try went to the dead lns-a and was
    // lost), so lns-a becomes active again without any operator action.
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(30)),
        Some(0),
        "the cluster stayed without an active node while lns-a could serve\n{}",
        bed.logs()
    );
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("handing leadership to member 1"),
        "lns-b did not hand leadership on\n{}",
        bed.logs()
    );
    assert!(!bed.holds(1), "lns-b holds the tunnel address too");
}

const VIP6: &str = "2001:db8:1::64";

/// Issue 6 item 4: the node that becomes active announces its tunnel
/// addresses on the LAN with frames lnsd builds itself (lns_proto): three
/// gratuitous ARPs for the IPv4 address and three unsolicited Neighbor
/// Advertisements (Override set, Solicited clear, target link-layer address
/// = its MAC) for the IPv6 one, captured on the bridge and decoded by
/// tshark without a malformed or erroneous packet.
#[test]
fn becoming_active_announces_the_tunnel_addresses_on_the_lan() {
    if !can_run() {
        return;
    }
    let mut bed = build_bed_with("a", &|name, c| {
        if name == "lnsa" {
            format!("{c}\n[[cluster.tunnel_addresses]]\naddress = \"{VIP6}/64\"\ninterface = \"eth0\"\n")
        } else {
            c
        }
    });
    let pcap = bed.dir.join("announce.pcap");
    let dump_log = bed.dir.join("tcpdump.log");
    let _dump = spawn(
        &bed.ns("br"),
        Path::new("tcpdump"),
        &[
            "-i",
            "br0",
            "-U",
            "-w",
            &pcap.to_string_lossy(),
            "arp or icmp6",
        ],
        &dump_log,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&dump_log)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(Instant::now() < deadline, "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(15)),
        Some(0),
        "lns-a did not become active\n{}",
        bed.logs()
    );
    let mac = mac_of(&bed.ns("lnsa"));
    let garp = format!("arp.opcode == 1 && arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP} && arp.src.hw_mac == {mac}");
    let na = format!(
        "icmpv6.type == 136 && ipv6.dst == ff02::1 && icmpv6.nd.na.target_address == {VIP6} \
         && icmpv6.nd.na.flag.o == 1 && icmpv6.nd.na.flag.s == 0 && icmpv6.opt.linkaddr == {mac}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (g, n) = (tshark_count(&pcap, &garp), tshark_count(&pcap, &na));
        if g >= 3 && n >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "announcements seen: {g} gratuitous ARP, {n} unsolicited NA (want 3 each)\n{}\n{}",
            tshark_all(&pcap),
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let bad = tshark_count(&pcap, "_ws.malformed || _ws.expert.severity >= error");
    assert_eq!(bad, 0, "malformed frames:\n{}", tshark_all(&pcap));
}

/// The MAC of eth0 in namespace `ns`, as tshark prints it.
fn mac_of(ns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-br", "link", "show", "eth0"])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        .unwrap_or_else(|| panic!("no MAC in {text:?}"))
        .to_owned()
}

/// Frames of `pcap` matching the display filter `filter`.
fn tshark_count(pcap: &Path, filter: &str) -> usize {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter])
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Every frame of `pcap`, one line each (for failure messages).
fn tshark_all(pcap: &Path) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
