//! The replicated form of [`Accounting`] (`pb::AccountingState` in
//! `proto/schema/lnsd.proto`), for the failover snapshot.
//!
//! Contract: [`Accounting::to_pb`] then [`Accounting::load_pb`] on an
//! accounting part built with the same settings gives one that queues the
//! same records at the same times with the same ids: the queue, the next
//! id, the live sessions (start time, Interim period and next Interim), the
//! Starts waiting for IPCP, the Stops waiting for counters, the timer
//! index, the last traffic totals, the noted causes and the drop count all
//! round-trip. The settings are the daemon's (not replicated).

use super::{Accounting, AccountingRecord, Due, Live, RecordKind};
use crate::engine::snapshot::{
    counters_from_pb, counters_to_pb, key_from_pb, key_to_pb, v6_prefix_from_pb, v6_prefix_to_pb,
    SnapshotError,
};
use lns_proto::pb::lnsd as pb;
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::radius::AcctTerminateCause;
use lns_proto::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

impl Accounting {
    /// Every field that affects a future record.
    pub fn to_pb(&self) -> pb::AccountingState {
        pb::AccountingState {
            next_id: self.next_id,
            live: self
                .live
                .iter()
                .map(|(k, l)| pb::AcctLive {
                    key: Some(key_to_pb(*k)),
                    started_us: l.started.unix_micros(),
                    interval_ms: l.interval.map(ms),
                    next_interim_us: l.next_interim.map(Timestamp::unix_micros),
                })
                .collect(),
            starting: self
                .starting
                .iter()
                .map(|(k, (since, deadline))| pb::AcctStarting {
                    key: Some(key_to_pb(*k)),
                    since_us: since.unix_micros(),
                    deadline_us: deadline.unix_micros(),
                })
                .collect(),
            closing: self
                .closing
                .iter()
                .map(|(k, (stop, deadline))| pb::AcctClosing {
                    key: Some(key_to_pb(*k)),
                    stop: Some(record_to_pb(stop)),
                    deadline_us: deadline.unix_micros(),
                })
                .collect(),
            timers: self
                .timers
                .iter()
                .map(|(at, k, due)| pb::AcctTimer {
                    at_us: at.unix_micros(),
                    key: Some(key_to_pb(*k)),
                    due: match due {
                        Due::Start => 0,
                        Due::Interim => 1,
                        Due::Stop => 2,
                    },
                })
                .collect(),
            queue: self.queue.values().map(record_to_pb).collect(),
            traffic: self
                .traffic
                .iter()
                .map(|(k, t)| counters_to_pb(*k, t))
                .collect(),
            causes: self
                .causes
                .iter()
                .map(|(k, c)| pb::AcctCause {
                    key: Some(key_to_pb(*k)),
                    cause: u32::from(*c),
                })
                .collect(),
            dropped: self.dropped,
            nas_announce: self.nas.to_pb(),
        }
    }

    /// Replaces the state (not the settings) with `s`.
    pub fn load_pb(&mut self, s: &pb::AccountingState) -> Result<(), SnapshotError> {
        let mut live = BTreeMap::new();
        for l in &s.live {
            live.insert(
                key_from_pb(l.key.as_ref())?,
                Live {
                    started: Timestamp::from_unix_micros(l.started_us),
                    interval: l.interval_ms.map(Duration::from_millis),
                    next_interim: l.next_interim_us.map(Timestamp::from_unix_micros),
                },
            );
        }
        let mut starting = BTreeMap::new();
        for st in &s.starting {
            starting.insert(
                key_from_pb(st.key.as_ref())?,
                (
                    Timestamp::from_unix_micros(st.since_us),
                    Timestamp::from_unix_micros(st.deadline_us),
                ),
            );
        }
        let mut closing = BTreeMap::new();
        for c in &s.closing {
            let stop = c
                .stop
                .as_ref()
                .ok_or(SnapshotError::Missing("accounting.closing.stop"))?;
            closing.insert(
                key_from_pb(c.key.as_ref())?,
                (
                    record_from_pb(stop)?,
                    Timestamp::from_unix_micros(c.deadline_us),
                ),
            );
        }
        let mut timers = BTreeSet::new();
        for t in &s.timers {
            let due = match t.due {
                0 => Due::Start,
                1 => Due::Interim,
                2 => Due::Stop,
                _ => return Err(SnapshotError::BadField("accounting.timer.due")),
            };
            timers.insert((
                Timestamp::from_unix_micros(t.at_us),
                key_from_pb(t.key.as_ref())?,
                due,
            ));
        }
        let mut queue = BTreeMap::new();
        for r in &s.queue {
            let r = record_from_pb(r)?;
            queue.insert(r.id, r);
        }
        let mut traffic = BTreeMap::new();
        for c in &s.traffic {
            let (k, t) = counters_from_pb(c)?;
            traffic.insert(k, t);
        }
        let mut causes = BTreeMap::new();
        for c in &s.causes {
            causes.insert(
                key_from_pb(c.key.as_ref())?,
                AcctTerminateCause::from(c.cause),
            );
        }
        self.next_id = s.next_id.max(1);
        self.live = live;
        self.starting = starting;
        self.closing = closing;
        self.timers = timers;
        self.queue = queue;
        self.traffic = traffic;
        self.causes = causes;
        self.dropped = s.dropped;
        self.nas = super::NasAnnounce::from_pb(s.nas_announce);
        Ok(())
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn record_to_pb(r: &AccountingRecord) -> pb::AccountingRecord {
    // Acct-Status-Type values (RFC 2866 §5.1).
    let (kind, terminate_cause) = match r.kind {
        RecordKind::Start => (0x01, 0),
        RecordKind::Stop(c) => (0x02, u32::from(c)),
        RecordKind::Interim => (0x03, 0),
        RecordKind::AccountingOn => (0x07, 0),
        RecordKind::AccountingOff => (0x08, 0),
    };
    pb::AccountingRecord {
        id: r.id,
        kind,
        terminate_cause,
        session: Some(key_to_pb(r.session)),
        acct_session_id: r.acct_session_id.clone(),
        user: r.user.clone(),
        class: r.class.clone(),
        framed_ip: r.framed_ip.map(u32::from),
        framed_ipv6_prefixes: r
            .framed_ipv6_prefixes
            .iter()
            .copied()
            .map(v6_prefix_to_pb)
            .collect(),
        delegated_ipv6_prefix: r.delegated_ipv6_prefix.map(v6_prefix_to_pb),
        nas_port: r.nas_port,
        authentic: u32::from(r.authentic),
        calling_station: r.calling_station.clone(),
        called_station: r.called_station.clone(),
        traffic: Some(counters_to_pb(r.session, &r.traffic)),
        session_time_us: micros(r.session_time),
        event_time_us: r.event_time.unix_micros(),
    }
}

fn record_from_pb(r: &pb::AccountingRecord) -> Result<AccountingRecord, SnapshotError> {
    let kind = match r.kind {
        0x01 => RecordKind::Start,
        0x02 => RecordKind::Stop(AcctTerminateCause::from(r.terminate_cause)),
        0x03 => RecordKind::Interim,
        0x07 => RecordKind::AccountingOn,
        0x08 => RecordKind::AccountingOff,
        _ => return Err(SnapshotError::BadField("accounting.record.kind")),
    };
    let traffic = match &r.traffic {
        Some(c) => counters_from_pb(c)?.1,
        None => super::Traffic::default(),
    };
    Ok(AccountingRecord {
        id: r.id,
        kind,
        session: key_from_pb(r.session.as_ref())?,
        acct_session_id: r.acct_session_id.clone(),
        user: r.user.clone(),
        class: r.class.clone(),
        framed_ip: r.framed_ip.map(Ipv4Addr::from),
        framed_ipv6_prefixes: r
            .framed_ipv6_prefixes
            .iter()
            .map(v6_prefix_from_pb)
            .collect::<Result<_, _>>()?,
        delegated_ipv6_prefix: r
            .delegated_ipv6_prefix
            .as_ref()
            .map(v6_prefix_from_pb)
            .transpose()?,
        nas_port: r.nas_port,
        authentic: AcctAuthentic::from(r.authentic),
        calling_station: r.calling_station.clone(),
        called_station: r.called_station.clone(),
        traffic,
        session_time: Duration::from_micros(r.session_time_us),
        event_time: Timestamp::from_unix_micros(r.event_time_us),
    })
}
