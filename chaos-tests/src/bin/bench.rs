//! bench: lnsd versus l2tpns on the same bed, same test LAC, same machine.
//!
//! Each subcommand prints `bench=NAME lnsd=X l2tpns=Y ratio=X/Y unit=U`.
//! lnsd does not exist yet: its figure is printed as `unavailable` (and so
//! is the ratio); the l2tpns figure is measured now, never invented. Needs
//! root (namespaces), l2tpns and FreeRADIUS installed, and the `lac-sim`
//! and `reflector` binaries next to this one (`cargo build --release -p
//! lns-chaos-tests`).
//!
//! - `setup`: sessions/s bringing up N sessions over M tunnels with PAP
//!   against FreeRADIUS (default 5000 over 50).
//! - `forward`: probe replies per second through the LNS (UDP echo via the
//!   core namespace), all sessions sending at a fixed rate.
//! - `memory`: the LNS's resident memory with N sessions up.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lns_chaos_tests::harness::{require_root, Privilege};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::{BedOptions, L2tpnsBed};

#[derive(Debug, Parser)]
#[command(about = "lnsd vs l2tpns benchmarks in network namespaces")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
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
    let (name, unit, outcome) = match &cli.bench {
        Bench::Setup(load) => ("setup", "sessions/s", setup(load)?),
        Bench::Forward {
            load,
            pps,
            packet_size,
            secs,
        } => (
            "forward",
            "packets/s",
            forward(load, *pps, *packet_size, *secs)?,
        ),
        Bench::Memory(load) => ("memory", "MiB", memory(load)?),
    };
    eprintln!("l2tpns run: {}", outcome.summary);
    println!(
        "bench={name} lnsd=unavailable l2tpns={:.1} ratio=unavailable unit={unit}",
        outcome.value
    );
    println!("note: lnsd is not built yet; only the l2tpns figure is measured");
    Ok(())
}

fn setup(load: &Load) -> Result<Outcome> {
    let bed = start_bed(load)?;
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

fn forward(load: &Load, pps: f64, size: usize, secs: f64) -> Result<Outcome> {
    let bed = start_bed(load)?;
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

fn memory(load: &Load) -> Result<Outcome> {
    let bed = start_bed(load)?;
    let mut cmd = lac_sim_command(&bed, load, &["--traffic-pps", "0", "--hold", "3"])?;
    let mut sim = bed.topo.spawn_in("lac", "lac-sim", &mut cmd)?;
    sim.wait_for_log("lac-sim: setup done", Duration::from_secs(300))?;
    let rss = bed.l2tpns_rss_kib().context("read l2tpns VmRSS")?;
    sim.wait_exit(Duration::from_secs(60))?;
    let summary = sim.log().lines().last().unwrap_or_default().to_string();
    Ok(Outcome {
        value: rss as f64 / 1024.0,
        summary,
    })
}

fn start_bed(load: &Load) -> Result<L2tpnsBed> {
    if load.tunnels == 0 || load.sessions % load.tunnels != 0 {
        bail!("--tunnels must divide --sessions");
    }
    L2tpnsBed::start(&BedOptions {
        users: load.sessions,
        user_template: "bench{n}".into(),
        password: "bench-pw".into(),
        tunnel_secret: None,
        reflector_bin: sibling("reflector")?,
        debug: 1,
    })
}

fn lac_sim_command(bed: &L2tpnsBed, load: &Load, extra: &[&str]) -> Result<Command> {
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

fn run_lac_sim(bed: &L2tpnsBed, load: &Load, extra: &[&str]) -> Result<String> {
    let mut cmd = lac_sim_command(bed, load, extra)?;
    let out = bed.topo.run_in("lac", &mut cmd)?;
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
