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
use crate::control::{
    self, AccountingChannels, Channels, ControlSignal, ControlTraffic, Exit, Observer, Reload,
};
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

mod cluster;
mod sched;
mod takeover;

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
    // A cluster member killed while active left its tunnel addresses on
    // the interface: remove them first thing, before anything slower (a
    // restarted standby must not look like a second holder).
    if let Some(c) = config.cluster.as_ref().filter(|_| !config.is_witness()) {
        crate::vip::Vip::new(c.tunnel_addresses.clone()).release();
    }
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
    if config.is_witness() {
        let (control_tx, signals) = stopping_on_shutdown(signals, readiness.clone());
        // The witness serves the management API too (status, cluster
        // status, reads from its replicated table); it has no data plane.
        let backend = DaemonBackend::new(
            &control_tx,
            Arc::new(crate::mgmt::taps::CaptureTaps::new()),
            Arc::clone(&metrics),
            node_identity(&config),
        );
        drop(control_tx);
        let exit = cluster::run_witness(config, signals, readiness, metrics, backend).await;
        if let (Some(stop), Some(task)) = (http_stop, http_task) {
            let _ = stop.send(());
            let _ = task.await;
        }
        return exit;
    }
    let aaa_settings = config.aaa_settings()?;
    let (answers_tx, answers_rx) = mpsc::channel(config.limits.control_queue);
    let (to_aaa, aaa_task) = crate::aaa::spawn_observed(
        aaa_settings,
        answers_tx,
        config.limits.control_queue,
        Some(Arc::clone(&metrics)),
    );
    let (plane_tx, plane_rx) = mpsc::channel(config.limits.control_queue);
    let link_tx = plane_tx.clone();
    let plane = DataPlane::start(config.data_plane_config(), plane_tx)
        .map_err(|e| anyhow::anyhow!("data plane: {e}"))?;
    let traffic = Arc::new(ControlTraffic::default());
    let captures = Arc::clone(plane.captures());
    let reader = plane.stats_reader();
    let control_traffic = Arc::clone(&traffic);
    metrics.register_data_plane(move || snapshot(&reader, &control_traffic))?;
    readiness.set_data_plane(DataPlaneState::Up);
    if config.cluster.is_none() {
        // A single node serves as soon as its data plane is up.
        readiness.set_role(ServingRole::Active);
        metrics.observe_node_role(NodeRole::Active);
    }
    for l in &config.listen {
        let host_name = l.host_name.as_deref().unwrap_or(&config.node.host_name);
        tracing::info!(address = %l.address, host_name, "listening for L2TP");
    }
    if config.ipv6.is_some() {
        // RS and DHCPv6 (link-scope destinations) are the engine's to answer.
        let (tx, rx) = mpsc::channel(config.limits.control_queue);
        plane.divert_ipv6_link(Some(tx));
        tokio::spawn(forward_ipv6_link(rx, link_tx));
        tracing::info!("IPv6 service on: Router Advertisements, DHCPv6, prefix pools");
    } else {
        drop(link_tx);
    }
    let (accounting, side_tasks) = accounting_and_dae(&config, &metrics).await?;
    let (control_tx, control_rx) = stopping_on_shutdown(signals, readiness.clone());
    let backend = DaemonBackend::new(
        &control_tx,
        captures,
        Arc::clone(&metrics),
        node_identity(&config),
    );
    drop(control_tx);
    let channels = Channels {
        from_plane: plane_rx,
        to_aaa,
        from_aaa: answers_rx,
        signals: control_rx,
        accounting,
    };
    let plane = PlaneOwner(Some(plane));
    let observer = Observer::new(Arc::clone(&metrics), traffic);
    let stopping = StopOnShutdown(readiness.clone());
    let exit = if config.cluster.is_some() {
        // Issue 6: the engine lives in the Raft replica.
        cluster::run_lns(
            &config,
            plane,
            channels,
            observer,
            readiness.clone(),
            metrics,
            backend,
        )
        .await
    } else {
        let mgmt = start_server(&config.mgmt, backend)?;
        let engine = Engine::new(config.engine_config());
        let exit = control::run_observed(engine, plane, channels, SHUTDOWN_GRACE, observer)
            .await
            .map_err(anyhow::Error::from);
        mgmt.stop().await;
        exit
    };
    drop(stopping);
    readiness.set_data_plane(DataPlaneState::Down);
    aaa_task.abort();
    for t in side_tasks {
        t.abort();
    }
    if let (Some(stop), Some(task)) = (http_stop, http_task) {
        let _ = stop.send(());
        let _ = task.await;
    }
    exit
}

/// Starts the accounting task (when accounting servers are configured)
/// and the DAE server (with `[dae]`); returns the control task's ends of
/// their channels and the tasks to stop at exit.
async fn accounting_and_dae(
    config: &Config,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(AccountingChannels, Vec<tokio::task::JoinHandle<()>>)> {
    let mut channels = AccountingChannels::none();
    channels.counters_interval = config.counters_interval();
    let mut tasks = Vec::new();
    if let Some(settings) = config.accounting_settings() {
        let servers: Vec<String> = settings
            .client
            .acct_servers
            .iter()
            .map(|s| s.addr.to_string())
            .collect();
        tracing::info!(?servers, "RADIUS accounting on");
        let (acks_tx, acks_rx) = mpsc::channel(config.limits.control_queue);
        let (records, task) = crate::aaa::accounting::spawn(
            settings,
            acks_tx,
            config.limits.control_queue,
            Some(Arc::clone(metrics)),
        );
        channels.records = Some(records);
        channels.acks = acks_rx;
        tasks.push(task);
    }
    if let Some(settings) = config.dae_settings() {
        let (dae_tx, dae_rx) = mpsc::channel(64);
        tasks.extend(
            crate::dae::spawn(settings, dae_tx)
                .await
                .map_err(|e| anyhow::anyhow!("dae.listen: {e}"))?,
        );
        channels.dae = dae_rx;
    }
    Ok((channels, tasks))
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

/// Hands the subscribers' link-scope IPv6 packets (RS, DHCPv6) to the
/// control task as PPP frames of protocol 0x0057, the form the engine
/// takes them in; ends when the data plane drops its sink.
async fn forward_ipv6_link(
    mut rx: mpsc::Receiver<crate::dataplane::Ipv6LinkPacket>,
    tx: mpsc::Sender<crate::dataplane::ControlInput>,
) {
    while let Some(p) = rx.recv().await {
        let input = crate::dataplane::ControlInput::PppControl {
            tunnel_id: p.tunnel_id,
            session_id: p.session_id,
            frame: crate::engine::ipv6::ppp_ipv6_frame(&p.packet),
        };
        if tx.try_send(input).is_err() {
            tracing::debug!("control queue full: link-scope IPv6 packet dropped");
        }
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
    fn fence(&self, fence: Arc<lns_cluster::LeaseFence>) {
        if let Some(p) = &self.0 {
            p.fence(fence);
        }
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

    #[tokio::test]
    async fn link_scope_ipv6_reaches_the_control_task_as_ppp_0x0057() {
        let (tx, rx) = mpsc::channel(4);
        let (ctl_tx, mut ctl_rx) = mpsc::channel(4);
        let forwarder = tokio::spawn(forward_ipv6_link(rx, ctl_tx));
        let packet = vec![0x60, 0, 0, 0, 0, 0, 0x3a, 0xff];
        tx.send(crate::dataplane::Ipv6LinkPacket {
            tunnel_id: 3,
            session_id: 4,
            packet: packet.clone(),
        })
        .await
        .expect("forwarder alive");
        let got = ctl_rx.recv().await.expect("forwarded");
        let mut frame = vec![0xff, 0x03, 0x00, 0x57];
        frame.extend_from_slice(&packet);
        assert_eq!(
            got,
            crate::dataplane::ControlInput::PppControl {
                tunnel_id: 3,
                session_id: 4,
                frame
            }
        );
        // The data plane dropping its sink ends the forwarder.
        drop(tx);
        forwarder.await.expect("ends cleanly");
    }

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
