//! # Label values of the `lnsd_*` metrics
//!
//! Contract: every label value the daemon can put on a metric, except
//! configuration items (server addresses, pool names, tunnel addresses, peer
//! ids), is a variant of one of these enums. `ALL` lists every variant so the
//! series can be created at zero; `label()` is the exposed string (snake
//! case, stable: dashboards and alerts depend on it).

/// Why a session ended before reaching the established state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionSetupFailure {
    /// LCP did not open (Max-Configure reached, option disagreement).
    LcpNegotiation,
    /// PAP/CHAP credentials rejected (locally or Access-Reject).
    AuthRejected,
    /// No RADIUS server answered the Access-Request.
    RadiusUnavailable,
    /// Neither IPCP nor IPV6CP opened.
    NcpNegotiation,
    /// No address or prefix left in the pool.
    PoolExhausted,
    /// The configured session limit was reached.
    SessionLimit,
    /// The LAC or the subscriber closed the session (CDN, LCP Terminate).
    PeerClosed,
    /// The tunnel carrying the session went down.
    TunnelClosed,
    /// A failover happened while the session was negotiating (FAILOVER.md:
    /// negotiating sessions may be dropped and redialled).
    Failover,
    /// A negotiation or authentication timer ran out (Max-Configure, no
    /// PPP packets, authentication timeout).
    Timeout,
    /// We ended it (operator, second-login policy, shutdown).
    Administrative,
}

impl SessionSetupFailure {
    /// Every variant.
    pub const ALL: [SessionSetupFailure; 11] = [
        SessionSetupFailure::LcpNegotiation,
        SessionSetupFailure::AuthRejected,
        SessionSetupFailure::RadiusUnavailable,
        SessionSetupFailure::NcpNegotiation,
        SessionSetupFailure::PoolExhausted,
        SessionSetupFailure::SessionLimit,
        SessionSetupFailure::PeerClosed,
        SessionSetupFailure::TunnelClosed,
        SessionSetupFailure::Failover,
        SessionSetupFailure::Timeout,
        SessionSetupFailure::Administrative,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        match self {
            SessionSetupFailure::LcpNegotiation => "lcp_negotiation",
            SessionSetupFailure::AuthRejected => "auth_rejected",
            SessionSetupFailure::RadiusUnavailable => "radius_unavailable",
            SessionSetupFailure::NcpNegotiation => "ncp_negotiation",
            SessionSetupFailure::PoolExhausted => "pool_exhausted",
            SessionSetupFailure::SessionLimit => "session_limit",
            SessionSetupFailure::PeerClosed => "peer_closed",
            SessionSetupFailure::TunnelClosed => "tunnel_closed",
            SessionSetupFailure::Failover => "failover",
            SessionSetupFailure::Timeout => "timeout",
            SessionSetupFailure::Administrative => "administrative",
        }
    }
}

/// Why a tunnel establishment was refused or abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelSetupFailure {
    /// Tunnel authentication (Challenge/Response AVPs) failed.
    AuthFailed,
    /// The SCCRQ came from a LAC the configuration does not accept.
    PeerNotAllowed,
    /// Malformed or incomplete SCCRQ/SCCCN.
    Malformed,
    /// The configured tunnel limit was reached.
    TunnelLimit,
    /// The LAC stopped answering before SCCCN (retransmissions exhausted).
    Timeout,
    /// The LAC sent StopCCN before the tunnel was established.
    PeerClosed,
}

impl TunnelSetupFailure {
    /// Every variant.
    pub const ALL: [TunnelSetupFailure; 6] = [
        TunnelSetupFailure::AuthFailed,
        TunnelSetupFailure::PeerNotAllowed,
        TunnelSetupFailure::Malformed,
        TunnelSetupFailure::TunnelLimit,
        TunnelSetupFailure::Timeout,
        TunnelSetupFailure::PeerClosed,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        match self {
            TunnelSetupFailure::AuthFailed => "tunnel_auth_failed",
            TunnelSetupFailure::PeerNotAllowed => "peer_not_allowed",
            TunnelSetupFailure::Malformed => "malformed",
            TunnelSetupFailure::TunnelLimit => "tunnel_limit",
            TunnelSetupFailure::Timeout => "timeout",
            TunnelSetupFailure::PeerClosed => "peer_closed",
        }
    }
}

/// PPP authentication protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// RFC 1334 PAP.
    Pap,
    /// RFC 1994 CHAP-MD5.
    Chap,
}

impl AuthMethod {
    /// Every variant.
    pub const ALL: [AuthMethod; 2] = [AuthMethod::Pap, AuthMethod::Chap];

    /// The `method` label value.
    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::Pap => "pap",
            AuthMethod::Chap => "chap",
        }
    }
}

/// Outcome of an authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Access granted.
    Accept,
    /// Access refused.
    Reject,
}

impl AuthOutcome {
    /// Every variant.
    pub const ALL: [AuthOutcome; 2] = [AuthOutcome::Accept, AuthOutcome::Reject];

    /// The `outcome` label value.
    pub fn label(self) -> &'static str {
        match self {
            AuthOutcome::Accept => "accept",
            AuthOutcome::Reject => "reject",
        }
    }
}

/// Kind of RADIUS request we send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadiusKind {
    /// Access-Request (RFC 2865).
    Auth,
    /// Accounting-Request (RFC 2866).
    Accounting,
}

impl RadiusKind {
    /// Every variant.
    pub const ALL: [RadiusKind; 2] = [RadiusKind::Auth, RadiusKind::Accounting];

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            RadiusKind::Auth => "auth",
            RadiusKind::Accounting => "accounting",
        }
    }
}

/// Why the control plane discarded an L2TP control message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlDrop {
    /// Not decodable (bad header, bad AVP).
    Malformed,
    /// For a tunnel id we do not know.
    UnknownTunnel,
    /// A retransmission of a message already processed (acked again, not re-run).
    Duplicate,
    /// Ns outside the receive window.
    OutOfWindow,
    /// Received while this node is not the active LNS.
    NotActive,
}

impl ControlDrop {
    /// Every variant.
    pub const ALL: [ControlDrop; 5] = [
        ControlDrop::Malformed,
        ControlDrop::UnknownTunnel,
        ControlDrop::Duplicate,
        ControlDrop::OutOfWindow,
        ControlDrop::NotActive,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        match self {
            ControlDrop::Malformed => "malformed",
            ControlDrop::UnknownTunnel => "unknown_tunnel",
            ControlDrop::Duplicate => "duplicate",
            ControlDrop::OutOfWindow => "out_of_window",
            ControlDrop::NotActive => "not_active",
        }
    }
}

/// Role of this node in the Raft group (raft-rs `StateRole`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftRole {
    /// Follows a leader.
    Follower,
    /// Pre-vote phase of an election (no term change yet).
    PreCandidate,
    /// Asking for votes.
    Candidate,
    /// Leader of the group.
    Leader,
}

impl RaftRole {
    /// Every variant.
    pub const ALL: [RaftRole; 4] = [
        RaftRole::Follower,
        RaftRole::PreCandidate,
        RaftRole::Candidate,
        RaftRole::Leader,
    ];

    /// The `role` label value.
    pub fn label(self) -> &'static str {
        match self {
            RaftRole::Follower => "follower",
            RaftRole::PreCandidate => "pre_candidate",
            RaftRole::Candidate => "candidate",
            RaftRole::Leader => "leader",
        }
    }
}

/// Role of this node as an LNS (FAILOVER.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// Raft leader holding the tunnel address and serving.
    Active,
    /// Hot standby applying the replicated log.
    Standby,
    /// Raft voter only: no tunnel address, no data plane.
    Witness,
}

impl NodeRole {
    /// Every variant.
    pub const ALL: [NodeRole; 3] = [NodeRole::Active, NodeRole::Standby, NodeRole::Witness];

    /// The `role` label value.
    pub fn label(self) -> &'static str {
        match self {
            NodeRole::Active => "active",
            NodeRole::Standby => "standby",
            NodeRole::Witness => "witness",
        }
    }
}

/// Kind of takeover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverKind {
    /// The previous active node was lost (crash, partition).
    Unplanned,
    /// `lnsctl cluster transfer-leader` (a drill or an upgrade).
    Planned,
}

impl FailoverKind {
    /// Every variant.
    pub const ALL: [FailoverKind; 2] = [FailoverKind::Unplanned, FailoverKind::Planned];

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            FailoverKind::Unplanned => "unplanned",
            FailoverKind::Planned => "planned",
        }
    }
}

/// Whether this node holds a tunnel address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressHolding {
    /// The address is configured on this node.
    Held,
    /// The address is not on this node.
    Released,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn assert_distinct_snake_case(labels: &[&'static str]) {
        let set: BTreeSet<_> = labels.iter().collect();
        assert_eq!(set.len(), labels.len(), "duplicate label in {labels:?}");
        for l in labels {
            assert!(
                l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{l} is not snake case"
            );
        }
    }

    #[test]
    fn every_label_set_is_distinct_and_snake_case() {
        assert_distinct_snake_case(&SessionSetupFailure::ALL.map(SessionSetupFailure::label));
        assert_distinct_snake_case(&TunnelSetupFailure::ALL.map(TunnelSetupFailure::label));
        assert_distinct_snake_case(&ControlDrop::ALL.map(ControlDrop::label));
        assert_distinct_snake_case(&RaftRole::ALL.map(RaftRole::label));
        assert_distinct_snake_case(&NodeRole::ALL.map(NodeRole::label));
        assert_distinct_snake_case(&FailoverKind::ALL.map(FailoverKind::label));
        assert_distinct_snake_case(&RadiusKind::ALL.map(RadiusKind::label));
    }
}
