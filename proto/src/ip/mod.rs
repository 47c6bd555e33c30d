//! Per-packet IPv4/IPv6 helpers of the data plane.
//!
//! Contract: everything here runs on every subscriber packet, so nothing
//! allocates and every function is O(1) in the packet size except checksums
//! over the bytes they must cover (and those are bounded by the packet).
//! Nothing panics on any input: a malformed packet gives an [`IpError`], and
//! the only thing that goes back on the wire for one is nothing (the data
//! plane drops and counts it).
//!
//! - [`checksum`]: RFC 1071 sums and the RFC 1624 incremental update.
//! - [`Ipv4Packet`] / [`Ipv4Repr`], [`Ipv6Packet`] / [`Ipv6Repr`]: header views.
//! - [`source_address`] / [`destination_address`]: anti-spoofing and the
//!   downstream session lookup.
//! - [`clamp_tcp_mss`]: rewrite the MSS option of TCP SYNs in place.
//! - [`icmpv4_fragmentation_needed`] / [`icmpv6_packet_too_big`]: the ICMP
//!   errors for packets larger than the link MTU.
//! - [`classify_subscriber_ipv6`]: RS and DHCPv6 to the control plane,
//!   link-scoped traffic never forwarded.
//! - [`IcmpRateLimit`]: the token bucket RFC 4443 §2.4 (f) requires in front
//!   of the ICMP error builders.
//! - [`ethernet`] and [`arp`]: the LAN frames a node sends when a tunnel
//!   address moves to it (gratuitous ARP, RFC 5227 §3).

pub mod arp;
pub mod checksum;
mod classify;
pub mod ethernet;
mod icmp_error;
mod ipv4;
mod ipv6;
mod mss;
mod rate_limit;

use core::net::IpAddr;

pub use classify::{classify_subscriber_ipv6, SubscriberIpv6};
pub use icmp_error::{
    icmpv4_fragmentation_needed, icmpv6_packet_too_big, IcmpRefusal, ICMPV4_ERROR_MAX_LEN,
    ICMPV6_ERROR_MAX_LEN,
};
pub use ipv4::{Ipv4Packet, Ipv4Repr, IPV4_HEADER_LEN};
pub use ipv6::{Ipv6Packet, Ipv6Repr, UpperLayer, IPV6_HEADER_LEN, MAX_EXTENSION_HEADERS};
pub use mss::{clamp_tcp_mss, MssClamp, MssLimit};
pub use rate_limit::{Admission, IcmpRateLimit};

/// Why a packet could not be read. The peer (subscriber or Internet host)
/// sent a malformed packet; the data plane drops it and counts the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    /// Shorter than the fixed header.
    #[error("packet shorter than its fixed header")]
    Truncated,
    /// The version nibble is neither 4 nor 6 (or not the one expected).
    #[error("IP version {0} not expected here")]
    UnknownVersion(u8),
    /// IPv4 IHL below 5 or beyond the buffer.
    #[error("IPv4 header length out of range")]
    BadHeaderLength,
    /// Total Length / Payload Length inconsistent with the buffer.
    #[error("IP length field inconsistent with the packet")]
    BadTotalLength,
    /// An IPv6 extension header runs past the packet.
    #[error("IPv6 extension header truncated")]
    BadExtensionHeader,
    /// More than [`MAX_EXTENSION_HEADERS`] extension headers.
    #[error("too many IPv6 extension headers")]
    TooManyExtensionHeaders,
    /// A transport header (TCP, ICMP) shorter than its own length fields say.
    #[error("transport header truncated")]
    BadTransportHeader,
    /// Our caller's output buffer is too small (a local bug, not the peer's).
    #[error("output buffer too small")]
    BufferTooSmall,
}

/// IP protocol numbers / IPv6 Next Header values (IANA), open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    /// IPv6 Hop-by-Hop Options (0).
    HopByHop,
    /// ICMP for IPv4 (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 Routing header (43).
    Ipv6Route,
    /// IPv6 Fragment header (44).
    Ipv6Frag,
    /// Encapsulating Security Payload (50).
    Esp,
    /// Authentication Header (51).
    Ah,
    /// ICMPv6 (58).
    Icmpv6,
    /// No Next Header (59).
    Ipv6NoNxt,
    /// IPv6 Destination Options (60).
    Ipv6Opts,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            0x00 => IpProtocol::HopByHop,
            0x01 => IpProtocol::Icmp,
            0x06 => IpProtocol::Tcp,
            0x11 => IpProtocol::Udp,
            0x2b => IpProtocol::Ipv6Route,
            0x2c => IpProtocol::Ipv6Frag,
            0x32 => IpProtocol::Esp,
            0x33 => IpProtocol::Ah,
            0x3a => IpProtocol::Icmpv6,
            0x3b => IpProtocol::Ipv6NoNxt,
            0x3c => IpProtocol::Ipv6Opts,
            n => IpProtocol::Unknown(n),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::HopByHop => 0x00,
            IpProtocol::Icmp => 0x01,
            IpProtocol::Tcp => 0x06,
            IpProtocol::Udp => 0x11,
            IpProtocol::Ipv6Route => 0x2b,
            IpProtocol::Ipv6Frag => 0x2c,
            IpProtocol::Esp => 0x32,
            IpProtocol::Ah => 0x33,
            IpProtocol::Icmpv6 => 0x3a,
            IpProtocol::Ipv6NoNxt => 0x3b,
            IpProtocol::Ipv6Opts => 0x3c,
            IpProtocol::Unknown(n) => n,
        }
    }
}

/// The source address of an IPv4 or IPv6 packet (anti-spoofing check).
pub fn source_address(packet: &[u8]) -> Result<IpAddr, IpError> {
    match version(packet)? {
        4 => Ok(IpAddr::V4(Ipv4Packet::new_checked(packet)?.src_addr())),
        _ => Ok(IpAddr::V6(Ipv6Packet::new_checked(packet)?.src_addr())),
    }
}

/// The destination address of an IPv4 or IPv6 packet (downstream lookup).
pub fn destination_address(packet: &[u8]) -> Result<IpAddr, IpError> {
    match version(packet)? {
        4 => Ok(IpAddr::V4(Ipv4Packet::new_checked(packet)?.dst_addr())),
        _ => Ok(IpAddr::V6(Ipv6Packet::new_checked(packet)?.dst_addr())),
    }
}

/// The version nibble, if it is 4 or 6.
fn version(packet: &[u8]) -> Result<u8, IpError> {
    match packet.first().map(|b| b >> 4) {
        None => Err(IpError::Truncated),
        Some(v @ (4 | 6)) => Ok(v),
        Some(v) => Err(IpError::UnknownVersion(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn addresses_of_both_versions() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[3] = 20;
        v4[12..16].copy_from_slice(&[192, 0, 2, 7]);
        v4[16..20].copy_from_slice(&[203, 0, 113, 9]);
        assert_eq!(
            source_address(&v4),
            Ok(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)))
        );
        assert_eq!(
            destination_address(&v4),
            Ok(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)))
        );
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[8..10].copy_from_slice(&[0x20, 0x01]);
        v6[39] = 2;
        assert_eq!(
            source_address(&v6),
            Ok(IpAddr::V6(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0)))
        );
        assert_eq!(
            destination_address(&v6),
            Ok(IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 2)))
        );
    }

    #[test]
    fn malformed_packets_give_typed_errors() {
        assert_eq!(source_address(&[]), Err(IpError::Truncated));
        assert_eq!(source_address(&[0x50; 60]), Err(IpError::UnknownVersion(5)));
        assert_eq!(destination_address(&[0x45; 12]), Err(IpError::Truncated));
        assert_eq!(destination_address(&[0x60; 39]), Err(IpError::Truncated));
    }

    #[test]
    fn protocol_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(n)), n);
        }
    }
}
