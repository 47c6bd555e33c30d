//! Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894 for IPv4,
//! RFC 2464 for IPv6) for the frames an lnsd sends on the LAN itself: the
//! gratuitous ARP and the unsolicited Neighbor Advertisement that announce
//! a tunnel address moving to the active node.
//!
//! Contract: [`EthernetFrame::new_checked`] accepts any buffer of at least
//! [`ETHERNET_HEADER_LEN`] bytes (no FCS: the NIC adds and strips it);
//! [`EthernetRepr::emit`] appends the 14-byte header. [`ipv6_multicast_mac`]
//! maps an IPv6 multicast group to its MAC (RFC 2464 §7).

use core::net::Ipv6Addr;

/// Destination, source and EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// The broadcast MAC address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// EtherType numbers (IEEE registry), an open set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtherType {
    /// IPv4 (0x0800).
    Ipv4,
    /// ARP (0x0806).
    Arp,
    /// IPv6 (0x86dd).
    Ipv6,
    /// Any other.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            n => EtherType::Unknown(n),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(n) => n,
        }
    }
}

/// A frame too short for its Ethernet header (the sender's fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Ethernet frame of {0} bytes is shorter than its 14-byte header")]
pub struct EthernetTruncated(pub usize);

/// A checked view of an Ethernet II frame.
#[derive(Clone, Copy, Debug)]
pub struct EthernetFrame<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks that the header fits.
    pub fn new_checked(buffer: T) -> Result<Self, EthernetTruncated> {
        let len = buffer.as_ref().len();
        if len < ETHERNET_HEADER_LEN {
            return Err(EthernetTruncated(len));
        }
        Ok(EthernetFrame { buffer })
    }

    /// Destination MAC.
    pub fn destination(&self) -> [u8; 6] {
        mac_at(self.buffer.as_ref(), 0)
    }

    /// Source MAC.
    pub fn source(&self) -> [u8; 6] {
        mac_at(self.buffer.as_ref(), 6)
    }

    /// EtherType.
    pub fn ethertype(&self) -> EtherType {
        let b = self.buffer.as_ref();
        EtherType::from(u16::from_be_bytes([b[12], b[13]]))
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[ETHERNET_HEADER_LEN..]
    }
}

/// The header fields of an Ethernet II frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination MAC.
    pub destination: [u8; 6],
    /// Source MAC.
    pub source: [u8; 6],
    /// EtherType.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Self {
        EthernetRepr {
            destination: frame.destination(),
            source: frame.source(),
            ethertype: frame.ethertype(),
        }
    }

    /// Appends the 14-byte header.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.destination);
        out.extend_from_slice(&self.source);
        out.extend_from_slice(&u16::from(self.ethertype).to_be_bytes());
    }
}

/// The MAC of IPv6 multicast group `group`: 33:33 and its last 32 bits
/// (RFC 2464 §7).
pub fn ipv6_multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

fn mac_at(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_byte_vector() {
        let repr = EthernetRepr {
            destination: BROADCAST_MAC,
            source: [0x02, 0, 0, 0, 0, 0x0a],
            ethertype: EtherType::Arp,
        };
        let mut out = Vec::new();
        repr.emit(&mut out);
        assert_eq!(
            out,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x06]
        );
        let f = EthernetFrame::new_checked(&out[..]).expect("14 bytes");
        assert_eq!(EthernetRepr::parse(&f), repr);
        assert!(f.payload().is_empty());
        assert_eq!(
            EthernetFrame::new_checked(&out[..13]).err(),
            Some(EthernetTruncated(13))
        );
    }

    /// RFC 2464 §7: ff02::1 maps to 33:33:00:00:00:01.
    #[test]
    fn all_nodes_multicast_mac() {
        assert_eq!(
            ipv6_multicast_mac(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            [0x33, 0x33, 0, 0, 0, 0x01]
        );
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(d in any::<[u8; 6]>(), s in any::<[u8; 6]>(), t in any::<u16>()) {
            let repr = EthernetRepr { destination: d, source: s, ethertype: EtherType::from(t) };
            let mut out = Vec::new();
            repr.emit(&mut out);
            let f = EthernetFrame::new_checked(&out[..]).expect("header");
            prop_assert_eq!(EthernetRepr::parse(&f), repr);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(f) = EthernetFrame::new_checked(&data[..]) {
                let _ = EthernetRepr::parse(&f);
                let _ = f.payload();
            }
        }
    }
}
