//! Debian's l2tpns 2.4.1 as the reference LNS, and the three-namespace
//! test bed around it (REFERENCE.md "Running Debian's l2tpns").
//!
//! Contract: [`L2tpnsBed::start`] builds
//!
//! ```text
//!  lac 198.18.0.1 ── 198.18.0.2 lns (l2tpns, FreeRADIUS on 127.0.0.1)
//!                               lns 198.18.1.1 ── 198.18.1.2 core (reflector :7)
//!  pool 198.19.0.0/16 routed lns -> tun; core routes 198.19.0.0/16 via lns
//! ```
//!
//! l2tpns runs in a private mount namespace with its own directory bound
//! over /etc/l2tpns (it reads `ip_pool` only from there), `cluster_interface`
//! naming the core-side veth and `cluster_hb_timeout 31`; start returns once
//! it logs "I am declaring myself the master!". Everything is killed by
//! PID and the namespaces removed when the bed drops.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::freeradius::{self, RadiusConfig};
use crate::harness::{
    wait_for_file_line, wait_for_udp_port, Proc, Signal, Topology, TopologyBuilder,
};

/// The LAC's address.
pub const LAC_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The LNS's tunnel endpoint address.
pub const LNS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The core namespace's address (the reflector).
pub const CORE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
/// The UDP echo port of the reflector.
pub const REFLECTOR_PORT: u16 = 7;
/// The subscriber address pool (65 534 addresses: the memory benchmark
/// holds 50 000 sessions).
pub const POOL: &str = "198.19.0.0/16";
/// The LNS-side IPCP address (not the tunnel endpoint, REFERENCE.md).
pub const PEER_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// The RADIUS shared secret.
pub const RADIUS_SECRET: &str = "lnsd-bench-secret";

/// What the bed serves.
#[derive(Debug, Clone)]
pub struct BedOptions {
    /// Users in RADIUS (`user_template` with `{n}` = 1..=users).
    pub users: u32,
    /// User name template.
    pub user_template: String,
    /// Every user's password.
    pub password: String,
    /// l2tpns `l2tp_secret` (tunnel authentication), if any.
    pub tunnel_secret: Option<String>,
    /// The `reflector` binary.
    pub reflector_bin: PathBuf,
    /// l2tpns `debug` level (2: logins; 3: every control packet).
    pub debug: u8,
}

/// The running bed. Field order is drop order: processes die before the
/// namespaces are deleted.
#[derive(Debug)]
pub struct L2tpnsBed {
    /// The l2tpns process (in `lns`).
    pub l2tpns: Proc,
    /// FreeRADIUS (in `lns`).
    pub radius: Proc,
    /// The UDP echo reflector (in `core`).
    pub reflector: Proc,
    /// Namespaces `lac`, `lns`, `core`.
    pub topo: Topology,
}

/// The bed both LNSes under test sit in: `lac` -- `lns` -- `core`, the LAC
/// at [`LAC_ADDR`], the LNS at [`LNS_ADDR`], the core at 198.18.1.2 (and
/// 2001:db8:1::2) routing the subscribers' 198.19.0.0/16 back through the
/// LNS, which forwards IPv4. Callers add what their LNS needs.
pub fn lac_lns_core() -> TopologyBuilder {
    let lac_cidr = format!("{LAC_ADDR}/24");
    let lns_cidr = format!("{LNS_ADDR}/24");
    Topology::builder()
        .namespace("lac")
        .namespace("lns")
        .namespace("core")
        .veth(
            ("lac", "to-lns", &[&lac_cidr]),
            ("lns", "to-lac", &[&lns_cidr]),
        )
        .veth(
            ("lns", "to-core", &["198.18.1.1/24", "2001:db8:1::1/64"]),
            ("core", "to-lns", &["198.18.1.2/24", "2001:db8:1::2/64"]),
        )
        .sysctl("lns", "net.ipv4.ip_forward", "1")
        .route("core", "198.19.0.0/16", "198.18.1.1")
}

impl L2tpnsBed {
    /// Builds the topology and starts FreeRADIUS, l2tpns and the reflector.
    pub fn start(opts: &BedOptions) -> Result<L2tpnsBed> {
        let topo = lac_lns_core().build()?;
        let radius = freeradius::spawn(
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
        )?;
        let reflector = topo.spawn_in(
            "core",
            "reflector",
            Command::new(&opts.reflector_bin)
                .arg("--bind")
                .arg(format!("0.0.0.0:{REFLECTOR_PORT}")),
        )?;
        wait_for_udp_port(&topo.ns("core"), REFLECTOR_PORT, Duration::from_secs(10))
            .with_context(|| format!("reflector did not start:\n{}", reflector.log()))?;
        let l2tpns = spawn_l2tpns(&topo, opts)?;
        Ok(L2tpnsBed {
            l2tpns,
            radius,
            reflector,
            topo,
        })
    }

    /// l2tpns's control address.
    pub fn lns(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(LNS_ADDR), 1701)
    }

    /// The reflector's address.
    pub fn reflector(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(CORE_ADDR), REFLECTOR_PORT)
    }

    /// l2tpns's own log file.
    pub fn l2tpns_log(&self) -> String {
        std::fs::read(self.topo.dir().join("l2tpns/l2tpns.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Stops l2tpns cleanly (SIGQUIT: StopCCN to every LAC) and waits.
    pub fn stop_l2tpns(&mut self) -> Result<()> {
        self.l2tpns.signal(Signal::Quit)?;
        self.l2tpns.wait_exit(Duration::from_secs(15))?;
        Ok(())
    }

    /// l2tpns's resident memory in KiB (VmRSS), if it is running.
    pub fn l2tpns_rss_kib(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.l2tpns.pid())).ok()?;
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }
}

/// Writes l2tpns's startup-config and ip_pool, starts it and waits for mastership.
fn spawn_l2tpns(topo: &Topology, opts: &BedOptions) -> Result<Proc> {
    let dir = topo.dir().join("l2tpns");
    std::fs::create_dir_all(&dir).context("create l2tpns dir")?;
    let d = dir.display();
    let secret = opts
        .tunnel_secret
        .as_ref()
        .map(|s| format!("set l2tp_secret \"{s}\"\n"))
        .unwrap_or_default();
    let debug = opts.debug;
    let config = format!(
        r#"set debug {debug}
set log_file "{d}/l2tpns.log"
set pid_file "{d}/l2tpns.pid"
set bind_address {LNS_ADDR}
set peer_address {PEER_ADDRESS}
set primary_dns 198.18.1.53
set primary_radius 127.0.0.1
set primary_radius_port 1812
set radius_secret "{RADIUS_SECRET}"
set radius_accounting no
set radius_authtypes "chap,pap"
set allow_duplicate_users yes
set cli_bind_address 127.0.0.1
set cluster_interface to-core
set cluster_hb_timeout 31
set send_garp no
set tundevicename tun0
set ipv6_prefix 2001:db8:100::
{secret}"#
    );
    std::fs::write(dir.join("startup-config"), config).context("write startup-config")?;
    std::fs::write(dir.join("ip_pool"), format!("{POOL}\n")).context("write ip_pool")?;
    let script = format!("mount --bind {d} /etc/l2tpns && exec l2tpns -c {d}/startup-config");
    let mut proc = topo.spawn_in(
        "lns",
        "l2tpns-stdout",
        Command::new("unshare").args(["-m", "sh", "-c", &script]),
    )?;
    let log = dir.join("l2tpns.log");
    if let Err(e) = wait_for_file_line(
        &log,
        "I am declaring myself the master!",
        Duration::from_secs(30),
    ) {
        let running = proc.running();
        anyhow::bail!(
            "l2tpns never became master (running: {running}): {e}\nstdout:\n{}",
            proc.log()
        );
    }
    Ok(proc)
}
