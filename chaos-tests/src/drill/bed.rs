//! The failover drill bed: six namespaces on one bridge, FreeRADIUS, the
//! reflector, and the lnsd cluster (two lns members and a witness).
//!
//! Contract: [`ClusterBed::start`] builds
//!
//! ```text
//!            lac: br0 198.18.1.1/24 (the bridge lives in `lac`; lac-sim runs here)
//!   ┌──────────┬──────────┬───────────┬──────────┬──────────┐
//!  lns-a      lns-b      witness     radius     core
//!  .11        .12        .13         .14        .2 (reflector :7)
//!  + 198.18.1.100/24 on the active lns member only (added by lnsd)
//!  core: 198.19.0.0/16 via 198.18.1.100      lns-a/b: ip_forward=1
//!  IPv6: lns-a/b 2001:db8:1::11/::12, core 2001:db8:1::2 (reflector6 :7),
//!  + 2001:db8:1::100/64 on the active lns member only (added by lnsd);
//!  core: 2001:db8:100::/48 and 2001:db8:200::/40 via 2001:db8:1::100
//! ```
//!
//! (`eth0` in every member namespace, its peer enslaved to `br0`), writes
//! the configs of [`super::config`] into `<scratch>/<member>/`, starts
//! FreeRADIUS, the reflector and the members, and returns once exactly one
//! lns namespace holds the tunnel address and lnsd listens there. Faults
//! act on members by PID ([`ClusterBed::kill`], stop/cont, restart) or with
//! nftables in the member's namespace ([`ClusterBed::partition`] / heal).
//! Each lns namespace also counts the UDP/1701 datagrams lnsd sends
//! ([`ClusterBed::sent_1701`]), so a drill can prove a frozen node stayed
//! silent. Dropping the bed kills every process by PID, then deletes the
//! namespaces (field order).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::config::{
    self, Member, Mgmt, Mode, CORE_ADDR, CORE_ADDR6, IFACE, LAC_ADDR, LNS_MEMBERS, POOL_ROUTE,
    PREFIX_LEN, PREFIX_LEN6, RADIUS_ADDR, RADIUS_SECRET, REFLECTOR_PORT, TUNNEL_ADDR, TUNNEL_ADDR6,
    V6_LINK_POOL, V6_PD_POOL,
};
use super::watch::{Liveness, Pids};
use crate::harness::{wait_for_udp_port, Proc, Signal, Topology};
use crate::lac::user_name;
use crate::peers::freeradius::{self, RadiusConfig};

/// What the bed serves.
#[derive(Debug, Clone)]
pub struct BedOptions {
    /// RADIUS users `user_template` 1..=users.
    pub users: u32,
    /// Template of the held sessions' users.
    pub user_template: String,
    /// Extra RADIUS users for a login storm (`storm_template` 1..=storm_users).
    pub storm_users: u32,
    /// Their template.
    pub storm_template: String,
    /// Every user's password.
    pub password: String,
    /// The lnsd binary.
    pub lnsd_bin: PathBuf,
    /// The reflector binary.
    pub reflector_bin: PathBuf,
    /// lnsd's log filter.
    pub log_level: String,
    /// Cluster or lone lnsd.
    pub mode: Mode,
    /// With or without `[mgmt]`.
    pub mgmt: Mgmt,
}

/// L2TP datagrams a namespace sent, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent1701 {
    /// Control messages (T bit set).
    pub control: u64,
    /// Data messages.
    pub data: u64,
}

/// What a restart leaves of the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// The process only (a crash and a service restart): the tunnel address
    /// a killed lnsd could not remove is still on the interface, and the
    /// new lnsd must deal with it.
    ProcessOnly,
    /// As after a reboot of the node: the bed removes a leftover tunnel
    /// address first.
    AfterReboot,
}

/// One lnsd of the bed.
#[derive(Debug)]
struct Node {
    member: Member,
    proc: Option<Proc>,
    starts: u32,
}

/// The running bed. Field order is drop order: processes die before the
/// namespaces are deleted.
#[derive(Debug)]
pub struct ClusterBed {
    nodes: Vec<Node>,
    radius: Proc,
    reflector: Proc,
    reflector6: Proc,
    /// Namespaces `lac`, `lns-a`, `lns-b`, `witness`, `radius`, `core`.
    pub topo: Topology,
    opts: BedOptions,
    pids: Pids,
}

impl ClusterBed {
    /// Builds the topology and starts everything; see the module doc.
    pub fn start(opts: &BedOptions) -> Result<ClusterBed> {
        let topo = build_topology()?;
        let radius = start_radius(&topo, opts)?;
        let reflector = topo.spawn_in(
            "core",
            "reflector",
            Command::new(&opts.reflector_bin)
                .arg("--bind")
                .arg(format!("0.0.0.0:{REFLECTOR_PORT}")),
        )?;
        wait_for_udp_port(&topo.ns("core"), REFLECTOR_PORT, Duration::from_secs(10))
            .with_context(|| format!("reflector did not start:\n{}", reflector.log()))?;
        let reflector6 = topo.spawn_in(
            "core",
            "reflector6",
            Command::new(&opts.reflector_bin)
                .arg("--bind")
                .arg(format!("[{CORE_ADDR6}]:{REFLECTOR_PORT}")),
        )?;
        let members: &[Member] = match opts.mode {
            Mode::Cluster => &[Member::LnsA, Member::LnsB, Member::Witness],
            Mode::Single => &[Member::LnsA],
        };
        let mut bed = ClusterBed {
            nodes: Vec::new(),
            radius,
            reflector,
            reflector6,
            topo,
            opts: opts.clone(),
            pids: Pids::default(),
        };
        for &m in members {
            let dir = bed.member_dir(m);
            match m {
                Member::Witness => config::write_witness(&dir, opts.mgmt, &opts.log_level)?,
                _ => config::write_lns(&dir, m, opts.mode, opts.mgmt, &opts.log_level)?,
            }
            if m != Member::Witness {
                bed.watch_1701(m)?;
            }
            bed.nodes.push(Node {
                member: m,
                proc: None,
                starts: 0,
            });
        }
        if opts.mode == Mode::Single {
            // No cluster to move the address: the bed puts it on lns-a once.
            bed.topo.run_in(
                "lns-a",
                Command::new("ip").args([
                    "addr",
                    "add",
                    &format!("{TUNNEL_ADDR}/{PREFIX_LEN}"),
                    "dev",
                    IFACE,
                ]),
            )?;
        }
        for &m in members {
            bed.spawn(m)?;
        }
        bed.wait_active(None, Duration::from_secs(30))?;
        Ok(bed)
    }

    /// Cluster or single.
    pub fn mode(&self) -> Mode {
        self.opts.mode
    }

    /// The namespace name of `member`.
    pub fn ns(&self, member: Member) -> String {
        self.topo.ns(member.role())
    }

    /// Where `member`'s config, secret, Raft data and socket live.
    pub fn member_dir(&self, member: Member) -> PathBuf {
        self.topo.dir().join(member.role())
    }

    /// `member`'s management socket, if the configs have `[mgmt]`.
    pub fn mgmt_socket(&self, member: Member) -> Option<PathBuf> {
        (self.opts.mgmt == Mgmt::Served).then(|| config::mgmt_socket(&self.member_dir(member)))
    }

    /// The lns members whose namespace holds the tunnel address now.
    pub fn holders(&self) -> Vec<Member> {
        LNS_MEMBERS
            .into_iter()
            .filter(|m| super::watch::holds(&self.ns(*m)))
            .collect()
    }

    /// The lns members holding the tunnel address whose lnsd is live
    /// (a killed or stopped lnsd cannot remove its address).
    pub fn live_holders(&self) -> Vec<Member> {
        self.holders()
            .into_iter()
            .filter(|m| self.pids.liveness(*m) == Liveness::Live)
            .collect()
    }

    /// The active node: the one live lns member holding the tunnel address
    /// (`None` while nobody or, wrongly, two hold it).
    pub fn active(&self) -> Option<Member> {
        match self.live_holders()[..] {
            [m] => Some(m),
            _ => None,
        }
    }

    /// The shared PID table (for an [`super::watch::AddressWatch`]).
    pub fn pids(&self) -> Pids {
        self.pids.clone()
    }

    /// Waits until exactly one live lns member other than `not` holds the
    /// tunnel address and lnsd listens on UDP 1701 there; returns it.
    pub fn wait_active(&self, not: Option<Member>, timeout: Duration) -> Result<Member> {
        let deadline = Instant::now() + timeout;
        loop {
            let holders = self.live_holders();
            if let [m] = holders[..] {
                if Some(m) != not {
                    let left = deadline.saturating_duration_since(Instant::now());
                    wait_for_udp_port(&self.ns(m), 1701, left.max(Duration::from_secs(1)))
                        .with_context(|| {
                            format!("{} holds the address but lnsd does not listen", m.role())
                        })?;
                    return Ok(m);
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "no single active node (other than {not:?}) after {timeout:?}: holders {holders:?}\n{}",
                    self.logs_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The PID of `member`'s lnsd, if running.
    pub fn pid(&mut self, member: Member) -> Option<u32> {
        let node = self.nodes.iter_mut().find(|n| n.member == member)?;
        let p = node.proc.as_mut()?;
        p.running().then(|| p.pid())
    }

    /// Sends `signal` to `member`'s lnsd.
    pub fn signal(&mut self, member: Member, signal: Signal) -> Result<()> {
        let pid = self
            .pid(member)
            .with_context(|| format!("{} is not running", member.role()))?;
        crate::harness::send_signal(pid, signal)
    }

    /// SIGKILL to `member` and waits for it to die.
    pub fn kill(&mut self, member: Member) -> Result<()> {
        self.signal(member, Signal::Kill)?;
        if let Some(p) = self.node(member)?.proc.as_mut() {
            p.wait_exit(Duration::from_secs(10))?;
        }
        Ok(())
    }

    /// SIGSTOP to `member`.
    pub fn stop(&mut self, member: Member) -> Result<()> {
        self.signal(member, Signal::Stop)
    }

    /// SIGCONT to `member`.
    pub fn cont(&mut self, member: Member) -> Result<()> {
        self.signal(member, Signal::Cont)
    }

    /// Starts `member` again from the same config (and Raft data), after
    /// killing it if it still runs.
    pub fn restart(&mut self, member: Member, how: Restart) -> Result<()> {
        if self.pid(member).is_some() {
            self.kill(member)?;
        }
        if how == Restart::AfterReboot
            && member != Member::Witness
            && self.holders().contains(&member)
        {
            // A reboot clears the interface; a process restart does not.
            self.topo.run_in(
                member.role(),
                Command::new("ip").args([
                    "addr",
                    "del",
                    &format!("{TUNNEL_ADDR}/{PREFIX_LEN}"),
                    "dev",
                    IFACE,
                ]),
            )?;
        }
        self.spawn(member)
    }

    /// Waits until `member` listens on its cluster port again (after a
    /// restart, its first step to rejoining).
    pub fn wait_cluster_port(&self, member: Member, timeout: Duration) -> Result<()> {
        wait_for_tcp_port(&self.ns(member), config::CLUSTER_PORT, timeout)
    }

    /// Cuts `member` from the other voters with nftables in its namespace
    /// (both directions); the LAC, RADIUS and the core still reach it.
    pub fn partition(&self, member: Member) -> Result<()> {
        let peers: Vec<String> = member
            .other_voters()
            .iter()
            .map(|m| m.address().to_string())
            .collect();
        let set = peers.join(", ");
        let script = format!(
            "table inet drill_partition {{\n\
             chain input {{ type filter hook input priority -10; ip saddr {{ {set} }} drop; }}\n\
             chain output {{ type filter hook output priority -10; ip daddr {{ {set} }} drop; }}\n}}\n"
        );
        self.nft(member, &script)
    }

    /// Removes the partition of `member`.
    pub fn heal(&self, member: Member) -> Result<()> {
        self.topo
            .run_in(
                member.role(),
                Command::new("nft").args(["delete", "table", "inet", "drill_partition"]),
            )
            .map(|_| ())
    }

    /// L2TP datagrams (UDP from port 1701) `member`'s namespace sent so far.
    pub fn sent_1701(&self, member: Member) -> Result<Sent1701> {
        let out = self.topo.run_in(
            member.role(),
            Command::new("nft").args(["list", "chain", "inet", "drill_watch", "output"]),
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let counts: Vec<u64> = text
            .split("counter packets ")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
            .collect();
        match counts[..] {
            [control, data] => Ok(Sent1701 { control, data }),
            _ => bail!("expected two counters in:\n{text}"),
        }
    }

    /// The IPv6 routes into lnsd's TUN device in `member`'s namespace
    /// (`ip -6 route show dev lns0`).
    pub fn tun_routes6(&self, member: Member) -> Result<String> {
        let out = self.topo.run_in(
            member.role(),
            Command::new("ip").args(["-6", "route", "show", "dev", config::TUN]),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Everything `member` logged, every run of it in order.
    pub fn log(&self, member: Member) -> String {
        let mut all = String::new();
        if let Some(node) = self.nodes.iter().find(|n| n.member == member) {
            for k in 1..=node.starts {
                let path = self.topo.dir().join(format!("{}.log", log_name(member, k)));
                let text = std::fs::read(&path)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                all.push_str(&format!("--- {} (start {k}) ---\n{text}", member.role()));
            }
        }
        all
    }

    /// The last `lines` lines of every member's log, for failure reports.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let log = self.log(node.member);
            let all: Vec<&str> = log.lines().collect();
            let from = all.len().saturating_sub(lines);
            out.push_str(&format!(
                "=== {} (last {lines} lines) ===\n",
                node.member.role()
            ));
            for l in &all[from..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "=== freeradius ===\n{}",
            tail(&self.radius.log(), 10)
        ));
        out.push_str(&format!(
            "=== reflector ===\n{}",
            tail(&self.reflector.log(), 5)
        ));
        out.push_str(&format!(
            "=== reflector6 ===\n{}",
            tail(&self.reflector6.log(), 5)
        ));
        out
    }

    /// The scratch directory (configs, logs).
    pub fn dir(&self) -> &Path {
        self.topo.dir()
    }

    /// Copies every log, the status files, FreeRADIUS's accounting detail
    /// file (`radius-detail`) and each member's config to `to`.
    pub fn copy_logs(&self, to: &Path) -> Result<()> {
        std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
        for entry in std::fs::read_dir(self.dir()).context("read the bed directory")? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "log" || e == "json") {
                if let Some(name) = path.file_name() {
                    std::fs::copy(&path, to.join(name)).context("copy a log")?;
                }
            }
        }
        let detail = self.dir().join("radius/acct/detail");
        if detail.exists() {
            std::fs::copy(&detail, to.join("radius-detail")).context("copy the detail file")?;
        }
        for node in &self.nodes {
            let from = self.member_dir(node.member).join("lnsd.toml");
            std::fs::copy(&from, to.join(format!("{}.toml", node.member.role())))
                .context("copy a config")?;
        }
        Ok(())
    }

    /// The members this bed runs.
    pub fn members(&self) -> Vec<Member> {
        self.nodes.iter().map(|n| n.member).collect()
    }

    fn node(&mut self, member: Member) -> Result<&mut Node> {
        self.nodes
            .iter_mut()
            .find(|n| n.member == member)
            .with_context(|| format!("{} is not part of this bed", member.role()))
    }

    fn spawn(&mut self, member: Member) -> Result<()> {
        let config = self.member_dir(member).join("lnsd.toml");
        let lnsd = self.opts.lnsd_bin.clone();
        let starts = self.node(member)?.starts + 1;
        let proc = self.topo.spawn_in(
            member.role(),
            &log_name(member, starts),
            Command::new(&lnsd).arg("--config").arg(&config),
        )?;
        self.pids.set(member, proc.pid());
        let node = self.node(member)?;
        node.proc = Some(proc);
        node.starts = starts;
        Ok(())
    }

    /// Output counters of UDP sport 1701 in `member`'s namespace: L2TP
    /// control (T bit set, RFC 2661 §3.1) first, data second.
    fn watch_1701(&self, member: Member) -> Result<()> {
        self.nft(
            member,
            "table inet drill_watch {\n chain output { type filter hook output priority 0;\n\
             udp sport 1701 @th,64,1 1 counter\n udp sport 1701 @th,64,1 0 counter\n }\n}\n",
        )
    }

    fn nft(&self, member: Member, script: &str) -> Result<()> {
        let path = self
            .topo
            .dir()
            .join(format!("nft-{}-{}.nft", member.role(), script.len()));
        std::fs::write(&path, script).context("write nft script")?;
        self.topo
            .run_in(member.role(), Command::new("nft").arg("-f").arg(&path))
            .map(|_| ())
    }
}

/// What the lnsd binary accepts, found with `lnsd check-config` on the
/// bed's own configs: `[cluster]` (else [`Mode::Single`]) and `[mgmt]`.
/// The second value says why a feature is missing, if one is.
pub fn detect_support(lnsd: &Path) -> Result<((Mode, Mgmt), Vec<String>)> {
    let dir = std::env::temp_dir().join(format!("lns-drill-probe-{}", std::process::id()));
    let mut why = Vec::new();
    let mut found = None;
    for (mode, mgmt) in [
        (Mode::Cluster, Mgmt::Served),
        (Mode::Cluster, Mgmt::Absent),
        (Mode::Single, Mgmt::Served),
        (Mode::Single, Mgmt::Absent),
    ] {
        config::write_lns(&dir, Member::LnsA, mode, mgmt, "info")?;
        let out = Command::new(lnsd)
            .arg("check-config")
            .arg(dir.join("lnsd.toml"))
            .output()
            .with_context(|| format!("run {} check-config", lnsd.display()))?;
        if out.status.success() {
            found = Some((mode, mgmt));
            break;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        why.push(format!(
            "{mode:?}/{mgmt:?} refused: {}",
            err.lines().skip(1).collect::<Vec<_>>().join(" ").trim()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    match found {
        Some(f) => Ok((f, why)),
        None => bail!("lnsd accepts none of the bed's configs: {}", why.join("; ")),
    }
}

/// The log file name of the `start`-th run of `member`.
fn log_name(member: Member, start: u32) -> String {
    if start == 1 {
        member.role().to_string()
    } else {
        format!("{}.{start}", member.role())
    }
}

fn build_topology() -> Result<Topology> {
    let mut b = Topology::builder().namespace("lac");
    let v4 = |a: std::net::Ipv4Addr| format!("{a}/{PREFIX_LEN}");
    let v6 = |a: std::net::Ipv6Addr| format!("{a}/{PREFIX_LEN6}");
    let members: [(&str, Vec<String>); 5] = [
        (
            "lns-a",
            vec![v4(Member::LnsA.address()), v6(Member::LnsA.address6())],
        ),
        (
            "lns-b",
            vec![v4(Member::LnsB.address()), v6(Member::LnsB.address6())],
        ),
        ("witness", vec![v4(Member::Witness.address())]),
        ("radius", vec![v4(RADIUS_ADDR)]),
        ("core", vec![v4(CORE_ADDR), v6(CORE_ADDR6)]),
    ];
    for (role, cidrs) in &members {
        let cidrs: Vec<&str> = cidrs.iter().map(String::as_str).collect();
        b = b
            .namespace(role)
            .veth(("lac", &format!("p-{role}"), &[]), (role, IFACE, &cidrs));
    }
    let gw6 = TUNNEL_ADDR6.to_string();
    let topo = b
        .sysctl("lns-a", "net.ipv4.ip_forward", "1")
        .sysctl("lns-b", "net.ipv4.ip_forward", "1")
        .sysctl("lns-a", "net.ipv6.conf.all.forwarding", "1")
        .sysctl("lns-b", "net.ipv6.conf.all.forwarding", "1")
        .route("core", POOL_ROUTE, &TUNNEL_ADDR.to_string())
        .route("core", V6_LINK_POOL, &gw6)
        .route("core", V6_PD_POOL, &gw6)
        .build()?;
    let ip = |args: &[&str]| {
        topo.run_in("lac", Command::new("ip").args(args))
            .map(|_| ())
    };
    ip(&["link", "add", "br0", "type", "bridge"])?;
    ip(&[
        "addr",
        "add",
        &format!("{LAC_ADDR}/{PREFIX_LEN}"),
        "dev",
        "br0",
    ])?;
    ip(&["link", "set", "br0", "up"])?;
    for (role, _) in &members {
        ip(&["link", "set", &format!("p-{role}"), "master", "br0"])?;
    }
    Ok(topo)
}

fn start_radius(topo: &Topology, opts: &BedOptions) -> Result<Proc> {
    let dir = topo.dir().join("radius");
    let cfg = RadiusConfig {
        listen: RADIUS_ADDR.into(),
        auth_port: 1812,
        clients: [Member::LnsA.address(), Member::LnsB.address(), TUNNEL_ADDR]
            .into_iter()
            .map(|a| (a.into(), RADIUS_SECRET.to_string()))
            .collect(),
        user_template: opts.user_template.clone(),
        users: opts.users,
        password: opts.password.clone(),
    };
    freeradius::write_config(&dir, &cfg)?;
    if opts.storm_users > 0 {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("users"))
            .context("open radius users")?;
        for i in 0..opts.storm_users {
            writeln!(
                f,
                "{} Cleartext-Password := \"{}\"\n\tService-Type = Framed-User,\n\tFramed-Protocol = PPP",
                user_name(&opts.storm_template, i),
                opts.password
            )
            .context("append storm users")?;
        }
    }
    let proc = topo.spawn_in(
        "radius",
        "freeradius",
        Command::new("freeradius").arg("-f").arg("-d").arg(&dir),
    )?;
    wait_for_udp_port(&topo.ns("radius"), 1812, Duration::from_secs(20))
        .with_context(|| format!("freeradius did not start:\n{}", proc.log()))?;
    Ok(proc)
}

/// Waits until a TCP socket listens on `port` in `ns`.
fn wait_for_tcp_port(ns: &str, port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let suffix = format!(":{port}");
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-Hltn"])
            .output()
            .context("run ss")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.lines().any(|l| {
            l.split_whitespace()
                .nth(3)
                .is_some_and(|a| a.ends_with(&suffix))
        }) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("timeout waiting for TCP port {port} in {ns}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    out.push('\n');
    out
}
