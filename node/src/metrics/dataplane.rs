//! # The data-plane collector: L2TP, TUN and drop counters read at scrape time
//!
//! Contract: the data plane keeps its packet and byte counters in atomics
//! (it must not take a lock or call into the metrics registry per packet).
//! The daemon registers a closure returning a [`DataPlaneSnapshot`] of those
//! atomics; on every scrape [`DataPlaneCollector`] calls it once and turns it
//! into counter families. The snapshot's values are totals since the data
//! plane started (monotonic), so they are exposed as counters as they are.
//! Every [`DropReason`] is exposed, at 0 when the snapshot omits it.

use std::sync::Mutex;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, Opts};

use crate::dataplane::DropReason;

/// Packets and bytes in one direction of one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounters {
    /// Packets (datagrams on UDP, IP packets on the TUN).
    pub packets: u64,
    /// Bytes: UDP payload for L2TP, IP packet length for the TUN.
    pub bytes: u64,
}

/// The data plane's counters at one instant (totals since it started).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataPlaneSnapshot {
    /// L2TP control datagrams received from LACs (handed to the control task).
    pub l2tp_rx_control: TrafficCounters,
    /// L2TP data datagrams received from LACs (including those later dropped).
    pub l2tp_rx_data: TrafficCounters,
    /// L2TP control datagrams sent to LACs.
    pub l2tp_tx_control: TrafficCounters,
    /// L2TP data datagrams sent to LACs.
    pub l2tp_tx_data: TrafficCounters,
    /// IP packets read from the TUN device (towards subscribers).
    pub tun_rx: TrafficCounters,
    /// IP packets written to the TUN device (from subscribers).
    pub tun_tx: TrafficCounters,
    /// Drops by reason, as `DataPlane::drops()` returns them.
    pub drops: Vec<(DropReason, u64)>,
}

/// The `reason` label value of a data-plane drop.
pub fn drop_reason_label(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Malformed => "malformed",
        DropReason::WrongVersion => "wrong_version",
        DropReason::UnknownSession => "unknown_session",
        DropReason::WrongPeer => "wrong_peer",
        DropReason::Spoofed => "spoofed",
        DropReason::NoRoute => "no_route",
        DropReason::TooBig => "too_big",
        DropReason::ControlQueueFull => "control_queue_full",
        DropReason::IoError => "io_error",
        DropReason::NotActive => "not_active",
    }
}

/// Every drop reason, so each series exists from the first scrape.
pub const ALL_DROP_REASONS: [DropReason; 10] = [
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

/// The closure the collector calls on each scrape.
pub type SnapshotFn = Box<dyn Fn() -> DataPlaneSnapshot + Send + Sync>;

/// A prometheus `Collector` over a data-plane snapshot closure.
pub struct DataPlaneCollector {
    snapshot: SnapshotFn,
    /// Held while a scrape fills and reads the vectors, so two concurrent
    /// scrapes cannot interleave a reset with the other's values.
    families: Mutex<Families>,
    descs: Vec<Desc>,
}

impl std::fmt::Debug for DataPlaneCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlaneCollector").finish_non_exhaustive()
    }
}

struct Families {
    l2tp_rx_packets: IntCounterVec,
    l2tp_rx_bytes: IntCounterVec,
    l2tp_tx_packets: IntCounterVec,
    l2tp_tx_bytes: IntCounterVec,
    tun_rx_packets: IntCounterVec,
    tun_rx_bytes: IntCounterVec,
    tun_tx_packets: IntCounterVec,
    tun_tx_bytes: IntCounterVec,
    dropped: IntCounterVec,
}

impl DataPlaneCollector {
    /// Builds the collector (not yet registered).
    pub fn new(snapshot: SnapshotFn) -> Result<DataPlaneCollector, prometheus::Error> {
        let channel = &["channel"];
        let families = Families {
            l2tp_rx_packets: vec(
                "lnsd_l2tp_rx_packets_total",
                "L2TP datagrams received on UDP from LACs, by channel (control or data).",
                channel,
            )?,
            l2tp_rx_bytes: vec(
                "lnsd_l2tp_rx_bytes_total",
                "UDP payload bytes of the L2TP datagrams received from LACs, by channel.",
                channel,
            )?,
            l2tp_tx_packets: vec(
                "lnsd_l2tp_tx_packets_total",
                "L2TP datagrams sent on UDP to LACs, by channel.",
                channel,
            )?,
            l2tp_tx_bytes: vec(
                "lnsd_l2tp_tx_bytes_total",
                "UDP payload bytes of the L2TP datagrams sent to LACs, by channel.",
                channel,
            )?,
            tun_rx_packets: vec(
                "lnsd_tun_rx_packets_total",
                "IP packets read from the TUN device, i.e. traffic towards subscribers.",
                &[],
            )?,
            tun_rx_bytes: vec(
                "lnsd_tun_rx_bytes_total",
                "Bytes of the IP packets read from the TUN device (towards subscribers).",
                &[],
            )?,
            tun_tx_packets: vec(
                "lnsd_tun_tx_packets_total",
                "IP packets written to the TUN device, i.e. traffic from subscribers.",
                &[],
            )?,
            tun_tx_bytes: vec(
                "lnsd_tun_tx_bytes_total",
                "Bytes of the IP packets written to the TUN device (from subscribers).",
                &[],
            )?,
            dropped: vec(
                "lnsd_dataplane_dropped_packets_total",
                "Packets the data plane dropped, by reason. wrong_peer and spoofed point at \
                 a misbehaving LAC or subscriber; control_queue_full at an overloaded \
                 control task; no_route at traffic for addresses no session holds.",
                &["reason"],
            )?,
        };
        let descs = families
            .all()
            .iter()
            .flat_map(|v| v.desc().into_iter().cloned())
            .collect();
        Ok(DataPlaneCollector {
            snapshot,
            families: Mutex::new(families),
            descs,
        })
    }
}

impl Collector for DataPlaneCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snap = (self.snapshot)();
        let families = self
            .families
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for v in families.all() {
            v.reset();
        }
        let channels = [
            ("control", snap.l2tp_rx_control, snap.l2tp_tx_control),
            ("data", snap.l2tp_rx_data, snap.l2tp_tx_data),
        ];
        for (channel, rx, tx) in channels {
            let l = &[channel];
            families
                .l2tp_rx_packets
                .with_label_values(l)
                .inc_by(rx.packets);
            families.l2tp_rx_bytes.with_label_values(l).inc_by(rx.bytes);
            families
                .l2tp_tx_packets
                .with_label_values(l)
                .inc_by(tx.packets);
            families.l2tp_tx_bytes.with_label_values(l).inc_by(tx.bytes);
        }
        let none: &[&str] = &[];
        families
            .tun_rx_packets
            .with_label_values(none)
            .inc_by(snap.tun_rx.packets);
        families
            .tun_rx_bytes
            .with_label_values(none)
            .inc_by(snap.tun_rx.bytes);
        families
            .tun_tx_packets
            .with_label_values(none)
            .inc_by(snap.tun_tx.packets);
        families
            .tun_tx_bytes
            .with_label_values(none)
            .inc_by(snap.tun_tx.bytes);
        for reason in ALL_DROP_REASONS {
            families
                .dropped
                .with_label_values(&[drop_reason_label(reason)]);
        }
        for (reason, n) in &snap.drops {
            families
                .dropped
                .with_label_values(&[drop_reason_label(*reason)])
                .inc_by(*n);
        }
        families.all().iter().flat_map(|v| v.collect()).collect()
    }
}

impl Families {
    fn all(&self) -> [&IntCounterVec; 9] {
        [
            &self.l2tp_rx_packets,
            &self.l2tp_rx_bytes,
            &self.l2tp_tx_packets,
            &self.l2tp_tx_bytes,
            &self.tun_rx_packets,
            &self.tun_rx_bytes,
            &self.tun_tx_packets,
            &self.tun_tx_bytes,
            &self.dropped,
        ]
    }
}

fn vec(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn value(families: &[MetricFamily], name: &str, label: Option<&str>) -> Option<u64> {
        let fam = families.iter().find(|f| f.name() == name)?;
        fam.get_metric()
            .iter()
            .find(|m| match label {
                None => m.get_label().is_empty(),
                Some(v) => m.get_label().iter().any(|l| l.value() == v),
            })
            .map(|m| m.get_counter().get_value() as u64)
    }

    #[test]
    fn each_scrape_reads_the_atomics_anew_without_accumulating() {
        let tun_rx = Arc::new(AtomicU64::new(5));
        let seen = Arc::clone(&tun_rx);
        let c = DataPlaneCollector::new(Box::new(move || DataPlaneSnapshot {
            tun_rx: TrafficCounters {
                packets: seen.load(Ordering::Relaxed),
                bytes: 700,
            },
            l2tp_rx_data: TrafficCounters {
                packets: 9,
                bytes: 900,
            },
            drops: vec![(DropReason::Spoofed, 3)],
            ..DataPlaneSnapshot::default()
        }))
        .expect("static definitions");
        let first = c.collect();
        assert_eq!(value(&first, "lnsd_tun_rx_packets_total", None), Some(5));
        tun_rx.store(8, Ordering::Relaxed);
        let second = c.collect();
        assert_eq!(value(&second, "lnsd_tun_rx_packets_total", None), Some(8));
        assert_eq!(
            value(&second, "lnsd_l2tp_rx_packets_total", Some("data")),
            Some(9)
        );
        assert_eq!(
            value(
                &second,
                "lnsd_dataplane_dropped_packets_total",
                Some("spoofed")
            ),
            Some(3)
        );
        assert_eq!(
            value(
                &second,
                "lnsd_dataplane_dropped_packets_total",
                Some("no_route")
            ),
            Some(0)
        );
    }

    #[test]
    fn descs_match_the_collected_families() {
        let c = DataPlaneCollector::new(Box::new(DataPlaneSnapshot::default))
            .expect("static definitions");
        let names: Vec<String> = c.collect().iter().map(|f| f.name().to_owned()).collect();
        let descs: Vec<String> = c.desc().iter().map(|d| d.fq_name.clone()).collect();
        assert_eq!(names, descs);
    }
}
