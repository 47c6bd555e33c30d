//! # Running lnsd: start every task, forward signals, stop cleanly
//!
//! Contract: [`run`] starts the AAA task, the data plane and the control
//! task from a validated config, turns SIGTERM/SIGINT into a clean shutdown
//! (CDN + StopCCN, bounded grace period) and SIGHUP into a reload of what
//! can change live (LAC table and secrets, pools, users file, RADIUS
//! servers), logging the settings that need a restart. It returns when the
//! control task has finished; the data plane is stopped last, so the final
//! StopCCNs and their acknowledgements still flow.
//!
//! Operations endpoint: with an `[http]` section, `/metrics`, `/healthz`
//! and `/readyz` are served from the start (readiness `starting`, 503);
//! the node turns `active` (200) once the data plane is up (single node:
//! no cluster yet) and `stopping` (503) when shutdown begins. The metrics
//! exist even without `[http]` (the tasks always count), they are just not
//! served.

use crate::config::Config;
use crate::control::{self, Channels, ControlSignal, ControlTraffic, Exit, Observer, Reload};
use crate::dataplane::{DataPlane, StatsReader};
use crate::engine::Engine;
use crate::http::{DataPlaneState, HttpServer, Readiness, ServingRole};
use crate::metrics::{DataPlaneSnapshot, Metrics, NodeRole, TrafficCounters};
use crate::mgmt::daemon_backend::{start_server, DaemonBackend, NodeIdentity};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// How long shutdown waits for the LACs to acknowledge our StopCCNs.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until SIGTERM/SIGINT and a clean shutdown.
pub async fn run(config_path: PathBuf, config: Config) -> anyhow::Result<()> {
    let (signals_tx, signals_rx) = mpsc::channel(16);
    let watcher = tokio::spawn(watch_signals(config_path, config.clone(), signals_tx));
    let exit = run_with(config, signals_rx).await;
    watcher.abort();
    let exit = exit?;
    tracing::info!(?exit, "lnsd stopped");
    Ok(())
}

/// Runs the tasks with signals coming from `signals` (tests send them).
pub async fn run_with(
    config: Config,
    signals: mpsc::Receiver<ControlSignal>,
) -> anyhow::Result<Exit> {
    let metrics = Arc::new(Metrics::for_this_build()?);
    let readiness = Readiness::new();
    let (http_stop, http_task) = match &config.http {
        Some(h) => {
            let server =
                HttpServer::bind(h.listen, Arc::clone(&metrics), readiness.clone()).await?;
            tracing::info!(address = %h.listen, "serving /metrics, /healthz, /readyz");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(server.run(async {
                let _ = stopped.await;
            }));
            (Some(stop), Some(task))
        }
        None => (None, None),
    };
    let aaa_settings = config.aaa_settings()?;
    let (answers_tx, answers_rx) = mpsc::channel(config.limits.control_queue);
    let (to_aaa, aaa_task) = crate::aaa::spawn_observed(
        aaa_settings,
        answers_tx,
        config.limits.control_queue,
        Some(Arc::clone(&metrics)),
    );
    let (plane_tx, plane_rx) = mpsc::channel(config.limits.control_queue);
    let plane = DataPlane::start(config.data_plane_config(), plane_tx)
        .map_err(|e| anyhow::anyhow!("data plane: {e}"))?;
    let traffic = Arc::new(ControlTraffic::default());
    let captures = Arc::clone(plane.captures());
    let reader = plane.stats_reader();
    let control_traffic = Arc::clone(&traffic);
    metrics.register_data_plane(move || snapshot(&reader, &control_traffic))?;
    // A single node serves as soon as its data plane is up.
    readiness.set_data_plane(DataPlaneState::Up);
    readiness.set_role(ServingRole::Active);
    metrics.observe_node_role(NodeRole::Active);
    for l in &config.listen {
        tracing::info!(address = %l.address, "listening for L2TP");
        if l.host_name
            .as_ref()
            .is_some_and(|h| *h != config.node.host_name)
        {
            // The L2TP core announces one Host Name for every address.
            tracing::warn!(address = %l.address, "listen host_name is not applied yet: node.host_name is announced on every address");
        }
    }
    let engine = Engine::new(config.engine_config());
    let (control_tx, control_rx) = stopping_on_shutdown(signals, readiness.clone());
    let backend = DaemonBackend::new(
        &control_tx,
        captures,
        Arc::clone(&metrics),
        node_identity(&config),
    );
    drop(control_tx);
    let mgmt = start_server(&config.mgmt, backend)?;
    let channels = Channels {
        from_plane: plane_rx,
        to_aaa,
        from_aaa: answers_rx,
        signals: control_rx,
    };
    let plane = PlaneOwner(Some(plane));
    let observer = Observer::new(Arc::clone(&metrics), traffic);
    let stopping = StopOnShutdown(readiness.clone());
    let exit = control::run_observed(engine, plane, channels, SHUTDOWN_GRACE, observer).await;
    drop(stopping);
    readiness.set_data_plane(DataPlaneState::Down);
    mgmt.stop().await;
    aaa_task.abort();
    if let (Some(stop), Some(task)) = (http_stop, http_task) {
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(exit?)
}

/// Passes signals on to the control task, marking the node `stopping` as
/// soon as a shutdown is asked (the grace period can last seconds).
/// Also returns a sender for the management API's questions (keep only a
/// weak one: the channel closes when `signals` does).
fn stopping_on_shutdown(
    mut signals: mpsc::Receiver<ControlSignal>,
    readiness: Readiness,
) -> (mpsc::Sender<ControlSignal>, mpsc::Receiver<ControlSignal>) {
    let (tx, rx) = mpsc::channel(16);
    let questions = tx.clone();
    tokio::spawn(async move {
        while let Some(s) = signals.recv().await {
            if matches!(s, ControlSignal::Shutdown) {
                readiness.set_role(ServingRole::Stopping);
            }
            if tx.send(s).await.is_err() {
                return;
            }
        }
    });
    (questions, rx)
}

/// Who this node is, for `lnsctl status` and `lnsctl pools`.
fn node_identity(config: &Config) -> NodeIdentity {
    NodeIdentity {
        name: config.node.host_name.clone(),
        tunnel_addresses: config
            .listen
            .iter()
            .map(|l| l.address.to_string())
            .collect(),
        pool_ranges: config
            .pools
            .iter()
            .map(|p| {
                let ranges: Vec<String> = p
                    .ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.start, r.end))
                    .collect();
                (p.name.clone(), ranges.join(","))
            })
            .collect(),
    }
}

/// Marks the node `stopping` when the control task ends for any reason.
struct StopOnShutdown(Readiness);

impl Drop for StopOnShutdown {
    fn drop(&mut self) {
        self.0.set_role(ServingRole::Stopping);
    }
}

/// The data plane's counters for the collector: L2TP traffic split into
/// control (what went through the control task) and data (the rest). After
/// shutdown the last values cannot be read; zeros are reported (a counter
/// reset, as for a restarted data plane).
fn snapshot(reader: &StatsReader, control: &ControlTraffic) -> DataPlaneSnapshot {
    let Some((t, drops)) = reader.read() else {
        return DataPlaneSnapshot::default();
    };
    let c = control.totals();
    let pair = |(packets, bytes): (u64, u64)| TrafficCounters { packets, bytes };
    DataPlaneSnapshot {
        l2tp_rx_control: pair(c.rx),
        l2tp_rx_data: pair((
            t.l2tp_rx_packets.saturating_sub(c.rx.0),
            t.l2tp_rx_bytes.saturating_sub(c.rx.1),
        )),
        l2tp_tx_control: pair(c.tx),
        l2tp_tx_data: pair((
            t.l2tp_tx_packets.saturating_sub(c.tx.0),
            t.l2tp_tx_bytes.saturating_sub(c.tx.1),
        )),
        tun_rx: pair((t.tun_rx_packets, t.tun_rx_bytes)),
        tun_tx: pair((t.tun_tx_packets, t.tun_tx_bytes)),
        drops,
    }
}

/// Owns the data plane for the control task and shuts it down on drop.
#[derive(Debug)]
struct PlaneOwner(Option<DataPlane>);

impl Drop for PlaneOwner {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.shutdown();
        }
    }
}

impl control::Plane for PlaneOwner {
    fn upsert_session(&self, entry: crate::dataplane::SessionEntry) {
        if let Some(p) = &self.0 {
            p.upsert_session(entry);
        }
    }
    fn remove_session(&self, tunnel_id: u16, session_id: u16) {
        if let Some(p) = &self.0 {
            p.remove_session(tunnel_id, session_id);
        }
    }
    fn send_control(
        &self,
        local: std::net::SocketAddr,
        peer: std::net::SocketAddr,
        datagram: &[u8],
    ) {
        if let Some(p) = &self.0 {
            p.send_control(local, peer, datagram);
        }
    }
    fn send_ppp(&self, tunnel_id: u16, session_id: u16, frame: &[u8]) {
        if let Some(p) = &self.0 {
            p.send_ppp(tunnel_id, session_id, frame);
        }
    }
    fn session_stats(
        &self,
        tunnel_id: u16,
        session_id: u16,
    ) -> Option<crate::dataplane::SessionStats> {
        self.0.as_ref()?.session_stats(tunnel_id, session_id)
    }
    fn add_routes(&self, routes: &[(std::net::IpAddr, u8)]) -> Result<(), String> {
        match &self.0 {
            Some(p) => p.add_routes(routes).map_err(|e| e.to_string()),
            None => Err("data plane stopped".into()),
        }
    }
    fn captures(&self) -> Option<&crate::mgmt::taps::CaptureTaps> {
        self.0.as_ref().map(|p| &**p.captures())
    }
}

async fn watch_signals(path: PathBuf, mut current: Config, tx: mpsc::Sender<ControlSignal>) {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {
                tracing::info!("SIGTERM");
                let _ = tx.send(ControlSignal::Shutdown).await;
            }
            _ = int.recv() => {
                tracing::info!("SIGINT");
                let _ = tx.send(ControlSignal::Shutdown).await;
            }
            _ = hup.recv() => {
                tracing::info!(path = %path.display(), "SIGHUP: reloading");
                match reload(&path, &current) {
                    Ok((config, r)) => {
                        current = config;
                        let _ = tx.send(ControlSignal::Reload(Box::new(r))).await;
                    }
                    Err(e) => tracing::error!("reload refused, keeping the running configuration: {e:#}"),
                }
            }
        }
    }
}

/// Reads the file again; returns the new config and what to apply live.
pub fn reload(path: &Path, current: &Config) -> anyhow::Result<(Config, Reload)> {
    let config = Config::load(path)?;
    for section in config.restart_needed(current) {
        tracing::warn!(
            section,
            "changed in the file but needs a restart to take effect"
        );
    }
    let r = Reload {
        peers: config.peer_table(),
        pools: config.pool_specs(),
        aaa: config.aaa_settings()?,
        routes: config.new_routes(current),
    };
    Ok((config, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[node]
host_name = "lns1"
[[listen]]
address = "192.0.2.2:1701"
[ppp]
ipcp_local = "100.64.255.254"
[[pools]]
name = "p"
ranges = [{ start = "100.64.0.0", end = "100.64.0.255" }]
[aaa]
users_file = "users"
default_pool = "p"
"#;

    #[test]
    fn reload_carries_the_routes_of_new_pool_ranges_only() {
        let dir = std::env::temp_dir().join(format!("lnsd-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        std::fs::write(dir.join("users"), "alice wonderland\n").expect("users");
        let path = dir.join("lnsd.toml");
        std::fs::write(&path, BASE).expect("config");
        let current = Config::load(&path).expect("valid");
        let (_, same) = reload(&path, &current).expect("reloads");
        assert_eq!(same.routes, Vec::new(), "nothing new to route");
        let grown = format!(
            "{BASE}[[pools]]\nname = \"q\"\nranges = [{{ start = \"100.65.0.0\", end = \"100.65.0.15\" }}]\n"
        );
        std::fs::write(&path, grown).expect("config");
        let (_, r) = reload(&path, &current).expect("reloads");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(
            r.routes,
            vec![(std::net::IpAddr::from([100, 65, 0, 0]), 28)]
        );
    }
}
