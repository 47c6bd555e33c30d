//! The [`DataPlane`] handle: starts the workers, publishes the session
//! table, carries the control task's own traffic, reads the counters.
//!
//! Contract (see the module doc of `dataplane` for the whole picture):
//!
//! - Each listen address gets `workers` SO_REUSEPORT sockets, each read by
//!   its own upstream thread: the kernel hashes the sender's address and
//!   port, so one LAC tunnel always lands on the same thread (no
//!   reordering) while different LACs spread. `workers` downstream threads
//!   each read their own queue of the multi-queue TUN device.
//! - Workers are std threads doing blocking IO, not tokio tasks: recvmmsg,
//!   TUN reads and writes are plain system calls that would block a tokio
//!   worker anyway (tokio's UDP has no recvmmsg/sendmmsg), a thread per
//!   socket (or more, sharing it) keeps each packet on one core with no
//!   wakeup hand-off, and the control task stays a normal tokio task talking
//!   through a bounded `tokio::sync::mpsc` channel (`try_send` works from any
//!   thread and never blocks). Sockets and the TUN poll with a 100 ms timeout,
//!   so [`DataPlane::shutdown`] joins every thread in bounded time.
//! - The session table is an immutable [`SessionTable`] snapshot in an
//!   `ArcSwap`: readers `load()` it once per batch, lock-free and without
//!   allocating; the control task (the only writer, serialised by a mutex
//!   that readers never touch) builds the next snapshot and swaps it in. A
//!   RwLock would make every packet touch a shared cache line and let a
//!   writer stall the packet path; epoch schemes are more code for no gain
//!   at our update rate (sessions change a few hundred times a second).
//! - `send_control` / `send_ppp` are plain `sendto` calls on the socket of
//!   the given local address, from the caller's thread: a UDP send does not
//!   block in practice, and it keeps control traffic off the data batches.
//! - Dropping the handle stops the workers like [`DataPlane::shutdown`].
//! - The channel to the control task is the caller's (the `Sender` given
//!   to [`DataPlane::start`]); `DataPlaneConfig::control_queue` is the
//!   capacity the caller is expected to give it and is not read here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::mpsc::Sender;
use tun_rs::SyncDevice;

use super::counters::{sum_drops, sum_traffic, Traffic, TrafficTotals, WorkerCounters};
use super::framing::{encapsulate, PppHeader, HEADROOM};
use super::session_routes::{RouteChanges, SessionRoutes};
use super::table::{Replaced, SessionTable};
use super::tun::{self, TunError};
use super::{downstream, socket, upstream};
use super::{
    ControlInput, DataPlaneConfig, DropReason, Ipv6LinkPacket, SessionEntry, SessionStats,
};
use crate::mgmt::taps::CaptureTaps;

/// Why the data plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// The configuration cannot work (the operator's fault).
    #[error("invalid data-plane configuration: {0}")]
    Config(&'static str),
    /// A listen address could not be bound.
    #[error("binding UDP {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system error.
        source: std::io::Error,
    },
    /// The TUN device or its routes.
    #[error(transparent)]
    Tun(#[from] TunError),
    /// A worker thread could not be spawned.
    #[error("spawning a data-plane thread: {0}")]
    Spawn(std::io::Error),
}

/// The running data plane. See the module doc for the threads it owns.
#[derive(Debug)]
pub struct DataPlane {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Reads the data plane's counters without owning it (see
/// [`DataPlane::stats_reader`]).
#[derive(Clone, Debug)]
pub struct StatsReader(Weak<Shared>);

impl StatsReader {
    /// Traffic totals and drops by reason, or `None` once the data plane
    /// has been shut down.
    pub fn read(&self) -> Option<(TrafficTotals, Vec<(DropReason, u64)>)> {
        let shared = self.0.upgrade()?;
        Some((
            sum_traffic(shared.counters.iter()),
            sum_drops(shared.counters.iter()),
        ))
    }
}

/// What the handle and every worker share.
pub(crate) struct Shared {
    pub(crate) table: ArcSwap<SessionTable>,
    /// Serialises writers of `table` (never taken on the packet path), and
    /// holds the routes of session prefixes outside the pools.
    publish: Mutex<SessionRoutes>,
    /// Slots replaced by upserts whose late counts are still to carry
    /// over (`table::Replaced`); writers and stats readers only.
    replaced: Mutex<Vec<Replaced>>,
    pub(crate) sockets: Vec<UdpSocket>,
    pub(crate) locals: Vec<SocketAddr>,
    /// The TUN queues (one per downstream worker).
    pub(crate) tun: Vec<SyncDevice>,
    pub(crate) tun_ipv4: Ipv4Addr,
    pub(crate) tun_ipv6: Option<Ipv6Addr>,
    pub(crate) tun_mtu: u16,
    /// The TUN device's name (for routes added later).
    tun_name: String,
    pub(crate) stop: AtomicBool,
    pub(crate) to_control: Sender<ControlInput>,
    /// Where IPv6 link-scope packets go (None: to the TUN).
    pub(crate) ipv6_link: ArcSwapOption<Sender<Ipv6LinkPacket>>,
    /// Running `lnsctl capture`s (one load per batch; empty: no cost).
    pub(crate) captures: Arc<CaptureTaps>,
    /// On a cluster member, the lease fence: nothing is emitted while it
    /// is closed (read once per batch). None: a single node, always open.
    pub(crate) fence: ArcSwapOption<lns_cluster::LeaseFence>,
    /// Index 0: the handle's own sends; then one per worker thread.
    counters: Vec<WorkerCounters>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("locals", &self.locals)
            .field("tun_ipv4", &self.tun_ipv4)
            .field("sessions", &self.table.load().len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The table writer's lock (a poisoned lock is still usable: the
    /// table itself is swapped whole).
    fn writer(&self) -> std::sync::MutexGuard<'_, SessionRoutes> {
        self.publish.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `more` replaced slots and carries over the counts of those no
    /// snapshot holds any more (see `table::Replaced`).
    fn carry_replaced(&self, more: Vec<Replaced>) {
        let mut replaced = self.replaced.lock().unwrap_or_else(|p| p.into_inner());
        replaced.extend(more);
        if replaced.is_empty() {
            return;
        }
        let current = self.table.load();
        replaced.retain(|r| !r.carry(&current));
    }

    /// Adds and removes the TUN routes of session prefixes outside the
    /// pools (`session_routes`); a failure is logged, the session kept.
    fn apply_routes(&self, changes: RouteChanges) {
        for (prefix, len) in changes.remove {
            if let Err(e) = tun::del_route(&self.tun_name, prefix, len) {
                tracing::warn!(%prefix, len, error = %e, "session route not removed");
            }
        }
        for (prefix, len) in changes.add {
            match tun::add_route(&self.tun_name, prefix, len) {
                Ok(()) => {
                    tracing::info!(%prefix, len, "route added for a session prefix outside the pools")
                }
                Err(e) => {
                    tracing::warn!(%prefix, len, error = %e, "session route not added: its traffic cannot reach the TUN")
                }
            }
        }
    }

    /// Whether this node may emit now: always on a single node; on a
    /// cluster member only while its lease fence is open, judged by this
    /// thread's own read of the clock.
    pub(crate) fn may_emit(&self) -> bool {
        self.fence.load().as_ref().is_none_or(|f| f.allows())
    }

    /// Whether this node may forward data packets now (TUN writes, L2TP
    /// data from the TUN): as [`Shared::may_emit`], and also while it
    /// drains after a planned hand-over, relaying what stale ARP caches
    /// still send it until its released lease ends
    /// ([`lns_cluster::LeaseFence::allows_forwarding`]).
    pub(crate) fn may_forward(&self) -> bool {
        self.fence
            .load()
            .as_ref()
            .is_none_or(|f| f.allows_forwarding())
    }

    pub(crate) fn counters(&self, index: usize) -> &WorkerCounters {
        &self.counters[index % self.counters.len()]
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The socket bound on `local`, by index.
    pub(crate) fn socket_index(&self, local: SocketAddr) -> Option<usize> {
        self.locals.iter().position(|l| *l == local)
    }
}

impl DataPlane {
    /// Binds the sockets, creates the TUN device and starts the workers.
    pub fn start(
        config: DataPlaneConfig,
        to_control: Sender<ControlInput>,
    ) -> Result<DataPlane, DataPlaneError> {
        validate(&config)?;
        // Per listen address, `workers` SO_REUSEPORT sockets: one per
        // upstream thread. The first of each group also sends.
        let mut sockets = Vec::with_capacity(config.listen.len());
        let mut receivers = Vec::with_capacity(config.listen.len() * config.workers);
        for (index, &addr) in config.listen.iter().enumerate() {
            let group = socket::bind_group_buffered(
                addr,
                config.workers,
                config.bind,
                config.socket_buffer,
            )
            .map_err(|source| DataPlaneError::Bind { addr, source })?;
            let sender = group[0]
                .try_clone()
                .map_err(|source| DataPlaneError::Bind { addr, source })?;
            sockets.push(sender);
            receivers.extend(group.into_iter().map(|s| (index, s)));
        }
        // Port 0 in the config means "any": record what the kernel chose.
        let locals = sockets
            .iter()
            .zip(&config.listen)
            .map(|(s, a)| s.local_addr().unwrap_or(*a))
            .collect();
        let upstream_threads = receivers.len();
        let queues = config.workers;
        let devices = tun::open(&config, queues)?;
        let shared = Arc::new(Shared {
            table: ArcSwap::from_pointee(SessionTable::new()),
            publish: Mutex::new(SessionRoutes::new(&config.routes)),
            replaced: Mutex::new(Vec::new()),
            sockets,
            locals,
            tun: devices,
            tun_ipv4: config.tun_ipv4,
            tun_ipv6: config.tun_ipv6,
            tun_mtu: config.tun_mtu,
            tun_name: config.tun_name.clone(),
            stop: AtomicBool::new(false),
            to_control,
            ipv6_link: ArcSwapOption::empty(),
            captures: Arc::new(CaptureTaps::new()),
            fence: ArcSwapOption::empty(),
            counters: (0..1 + upstream_threads + queues)
                .map(|_| WorkerCounters::default())
                .collect(),
        });
        let mut plane = DataPlane {
            shared: Arc::clone(&shared),
            threads: Vec::with_capacity(upstream_threads + queues),
        };
        for (i, (index, receiver)) in receivers.into_iter().enumerate() {
            let s = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("dp-up-{i}"))
                .spawn(move || upstream::run(&s, &receiver, index, 1 + i));
            // On error, dropping `plane` stops and joins what started.
            plane.threads.push(spawned.map_err(DataPlaneError::Spawn)?);
        }
        for q in 0..queues {
            let s = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("dp-down-{q}"))
                .spawn(move || downstream::run(&s, q, 1 + upstream_threads + q));
            plane.threads.push(spawned.map_err(DataPlaneError::Spawn)?);
        }
        tracing::info!(
            listen = ?shared.locals,
            tun = %config.tun_name,
            upstream_threads,
            queues,
            "data plane started"
        );
        Ok(plane)
    }

    /// Adds or replaces a session (keeps its counters when replaced).
    pub fn upsert_session(&self, entry: SessionEntry) {
        let mut writer = self.shared.writer();
        let changes = writer.upsert(&entry);
        self.shared.apply_routes(changes);
        let (next, replaced) = self.shared.table.load().with_upserts_replacing([entry]);
        self.shared.table.store(Arc::new(next));
        self.shared.carry_replaced(replaced);
    }

    /// Adds or replaces many sessions in one snapshot (a bulk load, e.g.
    /// when this node takes over a failed node's sessions): O(sessions)
    /// for the batch instead of a shard copy per session.
    pub fn upsert_sessions(&self, entries: Vec<SessionEntry>) {
        let mut writer = self.shared.writer();
        for e in &entries {
            let changes = writer.upsert(e);
            self.shared.apply_routes(changes);
        }
        let (next, replaced) = self.shared.table.load().with_upserts_replacing(entries);
        self.shared.table.store(Arc::new(next));
        self.shared.carry_replaced(replaced);
    }

    /// Sends subscribers' IPv6 packets to link-scope destinations (RS, NS,
    /// DHCPv6, MLD: the LNS's to answer) to `sink` instead of the TUN;
    /// `None` goes back to the TUN. A full sink drops and counts
    /// [`DropReason::ControlQueueFull`]. Answers go out with
    /// [`DataPlane::send_ppp`] (protocol 0x0057).
    pub fn divert_ipv6_link(&self, sink: Option<Sender<Ipv6LinkPacket>>) {
        self.shared.ipv6_link.store(sink.map(Arc::new));
    }

    /// Removes a session; its packets are dropped from now on.
    pub fn remove_session(&self, tunnel_id: u16, session_id: u16) {
        let mut writer = self.shared.writer();
        let changes = writer.remove(tunnel_id, session_id);
        self.shared.apply_routes(changes);
        let next = self.shared.table.load().with_removed(tunnel_id, session_id);
        self.shared.table.store(Arc::new(next));
        self.shared.carry_replaced(Vec::new());
    }

    /// Sends an L2TP control datagram from our `local` address to `peer`.
    /// An unknown `local` or a failed send is counted as [`DropReason::IoError`].
    pub fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        let counters = self.shared.counters(0);
        if !self.shared.may_emit() {
            counters.drop_one(DropReason::NotActive);
            return;
        }
        let sent = self
            .shared
            .socket_index(local)
            .map(|i| self.shared.sockets[i].send_to(datagram, peer));
        match sent {
            Some(Ok(n)) => counters.traffic(Traffic::L2tpTx, 1, n as u64),
            Some(Err(e)) => {
                tracing::debug!(%local, %peer, error = %e, "control send failed");
                counters.drop_one(DropReason::IoError);
            }
            None => {
                tracing::warn!(%local, "send_control from an address we do not listen on");
                counters.drop_one(DropReason::IoError);
            }
        }
    }

    /// Sends a PPP frame (address/control and protocol included) to a
    /// session's subscriber, in an L2TP data message. An unknown session is
    /// counted as [`DropReason::UnknownSession`].
    pub fn send_ppp(&self, tunnel_id: u16, session_id: u16, frame: &[u8]) {
        let counters = self.shared.counters(0);
        if !self.shared.may_emit() {
            counters.drop_one(DropReason::NotActive);
            return;
        }
        let table = self.shared.table.load();
        let Some(slot) = table.session(tunnel_id, session_id) else {
            counters.drop_one(DropReason::UnknownSession);
            return;
        };
        let Some(index) = self.shared.socket_index(slot.entry.local()) else {
            counters.drop_one(DropReason::IoError);
            return;
        };
        // The control path may allocate.
        let mut buf = vec![0u8; HEADROOM + frame.len()];
        buf[HEADROOM..].copy_from_slice(frame);
        let Some(start) = encapsulate(&mut buf, frame.len(), &slot.entry, PppHeader::AlreadyFramed)
        else {
            counters.drop_one(DropReason::IoError);
            return;
        };
        match self.shared.sockets[index].send_to(&buf[start..], slot.entry.peer()) {
            Ok(n) => counters.traffic(Traffic::L2tpTx, 1, n as u64),
            Err(_) => counters.drop_one(DropReason::IoError),
        }
    }

    /// The counters of a session, if it is published.
    pub fn session_stats(&self, tunnel_id: u16, session_id: u16) -> Option<SessionStats> {
        self.shared.carry_replaced(Vec::new());
        let table = self.shared.table.load();
        table
            .session(tunnel_id, session_id)
            .map(|s| s.counters.snapshot())
    }

    /// Drop counters by reason (every reason, zeros included).
    pub fn drops(&self) -> Vec<(DropReason, u64)> {
        sum_drops(self.shared.counters.iter())
    }

    /// Traffic totals (L2TP and TUN, packets and bytes).
    pub fn totals(&self) -> TrafficTotals {
        sum_traffic(self.shared.counters.iter())
    }

    /// A handle reading [`DataPlane::totals`] and [`DataPlane::drops`] from
    /// another thread (the metrics collector). It does not keep the data
    /// plane alive: once it is shut down the reader returns `None`.
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader(Arc::downgrade(&self.shared))
    }

    /// Routes more prefixes into the TUN device (pools added on SIGHUP),
    /// with `ip route replace`, so re-adding a route is harmless. `ip` runs in
    /// the calling thread's network namespace (lnsd's, from the control task). Stops at
    /// the first route that fails.
    pub fn add_routes(&self, routes: &[(IpAddr, u8)]) -> Result<(), DataPlaneError> {
        for &(prefix, len) in routes {
            tun::add_route(&self.shared.tun_name, prefix, len)?;
        }
        self.shared.writer().cover(routes);
        Ok(())
    }

    /// Emits only while `fence` allows from now on (a cluster member's
    /// lease fence; see [`Shared::may_emit`]).
    pub fn fence(&self, fence: Arc<lns_cluster::LeaseFence>) {
        self.shared.fence.store(Some(fence));
    }

    /// The running captures: the management backend installs taps here,
    /// the workers and the control task offer datagrams to them.
    pub fn captures(&self) -> &Arc<CaptureTaps> {
        &self.shared.captures
    }

    /// The UDP addresses actually bound (port 0 in the config resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.shared.locals
    }

    /// Stops the workers (bounded: each checks every 100 ms), joins them,
    /// then closes the sockets and the TUN device.
    pub fn shutdown(self) {
        drop(self);
    }

    fn stop_and_join(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("a data-plane worker panicked");
            }
        }
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Unix microseconds now (read once per batch).
/// Shows a data datagram to the running captures (`taps` loaded once per
/// batch by the caller).
pub(crate) fn show(
    taps: Option<&crate::mgmt::taps::ActiveCaptures>,
    direction: crate::mgmt::capture::Direction,
    entry: &super::slot::SlotEntry,
    datagram: &[u8],
) {
    use crate::mgmt::capture::Direction;
    let Some(taps) = taps else { return };
    let (src, dst) = match direction {
        Direction::FromLac => (entry.peer(), entry.local()),
        Direction::ToLac => (entry.local(), entry.peer()),
    };
    taps.offer(crate::mgmt::taps::Seen {
        at: lns_proto::time::Timestamp::from_unix_micros(now_unix_micros()),
        direction,
        tunnel_id: entry.tunnel_id,
        session_id: entry.session_id,
        user: None,
        src,
        dst,
        datagram,
    });
}

pub(crate) fn now_unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn validate(config: &DataPlaneConfig) -> Result<(), DataPlaneError> {
    if config.listen.is_empty() {
        return Err(DataPlaneError::Config("no listen address"));
    }
    if config.listen.iter().any(|a| a.ip().is_unspecified()) {
        // One socket per address is how replies leave from the address the
        // LAC spoke to; a wildcard socket would need IP_PKTINFO.
        return Err(DataPlaneError::Config(
            "listen addresses must be specific, not 0.0.0.0 or ::",
        ));
    }
    if config.workers == 0 {
        return Err(DataPlaneError::Config("workers must be at least 1"));
    }
    if config.tun_mtu < 1280 {
        return Err(DataPlaneError::Config("tun_mtu must be at least 1280"));
    }
    if config
        .routes
        .iter()
        .any(|(p, l)| matches!(p, IpAddr::V4(_)) && *l > 32 || *l > 128)
    {
        return Err(DataPlaneError::Config("route prefix length out of range"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DataPlaneConfig {
        DataPlaneConfig {
            listen: vec!["127.0.0.1:0".parse().expect("literal")],
            tun_name: "dpunit0".into(),
            tun_mtu: 1500,
            tun_ipv4: Ipv4Addr::new(198, 19, 0, 1),
            tun_ipv6: None,
            routes: Vec::new(),
            workers: 1,
            control_queue: 4,
            bind: super::super::BindMode::Local,
            socket_buffer: super::super::DEFAULT_SOCKET_BUFFER,
        }
    }

    fn start(config: DataPlaneConfig) -> Result<DataPlane, DataPlaneError> {
        let (tx, _rx) = tokio::sync::mpsc::channel(4);
        DataPlane::start(config, tx)
    }

    #[test]
    fn unusable_configurations_are_refused_before_any_side_effect() {
        let mut c = config();
        c.listen.clear();
        assert!(matches!(start(c), Err(DataPlaneError::Config(_))));
        let mut c = config();
        c.listen = vec!["0.0.0.0:1701".parse().expect("literal")];
        assert!(matches!(start(c), Err(DataPlaneError::Config(_))));
        let mut c = config();
        c.workers = 0;
        assert!(matches!(start(c), Err(DataPlaneError::Config(_))));
        let mut c = config();
        c.tun_mtu = 576;
        assert!(matches!(start(c), Err(DataPlaneError::Config(_))));
        let mut c = config();
        c.routes = vec![(IpAddr::V4(Ipv4Addr::new(198, 19, 1, 0)), 33)];
        assert!(matches!(start(c), Err(DataPlaneError::Config(_))));
    }

    #[test]
    fn the_handle_can_move_between_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<DataPlane>();
    }

    #[test]
    fn an_address_we_do_not_have_fails_to_bind() {
        let mut c = config();
        // TEST-NET-3 is never assigned to this host.
        let addr: SocketAddr = "203.0.113.1:1701".parse().expect("literal");
        c.listen = vec![addr];
        match start(c) {
            Err(DataPlaneError::Bind { addr: a, .. }) => assert_eq!(a, addr),
            other => panic!("expected a bind error, got {other:?}"),
        }
    }
}
