//! drill: one failover drill (or `all`) against an lnsd cluster in network
//! namespaces, printing
//! `drill=NAME sessions_before=N sessions_after=N tunnels_torn_down=N duplicate_addresses=N data_gap_ms=N control_gap_ms=N [v6_sessions=N v6_lost=N] acct_lost=N acct_dup_start=N acct_dup_stop=N result=pass|fail`
//! per drill (the IPv6 figures when IPv6 is checked: by default in
//! `kill-active`, `--ipv6 on|off` for any drill); exit status 1 if any
//! failed. After each drill the sessions are ended cleanly and the
//! accounting records checked. See docs/drills.md.
//!
//! Needs root; `lac-sim` and `reflector` beside this binary, `lnsd` from
//! `LNSD_BIN` or beside it (built with cargo when missing). When lnsd does
//! not accept `[cluster]` (checked with `lnsd check-config`), the bed runs
//! a single lnsd and the failover drills fail, saying so.

use lns_chaos_tests::harness::sibling_binary;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use lns_chaos_tests::drill::bed::detect_support;
use lns_chaos_tests::drill::config::{Mgmt, Mode};
use lns_chaos_tests::drill::run::{Ipv6Check, Rig, RigOptions};
use lns_chaos_tests::drill::{DrillName, Verdict, ALL};
use lns_chaos_tests::harness::{require_root, Privilege};
use lns_chaos_tests::peers::lnsd::lnsd_binary;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Cluster if lnsd accepts `[cluster]`, else single.
    Auto,
    /// Two lns members and a witness.
    Cluster,
    /// One lnsd without `[cluster]`.
    Single,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Ipv6Arg {
    /// On for kill-active (issue 8's proof), off for the others.
    Auto,
    /// Every held subscriber runs IPv6; the drill checks it survives.
    On,
    /// IPv4 only.
    Off,
}

impl Ipv6Arg {
    fn for_drill(self, name: DrillName) -> Ipv6Check {
        match (self, name) {
            (Ipv6Arg::On, _) | (Ipv6Arg::Auto, DrillName::KillActive) => Ipv6Check::On,
            _ => Ipv6Check::Off,
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "lnsd failover drills in network namespaces")]
struct Cli {
    /// kill-active, freeze-active, partition-active, kill-standby,
    /// restart-rejoin, transfer, storm, double, or all.
    name: String,
    /// Sessions held through the fault.
    #[arg(long, default_value_t = 1000)]
    sessions: u32,
    /// Tunnels they are spread over.
    #[arg(long, default_value_t = 20)]
    tunnels: u32,
    /// Probes per second per session (both directions through the LNS).
    #[arg(long, default_value_t = 5.0)]
    pps: f64,
    /// Probes per second of each tunnel's first session (the gap's resolution).
    #[arg(long, default_value_t = 100.0)]
    sentinel_pps: f64,
    /// New sessions dialled during the storm drill.
    #[arg(long, default_value_t = 500)]
    storm_sessions: u32,
    /// Seconds to wait for the cluster to settle after a fault.
    #[arg(long, default_value_t = 20.0)]
    settle_secs: f64,
    /// Seconds a restarted member is given to catch up.
    #[arg(long, default_value_t = 5.0)]
    rejoin_secs: f64,
    /// Cluster or single lnsd.
    #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
    mode: ModeArg,
    /// lnsd's log filter.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// IPv6 subscribers (RS/SLAAC, DHCPv6 IA_NA + IA_PD, IPv6 probes) and
    /// the check that their prefixes, leases, routes and traffic survive.
    #[arg(long, value_enum, default_value_t = Ipv6Arg::Auto)]
    ipv6: Ipv6Arg,
    /// Milliseconds between two RA solicitations + DHCPv6 Renews of each
    /// IPv6 subscriber.
    #[arg(long, default_value_t = 3000)]
    v6_refresh_ms: u64,
    /// Lines of each member's log printed when a drill fails.
    #[arg(long, default_value_t = 40)]
    log_lines: usize,
    /// Seconds to wait for every session's Acct-Stop after the LAC hung up.
    #[arg(long, default_value_t = 60)]
    acct_wait_secs: u64,
    /// Where a failed drill's logs, configs and LAC status are copied
    /// (`<DIR>/<drill>/`); the bed's own directory is removed with it.
    #[arg(long, default_value = "/tmp/lnsd-drill-logs")]
    keep_logs: PathBuf,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("drill: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<bool> {
    if require_root("drill") == Privilege::Unprivileged {
        bail!("drills need root (network namespaces, nftables)");
    }
    let names: Vec<DrillName> = if cli.name == "all" {
        ALL.to_vec()
    } else {
        vec![cli.name.parse()?]
    };
    let lnsd = lnsd_binary()?;
    let (detected, why) = detect_support(&lnsd)?;
    let support = match cli.mode {
        ModeArg::Auto => detected,
        ModeArg::Cluster => (Mode::Cluster, detected.1),
        ModeArg::Single => (Mode::Single, Mgmt::Absent),
    };
    for w in &why {
        eprintln!("drill: {} check-config: {w}", lnsd.display());
    }
    if support.0 == Mode::Single {
        eprintln!("drill: single lnsd (no [cluster]): failover drills are expected to fail");
    }
    let mut opts = RigOptions::new(
        lnsd,
        sibling_binary("lac-sim")?,
        sibling_binary("reflector")?,
    );
    opts.sessions = cli.sessions;
    opts.tunnels = cli.tunnels;
    opts.pps = cli.pps;
    opts.sentinel_pps = cli.sentinel_pps;
    opts.storm_sessions = cli.storm_sessions;
    opts.settle_timeout = secs(cli.settle_secs, "--settle-secs")?;
    opts.rejoin_wait = secs(cli.rejoin_secs, "--rejoin-secs")?;
    opts.support = support;
    opts.log_level = cli.log_level.clone();
    opts.v6_refresh = Duration::from_millis(cli.v6_refresh_ms.max(100));
    let mut all_passed = true;
    for name in names {
        opts.ipv6 = cli.ipv6.for_drill(name);
        eprintln!(
            "drill: {name}: starting the bed ({:?}, {} sessions / {} tunnels)",
            support.0, opts.sessions, opts.tunnels
        );
        let mut rig = match Rig::start(opts.clone()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("drill: {name}: the bed did not come up: {e:#}");
                all_passed = false;
                continue;
            }
        };
        eprintln!("drill: {name}: {}", rig.summary());
        let mut report = rig.run(name)?;
        // Ends the sessions cleanly (their Stops) and checks the records.
        rig.check_accounting(&mut report, Duration::from_secs(cli.acct_wait_secs));
        for n in &report.notes {
            eprintln!("drill: {name}: {n}");
        }
        if report.line.result == Verdict::Fail {
            all_passed = false;
            let keep = cli.keep_logs.join(name.as_str());
            match rig.bed.copy_logs(&keep) {
                Ok(()) => eprintln!("drill: {name}: logs kept in {}", keep.display()),
                Err(e) => eprintln!("drill: {name}: could not keep the logs: {e:#}"),
            }
            eprint!("{}", rig.bed.logs_tail(cli.log_lines));
            let lac = rig.lac_log();
            let tail: Vec<&str> = lac.lines().rev().take(10).collect();
            eprintln!("=== lac-sim (last lines) ===");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        println!("{}", report.line);
        if let Some(summary) = rig.stop_lac(Duration::from_secs(20)) {
            eprintln!("drill: {name}: {summary}");
        }
    }
    Ok(all_passed)
}

fn secs(v: f64, flag: &str) -> Result<Duration> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("{flag} must be a number of seconds >= 0");
    }
    Ok(Duration::from_secs_f64(v))
}
