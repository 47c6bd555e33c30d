//! PPP protocol numbers (RFC 1661 §2, IANA "PPP DLL Protocol Numbers") as an
//! open enum, and the pure data-plane classifier [`classify`].
//!
//! Contract: every `u16` converts to a [`Protocol`] and back unchanged; numbers
//! we do not know are `Unknown(n)` and the link answers them with an LCP
//! Protocol-Reject (RFC 1661 §5.7).

use super::frame::Frame;

/// A PPP protocol number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// 0x0021 Internet Protocol version 4.
    Ipv4,
    /// 0x0057 Internet Protocol version 6.
    Ipv6,
    /// 0x003d Multilink PPP (RFC 1990).
    Multilink,
    /// 0x8021 IP Control Protocol (RFC 1332).
    Ipcp,
    /// 0x8057 IPv6 Control Protocol (RFC 5072).
    Ipv6cp,
    /// 0x80fd Compression Control Protocol (RFC 1962).
    Ccp,
    /// 0x80fb Individual-link CCP (RFC 1962).
    CcpLink,
    /// 0x8053 Encryption Control Protocol (RFC 1968).
    Ecp,
    /// 0x8055 Individual-link ECP (RFC 1968).
    EcpLink,
    /// 0xc021 Link Control Protocol (RFC 1661).
    Lcp,
    /// 0xc023 Password Authentication Protocol (RFC 1334).
    Pap,
    /// 0xc223 Challenge Handshake Authentication Protocol (RFC 1994).
    Chap,
    /// Any other number.
    Unknown(u16),
}

impl From<u16> for Protocol {
    fn from(n: u16) -> Self {
        match n {
            0x0021 => Protocol::Ipv4,
            0x0057 => Protocol::Ipv6,
            0x003d => Protocol::Multilink,
            0x8021 => Protocol::Ipcp,
            0x8057 => Protocol::Ipv6cp,
            0x80fd => Protocol::Ccp,
            0x80fb => Protocol::CcpLink,
            0x8053 => Protocol::Ecp,
            0x8055 => Protocol::EcpLink,
            0xc021 => Protocol::Lcp,
            0xc023 => Protocol::Pap,
            0xc223 => Protocol::Chap,
            other => Protocol::Unknown(other),
        }
    }
}

impl From<Protocol> for u16 {
    fn from(p: Protocol) -> u16 {
        match p {
            Protocol::Ipv4 => 0x0021,
            Protocol::Ipv6 => 0x0057,
            Protocol::Multilink => 0x003d,
            Protocol::Ipcp => 0x8021,
            Protocol::Ipv6cp => 0x8057,
            Protocol::Ccp => 0x80fd,
            Protocol::CcpLink => 0x80fb,
            Protocol::Ecp => 0x8053,
            Protocol::EcpLink => 0x8055,
            Protocol::Lcp => 0xc021,
            Protocol::Pap => 0xc023,
            Protocol::Chap => 0xc223,
            Protocol::Unknown(n) => n,
        }
    }
}

impl Protocol {
    /// The protocol number.
    pub fn number(self) -> u16 {
        u16::from(self)
    }

    /// True for network-layer datagrams (RFC 1661 §2: 0x0xxx-0x3xxx).
    pub fn is_network_layer(self) -> bool {
        self.number() < 0x4000
    }
}

/// Classifies a PPP frame (the bytes after the L2TP data header) for the data
/// plane: `Ipv4`/`Ipv6` go to the TUN device, everything else to the link.
/// A frame too short or malformed to carry a protocol field is
/// `Unknown(0x0000)`, a number no valid frame can carry (RFC 1661 §2: the
/// least significant bit of a protocol number is 1).
pub fn classify(frame: &[u8]) -> Protocol {
    match Frame::new_checked(frame) {
        Ok(f) => f.protocol(),
        Err(_) => Protocol::Unknown(0x0000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_for_every_u16() {
        for n in 0..=u16::MAX {
            assert_eq!(u16::from(Protocol::from(n)), n);
        }
    }

    #[test]
    fn classify_data_and_control() {
        // RFC 1661 §2 with FF03 and a full protocol field.
        assert_eq!(classify(&[0xff, 0x03, 0x00, 0x21, 0x45]), Protocol::Ipv4);
        // RFC 1661 §6.5/§6.6: ACFC and PFC, IPv6 0x57 in one byte.
        assert_eq!(classify(&[0x57, 0x60]), Protocol::Ipv6);
        assert_eq!(classify(&[0xc0, 0x21, 0x01]), Protocol::Lcp);
        assert_eq!(classify(&[]), Protocol::Unknown(0));
        assert_eq!(classify(&[0xff, 0x03, 0x00, 0x20]), Protocol::Unknown(0));
        assert!(Protocol::Ipv6.is_network_layer());
        assert!(!Protocol::Ipcp.is_network_layer());
    }
}
