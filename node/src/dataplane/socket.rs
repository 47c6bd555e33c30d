//! UDP sockets and batched IO (recvmmsg/sendmmsg through nix, no unsafe).
//!
//! Contract: one socket per listen address, bound to that address, so a
//! datagram sent on it leaves from the address the LAC spoke to. Sockets
//! have a short receive timeout ([`POLL_INTERVAL`]) so that blocked workers
//! notice shutdown in bounded time. [`RecvBatch`] and [`SendBatch`] own every
//! buffer they use, allocated once per worker: the per-packet path does
//! not allocate.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::{BindMode, DEFAULT_SOCKET_BUFFER};

use nix::sys::socket::{
    recvmmsg, sendmmsg, setsockopt, sockopt, AddressFamily, ControlMessage, MsgFlags, MultiHeaders,
    SockFlag, SockType, SockaddrStorage,
};
use std::io::{IoSlice, IoSliceMut};

/// How long a blocked worker waits before checking for shutdown.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Datagrams per recvmmsg/sendmmsg call.
pub const BATCH: usize = 32;
/// Bytes per receive slot: any UDP payload fits (the largest is 65 527
/// bytes over IPv6), so nothing is ever truncated; 2 MiB per worker, of
/// which only the bytes received are touched.
pub const RECV_SLOT: usize = 65_536;

/// Binds the UDP socket for one listen address the host holds.
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    bind_with(addr, BindMode::Local)
}

/// Binds the UDP socket for one listen address; with
/// [`BindMode::Freebind`] (IP_FREEBIND) a cluster node binds its tunnel
/// address before it holds it (the address is added when the node becomes
/// active; nothing arrives or leaves before that).
pub fn bind_with(addr: SocketAddr, mode: BindMode) -> io::Result<UdpSocket> {
    let socket = UdpSocket::from(new_socket(addr, Reuse::No, mode)?);
    set_buffers(&socket, DEFAULT_SOCKET_BUFFER);
    socket.set_read_timeout(Some(POLL_INTERVAL))?;
    Ok(socket)
}

/// Whether a socket shares its port with the others of its group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reuse {
    No,
    Port,
}

fn new_socket(at: SocketAddr, reuse: Reuse, mode: BindMode) -> io::Result<std::os::fd::OwnedFd> {
    let family = match at {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = nix::sys::socket::socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(io::Error::from)?;
    if mode == BindMode::Freebind {
        setsockopt(&fd, sockopt::IpFreebind, &true).map_err(io::Error::from)?;
        // IP_TRANSPARENT (CAP_NET_ADMIN) lets a member that just handed
        // its lease over keep sending data from the tunnel address it
        // already removed, for the rest of that lease (the drain of
        // `lns_cluster::LeaseFence`): the core sends to its MAC address
        // until the new node's gratuitous ARP arrives. It changes nothing
        // on receive (no TPROXY rule). Best effort: without it, that relay
        // stops when the address goes.
        if let Err(e) = setsockopt(&fd, sockopt::IpTransparent, &true) {
            tracing::debug!(error = %e, "IP_TRANSPARENT refused: no relay after the tunnel address left");
        }
    }
    if reuse == Reuse::Port {
        setsockopt(&fd, sockopt::ReusePort, &true).map_err(io::Error::from)?;
    }
    if at.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(io::Error::from)?;
    }
    nix::sys::socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(at)).map_err(io::Error::from)?;
    Ok(fd)
}

/// Binds `n` sockets on one address with SO_REUSEPORT, one per upstream
/// worker. The kernel picks the socket by a hash of the sender's address
/// and port, so every datagram of one LAC tunnel lands on the same socket
/// and worker: no reordering inside a tunnel, and different LACs spread
/// over the workers. Port 0 is resolved by the first socket.
///
/// With one worker this is a plain bind. Otherwise a plain bind is tried
/// first and released: SO_REUSEPORT would let a second lnsd of the same
/// user silently share the port, this makes it fail with EADDRINUSE
/// instead (short of a start race between the two).
pub fn bind_group(addr: SocketAddr, n: usize, mode: BindMode) -> io::Result<Vec<UdpSocket>> {
    bind_group_buffered(addr, n, mode, DEFAULT_SOCKET_BUFFER)
}

/// [`bind_group`] with each socket's receive and send buffers set to
/// `buffer` bytes (see [`set_buffers`]).
pub fn bind_group_buffered(
    addr: SocketAddr,
    n: usize,
    mode: BindMode,
    buffer: usize,
) -> io::Result<Vec<UdpSocket>> {
    if n <= 1 {
        let socket = UdpSocket::from(new_socket(addr, Reuse::No, mode)?);
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        set_buffers(&socket, buffer);
        return Ok(vec![socket]);
    }
    if addr.port() != 0 {
        drop(new_socket(addr, Reuse::No, mode)?);
    }
    let mut group: Vec<UdpSocket> = Vec::with_capacity(n);
    let mut at = addr;
    for _ in 0..n {
        let socket = UdpSocket::from(new_socket(at, Reuse::Port, mode)?);
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        set_buffers(&socket, buffer);
        at = socket.local_addr()?;
        group.push(socket);
    }
    Ok(group)
}

/// Sets the socket's receive and send buffers to `bytes`: with
/// SO_RCVBUFFORCE/SO_SNDBUFFORCE (root, or CAP_NET_ADMIN) past the
/// `net.core.rmem_max`/`wmem_max` caps, else with SO_RCVBUF/SO_SNDBUF
/// (silently capped). Best effort: a failure leaves the kernel default and
/// is logged, never fatal. The kernel doubles the value for its own
/// bookkeeping; what it reports back is what it granted.
pub fn set_buffers(socket: &UdpSocket, bytes: usize) {
    if bytes == 0 {
        return;
    }
    let forced = setsockopt(socket, sockopt::RcvBufForce, &bytes)
        .or_else(|_| setsockopt(socket, sockopt::RcvBuf, &bytes));
    let sent = setsockopt(socket, sockopt::SndBufForce, &bytes)
        .or_else(|_| setsockopt(socket, sockopt::SndBuf, &bytes));
    if let Err(e) = forced.and(sent) {
        tracing::warn!(bytes, error = %e, "cannot size the L2TP socket buffers");
    }
}

/// One received datagram's metadata.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Bytes received.
    pub len: usize,
    /// The sender (None for a non-IP address, which cannot happen on UDP).
    pub peer: Option<SocketAddr>,
    /// The kernel truncated the datagram (cannot happen with [`RECV_SLOT`],
    /// checked anyway).
    pub truncated: bool,
}

/// Buffers for receiving up to [`BATCH`] datagrams in one system call.
#[derive(Debug)]
pub struct RecvBatch {
    headers: MultiHeaders<SockaddrStorage>,
    bufs: Box<[u8]>,
    meta: [Received; BATCH],
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Allocates the batch (once per worker).
    pub fn new() -> Self {
        RecvBatch {
            headers: MultiHeaders::preallocate(BATCH, None),
            bufs: vec![0u8; BATCH * RECV_SLOT].into_boxed_slice(),
            meta: [Received {
                len: 0,
                peer: None,
                truncated: false,
            }; BATCH],
        }
    }

    /// Receives at least one datagram (blocking up to the socket timeout),
    /// and whatever else is already queued, up to [`BATCH`].
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut chunks = self.bufs.chunks_mut(RECV_SLOT);
        let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
            [IoSliceMut::new(
                chunks.next().expect("bufs holds exactly BATCH slots"),
            )]
        });
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut self.headers,
            iovs.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        )
        .map_err(io::Error::from)?;
        let mut n = 0;
        for (meta, msg) in self.meta.iter_mut().zip(results) {
            *meta = Received {
                len: msg.bytes.min(RECV_SLOT),
                peer: msg.address.as_ref().and_then(socket_addr),
                truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
            };
            n += 1;
        }
        Ok(n)
    }

    /// Datagram `i` of the last batch (its metadata and its bytes, mutable
    /// for in-place rewriting).
    pub fn datagram_mut(&mut self, i: usize) -> (Received, &mut [u8]) {
        let meta = self.meta[i % BATCH];
        let start = (i % BATCH) * RECV_SLOT;
        (meta, &mut self.bufs[start..start + meta.len])
    }
}

/// One datagram waiting in a [`SendBatch`].
#[derive(Clone, Copy, Debug)]
struct Pending {
    start: usize,
    end: usize,
    socket: usize,
    dest: SocketAddr,
}

/// Buffers for sending up to [`BATCH`] datagrams in one call per socket.
/// Slots are `stride` bytes; the caller fills one with [`SendBatch::slot_mut`]
/// and commits it with [`SendBatch::push`].
#[derive(Debug)]
pub struct SendBatch {
    headers: MultiHeaders<SockaddrStorage>,
    bufs: Box<[u8]>,
    stride: usize,
    pending: [Option<Pending>; BATCH],
    len: usize,
}

/// What a flush achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Datagrams the kernel accepted.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Datagrams that failed.
    pub failed: u64,
}

impl SendBatch {
    /// Allocates a batch of slots of `stride` bytes (once per worker).
    pub fn new(stride: usize) -> Self {
        SendBatch {
            headers: MultiHeaders::preallocate(BATCH, None),
            bufs: vec![0u8; BATCH * stride].into_boxed_slice(),
            stride,
            pending: [None; BATCH],
            len: 0,
        }
    }

    /// Whether every slot is taken (flush before filling another).
    pub fn is_full(&self) -> bool {
        self.len == BATCH
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next free slot (`stride` bytes).
    pub fn slot_mut(&mut self) -> &mut [u8] {
        let start = (self.len % BATCH) * self.stride;
        &mut self.bufs[start..start + self.stride]
    }

    /// Commits bytes `start..end` of the current slot, to go out on
    /// socket number `socket` to `dest`.
    pub fn push(&mut self, start: usize, end: usize, socket: usize, dest: SocketAddr) {
        if self.len < BATCH && start <= end && end <= self.stride {
            self.pending[self.len] = Some(Pending {
                start,
                end,
                socket,
                dest,
            });
            self.len += 1;
        }
    }

    /// Sends everything pending, one sendmmsg per socket used.
    pub fn flush(&mut self, sockets: &[UdpSocket]) -> Flushed {
        let mut done = Flushed::default();
        for (index, socket) in sockets.iter().enumerate() {
            let mut slices: [[IoSlice<'_>; 1]; BATCH] = [[IoSlice::new(&[])]; BATCH];
            let mut addrs: [Option<SockaddrStorage>; BATCH] = [None; BATCH];
            let mut k = 0;
            for (slot, p) in self.pending[..self.len].iter().enumerate() {
                let Some(p) = p.filter(|p| p.socket == index) else {
                    continue;
                };
                let base = slot * self.stride;
                slices[k] = [IoSlice::new(&self.bufs[base + p.start..base + p.end])];
                addrs[k] = Some(SockaddrStorage::from(p.dest));
                k += 1;
            }
            let mut sent = 0;
            while sent < k {
                let no_cmsgs: [ControlMessage<'_>; 0] = [];
                match sendmmsg(
                    socket.as_raw_fd(),
                    &mut self.headers,
                    slices[sent..k].iter(),
                    &addrs[sent..k],
                    no_cmsgs,
                    MsgFlags::empty(),
                ) {
                    Ok(results) => {
                        let mut n = 0;
                        for r in results {
                            done.bytes += r.bytes as u64;
                            n += 1;
                        }
                        done.packets += n as u64;
                        // sendmmsg stops at the first failing message.
                        sent += n.max(1);
                        if n == 0 {
                            done.failed += 1;
                        }
                    }
                    Err(_) => {
                        done.failed += 1;
                        sent += 1;
                    }
                }
            }
        }
        self.pending = [None; BATCH];
        self.len = 0;
        done
    }
}

/// Converts a kernel socket address to a std one (IPv4 or IPv6 only).
fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reuseport_group_shares_one_port() {
        let group =
            bind_group("127.0.0.1:0".parse().expect("literal"), 3, BindMode::Local).expect("bind");
        let port = group[0].local_addr().expect("addr").port();
        assert_ne!(port, 0);
        for s in &group {
            assert_eq!(s.local_addr().expect("addr").port(), port);
        }
        // One sender's datagrams all reach the same member (hash of its
        // address and port): no reordering inside a tunnel.
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        for i in 0..8u8 {
            tx.send_to(&[i], group[0].local_addr().expect("addr"))
                .expect("send");
        }
        let mut buf = [0u8; 4];
        let per_member: Vec<Vec<u8>> = group
            .iter()
            .map(|s| {
                s.set_nonblocking(true).expect("nonblocking");
                let mut got = Vec::new();
                while let Ok(n) = s.recv(&mut buf) {
                    got.extend_from_slice(&buf[..n]);
                }
                got
            })
            .collect();
        let busy: Vec<&Vec<u8>> = per_member.iter().filter(|g| !g.is_empty()).collect();
        assert_eq!(busy, vec![&(0..8u8).collect::<Vec<u8>>()]);
    }

    #[test]
    fn sockets_get_the_buffer_asked_for() {
        let group = bind_group_buffered(
            "127.0.0.1:0".parse().expect("literal"),
            2,
            BindMode::Local,
            4 << 20,
        )
        .expect("bind");
        for s in &group {
            let rcv = nix::sys::socket::getsockopt(s, sockopt::RcvBuf).expect("SO_RCVBUF");
            // As root (FORCE) the kernel grants the whole request (doubled);
            // otherwise at least its own default of about 208 KiB.
            let root = nix::unistd::Uid::effective().is_root();
            assert!(
                if root { rcv >= 4 << 20 } else { rcv > 0 },
                "SO_RCVBUF {rcv}"
            );
        }
    }

    #[test]
    fn a_taken_port_is_refused_even_for_a_group() {
        let first =
            bind_group("127.0.0.1:0".parse().expect("literal"), 2, BindMode::Local).expect("bind");
        let taken = first[0].local_addr().expect("addr");
        let err = bind_group(taken, 2, BindMode::Local).expect_err("port in use");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let single = bind(taken).expect_err("port in use");
        assert_eq!(single.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn batch_round_trip_over_loopback() {
        let rx = bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
        let tx = bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
        let dest = rx.local_addr().expect("addr");
        let mut out = SendBatch::new(64);
        for i in 0..3u8 {
            let slot = out.slot_mut();
            slot[8..8 + 4].copy_from_slice(&[0x10, i, 0x20, i]);
            out.push(8, 12, 0, dest);
        }
        let flushed = out.flush(std::slice::from_ref(&tx));
        assert_eq!(
            flushed,
            Flushed {
                packets: 3,
                bytes: 12,
                failed: 0
            }
        );
        assert!(out.is_empty());
        let mut batch = RecvBatch::new();
        let mut got = Vec::new();
        while got.len() < 3 {
            let n = batch.recv(&rx).expect("recv within the timeout");
            for i in 0..n {
                let (meta, bytes) = batch.datagram_mut(i);
                assert_eq!(meta.peer, Some(tx.local_addr().expect("addr")));
                got.push(bytes.to_vec());
            }
        }
        assert_eq!(
            got,
            vec![
                vec![0x10, 0, 0x20, 0],
                vec![0x10, 1, 0x20, 1],
                vec![0x10, 2, 0x20, 2]
            ]
        );
    }

    #[test]
    fn a_cluster_member_binds_a_tunnel_address_it_does_not_hold_yet() {
        // TEST-NET-3 is never assigned to this host.
        let vip: SocketAddr = "203.0.113.7:1701".parse().expect("literal");
        assert!(bind(vip).is_err(), "a single node refuses a typo");
        let s = bind_with(vip, BindMode::Freebind).expect("IP_FREEBIND");
        assert_eq!(s.local_addr().expect("bound"), vip);
        let group = bind_group(
            "203.0.113.8:1701".parse().expect("literal"),
            2,
            BindMode::Freebind,
        )
        .expect("a group too");
        assert_eq!(group.len(), 2);
    }
}
