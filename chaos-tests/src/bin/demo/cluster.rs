//! The cluster demo: the drill rig, a live kill-active, the killed node
//! restarted, then narration until the operator stops it.
//!
//! Contract: blocking code on the main thread; a side thread turns
//! SIGINT/SIGTERM into a flag the narration loop polls (a signal during
//! the failover itself is honoured once the drill line is printed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lns_chaos_tests::drill::bed::Restart;
use lns_chaos_tests::drill::config::{Member, Mgmt, Mode, TUNNEL_ADDR};
use lns_chaos_tests::drill::run::{Rig, RigOptions};
use lns_chaos_tests::drill::DrillName;

use super::Cli;
use lns_chaos_tests::harness::sibling_binary as sibling;

/// Runs the cluster demo to completion.
pub fn run(cli: &Cli, lnsd: PathBuf, support: (Mode, Mgmt)) -> Result<()> {
    let stop = stop_flag()?;
    let mut opts = RigOptions::new(lnsd.clone(), sibling("lac-sim")?, sibling("reflector")?);
    opts.sessions = cli.tunnels * cli.sessions_per_tunnel;
    opts.tunnels = cli.tunnels;
    opts.pps = cli.pps;
    opts.storm_sessions = 0;
    opts.support = support;
    println!(
        "demo: starting a 2-LNS + witness lnsd cluster ({}) in namespaces lac, lns-a, lns-b, witness, radius, core",
        lnsd.display()
    );
    let mut rig = Rig::start(opts)?;
    let dir = rig.bed.dir().to_path_buf();
    println!(
        "demo: {} sessions over {} tunnels up, probes flowing LAC <-> lnsd <-> core",
        cli.tunnels * cli.sessions_per_tunnel,
        cli.tunnels
    );
    explain(&rig, &dir, cli);
    let started = Instant::now();
    let failover_at = started + Duration::from_secs_f64(cli.failover_after.max(0.0));
    let deadline = cli.duration.map(|d| started + Duration::from_secs_f64(d));
    let mut failed_over = false;
    let mut next_line = Instant::now();
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        if !failed_over && Instant::now() >= failover_at {
            failed_over = true;
            failover(&mut rig)?;
            next_line = Instant::now();
        }
        if Instant::now() >= next_line {
            println!(
                "demo: t={:>4.0}s  {}",
                started.elapsed().as_secs_f64(),
                rig.summary()
            );
            next_line += Duration::from_secs(5);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("demo: stopping lac-sim (CDN + StopCCN for every session and tunnel)");
    if let Some(summary) = rig.stop_lac(Duration::from_secs(30)) {
        println!("demo: {summary}");
    }
    rig.bed.copy_logs(&cli.keep_logs)?;
    println!(
        "demo: logs kept in {}; stopping lnsd and removing the namespaces",
        cli.keep_logs.display()
    );
    Ok(())
}

/// Kills the active node live, prints the drill line, restarts the node.
fn failover(rig: &mut Rig) -> Result<()> {
    let before: Vec<&str> = rig.bed.live_holders().iter().map(|m| m.role()).collect();
    println!(
        "demo: failover drill: SIGKILL to the active node [{}] while every session carries traffic",
        before.join(",")
    );
    let killed = rig.bed.live_holders().first().copied();
    let report = rig.run(DrillName::KillActive)?;
    for n in &report.notes {
        println!("demo:   {n}");
    }
    println!("{}", report.line);
    if let Some(k) = killed {
        rig.bed.restart(k, Restart::AfterReboot)?;
        println!(
            "demo: {} restarted (as after a reboot); it catches up from the others (snapshot + log) and stays standby",
            k.role()
        );
    }
    Ok(())
}

/// Where things are and what to type.
fn explain(rig: &Rig, dir: &Path, cli: &Cli) {
    println!(
        "demo: tunnel address {TUNNEL_ADDR} (moves to the active node, watch `ip -n NS addr`)"
    );
    for m in rig.bed.members() {
        let ns = rig.bed.ns(m);
        println!(
            "demo:   {:<8} namespace {ns}  config {}  log {}",
            m.role(),
            rig.bed.member_dir(m).join("lnsd.toml").display(),
            dir.join(format!("{}.log", m.role())).display()
        );
        if let Some(sock) = rig.bed.mgmt_socket(m) {
            println!(
                "demo:            ip netns exec {ns} lnsctl --socket {} status",
                sock.display()
            );
        }
    }
    let a = rig.bed.ns(Member::LnsA);
    println!(
        "demo: try: ip netns exec {a} ip addr show eth0; ip netns exec {a} ip -s link show lns0"
    );
    println!(
        "demo: lac-sim's live status (every session, its address, its last echo): {}",
        dir.join("lac-status.json").display()
    );
    println!(
        "demo: stop with Ctrl-C; logs are copied to {} at the end",
        cli.keep_logs.display()
    );
}

/// A flag set by SIGINT or SIGTERM (a tokio runtime on a side thread).
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (mut term, mut int) = runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        ))
    })?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = term.recv() => println!("demo: SIGTERM"),
                _ = int.recv() => println!("demo: Ctrl-C"),
            }
        });
        set.store(true, Ordering::Relaxed);
    });
    Ok(flag)
}
