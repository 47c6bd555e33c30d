//! IPv6 Neighbor Discovery for the PPP link: Router Solicitation and Router
//! Advertisement (RFC 4861) with the DNS options of RFC 8106, and the
//! sans-IO per-link [`RouterAdvertiser`]; on the LAN, the unsolicited
//! Neighbor Advertisement of a tunnel address that moved ([`neighbor`]).
//!
//! Contract: no IO, no clock, no global randomness. Received packets are
//! validated as RFC 4861 §6.1 requires and any failure is an [`NdError`]
//! (silently discard and count: ND never answers a bad message). Every
//! emitted packet is a whole IPv6 packet from our link-local address with
//! Hop Limit 255 and a correct ICMPv6 checksum.

mod advertiser;
mod message;
pub mod neighbor;
pub mod option;

use core::net::Ipv6Addr;

pub use advertiser::{
    RaConfig, RaConfigError, RaStateError, RouterAdvertiser, RsIgnored,
    MAX_INITIAL_RTR_ADVERTISEMENTS, MAX_INITIAL_RTR_ADVERT_INTERVAL, MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
};
pub use message::{
    emit_nd_packet, parse_nd_packet, NdMessage, NdMessageView, ReceivedNd, RouterAdvertisement,
    RouterSolicitation, ND_HOP_LIMIT, ROUTER_ADVERTISEMENT, ROUTER_SOLICITATION,
};
pub use option::{NdOption, NdOptionsView, PrefixInformation};

use crate::ip::IpError;

/// The all-nodes multicast address ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The all-routers multicast address ff02::2.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Why a received ND packet was discarded (the peer sent it malformed or
/// off-link; RFC 4861 §6.1 says to drop it silently), or why an option
/// could not be emitted (our configuration is invalid).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NdError {
    /// The IPv6 packet itself is malformed.
    #[error("IPv6: {0}")]
    Ip(IpError),
    /// The packet does not carry ICMPv6.
    #[error("not ICMPv6")]
    NotIcmpv6,
    /// Shorter than the fixed part of the message.
    #[error("ND message truncated")]
    Truncated,
    /// Neither RS nor RA.
    #[error("ICMPv6 type {0} is not RS or RA")]
    UnexpectedType(u8),
    /// ICMP Code not 0 (RFC 4861 §6.1).
    #[error("ICMPv6 code {0} is not 0")]
    BadCode(u8),
    /// Hop Limit not 255: the sender is not on-link (RFC 4861 §6.1).
    #[error("hop limit {0} is not 255")]
    BadHopLimit(u8),
    /// The ICMPv6 checksum does not verify.
    #[error("bad ICMPv6 checksum")]
    BadChecksum,
    /// An option of length 0, too long for the message, or the wrong size
    /// for its type (the option type is given).
    #[error("bad length for ND option {0}")]
    BadOptionLength(u8),
    /// A DNSSL name that is not a valid uncompressed DNS name.
    #[error("bad domain name")]
    BadDomainName,
    /// An RS from :: with a Source Link-Layer Address (RFC 4861 §6.1.1).
    #[error("RS from :: with a source link-layer address")]
    SllaWithUnspecifiedSource,
    /// An RA from an address that is not link-local (RFC 4861 §6.1.2).
    #[error("RA source is not link-local")]
    SourceNotLinkLocal,
    /// An NA whose target is a multicast address (RFC 4861 §7.1.2).
    #[error("NA target is multicast")]
    MulticastTarget,
    /// An NA to a multicast address with the Solicited flag (RFC 4861
    /// §7.1.2).
    #[error("solicited NA sent to a multicast address")]
    SolicitedToMulticast,
}

/// Our link-local address on a PPP link: fe80::/64 plus the 64-bit
/// interface identifier negotiated by IPV6CP (RFC 5072 §4.1).
pub fn link_local_address(interface_id: [u8; 8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o[0] = 0xfe;
    o[1] = 0x80;
    o[8..].copy_from_slice(&interface_id);
    Ipv6Addr::from(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_from_interface_identifier() {
        // RFC 5072 §5: fe80:: followed by the 64-bit identifier.
        assert_eq!(
            link_local_address([0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
            "fe80::211:22ff:fe33:4455"
                .parse::<Ipv6Addr>()
                .expect("literal")
        );
    }
}
