//! ARP for IPv4 over Ethernet (RFC 826) and the gratuitous announcement an
//! lnsd sends when a tunnel address moves to it (RFC 5227 §3 "ARP
//! Announcement"; FAILOVER.md: the LAC and the core must follow the
//! address at once).
//!
//! Contract: [`ArpPacket::new_checked`] accepts only Ethernet/IPv4 ARP
//! (hardware type 1, protocol type 0x0800, lengths 6 and 4) of at least
//! [`ARP_PACKET_LEN`] bytes, with a typed [`ArpError`] naming what the
//! sender got wrong; [`ArpRepr`] parses and emits the 28-byte packet;
//! [`gratuitous_arp_frame`] builds the whole broadcast Ethernet frame of
//! an announcement (a request whose sender and target protocol addresses
//! are both the announced address, target hardware address zero).

use core::net::Ipv4Addr;

use super::ethernet::{EtherType, EthernetRepr, BROADCAST_MAC};

/// The size of an Ethernet/IPv4 ARP packet.
pub const ARP_PACKET_LEN: usize = 28;
/// ARP hardware type Ethernet.
pub const HARDWARE_ETHERNET: u16 = 0x0001;
/// ARP protocol type IPv4.
pub const PROTOCOL_IPV4: u16 = 0x0800;

/// ARP operation codes (RFC 826; IANA "ARP operation codes"), open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Any other.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            0x0001 => ArpOperation::Request,
            0x0002 => ArpOperation::Reply,
            n => ArpOperation::Unknown(n),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(o: ArpOperation) -> u16 {
        match o {
            ArpOperation::Request => 0x0001,
            ArpOperation::Reply => 0x0002,
            ArpOperation::Unknown(n) => n,
        }
    }
}

/// An ARP packet lnsd does not handle; the sender's fault (ARP has no
/// error reply: such a packet is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArpError {
    /// Shorter than 28 bytes.
    #[error("ARP packet of {0} bytes is shorter than 28")]
    Truncated(usize),
    /// Not Ethernet hardware.
    #[error("ARP hardware type {0:#06x} is not Ethernet")]
    Hardware(u16),
    /// Not IPv4.
    #[error("ARP protocol type {0:#06x} is not IPv4")]
    Protocol(u16),
    /// Address lengths other than 6 and 4.
    #[error("ARP address lengths {0} and {1} are not 6 and 4")]
    Lengths(u8, u8),
}

/// A checked view of an Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug)]
pub struct ArpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks the length and the fixed fields (RFC 826 "Packet Reception":
    /// a hardware or protocol type we do not speak is dropped).
    pub fn new_checked(buffer: T) -> Result<Self, ArpError> {
        let b = buffer.as_ref();
        if b.len() < ARP_PACKET_LEN {
            return Err(ArpError::Truncated(b.len()));
        }
        let hardware = u16::from_be_bytes([b[0], b[1]]);
        if hardware != HARDWARE_ETHERNET {
            return Err(ArpError::Hardware(hardware));
        }
        let protocol = u16::from_be_bytes([b[2], b[3]]);
        if protocol != PROTOCOL_IPV4 {
            return Err(ArpError::Protocol(protocol));
        }
        if b[4] != 6 || b[5] != 4 {
            return Err(ArpError::Lengths(b[4], b[5]));
        }
        Ok(ArpPacket { buffer })
    }

    /// The operation.
    pub fn operation(&self) -> ArpOperation {
        let b = self.buffer.as_ref();
        ArpOperation::from(u16::from_be_bytes([b[6], b[7]]))
    }

    /// Sender hardware address.
    pub fn sender_hardware(&self) -> [u8; 6] {
        mac_at(self.buffer.as_ref(), 8)
    }

    /// Sender protocol address.
    pub fn sender_protocol(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), 14)
    }

    /// Target hardware address.
    pub fn target_hardware(&self) -> [u8; 6] {
        mac_at(self.buffer.as_ref(), 18)
    }

    /// Target protocol address.
    pub fn target_protocol(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), 24)
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_hardware: [u8; 6],
    /// Sender protocol address.
    pub sender_protocol: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware: [u8; 6],
    /// Target protocol address.
    pub target_protocol: Ipv4Addr,
}

impl ArpRepr {
    /// The announcement of `addr` at `mac` (RFC 5227 §3: an ARP Request
    /// with sender and target protocol address both `addr` and the target
    /// hardware address zero).
    pub fn announcement(mac: [u8; 6], addr: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware: mac,
            sender_protocol: addr,
            target_hardware: [0; 6],
            target_protocol: addr,
        }
    }

    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Self {
        ArpRepr {
            operation: p.operation(),
            sender_hardware: p.sender_hardware(),
            sender_protocol: p.sender_protocol(),
            target_hardware: p.target_hardware(),
            target_protocol: p.target_protocol(),
        }
    }

    /// Appends the 28-byte packet.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&HARDWARE_ETHERNET.to_be_bytes());
        out.extend_from_slice(&PROTOCOL_IPV4.to_be_bytes());
        out.extend_from_slice(&[0x06, 0x04]);
        out.extend_from_slice(&u16::from(self.operation).to_be_bytes());
        out.extend_from_slice(&self.sender_hardware);
        out.extend_from_slice(&self.sender_protocol.octets());
        out.extend_from_slice(&self.target_hardware);
        out.extend_from_slice(&self.target_protocol.octets());
    }
}

/// The broadcast Ethernet frame announcing `addr` at `mac` (42 bytes; the
/// NIC pads it to the 60-byte minimum).
pub fn gratuitous_arp_frame(mac: [u8; 6], addr: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    EthernetRepr {
        destination: BROADCAST_MAC,
        source: mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut f);
    ArpRepr::announcement(mac, addr).emit(&mut f);
    f
}

fn mac_at(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
}

fn ipv4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::ethernet::EthernetFrame;
    use proptest::prelude::*;

    /// RFC 5227 §3 announcement of 198.18.1.100 from 02:00:00:00:00:0a,
    /// laid out as RFC 826 gives the fields.
    #[test]
    fn announcement_byte_vector() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let f = gratuitous_arp_frame(mac, Ipv4Addr::new(198, 18, 1, 100));
        assert_eq!(
            f,
            vec![
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06,
                0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
                0xc6, 0x12, 0x01, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x01, 0x64,
            ]
        );
        let eth = EthernetFrame::new_checked(&f[..]).expect("header");
        assert_eq!(eth.ethertype(), EtherType::Arp);
        let arp = ArpPacket::new_checked(eth.payload()).expect("ARP");
        assert_eq!(
            ArpRepr::parse(&arp),
            ArpRepr::announcement(mac, Ipv4Addr::new(198, 18, 1, 100))
        );
    }

    /// RFC 826: a packet for another hardware or protocol type is dropped.
    #[test]
    fn foreign_packets_are_refused_with_the_cause() {
        let mut p = Vec::new();
        ArpRepr::announcement([1; 6], Ipv4Addr::new(198, 18, 0, 1)).emit(&mut p);
        assert_eq!(
            ArpPacket::new_checked(&p[..27]).err(),
            Some(ArpError::Truncated(27))
        );
        let mut bad = p.clone();
        bad[1] = 0x06;
        assert_eq!(
            ArpPacket::new_checked(&bad[..]).err(),
            Some(ArpError::Hardware(6))
        );
        let mut bad = p.clone();
        bad[2] = 0x86;
        bad[3] = 0xdd;
        assert_eq!(
            ArpPacket::new_checked(&bad[..]).err(),
            Some(ArpError::Protocol(0x86dd))
        );
        let mut bad = p;
        bad[5] = 16;
        assert_eq!(
            ArpPacket::new_checked(&bad[..]).err(),
            Some(ArpError::Lengths(6, 16))
        );
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(
            op in any::<u16>(),
            sh in any::<[u8; 6]>(),
            sp in any::<u32>(),
            th in any::<[u8; 6]>(),
            tp in any::<u32>(),
        ) {
            let repr = ArpRepr {
                operation: ArpOperation::from(op),
                sender_hardware: sh,
                sender_protocol: Ipv4Addr::from(sp),
                target_hardware: th,
                target_protocol: Ipv4Addr::from(tp),
            };
            let mut out = Vec::new();
            repr.emit(&mut out);
            prop_assert_eq!(out.len(), ARP_PACKET_LEN);
            let p = ArpPacket::new_checked(&out[..]).expect("valid");
            prop_assert_eq!(ArpRepr::parse(&p), repr);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = ArpPacket::new_checked(&data[..]) {
                let _ = ArpRepr::parse(&p);
            }
        }
    }
}
