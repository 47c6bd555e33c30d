//! Link configuration: daemon configuration, not replicated state.
//!
//! Contract: plain data with defaults for each side; the same value is
//! given to [`Link::new`](super::Link::new) and [`Link::restore`](super::Link::restore).

use core::time::Duration;
use std::net::Ipv4Addr;

use crate::ppp::frame::Compression;
use crate::ppp::fsm::FsmConfig;
use crate::ppp::lcp::AuthMethod;

/// The subscriber's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Credentials {
    /// User name (PAP Peer-ID, CHAP Name).
    pub user: Vec<u8>,
    /// Password or CHAP secret.
    pub password: Vec<u8>,
}

/// Link configuration: daemon configuration, not replicated state; the same
/// config is passed to [`Link::restore`](super::Link::restore).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Restart timer and counters (RFC 1661 §4.6).
    pub fsm: FsmConfig,
    /// Our MRU (from the configured MTU).
    pub mru: u16,
    /// The largest MRU we accept from the peer.
    pub max_peer_mru: u16,
    /// LNS: methods to ask for, in order; subscriber: methods it accepts.
    pub auth_order: Vec<AuthMethod>,
    /// Send an LCP Echo-Request after this much idle time (`None`: never).
    pub echo_interval: Option<Duration>,
    /// Declare the link dead after this many unanswered echoes.
    pub echo_max_failures: u8,
    /// LNS: our IPCP address (must not be the tunnel endpoint, REFERENCE.md).
    pub ipv4_local: Ipv4Addr,
    /// Our IPV6CP interface identifier (0: random).
    pub ipv6_interface_id: u64,
    /// Identifier to Nak a peer to when its own is unusable (0: random).
    pub ipv6_peer_suggestion: u64,
    /// LNS: the CHAP Name we send in Challenges.
    pub chap_name: Vec<u8>,
    /// LNS: re-challenge with CHAP this often once up (`None`: never).
    pub rechallenge: Option<Duration>,
    /// Subscriber: user name and password.
    pub credentials: Credentials,
    /// PFC/ACFC we request (what we can receive compressed).
    pub request_compression: Compression,
}

impl LinkConfig {
    /// Defaults for the LNS: CHAP then PAP, MRU 1460, echoes every 10 s,
    /// dead after 3.
    pub fn lns(ipv4_local: Ipv4Addr) -> Self {
        LinkConfig {
            fsm: FsmConfig::default(),
            mru: 1460,
            max_peer_mru: 1500,
            auth_order: vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            echo_interval: Some(Duration::from_secs(10)),
            echo_max_failures: 3,
            ipv4_local,
            ipv6_interface_id: 0,
            ipv6_peer_suggestion: 0,
            chap_name: b"lnsd".to_vec(),
            rechallenge: None,
            credentials: Credentials::default(),
            request_compression: Compression::default(),
        }
    }

    /// Defaults for a pppd-like subscriber accepting PAP and CHAP.
    pub fn subscriber(user: &[u8], password: &[u8]) -> Self {
        LinkConfig {
            mru: 1500,
            auth_order: vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            echo_interval: None,
            credentials: Credentials {
                user: user.to_vec(),
                password: password.to_vec(),
            },
            chap_name: Vec::new(),
            ..LinkConfig::lns(Ipv4Addr::UNSPECIFIED)
        }
    }
}
