//! # Accounting records as replicated engine state (RFC 2866, RFC 2869)
//!
//! Contract (DESIGN.md D3): the engine decides *what* is accounted and
//! *when*; the AAA side only delivers. A record is queued (and announced
//! with [`Output::Account`]) when:
//! - the network layer of a session comes up: IPCP Opened, or IPV6CP
//!   Opened with no IPCP within [`IPV4_WAIT`] (a dual-stack Start then
//!   carries the Framed-IP-Address even when IPV6CP wins the race): one
//!   Start, never a second one;
//! - every Acct-Interim-Interval (the Access-Accept's, else
//!   [`AccountingConfig::interim_interval`]): an Interim-Update;
//! - the session ends: a Stop whose Acct-Terminate-Cause is the real
//!   reason (RFC 2866 §5.10, see [`terminate_cause`]). The Stop waits for
//!   the data plane's final counters (an [`Input::Counters`] naming the
//!   session, which the control task sends as soon as it withdraws the
//!   session) or at most [`FINAL_COUNTERS_WAIT`].
//!
//! A record stays queued until [`Input::AccountingAcked`] names it, so a
//! node that becomes active re-sends [`Engine::pending_accounting`]. The
//! queue is bounded by [`AccountingConfig::max_queued`]: past it the oldest
//! Interim is dropped (logged); a Start or Stop is never dropped. A newer
//! Interim of a session replaces its older unacknowledged one (counters
//! are totals, the newer says everything the older did).
//!
//! Accounting-On and Accounting-Off (NAS-wide, no session) are queued by
//! the rules of [`nas`] (once per cluster lifetime and on a lone node's
//! clean shutdown).
//!
//! Counters reach the engine as totals per session ([`Input::Counters`],
//! read from the data plane every `counters_interval`); they only move
//! forward, so a late or repeated batch cannot make a record under-count
//! what an earlier one said. Everything here is ordered data (BTreeMap,
//! ids from a counter): the same inputs give the same records.

mod nas;
mod snapshot;

pub use nas::{NasAnnounce, NO_SESSION};

use super::session::Session;
use super::types::{Level, Output, SessionKey};
use super::Engine;
use lns_proto::entropy::Entropy;
use lns_proto::l2tp::{CdnResult, SessionDownReason};
use lns_proto::ppp::{Direction, DisconnectCause, DisconnectCode};
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::radius::AcctTerminateCause;
use lns_proto::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Records kept unacknowledged before the oldest Interim is dropped.
pub const DEFAULT_MAX_QUEUED: usize = 100_000;

/// How long a Start waits for IPCP after IPV6CP opened.
pub const IPV4_WAIT: Duration = Duration::from_secs(3);

/// How long a Stop waits for the data plane's final counters.
pub const FINAL_COUNTERS_WAIT: Duration = Duration::from_secs(2);

/// Whether the engine keeps accounting records at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountingMode {
    /// No accounting server: no record is queued.
    Off,
    /// Records are queued until acknowledged.
    On,
}

/// Accounting settings (daemon configuration, not replicated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountingConfig {
    /// On or off.
    pub mode: AccountingMode,
    /// Interim-Update period when the Access-Accept gives none; `None`: no
    /// Interim-Update.
    pub interim_interval: Option<Duration>,
    /// Queue bound (see the module doc).
    pub max_queued: usize,
}

impl AccountingConfig {
    /// No accounting.
    pub fn off() -> AccountingConfig {
        AccountingConfig {
            mode: AccountingMode::Off,
            interim_interval: None,
            max_queued: DEFAULT_MAX_QUEUED,
        }
    }
}

/// Traffic of one session, 64-bit totals since it was published.
/// "Input" is from the subscriber, "output" to it (RFC 2866 §5.3, §5.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Octets from the subscriber.
    pub input_octets: u64,
    /// Octets to the subscriber.
    pub output_octets: u64,
    /// Packets from the subscriber.
    pub input_packets: u64,
    /// Packets to the subscriber.
    pub output_packets: u64,
}

impl Traffic {
    /// Field-wise maximum: counters never go back.
    pub fn max(self, other: Traffic) -> Traffic {
        Traffic {
            input_octets: self.input_octets.max(other.input_octets),
            output_octets: self.output_octets.max(other.output_octets),
            input_packets: self.input_packets.max(other.input_packets),
            output_packets: self.output_packets.max(other.output_packets),
        }
    }
}

/// One session's totals in an [`Input::Counters`] batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCounters {
    /// The session.
    pub session: SessionKey,
    /// Its totals.
    pub traffic: Traffic,
}

/// Which Accounting-Request a record becomes (RFC 2866 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// Start.
    Start,
    /// Interim-Update (RFC 2869 §2.1).
    Interim,
    /// Stop, with why the session ended (RFC 2866 §5.10).
    Stop(AcctTerminateCause),
    /// Accounting-On: the NAS starts accounting, no earlier session of it
    /// lives on (no session: see `nas`).
    AccountingOn,
    /// Accounting-Off: the NAS stops cleanly, after every Stop.
    AccountingOff,
}

/// One queued accounting record: everything the Accounting-Request says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountingRecord {
    /// Unique per engine (and so per cluster): names the record in
    /// [`Input::AccountingAcked`].
    pub id: u64,
    /// Start, Interim or Stop.
    pub kind: RecordKind,
    /// The session (ids may be reused later; `acct_session_id` is not).
    pub session: SessionKey,
    /// Acct-Session-Id, drawn from entropy when the session was created.
    pub acct_session_id: String,
    /// User-Name.
    pub user: String,
    /// Class values from the Access-Accept, echoed (RFC 2865 §5.25).
    pub class: Vec<Vec<u8>>,
    /// Framed-IP-Address.
    pub framed_ip: Option<Ipv4Addr>,
    /// Framed-IPv6-Prefix values (address, length).
    pub framed_ipv6_prefixes: Vec<(Ipv6Addr, u8)>,
    /// Delegated-IPv6-Prefix (address, length).
    pub delegated_ipv6_prefix: Option<(Ipv6Addr, u8)>,
    /// NAS-Port.
    pub nas_port: u32,
    /// Acct-Authentic: RADIUS or the local users file (RFC 2866 §5.6).
    pub authentic: AcctAuthentic,
    /// Calling-Station-Id (the LAC's Calling Number).
    pub calling_station: Option<Vec<u8>>,
    /// Called-Station-Id (the LAC's Called Number).
    pub called_station: Option<Vec<u8>>,
    /// Totals so far (zero in a Start).
    pub traffic: Traffic,
    /// Time since the network layer came up (zero in a Start).
    pub session_time: Duration,
    /// When the event happened (Event-Timestamp).
    pub event_time: Timestamp,
}

/// The accounting part of the engine's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounting {
    config: AccountingConfig,
    next_id: u64,
    /// Per live session, once it has a Start.
    live: BTreeMap<SessionKey, Live>,
    /// Starts waiting for IPCP: when IPV6CP opened, and the deadline.
    starting: BTreeMap<SessionKey, (Timestamp, Timestamp)>,
    /// Stops waiting for their final counters, with their deadline.
    closing: BTreeMap<SessionKey, (AccountingRecord, Timestamp)>,
    /// Deadlines: (when, session, what).
    timers: BTreeSet<(Timestamp, SessionKey, Due)>,
    /// Unacknowledged records by id (oldest first).
    queue: BTreeMap<u64, AccountingRecord>,
    /// Last totals seen per session (also before the Start).
    traffic: BTreeMap<SessionKey, Traffic>,
    /// Ending reasons noted before the session went down.
    causes: BTreeMap<SessionKey, AcctTerminateCause>,
    /// Interims dropped because the queue was full.
    dropped: u64,
    /// Accounting-On / Accounting-Off progress (replicated).
    nas: NasAnnounce,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Live {
    started: Timestamp,
    interval: Option<Duration>,
    next_interim: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Start,
    Interim,
    Stop,
}

impl Accounting {
    /// Nothing queued.
    pub fn new(config: AccountingConfig) -> Accounting {
        Accounting {
            config,
            next_id: 1,
            live: BTreeMap::new(),
            starting: BTreeMap::new(),
            closing: BTreeMap::new(),
            timers: BTreeSet::new(),
            queue: BTreeMap::new(),
            traffic: BTreeMap::new(),
            causes: BTreeMap::new(),
            dropped: 0,
            nas: NasAnnounce::Unannounced,
        }
    }

    /// Where the NAS-wide records (Accounting-On / -Off) stand.
    pub fn nas_announce(&self) -> NasAnnounce {
        self.nas
    }

    /// Unacknowledged records, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &AccountingRecord> {
        self.queue.values()
    }

    /// Interims dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The earliest Interim or Stop deadline.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _, _)| *t)
    }

    /// Whether a Start was queued for `key` and no Stop yet.
    pub fn is_live(&self, key: SessionKey) -> bool {
        self.live.contains_key(&key)
    }

    /// New settings (SIGHUP): applies to sessions that start afterwards.
    pub fn reconfigure(&mut self, config: AccountingConfig) {
        self.config = config;
    }

    /// Remembers why a session is being ended; the first reason wins.
    pub fn note_cause(&mut self, key: SessionKey, cause: AcctTerminateCause) {
        if self.live.contains_key(&key) {
            self.causes.entry(key).or_insert(cause);
        }
    }
}

impl Engine {
    /// Unacknowledged accounting records, oldest first: what a node that
    /// becomes active sends again.
    pub fn pending_accounting(&self) -> impl Iterator<Item = &AccountingRecord> {
        self.accounting.pending()
    }

    /// The accounting state (for status views and tests).
    pub fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    /// After a failover (a `Rearm` on the new active node): Interims that
    /// became due while no node was active are spread uniformly over
    /// `spread` from `now` (drawn from `entropy`, so every node computes
    /// the same times) instead of all going out at once.
    pub(super) fn rearm_accounting(
        &mut self,
        now: Timestamp,
        spread: Duration,
        entropy: &mut dyn Entropy,
    ) {
        let micros = u64::try_from(spread.as_micros()).unwrap_or(u64::MAX).max(1);
        let overdue: Vec<(SessionKey, Timestamp)> = self
            .accounting
            .live
            .iter()
            .filter_map(|(k, l)| l.next_interim.filter(|t| *t <= now).map(|t| (*k, t)))
            .collect();
        for (key, old) in overdue {
            let mut b = [0u8; 8];
            entropy.fill(&mut b);
            let at = now + Duration::from_micros(u64::from_be_bytes(b) % micros);
            let a = &mut self.accounting;
            a.timers.remove(&(old, key, Due::Interim));
            a.timers.insert((at, key, Due::Interim));
            if let Some(l) = a.live.get_mut(&key) {
                l.next_interim = Some(at);
            }
        }
    }

    /// A CoA's Acct-Interim-Interval (RFC 2869 §5.16): the session's next
    /// Interim one `interval` from `now`, then on that cadence; zero stops
    /// the Interims. A session without a Start yet takes it from its grant.
    pub(super) fn accounting_reschedule(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        interval: Duration,
    ) {
        let a = &mut self.accounting;
        let Some(live) = a.live.get_mut(&key) else {
            return;
        };
        if let Some(t) = live.next_interim.take() {
            a.timers.remove(&(t, key, Due::Interim));
        }
        live.interval = (!interval.is_zero()).then_some(interval);
        if let Some(i) = live.interval {
            let next = now + i;
            live.next_interim = Some(next);
            a.timers.insert((next, key, Due::Interim));
        }
    }

    /// The network layer of `key` came up: queue its Start (once) and arm
    /// its Interim timer.
    pub(super) fn accounting_network_up(&mut self, now: Timestamp, key: SessionKey) {
        let started = match self.accounting.starting.remove(&key) {
            Some((since, deadline)) => {
                self.accounting.timers.remove(&(deadline, key, Due::Start));
                since
            }
            None => now,
        };
        self.account_start(now, started, key);
    }

    /// IPV6CP opened: the Start waits up to [`IPV4_WAIT`] for IPCP.
    pub(super) fn accounting_ipv6_up(&mut self, now: Timestamp, key: SessionKey) {
        let a = &mut self.accounting;
        if a.config.mode == AccountingMode::Off
            || a.live.contains_key(&key)
            || a.starting.contains_key(&key)
        {
            return;
        }
        let deadline = now + IPV4_WAIT;
        a.starting.insert(key, (now, deadline));
        a.timers.insert((deadline, key, Due::Start));
    }

    /// Queues the Start (once) and arms the Interim timer; the session's
    /// time counts from `started`.
    fn account_start(&mut self, now: Timestamp, started: Timestamp, key: SessionKey) {
        let a = &mut self.accounting;
        if a.config.mode == AccountingMode::Off || a.live.contains_key(&key) {
            return; // RFC 2866 §5.1: one Start per session.
        }
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let interval = s
            .grant
            .as_ref()
            .and_then(|g| g.acct_interim_interval())
            .or(a.config.interim_interval)
            .filter(|d| !d.is_zero());
        let next_interim = interval.map(|i| started + i).map(|t| t.max(now));
        if let Some(t) = next_interim {
            a.timers.insert((t, key, Due::Interim));
        }
        a.live.insert(
            key,
            Live {
                started,
                interval,
                next_interim,
            },
        );
        let record = self.record(now, key, RecordKind::Start);
        if let Some(r) = record {
            self.queue_record(r);
        }
    }

    /// A batch of counters from the data plane.
    pub(super) fn accounting_counters(&mut self, batch: Vec<SessionCounters>) {
        if self.accounting.config.mode == AccountingMode::Off {
            return;
        }
        for c in batch {
            let a = &mut self.accounting;
            if let Some((mut stop, deadline)) = a.closing.remove(&c.session) {
                a.timers.remove(&(deadline, c.session, Due::Stop));
                stop.traffic = stop.traffic.max(c.traffic);
                self.queue_record(stop);
                continue;
            }
            // Only sessions the engine knows; a late batch for a session
            // that is gone must not linger.
            if self.sessions.contains_key(&c.session) {
                let a = &mut self.accounting;
                let t = a.traffic.entry(c.session).or_default();
                *t = t.max(c.traffic);
            }
        }
    }

    /// A server acknowledged record `id` (Accounting-Response).
    pub(super) fn accounting_acked(&mut self, id: u64) {
        self.accounting.queue.remove(&id);
    }

    /// Interims and overdue Stops at `now`.
    pub(super) fn accounting_tick(&mut self, now: Timestamp) {
        loop {
            let Some(&(t, key, due)) = self.accounting.timers.first() else {
                return;
            };
            if t > now {
                return;
            }
            self.accounting.timers.remove(&(t, key, due));
            match due {
                Due::Start => {
                    // IPCP did not follow IPV6CP: an IPv6-only Start.
                    if let Some((since, _)) = self.accounting.starting.remove(&key) {
                        self.account_start(now, since, key);
                    }
                }
                Due::Interim => {
                    let Some(live) = self.accounting.live.get_mut(&key) else {
                        continue;
                    };
                    let Some(i) = live.interval else { continue };
                    // The next one on the session's own cadence, never in
                    // the past (a late tick does not cause a burst).
                    let mut next = t + i;
                    if next <= now {
                        next = now + i;
                    }
                    live.next_interim = Some(next);
                    self.accounting.timers.insert((next, key, Due::Interim));
                    if let Some(r) = self.record(now, key, RecordKind::Interim) {
                        self.queue_record(r);
                    }
                }
                Due::Stop => {
                    // The data plane never gave final counters: the last
                    // batch is what we know (DESIGN.md D2: under-count,
                    // never over-count).
                    if let Some((stop, _)) = self.accounting.closing.remove(&key) {
                        self.queue_record(stop);
                    }
                }
            }
        }
    }

    /// The session is gone: prepare its Stop (if it had a Start) and wait
    /// for the final counters.
    pub(super) fn accounting_session_down(
        &mut self,
        now: Timestamp,
        s: &Session,
        reason: &SessionDownReason,
    ) {
        let key = s.key;
        // A session that ends while its Start waits for IPCP still gets
        // its Start (and so its Stop).
        if let Some((since, deadline)) = self.accounting.starting.remove(&key) {
            self.accounting.timers.remove(&(deadline, key, Due::Start));
            self.sessions.insert(key, Box::new(s.clone()));
            self.account_start(now, since, key);
            self.sessions.remove(&key);
        }
        let a = &mut self.accounting;
        let noted = a.causes.remove(&key);
        let last = a.traffic.remove(&key).unwrap_or_default();
        let Some(live) = a.live.remove(&key) else {
            return; // Never reached the network layer: no Start, no Stop.
        };
        if let Some(t) = live.next_interim {
            a.timers.remove(&(t, key, Due::Interim));
        }
        let cause = noted.unwrap_or_else(|| down_cause(reason));
        let mut stop = build_record(0, now, s, live.started, RecordKind::Stop(cause), last);
        // The IPv6 state is released after accounting (engine::ipv6).
        let (framed, delegated) = ipv6_of(self.session_ipv6(key));
        stop.framed_ipv6_prefixes = framed;
        stop.delegated_ipv6_prefix = delegated;
        let a = &mut self.accounting;
        // A Stop still waiting for counters under the same key (ids
        // reused at once) goes out now with what it has.
        if let Some((old, deadline)) = a.closing.remove(&key) {
            a.timers.remove(&(deadline, key, Due::Stop));
            self.queue_record(old);
        }
        let a = &mut self.accounting;
        stop.id = 0; // numbered when queued
        let deadline = now + FINAL_COUNTERS_WAIT;
        a.timers.insert((deadline, key, Due::Stop));
        a.closing.insert(key, (stop, deadline));
    }

    /// A record of `key` as of `now`, if the session is live.
    fn record(
        &self,
        now: Timestamp,
        key: SessionKey,
        kind: RecordKind,
    ) -> Option<AccountingRecord> {
        let s = self.sessions.get(&key)?;
        let live = self.accounting.live.get(&key)?;
        let traffic = match kind {
            RecordKind::Start => Traffic::default(),
            _ => self
                .accounting
                .traffic
                .get(&key)
                .copied()
                .unwrap_or_default(),
        };
        let mut r = build_record(0, now, s, live.started, kind, traffic);
        let (framed, delegated) = ipv6_of(self.session_ipv6(key));
        r.framed_ipv6_prefixes = framed;
        r.delegated_ipv6_prefix = delegated;
        Some(r)
    }

    /// Numbers a record, queues it, announces it and enforces the bound.
    fn queue_record(&mut self, mut record: AccountingRecord) {
        let a = &mut self.accounting;
        record.id = a.next_id;
        a.next_id += 1;
        if record.kind == RecordKind::Interim {
            // A newer Interim says all an older unacknowledged one said.
            let older: Vec<u64> = a
                .queue
                .values()
                .filter(|r| {
                    r.kind == RecordKind::Interim && r.acct_session_id == record.acct_session_id
                })
                .map(|r| r.id)
                .collect();
            for id in older {
                a.queue.remove(&id);
            }
        }
        a.queue.insert(record.id, record.clone());
        let mut notice = None;
        if a.queue.len() > a.config.max_queued {
            let oldest_interim = a
                .queue
                .values()
                .find(|r| r.kind == RecordKind::Interim)
                .map(|r| (r.id, r.session, r.acct_session_id.clone()));
            match oldest_interim {
                Some((id, session, acct)) => {
                    a.queue.remove(&id);
                    a.dropped += 1;
                    notice = Some((
                        Level::Warn,
                        Some(session),
                        format!(
                            "accounting queue full ({} records unacknowledged): dropped the \
                             oldest Interim-Update (Acct-Session-Id {acct})",
                            a.config.max_queued
                        ),
                    ));
                }
                None => {
                    notice = Some((
                        Level::Warn,
                        None,
                        format!(
                            "accounting queue above its bound ({} > {}): only Start and Stop \
                             records, kept",
                            a.queue.len(),
                            a.config.max_queued
                        ),
                    ));
                }
            }
        }
        self.outputs.push_back(Output::Account(record));
        if let Some((level, session, text)) = notice {
            self.notice(level, session, text);
        }
    }
}

/// Acct-Terminate-Cause for a PPP link that went down without the engine
/// having noted a reason first (RFC 2866 §5.10).
pub fn terminate_cause(cause: &DisconnectCause) -> AcctTerminateCause {
    match (cause.code, cause.direction) {
        // The subscriber sent LCP Terminate-Request.
        (DisconnectCode::Normal, Direction::Peer) => AcctTerminateCause::UserRequest,
        // Keepalive lost: the line is gone.
        (DisconnectCode::EchoTimeout | DisconnectCode::NoPppPackets, _) => {
            AcctTerminateCause::LostCarrier
        }
        (DisconnectCode::Administrative, _) => AcctTerminateCause::AdminReset,
        (DisconnectCode::FsmTimeout | DisconnectCode::LoopedBack, _) => {
            AcctTerminateCause::PortError
        }
        (
            DisconnectCode::AuthFailed
            | DisconnectCode::AuthTimeout
            | DisconnectCode::AuthProtocolRefused,
            _,
        ) => AcctTerminateCause::UserError,
        _ => AcctTerminateCause::NasError,
    }
}

/// Acct-Terminate-Cause when the L2TP session went down with no reason
/// noted before (RFC 2866 §5.10).
pub fn down_cause(reason: &SessionDownReason) -> AcctTerminateCause {
    match reason {
        // The LAC hung up the call: the subscriber's line dropped.
        SessionDownReason::PeerCdn { .. } => AcctTerminateCause::LostCarrier,
        SessionDownReason::LocalCdn { result, .. } => match result {
            CdnResult::LostCarrier => AcctTerminateCause::LostCarrier,
            CdnResult::Administrative => AcctTerminateCause::AdminReset,
            _ => AcctTerminateCause::NasError,
        },
        // The tunnel died under the session (LAC unreachable or gone).
        SessionDownReason::TunnelDown => AcctTerminateCause::LostService,
    }
}

/// An IPv6 prefix and its length.
type Prefix = (Ipv6Addr, u8);

/// Framed-IPv6-Prefix (the link /64) and Delegated-IPv6-Prefix of a
/// session, for its records (RFC 3162 §2.3, RFC 4818 §3).
fn ipv6_of(v6: Option<&super::SessionIpv6>) -> (Vec<Prefix>, Option<Prefix>) {
    match v6 {
        Some(v) => (
            vec![(v.link_prefix, 64)],
            v.delegated.map(|(p, l, _)| (p, l)),
        ),
        None => (Vec::new(), None),
    }
}

fn build_record(
    id: u64,
    now: Timestamp,
    s: &Session,
    started: Timestamp,
    kind: RecordKind,
    traffic: Traffic,
) -> AccountingRecord {
    let session_time = match kind {
        RecordKind::Start => Duration::ZERO,
        _ => now.saturating_since(started),
    };
    AccountingRecord {
        id,
        kind,
        session: s.key,
        acct_session_id: s.acct_session_id.to_string(),
        user: s.user_text(),
        class: s
            .grant
            .as_ref()
            .map(|g| g.class().to_vec())
            .unwrap_or_default(),
        framed_ip: s.ipv4,
        framed_ipv6_prefixes: Vec::new(),
        delegated_ipv6_prefix: None,
        nas_port: nas_port(s.key),
        authentic: s
            .grant
            .as_ref()
            .map_or(AcctAuthentic::Local, |g| g.authentic()),
        calling_station: s.stations.calling_vec(),
        called_station: s.stations.called_vec(),
        traffic,
        session_time,
        event_time: now,
    }
}

/// NAS-Port of a session: unique per session on this node (tunnel id in
/// the high half, session id in the low half), as the Access-Request said.
pub fn nas_port(key: SessionKey) -> u32 {
    (u32::from(key.tunnel) << 16) | u32::from(key.session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2866_5_10_causes_of_links_that_went_down_by_themselves() {
        let c = |code, dir| terminate_cause(&DisconnectCause::new(code, dir));
        assert_eq!(
            c(DisconnectCode::Normal, Direction::Peer),
            AcctTerminateCause::UserRequest
        );
        assert_eq!(
            c(DisconnectCode::EchoTimeout, Direction::Local),
            AcctTerminateCause::LostCarrier
        );
        assert_eq!(
            c(DisconnectCode::LoopedBack, Direction::Local),
            AcctTerminateCause::PortError
        );
        assert_eq!(
            down_cause(&SessionDownReason::TunnelDown),
            AcctTerminateCause::LostService
        );
        assert_eq!(
            down_cause(&SessionDownReason::PeerCdn {
                result: CdnResult::LostCarrier,
                error: lns_proto::l2tp::ErrorCode::NoError,
                cause: None
            }),
            AcctTerminateCause::LostCarrier
        );
    }

    #[test]
    fn traffic_never_goes_back() {
        let a = Traffic {
            input_octets: 10,
            output_octets: 5,
            input_packets: 1,
            output_packets: 9,
        };
        let b = Traffic {
            input_octets: 7,
            output_octets: 8,
            input_packets: 2,
            output_packets: 3,
        };
        assert_eq!(
            a.max(b),
            Traffic {
                input_octets: 10,
                output_octets: 8,
                input_packets: 2,
                output_packets: 9
            }
        );
    }
}
