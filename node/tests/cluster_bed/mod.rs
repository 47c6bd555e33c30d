//! The cluster test bed shared by `cluster_netns.rs` and
//! `cluster_ops_netns.rs` (root, network namespaces): two `lnsd` (role
//! lns) and one `lnsd` witness on one bridge, a LAC namespace for
//! `lac-sim`, and a reflector in `core`, which routes the pool via the
//! tunnel address.
//!
//! ```text
//!  lac 198.18.1.1   lns-a 198.18.1.11   lns-b 198.18.1.12   witness 198.18.1.13
//!        |                |                   |                   |
//!  ======+================+===== bridge ======+===================+=== core 198.18.1.2
//!  tunnel address 198.18.1.100/24 on the active node; core: 198.19.0.0/16 via it
//! ```
//!
//! Everything it starts is killed by PID and every namespace deleted on
//! drop, even when a test fails. The `lac-sim` and `reflector` binaries of
//! `lns-chaos-tests` are found next to the lnsd binary (`LAC_SIM_BIN`,
//! `REFLECTOR_BIN` override), built with cargo when missing. A test file
//! using it declares `mod netns_support;` too.
#![allow(dead_code)]

use crate::netns_support::ip;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The tunnel address the active node holds.
pub const VIP: &str = "198.18.1.100";
/// Sessions `lac-sim` holds: 2 tunnels of 10.
pub const SESSIONS: u64 = 20;
/// The namespace (and file) names of the two lns nodes, by index.
pub const NAMES: [&str; 2] = ["lnsa", "lnsb"];

pub type Json = serde_json::Value;

/// The cluster: its members, the tunnel addresses and the namespaces.
pub struct Bed {
    // Field order is drop order: processes before namespaces.
    pub nodes: [Option<Proc>; 2],
    _witness: Proc,
    _reflector: Proc,
    pub dir: PathBuf,
    pub tag: String,
    _ns: Namespaces,
}

/// A process we started, killed by its PID on drop.
pub struct Proc(pub Child);

/// A running `lac-sim` (2 tunnels x 10 sessions, traffic to the reflector)
/// and its files in the bed's directory.
pub struct LacSim {
    pub proc: Proc,
    pub log: PathBuf,
    pub out: PathBuf,
}

/// A fresh bed: namespaces, bridge, configs (each lns node's passed through
/// `edit(name, config)`), the reflector and the witness running, no lns node
/// started yet. The tag `{prefix}{pid}{suffix}` names the namespaces and
/// the scratch directory, so tests running in parallel stay apart.
pub fn build_bed_with(prefix: &str, suffix: &str, edit: &dyn Fn(&str, String) -> String) -> Bed {
    let tag = format!("{prefix}{}{suffix}", std::process::id() % 100_000);
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
        "netns-test-cluster-secret-0123456789abcdef\n",
    )
    .expect("secret");
    // chat1..chat20: the second LAC of cluster_ops_netns's promote-guard check.
    let users: String = (1..=SESSIONS)
        .map(|n| format!("user{n} password\nchat{n} password\n"))
        .collect();
    std::fs::write(dir.join("users"), users).expect("users");
    for (i, name) in NAMES.iter().enumerate() {
        let id = u32::try_from(i + 1).expect("1 or 2");
        let config = edit(name, node_config(&dir, name, id, ""));
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
    Bed {
        nodes: [None, None],
        _witness: witness,
        _reflector: reflector,
        dir,
        tag,
        _ns: ns,
    }
}

/// A fresh bed with both lns nodes started and unchanged configs.
pub fn build_bed(prefix: &str, suffix: &str) -> Bed {
    let mut bed = build_bed_with(prefix, suffix, &|_, c| c);
    bed.start_node(0);
    bed.start_node(1);
    bed
}

/// An lns member's config (member `id`, files under `dir`); `extra` goes
/// into `[cluster]`. Its operations endpoint listens on
/// `198.18.1.1{id}:9701`.
pub fn node_config(dir: &Path, name: &str, id: u32, extra: &str) -> String {
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

/// `lac-sim` or `reflector`: beside lnsd (or `var`), built when missing.
pub fn chaos_bin(name: &str, var: &str) -> PathBuf {
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

/// Starts `bin ARGS` in namespace `ns`, stdout and stderr into `log`.
pub fn spawn(ns: &str, bin: &Path, args: &[&str], log: &Path) -> Proc {
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

/// The member `id` in a `cluster status` reply.
pub fn member(status: &Json, id: u64) -> Option<&Json> {
    status["members"]
        .as_array()?
        .iter()
        .find(|m| m["id"].as_u64() == Some(id))
}

impl Bed {
    /// The name of this bed's namespace for `role`.
    pub fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.tag)
    }

    /// Whether lns node `i` (0 or 1) has the tunnel address on its eth0.
    pub fn holds(&self, i: usize) -> bool {
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

    /// Which lns node holds the tunnel address, if exactly one does.
    pub fn holder(&self) -> Option<usize> {
        match (self.holds(0), self.holds(1)) {
            (true, false) => Some(0),
            (false, true) => Some(1),
            _ => None,
        }
    }

    /// Waits until exactly one node holds the tunnel address (and, with
    /// `want`, that it is node `want`); the holder when it gave up.
    pub fn wait_holder(&self, want: Option<usize>, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let h = self.holder();
            if (h.is_some() && (want.is_none() || h == want)) || Instant::now() > deadline {
                return h;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until node `i` holds the address (whatever a dead node holds).
    pub fn wait_holds(&self, i: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.holds(i) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Starts lns node `i` with its config file (`{name}.toml`).
    pub fn start_node(&mut self, i: usize) {
        let role = NAMES[i];
        let config = self.dir.join(format!("{role}.toml"));
        self.nodes[i] = Some(spawn(
            &self.ns(role),
            Path::new(env!("CARGO_BIN_EXE_lnsd")),
            &["--config", &config.to_string_lossy()],
            &self.dir.join(format!("{role}.log")),
        ));
    }

    /// Starts `lac-sim` in the LAC namespace: 2 tunnels x 10 sessions to
    /// the tunnel address, `pps` probes per second each to the reflector,
    /// held `hold_secs` seconds, its JSON report on stdout.
    pub fn start_lac_sim(&self, pps: u32, hold_secs: u32) -> LacSim {
        let log = self.dir.join("lac-sim.log");
        let out = self.dir.join("lac-sim.out");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns("lac")])
            .arg(chaos_bin("lac-sim", "LAC_SIM_BIN"))
            .args(["--lns", &format!("{VIP}:1701"), "--local", "198.18.1.1"])
            .args(["--tunnels", "2", "--sessions-per-tunnel", "10"])
            .args(["--reflector", "198.18.1.2:7"])
            .args(["--traffic-pps", &pps.to_string()])
            .args(["--setup-timeout", "20", "--hold", &hold_secs.to_string()])
            .arg("--json")
            .stdout(Stdio::from(File::create(&out).expect("out")))
            .stderr(Stdio::from(File::create(&log).expect("log")))
            .spawn()
            .expect("lac-sim");
        LacSim {
            proc: Proc(child),
            log,
            out,
        }
    }

    /// `lnsctl --json ARGS` on the management socket of `name`.
    pub fn lnsctl(&self, name: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lnsctl"))
            .arg("--socket")
            .arg(self.dir.join(format!("{name}.sock")))
            .arg("--json")
            .args(args)
            .output()
            .expect("lnsctl runs")
    }

    /// `lnsctl --json ARGS` on `name`, which must succeed.
    pub fn ctl(&self, name: &str, args: &[&str]) -> Json {
        let out = self.lnsctl(name, args);
        assert!(
            out.status.success(),
            "lnsctl {args:?} on {name}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("lnsctl --json")
    }

    /// Polls `check` on `lnsctl ARGS` of `name` until it holds (20 s).
    pub fn wait_ctl(&self, name: &str, args: &[&str], what: &str, check: impl Fn(&Json) -> bool) {
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

    /// The roles `lnsctl cluster status` on `name` reports, by member id.
    pub fn cluster_roles(&self, name: &str) -> Vec<(u64, String)> {
        let r = self.ctl(name, &["cluster", "status"]);
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
    pub fn http_get(&self, i: usize, path: &str) -> (String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns(NAMES[i]), "curl", "-s"])
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

    /// The value of the series `series` (name and labels) on the /metrics
    /// of lns node `i` (-1 when absent).
    pub fn metric(&self, i: usize, series: &str) -> f64 {
        let (_, text) = self.http_get(i, "/metrics");
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1.0)
    }

    /// The last lines of every member's and lac-sim's log (for failure
    /// messages).
    pub fn logs(&self) -> String {
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

impl LacSim {
    /// Waits (25 s) until every session is up (`setup done` in its log).
    pub fn wait_setup(&self, bed: &Bed) {
        let deadline = Instant::now() + Duration::from_secs(25);
        while !std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains("setup done")
        {
            assert!(Instant::now() < deadline, "setup not done\n{}", bed.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (`timeout`) until lac-sim has ended its hold and torn down:
    /// its exit status, its stdout and its JSON report.
    pub fn finish(&mut self, bed: &Bed, timeout: Duration) -> (ExitStatus, String, Json) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.proc.0.try_wait().expect("wait") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "lac-sim did not finish\n{}",
                bed.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let stdout = std::fs::read_to_string(&self.out).unwrap_or_default();
        let report: Json =
            serde_json::from_str(stdout.lines().find(|l| l.starts_with('{')).unwrap_or("{}"))
                .expect("lac-sim JSON");
        (status, stdout, report)
    }
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Sends signal `name` (`KILL`, `TERM`, ...) with kill(1).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{name} {}", self.pid());
    }

    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Deletes the namespaces (the bridge goes with its namespace).
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

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
