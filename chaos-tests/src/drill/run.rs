//! Running a drill: the bed, lac-sim holding sessions with probes in both
//! directions and a fast HELLO, one fault, the settle, the figures.
//!
//! Contract: [`Rig::start`] brings up a [`ClusterBed`] and a lac-sim that
//! writes its live status file, and returns once every session carries
//! traffic. [`Rig::run`] injects one fault and measures, from the LAC's
//! status and an [`AddressWatch`], what [`DrillLine`] reports; it returns
//! a line (pass or fail) whenever it could measure, and an error only when
//! the bed itself broke. Notes explain a failure (which check, which node
//! held the address when). With [`Ipv6Check::On`] every subscriber also
//! runs IPv6 (RS/SLAAC, DHCPv6 IA_NA + IA_PD, refreshed every few seconds,
//! probes from both prefixes) and [`super::v6_check`] judges it. The rig stays usable after a drill (the demo
//! runs a kill-active and keeps going); drop it to clean up.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bed::{BedOptions, ClusterBed, Restart};
use super::config::{
    Member, Mgmt, Mode, CORE_ADDR, CORE_ADDR6, LAC_ADDR, REFLECTOR_PORT, TUNNEL_ADDR,
};
use super::v6_check::{uncovered, V6Baseline, V6Figures, V6Loss};
use super::watch::AddressWatch;
use super::{acct_check, AcctFigures, DrillLine, DrillName, Verdict};
use crate::harness::{Proc, Signal};
use crate::lac::status::duplicate_addresses;
use crate::lac::{wall_clock, Status};

mod rejoin;

/// Whether the held subscribers run IPv6 and the drill checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Check {
    /// RS/SLAAC, DHCPv6 IA_NA + IA_PD and IPv6 probes; `v6_lost` reported.
    On,
    /// IPv4 only.
    Off,
}

/// How a rig is built.
#[derive(Debug, Clone)]
pub struct RigOptions {
    /// Sessions held (rounded up to a multiple of `tunnels`).
    pub sessions: u32,
    /// Tunnels they are spread over.
    pub tunnels: u32,
    /// Probes per second of ordinary sessions.
    pub pps: f64,
    /// Probes per second of each tunnel's first session (fine gap figure).
    pub sentinel_pps: f64,
    /// New sessions dialled by the `storm` drill (and their tunnels).
    pub storm_sessions: u32,
    /// Tunnels of the storm.
    pub storm_tunnels: u32,
    /// Longest wait for the cluster to settle after a fault.
    pub settle_timeout: Duration,
    /// How long to keep watching once settled.
    pub observe: Duration,
    /// How long a restarted member is given to catch up.
    pub rejoin_wait: Duration,
    /// Cluster or single lnsd; `[mgmt]` or not.
    pub support: (Mode, Mgmt),
    /// lnsd's log filter.
    pub log_level: String,
    /// IPv6 subscribers and the IPv6 check.
    pub ipv6: Ipv6Check,
    /// How often each IPv6 subscriber solicits an RA and renews its leases.
    pub v6_refresh: Duration,
    /// lnsd.
    pub lnsd_bin: PathBuf,
    /// lac-sim.
    pub lac_sim_bin: PathBuf,
    /// The reflector.
    pub reflector_bin: PathBuf,
}

impl RigOptions {
    /// The defaults of the issue: 1 000 sessions over 20 tunnels.
    pub fn new(lnsd_bin: PathBuf, lac_sim_bin: PathBuf, reflector_bin: PathBuf) -> Self {
        RigOptions {
            sessions: 1000,
            tunnels: 20,
            pps: 5.0,
            sentinel_pps: 100.0,
            storm_sessions: 500,
            storm_tunnels: 5,
            settle_timeout: Duration::from_secs(20),
            observe: Duration::from_secs(2),
            rejoin_wait: Duration::from_secs(5),
            support: (Mode::Cluster, Mgmt::Served),
            log_level: "info".into(),
            ipv6: Ipv6Check::Off,
            v6_refresh: Duration::from_secs(3),
            lnsd_bin,
            lac_sim_bin,
            reflector_bin,
        }
    }

    fn per_tunnel(&self) -> u32 {
        self.sessions.div_ceil(self.tunnels.max(1))
    }

    fn total(&self) -> u32 {
        self.per_tunnel() * self.tunnels.max(1)
    }

    /// A session counts as carrying traffic with an echo this recent.
    fn window_ms(&self) -> u64 {
        let slowest = if self.pps > 0.0 {
            1000.0 / self.pps
        } else {
            0.0
        };
        (3.0 * slowest).max(1000.0) as u64
    }
}

/// A drill's line and the notes that explain it.
#[derive(Debug, Clone)]
pub struct DrillReport {
    /// The result line.
    pub line: DrillLine,
    /// Why it failed, where the address went, storm figures.
    pub notes: Vec<String>,
}

/// The bed plus the held sessions. Field order is drop order.
#[derive(Debug)]
pub struct Rig {
    lac: Proc,
    storm: Option<Proc>,
    /// The cluster.
    pub bed: ClusterBed,
    opts: RigOptions,
    status_path: PathBuf,
    storm_path: PathBuf,
}

const USERS: &str = "drill{n}";
const STORM_USERS: &str = "storm{n}";
const PASSWORD: &str = "drill-pw";

impl Rig {
    /// Starts the bed and lac-sim; returns once every session carries traffic
    /// (or fails saying how many do).
    pub fn start(opts: RigOptions) -> Result<Rig> {
        let (mode, mgmt) = opts.support;
        let bed = ClusterBed::start(&BedOptions {
            users: opts.total(),
            user_template: USERS.into(),
            storm_users: opts.storm_sessions,
            storm_template: STORM_USERS.into(),
            password: PASSWORD.into(),
            lnsd_bin: opts.lnsd_bin.clone(),
            reflector_bin: opts.reflector_bin.clone(),
            log_level: opts.log_level.clone(),
            mode,
            mgmt,
        })?;
        let status_path = bed.dir().join("lac-status.json");
        let storm_path = bed.dir().join("storm-status.json");
        let mut cmd = lac_sim(&opts, opts.tunnels, opts.per_tunnel(), USERS, &status_path);
        cmd.args(["--traffic-pps", &opts.pps.to_string()])
            .args(["--sentinel-pps", &opts.sentinel_pps.to_string()]);
        if opts.ipv6 == Ipv6Check::On {
            cmd.args(["--reflector6", &format!("[{CORE_ADDR6}]:{REFLECTOR_PORT}")])
                .args(["--v6-refresh-ms", &opts.v6_refresh.as_millis().to_string()]);
        }
        let mut lac = bed.topo.spawn_in("lac", "lac-sim", &mut cmd)?;
        let setup = lac.wait_for_log("lac-sim: setup done", Duration::from_secs(240));
        let rig = Rig {
            lac,
            storm: None,
            bed,
            opts,
            status_path,
            storm_path,
        };
        setup.with_context(|| rig.bed.logs_tail(20))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = rig.status()?;
            let carrying = s
                .carrying_since(s.unix_ms.saturating_sub(rig.opts.window_ms()))
                .len();
            if carrying as u32 >= rig.opts.total() {
                return Ok(rig);
            }
            // Sessions that failed to come up are the drill's to report
            // (sessions_before falls short and the drill fails), once every
            // session that did come up carries traffic.
            if carrying > 0 && carrying == s.sessions_up() && s.sessions_dialing() == 0 {
                eprintln!(
                    "drill: only {carrying} of {} sessions came up",
                    rig.opts.total()
                );
                return Ok(rig);
            }
            if Instant::now() >= deadline {
                bail!(
                    "only {carrying} of {} sessions carry traffic after setup ({} up)\n{}",
                    rig.opts.total(),
                    s.sessions_up(),
                    rig.bed.logs_tail(20)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The LAC's status now.
    pub fn status(&self) -> Result<Status> {
        let mut last = None;
        for _ in 0..20 {
            match Status::read(&self.status_path) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no status")))
    }

    /// One line for a narrator: who is active, sessions up and carrying.
    pub fn summary(&self) -> String {
        let holders: Vec<&str> = self.bed.live_holders().iter().map(|m| m.role()).collect();
        match self.status() {
            Ok(s) => format!(
                "active [{}]  sessions up {}  carrying traffic {}  tunnels torn down {}",
                holders.join(","),
                s.sessions_up(),
                s.carrying_since(s.unix_ms.saturating_sub(self.opts.window_ms()))
                    .len(),
                s.tunnels_torn_down()
            ),
            Err(e) => format!("active [{}]  no LAC status: {e:#}", holders.join(",")),
        }
    }

    /// Runs drill `name` on this rig.
    pub fn run(&mut self, name: DrillName) -> Result<DrillReport> {
        let window = self.opts.window_ms();
        let steady = self.status()?;
        let before = steady.carrying_since(steady.unix_ms.saturating_sub(window));
        let active = self.bed.wait_active(None, Duration::from_secs(10))?;
        let watch_started = Instant::now();
        let watch = {
            let bed = &self.bed;
            AddressWatch::start(|m| bed.ns(m), bed.pids())
        };
        let mut m = Measure {
            expected: before.len(),
            ..Measure::default()
        };
        let v6_base = (self.opts.ipv6 == Ipv6Check::On)
            .then(|| V6Baseline::take(&steady, before.keys().copied()));
        let outcome = self.inject(name, active, &mut m);
        if let Err(e) = outcome {
            m.problems.push(format!("{name}: {e:#}"));
        }
        let settled_ms = now_ms();
        self.observe(self.opts.observe, &mut m);
        let v6 = v6_base.map(|b| self.check_v6(&b, settled_ms, &mut m.notes));
        let holdings = watch.finish();
        match self.bed.active() {
            Some(_) => {}
            None => m.problems.push(format!(
                "no single active node at the end: live holders {:?}",
                self.bed.live_holders()
            )),
        }
        // restart-rejoin ends with a planned transfer: only the changes
        // before it count.
        let before_transfer = match m.transfer_at {
            Some(at) => holdings
                .changes
                .iter()
                .filter(|(when, _)| *when < at.saturating_duration_since(watch_started))
                .count(),
            None => holdings.changes.len(),
        };
        if matches!(name, DrillName::KillStandby | DrillName::RestartRejoin) && before_transfer > 1
        {
            m.problems.push(format!(
                "the tunnel address left the active node {} (the standby's fault must not disturb it)",
                active.role()
            ));
        }
        for stale in self.bed.holders() {
            if self.bed.live_holders().contains(&stale) {
                continue;
            }
            if self.bed.pids().exited(stale) {
                // Its address guard must have removed it (vip.rs): a dead
                // node's kernel answering ARP/NS steals the address.
                m.problems.push(format!(
                    "the tunnel address stays on {}'s eth0 after its lnsd died (the address guard did not remove it)",
                    stale.role()
                ));
            } else {
                m.notes.push(format!(
                    "the tunnel address stays on {}'s eth0: its lnsd is stopped (not counted as a second active node)",
                    stale.role()
                ));
            }
        }
        let fin = self.status()?;
        let after = fin.carrying_since(fin.unix_ms.saturating_sub(window));
        let kept = before
            .iter()
            .filter(|(i, a)| after.get(i) == Some(a))
            .count();
        let storm = self.storm_status();
        let torn = fin.tunnels_torn_down() + storm.as_ref().map_or(0, Status::tunnels_torn_down);
        let data_gap = fin.data_gap_ms().unwrap_or(u64::MAX);
        let mut notes = m.notes;
        notes.push(format!(
            "tunnel address {TUNNEL_ADDR}: {}",
            holdings.describe()
        ));
        let line = DrillLine {
            drill: name,
            sessions_before: before.len(),
            sessions_after: kept,
            tunnels_torn_down: torn,
            duplicate_addresses: m.duplicates + holdings.double_polls,
            data_gap_ms: data_gap,
            control_gap_ms: fin.control_gap_ms(),
            v6,
            accounting: None,
            result: Verdict::Fail,
        };
        let (result, why) = judge(&line, self.opts.total() as usize, &m.problems);
        notes.extend(why);
        if fin.sessions_ended_by_lns() > 0 {
            notes.push(format!(
                "{} sessions ended by the LNS",
                fin.sessions_ended_by_lns()
            ));
        }
        Ok(DrillReport {
            line: DrillLine { result, ..line },
            notes,
        })
    }

    /// Ends every session cleanly ([`Rig::stop_lac`]), waits up to
    /// `timeout` for their Stops in FreeRADIUS's detail file, checks every
    /// record ([`acct_check`]) and puts the figures on the report's line
    /// (a fail when a record is lost or a Start or Stop doubled).
    pub fn check_accounting(&mut self, report: &mut DrillReport, timeout: Duration) {
        let mut users = self
            .status()
            .map(|s| acct_check::users_up(&s, USERS))
            .unwrap_or_default();
        if let Some(s) = self.storm_status() {
            users.extend(acct_check::users_up(&s, STORM_USERS));
        }
        self.stop_lac(Duration::from_secs(20));
        let detail = self.bed.dir().join("radius/acct/detail");
        let records = acct_check::wait_for_stops(&detail, &users, timeout);
        let c = acct_check::check(&records, &users);
        report.notes.push(format!(
            "accounting: {} sessions, {} records, {} Accounting-On, {} duplicated Interims (allowed), {} Starts/Stops retransmitted as the same record (allowed)",
            c.sessions,
            records.len(),
            c.accounting_on,
            c.dup_interim,
            c.resent
        ));
        report.line.accounting = Some(AcctFigures {
            lost: c.lost,
            dup_start: c.dup_start,
            dup_stop: c.dup_stop,
        });
        if !c.passed() {
            report.line.result = Verdict::Fail;
            let shown = 20;
            for p in c.problems.iter().take(shown) {
                report.notes.push(format!("FAIL: accounting: {p}"));
            }
            if c.problems.len() > shown {
                report.notes.push(format!(
                    "FAIL: accounting: {} more problems",
                    c.problems.len() - shown
                ));
            }
        }
    }

    /// The IPv6 check (see [`super::v6_check`]): waits, up to two refresh
    /// intervals and a bit, for every session to show its /64, leases and
    /// IPv6 echoes again since `settled_ms`, then checks the active node's
    /// TUN routes. Notes say what was lost, a few sessions by name.
    fn check_v6(&self, base: &V6Baseline, settled_ms: u64, notes: &mut Vec<String>) -> V6Figures {
        let deadline = Instant::now() + self.opts.v6_refresh * 2 + Duration::from_secs(3);
        let mut losses = loop {
            let losses = match self.status() {
                Ok(s) => base.losses(&s, settled_ms),
                Err(_) => base.leases.keys().map(|i| (*i, V6Loss::NoState)).collect(),
            };
            if losses.is_empty() || Instant::now() >= deadline {
                break losses;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        match self.bed.active() {
            Some(active) => match self.bed.tun_routes6(active) {
                Ok(routes) => {
                    for i in uncovered(&routes, &base.leases) {
                        losses.entry(i).or_insert(V6Loss::NoRoute);
                    }
                }
                Err(e) => {
                    notes.push(format!("IPv6 routes of {}: {e:#}", active.role()));
                    for i in base.leases.keys() {
                        losses.entry(*i).or_insert(V6Loss::NoRoute);
                    }
                }
            },
            None => notes.push("IPv6 routes not checked: no single active node".into()),
        }
        let figures = base.figures(losses.len());
        notes.push(format!(
            "IPv6: {} sessions with /64, IA_NA and IA_PD before the fault, {} without; {} lost since",
            base.leases.len(),
            base.missing.len(),
            losses.len()
        ));
        for (i, why) in losses.iter().take(5) {
            let lease = base.leases.get(i);
            notes.push(format!("IPv6 session {i} ({lease:?}): {why}"));
        }
        if let Some(i) = base.missing.first() {
            notes.push(format!(
                "IPv6: session {i} had no complete IPv6 lease before the fault"
            ));
        }
        figures
    }

    /// Stops lac-sim cleanly (CDN, StopCCN), up to `timeout`; returns its summary line.
    pub fn stop_lac(&mut self, timeout: Duration) -> Option<String> {
        for p in self.storm.iter_mut().chain(std::iter::once(&mut self.lac)) {
            if p.running() {
                let _ = p.signal(Signal::Term);
            }
        }
        for p in self.storm.iter_mut().chain(std::iter::once(&mut self.lac)) {
            let _ = p.wait_exit(timeout);
        }
        self.lac
            .log()
            .lines()
            .find(|l| l.starts_with("lac-sim tunnels="))
            .map(str::to_string)
    }

    /// lac-sim's output.
    pub fn lac_log(&self) -> String {
        self.lac.log()
    }

    fn inject(&mut self, name: DrillName, active: Member, m: &mut Measure) -> Result<()> {
        let standby = active.peer().context("the active node is an lns member")?;
        match name {
            DrillName::KillActive => {
                let t = now_ms();
                self.bed.kill(active)?;
                self.settle(Some(active), t, m);
            }
            DrillName::FreezeActive => self.freeze(active, m)?,
            DrillName::PartitionActive => {
                let t = now_ms();
                self.bed.partition(active)?;
                self.settle(Some(active), t, m);
                self.bed.heal(active)?;
                m.notes.push(format!("{} healed", active.role()));
            }
            DrillName::KillStandby => {
                let t = now_ms();
                self.bed.kill(standby)?;
                self.settle(None, t, m);
                self.expect_active(active, m);
            }
            DrillName::RestartRejoin => self.restart_rejoin(active, standby, m)?,
            DrillName::Transfer => {
                let t = now_ms();
                self.bed.signal(active, Signal::Usr1)?;
                self.settle(Some(active), t, m);
            }
            DrillName::Storm => self.storm(active, m)?,
            DrillName::Double => {
                let t = now_ms();
                self.bed.kill(active)?;
                let second = self
                    .settle(Some(active), t, m)
                    .context("no new active after the first kill")?;
                self.bed.restart(active, Restart::ProcessOnly)?;
                self.rejoin(active)?;
                m.notes.push(format!(
                    "{} restarted and rejoined; killing {}",
                    active.role(),
                    second.role()
                ));
                let t = now_ms();
                self.bed.kill(second)?;
                self.settle(Some(second), t, m);
            }
        }
        Ok(())
    }

    /// SIGSTOP past the election timeout, SIGCONT, then the old node must
    /// stay silent and never take the address back.
    fn freeze(&mut self, active: Member, m: &mut Measure) -> Result<()> {
        let t = now_ms();
        self.bed.stop(active)?;
        let frozen = Instant::now();
        let successor = self.bed.wait_active(Some(active), self.opts.settle_timeout);
        if let Err(e) = &successor {
            m.problems.push(format!(
                "no other node became active while {} was frozen: {e:#}",
                active.role()
            ));
        }
        // Frozen for at least 2 s: well past the election timeout (<= 600 ms by default).
        if let Some(rest) = Duration::from_secs(2).checked_sub(frozen.elapsed()) {
            std::thread::sleep(rest);
        }
        let sent_before = self.bed.sent_1701(active)?;
        self.bed.cont(active)?;
        m.notes.push(format!(
            "{} frozen {} ms, then SIGCONT",
            active.role(),
            frozen.elapsed().as_millis()
        ));
        self.settle(Some(active), t, m);
        self.observe(Duration::from_secs(2), m);
        let sent_after = self.bed.sent_1701(active)?;
        let (control, data) = (
            sent_after.control - sent_before.control,
            sent_after.data - sent_before.data,
        );
        if control + data > 0 {
            m.problems.push(format!(
                "{} sent {control} L2TP control and {data} L2TP data datagrams after SIGCONT",
                active.role()
            ));
        }
        if self.bed.live_holders().contains(&active) {
            m.problems
                .push(format!("{} took the tunnel address back", active.role()));
        }
        Ok(())
    }

    /// New sessions dialling while the active node is killed.
    fn storm(&mut self, active: Member, m: &mut Measure) -> Result<()> {
        let per = self
            .opts
            .storm_sessions
            .div_ceil(self.opts.storm_tunnels.max(1));
        let mut cmd = lac_sim(
            &self.opts,
            self.opts.storm_tunnels.max(1),
            per,
            STORM_USERS,
            &self.storm_path,
        );
        cmd.args(["--traffic-pps", "0"]);
        self.storm = Some(self.bed.topo.spawn_in("lac", "storm", &mut cmd)?);
        // Let the storm get going: some sessions dialled, not all up.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self
                .storm_status()
                .is_some_and(|s| s.sessions().any(|x| x.session != 0))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let t = now_ms();
        self.bed.kill(active)?;
        self.settle(Some(active), t, m);
        if let Some(p) = self.storm.as_mut() {
            if let Err(e) = p.wait_for_log("lac-sim: setup done", Duration::from_secs(90)) {
                m.problems
                    .push(format!("storm setup never finished: {e:#}"));
            }
        }
        // The status file lags the log line by up to two periods.
        std::thread::sleep(Duration::from_millis(500));
        let s = self.storm_status().context("no storm status")?;
        let total = s.sessions().count();
        m.notes.push(format!(
            "storm: {} of {total} new sessions up, {} ended by the LNS, {} still dialling",
            s.sessions_up(),
            s.sessions_ended_by_lns(),
            s.sessions_dialing()
        ));
        if s.sessions_dialing() > 0 {
            m.problems.push(format!(
                "{} storm sessions left hanging",
                s.sessions_dialing()
            ));
        }
        Ok(())
    }

    /// After a restart: the cluster port is open again, then `rejoin_wait`.
    fn rejoin(&self, member: Member) -> Result<()> {
        self.bed
            .wait_cluster_port(member, Duration::from_secs(20))?;
        std::thread::sleep(self.opts.rejoin_wait);
        Ok(())
    }

    /// Waits until one node other than `not` holds the address and every
    /// session carries traffic again (an echo after `fault_ms`); returns the
    /// active node. Gives up after the settle timeout with a note.
    fn settle(&self, not: Option<Member>, fault_ms: u64, m: &mut Measure) -> Option<Member> {
        let deadline = Instant::now() + self.opts.settle_timeout;
        loop {
            self.track_duplicates(m);
            let holders = self.bed.live_holders();
            let status = self.status().ok();
            let carrying = status
                .as_ref()
                .map_or(0, |s| s.carrying_since(fault_ms).len());
            let active = match holders[..] {
                [h] if Some(h) != not => Some(h),
                _ => None,
            };
            if active.is_some() && carrying >= m.expected {
                m.notes.push(format!(
                    "settled {} ms after the fault, active {}",
                    now_ms().saturating_sub(fault_ms),
                    active.map_or("-", |a| a.role())
                ));
                return active;
            }
            if Instant::now() >= deadline {
                let names: Vec<&str> = holders.iter().map(|h| h.role()).collect();
                m.problems.push(format!(
                    "not settled after {:?}: holders [{}], {carrying} of {} sessions carrying",
                    self.opts.settle_timeout,
                    names.join(","),
                    m.expected
                ));
                return active;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn observe(&self, how_long: Duration, m: &mut Measure) {
        let until = Instant::now() + how_long;
        while Instant::now() < until {
            self.track_duplicates(m);
            std::thread::sleep(Duration::from_millis(100));
        }
        self.track_duplicates(m);
    }

    fn expect_active(&self, expected: Member, m: &mut Measure) {
        let holders = self.bed.live_holders();
        if holders != [expected] {
            m.problems.push(format!(
                "the active node changed: expected [{}], holders {holders:?}",
                expected.role()
            ));
        }
    }

    /// Addresses held by two live sessions (both LACs together), worst so far.
    fn track_duplicates(&self, m: &mut Measure) {
        let mut all: Vec<Ipv4Addr> = Vec::new();
        if let Ok(s) = self.status() {
            all.extend(s.live_addresses());
        }
        if let Some(s) = self.storm_status() {
            all.extend(s.live_addresses());
        }
        m.duplicates = m.duplicates.max(duplicate_addresses(all));
    }

    fn storm_status(&self) -> Option<Status> {
        self.storm.as_ref()?;
        Status::read(&self.storm_path).ok()
    }
}

/// What a drill accumulates while it runs.
#[derive(Debug, Default)]
struct Measure {
    /// Sessions that carried traffic before the fault.
    expected: usize,
    duplicates: usize,
    notes: Vec<String>,
    problems: Vec<String>,
    /// When a drill's planned transfer began (the tunnel address may move
    /// from then on).
    transfer_at: Option<Instant>,
}

/// The verdict of `line` for `expected` dialled sessions, with the
/// drill-specific `problems`; the reasons of a fail.
pub fn judge(line: &DrillLine, expected: usize, problems: &[String]) -> (Verdict, Vec<String>) {
    let mut why: Vec<String> = problems.iter().map(|p| format!("FAIL: {p}")).collect();
    if line.sessions_before < expected {
        why.push(format!(
            "FAIL: only {} of {expected} sessions carried traffic before the fault",
            line.sessions_before
        ));
    }
    if line.sessions_after < line.sessions_before {
        why.push(format!(
            "FAIL: {} sessions lost",
            line.sessions_before - line.sessions_after
        ));
    }
    if line.tunnels_torn_down > 0 {
        why.push(format!(
            "FAIL: {} tunnels torn down",
            line.tunnels_torn_down
        ));
    }
    if line.duplicate_addresses > 0 {
        why.push(format!(
            "FAIL: {} duplicate addresses",
            line.duplicate_addresses
        ));
    }
    let target = line.drill.data_gap_target_ms();
    if line.data_gap_ms >= target {
        why.push(format!(
            "FAIL: data gap {} ms, target under {target} ms",
            line.data_gap_ms
        ));
    }
    if let Some(v6) = line.v6.filter(|v| v.lost > 0) {
        why.push(format!(
            "FAIL: {} sessions lost their IPv6 prefixes, leases, routes or traffic",
            v6.lost
        ));
    }
    let verdict = if why.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    (verdict, why)
}

/// lac-sim holding `tunnels` x `per_tunnel` sessions of `users` until
/// signalled, with a fast HELLO and its status file.
fn lac_sim(
    opts: &RigOptions,
    tunnels: u32,
    per_tunnel: u32,
    users: &str,
    status: &std::path::Path,
) -> Command {
    let mut cmd = Command::new(&opts.lac_sim_bin);
    cmd.args(["--lns", &format!("{TUNNEL_ADDR}:1701")])
        .args(["--local", &LAC_ADDR.to_string()])
        .args(["--tunnels", &tunnels.to_string()])
        .args(["--sessions-per-tunnel", &per_tunnel.to_string()])
        .args(["--auth", "chap"])
        .args(["--user-template", users])
        .args(["--password", PASSWORD])
        .args(["--reflector", &format!("{CORE_ADDR}:{REFLECTOR_PORT}")])
        .args(["--setup-timeout", "120"])
        // The control channel stays busy, so an outage shows as a late ack;
        // 250 ms first retransmission for resolution, 8 tries (~30 s budget).
        .args(["--hello-interval-ms", "200"])
        .args(["--retransmit-initial-ms", "250"])
        .args(["--max-retransmits", "8"])
        .arg("--status-file")
        .arg(status)
        .args(["--status-interval-ms", "100"]);
    cmd
}

fn now_ms() -> u64 {
    wall_clock().unix_micros() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(before: usize, after: usize, gap: u64) -> DrillLine {
        DrillLine {
            drill: DrillName::Transfer,
            sessions_before: before,
            sessions_after: after,
            tunnels_torn_down: 0,
            duplicate_addresses: 0,
            data_gap_ms: gap,
            control_gap_ms: 300,
            v6: None,
            accounting: None,
            result: Verdict::Fail,
        }
    }

    #[test]
    fn a_clean_drill_passes_and_every_broken_invariant_fails_it() {
        assert_eq!(judge(&line(200, 200, 40), 200, &[]).0, Verdict::Pass);
        let (v, why) = judge(&line(200, 0, 40), 200, &[]);
        assert_eq!(v, Verdict::Fail);
        assert_eq!(why, ["FAIL: 200 sessions lost"]);
        // Transfer's target is 100 ms.
        assert_eq!(judge(&line(200, 200, 100), 200, &[]).0, Verdict::Fail);
        assert_eq!(judge(&line(150, 150, 40), 200, &[]).0, Verdict::Fail);
        let mut torn = line(200, 200, 40);
        torn.tunnels_torn_down = 1;
        torn.duplicate_addresses = 2;
        assert_eq!(judge(&torn, 200, &[]).1.len(), 2);
        let (v, why) = judge(&line(200, 200, 40), 200, &["lns-a sent 3 datagrams".into()]);
        assert_eq!(v, Verdict::Fail);
        assert_eq!(why, ["FAIL: lns-a sent 3 datagrams"]);
        let mut v6 = line(200, 200, 40);
        v6.v6 = Some(V6Figures {
            sessions: 200,
            lost: 0,
        });
        assert_eq!(judge(&v6, 200, &[]).0, Verdict::Pass);
        v6.v6 = Some(V6Figures {
            sessions: 199,
            lost: 1,
        });
        let (v, why) = judge(&v6, 200, &[]);
        assert_eq!(v, Verdict::Fail);
        assert_eq!(
            why,
            ["FAIL: 1 sessions lost their IPv6 prefixes, leases, routes or traffic"]
        );
    }

    #[test]
    fn sessions_round_up_to_whole_tunnels_and_the_window_follows_the_probes() {
        let mut o = RigOptions::new("l".into(), "s".into(), "r".into());
        o.sessions = 201;
        o.tunnels = 20;
        assert_eq!(o.total(), 220);
        o.pps = 5.0;
        assert_eq!(o.window_ms(), 1000);
        o.pps = 1.0;
        assert_eq!(o.window_ms(), 3000);
    }
}
