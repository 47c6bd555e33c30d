//! # Accounting-On and Accounting-Off (RFC 2866 §5.1, Acct-Status-Type 7 and 8)
//!
//! Contract: the engine tells the accounting server when the NAS as a
//! whole starts and stops accounting, so that the server can close the
//! sessions it still counts as open (RFC 2866 §5.1: Accounting-On "the
//! NAS (re)started", Accounting-Off "the NAS is going away").
//! - **Accounting-On** is queued by the first input an engine with no
//!   session applies, before anything that input causes: on a lone node,
//!   at start (the control task ticks once at start); in a cluster, when
//!   the first active node of a cluster with no established sessions
//!   proposes its first input. The [`NasAnnounce`] state is replicated
//!   (snapshot field `nas_announce`), so a failover, a restarted member
//!   or a member catching up never sends a second one: that would tell the
//!   server every session of the cluster ended while they all live on. An
//!   engine that already has sessions when it first applies an input (a
//!   snapshot written before this state existed) skips it for the same
//!   reason.
//! - **Accounting-Off** is queued once the engine is shutting down
//!   (`AdminCommand::Shutdown`, a lone node's SIGTERM) and every session
//!   is gone with its Stop queued. A cluster member never shuts the
//!   engine down (it steps down and another member carries on, a transfer
//!   included), so a cluster never sends one.
//!
//! Both are ordinary queued records (kept until acknowledged, sent again
//! after a failover) with no session: the session key is 0/0 and the
//! Acct-Session-Id names the event (RFC 2866 §5.5 wants one in every
//! Accounting-Request), drawn from entropy like a session's.

use super::{AccountingMode, AccountingRecord, RecordKind, Traffic};
use crate::engine::types::SessionKey;
use crate::engine::{Engine, RunState};
use lns_proto::entropy::Entropy;
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::time::Timestamp;
use std::time::Duration;

/// Where the engine stands with the NAS-wide records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NasAnnounce {
    /// No Accounting-On yet (a fresh engine).
    Unannounced,
    /// Accounting-On queued (or skipped: sessions already existed).
    Announced,
    /// Accounting-Off queued.
    SignedOff,
}

impl NasAnnounce {
    /// Its replicated number.
    pub fn to_pb(self) -> u32 {
        match self {
            NasAnnounce::Unannounced => 0,
            NasAnnounce::Announced => 1,
            NasAnnounce::SignedOff => 2,
        }
    }

    /// From its replicated number (unknown: announced, the safe side: a
    /// second Accounting-On would end every session on the server).
    pub fn from_pb(v: u32) -> NasAnnounce {
        match v {
            0 => NasAnnounce::Unannounced,
            2 => NasAnnounce::SignedOff,
            _ => NasAnnounce::Announced,
        }
    }
}

/// The session key of a NAS-wide record.
pub const NO_SESSION: SessionKey = SessionKey {
    tunnel: 0,
    session: 0,
};

impl Engine {
    /// Before an input: the Accounting-On of a fresh engine (see the
    /// module doc).
    pub(in crate::engine) fn accounting_announce(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) {
        let a = &self.accounting;
        if a.nas != NasAnnounce::Unannounced || a.config.mode == AccountingMode::Off {
            return;
        }
        self.accounting.nas = NasAnnounce::Announced;
        if self.sessions.is_empty() {
            let r = nas_record(now, RecordKind::AccountingOn, entropy);
            self.queue_record(r);
        }
    }

    /// After an input: the Accounting-Off once a shutdown has ended every
    /// session and queued its Stop.
    pub(in crate::engine) fn accounting_sign_off(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) {
        let a = &self.accounting;
        if self.state != RunState::ShuttingDown
            || a.nas != NasAnnounce::Announced
            || a.config.mode == AccountingMode::Off
            || !self.sessions.is_empty()
            || !a.closing.is_empty()
            || !a.starting.is_empty()
        {
            return;
        }
        self.accounting.nas = NasAnnounce::SignedOff;
        let r = nas_record(now, RecordKind::AccountingOff, entropy);
        self.queue_record(r);
    }

    /// Whether every record a shutdown owes is queued: no Stop waits for
    /// its final counters and, with accounting on, the Accounting-Off is
    /// queued.
    pub fn accounting_settled(&self) -> bool {
        let a = &self.accounting;
        a.closing.is_empty()
            && (a.config.mode == AccountingMode::Off || a.nas != NasAnnounce::Announced)
    }
}

/// A NAS-wide record at `now`.
fn nas_record(now: Timestamp, kind: RecordKind, entropy: &mut dyn Entropy) -> AccountingRecord {
    let mut b = [0u8; 8];
    entropy.fill(&mut b);
    AccountingRecord {
        id: 0, // numbered when queued
        kind,
        session: NO_SESSION,
        acct_session_id: format!("nas-{:016x}", u64::from_be_bytes(b)),
        user: String::new(),
        class: Vec::new(),
        framed_ip: None,
        framed_ipv6_prefixes: Vec::new(),
        delegated_ipv6_prefix: None,
        nas_port: 0,
        authentic: AcctAuthentic::Radius,
        calling_station: None,
        called_station: None,
        traffic: Traffic::default(),
        session_time: Duration::ZERO,
        event_time: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replicated_number_round_trips_and_unknown_is_announced() {
        for n in [
            NasAnnounce::Unannounced,
            NasAnnounce::Announced,
            NasAnnounce::SignedOff,
        ] {
            assert_eq!(NasAnnounce::from_pb(n.to_pb()), n);
        }
        assert_eq!(NasAnnounce::from_pb(9), NasAnnounce::Announced);
    }
}
