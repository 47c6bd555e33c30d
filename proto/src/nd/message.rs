//! Router Solicitation and Router Advertisement (RFC 4861 §4.1, §4.2): a
//! zero-copy view of the ICMPv6 body, an owned representation, and whole
//! IPv6 packets with the ICMPv6 checksum (RFC 4443 §2.3).
//!
//! Contract: [`parse_nd_packet`] applies every receive check of RFC 4861
//! §6.1.1 (RS) and §6.1.2 (RA): Hop Limit 255, a valid checksum, code 0,
//! enough length, no zero-length option, and the source-address rules. A
//! packet failing any of them is an [`NdError`] and must be dropped
//! silently. [`emit_nd_packet`] always sends Hop Limit 255.

use core::net::Ipv6Addr;

use super::option::NdOption;
use super::NdError;
use crate::ip::checksum::Accumulator;
use crate::ip::{IpProtocol, Ipv6Packet, Ipv6Repr, UpperLayer, IPV6_HEADER_LEN};

/// ICMPv6 type of a Router Solicitation.
pub const ROUTER_SOLICITATION: u8 = 0x85;
/// ICMPv6 type of a Router Advertisement.
pub const ROUTER_ADVERTISEMENT: u8 = 0x86;
/// The Hop Limit every ND message carries (RFC 4861 §6.1).
pub const ND_HOP_LIMIT: u8 = 0xff;

const RS_FIXED_LEN: usize = 8;
const RA_FIXED_LEN: usize = 16;

/// A checked view of an RS or RA ICMPv6 body (type onwards).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdMessageView<'a> {
    data: &'a [u8],
}

impl<'a> NdMessageView<'a> {
    /// Accepts an RS of at least 8 octets or an RA of at least 16, code 0.
    pub fn new_checked(data: &'a [u8]) -> Result<Self, NdError> {
        let (&ty, &code) = match data {
            [t, c, ..] => (t, c),
            _ => return Err(NdError::Truncated),
        };
        let min = match ty {
            ROUTER_SOLICITATION => RS_FIXED_LEN,
            ROUTER_ADVERTISEMENT => RA_FIXED_LEN,
            other => return Err(NdError::UnexpectedType(other)),
        };
        if code != 0 {
            return Err(NdError::BadCode(code));
        }
        if data.len() < min {
            return Err(NdError::Truncated);
        }
        Ok(NdMessageView { data })
    }

    /// The ICMPv6 type.
    pub fn msg_type(&self) -> u8 {
        self.data[0]
    }
    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.data[2], self.data[3]])
    }
    /// RA Cur Hop Limit (0 for an RS).
    pub fn cur_hop_limit(&self) -> u8 {
        self.ra_byte(4)
    }
    /// RA flags octet: M (0x80), O (0x40) and the rest (0 for an RS).
    pub fn flags(&self) -> u8 {
        self.ra_byte(5)
    }
    /// RA Router Lifetime in seconds (0 for an RS).
    pub fn router_lifetime(&self) -> u16 {
        u16::from_be_bytes([self.ra_byte(6), self.ra_byte(7)])
    }
    /// RA Reachable Time in milliseconds (0 for an RS).
    pub fn reachable_time(&self) -> u32 {
        u32::from_be_bytes([
            self.ra_byte(8),
            self.ra_byte(9),
            self.ra_byte(10),
            self.ra_byte(11),
        ])
    }
    /// RA Retrans Timer in milliseconds (0 for an RS).
    pub fn retrans_timer(&self) -> u32 {
        u32::from_be_bytes([
            self.ra_byte(12),
            self.ra_byte(13),
            self.ra_byte(14),
            self.ra_byte(15),
        ])
    }
    /// The option area.
    pub fn options(&self) -> &'a [u8] {
        match self.msg_type() {
            ROUTER_ADVERTISEMENT => &self.data[RA_FIXED_LEN..],
            _ => &self.data[RS_FIXED_LEN..],
        }
    }

    fn ra_byte(&self, at: usize) -> u8 {
        match self.msg_type() {
            ROUTER_ADVERTISEMENT => self.data[at],
            _ => 0,
        }
    }
}

/// An owned Router Solicitation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterSolicitation {
    /// Options (a Source Link-Layer Address at most, in practice).
    pub options: Vec<NdOption>,
}

/// An owned Router Advertisement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterAdvertisement {
    /// Cur Hop Limit for hosts (0: unspecified).
    pub cur_hop_limit: u8,
    /// The flags octet: [`RouterAdvertisement::MANAGED`] (M),
    /// [`RouterAdvertisement::OTHER_CONFIG`] (O), other bits as received.
    pub flags: u8,
    /// Router Lifetime in seconds (0: not a default router).
    pub router_lifetime: u16,
    /// Reachable Time in milliseconds.
    pub reachable_time: u32,
    /// Retrans Timer in milliseconds.
    pub retrans_timer: u32,
    /// Options in order.
    pub options: Vec<NdOption>,
}

impl RouterAdvertisement {
    /// M: addresses are available by DHCPv6.
    pub const MANAGED: u8 = 0x80;
    /// O: other configuration is available by DHCPv6.
    pub const OTHER_CONFIG: u8 = 0x40;
}

/// An RS or an RA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdMessage {
    /// RFC 4861 §4.1.
    RouterSolicitation(RouterSolicitation),
    /// RFC 4861 §4.2.
    RouterAdvertisement(RouterAdvertisement),
}

impl NdMessage {
    /// Reads a checked view (options included).
    pub fn parse(view: &NdMessageView<'_>) -> Result<Self, NdError> {
        let options = NdOption::parse_all(view.options())?;
        Ok(match view.msg_type() {
            ROUTER_ADVERTISEMENT => NdMessage::RouterAdvertisement(RouterAdvertisement {
                cur_hop_limit: view.cur_hop_limit(),
                flags: view.flags(),
                router_lifetime: view.router_lifetime(),
                reachable_time: view.reachable_time(),
                retrans_timer: view.retrans_timer(),
                options,
            }),
            _ => NdMessage::RouterSolicitation(RouterSolicitation { options }),
        })
    }

    /// Appends the ICMPv6 body with a zero checksum field.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), NdError> {
        let options = match self {
            NdMessage::RouterSolicitation(rs) => {
                out.extend_from_slice(&[ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0]);
                &rs.options
            }
            NdMessage::RouterAdvertisement(ra) => {
                out.extend_from_slice(&[ROUTER_ADVERTISEMENT, 0, 0, 0, ra.cur_hop_limit, ra.flags]);
                out.extend_from_slice(&ra.router_lifetime.to_be_bytes());
                out.extend_from_slice(&ra.reachable_time.to_be_bytes());
                out.extend_from_slice(&ra.retrans_timer.to_be_bytes());
                &ra.options
            }
        };
        for o in options {
            o.emit(out)?;
        }
        Ok(())
    }
}

/// A received ND message with the addresses it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedNd {
    /// IPv6 source address.
    pub src: Ipv6Addr,
    /// IPv6 destination address.
    pub dst: Ipv6Addr,
    /// The message.
    pub message: NdMessage,
}

/// Parses and validates a whole IPv6 packet carrying an RS or an RA.
pub fn parse_nd_packet(packet: &[u8]) -> Result<ReceivedNd, NdError> {
    let (src, dst, body) = checked_nd_body(packet)?;
    let view = NdMessageView::new_checked(body)?;
    let message = NdMessage::parse(&view)?;
    match &message {
        // RFC 4861 §6.1.1: an unspecified source forbids a SLLA option.
        NdMessage::RouterSolicitation(rs)
            if src.is_unspecified()
                && rs
                    .options
                    .iter()
                    .any(|o| matches!(o, NdOption::SourceLinkLayerAddress(_))) =>
        {
            return Err(NdError::SllaWithUnspecifiedSource)
        }
        // RFC 4861 §6.1.2: an RA comes from a link-local address.
        NdMessage::RouterAdvertisement(_) if !is_link_local(src) => {
            return Err(NdError::SourceNotLinkLocal)
        }
        _ => {}
    }
    Ok(ReceivedNd { src, dst, message })
}

/// Appends a whole IPv6 packet `src -> dst`, Hop Limit 255, carrying
/// `message` with its ICMPv6 checksum.
pub fn emit_nd_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    message: &NdMessage,
    out: &mut Vec<u8>,
) -> Result<(), NdError> {
    let start = out.len();
    out.resize(start + IPV6_HEADER_LEN, 0);
    message.emit(out)?;
    let body_len = out.len() - start - IPV6_HEADER_LEN;
    Ipv6Repr {
        src,
        dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: body_len,
        hop_limit: ND_HOP_LIMIT,
    }
    .emit(&mut out[start..])
    .map_err(NdError::Ip)?;
    let body = &mut out[start + IPV6_HEADER_LEN..];
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(src, dst, u8::from(IpProtocol::Icmpv6), body_len as u32)
        .add_bytes(body)
        .checksum();
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

/// fe80::/10.
pub(crate) fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The checks every ND message shares (RFC 4861 §6.1.1, §6.1.2, §7.1.1,
/// §7.1.2): an IPv6 packet carrying ICMPv6, Hop Limit 255 (which proves
/// the sender is on-link) and a valid checksum over the pseudo-header.
/// Returns the addresses and the ICMPv6 message.
pub(crate) fn checked_nd_body(packet: &[u8]) -> Result<(Ipv6Addr, Ipv6Addr, &[u8]), NdError> {
    let ip = Ipv6Packet::new_checked(packet).map_err(NdError::Ip)?;
    let offset = match ip.upper_layer().map_err(NdError::Ip)? {
        UpperLayer::At {
            protocol: IpProtocol::Icmpv6,
            offset,
        } => offset,
        _ => return Err(NdError::NotIcmpv6),
    };
    if ip.hop_limit() != ND_HOP_LIMIT {
        return Err(NdError::BadHopLimit(ip.hop_limit()));
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    // Up to the Payload Length (no link padding), borrowed from `packet`.
    let end = ip.packet().len();
    let body = packet.get(offset..end).ok_or(NdError::Truncated)?;
    let len = u32::try_from(body.len()).map_err(|_| NdError::Truncated)?;
    if !Accumulator::new()
        .add_ipv6_pseudo_header(src, dst, u8::from(IpProtocol::Icmpv6), len)
        .add_bytes(body)
        .verifies()
    {
        return Err(NdError::BadChecksum);
    }
    Ok((src, dst, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(s: &str) -> Ipv6Addr {
        s.parse().expect("literal")
    }

    /// An RS from fe80::1 to ff02::2 as a Linux host sends it on PPP (no
    /// options), checksum computed by hand from the RFC 4443 §2.3 rules.
    #[test]
    fn rs_byte_vector_round_trip() {
        let rs = NdMessage::RouterSolicitation(RouterSolicitation::default());
        let mut p = Vec::new();
        emit_nd_packet(ll("fe80::1"), ll("ff02::2"), &rs, &mut p).expect("valid");
        assert_eq!(p.len(), 48);
        assert_eq!(&p[..8], &[0x60, 0, 0, 0, 0x00, 0x08, 0x3a, 0xff]);
        // Sum of the pseudo-header words: fe80 + 0001 + ff02 + 0002 + 0008 +
        // 003a = 0x1_fdc7 -> fdc8; plus 8500 = 0x1_82c8 -> 82c9; checksum ~82c9.
        assert_eq!(&p[40..44], &[0x85, 0x00, 0x7d, 0x36]);
        let got = parse_nd_packet(&p).expect("valid");
        assert_eq!(got.message, rs);
        assert_eq!(got.src, ll("fe80::1"));
    }

    #[test]
    fn receive_checks_of_rfc4861_6_1() {
        let rs = NdMessage::RouterSolicitation(RouterSolicitation {
            options: vec![NdOption::SourceLinkLayerAddress(vec![1, 2, 3, 4, 5, 6])],
        });
        let mut p = Vec::new();
        emit_nd_packet(ll("fe80::1"), ll("ff02::2"), &rs, &mut p).expect("valid");
        assert!(parse_nd_packet(&p).is_ok());
        let mut hop = p.clone();
        hop[7] = 64;
        assert_eq!(parse_nd_packet(&hop), Err(NdError::BadHopLimit(64)));
        let mut sum = p.clone();
        sum[42] ^= 0x01;
        assert_eq!(parse_nd_packet(&sum), Err(NdError::BadChecksum));
        let mut unspec = Vec::new();
        emit_nd_packet(Ipv6Addr::UNSPECIFIED, ll("ff02::2"), &rs, &mut unspec).expect("valid");
        assert_eq!(
            parse_nd_packet(&unspec),
            Err(NdError::SllaWithUnspecifiedSource)
        );
        let ra = NdMessage::RouterAdvertisement(RouterAdvertisement::default());
        let mut global = Vec::new();
        emit_nd_packet(ll("2001:db8::1"), ll("ff02::1"), &ra, &mut global).expect("valid");
        assert_eq!(parse_nd_packet(&global), Err(NdError::SourceNotLinkLocal));
    }

    #[test]
    fn ra_fields_round_trip() {
        let ra = NdMessage::RouterAdvertisement(RouterAdvertisement {
            cur_hop_limit: 64,
            flags: RouterAdvertisement::OTHER_CONFIG,
            router_lifetime: 1800,
            reachable_time: 0,
            retrans_timer: 0,
            options: vec![NdOption::Mtu(1492)],
        });
        let mut p = Vec::new();
        emit_nd_packet(ll("fe80::1"), ll("ff02::1"), &ra, &mut p).expect("valid");
        assert_eq!(&p[40..42], &[0x86, 0x00]);
        assert_eq!(&p[44..48], &[0x40, 0x40, 0x07, 0x08]);
        let view = NdMessageView::new_checked(&p[40..]).expect("valid");
        assert_eq!(view.router_lifetime(), 1800);
        assert_eq!(parse_nd_packet(&p).expect("valid").message, ra);
    }
}
