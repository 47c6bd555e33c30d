//! Bounded capture tap: the bridge between the forwarding path and one
//! running capture.
//!
//! Contract: [`CaptureTap::offer`] never blocks and never allocates unless the
//! filter matches and there is room: when the per-capture channel is full the
//! packet is dropped from the capture (counted in [`CaptureTap::dropped`]), so
//! a slow `lnsctl` reader cannot slow forwarding of any session.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lns_proto::time::Timestamp;
use tokio::sync::mpsc;

use super::capture::{CaptureFilter, DatagramOwner, Direction};

/// One captured datagram, with its real outer addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    /// When it was seen.
    pub at: Timestamp,
    /// Outer UDP source.
    pub src: SocketAddr,
    /// Outer UDP destination.
    pub dst: SocketAddr,
    /// The L2TP UDP payload.
    pub datagram: Vec<u8>,
}

/// What [`CaptureTap::offer`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Not wanted by the filter.
    Filtered,
    /// Queued for the capture.
    Queued,
    /// Wanted, but the capture queue was full: dropped from the capture.
    Dropped,
    /// The capture reader is gone; the caller should remove this tap.
    Closed,
}

/// The forwarding side of one capture. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CaptureTap {
    filter: Arc<CaptureFilter>,
    queue: mpsc::Sender<CapturedPacket>,
    dropped: Arc<AtomicU64>,
}

/// The reading side of one capture (held by the management server).
#[derive(Debug)]
pub struct CaptureReader {
    /// Captured packets in order.
    pub packets: mpsc::Receiver<CapturedPacket>,
    dropped: Arc<AtomicU64>,
}

/// Creates a tap and its reader with room for `capacity` packets (at least 1).
pub fn capture_tap(filter: CaptureFilter, capacity: usize) -> (CaptureTap, CaptureReader) {
    let (queue, packets) = mpsc::channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (
        CaptureTap {
            filter: Arc::new(filter),
            queue,
            dropped: Arc::clone(&dropped),
        },
        CaptureReader { packets, dropped },
    )
}

impl CaptureTap {
    /// Offers one datagram to the capture; never blocks.
    pub fn offer(
        &self,
        at: Timestamp,
        direction: Direction,
        owner: DatagramOwner<'_>,
        src: SocketAddr,
        dst: SocketAddr,
        datagram: &[u8],
    ) -> Offer {
        if self.queue.is_closed() {
            return Offer::Closed;
        }
        if !self.filter.matches(datagram, direction, owner) {
            return Offer::Filtered;
        }
        let permit = match self.queue.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Full(())) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return Offer::Dropped;
            }
            Err(mpsc::error::TrySendError::Closed(())) => return Offer::Closed,
        };
        permit.send(CapturedPacket {
            at,
            src,
            dst,
            datagram: datagram.to_vec(),
        });
        Offer::Queued
    }

    /// Packets dropped from this capture because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the capture ended (its reader is gone).
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl CaptureReader {
    /// Packets dropped from this capture because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::capture::{CaptureScope, KindSet};

    const OWNER: DatagramOwner<'static> = DatagramOwner {
        tunnel_id: 1,
        session_id: 2,
        user: None,
    };

    fn addr() -> SocketAddr {
        "192.0.2.1:1701".parse().expect("literal")
    }

    #[test]
    fn full_queue_drops_and_counts_without_blocking() {
        let filter = CaptureFilter {
            scope: CaptureScope::AllTunnels,
            kinds: KindSet::EVERYTHING,
        };
        let (tap, mut reader) = capture_tap(filter, 2);
        let pkt = [0xc8, 0x02, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0];
        let offers: Vec<Offer> = (0..4)
            .map(|_| {
                tap.offer(
                    Timestamp::EPOCH,
                    Direction::FromLac,
                    OWNER,
                    addr(),
                    addr(),
                    &pkt,
                )
            })
            .collect();
        assert_eq!(
            offers,
            [Offer::Queued, Offer::Queued, Offer::Dropped, Offer::Dropped]
        );
        assert_eq!(reader.dropped(), 2);
        assert_eq!(
            reader.packets.try_recv().map(|p| p.datagram).ok(),
            Some(pkt.to_vec())
        );
        drop(reader);
        assert_eq!(
            tap.offer(
                Timestamp::EPOCH,
                Direction::FromLac,
                OWNER,
                addr(),
                addr(),
                &pkt
            ),
            Offer::Closed
        );
    }

    #[test]
    fn filtered_packets_do_not_use_room() {
        let filter = CaptureFilter {
            scope: CaptureScope::Tunnel(9),
            kinds: KindSet::EVERYTHING,
        };
        let (tap, reader) = capture_tap(filter, 1);
        let pkt = [0xc8, 0x02];
        assert_eq!(
            tap.offer(
                Timestamp::EPOCH,
                Direction::ToLac,
                OWNER,
                addr(),
                addr(),
                &pkt
            ),
            Offer::Filtered
        );
        assert_eq!(reader.dropped(), 0);
    }
}
