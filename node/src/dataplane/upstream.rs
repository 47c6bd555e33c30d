//! Upstream worker (LAC -> core): one thread per receive socket, batched
//! recvmmsg, the pure classifier, then the TUN device or the control task.
//!
//! Contract: nothing on the IP path allocates or locks; the session table is
//! loaded once per batch; control inputs are copied into owned buffers and
//! offered to the bounded channel with `try_send` (full -> counted drop);
//! so are IPv6 link-scope packets when a sink is registered (otherwise they
//! go to the TUN like any IP packet).

use std::net::UdpSocket;

use lns_proto::ip::{clamp_tcp_mss, MssLimit};

use super::classifier::{classify_upstream, Upstream};
use super::counters::{Traffic, WorkerCounters};
use super::plane::{now_unix_micros, show, Shared};
use super::socket::RecvBatch;
use super::{ControlInput, DropReason, Ipv6LinkPacket};
use crate::mgmt::capture::Direction;

/// Runs until `shared.stop` is set, reading `udp` (a member of the socket
/// group of listen address number `address`); worker number `worker` (its
/// counters, and the TUN queue it writes to).
pub(crate) fn run(shared: &Shared, udp: &UdpSocket, address: usize, worker: usize) {
    let counters = shared.counters(worker);
    let local = shared.locals[address];
    let tun = &shared.tun[worker % shared.tun.len()];
    let mut batch = RecvBatch::new();
    while !shared.stopping() {
        let n = match batch.recv(udp) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => {
                tracing::debug!(%local, error = %e, "recvmmsg failed");
                counters.drop_one(DropReason::IoError);
                continue;
            }
        };
        let table = shared.table.load();
        let link_sink = shared.ipv6_link.load();
        let taps = shared.captures.current();
        // Once per batch, by this thread's clock: a cluster member without
        // its lease writes nothing to the TUN (datagrams queued while it
        // was frozen must not reach the core after the failover); one that
        // just handed its lease over relays until that lease ends.
        let emit = shared.may_forward();
        let now = now_unix_micros();
        // Totals are added once per batch (this worker is their only
        // writer): two atomic adds per batch instead of four per packet.
        let mut rx_bytes = 0u64;
        let (mut tun_packets, mut tun_bytes) = (0u64, 0u64);
        for i in 0..n {
            let (meta, bytes) = batch.datagram_mut(i);
            rx_bytes += meta.len as u64;
            let Some(peer) = meta.peer.filter(|_| !meta.truncated) else {
                counters.drop_one(DropReason::Malformed);
                continue;
            };
            match classify_upstream(&table, peer, bytes) {
                Upstream::L2tpControl => offer(
                    shared,
                    counters,
                    ControlInput::L2tpControl {
                        local,
                        peer,
                        datagram: bytes.to_vec(),
                    },
                ),
                Upstream::PppControl { slot, frame } => offer(
                    shared,
                    counters,
                    ControlInput::PppControl {
                        tunnel_id: slot.entry.tunnel_id,
                        session_id: slot.entry.session_id,
                        frame: bytes[frame].to_vec(),
                    },
                ),
                Upstream::Ipv6Link { slot, packet } if link_sink.is_some() => {
                    show(taps.as_deref(), Direction::FromLac, &slot.entry, bytes);
                    let sent = link_sink.as_ref().map(|tx| {
                        tx.try_send(Ipv6LinkPacket {
                            tunnel_id: slot.entry.tunnel_id,
                            session_id: slot.entry.session_id,
                            packet: bytes[packet].to_vec(),
                        })
                    });
                    if !matches!(sent, Some(Ok(()))) {
                        counters.drop_one(DropReason::ControlQueueFull);
                    }
                }
                Upstream::Ip { .. } | Upstream::Ipv6Link { .. } if !emit => {
                    counters.drop_one(DropReason::NotActive);
                }
                Upstream::Ip { slot, packet } | Upstream::Ipv6Link { slot, packet } => {
                    show(taps.as_deref(), Direction::FromLac, &slot.entry, bytes);
                    let ip = &mut bytes[packet];
                    // The classifier validated the header; a malformed TCP
                    // header is forwarded untouched.
                    let _ = clamp_tcp_mss(ip, MssLimit::FromLinkMtu(slot.entry.mru));
                    match tun.send(ip) {
                        Ok(_) => {
                            slot.counters.count_rx(ip.len(), now);
                            tun_packets += 1;
                            tun_bytes += ip.len() as u64;
                        }
                        Err(_) => counters.drop_one(DropReason::IoError),
                    }
                }
                Upstream::Drop(reason) => counters.drop_one(reason),
            }
        }
        counters.traffic(Traffic::L2tpRx, n as u64, rx_bytes);
        if tun_packets > 0 {
            counters.traffic(Traffic::TunTx, tun_packets, tun_bytes);
        }
    }
}

/// Offers `input` to the control task without blocking.
fn offer(shared: &Shared, counters: &WorkerCounters, input: ControlInput) {
    if shared.to_control.try_send(input).is_err() {
        counters.drop_one(DropReason::ControlQueueFull);
    }
}
