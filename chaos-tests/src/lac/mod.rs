//! lac-sim: a test LAC built from `lns-proto`'s LAC and subscriber sides.
//!
//! Contract: [`run`] dials `tunnels` x `sessions_per_tunnel` sessions at
//! the LNS, one task and one UDP socket per tunnel on one tokio runtime,
//! brings every PPP link to IPCP (and IPV6CP) opened, sends UDP probes
//! through each session to a reflector during the hold, then tears every
//! session and tunnel down (CDN, then StopCCN) and returns the
//! [`Report`]. The stages advance together for all tunnels:
//!
//! ```text
//! Setup --(all sessions up/failed, or setup timeout)--> Traffic
//! Traffic --(hold elapsed, or shutdown)--> Drain --(drain time)--> Teardown
//! ```
//!
//! A shutdown during setup skips straight to teardown.

pub mod config;
pub mod ipv6;
pub mod observe;
pub mod probe;
pub mod report;
pub mod status;
mod tunnel;

pub use config::{user_name, AuthChoice, ControlTimers, Hold, LacConfig, StatusOutput};
pub use report::{Report, SessionReport, TunnelReport};
pub use status::Status;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use lns_proto::time::Timestamp;
use tokio::sync::{mpsc, watch};

/// Where the whole run stands (broadcast to every tunnel task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Dialling tunnels and sessions.
    Setup,
    /// Sessions held open, probes flowing.
    Traffic,
    /// Probes stopped, late replies still counted.
    Drain,
    /// CDN and StopCCN.
    Teardown,
}

/// Runs one lac-sim session set to completion. `shutdown` turning true
/// (SIGINT/SIGTERM in the binary) ends the hold early.
pub async fn run(config: LacConfig, mut shutdown: watch::Receiver<bool>) -> Result<Report> {
    config.validate()?;
    let cfg = Arc::new(config);
    let (stage_tx, stage_rx) = watch::channel(Stage::Setup);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut statuses = Vec::new();
    for t in 0..cfg.tunnels {
        let status_tx = cfg.status.as_ref().map(|_| {
            let (tx, rx) = watch::channel(status::TunnelStatus {
                index: t,
                tunnel: 0,
                up: false,
                lost: None,
                max_ack_ms: 0,
                sessions: Vec::new(),
            });
            statuses.push(rx);
            tx
        });
        tasks.push(tokio::spawn(tunnel::run_tunnel(
            cfg.clone(),
            t,
            stage_rx.clone(),
            done_tx.clone(),
            status_tx,
        )));
    }
    drop(done_tx);
    let writer = cfg.status.clone().map(|out| {
        let stage = stage_rx.clone();
        tokio::spawn(write_status(out, statuses, stage))
    });

    // Setup: until every tunnel says its sessions are resolved.
    let mut resolved = 0;
    let mut routes = Vec::new();
    let mut interrupted = *shutdown.borrow();
    let setup_deadline = tokio::time::sleep(cfg.setup_timeout + std::time::Duration::from_secs(5));
    tokio::pin!(setup_deadline);
    while resolved < cfg.tunnels && !interrupted {
        tokio::select! {
            r = done_rx.recv() => match r {
                Some(done) => {
                    resolved += 1;
                    routes.extend(done.routes);
                }
                None => break,
            },
            _ = &mut setup_deadline => break,
            _ = shutdown.changed() => interrupted = *shutdown.borrow(),
        }
    }
    let setup_elapsed = started.elapsed();
    if let Some(path) = &cfg.routes_file {
        write_routes(path, &routes)?;
    }
    eprintln!(
        "lac-sim: setup done tunnels_resolved={resolved}/{} after {:.3}s",
        cfg.tunnels,
        setup_elapsed.as_secs_f64()
    );

    // Hold with traffic.
    let traffic_started = Instant::now();
    if !interrupted {
        let _ = stage_tx.send(Stage::Traffic);
        let hold = async {
            match cfg.hold {
                Hold::For(d) => tokio::time::sleep(d).await,
                Hold::UntilSignal => std::future::pending::<()>().await,
            }
        };
        // One progress line per second of hold, for drivers that act during it.
        let progress = async {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.tick().await;
            for s in 1u64.. {
                tick.tick().await;
                eprintln!("lac-sim: holding {s}s");
            }
        };
        tokio::select! {
            _ = hold => {}
            _ = progress => {}
            _ = wait_true(&mut shutdown) => {}
        }
    }
    let traffic_elapsed = traffic_started.elapsed();
    let _ = stage_tx.send(Stage::Drain);
    if !interrupted {
        tokio::time::sleep(cfg.drain).await;
    }
    let _ = stage_tx.send(Stage::Teardown);

    let mut report = Report {
        tunnels: Vec::new(),
        setup_elapsed,
        traffic_elapsed: if interrupted {
            std::time::Duration::ZERO
        } else {
            traffic_elapsed
        },
    };
    for t in tasks {
        report
            .tunnels
            .push(t.await.context("tunnel task panicked")??);
    }
    if let Some(w) = writer {
        w.abort();
    }
    Ok(report)
}

/// What a tunnel task reports once its sessions are all up or failed.
#[derive(Debug)]
pub struct SetupDone {
    /// The tunnel's index.
    pub index: u32,
    /// Its established sessions.
    pub routes: Vec<crate::load::Route>,
}

/// Writes `routes` to `path` whole (a temporary file renamed over it), so
/// a reader never sees half a file.
fn write_routes(path: &std::path::Path, routes: &[crate::load::Route]) -> Result<()> {
    let mut text = String::new();
    for r in routes {
        text.push_str(&r.line());
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
}

/// Rewrites the status file every `out.every` until aborted.
async fn write_status(
    out: StatusOutput,
    tunnels: Vec<watch::Receiver<status::TunnelStatus>>,
    stage: watch::Receiver<Stage>,
) {
    let mut tick = tokio::time::interval(out.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let status = Status {
            unix_ms: wall_clock().unix_micros() / 1000,
            stage: format!("{:?}", *stage.borrow()).to_lowercase(),
            tunnels: tunnels.iter().map(|rx| rx.borrow().clone()).collect(),
        };
        if let Err(e) = status.write(&out.path) {
            eprintln!("lac-sim: status file: {e:#}");
        }
    }
}

/// The wall clock as the protocol cores' time.
pub fn wall_clock() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

async fn wait_true(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            // The sender is gone: no signal can come any more.
            std::future::pending::<()>().await;
        }
    }
}
