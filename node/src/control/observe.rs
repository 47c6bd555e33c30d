//! # What the control task tells the metrics
//!
//! Contract: [`Observer`] turns what the control task sees into
//! [`Metrics`] calls, without per-session or per-user labels:
//! - events as they pass: authentication verdicts by method (the method is
//!   remembered from the engine's query until AAA answers), sessions that
//!   reach the established state (first publication with an IPv4 address)
//!   and sessions that end before it, by the first known cause;
//! - once per [`super::STATS_INTERVAL`], [`Observer::sample`]: sessions by
//!   PPP phase and tunnels by state from the engine's tables, pool size and
//!   use, and the increases of the engine's monotonic counts (retransmits,
//!   tunnels established, tunnel setup failures and control drops by
//!   reason, ignored subscriber IPv6 messages by reason);
//! - [`ControlTraffic`]: control datagrams in and out, shared with the
//!   data-plane collector to split L2TP traffic into control and data.
//!
//! It holds only bookkeeping keyed by session (no protocol state), and
//! forgets a session when it ends.

use crate::engine::{AuthOutcome, AuthQuery, Ending, Engine, SessionKey};
use crate::metrics::{
    AuthMethod, AuthOutcome as Verdict, ControlDrop, Metrics, SessionCounts, SessionSetupFailure,
    TunnelCounts, TunnelSetupFailure,
};
use lns_proto::l2tp::tunnel::Phase as TunnelPhase;
use lns_proto::ppp::{AuthRequest, Phase};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// L2TP control datagrams that went through the control task (totals).
#[derive(Debug, Default)]
pub struct ControlTraffic {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
}

/// Received and sent (packets, bytes), read by the metrics collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControlTrafficTotals {
    /// Control datagrams handed to the control task.
    pub rx: (u64, u64),
    /// Control datagrams the control task sent.
    pub tx: (u64, u64),
}

impl ControlTraffic {
    /// The totals so far.
    pub fn totals(&self) -> ControlTrafficTotals {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ControlTrafficTotals {
            rx: (load(&self.rx_packets), load(&self.rx_bytes)),
            tx: (load(&self.tx_packets), load(&self.tx_bytes)),
        }
    }

    pub(super) fn received(&self, bytes: usize) {
        self.rx_packets.fetch_add(1, Ordering::Relaxed);
        self.rx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(super) fn sent(&self, bytes: usize) {
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// The control task's side of the metrics.
#[derive(Debug)]
pub struct Observer {
    metrics: Arc<Metrics>,
    traffic: Arc<ControlTraffic>,
    /// Method of each query AAA has not answered yet.
    asked: BTreeMap<(SessionKey, u64), AuthMethod>,
    /// Sessions counted as established.
    established: BTreeSet<SessionKey>,
    /// First known cause for sessions that may still fail.
    cause: BTreeMap<SessionKey, SessionSetupFailure>,
    /// Engine totals at the last sample.
    last: Totals,
}

#[derive(Clone, Debug, Default)]
struct Totals {
    retransmits: u64,
    tunnels_up: u64,
    drops: Vec<(ControlDrop, u64)>,
    tunnel_failures: Vec<(TunnelSetupFailure, u64)>,
    v6_ignored: BTreeMap<&'static str, u64>,
}

impl Observer {
    /// An observer reporting to `metrics`, counting control traffic in
    /// `traffic`.
    pub fn new(metrics: Arc<Metrics>, traffic: Arc<ControlTraffic>) -> Observer {
        Observer {
            metrics,
            traffic,
            asked: BTreeMap::new(),
            established: BTreeSet::new(),
            cause: BTreeMap::new(),
            last: Totals::default(),
        }
    }

    /// The control traffic counters.
    pub fn traffic(&self) -> &ControlTraffic {
        &self.traffic
    }

    /// The engine asked AAA.
    pub fn asked(&mut self, q: &AuthQuery) {
        let method = match q.proof {
            AuthRequest::Pap { .. } => AuthMethod::Pap,
            AuthRequest::Chap { .. } => AuthMethod::Chap,
        };
        self.asked.insert((q.session, q.request), method);
    }

    /// AAA answered (or the query could not be made).
    pub fn answered(&mut self, session: SessionKey, request: u64, outcome: &AuthOutcome) {
        let Some(method) = self.asked.remove(&(session, request)) else {
            return;
        };
        match outcome {
            AuthOutcome::Accept(_) => self.metrics.authentication(method, Verdict::Accept),
            AuthOutcome::Reject => {
                self.metrics.authentication(method, Verdict::Reject);
                self.cause
                    .entry(session)
                    .or_insert(SessionSetupFailure::AuthRejected);
            }
            // Not a decision about the subscriber: no server answered.
            AuthOutcome::Unavailable => {
                self.cause
                    .entry(session)
                    .or_insert(SessionSetupFailure::RadiusUnavailable);
            }
        }
    }

    /// A session was published; with an address it is established.
    pub fn published(&mut self, session: SessionKey, has_address: bool) {
        if has_address && self.established.insert(session) {
            self.cause.remove(&session);
            self.metrics.session_established();
        }
    }

    /// A session ended; before being established it is a setup failure,
    /// counted under the AAA verdict seen here if any, else the engine's
    /// `engine_cause`.
    pub fn ended(&mut self, session: SessionKey, engine_cause: SessionSetupFailure) {
        self.asked.retain(|(s, _), _| *s != session);
        let cause = self.cause.remove(&session);
        if !self.established.remove(&session) {
            self.metrics
                .session_setup_failed(cause.unwrap_or(engine_cause));
        }
    }

    /// Samples the engine's tables and counts (once per stats interval).
    pub fn sample(&mut self, engine: &Engine) {
        self.metrics.observe_sessions(&session_counts(engine));
        self.metrics.observe_tunnels(&tunnel_counts(engine));
        for (pool, used, size) in engine.pools().usage() {
            self.metrics.observe_pool(&pool, size, used);
        }
        let counters = engine.endpoint().counters();
        let tally = engine.tally();
        let now = Totals {
            retransmits: counters.retransmits,
            tunnels_up: counters.tunnels_up,
            drops: tally.control_drops().collect(),
            tunnel_failures: tally.tunnel_setup_failures().collect(),
            v6_ignored: engine.ipv6_ignored().collect(),
        };
        let last = std::mem::replace(&mut self.last, now);
        let now = &self.last;
        self.metrics
            .control_retransmitted(now.retransmits.saturating_sub(last.retransmits));
        for _ in last.tunnels_up..now.tunnels_up {
            self.metrics.tunnel_established();
        }
        for (i, &(reason, n)) in now.drops.iter().enumerate() {
            let before = last.drops.get(i).map_or(0, |d| d.1);
            for _ in before..n {
                self.metrics.control_dropped(reason);
            }
        }
        for (reason, &n) in &now.v6_ignored {
            let before = last.v6_ignored.get(reason).copied().unwrap_or(0);
            if n > before {
                self.metrics.ipv6_ignored(reason, n - before);
            }
        }
        for (i, &(reason, n)) in now.tunnel_failures.iter().enumerate() {
            let before = last.tunnel_failures.get(i).map_or(0, |d| d.1);
            for _ in before..n {
                self.metrics.tunnel_setup_failed(reason);
            }
        }
    }
}

/// Sessions by PPP phase (RFC 1661 §3.2).
pub fn session_counts(engine: &Engine) -> SessionCounts {
    let mut c = SessionCounts::default();
    for s in engine.sessions() {
        let slot = match (s.ending, s.link.phase()) {
            (Ending::With(..), _) | (_, Phase::Terminate) => &mut c.closing,
            (_, Phase::Authenticate) => &mut c.authenticating,
            (_, Phase::Network) if s.ipv4.is_some() || engine.session_ipv6(s.key).is_some() => {
                &mut c.established
            }
            _ => &mut c.negotiating,
        };
        *slot += 1;
    }
    c
}

/// Tunnels by control-connection state (RFC 2661 §7.2).
pub fn tunnel_counts(engine: &Engine) -> TunnelCounts {
    let mut c = TunnelCounts::default();
    for t in engine.endpoint().tunnels() {
        let slot = match t.phase {
            TunnelPhase::WaitCtlReply | TunnelPhase::WaitCtlConn => &mut c.establishing,
            TunnelPhase::Established => &mut c.established,
            TunnelPhase::Closing { .. } => &mut c.closing,
        };
        *slot += 1;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Grant;

    fn observer() -> (Observer, Arc<Metrics>) {
        let m = Arc::new(Metrics::new("0", "test").expect("static definitions"));
        (Observer::new(Arc::clone(&m), Arc::default()), m)
    }

    fn value(m: &Metrics, series: &str) -> Option<f64> {
        let text = m.encode().expect("encodes");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    fn query(session: SessionKey, request: u64, proof: AuthRequest) -> AuthQuery {
        AuthQuery {
            session,
            request,
            nas_port: 1,
            calling_station: None,
            called_station: None,
            proof,
        }
    }

    fn key(session: u16) -> SessionKey {
        SessionKey { tunnel: 1, session }
    }

    #[test]
    fn verdicts_are_counted_by_method_and_failures_by_first_cause() {
        let (mut o, m) = observer();
        let chap = AuthRequest::Chap {
            name: b"bob".to_vec(),
            identifier: 0x01,
            challenge: vec![0x00; 16],
            response: vec![0x00; 16],
        };
        let pap = AuthRequest::Pap {
            name: b"alice".to_vec(),
            password: b"x".to_vec(),
        };
        o.asked(&query(key(1), 1, pap.clone()));
        o.answered(key(1), 1, &AuthOutcome::Accept(Grant::default_pool()));
        o.published(key(1), false);
        o.published(key(1), true);
        o.published(key(1), true);
        o.asked(&query(key(2), 2, chap));
        o.answered(key(2), 2, &AuthOutcome::Reject);
        o.ended(key(2), SessionSetupFailure::Administrative);
        o.asked(&query(key(3), 3, pap));
        o.answered(key(3), 3, &AuthOutcome::Unavailable);
        o.ended(key(3), SessionSetupFailure::Administrative);
        // An answer nobody asked for (a stale request) counts nothing.
        o.answered(key(4), 9, &AuthOutcome::Reject);
        o.ended(key(1), SessionSetupFailure::Timeout);
        // No AAA verdict: the engine's cause is the label.
        o.ended(key(5), SessionSetupFailure::PoolExhausted);
        o.ended(key(6), SessionSetupFailure::SessionLimit);
        o.ended(key(7), SessionSetupFailure::Timeout);
        let pap_accept = "lnsd_authentications_total{method=\"pap\",outcome=\"accept\"}";
        let chap_reject = "lnsd_authentications_total{method=\"chap\",outcome=\"reject\"}";
        assert_eq!(value(&m, pap_accept), Some(1.0));
        assert_eq!(value(&m, chap_reject), Some(1.0));
        assert_eq!(value(&m, "lnsd_session_setups_total"), Some(1.0));
        let failed = |r: &str| {
            value(
                &m,
                &format!("lnsd_session_setup_failures_total{{reason=\"{r}\"}}"),
            )
        };
        assert_eq!(failed("auth_rejected"), Some(1.0));
        assert_eq!(failed("radius_unavailable"), Some(1.0));
        assert_eq!(failed("timeout"), Some(1.0), "session 1 was established");
        assert_eq!(failed("pool_exhausted"), Some(1.0));
        assert_eq!(failed("session_limit"), Some(1.0));
        assert_eq!(failed("peer_closed"), Some(0.0), "nothing is lumped");
        assert_eq!(failed("administrative"), Some(0.0));
        assert!(o.asked.is_empty() && o.cause.is_empty() && o.established.is_empty());
    }

    #[test]
    fn control_traffic_totals_add_up() {
        let t = ControlTraffic::default();
        t.received(20);
        t.received(30);
        t.sent(12);
        assert_eq!(
            t.totals(),
            ControlTrafficTotals {
                rx: (2, 50),
                tx: (1, 12)
            }
        );
    }
}
