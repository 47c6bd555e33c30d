//! The Neighbor Advertisement (RFC 4861 §4.4) and the unsolicited one a
//! node sends when an IPv6 tunnel address moves to it (RFC 4861 §7.2.6:
//! to all-nodes, Solicited clear, Override set, with the Target
//! Link-Layer Address option), so that neighbours replace their cache
//! entry at once instead of waiting for it to go stale.
//!
//! Contract: [`NeighborAdvertisementView::new_checked`] checks length,
//! type and code; [`parse_na_packet`] validates a whole IPv6 packet as
//! RFC 4861 §7.1.2 requires (Hop Limit 255, checksum, code 0, at least 24
//! bytes, target not multicast, Solicited clear when sent to a multicast
//! address, options well formed) and fails with an [`NdError`].
//! [`emit_na_packet`] writes the IPv6 packet, [`unsolicited_na_frame`] the
//! whole Ethernet frame to 33:33:00:00:00:01.

use core::net::Ipv6Addr;

use super::message::{checked_nd_body, ND_HOP_LIMIT};
use super::option::kind;
use super::{NdError, NdOption, ALL_NODES};
use crate::ip::checksum::Accumulator;
use crate::ip::ethernet::{ipv6_multicast_mac, EtherType, EthernetRepr};
use crate::ip::{IpProtocol, Ipv6Repr, IPV6_HEADER_LEN};

/// ICMPv6 type of a Neighbor Advertisement.
pub const NEIGHBOR_ADVERTISEMENT: u8 = 0x88;
/// Router flag (R).
pub const NA_ROUTER: u8 = 0x80;
/// Solicited flag (S).
pub const NA_SOLICITED: u8 = 0x40;
/// Override flag (O).
pub const NA_OVERRIDE: u8 = 0x20;
/// Type, code, checksum, flags and reserved, target address.
pub const NA_FIXED_LEN: usize = 24;

/// A checked view of a Neighbor Advertisement (the ICMPv6 message).
#[derive(Clone, Copy, Debug)]
pub struct NeighborAdvertisementView<'a> {
    data: &'a [u8],
}

impl<'a> NeighborAdvertisementView<'a> {
    /// Checks length, type and code (RFC 4861 §7.1.2).
    pub fn new_checked(data: &'a [u8]) -> Result<Self, NdError> {
        if data.len() < NA_FIXED_LEN {
            return Err(NdError::Truncated);
        }
        if data[0] != NEIGHBOR_ADVERTISEMENT {
            return Err(NdError::UnexpectedType(data[0]));
        }
        if data[1] != 0 {
            return Err(NdError::BadCode(data[1]));
        }
        Ok(NeighborAdvertisementView { data })
    }

    /// The R, S and O flags (high bits of the fifth octet).
    pub fn flags(&self) -> u8 {
        self.data[4] & 0xe0
    }

    /// The target address.
    pub fn target(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.data[8..24]);
        Ipv6Addr::from(o)
    }

    /// The option area.
    pub fn options(&self) -> &'a [u8] {
        &self.data[NA_FIXED_LEN..]
    }
}

/// A Neighbor Advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborAdvertisement {
    /// [`NA_ROUTER`] | [`NA_SOLICITED`] | [`NA_OVERRIDE`] bits.
    pub flags: u8,
    /// The address advertised.
    pub target: Ipv6Addr,
    /// The Target Link-Layer Address option (an Ethernet MAC).
    pub target_link_layer: Option<[u8; 6]>,
}

impl NeighborAdvertisement {
    /// The unsolicited advertisement of `target` at `mac` (RFC 4861
    /// §7.2.6: Solicited clear, Override set, TLLA option present; Router
    /// set because an LNS node forwards packets, and §7.2.5 makes a
    /// neighbour drop a router from its default router list when an NA
    /// clears the flag).
    pub fn unsolicited(target: Ipv6Addr, mac: [u8; 6]) -> Self {
        NeighborAdvertisement {
            flags: NA_ROUTER | NA_OVERRIDE,
            target,
            target_link_layer: Some(mac),
        }
    }

    /// Reads a checked message; a TLLA option that is not 6 bytes, or a
    /// malformed option area, is refused.
    pub fn parse(view: &NeighborAdvertisementView<'_>) -> Result<Self, NdError> {
        let mut target_link_layer = None;
        for o in NdOption::parse_all(view.options())? {
            if let NdOption::Unknown {
                kind: kind::TARGET_LINK_LAYER_ADDRESS,
                data,
            } = o
            {
                let mac = <[u8; 6]>::try_from(data.as_slice())
                    .map_err(|_| NdError::BadOptionLength(kind::TARGET_LINK_LAYER_ADDRESS))?;
                target_link_layer.get_or_insert(mac);
            }
        }
        Ok(NeighborAdvertisement {
            flags: view.flags(),
            target: view.target(),
            target_link_layer,
        })
    }

    /// Appends the ICMPv6 message with a zero checksum.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[NEIGHBOR_ADVERTISEMENT, 0, 0, 0]);
        out.extend_from_slice(&[self.flags & 0xe0, 0, 0, 0]);
        out.extend_from_slice(&self.target.octets());
        if let Some(mac) = self.target_link_layer {
            // RFC 4861 §4.6.1: type 2, length 1 (8 octets).
            out.extend_from_slice(&[kind::TARGET_LINK_LAYER_ADDRESS, 0x01]);
            out.extend_from_slice(&mac);
        }
    }
}

/// A received Neighbor Advertisement with its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedNa {
    /// IPv6 source address.
    pub src: Ipv6Addr,
    /// IPv6 destination address.
    pub dst: Ipv6Addr,
    /// The message.
    pub message: NeighborAdvertisement,
}

/// Parses and validates a whole IPv6 packet carrying an NA (RFC 4861
/// §7.1.2).
pub fn parse_na_packet(packet: &[u8]) -> Result<ReceivedNa, NdError> {
    let (src, dst, body) = checked_nd_body(packet)?;
    let view = NeighborAdvertisementView::new_checked(body)?;
    let message = NeighborAdvertisement::parse(&view)?;
    // RFC 4861 §7.1.2: the target is not multicast; an NA to a multicast
    // address has the Solicited flag clear.
    if message.target.is_multicast() {
        return Err(NdError::MulticastTarget);
    }
    if dst.is_multicast() && message.flags & NA_SOLICITED != 0 {
        return Err(NdError::SolicitedToMulticast);
    }
    Ok(ReceivedNa { src, dst, message })
}

/// Appends the IPv6 packet `src -> dst` (Hop Limit 255) carrying `na` with
/// its ICMPv6 checksum.
pub fn emit_na_packet(src: Ipv6Addr, dst: Ipv6Addr, na: &NeighborAdvertisement, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + IPV6_HEADER_LEN, 0);
    na.emit(out);
    let body_len = out.len() - start - IPV6_HEADER_LEN;
    let header = Ipv6Repr {
        src,
        dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: body_len,
        hop_limit: ND_HOP_LIMIT,
    };
    // The body is 24 or 32 bytes: it always fits the header's length field.
    let _ = header.emit(&mut out[start..]);
    let body = &mut out[start + IPV6_HEADER_LEN..];
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(src, dst, u8::from(IpProtocol::Icmpv6), body_len as u32)
        .add_bytes(body)
        .checksum();
    body[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// The Ethernet frame of the unsolicited NA of `target` at `mac`: from
/// `target` to all-nodes (ff02::1, MAC 33:33:00:00:00:01).
pub fn unsolicited_na_frame(mac: [u8; 6], target: Ipv6Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 40 + 32);
    EthernetRepr {
        destination: ipv6_multicast_mac(ALL_NODES),
        source: mac,
        ethertype: EtherType::Ipv6,
    }
    .emit(&mut f);
    emit_na_packet(
        target,
        ALL_NODES,
        &NeighborAdvertisement::unsolicited(target, mac),
        &mut f,
    );
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::ethernet::EthernetFrame;
    use proptest::prelude::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];

    fn target() -> Ipv6Addr {
        "2001:db8:1::64".parse().expect("literal")
    }

    /// RFC 4861 §4.4 layout of the unsolicited NA of 2001:db8:1::64, the
    /// checksum worked out by hand (RFC 4443 §2.3 pseudo-header).
    #[test]
    fn unsolicited_na_byte_vector() {
        let f = unsolicited_na_frame(MAC, target());
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(
            &f[..14],
            &[0x33, 0x33, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x0a, 0x86, 0xdd]
        );
        // Version 6, payload 32, next header 58 (ICMPv6), hop limit 255.
        assert_eq!(&f[14..22], &[0x60, 0, 0, 0, 0x00, 0x20, 0x3a, 0xff]);
        assert_eq!(&f[38..54], &ALL_NODES.octets());
        let icmp = &f[54..];
        assert_eq!(&icmp[..2], &[0x88, 0x00]);
        assert_eq!(&icmp[4..8], &[0xa0, 0, 0, 0], "Router and Override");
        assert_eq!(&icmp[8..24], &target().octets());
        assert_eq!(&icmp[24..], &[0x02, 0x01, 0x02, 0, 0, 0, 0, 0x0a]);
        // Pseudo-header words: the source 2001 0db8 0001 0064, the
        // destination ff02 0001, length 0020, next header 003a; then the
        // message: 8800 a000, the target again, 0201 0200 0000 000a. The
        // one's-complement sum folds to 0x87a6; the checksum is ~ = 0x7859.
        assert_eq!(&icmp[2..4], &[0x78, 0x59]);
        let eth = EthernetFrame::new_checked(&f[..]).expect("frame");
        let na = parse_na_packet(eth.payload()).expect("valid NA");
        assert_eq!(na.src, target());
        assert_eq!(na.dst, ALL_NODES);
        assert_eq!(
            na.message,
            NeighborAdvertisement::unsolicited(target(), MAC)
        );
    }

    /// RFC 4861 §7.1.2 validity checks.
    #[test]
    fn invalid_advertisements_are_refused() {
        let mut p = Vec::new();
        emit_na_packet(
            target(),
            ALL_NODES,
            &NeighborAdvertisement::unsolicited(target(), MAC),
            &mut p,
        );
        let mut hop = p.clone();
        hop[7] = 64;
        assert_eq!(parse_na_packet(&hop), Err(NdError::BadHopLimit(64)));
        let mut sum = p.clone();
        sum[42] ^= 0xff;
        assert_eq!(parse_na_packet(&sum), Err(NdError::BadChecksum));
        let solicited = NeighborAdvertisement {
            flags: NA_SOLICITED | NA_OVERRIDE,
            ..NeighborAdvertisement::unsolicited(target(), MAC)
        };
        let mut s = Vec::new();
        emit_na_packet(target(), ALL_NODES, &solicited, &mut s);
        assert_eq!(parse_na_packet(&s), Err(NdError::SolicitedToMulticast));
        let mut m = Vec::new();
        emit_na_packet(
            target(),
            ALL_NODES,
            &NeighborAdvertisement::unsolicited(ALL_NODES, MAC),
            &mut m,
        );
        assert_eq!(parse_na_packet(&m), Err(NdError::MulticastTarget));
        assert_eq!(
            NeighborAdvertisementView::new_checked(&p[40..63]).err(),
            Some(NdError::Truncated)
        );
        let mut code = p[40..].to_vec();
        code[1] = 1;
        assert_eq!(
            NeighborAdvertisementView::new_checked(&code).err(),
            Some(NdError::BadCode(1))
        );
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(
            flags in 0u8..8,
            t in any::<u128>(),
            mac in proptest::option::of(any::<[u8; 6]>()),
        ) {
            let na = NeighborAdvertisement {
                flags: flags << 5,
                target: Ipv6Addr::from(t),
                target_link_layer: mac,
            };
            let mut out = Vec::new();
            na.emit(&mut out);
            let view = NeighborAdvertisementView::new_checked(&out).expect("valid");
            prop_assert_eq!(NeighborAdvertisement::parse(&view), Ok(na));
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_na_packet(&data);
            if let Ok(v) = NeighborAdvertisementView::new_checked(&data) {
                let _ = NeighborAdvertisement::parse(&v);
            }
        }
    }
}
