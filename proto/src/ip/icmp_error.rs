//! ICMP errors for packets larger than the link MTU: ICMPv4 Destination
//! Unreachable / Fragmentation Needed (RFC 792, RFC 1191 §4) and ICMPv6
//! Packet Too Big (RFC 4443 §3.2).
//!
//! Contract: pure functions writing a whole IP packet into a caller buffer
//! and returning its length. They refuse (with an [`IcmpRefusal`] saying
//! why) every case where the RFCs forbid an error: an ICMP error in answer to
//! an ICMP error, a non-first fragment (IPv4), a source that is not a unicast
//! host, and packets that fit the MTU. The quote is as long as allowed: the
//! ICMPv4 error stays within 576 bytes (RFC 1812 §4.3.2.3) and the ICMPv6
//! error within the IPv6 minimum MTU of 1280 bytes (RFC 4443 §2.4 (c)).

use core::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::{internet_checksum, Accumulator};
use super::{
    IpError, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, UpperLayer, IPV4_HEADER_LEN,
    IPV6_HEADER_LEN,
};

/// Largest ICMPv4 error we emit (RFC 1812 §4.3.2.3).
pub const ICMPV4_ERROR_MAX_LEN: usize = 576;
/// Largest ICMPv6 error we emit (RFC 4443 §2.4 (c)).
pub const ICMPV6_ERROR_MAX_LEN: usize = 1280;

/// Why no ICMP error was built. Each is a silent drop of the offending
/// packet's error, never something sent back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IcmpRefusal {
    /// The offending packet is malformed.
    #[error("offending packet malformed: {0}")]
    Malformed(IpError),
    /// The packet fits the MTU: forward it instead.
    #[error("packet fits the MTU")]
    FitsMtu,
    /// IPv4 without DF: fragment it instead (RFC 1191 §1).
    #[error("DF clear: fragment instead")]
    FragmentationAllowed,
    /// The offending packet is itself an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4 (e.1)).
    #[error("never answer an ICMP error with an ICMP error")]
    IcmpError,
    /// A non-first IPv4 fragment (RFC 1122 §3.2.2).
    #[error("non-first fragment")]
    LaterFragment,
    /// The source does not identify one host (RFC 1122 §3.2.2, RFC 4443 §2.4 (e.3)).
    #[error("source is not a unicast host address")]
    SourceNotUnicast,
    /// An IPv4 broadcast or multicast destination (RFC 1122 §3.2.2).
    #[error("destination is broadcast or multicast")]
    DestinationNotUnicast,
    /// The MTU is below the protocol minimum (68 for IPv4, 1280 for IPv6).
    #[error("MTU below the protocol minimum")]
    MtuBelowMinimum,
    /// The caller's buffer cannot hold the error (a local bug).
    #[error("output buffer too small")]
    BufferTooSmall,
}

impl From<IpError> for IcmpRefusal {
    fn from(e: IpError) -> Self {
        IcmpRefusal::Malformed(e)
    }
}

const ICMP_HEADER_LEN: usize = 8;
const ICMPV4_DEST_UNREACHABLE: u8 = 0x03;
const ICMPV4_CODE_FRAG_NEEDED: u8 = 0x04;
const ICMPV6_PACKET_TOO_BIG: u8 = 0x02;
const ERROR_HOP_LIMIT: u8 = 64;

/// Builds the ICMPv4 Fragmentation Needed error (type 3 code 4, RFC 1191 §4)
/// for `packet`, from `src` to the packet's source, announcing `mtu`.
pub fn icmpv4_fragmentation_needed(
    packet: &[u8],
    src: Ipv4Addr,
    mtu: u16,
    out: &mut [u8],
) -> Result<usize, IcmpRefusal> {
    let ip = Ipv4Packet::new_checked(packet)?;
    if mtu < 68 {
        return Err(IcmpRefusal::MtuBelowMinimum);
    }
    if ip.total_len() <= usize::from(mtu) {
        return Err(IcmpRefusal::FitsMtu);
    }
    if !ip.dont_fragment() {
        return Err(IcmpRefusal::FragmentationAllowed);
    }
    // RFC 1122 §3.2.2: no error about a non-first fragment, an ICMP error,
    // a broadcast/multicast destination or a non-unicast source.
    if ip.fragment_offset() != 0 {
        return Err(IcmpRefusal::LaterFragment);
    }
    if ip.protocol() == IpProtocol::Icmp {
        match ip.payload().first() {
            Some(0x03 | 0x04 | 0x05 | 0x0b | 0x0c) => return Err(IcmpRefusal::IcmpError),
            Some(_) => {}
            None => return Err(IcmpRefusal::Malformed(IpError::BadTransportHeader)),
        }
    }
    let (from, to) = (ip.src_addr(), ip.dst_addr());
    if from.is_unspecified()
        || from.is_broadcast()
        || from.is_multicast()
        || from.is_loopback()
        || from.octets()[0] >= 240
    {
        return Err(IcmpRefusal::SourceNotUnicast);
    }
    if to.is_broadcast() || to.is_multicast() {
        return Err(IcmpRefusal::DestinationNotUnicast);
    }
    let quoted = ip
        .total_len()
        .min(ICMPV4_ERROR_MAX_LEN - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
    let total = IPV4_HEADER_LEN + ICMP_HEADER_LEN + quoted;
    let out = out.get_mut(..total).ok_or(IcmpRefusal::BufferTooSmall)?;
    Ipv4Repr {
        src,
        dst: from,
        protocol: IpProtocol::Icmp,
        payload_len: ICMP_HEADER_LEN + quoted,
        ttl: ERROR_HOP_LIMIT,
        dscp_ecn: 0,
        // RFC 6864 §4.1: an atomic datagram (DF set) may carry any ID.
        ident: 0,
        dont_fragment: true,
    }
    .emit(out)
    .map_err(|_| IcmpRefusal::BufferTooSmall)?;
    let icmp = &mut out[IPV4_HEADER_LEN..];
    icmp[..ICMP_HEADER_LEN].copy_from_slice(&[
        ICMPV4_DEST_UNREACHABLE,
        ICMPV4_CODE_FRAG_NEEDED,
        0,
        0,
        0,
        0,
        (mtu >> 8) as u8,
        mtu as u8,
    ]);
    icmp[ICMP_HEADER_LEN..].copy_from_slice(&ip.packet()[..quoted]);
    let sum = internet_checksum(icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(total)
}

/// Builds the ICMPv6 Packet Too Big error (RFC 4443 §3.2) for `packet`, from
/// `src` to the packet's source, announcing `mtu`.
pub fn icmpv6_packet_too_big(
    packet: &[u8],
    src: Ipv6Addr,
    mtu: u32,
    out: &mut [u8],
) -> Result<usize, IcmpRefusal> {
    let ip = Ipv6Packet::new_checked(packet)?;
    if mtu < ICMPV6_ERROR_MAX_LEN as u32 {
        return Err(IcmpRefusal::MtuBelowMinimum);
    }
    if ip.total_len() as u64 <= u64::from(mtu) {
        return Err(IcmpRefusal::FitsMtu);
    }
    // RFC 4443 §2.4 (e.1): not in answer to an error message (types 0-127)
    // or a Redirect (137). Packet Too Big is allowed for multicast
    // destinations (e.2), so those are not checked.
    if let UpperLayer::At {
        protocol: IpProtocol::Icmpv6,
        offset,
    } = ip.upper_layer()?
    {
        match ip.packet().get(offset) {
            Some(t) if *t < 0x80 || *t == 0x89 => return Err(IcmpRefusal::IcmpError),
            Some(_) => {}
            None => return Err(IcmpRefusal::Malformed(IpError::BadTransportHeader)),
        }
    }
    let from = ip.src_addr();
    // RFC 4443 §2.4 (e.3): the source must identify a single node.
    if from.is_unspecified() || from.is_multicast() {
        return Err(IcmpRefusal::SourceNotUnicast);
    }
    let quoted = ip
        .total_len()
        .min(ICMPV6_ERROR_MAX_LEN - IPV6_HEADER_LEN - ICMP_HEADER_LEN);
    let total = IPV6_HEADER_LEN + ICMP_HEADER_LEN + quoted;
    let out = out.get_mut(..total).ok_or(IcmpRefusal::BufferTooSmall)?;
    Ipv6Repr {
        src,
        dst: from,
        next_header: IpProtocol::Icmpv6,
        payload_len: ICMP_HEADER_LEN + quoted,
        hop_limit: ERROR_HOP_LIMIT,
    }
    .emit(out)
    .map_err(|_| IcmpRefusal::BufferTooSmall)?;
    let icmp = &mut out[IPV6_HEADER_LEN..];
    icmp[..4].copy_from_slice(&[ICMPV6_PACKET_TOO_BIG, 0, 0, 0]);
    icmp[4..8].copy_from_slice(&mtu.to_be_bytes());
    icmp[ICMP_HEADER_LEN..].copy_from_slice(&ip.packet()[..quoted]);
    let len = (ICMP_HEADER_LEN + quoted) as u32;
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(src, from, u8::from(IpProtocol::Icmpv6), len)
        .add_bytes(icmp)
        .checksum();
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_packet(len: usize, protocol: u8, df: bool) -> Vec<u8> {
        let mut p = vec![0xabu8; len];
        Ipv4Repr {
            src: Ipv4Addr::new(198, 51, 100, 7),
            dst: Ipv4Addr::new(203, 0, 113, 1),
            protocol: IpProtocol::from(protocol),
            payload_len: len - 20,
            ttl: 63,
            dscp_ecn: 0,
            ident: 7,
            dont_fragment: df,
        }
        .emit(&mut p)
        .expect("fits");
        p
    }

    fn v6_packet(len: usize, next: u8, first_payload_byte: u8) -> Vec<u8> {
        let mut p = vec![0u8; len];
        Ipv6Repr {
            src: "2001:db8:1::7".parse().expect("literal"),
            dst: "2001:db8:2::1".parse().expect("literal"),
            next_header: IpProtocol::from(next),
            payload_len: len - 40,
            hop_limit: 63,
        }
        .emit(&mut p)
        .expect("fits");
        p[40] = first_payload_byte;
        p
    }

    #[test]
    fn icmpv4_frag_needed_layout() {
        // RFC 1191 §4: type 3, code 4, unused 16 bits, next-hop MTU.
        let p = v4_packet(1500, 17, true);
        let mut out = [0u8; 600];
        let n = icmpv4_fragmentation_needed(&p, Ipv4Addr::new(192, 0, 2, 1), 1492, &mut out)
            .expect("built");
        assert_eq!(n, 576);
        let ip = Ipv4Packet::new_checked(&out[..n]).expect("valid");
        assert!(ip.verify_checksum());
        assert_eq!(ip.dst_addr(), Ipv4Addr::new(198, 51, 100, 7));
        let icmp = ip.payload();
        assert_eq!(&icmp[..8], &[3, 4, icmp[2], icmp[3], 0, 0, 0x05, 0xd4]);
        assert!(Accumulator::new().add_bytes(icmp).verifies());
        assert_eq!(&icmp[8..], &p[..548]);
    }

    #[test]
    fn icmpv4_refusals() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let mut out = [0u8; 600];
        let small = v4_packet(1000, 17, true);
        assert_eq!(
            icmpv4_fragmentation_needed(&small, src, 1492, &mut out),
            Err(IcmpRefusal::FitsMtu)
        );
        let no_df = v4_packet(1500, 17, false);
        assert_eq!(
            icmpv4_fragmentation_needed(&no_df, src, 1492, &mut out),
            Err(IcmpRefusal::FragmentationAllowed)
        );
        let mut icmp_err = v4_packet(1500, 1, true);
        icmp_err[20] = 3;
        assert_eq!(
            icmpv4_fragmentation_needed(&icmp_err, src, 1492, &mut out),
            Err(IcmpRefusal::IcmpError)
        );
        let mut echo = v4_packet(1500, 1, true);
        echo[20] = 8;
        assert!(icmpv4_fragmentation_needed(&echo, src, 1492, &mut out).is_ok());
        assert_eq!(
            icmpv4_fragmentation_needed(&echo, src, 1492, &mut out[..100]),
            Err(IcmpRefusal::BufferTooSmall)
        );
    }

    #[test]
    fn icmpv6_packet_too_big_layout() {
        // RFC 4443 §3.2: type 2, code 0, MTU, as much of the packet as fits
        // in 1280 bytes.
        let p = v6_packet(1500, 17, 0);
        let src: Ipv6Addr = "fe80::1".parse().expect("literal");
        let mut out = [0u8; 1500];
        let n = icmpv6_packet_too_big(&p, src, 1480, &mut out).expect("built");
        assert_eq!(n, 1280);
        let ip = Ipv6Packet::new_checked(&out[..n]).expect("valid");
        assert_eq!(ip.next_header(), IpProtocol::Icmpv6);
        let icmp = ip.payload();
        assert_eq!(&icmp[..2], &[2, 0]);
        assert_eq!(&icmp[4..8], &1480u32.to_be_bytes());
        assert!(Accumulator::new()
            .add_ipv6_pseudo_header(src, ip.dst_addr(), 58, icmp.len() as u32)
            .add_bytes(icmp)
            .verifies());
        assert_eq!(&icmp[8..], &p[..1232]);
    }

    #[test]
    fn icmpv6_refusals() {
        let src: Ipv6Addr = "fe80::1".parse().expect("literal");
        let mut out = [0u8; 1500];
        let too_big_err = v6_packet(1500, 58, 2);
        assert_eq!(
            icmpv6_packet_too_big(&too_big_err, src, 1280, &mut out),
            Err(IcmpRefusal::IcmpError)
        );
        let echo = v6_packet(1500, 58, 128);
        assert!(icmpv6_packet_too_big(&echo, src, 1280, &mut out).is_ok());
        assert_eq!(
            icmpv6_packet_too_big(&echo, src, 1000, &mut out),
            Err(IcmpRefusal::MtuBelowMinimum)
        );
        let mut unspecified = v6_packet(1500, 17, 0);
        unspecified[8..24].fill(0);
        assert_eq!(
            icmpv6_packet_too_big(&unspecified, src, 1280, &mut out),
            Err(IcmpRefusal::SourceNotUnicast)
        );
    }
}
