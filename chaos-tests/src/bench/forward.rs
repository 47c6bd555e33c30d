//! The `forward` benchmark on one running bed: each LNS's forwarding
//! ceiling, upstream and downstream, for several packet sizes.
//!
//! Contract: [`run`] takes a bed that is up (namespaces `lac`, `lns`,
//! `core`, the LNS listening) and
//! 1. pins every thread of the LNS to CPU 0 (`taskset -a -p -c 0`); lac-sim
//!    and every `blast` run on CPU 1 (`taskset -c 1`). With
//!    [`Priority::Realtime`] the LNS's threads and `blast` also run
//!    SCHED_FIFO 10 (`chrt`), the same for both LNSs: on a machine shared
//!    with other work (builds), the LNS then gets its CPU whenever it has
//!    packets, and the figures measure it rather than the neighbours;
//! 2. installs nftables drops at the far ends, at prerouting priority raw
//!    (after the veth counted the packet): in `core`, UDP to the sink port;
//!    in `lac`, L2TP data messages (T bit 0) of 72 bytes or more from the
//!    LNS, so lac-sim, which holds the sessions, never has to read the
//!    flood (LCP echoes and control messages are smaller and still reach it);
//! 3. brings the sessions up with lac-sim (holding until SIGTERM,
//!    `--routes-file`);
//! 4. for each cell, steps the offered load ([`super::ceiling::Search`]):
//!    a `blast` run per step, and over its measured window the delivered
//!    rate (receive counter of the far end's veth: `to-lns` in `core`
//!    upstream, in `lac` downstream) and the LNS's CPU time (utime+stime of
//!    the process) per delivered packet; each step's line on stderr also
//!    says where packets were lost in the LNS's namespace over the window
//!    ([`super::sample::drops`]: TUN/veth transmit drops, UDP buffer
//!    errors, backlog drops);
//! 5. stops lac-sim (CDN + StopCCN) and returns the cells.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::ceiling::{Next, Search, Step, Stop};
use super::sample::{cpu_ticks, drops, rx_packets, ticks_per_second, Drops};
use crate::harness::{Proc, Signal, Topology};
use crate::load::routes::parse_all;

/// UDP port the upstream sink drops (discard).
pub const SINK_PORT: u16 = 9;

/// Which way packets go through the LNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// LAC -> core: L2TP in, TUN out.
    Up,
    /// core -> LAC: TUN in, L2TP out.
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// How the LNS and the load generator are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Default time sharing.
    Normal,
    /// SCHED_FIFO 10 for the LNS's threads and blast.
    Realtime,
}

/// The bed under test.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its namespaces.
    pub topo: &'a Topology,
    /// The LNS process.
    pub lns_pid: u32,
    /// The LNS's control address.
    pub lns: SocketAddr,
    /// A process living in `core` (its /proc/PID/net/dev is core's).
    pub core_pid: u32,
}

/// What to measure and with which tools.
#[derive(Debug, Clone)]
pub struct Options {
    /// lac-sim.
    pub lac_sim: PathBuf,
    /// blast.
    pub blast: PathBuf,
    /// The LAC's address.
    pub lac_addr: std::net::Ipv4Addr,
    /// The sink address upstream packets go to (in `core`).
    pub sink: std::net::Ipv4Addr,
    /// Tunnels and sessions per tunnel.
    pub tunnels: u32,
    /// Sessions per tunnel.
    pub sessions_per_tunnel: u32,
    /// lac-sim's user template and password.
    pub user_template: String,
    /// Password.
    pub password: String,
    /// Directions to measure.
    pub directions: Vec<Direction>,
    /// Inner IPv4 packet sizes.
    pub sizes: Vec<usize>,
    /// First offered rate (packets/s).
    pub start_rate: f64,
    /// Rate multiplier per step.
    pub growth: f64,
    /// Loss that ends a search (0.01: 1 %).
    pub max_loss: f64,
    /// Generator run before the window opens.
    pub warmup: Duration,
    /// Measured window per step.
    pub window: Duration,
    /// Scheduling of the LNS and blast.
    pub priority: Priority,
}

/// One measured cell.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Direction.
    pub direction: Direction,
    /// Inner packet size.
    pub size: usize,
    /// The throughput: the step that delivered the most within the loss
    /// threshold ([`Search::ceiling`]).
    pub ceiling: Option<Step>,
    /// The step that delivered the most, lossy or not ([`Search::peak`]).
    pub peak: Option<Step>,
    /// Why the search ended.
    pub stop: Stop,
    /// Every step.
    pub steps: Vec<Step>,
}

/// Runs every cell against `target` (see the module contract).
pub fn run(target: Target<'_>, opts: &Options) -> Result<Vec<Cell>> {
    pin_all_threads(target.lns_pid, 0)?;
    if opts.priority == Priority::Realtime {
        run_ok(Command::new("chrt").args(["-a", "-f", "-p", "10", &target.lns_pid.to_string()]))?;
    }
    install_drops(target.topo, opts)?;
    let routes_file = target.topo.dir().join("routes.txt");
    let mut sim = start_lac_sim(target, opts, &routes_file)?;
    sim.wait_for_log("lac-sim: setup done", Duration::from_secs(600))?;
    let routes = parse_all(&std::fs::read_to_string(&routes_file).context("read routes")?)?;
    if routes.is_empty() {
        bail!("no session came up:\n{}", sim.log());
    }
    eprintln!("forward: {} sessions up", routes.len());
    let lac_pid = sim.pid();
    let mut cells = Vec::new();
    for &direction in &opts.directions {
        for &size in &opts.sizes {
            let mut search = Search::new(opts.start_rate, opts.growth, opts.max_loss);
            let stop = loop {
                let (step, lost) = measure(
                    target,
                    lac_pid,
                    opts,
                    &routes_file,
                    direction,
                    size,
                    search.rate(),
                )?;
                eprintln!(
                    "forward {}-{size}: offered {:.0} sent {:.0} delivered {:.0} loss {:.2}% cpu {} us/pkt; lns namespace: {lost}",
                    direction.name(),
                    step.offered,
                    step.sent,
                    step.delivered,
                    step.loss() * 100.0,
                    step.cpu_us_per_packet
                        .map_or_else(|| "-".to_string(), |c| format!("{c:.2}"))
                );
                if let Next::Done(stop) = search.record(step) {
                    break stop;
                }
            };
            cells.push(Cell {
                direction,
                size,
                ceiling: search.ceiling(),
                peak: search.peak(),
                stop,
                steps: search.steps().to_vec(),
            });
        }
    }
    sim.signal(Signal::Term)?;
    if sim.wait_exit(Duration::from_secs(120)).is_err() {
        eprintln!("forward: lac-sim did not finish its teardown in 120 s");
    }
    Ok(cells)
}

/// One step: a blast run at `rate`, measured over the window, with the
/// losses counted in the LNS's namespace over that window.
fn measure(
    target: Target<'_>,
    lac_pid: u32,
    opts: &Options,
    routes_file: &std::path::Path,
    direction: Direction,
    size: usize,
    rate: f64,
) -> Result<(Step, Drops)> {
    let (role, counter_pid) = match direction {
        Direction::Up => ("lac", target.core_pid),
        Direction::Down => ("core", lac_pid),
    };
    let secs = (opts.warmup + opts.window).as_secs_f64() + 0.2;
    let mut cmd = match opts.priority {
        Priority::Normal => Command::new("taskset"),
        Priority::Realtime => {
            let mut c = Command::new("chrt");
            c.args(["-f", "10", "taskset"]);
            c
        }
    };
    cmd.args(["-c", "1"])
        .arg(&opts.blast)
        .arg(direction.name())
        .arg("--routes")
        .arg(routes_file)
        .args(["--size", &size.to_string()])
        .args(["--rate", &format!("{rate:.0}")])
        .args(["--secs", &format!("{secs:.3}")])
        .args(["--sink", &format!("{}:{SINK_PORT}", opts.sink)]);
    let mut blast = target.topo.spawn_in(role, "blast", &mut cmd)?;
    std::thread::sleep(opts.warmup);
    let (rx0, cpu0, drops0, t0) = (
        rx_packets(counter_pid, "to-lns")?,
        cpu_ticks(target.lns_pid)?,
        drops(target.lns_pid)?,
        Instant::now(),
    );
    std::thread::sleep(opts.window);
    let (rx1, cpu1, dt, drops1) = (
        rx_packets(counter_pid, "to-lns")?,
        cpu_ticks(target.lns_pid)?,
        t0.elapsed().as_secs_f64(),
        drops(target.lns_pid)?,
    );
    blast.wait_exit(Duration::from_secs(30))?;
    let sent = blast_rate(&blast.log()).with_context(|| format!("blast said:\n{}", blast.log()))?;
    let packets = rx1.saturating_sub(rx0);
    let cpu_secs = cpu1.saturating_sub(cpu0) as f64 / ticks_per_second() as f64;
    let step = Step {
        offered: rate,
        sent,
        delivered: packets as f64 / dt,
        cpu_us_per_packet: (packets > 0).then(|| cpu_secs * 1e6 / packets as f64),
    };
    Ok((step, drops1.since(&drops0)))
}

/// The `rate=` figure of blast's summary line.
pub fn blast_rate(output: &str) -> Option<f64> {
    output
        .lines()
        .rev()
        .find(|l| l.starts_with("blast "))?
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("rate="))?
        .parse()
        .ok()
}

fn start_lac_sim(
    target: Target<'_>,
    opts: &Options,
    routes_file: &std::path::Path,
) -> Result<Proc> {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "1"])
        .arg(&opts.lac_sim)
        .args(["--lns", &target.lns.to_string()])
        .args(["--local", &opts.lac_addr.to_string()])
        .args(["--tunnels", &opts.tunnels.to_string()])
        .args([
            "--sessions-per-tunnel",
            &opts.sessions_per_tunnel.to_string(),
        ])
        .args(["--auth", "pap", "--user-template", &opts.user_template])
        .args(["--password", &opts.password, "--traffic-pps", "0"])
        .args(["--setup-timeout", "120", "--routes-file"])
        .arg(routes_file);
    target.topo.spawn_in("lac", "lac-sim-forward", &mut cmd)
}

/// `taskset -a -p -c CPU PID`: every thread of `pid` on `cpu`.
pub fn pin_all_threads(pid: u32, cpu: u32) -> Result<()> {
    run_ok(Command::new("taskset").args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()]))
}

/// Runs `cmd` to completion; fails on a non-zero exit.
fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// The nftables drops of the module contract.
fn install_drops(topo: &Topology, opts: &Options) -> Result<()> {
    let lac = "table ip lnsbench {\n chain pre {\n  type filter hook prerouting priority raw;\n  \
               udp sport 1701 udp length >= 72 @th,64,1 0 drop\n }\n}\n"
        .to_string();
    let core = format!(
        "table ip lnsbench {{\n chain pre {{\n  type filter hook prerouting priority raw;\n  \
         ip daddr {} udp dport {SINK_PORT} drop\n }}\n}}\n",
        opts.sink
    );
    for (role, rules) in [("lac", lac), ("core", core)] {
        let path = topo.dir().join(format!("nft-{role}.conf"));
        std::fs::write(&path, rules).context("write nft rules")?;
        topo.run_in(role, Command::new("nft").arg("-f").arg(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blast_rate_is_read_from_its_last_summary() {
        let out = "warming up\nblast sent=1000 errors=0 secs=2.000 rate=500.0\n";
        assert_eq!(blast_rate(out), Some(500.0));
        assert_eq!(blast_rate("blast sent=1 errors=0\n"), None);
        assert_eq!(blast_rate(""), None);
    }
}
