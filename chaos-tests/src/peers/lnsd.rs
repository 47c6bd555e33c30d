//! lnsd (this project's daemon) in the same three-namespace bed as
//! [`super::L2tpnsBed`], so lac-sim drives both the same way.
//!
//! Contract: [`LnsdBed::start`] builds
//!
//! ```text
//!  lac 198.18.0.1 ── 198.18.0.2 lns (lnsd; FreeRADIUS on 127.0.0.1 if asked)
//!                               lns 198.18.1.1 ── 198.18.1.2 core (reflector :7)
//!  pool 198.19.0.1-198.19.255.254 routed lns -> TUN by lnsd; core routes
//!  198.19.0.0/16 via lns; LNS-side IPCP address 198.18.2.1
//!  IPv6: lns 2001:db8:1::1 ── 2001:db8:1::2 core; core routes the link
//!  pool 2001:db8:100::/48 and the delegation pool 2001:db8:200::/40 via lns
//! ```
//!
//! With [`LnsdOptions::ipv6`] the config gets an `[ipv6]` section with those
//! pools (/56 delegations) and a second reflector listens on
//! `[2001:db8:1::2]:7` ([`LnsdBed::reflector6`]).
//!
//! writes `lnsd.toml` (and a `users` file from the lac-sim user template,
//! or a `[aaa.radius]` section pointing at a generated FreeRADIUS) into the
//! topology's scratch directory, starts `lnsd --config` in `lns` with a
//! [`Proc`] guard and returns once UDP 1701 is bound. lnsd's output (its
//! tracing log) is [`LnsdBed::log`].
//!
//! Finding the binary ([`lnsd_binary`]): `LNSD_BIN` if set, else `lnsd`
//! next to the running executable's profile directory
//! (`target/<profile>/lnsd`; test executables live in
//! `target/<profile>/deps/`), built with `cargo build -p lns-node --bin
//! lnsd` (plus `--release` for the release profile) when it is missing.
//! `env!("CARGO_BIN_EXE_lnsd")` is not available across crates.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::freeradius::{self, RadiusConfig};
use super::l2tpns::{CORE_ADDR, LNS_ADDR, PEER_ADDRESS, RADIUS_SECRET, REFLECTOR_PORT};
use crate::harness::{wait_for_udp_port, Proc, Signal, Topology};
use crate::lac::user_name;

/// lnsd's management socket, in the bed's `lnsd/` directory (one per bed,
/// so parallel beds never share `/run/lnsd/mgmt.sock`).
pub const MGMT_SOCKET: &str = "mgmt.sock";

/// lnsd's `/metrics` endpoint, inside the `lns` namespace.
pub const HTTP_ADDR: &str = "127.0.0.1:9701";

/// Where lnsd takes its subscribers from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aaa {
    /// A local users file generated from the template.
    UsersFile,
    /// A FreeRADIUS in `lns` (127.0.0.1:1812) with the same users.
    Radius,
}

/// What the bed serves.
#[derive(Debug, Clone)]
pub struct LnsdOptions {
    /// Users (`user_template` with `{n}` = 1..=users).
    pub users: u32,
    /// User name template.
    pub user_template: String,
    /// Every user's password.
    pub password: String,
    /// Users file or RADIUS.
    pub aaa: Aaa,
    /// The `reflector` binary.
    pub reflector_bin: PathBuf,
    /// The `lnsd` binary (see [`lnsd_binary`]).
    pub lnsd_bin: PathBuf,
    /// lnsd's log filter (`info`, `debug`, ...).
    pub log_level: String,
    /// New tunnels per second accepted from one source address.
    pub setups_per_second_per_source: u32,
    /// LCP echo interval (`ppp.echo_interval_secs`; 3 unanswered end a session).
    pub echo_interval_secs: u64,
    /// `l2tp.max_retransmits`: how many retransmissions before a tunnel
    /// whose peer went silent is torn down.
    pub max_retransmits: u32,
    /// A config to start from (e.g. `node/examples/lnsd.toml`): the bed's
    /// settings replace its listen addresses, LACs, pools, AAA, TUN and
    /// IPCP/DNS; everything else (timers, PPP, limits) is kept.
    pub base_config: Option<PathBuf>,
    /// Serve IPv6 (`[ipv6]` section, IPv6 reflector in `core`).
    pub ipv6: bool,
    /// TOML appended to the generated config (e.g. `[aaa.accounting]` or
    /// `[dae]` sections).
    pub extra_toml: String,
    /// With [`Aaa::Radius`]: a RADIUS server address where nothing
    /// listens, listed before FreeRADIUS with a short timeout (200 ms, one
    /// try), so every login first times out on it (after its dead time).
    pub dead_radius: Option<std::net::SocketAddr>,
}

impl LnsdOptions {
    /// Defaults for `users` users: local users file, `info` logs.
    pub fn new(users: u32, user_template: &str, password: &str, reflector_bin: PathBuf) -> Self {
        LnsdOptions {
            users,
            user_template: user_template.into(),
            password: password.into(),
            aaa: Aaa::UsersFile,
            reflector_bin,
            lnsd_bin: PathBuf::new(),
            log_level: "info".into(),
            setups_per_second_per_source: 1000,
            echo_interval_secs: 10,
            max_retransmits: 5,
            base_config: None,
            ipv6: false,
            extra_toml: String::new(),
            dead_radius: None,
        }
    }
}

/// The running bed. Field order is drop order: processes die before the
/// namespaces are deleted.
#[derive(Debug)]
pub struct LnsdBed {
    /// The lnsd process (in `lns`).
    pub lnsd: Proc,
    /// FreeRADIUS (in `lns`), with [`Aaa::Radius`].
    pub radius: Option<Proc>,
    /// The UDP echo reflector (in `core`).
    pub reflector: Proc,
    /// The IPv6 reflector (in `core`), with [`LnsdOptions::ipv6`].
    pub reflector6: Option<Proc>,
    /// Namespaces `lac`, `lns`, `core`.
    pub topo: Topology,
}

impl LnsdBed {
    /// Builds the topology and starts (FreeRADIUS,) the reflector and lnsd.
    pub fn start(opts: &LnsdOptions) -> Result<LnsdBed> {
        let topo = super::l2tpns::lac_lns_core()
            .sysctl("lns", "net.ipv6.conf.all.forwarding", "1")
            .route("core", V6_LINK_POOL, "2001:db8:1::1")
            .route("core", V6_PD_POOL, "2001:db8:1::1")
            .build()?;
        topo.run_in("lns", Command::new("ip").args(["link", "set", "lo", "up"]))?;
        let radius = match opts.aaa {
            Aaa::UsersFile => None,
            Aaa::Radius => Some(freeradius::spawn(
                &topo,
                "lns",
                &RadiusConfig {
                    listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    auth_port: 1812,
                    clients: vec![(IpAddr::V4(Ipv4Addr::LOCALHOST), RADIUS_SECRET.to_string())],
                    user_template: opts.user_template.clone(),
                    users: opts.users,
                    password: opts.password.clone(),
                },
            )?),
        };
        let reflector = topo.spawn_in(
            "core",
            "reflector",
            Command::new(&opts.reflector_bin)
                .arg("--bind")
                .arg(format!("0.0.0.0:{REFLECTOR_PORT}")),
        )?;
        wait_for_udp_port(&topo.ns("core"), REFLECTOR_PORT, Duration::from_secs(10))
            .with_context(|| format!("reflector did not start:\n{}", reflector.log()))?;
        let reflector6 = if opts.ipv6 {
            Some(
                topo.spawn_in(
                    "core",
                    "reflector6",
                    Command::new(&opts.reflector_bin)
                        .arg("--bind")
                        .arg(format!("[{CORE_ADDR6}]:{REFLECTOR_PORT}")),
                )?,
            )
        } else {
            None
        };
        let dir = topo.dir().join("lnsd");
        std::fs::create_dir_all(&dir).context("create lnsd dir")?;
        write_config(&dir, opts)?;
        let lnsd = topo.spawn_in(
            "lns",
            "lnsd",
            Command::new(&opts.lnsd_bin)
                .arg("--config")
                .arg(dir.join("lnsd.toml")),
        )?;
        let mut bed = LnsdBed {
            lnsd,
            radius,
            reflector,
            reflector6,
            topo,
        };
        if let Err(e) = wait_for_udp_port(&bed.topo.ns("lns"), 1701, Duration::from_secs(20)) {
            let running = bed.lnsd.running();
            anyhow::bail!(
                "lnsd did not listen (running: {running}): {e}\n{}",
                bed.lnsd.log()
            );
        }
        // The management socket comes up just after UDP 1701.
        let socket = bed.mgmt_socket();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if std::time::Instant::now() > deadline {
                anyhow::bail!(
                    "lnsd did not create {}:\n{}",
                    socket.display(),
                    bed.lnsd.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(bed)
    }

    /// lnsd's control address.
    pub fn lns(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(LNS_ADDR), 1701)
    }

    /// The reflector's address.
    pub fn reflector(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(CORE_ADDR), REFLECTOR_PORT)
    }

    /// lnsd's /metrics text, fetched with curl inside `lns`.
    pub fn metrics(&self) -> Result<String> {
        let url = format!("http://{HTTP_ADDR}/metrics");
        let out = self.topo.run_in(
            "lns",
            Command::new("curl").args(["-sf", "--max-time", "5", &url]),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The IPv6 reflector's address.
    pub fn reflector6(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(CORE_ADDR6), REFLECTOR_PORT)
    }

    /// lnsd's output so far (its tracing log).
    pub fn log(&self) -> String {
        self.lnsd.log()
    }

    /// lnsd's management socket (lnsctl --socket).
    pub fn mgmt_socket(&self) -> PathBuf {
        self.topo.dir().join("lnsd").join(MGMT_SOCKET)
    }

    /// The generated users file.
    pub fn users_file(&self) -> PathBuf {
        self.topo.dir().join("lnsd/users")
    }

    /// Appends `user password` to the users file (then SIGHUP to reload).
    pub fn add_user(&self, user: &str, password: &str) -> Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.users_file())
            .context("open users file")?;
        writeln!(f, "{user} {password}").context("append user")
    }

    /// Sends SIGTERM and waits for lnsd to exit; returns its exit code.
    pub fn stop_lnsd(&mut self, timeout: Duration) -> Result<Option<i32>> {
        self.lnsd.signal(Signal::Term)?;
        Ok(self.lnsd.wait_exit(timeout)?.code())
    }

    /// lnsd's resident memory in KiB (VmRSS), if it is running.
    pub fn lnsd_rss_kib(&self) -> Option<u64> {
        rss_kib(self.lnsd.pid())
    }
}

/// The sum of every sample of `metric` (all label sets) in a Prometheus
/// text exposition, if the metric appears.
pub fn metric_sum(text: &str, metric: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(metric) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue; // a longer name with this prefix
        }
        let value = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = value {
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The lnsd binary: `LNSD_BIN`, else `target/<profile>/lnsd` beside the
/// running executable, built with cargo if missing.
pub fn lnsd_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("LNSD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("current_exe")?;
    let mut profile_dir = exe.parent().context("exe has a directory")?;
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir = profile_dir.parent().context("deps has a parent")?;
    }
    let bin = profile_dir.join("lnsd");
    if !bin.is_file() {
        build_lnsd(profile_dir)?;
    }
    anyhow::ensure!(bin.is_file(), "{} missing after cargo build", bin.display());
    Ok(bin)
}

/// The lnsctl binary: `LNSCTL_BIN`, else `target/<profile>/lnsctl` beside
/// the running executable, built with cargo if missing (like [`lnsd_binary`]).
pub fn lnsctl_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("LNSCTL_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("current_exe")?;
    let mut profile_dir = exe.parent().context("exe has a directory")?;
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir = profile_dir.parent().context("deps has a parent")?;
    }
    let bin = profile_dir.join("lnsctl");
    if !bin.is_file() {
        build_bin(profile_dir, "lnsctl")?;
    }
    anyhow::ensure!(bin.is_file(), "{} missing after cargo build", bin.display());
    Ok(bin)
}

/// `cargo build -p lns-node --bin lnsd` into the target dir holding `profile_dir`.
fn build_lnsd(profile_dir: &Path) -> Result<()> {
    build_bin(profile_dir, "lnsd")
}

/// `cargo build -p lns-node --bin NAME` into the target dir holding `profile_dir`.
fn build_bin(profile_dir: &Path, name: &str) -> Result<()> {
    let target = profile_dir.parent().context("profile dir has a parent")?;
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "-p", "lns-node", "--bin", name])
        .env("CARGO_TARGET_DIR", target);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().context("run cargo build")?;
    anyhow::ensure!(status.success(), "cargo build {name}: {status}");
    Ok(())
}

/// The IPv6 reflector's address in `core`.
pub const CORE_ADDR6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0x2001, 0x0db8, 1, 0, 0, 0, 0, 2);
/// The bed's link /64 pool.
pub const V6_LINK_POOL: &str = "2001:db8:100::/48";
/// The bed's delegation pool (/56s).
pub const V6_PD_POOL: &str = "2001:db8:200::/40";

/// The `[[aaa.radius.servers]]` of [`LnsdOptions::dead_radius`], if any.
fn dead_radius(opts: &LnsdOptions) -> String {
    opts.dead_radius.map_or_else(String::new, |address| {
        format!(
            "\n[[aaa.radius.servers]]\naddress = \"{address}\"\nsecret = \"{RADIUS_SECRET}\"\n\
             timeout_ms = 200\ntries = 1\n"
        )
    })
}

/// Writes `lnsd.toml` and `users` into `dir`.
fn write_config(dir: &Path, opts: &LnsdOptions) -> Result<()> {
    let mut users = String::from("# generated by lns-chaos-tests\n");
    if opts.aaa == Aaa::UsersFile {
        for i in 0..opts.users {
            let name = user_name(&opts.user_template, i);
            users.push_str(&format!("{name} {}\n", opts.password));
        }
    }
    std::fs::write(dir.join("users"), users).context("write users")?;
    let radius = match opts.aaa {
        Aaa::UsersFile => String::new(),
        Aaa::Radius => format!(
            r#"
[aaa.radius]
dead_time_secs = 1
bind = "127.0.0.1:0"
{}
[[aaa.radius.servers]]
address = "127.0.0.1:1812"
secret = "{RADIUS_SECRET}"
timeout_ms = 2000
tries = 3
"#,
            dead_radius(opts)
        ),
    };
    let ipv6 = if opts.ipv6 {
        format!(
            r#"
[ipv6]
link_pool = "{V6_LINK_POOL}"
pd_pool = "{V6_PD_POOL}"
pd_length = 56
mtu = 1460
dns = ["2001:db8:1::53"]
domains = ["e2e.example"]
"#
        )
    } else {
        String::new()
    };
    let (level, rate) = (&opts.log_level, opts.setups_per_second_per_source);
    let (echo, retransmits) = (opts.echo_interval_secs, opts.max_retransmits);
    let config = format!(
        r#"# generated by lns-chaos-tests (peers::lnsd)
[node]
host_name = "lnsd-bed"

[[listen]]
address = "{LNS_ADDR}:1701"

[limits]
accept_unknown_lacs = true
setups_per_second_per_source = {rate}
max_half_open = 1024

[l2tp]
max_retransmits = {retransmits}

[ppp]
auth_order = ["chap", "pap"]
ipcp_local = "{PEER_ADDRESS}"
dns = ["198.18.1.53"]
echo_interval_secs = {echo}
echo_failures = 3

[[pools]]
name = "subscribers"
ranges = [{{ start = "198.19.0.1", end = "198.19.255.254" }}]

[aaa]
users_file = "users"
default_pool = "subscribers"
{radius}
[tun]
name = "lns0"
mtu = 1500

[log]
level = "{level}"
format = "text"

[mgmt]
socket = "{socket}"

[http]
listen = "{HTTP_ADDR}"
{ipv6}{extra}"#,
        socket = dir.join(MGMT_SOCKET).display(),
        extra = opts.extra_toml
    );
    let config = match &opts.base_config {
        None => config,
        Some(base) => merge_config(base, &config, opts.aaa)?,
    };
    std::fs::write(dir.join("lnsd.toml"), config).context("write lnsd.toml")
}

/// `base` with the bed's `generated` settings laid over it: top-level
/// arrays and values replaced, tables merged one level deep; the base's
/// `[[lac]]` entries are dropped (the bed accepts any LAC) and so is its
/// `[aaa.radius]` when the bed uses the users file; its `[dae]` and
/// `[aaa.accounting]` always are (their addresses are not the bed's).
fn merge_config(base: &Path, generated: &str, aaa: Aaa) -> Result<String> {
    let text = std::fs::read_to_string(base).with_context(|| format!("read {}", base.display()))?;
    let mut merged: toml::Table = text
        .parse()
        .with_context(|| format!("parse {}", base.display()))?;
    let ours: toml::Table = generated.parse().context("parse the generated config")?;
    merged.remove("lac");
    // The example's DAE addresses and accounting servers are not the bed's.
    merged.remove("dae");
    if let Some(toml::Value::Table(t)) = merged.get_mut("aaa") {
        t.remove("accounting");
        if aaa == Aaa::UsersFile {
            t.remove("radius");
        }
    }
    for (key, value) in ours {
        match (merged.get_mut(&key), value) {
            (Some(toml::Value::Table(have)), toml::Value::Table(new)) => {
                for (k, v) in new {
                    have.insert(k, v);
                }
            }
            (_, value) => {
                merged.insert(key, value);
            }
        }
    }
    Ok(format!(
        "# derived by lns-chaos-tests from {}\n{}",
        base.display(),
        toml::to_string(&merged).context("serialise the merged config")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(aaa: Aaa) -> LnsdOptions {
        let mut o = LnsdOptions::new(3, "u{n}", "pw", PathBuf::from("/nonexistent"));
        o.aaa = aaa;
        o.base_config = Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../node/examples/lnsd.toml"
        )));
        o
    }

    fn written(aaa: Aaa) -> (toml::Table, String) {
        let dir =
            std::env::temp_dir().join(format!("lns-lnsd-unit-{}-{aaa:?}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        write_config(&dir, &options(aaa)).expect("write");
        let conf = std::fs::read_to_string(dir.join("lnsd.toml")).expect("read");
        let users = std::fs::read_to_string(dir.join("users")).expect("read");
        let _ = std::fs::remove_dir_all(&dir);
        (conf.parse().expect("valid TOML"), users)
    }

    #[test]
    fn the_example_config_gets_the_beds_addresses_and_keeps_its_other_settings() {
        let (t, users) = written(Aaa::UsersFile);
        assert_eq!(t["listen"][0]["address"].as_str(), Some("198.18.0.2:1701"));
        assert!(!t.contains_key("lac"), "the example's LACs are dropped");
        assert!(!t["aaa"].as_table().expect("aaa").contains_key("radius"));
        assert!(!t["aaa"].as_table().expect("aaa").contains_key("accounting"));
        assert!(
            !t.contains_key("dae"),
            "the example's DAE addresses are dropped"
        );
        assert_eq!(t["ppp"]["ipcp_local"].as_str(), Some("198.18.2.1"));
        // Kept from node/examples/lnsd.toml.
        assert_eq!(t["ppp"]["mru"].as_integer(), Some(1460));
        assert_eq!(t["node"]["nas_ip"].as_str(), Some("192.0.2.2"));
        assert_eq!(t["pools"].as_array().map(Vec::len), Some(1));
        assert_eq!(users.lines().filter(|l| !l.starts_with('#')).count(), 3);
        assert!(users.contains("\nu3 pw\n"));
    }

    #[test]
    fn metric_sums_add_every_label_set_of_exactly_that_name() {
        let text = "# HELP lnsd_sessions x\n# TYPE lnsd_sessions gauge\n\
                    lnsd_sessions{state=\"established\"} 7\n\
                    lnsd_sessions{state=\"closing\"} 2\n\
                    lnsd_sessions_total 100\n\
                    lnsd_tunnels 3\n";
        assert_eq!(metric_sum(text, "lnsd_sessions"), Some(9.0));
        assert_eq!(metric_sum(text, "lnsd_tunnels"), Some(3.0));
        assert_eq!(metric_sum(text, "lnsd_pool_used"), None);
    }

    #[test]
    fn with_radius_the_users_file_is_empty_and_the_server_is_the_beds() {
        let (t, users) = written(Aaa::Radius);
        let servers = t["aaa"]["radius"]["servers"].as_array().expect("servers");
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0]["address"].as_str(), Some("127.0.0.1:1812"));
        assert_eq!(users.lines().filter(|l| !l.starts_with('#')).count(), 0);
    }
}
