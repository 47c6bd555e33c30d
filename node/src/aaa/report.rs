//! # RADIUS statistics into metrics
//!
//! Contract: the sans-IO RADIUS client keeps per-server totals
//! (`ServerStats`); [`RadiusReport::report`] compares them with what it
//! reported last and adds the increases to the `lnsd_radius_*` metrics,
//! labelled by the configured server address (a configuration item, never
//! a user). Called by the AAA task after each step of the client, so no
//! timer is needed. The AAA task reports kind `auth`, the accounting task
//! kind `accounting` ([`RadiusReport::for_kind`]).
//!
//! Mapping: requests sent = first transmissions + retransmissions;
//! timeouts = transmissions left unanswered (each retransmission follows
//! one, and so does each request that ran out of tries); latency = one
//! observation per new authenticated reply, from the client's recent
//! latencies (newest last).

use crate::metrics::{Metrics, RadiusKind};
use lns_proto::radius::{Client, ServerStats};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// What was reported per server so far.
#[derive(Debug, Default)]
pub struct RadiusReport {
    last: BTreeMap<SocketAddr, Seen>,
    kind: Kind,
}

/// The `kind` label of what this report counts (`auth` by default).
#[derive(Debug, Default)]
enum Kind {
    #[default]
    Auth,
    Accounting,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    sent: u64,
    timeouts: u64,
    replies: u64,
}

impl Seen {
    fn of(s: &ServerStats) -> Seen {
        Seen {
            sent: s.requests + s.retransmits,
            timeouts: s.retransmits + s.timeouts,
            replies: s.replies,
        }
    }
}

impl RadiusReport {
    /// A report labelled with `kind`.
    pub fn for_kind(kind: RadiusKind) -> RadiusReport {
        RadiusReport {
            last: BTreeMap::new(),
            kind: match kind {
                RadiusKind::Auth => Kind::Auth,
                RadiusKind::Accounting => Kind::Accounting,
            },
        }
    }

    /// Adds what changed in `client`'s statistics since the last call.
    pub fn report(&mut self, client: &Client, metrics: &Metrics) {
        let kind = match self.kind {
            Kind::Auth => RadiusKind::Auth,
            Kind::Accounting => RadiusKind::Accounting,
        };
        metrics.radius_board().publish(kind, client);
        for (server, stats) in client.all_stats() {
            let now = Seen::of(stats);
            let before = self.last.insert(*server, now).unwrap_or_default();
            let label = server.to_string();
            for _ in before.sent..now.sent {
                metrics.radius_request_sent(&label, kind);
            }
            for _ in before.timeouts..now.timeouts {
                metrics.radius_timeout(&label, kind);
            }
            let new = usize::try_from(now.replies.saturating_sub(before.replies))
                .unwrap_or(usize::MAX)
                .min(stats.latencies.len());
            let skip = stats.latencies.len() - new;
            for latency in stats.latencies.iter().skip(skip) {
                metrics.radius_answered(&label, kind, *latency);
            }
        }
    }
}
