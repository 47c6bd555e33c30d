//! demo: the product, live. By default a two-LNS-plus-witness lnsd
//! cluster in network namespaces (the failover drills' bed, docs/drills.md):
//! FreeRADIUS, a reflector in `core`, lac-sim holding sessions with probes
//! both ways; after `--failover-after` seconds the active node is killed
//! (SIGKILL) and the kill-active drill line is printed; the killed node is
//! restarted and rejoins as the standby; the cluster then keeps running,
//! narrated every few seconds, for the operator to explore (the commands
//! are printed) until Ctrl-C / SIGTERM or `--duration` seconds. Cleanup:
//! lac-sim tears down, logs are copied out, every process is killed by PID
//! and the namespaces removed.
//!
//! `--single` keeps the previous demo: one lnsd (config derived from
//! `node/examples/lnsd.toml`) in a lac/lns/core bed. The cluster demo falls
//! back to it, saying why, when lnsd does not accept `[cluster]`. Needs
//! root; `lac-sim`, `reflector` (and `lnsd`, else built) beside it.

mod cluster;

use lns_chaos_tests::harness::sibling_binary;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use lns_chaos_tests::drill::bed::detect_support;
use lns_chaos_tests::drill::config::Mode;
use lns_chaos_tests::harness::{require_root, Privilege, Signal};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::lnsd::{lnsd_binary, Aaa};
use lns_chaos_tests::peers::{LnsdBed, LnsdOptions};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Parser)]
#[command(about = "lnsd demo: a two-node lnsd cluster, lac-sim subscribers and a live failover")]
struct Cli {
    /// The single-node demo (one lnsd, no failover).
    #[arg(long)]
    single: bool,
    /// Seconds of traffic before the active node is killed (cluster demo).
    #[arg(long, default_value_t = 10.0)]
    failover_after: f64,
    /// Run this many seconds, then clean up (default: until Ctrl-C / SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
    /// Tunnels.
    #[arg(long, default_value_t = 4)]
    tunnels: u32,
    /// Sessions per tunnel.
    #[arg(long, default_value_t = 25)]
    sessions_per_tunnel: u32,
    /// Probes per second per session.
    #[arg(long, default_value_t = 10.0)]
    pps: f64,
    /// The config lnsd's is derived from.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../node/examples/lnsd.toml"))]
    base_config: PathBuf,
    /// Where the logs are copied when the demo ends.
    #[arg(long, default_value = "/tmp/lnsd-demo-logs")]
    keep_logs: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if require_root("demo") == Privilege::Unprivileged {
        bail!("the demo needs root (network namespaces, TUN)");
    }
    if !cli.single {
        let lnsd = lnsd_binary()?;
        let (support, why) = detect_support(&lnsd)?;
        if support.0 == Mode::Cluster {
            return cluster::run(&cli, lnsd, support);
        }
        println!(
            "demo: this lnsd does not accept [cluster] ({}); running the single-node demo",
            why.first().map_or("", String::as_str)
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let sessions = cli.tunnels * cli.sessions_per_tunnel;
    let mut opts = LnsdOptions::new(
        sessions,
        "demo{n}@example",
        "demo-pw",
        sibling_binary("reflector")?,
    );
    opts.aaa = Aaa::UsersFile;
    opts.lnsd_bin = lnsd_binary()?;
    opts.base_config = Some(cli.base_config.clone());
    println!(
        "demo: starting namespaces lac <-> lns <-> core and lnsd ({})",
        opts.lnsd_bin.display()
    );
    let mut bed = LnsdBed::start(&opts)?;
    let dir = bed.topo.dir().to_path_buf();
    println!(
        "demo: lnsd listens on {} (namespace {})",
        bed.lns(),
        bed.topo.ns("lns")
    );
    println!("demo: config {}", dir.join("lnsd/lnsd.toml").display());
    println!(
        "demo: logs   {}/*.log (copied to {} at the end)",
        dir.display(),
        cli.keep_logs.display()
    );
    let mut sim = bed.topo.spawn_in(
        "lac",
        "lac-sim",
        Command::new(sibling_binary("lac-sim")?).args([
            "--lns",
            &bed.lns().to_string(),
            "--local",
            &LAC_ADDR.to_string(),
            "--tunnels",
            &cli.tunnels.to_string(),
            "--sessions-per-tunnel",
            &cli.sessions_per_tunnel.to_string(),
            "--auth",
            "chap",
            "--user-template",
            "demo{n}@example",
            "--password",
            "demo-pw",
            "--reflector",
            &bed.reflector().to_string(),
            "--traffic-pps",
            &cli.pps.to_string(),
            "--setup-timeout",
            "60",
        ]),
    )?;
    sim.wait_for_log("lac-sim: setup done", Duration::from_secs(90))
        .with_context(|| format!("lac-sim setup:\n{}", sim.log()))?;
    let setup = sim
        .log()
        .lines()
        .find(|l| l.starts_with("lac-sim: setup done"))
        .unwrap_or_default()
        .to_string();
    println!("demo: {setup}");
    println!(
        "demo: {sessions} sessions dialled, probes flowing through lnsd's TUN; stop with Ctrl-C"
    );
    let (mut term, mut int) = (
        signal(SignalKind::terminate()).context("SIGTERM handler")?,
        signal(SignalKind::interrupt()).context("SIGINT handler")?,
    );
    let started = Instant::now();
    let deadline = cli.duration.map(|d| started + Duration::from_secs_f64(d));
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = term.recv() => { println!("demo: SIGTERM"); break; }
            _ = int.recv() => { println!("demo: Ctrl-C"); break; }
            _ = tick.tick() => {
                println!("demo: t={:>4.0}s  {}", started.elapsed().as_secs_f64(), tun_counters(&bed));
                if deadline.is_some_and(|d| Instant::now() >= d) { break; }
                if !bed.lnsd.running() { bail!("lnsd exited:\n{}", bed.log()); }
            }
        }
    }
    println!("demo: stopping lac-sim (CDN + StopCCN for every session and tunnel)");
    sim.signal(Signal::Term)?;
    sim.wait_exit(Duration::from_secs(30))?;
    if let Some(summary) = sim
        .log()
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
    {
        println!("demo: {summary}");
    }
    let code = bed.stop_lnsd(Duration::from_secs(20))?;
    println!("demo: lnsd exited with {code:?}");
    keep_logs(&dir, &cli.keep_logs)?;
    println!(
        "demo: logs kept in {}; removing the namespaces",
        cli.keep_logs.display()
    );
    Ok(())
}

/// The TUN device's packet counters in `lns` (`ip -s link`), one line.
fn tun_counters(bed: &LnsdBed) -> String {
    let out = bed.topo.run_in(
        "lns",
        Command::new("ip").args(["-s", "-o", "link", "show", "lns0"]),
    );
    let text = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => return format!("no TUN counters: {e}"),
    };
    // `-o` puts the RX and TX figures after "RX:" and "TX:" headers.
    let numbers = |tag: &str| {
        text.split(tag)
            .nth(1)
            .and_then(|rest| rest.split("\\").nth(1))
            .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    format!(
        "lns0 rx bytes/packets {}  tx bytes/packets {}",
        numbers("RX:"),
        numbers("TX:")
    )
}

/// Copies every `*.log` and the lnsd config from the bed's directory.
fn keep_logs(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).context("create the log directory")?;
    for entry in std::fs::read_dir(from).context("read the bed directory")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "log") {
            if let Some(name) = path.file_name() {
                std::fs::copy(&path, to.join(name)).context("copy a log")?;
            }
        }
    }
    std::fs::copy(from.join("lnsd/lnsd.toml"), to.join("lnsd.toml")).context("copy lnsd.toml")?;
    Ok(())
}
