//! bench: lnsd versus l2tpns on the same bed, same test LAC, same machine.
//!
//! Each subcommand runs the same measurement against lnsd and then against
//! l2tpns, each on a fresh lac/lns/core bed in the same run, and prints
//! `bench=NAME lnsd=X l2tpns=Y ratio=X/Y unit=U`. Every figure is measured,
//! never invented. Needs root (namespaces), l2tpns and FreeRADIUS
//! installed, and the `lac-sim`, `reflector` and `lnsd` binaries next to
//! this one (`cargo build --release -p lns-chaos-tests --bins -p lns-node`;
//! `lnsd` is built with cargo when missing, or taken from `LNSD_BIN`).
//! lnsd authenticates against the same generated FreeRADIUS as l2tpns
//! (`--lnsd-aaa users` switches it to its local users file).
//!
//! - `setup`: sessions/s bringing up N sessions over M tunnels with PAP
//!   against FreeRADIUS (default 5000 over 50).
//! - `forward`: probe replies per second through the LNS (UDP echo via the
//!   core namespace), all sessions sending at a fixed rate.
//! - `memory`: the LNS's resident memory with N sessions up.
//! - `setup-cluster`: the setup rate of the 2-LNS + witness lnsd cluster
//!   against a single lnsd on the drill bed, same run
//!   (`bench=setup-cluster lnsd_cluster=X lnsd_single=Y ratio=X/Y unit=sessions/s`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lns_chaos_tests::drill::bed::detect_support;
use lns_chaos_tests::drill::bench as drill_bench;
use lns_chaos_tests::drill::config::Mode;
use lns_chaos_tests::harness::{require_root, Privilege, Topology};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::lnsd::{lnsd_binary, rss_kib, Aaa};
use lns_chaos_tests::peers::{BedOptions, L2tpnsBed, LnsdBed, LnsdOptions};

#[derive(Debug, Parser)]
#[command(about = "lnsd vs l2tpns benchmarks in network namespaces")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
    /// How lnsd authenticates: `radius` (the same FreeRADIUS as l2tpns) or `users`.
    #[arg(long, global = true, default_value = "radius")]
    lnsd_aaa: String,
}

/// Which LNS a bed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lns {
    Lnsd,
    L2tpns,
}

/// A running bed of either kind.
enum AnyBed {
    Lnsd(LnsdBed),
    L2tpns(L2tpnsBed),
}

impl AnyBed {
    fn topo(&self) -> &Topology {
        match self {
            AnyBed::Lnsd(b) => &b.topo,
            AnyBed::L2tpns(b) => &b.topo,
        }
    }
    fn lns(&self) -> std::net::SocketAddr {
        match self {
            AnyBed::Lnsd(b) => b.lns(),
            AnyBed::L2tpns(b) => b.lns(),
        }
    }
    fn reflector(&self) -> std::net::SocketAddr {
        match self {
            AnyBed::Lnsd(b) => b.reflector(),
            AnyBed::L2tpns(b) => b.reflector(),
        }
    }
    fn rss_kib(&self) -> Option<u64> {
        match self {
            AnyBed::Lnsd(b) => rss_kib(b.lnsd.pid()),
            AnyBed::L2tpns(b) => b.l2tpns_rss_kib(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Session setup rate (sessions/s), PAP against FreeRADIUS.
    Setup(Load),
    /// Forwarding rate (reply packets/s through the LNS).
    Forward {
        #[command(flatten)]
        load: Load,
        /// Probes per second per session.
        #[arg(long, default_value_t = 50.0)]
        pps: f64,
        /// Probe size (IPv4 packet bytes).
        #[arg(long, default_value_t = 512)]
        packet_size: usize,
        /// Seconds of traffic.
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
    },
    /// Resident memory of the LNS with the sessions up.
    Memory(Load),
    /// Setup rate of a 2-LNS + witness lnsd cluster against a single lnsd
    /// (same drill bed, same run): the cost of commit-before-emit.
    SetupCluster(Load),
}

#[derive(Debug, Clone, Args)]
struct Load {
    /// Total sessions.
    #[arg(long, default_value_t = 5000)]
    sessions: u32,
    /// Tunnels (sessions are spread evenly; must divide --sessions).
    #[arg(long, default_value_t = 50)]
    tunnels: u32,
    /// Cap on new sessions per second (absent: all at once, a login storm).
    #[arg(long)]
    setup_rate: Option<f64>,
}

/// One measured l2tpns run.
#[derive(Debug)]
struct Outcome {
    value: f64,
    summary: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if require_root("bench") == Privilege::Unprivileged {
        bail!("bench needs root");
    }
    let aaa = match cli.lnsd_aaa.as_str() {
        "radius" => Aaa::Radius,
        "users" => Aaa::UsersFile,
        other => bail!("--lnsd-aaa {other}: expected radius or users"),
    };
    let mut outcomes = Vec::new();
    let mut name_unit = ("", "");
    for lns in [Lns::Lnsd, Lns::L2tpns] {
        let (name, unit, outcome) = match &cli.bench {
            Bench::Setup(load) => ("setup", "sessions/s", setup(lns, aaa, load)?),
            Bench::Forward {
                load,
                pps,
                packet_size,
                secs,
            } => (
                "forward",
                "packets/s",
                forward(lns, aaa, load, *pps, *packet_size, *secs)?,
            ),
            Bench::Memory(load) => ("memory", "MiB", memory(lns, aaa, load)?),
            // Its own pair of runs (cluster, single), not lnsd vs l2tpns.
            Bench::SetupCluster(load) => return setup_cluster(load),
        };
        eprintln!("{lns:?} run: {}", outcome.summary);
        name_unit = (name, unit);
        outcomes.push(outcome.value);
    }
    let (name, unit) = name_unit;
    let (x, y) = (outcomes[0], outcomes[1]);
    let ratio = if y > 0.0 {
        format!("{:.2}", x / y)
    } else {
        "unavailable".into()
    };
    println!("bench={name} lnsd={x:.1} l2tpns={y:.1} ratio={ratio} unit={unit}");
    Ok(())
}

/// `bench=setup-cluster lnsd_cluster=X lnsd_single=Y ratio=X/Y unit=sessions/s`.
fn setup_cluster(load: &Load) -> Result<()> {
    let lnsd_bin = lnsd_binary()?;
    let ((mode, mgmt), why) = detect_support(&lnsd_bin)?;
    if mode != Mode::Cluster {
        bail!("this lnsd does not accept [cluster]: {}", why.join("; "));
    }
    let (cluster, single) = drill_bench::setup_cluster(&drill_bench::SetupLoad {
        sessions: load.sessions,
        tunnels: load.tunnels,
        setup_rate: load.setup_rate,
        lnsd_bin,
        lac_sim_bin: sibling("lac-sim")?,
        reflector_bin: sibling("reflector")?,
        mgmt,
    })?;
    eprintln!("cluster run: {}", cluster.summary);
    eprintln!("single run: {}", single.summary);
    let ratio = if single.rate > 0.0 {
        format!("{:.2}", cluster.rate / single.rate)
    } else {
        "unavailable".into()
    };
    println!(
        "bench=setup-cluster lnsd_cluster={:.1} lnsd_single={:.1} ratio={ratio} unit=sessions/s",
        cluster.rate, single.rate
    );
    Ok(())
}

fn setup(lns: Lns, aaa: Aaa, load: &Load) -> Result<Outcome> {
    let bed = start_bed(lns, aaa, load)?;
    let summary = run_lac_sim(&bed, load, &["--traffic-pps", "0", "--hold", "0"])?;
    let up = field(&summary, "sessions_up")?;
    if up < f64::from(load.sessions) {
        // Still a measured figure (sessions up per second), but say so.
        println!(
            "note: only {up} of {} sessions came up (the rest failed or timed out)",
            load.sessions
        );
    }
    Ok(Outcome {
        value: field(&summary, "sessions_per_sec")?,
        summary,
    })
}

fn forward(lns: Lns, aaa: Aaa, load: &Load, pps: f64, size: usize, secs: f64) -> Result<Outcome> {
    let bed = start_bed(lns, aaa, load)?;
    let summary = run_lac_sim(
        &bed,
        load,
        &[
            "--traffic-pps",
            &pps.to_string(),
            "--packet-size",
            &size.to_string(),
            "--hold",
            &secs.to_string(),
        ],
    )?;
    Ok(Outcome {
        value: field(&summary, "rx_pps")?,
        summary,
    })
}

fn memory(lns: Lns, aaa: Aaa, load: &Load) -> Result<Outcome> {
    let bed = start_bed(lns, aaa, load)?;
    let mut cmd = lac_sim_command(&bed, load, &["--traffic-pps", "0", "--hold", "3"])?;
    let mut sim = bed.topo().spawn_in("lac", "lac-sim", &mut cmd)?;
    sim.wait_for_log("lac-sim: setup done", Duration::from_secs(300))?;
    let rss = bed.rss_kib().context("read the LNS's VmRSS")?;
    sim.wait_exit(Duration::from_secs(60))?;
    let summary = sim.log().lines().last().unwrap_or_default().to_string();
    Ok(Outcome {
        value: rss as f64 / 1024.0,
        summary,
    })
}

fn start_bed(lns: Lns, aaa: Aaa, load: &Load) -> Result<AnyBed> {
    if load.tunnels == 0 || load.sessions % load.tunnels != 0 {
        bail!("--tunnels must divide --sessions");
    }
    match lns {
        Lns::L2tpns => Ok(AnyBed::L2tpns(L2tpnsBed::start(&BedOptions {
            users: load.sessions,
            user_template: "bench{n}".into(),
            password: "bench-pw".into(),
            tunnel_secret: None,
            reflector_bin: sibling("reflector")?,
            debug: 1,
        })?)),
        Lns::Lnsd => {
            let mut opts =
                LnsdOptions::new(load.sessions, "bench{n}", "bench-pw", sibling("reflector")?);
            opts.aaa = aaa;
            opts.lnsd_bin = lnsd_binary()?;
            opts.log_level = "warn".into();
            Ok(AnyBed::Lnsd(LnsdBed::start(&opts)?))
        }
    }
}

fn lac_sim_command(bed: &AnyBed, load: &Load, extra: &[&str]) -> Result<Command> {
    let mut cmd = Command::new(sibling("lac-sim")?);
    cmd.args([
        "--lns",
        &bed.lns().to_string(),
        "--local",
        &LAC_ADDR.to_string(),
        "--tunnels",
        &load.tunnels.to_string(),
        "--sessions-per-tunnel",
        &(load.sessions / load.tunnels).to_string(),
        "--auth",
        "pap",
        "--user-template",
        "bench{n}",
        "--password",
        "bench-pw",
        "--reflector",
        &bed.reflector().to_string(),
        "--setup-timeout",
        "120",
    ])
    .args(extra);
    if let Some(rate) = load.setup_rate {
        cmd.args(["--setup-rate", &rate.to_string()]);
    }
    Ok(cmd)
}

fn run_lac_sim(bed: &AnyBed, load: &Load, extra: &[&str]) -> Result<String> {
    let mut cmd = lac_sim_command(bed, load, extra)?;
    let out = bed.topo().run_in("lac", &mut cmd)?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout.lines().next().unwrap_or_default().to_string())
}

/// A numeric `key=value` of lac-sim's summary line.
fn field(summary: &str, key: &str) -> Result<f64> {
    summary
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no numeric {key} in: {summary}"))
}

/// A binary built beside this one.
fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("current exe")?;
    let p = exe.with_file_name(name);
    if !p.is_file() {
        bail!(
            "{} not found (cargo build -p lns-chaos-tests --bins)",
            p.display()
        );
    }
    Ok(p)
}
