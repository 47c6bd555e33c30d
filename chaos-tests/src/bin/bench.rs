//! bench: lnsd versus l2tpns on the same bed, same test LAC, same machine.
//!
//! Each subcommand runs the same measurement against lnsd and then against
//! l2tpns, each on a fresh lac/lns/core bed in the same run, and prints
//! `bench=NAME lnsd=X l2tpns=Y ratio=X/Y unit=U` per figure. Every figure
//! is measured, never invented. Needs root (namespaces), l2tpns, FreeRADIUS
//! and nftables installed, and the `lac-sim`, `blast`, `reflector` and
//! `lnsd` binaries next to this one (`cargo build --release -p
//! lns-chaos-tests --bins -p lns-node`; `lnsd` is built with cargo when
//! missing, or taken from `LNSD_BIN`). lnsd authenticates against the same
//! generated FreeRADIUS as l2tpns (`--lnsd-aaa users` switches it to its
//! local users file).
//!
//! - `setup`: sessions/s bringing up N sessions over M tunnels with PAP
//!   against FreeRADIUS (default 5000 over 50).
//! - `forward`: each LNS's forwarding ceiling (lns_chaos_tests::bench::
//!   forward): upstream and downstream, per packet size, the LNS pinned to
//!   CPU 0 and the load tools to CPU 1; the throughput (RFC 2544 §26.1,
//!   1 % loss tolerance: the most delivered packets/s by a step that lost
//!   no more, `forward-up-64`, unit pps), the LNS's CPU time per packet
//!   there (`forward-up-64-cpu`, unit us/pkt), and the most any step
//!   delivered, overloaded or not (`forward-up-64-peak`, unit pps). `--rounds N` (default 3) measures
//!   both LNSs N times, alternately, and reports each figure's median
//!   (lns_chaos_tests::bench::rounds); each round's lines come first,
//!   prefixed `round=K`.
//! - `memory`: the LNS's resident memory with N sessions up, its RSS with
//!   none (same run, same bed) and the bytes per session beyond that base.
//! - `setup-cluster`: the setup rate of the 2-LNS + witness lnsd cluster
//!   against a single lnsd on the drill bed, same run
//!   (`bench=setup-cluster lnsd_cluster=X lnsd_single=Y ratio=X/Y unit=sessions/s`).

use lns_chaos_tests::harness::sibling_binary;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lns_chaos_tests::bench::ceiling::Stop;
use lns_chaos_tests::bench::forward::{self, Direction};
use lns_chaos_tests::bench::rounds::median;
use lns_chaos_tests::drill::bed::detect_support;
use lns_chaos_tests::drill::bench as drill_bench;
use lns_chaos_tests::drill::config::Mode;
use lns_chaos_tests::harness::{require_root, Privilege, Topology};
use lns_chaos_tests::peers::l2tpns::{CORE_ADDR, LAC_ADDR};
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
    /// Which LNSs to run: `both` (the figures and their ratio), `lnsd` or
    /// `l2tpns` (a quick look at one; the other column says unavailable).
    #[arg(long, global = true, default_value = "both")]
    only: String,
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
    fn lns_pid(&self) -> u32 {
        match self {
            AnyBed::Lnsd(b) => b.lnsd.pid(),
            AnyBed::L2tpns(b) => b.l2tpns.pid(),
        }
    }
    fn core_pid(&self) -> u32 {
        match self {
            AnyBed::Lnsd(b) => b.reflector.pid(),
            AnyBed::L2tpns(b) => b.reflector.pid(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Session setup rate (sessions/s), PAP against FreeRADIUS.
    Setup(Load),
    /// Forwarding ceiling (delivered packets/s) and CPU per packet.
    Forward(ForwardArgs),
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
    /// Seconds after which lac-sim counts a session not up as failed.
    #[arg(long, default_value_t = 120.0)]
    setup_timeout: f64,
}

#[derive(Debug, Clone, Args)]
struct ForwardArgs {
    /// Total sessions.
    #[arg(long, default_value_t = 200)]
    sessions: u32,
    /// Tunnels (must divide --sessions).
    #[arg(long, default_value_t = 10)]
    tunnels: u32,
    /// Inner IPv4 packet sizes.
    #[arg(long, value_delimiter = ',', default_value = "64,1400")]
    sizes: Vec<usize>,
    /// Directions (`up`: LAC -> core, `down`: core -> LAC).
    #[arg(long, value_delimiter = ',', default_value = "up,down")]
    directions: Vec<String>,
    /// First offered rate (packets/s).
    #[arg(long, default_value_t = 20_000.0)]
    start_rate: f64,
    /// Offered rate multiplier per step.
    #[arg(long, default_value_t = 1.4)]
    growth: f64,
    /// Loss that ends a search (fraction).
    #[arg(long, default_value_t = 0.01)]
    max_loss: f64,
    /// Rounds: both LNSs are measured this many times, alternately, each
    /// round on fresh beds; each figure is the median of its rounds (one
    /// search moves by ±15 % from run to run on a shared VM).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Measured seconds per step (after 0.5 s of warm-up).
    #[arg(long, default_value_t = 2.0)]
    window: f64,
    /// Leave the LNS and blast in normal time sharing (default: SCHED_FIFO
    /// 10 for both LNSs alike, so builds sharing the machine do not decide
    /// the figures).
    #[arg(long)]
    no_realtime: bool,
}

/// One figure of one LNS.
#[derive(Debug, Clone)]
struct Figure {
    name: String,
    unit: &'static str,
    value: Option<f64>,
}

impl Figure {
    fn new(name: impl Into<String>, unit: &'static str, value: Option<f64>) -> Figure {
        Figure {
            name: name.into(),
            unit,
            value,
        }
    }
}

/// One measured run of one LNS.
#[derive(Debug)]
struct Outcome {
    figures: Vec<Figure>,
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
    let which: &[Lns] = match cli.only.as_str() {
        "both" => &[Lns::Lnsd, Lns::L2tpns],
        "lnsd" => &[Lns::Lnsd],
        "l2tpns" => &[Lns::L2tpns],
        other => bail!("--only {other}: expected both, lnsd or l2tpns"),
    };
    let rounds = match &cli.bench {
        Bench::Forward(args) if args.rounds == 0 => bail!("--rounds 0: expected at least 1"),
        Bench::Forward(args) => args.rounds,
        _ => 1,
    };
    // Per LNS (lnsd, l2tpns), each round's figures.
    let mut runs: [Vec<Vec<Figure>>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=rounds {
        for &lns in which {
            let outcome = match &cli.bench {
                Bench::Setup(load) => setup(lns, aaa, load)?,
                Bench::Forward(args) => forward_run(lns, aaa, args)?,
                Bench::Memory(load) => memory(lns, aaa, load)?,
                // Its own pair of runs (cluster, single), not lnsd vs l2tpns.
                Bench::SetupCluster(load) => return setup_cluster(load),
            };
            eprintln!(
                "{lns:?} run (round {round} of {rounds}): {}",
                outcome.summary
            );
            runs[usize::from(lns == Lns::L2tpns)].push(outcome.figures);
        }
        if rounds > 1 {
            let [lnsd, l2tpns] = runs
                .each_ref()
                .map(|r| r.last().cloned().unwrap_or_default());
            for line in figure_lines(&named(lnsd, &l2tpns), &l2tpns) {
                println!("round={round} {line}");
            }
        }
    }
    let [lnsd, l2tpns] = runs.map(|r| combine(&r));
    for line in figure_lines(&named(lnsd, &l2tpns), &l2tpns) {
        println!("{line}");
    }
    Ok(())
}

/// lnsd's figures, or (l2tpns alone) l2tpns's names with an unavailable
/// lnsd column.
fn named(lnsd: Vec<Figure>, l2tpns: &[Figure]) -> Vec<Figure> {
    if !lnsd.is_empty() {
        return lnsd;
    }
    l2tpns
        .iter()
        .map(|f| Figure::new(f.name.clone(), f.unit, None))
        .collect()
}

/// One figure per name: the median of its rounds (the only round's value
/// when there is one). Names and order are the first round's.
fn combine(rounds: &[Vec<Figure>]) -> Vec<Figure> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|f| {
            let values: Vec<Option<f64>> = rounds
                .iter()
                .map(|r| r.iter().find(|g| g.name == f.name).and_then(|g| g.value))
                .collect();
            Figure::new(f.name.clone(), f.unit, median(&values))
        })
        .collect()
}

/// `bench=NAME lnsd=X l2tpns=Y ratio=X/Y unit=U` for each figure of lnsd,
/// matched by name with l2tpns's.
fn figure_lines(lnsd: &[Figure], l2tpns: &[Figure]) -> Vec<String> {
    let show = |v: Option<f64>| v.map_or_else(|| "unavailable".to_string(), |v| format!("{v:.2}"));
    lnsd.iter()
        .map(|f| {
            let y = l2tpns
                .iter()
                .find(|g| g.name == f.name)
                .and_then(|g| g.value);
            let ratio = match (f.value, y) {
                (Some(x), Some(y)) if y > 0.0 => format!("{:.2}", x / y),
                _ => "unavailable".into(),
            };
            format!(
                "bench={} lnsd={} l2tpns={} ratio={ratio} unit={}",
                f.name,
                show(f.value),
                show(y),
                f.unit
            )
        })
        .collect()
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
        lac_sim_bin: sibling_binary("lac-sim")?,
        reflector_bin: sibling_binary("reflector")?,
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
            "note: {lns:?}: only {up} of {} sessions came up (the rest failed or timed out)",
            load.sessions
        );
    }
    Ok(Outcome {
        figures: vec![Figure::new(
            "setup",
            "sessions/s",
            Some(field(&summary, "sessions_per_sec")?),
        )],
        summary,
    })
}

fn forward_run(lns: Lns, aaa: Aaa, args: &ForwardArgs) -> Result<Outcome> {
    let load = Load {
        sessions: args.sessions,
        tunnels: args.tunnels,
        setup_rate: None,
        setup_timeout: 120.0,
    };
    let directions = args
        .directions
        .iter()
        .map(|d| match d.as_str() {
            "up" => Ok(Direction::Up),
            "down" => Ok(Direction::Down),
            other => bail!("--directions {other}: expected up or down"),
        })
        .collect::<Result<Vec<_>>>()?;
    let bed = start_bed(lns, aaa, &load)?;
    let opts = forward::Options {
        lac_sim: sibling_binary("lac-sim")?,
        blast: sibling_binary("blast")?,
        lac_addr: LAC_ADDR,
        sink: CORE_ADDR,
        tunnels: args.tunnels,
        sessions_per_tunnel: args.sessions / args.tunnels,
        user_template: "bench{n}".into(),
        password: "bench-pw".into(),
        directions,
        sizes: args.sizes.clone(),
        start_rate: args.start_rate,
        growth: args.growth,
        max_loss: args.max_loss,
        warmup: Duration::from_millis(500),
        window: Duration::from_secs_f64(args.window),
        priority: if args.no_realtime {
            forward::Priority::Normal
        } else {
            forward::Priority::Realtime
        },
    };
    let target = forward::Target {
        topo: bed.topo(),
        lns_pid: bed.lns_pid(),
        lns: bed.lns(),
        core_pid: bed.core_pid(),
    };
    let cells = forward::run(target, &opts)?;
    let mut figures = Vec::new();
    let mut summary = String::new();
    for c in &cells {
        let name = format!("forward-{}-{}", c.direction.name(), c.size);
        let top = c.ceiling;
        if c.stop == Stop::GeneratorBound {
            println!(
                "note: {lns:?} {name}: the generator was the limit; the figure is a lower bound"
            );
        }
        let peak = c.peak;
        summary.push_str(&format!(
            "{name}: {} steps, stopped by {:?}, throughput {:.0} pps (offered {:.0}, loss {:.2}%), \
             peak {:.0} pps (loss {:.2}%); ",
            c.steps.len(),
            c.stop,
            top.map_or(0.0, |s| s.delivered),
            top.map_or(0.0, |s| s.offered),
            top.map_or(0.0, |s| s.loss() * 100.0),
            peak.map_or(0.0, |s| s.delivered),
            peak.map_or(0.0, |s| s.loss() * 100.0),
        ));
        figures.push(Figure::new(name.clone(), "pps", top.map(|s| s.delivered)));
        figures.push(Figure::new(
            format!("{name}-cpu"),
            "us/pkt",
            top.and_then(|s| s.cpu_us_per_packet),
        ));
        // What it still delivers overloaded (any loss): shown, not the target.
        figures.push(Figure::new(
            format!("{name}-peak"),
            "pps",
            peak.map(|s| s.delivered),
        ));
    }
    Ok(Outcome { figures, summary })
}

fn memory(lns: Lns, aaa: Aaa, load: &Load) -> Result<Outcome> {
    let bed = start_bed(lns, aaa, load)?;
    // The base: the LNS up, idle, no tunnel (same run, same bed).
    std::thread::sleep(Duration::from_secs(2));
    let base = bed.rss_kib().context("read the LNS's VmRSS")?;
    let mut cmd = lac_sim_command(&bed, load, &["--traffic-pps", "0"])?;
    let mut sim = bed.topo().spawn_in("lac", "lac-sim", &mut cmd)?;
    let wait = Duration::from_secs_f64(load.setup_timeout + 60.0);
    sim.wait_for_log("lac-sim: setup done", wait)?;
    // Let the last acknowledgements and timers settle.
    std::thread::sleep(Duration::from_secs(3));
    let rss = bed.rss_kib().context("read the LNS's VmRSS")?;
    // How many sessions were up: lac-sim's routes file.
    let routes = std::fs::read_to_string(bed.topo().dir().join("memory-routes.txt"))
        .map(|t| t.lines().filter(|l| l.starts_with("route ")).count())
        .unwrap_or(0);
    let summary = format!(
        "base {base} KiB, {rss} KiB with {routes} of {} sessions up",
        load.sessions
    );
    if routes < load.sessions as usize {
        println!(
            "note: {lns:?}: {routes} of {} sessions were up when RSS was read",
            load.sessions
        );
    }
    let per_session =
        (routes > 0).then(|| rss.saturating_sub(base) as f64 * 1024.0 / routes as f64);
    if routes < load.sessions as usize {
        explain_missing_sessions(&bed, &sim);
    }
    drop(sim);
    Ok(Outcome {
        figures: vec![
            Figure::new("memory", "MiB", Some(rss as f64 / 1024.0)),
            Figure::new("memory-base", "MiB", Some(base as f64 / 1024.0)),
            Figure::new("memory-sessions-up", "sessions", Some(routes as f64)),
            Figure::new("memory-per-session", "bytes/session", per_session),
        ],
        summary,
    })
}

/// Why sessions did not come up, as each side saw it: lnsd's setup
/// failure reasons, drop and queue counters (non-zero samples of its
/// /metrics), and the end of lac-sim's log.
fn explain_missing_sessions(bed: &AnyBed, sim: &lns_chaos_tests::harness::Proc) {
    if let AnyBed::Lnsd(b) = bed {
        match b.metrics() {
            Ok(text) => {
                for line in text.lines().filter(|l| is_setup_diagnostic(l)) {
                    println!("note: lnsd: {line}");
                }
            }
            Err(e) => println!("note: lnsd: no metrics: {e:#}"),
        }
    }
    let log = sim.log();
    let lost: Vec<&str> = log.lines().filter(|l| l.contains(" lost: ")).collect();
    println!("note: lac-sim: {} tunnels lost", lost.len());
    for line in lost.iter().take(20) {
        println!("note: lac-sim: {line}");
    }
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines[lines.len().saturating_sub(4)..] {
        println!("note: lac-sim: {line}");
    }
}

/// A non-zero metric sample that explains lost setups.
fn is_setup_diagnostic(line: &str) -> bool {
    let wanted = [
        "lnsd_session_setup_failures_total",
        "lnsd_dataplane_dropped",
        "lnsd_control_",
        "lnsd_sessions",
        "lnsd_l2tp_",
        "lnsd_setup",
    ];
    !line.starts_with('#')
        && wanted.iter().any(|w| line.starts_with(w))
        && line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v != 0.0)
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
            reflector_bin: sibling_binary("reflector")?,
            debug: 1,
        })?)),
        Lns::Lnsd => {
            let mut opts = LnsdOptions::new(
                load.sessions,
                "bench{n}",
                "bench-pw",
                sibling_binary("reflector")?,
            );
            opts.aaa = aaa;
            opts.lnsd_bin = lnsd_binary()?;
            opts.log_level = "warn".into();
            Ok(AnyBed::Lnsd(LnsdBed::start(&opts)?))
        }
    }
}

fn lac_sim_command(bed: &AnyBed, load: &Load, extra: &[&str]) -> Result<Command> {
    let mut cmd = Command::new(sibling_binary("lac-sim")?);
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
        &load.setup_timeout.to_string(),
        "--routes-file",
    ])
    .arg(bed.topo().dir().join("memory-routes.txt"))
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
