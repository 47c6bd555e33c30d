//! `bench setup-cluster`: the session setup rate of the two-LNS-plus-witness
//! cluster against a single lnsd, on the same drill bed, in the same run
//! (the cost of commit-before-emit; issue 6 target: ratio >= 0.5).
//!
//! Contract: [`setup_cluster`] starts a [`ClusterBed`] in each mode in turn,
//! runs lac-sim once against it (no traffic, no hold) and returns both
//! measured rates (sessions up per second of setup), with lac-sim's summary
//! lines. Nothing is estimated: a run where sessions failed still reports
//! its measured rate and says how many came up.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::bed::{BedOptions, ClusterBed};
use super::config::{Mgmt, Mode, LAC_ADDR, TUNNEL_ADDR};

/// One measured run.
#[derive(Debug, Clone)]
pub struct SetupRun {
    /// Sessions up per second of setup.
    pub rate: f64,
    /// lac-sim's summary line.
    pub summary: String,
}

/// The load and the binaries.
#[derive(Debug, Clone)]
pub struct SetupLoad {
    /// Total sessions (a multiple of `tunnels`).
    pub sessions: u32,
    /// Tunnels.
    pub tunnels: u32,
    /// Cap on new sessions per second (`None`: all at once).
    pub setup_rate: Option<f64>,
    /// lnsd.
    pub lnsd_bin: PathBuf,
    /// lac-sim.
    pub lac_sim_bin: PathBuf,
    /// The reflector.
    pub reflector_bin: PathBuf,
    /// Whether the configs carry `[mgmt]`.
    pub mgmt: Mgmt,
}

/// Measures the cluster, then the single node: `(cluster, single)`.
pub fn setup_cluster(load: &SetupLoad) -> Result<(SetupRun, SetupRun)> {
    if load.tunnels == 0 || load.sessions % load.tunnels != 0 {
        bail!("--tunnels must divide --sessions");
    }
    let cluster = setup_once(load, Mode::Cluster)?;
    let single = setup_once(load, Mode::Single)?;
    Ok((cluster, single))
}

fn setup_once(load: &SetupLoad, mode: Mode) -> Result<SetupRun> {
    let bed = ClusterBed::start(&BedOptions {
        users: load.sessions,
        user_template: "bench{n}".into(),
        storm_users: 0,
        storm_template: "unused{n}".into(),
        password: "bench-pw".into(),
        lnsd_bin: load.lnsd_bin.clone(),
        reflector_bin: load.reflector_bin.clone(),
        log_level: "warn".into(),
        mode,
        mgmt: load.mgmt,
    })?;
    let mut cmd = Command::new(&load.lac_sim_bin);
    cmd.args(["--lns", &format!("{TUNNEL_ADDR}:1701")])
        .args(["--local", &LAC_ADDR.to_string()])
        .args(["--tunnels", &load.tunnels.to_string()])
        .args([
            "--sessions-per-tunnel",
            &(load.sessions / load.tunnels).to_string(),
        ])
        .args([
            "--auth",
            "pap",
            "--user-template",
            "bench{n}",
            "--password",
            "bench-pw",
        ])
        .args([
            "--traffic-pps",
            "0",
            "--hold",
            "0",
            "--setup-timeout",
            "120",
        ]);
    if let Some(r) = load.setup_rate {
        cmd.args(["--setup-rate", &r.to_string()]);
    }
    let out = bed.topo.run_in("lac", &mut cmd)?;
    let summary = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let rate = field(&summary, "sessions_per_sec")
        .with_context(|| format!("{mode:?} run\n{}", bed.logs_tail(20)))?;
    Ok(SetupRun { rate, summary })
}

/// A numeric `key=value` of lac-sim's summary line.
pub fn field(summary: &str, key: &str) -> Result<f64> {
    summary
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no numeric {key} in: {summary}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numeric_fields_and_refuses_unmeasured_ones() {
        let line = "lac-sim tunnels=2 sessions_up=10 sessions_per_sec=512.5 setup_p50_ms=-";
        assert_eq!(field(line, "sessions_per_sec").expect("number"), 512.5);
        assert_eq!(field(line, "sessions_up").expect("number"), 10.0);
        assert!(field(line, "setup_p50_ms").is_err());
        assert!(field(line, "sessions").is_err());
    }
}
