//! The [`DataPlane`] handle: starts the workers, publishes the session
//! table, carries the control task's own traffic, reads the counters.
//!
//! Contract (see the module doc of `dataplane` for the whole picture):
//!
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tokio::sync::mpsc::Sender;
use tun_rs::SyncDevice;

use super::counters::{sum_drops, sum_traffic, Traffic, TrafficTotals, WorkerCounters};
use super::framing::{encapsulate, PppHeader, HEADROOM};
use super::table::SessionTable;
use super::tun::{self, TunError};
use super::{downstream, socket, upstream};
use super::{ControlInput, DataPlaneConfig, DropReason, SessionEntry, SessionStats};

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

/// What the handle and every worker share.
pub(crate) struct Shared {
    pub(crate) table: ArcSwap<SessionTable>,
    /// Serialises writers of `table` (never taken on the packet path).
    publish: Mutex<()>,
    pub(crate) sockets: Vec<UdpSocket>,
    pub(crate) locals: Vec<SocketAddr>,
    pub(crate) tun: SyncDevice,
    pub(crate) tun_ipv4: Ipv4Addr,
    pub(crate) tun_ipv6: Option<Ipv6Addr>,
    pub(crate) tun_mtu: u16,
    pub(crate) stop: AtomicBool,
    pub(crate) to_control: Sender<ControlInput>,
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
        let mut sockets = Vec::with_capacity(config.listen.len());
        for &addr in &config.listen {
            let s = socket::bind(addr).map_err(|source| DataPlaneError::Bind { addr, source })?;
            sockets.push(s);
        }
        // Port 0 in the config means "any": record what the kernel chose.
        let locals = sockets
            .iter()
            .zip(&config.listen)
            .map(|(s, a)| s.local_addr().unwrap_or(*a))
            .collect();
        let device = tun::open(&config)?;
        let upstream_threads = config.workers.max(sockets.len());
        let shared = Arc::new(Shared {
            table: ArcSwap::from_pointee(SessionTable::new()),
            publish: Mutex::new(()),
            sockets,
            locals,
            tun: device,
            tun_ipv4: config.tun_ipv4,
            tun_ipv6: config.tun_ipv6,
            tun_mtu: config.tun_mtu,
            stop: AtomicBool::new(false),
            to_control,
            counters: (0..upstream_threads + 2)
                .map(|_| WorkerCounters::default())
                .collect(),
        });
        let mut plane = DataPlane {
            shared: Arc::clone(&shared),
            threads: Vec::with_capacity(upstream_threads + 1),
        };
        for i in 0..upstream_threads {
            let s = Arc::clone(&shared);
            let socket = i % shared.sockets.len();
            let spawned = std::thread::Builder::new()
                .name(format!("dp-up-{i}"))
                .spawn(move || upstream::run(&s, socket, 1 + i));
            // On error, dropping `plane` stops and joins what started.
            plane.threads.push(spawned.map_err(DataPlaneError::Spawn)?);
        }
        let s = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("dp-down".into())
            .spawn(move || downstream::run(&s, 1 + upstream_threads));
        plane.threads.push(spawned.map_err(DataPlaneError::Spawn)?);
        Ok(plane)
    }

    /// Adds or replaces a session (keeps its counters when replaced).
    pub fn upsert_session(&self, entry: SessionEntry) {
        let _writer = self
            .shared
            .publish
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let next = self.shared.table.load().with_upsert(entry);
        self.shared.table.store(Arc::new(next));
    }

    /// Removes a session; its packets are dropped from now on.
    pub fn remove_session(&self, tunnel_id: u16, session_id: u16) {
        let _writer = self
            .shared
            .publish
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let next = self.shared.table.load().with_removed(tunnel_id, session_id);
        self.shared.table.store(Arc::new(next));
    }

    /// Sends an L2TP control datagram from our `local` address to `peer`.
    /// An unknown `local` or a failed send is counted as [`DropReason::IoError`].
    pub fn send_control(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        let counters = self.shared.counters(0);
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
        let table = self.shared.table.load();
        let Some(slot) = table.session(tunnel_id, session_id) else {
            counters.drop_one(DropReason::UnknownSession);
            return;
        };
        let Some(index) = self.shared.socket_index(slot.entry.local) else {
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
        match self.shared.sockets[index].send_to(&buf[start..], slot.entry.peer) {
            Ok(n) => counters.traffic(Traffic::L2tpTx, 1, n as u64),
            Err(_) => counters.drop_one(DropReason::IoError),
        }
    }

    /// The counters of a session, if it is published.
    pub fn session_stats(&self, tunnel_id: u16, session_id: u16) -> Option<SessionStats> {
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
