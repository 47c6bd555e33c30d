//! Upstream worker (LAC -> core): one thread per socket share, batched
//! recvmmsg, the pure classifier, then the TUN device or the control task.
//!
//! Contract: nothing on the IP path allocates or locks; the session table is
//! loaded once per batch; control inputs are copied into owned buffers and
//! offered to the bounded channel with `try_send` (full -> counted drop).

use lns_proto::ip::{clamp_tcp_mss, MssLimit};

use super::classifier::{classify_upstream, Upstream};
use super::counters::{Traffic, WorkerCounters};
use super::plane::{now_unix_micros, Shared};
use super::socket::RecvBatch;
use super::{ControlInput, DropReason};

/// Runs until `shared.stop` is set, serving socket number `socket`.
pub(crate) fn run(shared: &Shared, socket: usize, counters: usize) {
    let counters = shared.counters(counters);
    let udp = &shared.sockets[socket];
    let local = shared.locals[socket];
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
        let now = now_unix_micros();
        for i in 0..n {
            let (meta, bytes) = batch.datagram_mut(i);
            counters.traffic(Traffic::L2tpRx, 1, meta.len as u64);
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
                Upstream::Ip { slot, packet } => {
                    let ip = &mut bytes[packet];
                    // The classifier validated the header; a malformed TCP
                    // header is forwarded untouched.
                    let _ = clamp_tcp_mss(ip, MssLimit::FromLinkMtu(slot.entry.mru));
                    match shared.tun.send(ip) {
                        Ok(_) => {
                            slot.counters.count_rx(ip.len(), now);
                            counters.traffic(Traffic::TunTx, 1, ip.len() as u64);
                        }
                        Err(_) => counters.drop_one(DropReason::IoError),
                    }
                }
                Upstream::Drop(reason) => counters.drop_one(reason),
            }
        }
    }
}

/// Offers `input` to the control task without blocking.
fn offer(shared: &Shared, counters: &WorkerCounters, input: ControlInput) {
    if shared.to_control.try_send(input).is_err() {
        counters.drop_one(DropReason::ControlQueueFull);
    }
}
