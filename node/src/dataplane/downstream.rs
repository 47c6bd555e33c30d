//! Downstream worker (core -> LAC): TUN reads, the pure classifier, MSS
//! clamping, ICMP errors for packets too big, framing in place, sendmmsg.
//!
//! Contract: each downstream thread reads its own TUN queue: it waits with
//! `poll` (100 ms timeout, for shutdown), then reads every queued packet up
//! to a batch straight into a send slot at offset `HEADROOM`, frames it
//! there and flushes the batch with one sendmmsg per socket. Nothing
//! allocates or locks. ICMP errors go back into the TUN device (the kernel
//! routes them to the sender), from the LNS address of the TUN, within a
//! rate limit ([`IcmpBudget`]).

use std::os::fd::AsFd;

use lns_proto::ip::{
    clamp_tcp_mss, icmpv4_fragmentation_needed, icmpv6_packet_too_big, MssLimit,
    ICMPV6_ERROR_MAX_LEN,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use tun_rs::SyncDevice;

use super::classifier::{classify_downstream, Downstream};
use super::counters::{Traffic, WorkerCounters};
use super::framing::{encapsulate, PppHeader, HEADROOM};
use super::icmp_budget::IcmpBudget;
use super::plane::{now_unix_micros, show, Shared};
use super::socket::{SendBatch, BATCH, POLL_INTERVAL};
use super::DropReason;
use crate::mgmt::capture::Direction;

/// Runs until `shared.stop` is set, reading TUN queue `queue`, counting
/// in the counters of worker number `worker`.
pub(crate) fn run(shared: &Shared, queue: usize, worker: usize) {
    let counters = shared.counters(worker);
    let tun = &shared.tun[queue % shared.tun.len()];
    let stride = HEADROOM + usize::from(shared.tun_mtu);
    let mut batch = SendBatch::new(stride);
    let mut icmp = [0u8; ICMPV6_ERROR_MAX_LEN];
    let mut budget = IcmpBudget::new();
    let timeout = PollTimeout::try_from(POLL_INTERVAL).unwrap_or(PollTimeout::NONE);
    while !shared.stopping() {
        let mut fds = [PollFd::new(tun.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "poll on the TUN device failed");
                counters.drop_one(DropReason::IoError);
                continue;
            }
        }
        let table = shared.table.load();
        let taps = shared.captures.current();
        // Once per batch, by this thread's clock: a cluster member that
        // lost its lease (or was frozen past it) drains the TUN, sends
        // nothing; one that just handed its lease over relays until that
        // lease ends.
        let emit = shared.may_forward();
        for _ in 0..BATCH {
            let slot = batch.slot_mut();
            let n = match tun.recv(&mut slot[HEADROOM..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    counters.drop_one(DropReason::IoError);
                    break;
                }
            };
            counters.traffic(Traffic::TunRx, 1, n as u64);
            if !emit {
                counters.drop_one(DropReason::NotActive);
                continue;
            }
            let packet = &slot[HEADROOM..HEADROOM + n];
            let (session, len, protocol) = match classify_downstream(&table, packet) {
                Downstream::Forward {
                    slot: s,
                    protocol,
                    len,
                } => (s, len, protocol),
                Downstream::TooBig { slot: s } => {
                    counters.drop_one(DropReason::TooBig);
                    too_big(
                        shared,
                        tun,
                        counters,
                        packet,
                        s.entry.mru,
                        &mut icmp,
                        &mut budget,
                    );
                    continue;
                }
                Downstream::Drop(reason) => {
                    counters.drop_one(reason);
                    continue;
                }
            };
            let Some(socket) = shared.socket_index(session.entry.local()) else {
                counters.drop_one(DropReason::NoRoute);
                continue;
            };
            let _ = clamp_tcp_mss(
                &mut slot[HEADROOM..HEADROOM + len],
                MssLimit::FromLinkMtu(session.entry.mru),
            );
            let Some(start) = encapsulate(slot, len, &session.entry, PppHeader::Add(protocol))
            else {
                counters.drop_one(DropReason::IoError);
                continue;
            };
            session.counters.count_tx(len);
            show(
                taps.as_deref(),
                Direction::ToLac,
                &session.entry,
                &slot[start..HEADROOM + len],
            );
            batch.push(start, HEADROOM + len, socket, session.entry.peer());
        }
        drop(table);
        if !batch.is_empty() {
            let done = batch.flush(&shared.sockets);
            counters.traffic(Traffic::L2tpTx, done.packets, done.bytes);
            for _ in 0..done.failed {
                counters.drop_one(DropReason::IoError);
            }
        }
    }
}

/// Writes the ICMP error for a packet larger than `mru` into the TUN device,
/// when the RFCs allow one and the rate limit has room (otherwise the
/// packet is just dropped).
fn too_big(
    shared: &Shared,
    tun: &SyncDevice,
    counters: &WorkerCounters,
    packet: &[u8],
    mru: u16,
    out: &mut [u8],
    budget: &mut IcmpBudget,
) {
    let built = match packet.first().map(|b| b >> 4) {
        // RFC 1191 §4: Fragmentation Needed carries the next-hop MTU.
        Some(4) => icmpv4_fragmentation_needed(packet, shared.tun_ipv4, mru, out).ok(),
        // RFC 4443 §3.2: Packet Too Big.
        Some(6) => shared
            .tun_ipv6
            .and_then(|src| icmpv6_packet_too_big(packet, src, u32::from(mru), out).ok()),
        _ => None,
    };
    // Only errors the RFCs allow take from the budget.
    if let Some(n) = built.filter(|_| budget.allow(now_unix_micros())) {
        match tun.send(&out[..n]) {
            Ok(_) => counters.traffic(Traffic::TunTx, 1, n as u64),
            Err(_) => counters.drop_one(DropReason::IoError),
        }
    }
}
