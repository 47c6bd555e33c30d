//! # The control task's accounting and dynamic-authorization duties
//!
//! Contract: the control task reads every published session's counters
//! from the data plane each `counters_interval` and feeds them to the
//! engine as one `Input::Counters` batch (the input the cluster will
//! replicate), plus the final counters of a session as it is withdrawn
//! (so its Stop counts everything). Records the engine queues
//! (`Output::Account`) go to the accounting task; its acks come back as
//! `Input::AccountingAcked`. A record the accounting task's queue cannot
//! take now waits in a local backlog, sent in order on the next loop, so
//! none is skipped. DAE requests ([`DaeRequest`]) are resolved against the
//! engine's sessions and answered (no session: NAK 503).

use super::{Plane, Task};
use crate::dae::{Action, DaeRequest};
use crate::engine::SessionKey;
use crate::engine::{AccountingRecord, AdminCommand, Input, SessionCounters, Traffic};
use lns_proto::radius::dae::Outcome;
use lns_proto::radius::ErrorCause;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// Default period of counter reads.
pub const COUNTERS_INTERVAL: Duration = Duration::from_secs(5);

/// The channels between the control task and the accounting and DAE
/// tasks.
#[derive(Debug)]
pub struct AccountingChannels {
    /// To the accounting task (`None`: accounting is off).
    pub records: Option<mpsc::Sender<AccountingRecord>>,
    /// Acknowledged record ids from the accounting task.
    pub acks: mpsc::Receiver<u64>,
    /// Requests from the DAE task.
    pub dae: mpsc::Receiver<DaeRequest>,
    /// How often counters are read.
    pub counters_interval: Duration,
}

impl AccountingChannels {
    /// No accounting task and no DAE server.
    pub fn none() -> AccountingChannels {
        let (_, acks) = mpsc::channel(1);
        let (_, dae) = mpsc::channel(1);
        AccountingChannels {
            records: None,
            acks,
            dae,
            counters_interval: COUNTERS_INTERVAL,
        }
    }
}

/// The control task's side of accounting.
#[derive(Debug)]
pub(super) struct Accounts {
    records: Option<mpsc::Sender<AccountingRecord>>,
    backlog: VecDeque<AccountingRecord>,
}

impl Accounts {
    pub(super) fn new(records: Option<mpsc::Sender<AccountingRecord>>) -> Accounts {
        Accounts {
            records,
            backlog: VecDeque::new(),
        }
    }

    /// Whether shutdown must still wait for acks: records are queued in
    /// the engine and an accounting task can deliver them.
    pub(super) fn delivering(&self, pending: usize) -> bool {
        self.records.is_some() && pending > 0
    }

    /// Hands a record to the accounting task (or the backlog).
    pub(super) fn send(&mut self, record: AccountingRecord) {
        if self.records.is_none() {
            return;
        }
        self.backlog.push_back(record);
        self.flush();
    }

    /// Sends what the backlog holds, in order, while the queue has room.
    pub(super) fn flush(&mut self) {
        let Some(tx) = &self.records else {
            self.backlog.clear();
            return;
        };
        while let Some(r) = self.backlog.pop_front() {
            match tx.try_send(r) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(r)) => {
                    self.backlog.push_front(r);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::error!("accounting task gone: records stay queued in the engine");
                    self.records = None;
                    self.backlog.clear();
                    return;
                }
            }
        }
    }
}

impl<P: Plane> Task<P> {
    /// One counters batch for every published session.
    pub(super) fn read_counters(&mut self) {
        // Sessions the data plane does not serve give no counters.
        let keys: Vec<SessionKey> = self.engine.sessions().map(|s| s.key).collect();
        let batch: Vec<SessionCounters> = keys
            .into_iter()
            .filter_map(|k| self.counters_of(k))
            .collect();
        if !batch.is_empty() {
            self.apply(Input::Counters(batch));
        }
        self.accounts.flush();
    }

    /// A session's totals from the data plane, if it is published.
    pub(super) fn counters_of(&self, key: SessionKey) -> Option<SessionCounters> {
        let s = self.plane.session_stats(key.tunnel, key.session)?;
        Some(SessionCounters {
            session: key,
            traffic: Traffic {
                input_octets: s.rx_bytes,
                output_octets: s.tx_bytes,
                input_packets: s.rx_packets,
                output_packets: s.tx_packets,
            },
        })
    }

    /// Resolves and performs a DAE request, then answers it.
    pub(super) fn on_dae(&mut self, req: DaeRequest) {
        let keys = self.engine.select_sessions(&req.selector);
        let outcome = if keys.is_empty() {
            // RFC 5176 §3.5.
            Outcome::Nak(ErrorCause::SessionContextNotFound)
        } else {
            for k in keys {
                let input = match &req.action {
                    Action::Disconnect => Input::Admin(AdminCommand::KillSession(k)),
                    Action::Change(change) => Input::Reauthorize {
                        session: k,
                        change: change.clone(),
                    },
                };
                tracing::info!(session = %k, action = ?req.action, "DAE request applied");
                self.apply(input);
            }
            Outcome::Ack
        };
        let _ = req.reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RecordKind;
    use lns_proto::time::Timestamp;

    fn record(id: u64) -> AccountingRecord {
        AccountingRecord {
            id,
            kind: RecordKind::Start,
            session: SessionKey {
                tunnel: 1,
                session: 1,
            },
            acct_session_id: "00".into(),
            user: "alice".into(),
            class: Vec::new(),
            framed_ip: None,
            framed_ipv6_prefixes: Vec::new(),
            delegated_ipv6_prefix: None,
            nas_port: 0x0001_0001,
            authentic: lns_proto::radius::values::AcctAuthentic::Local,
            calling_station: None,
            called_station: None,
            traffic: Traffic::default(),
            session_time: Duration::ZERO,
            event_time: Timestamp::from_unix_millis(1_700_000_000_000),
        }
    }

    #[test]
    fn a_full_accounting_queue_keeps_records_in_order_in_the_backlog() {
        let (tx, mut rx) = mpsc::channel(1);
        let mut a = Accounts::new(Some(tx));
        for id in 1..=3 {
            a.send(record(id));
        }
        assert_eq!(a.backlog.len(), 2);
        let mut got = Vec::new();
        while got.len() < 3 {
            let r = rx.try_recv().expect("a record is waiting");
            got.push(r.id);
            a.flush();
        }
        assert_eq!(got, vec![1, 2, 3]);
        assert!(a.backlog.is_empty());
        assert!(a.delivering(1));
        assert!(!a.delivering(0));
        // Without an accounting task nothing is kept or awaited.
        let mut off = Accounts::new(None);
        off.send(record(9));
        assert!(off.backlog.is_empty());
        assert!(!off.delivering(5));
    }
}
