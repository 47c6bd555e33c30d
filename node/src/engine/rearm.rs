//! [`Input::Rearm`](super::Input::Rearm): what a node that just became
//! active does to the replicated state it inherited (FAILOVER.md, issue 6
//! items 4 and 8).
//!
//! Contract: deterministic (jitter drawn from the command's entropy), so
//! every replica makes the same change.
//! - Every unacked L2TP control message is due again within
//!   [`RETRANSMIT_SPREAD`]: the LAC gets our pending messages (and their
//!   acks) from the new node at once instead of after a long back-off.
//! - PPP timers (restart, authentication, LCP echo) due before
//!   `now + TIMER_SPREAD` are spread uniformly over that window, so that
//!   tens of thousands of sessions do not send an LCP echo in the same
//!   millisecond after a failover.
//! - Sessions whose AAA verdict was pending are ended with a CDN and a
//!   cause: the query died with the old active node and its proof (the
//!   PAP password or CHAP response) is not replicated (item 8: none left
//!   hanging; the subscriber redials).
//! - Interim-Updates that fell due while no node was active are spread
//!   over [`ACCOUNTING_SPREAD`] ([`Engine::rearm_accounting`]).

use super::{Engine, Level, SessionKey};
use crate::engine::session::AuthPhase;
use lns_proto::entropy::Entropy;
use lns_proto::l2tp::{CdnResult, Endpoint};
use lns_proto::ppp::Link;
use lns_proto::time::Timestamp;
use std::time::Duration;

/// Unacked control messages are retransmitted within this window.
pub const RETRANSMIT_SPREAD: Duration = Duration::from_millis(100);
/// PPP timers due soon are spread over this window.
pub const TIMER_SPREAD: Duration = Duration::from_secs(1);
/// Interim-Updates that fell due while no node was active are spread over
/// this window.
pub const ACCOUNTING_SPREAD: Duration = Duration::from_secs(30);

impl Engine {
    pub(super) fn rearm(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        let base = now.unix_micros();
        let mut state = self.endpoint.snapshot();
        for t in &mut state.tunnels {
            for m in &mut t.queue {
                m.deadline_us = base + jitter(RETRANSMIT_SPREAD, entropy);
            }
        }
        match Endpoint::restore(self.config.endpoint.clone(), &state) {
            Ok(e) => self.endpoint = e,
            Err(e) => self.notice(
                Level::Warn,
                None,
                format!("rearm: L2TP timers left as they were ({e})"),
            ),
        }
        let limit = base + micros(TIMER_SPREAD);
        let spread = |d: &mut Option<u64>, entropy: &mut dyn Entropy| {
            if d.is_some_and(|v| v < limit) {
                *d = Some(base + jitter(TIMER_SPREAD, entropy));
            }
        };
        let keys: Vec<SessionKey> = self.sessions.keys().copied().collect();
        let mut pending = Vec::new();
        for key in keys {
            let Some(s) = self.sessions.get_mut(&key) else {
                continue;
            };
            if matches!(s.auth, AuthPhase::Pending(_)) {
                pending.push(key);
                continue;
            }
            let mut l = s.link.snapshot();
            for a in [&mut l.lcp, &mut l.ipcp, &mut l.ipv6cp]
                .into_iter()
                .flatten()
            {
                spread(&mut a.deadline_us, entropy);
            }
            if let Some(a) = &mut l.auth {
                spread(&mut a.deadline_us, entropy);
            }
            spread(&mut l.echo_next_at_us, entropy);
            if let Ok(link) = Link::restore(std::sync::Arc::clone(&self.link_config), &l) {
                s.link = link;
            }
            self.dirty.insert(key);
        }
        for key in pending {
            self.notice(
                Level::Info,
                Some(key),
                "ending session: authentication interrupted by a failover".into(),
            );
            self.end_session(
                now,
                key,
                CdnResult::GeneralError,
                "authentication interrupted by a failover",
            );
        }
        // Overdue Interim-Updates: spread, not a burst (RFC 2869 §2.1
        // leaves the cadence to the NAS).
        self.rearm_accounting(now, ACCOUNTING_SPREAD, entropy);
        let keys: Vec<SessionKey> = self.sessions.keys().copied().collect();
        for key in keys {
            self.reindex(key);
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Uniform in `[0, window)` microseconds.
fn jitter(window: Duration, entropy: &mut dyn Entropy) -> u64 {
    entropy.next_u64() % micros(window).max(1)
}
