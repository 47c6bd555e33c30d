//! Configuration of the per-session DHCPv6 server.
//!
//! Contract: plain data built by the node from its config file and the
//! session (RADIUS); [`Dhcpv6Config::validate`] refuses what would make the
//! server emit an invalid message, before any session uses it.

use core::net::Ipv6Addr;

use super::duid::Duid;
use crate::nd::option::encode_domain;

/// Whether a Solicit with Rapid Commit gets a committed Reply (RFC 8415 §18.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RapidCommit {
    /// Answer a Rapid Commit Solicit with a Reply.
    Allowed,
    /// Always answer Solicit with Advertise.
    Refused,
}

/// How a new IA_NA address is chosen inside the /64 when the client gives
/// no usable hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressChoice {
    /// A hash of the client DUID and IAID: the same address every time.
    FromClientId,
    /// Random interface identifiers drawn from the entropy input.
    FromEntropy,
    /// The address AAA assigned (RADIUS Framed-IPv6-Address, RFC 6911),
    /// given to every IA_NA ahead of the client's hint while it is usable
    /// (on the link, not declined, not bound to another IA); otherwise as
    /// `FromClientId`.
    Fixed(Ipv6Addr),
}

/// The server's configuration (from the node config and the session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dhcpv6Config {
    /// Our DUID: DUID-EN or DUID-LL from config, the same on every node.
    pub server_duid: Duid,
    /// DNS servers (option 23), sent when requested.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Search domains (option 24), sent when requested.
    pub domains: Vec<String>,
    /// Preferred lifetime of addresses and prefixes, seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime of addresses and prefixes, seconds.
    pub valid_lifetime: u32,
    /// Information Refresh Time for Information-Request replies, seconds.
    pub information_refresh_time: u32,
    /// SOL_MAX_RT to send when requested.
    pub sol_max_rt: Option<u32>,
    /// Rapid Commit policy.
    pub rapid_commit: RapidCommit,
    /// IA_NA address policy.
    pub address_choice: AddressChoice,
}

impl Dhcpv6Config {
    /// Defaults: preferred 4 h, valid 1 day, refresh 1 day (RFC 8415 §21.23
    /// IRT_DEFAULT), Rapid Commit allowed, addresses from the client id.
    pub fn new(server_duid: Duid) -> Self {
        Dhcpv6Config {
            server_duid,
            dns_servers: Vec::new(),
            domains: Vec::new(),
            preferred_lifetime: 14_400,
            valid_lifetime: 86_400,
            information_refresh_time: 86_400,
            sol_max_rt: None,
            rapid_commit: RapidCommit::Allowed,
            address_choice: AddressChoice::FromClientId,
        }
    }

    /// Checks lifetimes, the DUID size and the domain names.
    pub fn validate(&self) -> Result<(), Dhcpv6ConfigError> {
        if self.preferred_lifetime > self.valid_lifetime {
            return Err(Dhcpv6ConfigError::PreferredAboveValid);
        }
        // The DUID must be the same on every node and survive restarts:
        // DUID-EN or DUID-LL from config, never a per-node DUID-LLT.
        match Duid::parse(&self.server_duid.to_bytes()) {
            Ok(Duid::En { .. } | Duid::Ll { .. }) => {}
            _ => return Err(Dhcpv6ConfigError::ServerDuid),
        }
        for d in &self.domains {
            encode_domain(d, &mut Vec::new()).map_err(|_| Dhcpv6ConfigError::Domain(d.clone()))?;
        }
        Ok(())
    }
}

/// Why a [`Dhcpv6Config`] or the session prefixes are refused (operator or
/// RADIUS data error, reported when the session starts).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Dhcpv6ConfigError {
    /// Preferred lifetime above valid lifetime (RFC 8415 §21.6).
    #[error("preferred lifetime above valid lifetime")]
    PreferredAboveValid,
    /// The server DUID is not a valid DUID-EN or DUID-LL.
    #[error("server DUID must be a valid DUID-EN or DUID-LL")]
    ServerDuid,
    /// A search domain that is not a DNS name.
    #[error("bad domain {0:?}")]
    Domain(String),
    /// A delegated prefix length above 128.
    #[error("bad delegated prefix length {0}")]
    DelegatedPrefixLength(u8),
    /// Replicated state that does not decode.
    #[error("bad replicated DHCPv6 state")]
    State,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Duid {
        Duid::En {
            enterprise_number: 0xe1a5,
            identifier: b"lnsd".to_vec(),
        }
    }

    #[test]
    fn validate_refuses_per_node_duids_and_bad_values() {
        assert_eq!(Dhcpv6Config::new(en()).validate(), Ok(()));
        let llt = Duid::Llt {
            hardware_type: 1,
            time: 1,
            link_layer_address: vec![2, 0, 0, 0, 0, 1],
        };
        assert_eq!(
            Dhcpv6Config::new(llt).validate(),
            Err(Dhcpv6ConfigError::ServerDuid)
        );
        let mut c = Dhcpv6Config::new(en());
        c.preferred_lifetime = c.valid_lifetime + 1;
        assert_eq!(c.validate(), Err(Dhcpv6ConfigError::PreferredAboveValid));
        let mut c = Dhcpv6Config::new(en());
        c.domains = vec!["a..b".into()];
        assert_eq!(c.validate(), Err(Dhcpv6ConfigError::Domain("a..b".into())));
    }
}
