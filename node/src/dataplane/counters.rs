//! Data-plane counters: drops by [`DropReason`] and traffic totals.
//!
//! Contract: each worker thread owns one [`WorkerCounters`] (its own cache
//! lines, relaxed atomics, no sharing on the hot path); readers sum over the
//! workers. Values only grow.

use std::sync::atomic::{AtomicU64, Ordering};

use super::DropReason;

/// Totals over the whole data plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficTotals {
    /// UDP datagrams received on the L2TP sockets.
    pub l2tp_rx_packets: u64,
    /// Their bytes (UDP payload).
    pub l2tp_rx_bytes: u64,
    /// UDP datagrams sent on the L2TP sockets (data and control).
    pub l2tp_tx_packets: u64,
    /// Their bytes (UDP payload).
    pub l2tp_tx_bytes: u64,
    /// IP packets read from the TUN device.
    pub tun_rx_packets: u64,
    /// Their bytes.
    pub tun_rx_bytes: u64,
    /// IP packets written to the TUN device (subscriber traffic and ICMP errors).
    pub tun_tx_packets: u64,
    /// Their bytes.
    pub tun_tx_bytes: u64,
}

/// Every reason, in counter order.
pub const DROP_REASONS: [DropReason; 10] = [
    DropReason::Malformed,
    DropReason::WrongVersion,
    DropReason::UnknownSession,
    DropReason::WrongPeer,
    DropReason::Spoofed,
    DropReason::NoRoute,
    DropReason::TooBig,
    DropReason::ControlQueueFull,
    DropReason::IoError,
    DropReason::NotActive,
];

/// One worker's counters, aligned to keep workers off each other's lines.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerCounters {
    drops: [AtomicU64; DROP_REASONS.len()],
    traffic: [AtomicU64; 8],
}

/// Which traffic total to bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Received on an L2TP socket.
    L2tpRx,
    /// Sent on an L2TP socket.
    L2tpTx,
    /// Read from the TUN device.
    TunRx,
    /// Written to the TUN device.
    TunTx,
}

impl WorkerCounters {
    /// Counts one drop.
    pub fn drop_one(&self, reason: DropReason) {
        self.drops[index(reason)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `packets` packets of `bytes` bytes in total.
    pub fn traffic(&self, which: Traffic, packets: u64, bytes: u64) {
        let at = match which {
            Traffic::L2tpRx => 0,
            Traffic::L2tpTx => 2,
            Traffic::TunRx => 4,
            Traffic::TunTx => 6,
        };
        self.traffic[at].fetch_add(packets, Ordering::Relaxed);
        self.traffic[at + 1].fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Sums the drop counters of `workers`, every reason listed (zeros included).
pub fn sum_drops<'a>(workers: impl Iterator<Item = &'a WorkerCounters>) -> Vec<(DropReason, u64)> {
    let mut sums = [0u64; DROP_REASONS.len()];
    for w in workers {
        for (sum, c) in sums.iter_mut().zip(&w.drops) {
            *sum += c.load(Ordering::Relaxed);
        }
    }
    DROP_REASONS.iter().copied().zip(sums).collect()
}

/// Sums the traffic totals of `workers`.
pub fn sum_traffic<'a>(workers: impl Iterator<Item = &'a WorkerCounters>) -> TrafficTotals {
    let mut t = [0u64; 8];
    for w in workers {
        for (sum, c) in t.iter_mut().zip(&w.traffic) {
            *sum += c.load(Ordering::Relaxed);
        }
    }
    TrafficTotals {
        l2tp_rx_packets: t[0],
        l2tp_rx_bytes: t[1],
        l2tp_tx_packets: t[2],
        l2tp_tx_bytes: t[3],
        tun_rx_packets: t[4],
        tun_rx_bytes: t[5],
        tun_tx_packets: t[6],
        tun_tx_bytes: t[7],
    }
}

fn index(reason: DropReason) -> usize {
    match reason {
        DropReason::Malformed => 0,
        DropReason::WrongVersion => 1,
        DropReason::UnknownSession => 2,
        DropReason::WrongPeer => 3,
        DropReason::Spoofed => 4,
        DropReason::NoRoute => 5,
        DropReason::TooBig => 6,
        DropReason::ControlQueueFull => 7,
        DropReason::IoError => 8,
        DropReason::NotActive => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_the_listed_order() {
        for (i, r) in DROP_REASONS.iter().enumerate() {
            assert_eq!(index(*r), i);
        }
    }

    #[test]
    fn sums_over_workers() {
        let a = WorkerCounters::default();
        let b = WorkerCounters::default();
        a.drop_one(DropReason::Spoofed);
        b.drop_one(DropReason::Spoofed);
        b.drop_one(DropReason::NoRoute);
        a.traffic(Traffic::L2tpRx, 2, 300);
        b.traffic(Traffic::TunTx, 1, 84);
        let drops = sum_drops([&a, &b].into_iter());
        assert!(drops.contains(&(DropReason::Spoofed, 2)));
        assert!(drops.contains(&(DropReason::NoRoute, 1)));
        assert!(drops.contains(&(DropReason::Malformed, 0)));
        let t = sum_traffic([&a, &b].into_iter());
        assert_eq!((t.l2tp_rx_packets, t.l2tp_rx_bytes), (2, 300));
        assert_eq!((t.tun_tx_packets, t.tun_tx_bytes), (1, 84));
    }
}
