//! Why a session ended before it was established, as the engine saw it:
//! the `reason` label of `lnsd_session_setup_failures_total`.
//!
//! Contract: the engine notes the first cause it learns for a session
//! ([`SetupFailures::note`]): the AAA verdict, an address refusal, the
//! session limit, the PPP link's RFC 3145 disconnect cause
//! ([`from_link_down`]). When the session goes, [`SetupFailures::take`]
//! returns that cause, or one derived from how the L2TP session ended
//! ([`from_session_down`]: the LAC's CDN, the tunnel going down, our own
//! CDN). A cause is kept only while its session exists. Ordered map only
//! (the engine is deterministic). Whether the session had been
//! established is the metrics observer's business: it ignores the cause
//! of an established session.

use std::collections::BTreeMap;

use lns_proto::l2tp::SessionDownReason;
use lns_proto::ppp::{Direction, DisconnectCause, DisconnectCode};

use super::types::SessionKey;
use crate::metrics::SessionSetupFailure;

/// First known cause per session.
#[derive(Clone, Debug, Default)]
pub struct SetupFailures {
    first: BTreeMap<SessionKey, SessionSetupFailure>,
}

impl SetupFailures {
    /// Remembers `cause` for `key` unless a cause is already known.
    pub fn note(&mut self, key: SessionKey, cause: SessionSetupFailure) {
        self.first.entry(key).or_insert(cause);
    }

    /// Forgets `key` and returns its cause: the first noted, else the one
    /// `reason` implies.
    pub fn take(&mut self, key: SessionKey, reason: &SessionDownReason) -> SessionSetupFailure {
        self.first
            .remove(&key)
            .unwrap_or_else(|| from_session_down(reason))
    }

    /// Sessions with a noted cause (bounded by the session table).
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// The noted causes, in key order (replicated in the snapshot).
    pub fn entries(&self) -> impl Iterator<Item = (SessionKey, SessionSetupFailure)> + '_ {
        self.first.iter().map(|(k, c)| (*k, *c))
    }

    /// Whether no cause is noted.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// The setup failure a PPP link-down cause means (RFC 3145 §3 codes).
pub fn from_link_down(cause: &DisconnectCause) -> SessionSetupFailure {
    match cause.code {
        // Timers ran out: Max-Configure (5), authentication (13), echo (8),
        // silence (6).
        DisconnectCode::FsmTimeout
        | DisconnectCode::AuthTimeout
        | DisconnectCode::EchoTimeout
        | DisconnectCode::NoPppPackets => SessionSetupFailure::Timeout,
        DisconnectCode::AuthFailed => SessionSetupFailure::AuthRejected,
        DisconnectCode::AuthProtocolRefused
        | DisconnectCode::RenegotiationDisabled
        | DisconnectCode::EncryptionRefused
        | DisconnectCode::LoopedBack => SessionSetupFailure::LcpNegotiation,
        // Normal (3), administrative (1), no information (0) and unknown
        // codes: who asked decides.
        _ => match cause.direction {
            Direction::Peer => SessionSetupFailure::PeerClosed,
            _ => SessionSetupFailure::Administrative,
        },
    }
}

/// The setup failure an L2TP session end means when nothing else is known.
pub fn from_session_down(reason: &SessionDownReason) -> SessionSetupFailure {
    match reason {
        // RFC 2661 §5.4.5: the LAC cleared the call.
        SessionDownReason::PeerCdn { .. } => SessionSetupFailure::PeerClosed,
        SessionDownReason::TunnelDown => SessionSetupFailure::TunnelClosed,
        SessionDownReason::LocalCdn { .. } => SessionSetupFailure::Administrative,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::l2tp::{CdnResult, ErrorCode};

    fn key(session: u16) -> SessionKey {
        SessionKey { tunnel: 1, session }
    }

    #[test]
    fn the_first_cause_wins_and_is_forgotten_when_taken() {
        let mut f = SetupFailures::default();
        f.note(key(1), SessionSetupFailure::PoolExhausted);
        // The LCP Terminate that follows the refusal does not replace it.
        f.note(key(1), SessionSetupFailure::Administrative);
        assert_eq!(
            f.take(key(1), &SessionDownReason::TunnelDown),
            SessionSetupFailure::PoolExhausted
        );
        assert!(f.is_empty());
        // Nothing noted: the L2TP end decides.
        assert_eq!(
            f.take(key(2), &SessionDownReason::TunnelDown),
            SessionSetupFailure::TunnelClosed
        );
        let cdn = SessionDownReason::PeerCdn {
            result: CdnResult::Administrative,
            error: ErrorCode::NoError,
            cause: None,
        };
        assert_eq!(f.take(key(3), &cdn), SessionSetupFailure::PeerClosed);
        let ours = SessionDownReason::LocalCdn {
            result: CdnResult::Administrative,
            error: ErrorCode::NoError,
        };
        assert_eq!(f.take(key(4), &ours), SessionSetupFailure::Administrative);
    }

    #[test]
    fn rfc_3145_codes_map_to_distinct_reasons() {
        let c = |code, dir| from_link_down(&DisconnectCause::new(code, dir));
        assert_eq!(
            c(DisconnectCode::FsmTimeout, Direction::Local),
            SessionSetupFailure::Timeout
        );
        assert_eq!(
            c(DisconnectCode::AuthTimeout, Direction::Local),
            SessionSetupFailure::Timeout
        );
        assert_eq!(
            c(DisconnectCode::AuthFailed, Direction::Local),
            SessionSetupFailure::AuthRejected
        );
        assert_eq!(
            c(DisconnectCode::AuthProtocolRefused, Direction::Peer),
            SessionSetupFailure::LcpNegotiation
        );
        assert_eq!(
            c(DisconnectCode::Normal, Direction::Peer),
            SessionSetupFailure::PeerClosed
        );
        assert_eq!(
            c(DisconnectCode::Administrative, Direction::Local),
            SessionSetupFailure::Administrative
        );
    }
}
