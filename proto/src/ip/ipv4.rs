//! IPv4 header (RFC 791): a zero-copy view and an owned representation.
//!
//! Contract: [`Ipv4Packet::new_checked`] accepts a buffer only when the
//! version is 4, the IHL is at least 5, and the header and the Total Length
//! fit in the buffer; every accessor is then in bounds. Bytes after Total
//! Length (link padding) are not part of [`Ipv4Packet::payload`]. Options are
//! kept as bytes, never interpreted.

use core::net::Ipv4Addr;

use super::checksum::{internet_checksum, Accumulator};
use super::{IpError, IpProtocol};

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A checked view of an IPv4 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks the version, IHL and Total Length against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, IpError> {
        let data = buffer.as_ref();
        let first = *data.first().ok_or(IpError::Truncated)?;
        if first >> 4 != 4 {
            return Err(IpError::UnknownVersion(first >> 4));
        }
        if data.len() < IPV4_HEADER_LEN {
            return Err(IpError::Truncated);
        }
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < IPV4_HEADER_LEN || header_len > data.len() {
            return Err(IpError::BadHeaderLength);
        }
        let total_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
        if total_len < header_len || total_len > data.len() {
            return Err(IpError::BadTotalLength);
        }
        Ok(Ipv4Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.data()[at], self.data()[at + 1]])
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.data()[0] & 0x0f) * 4
    }
    /// The DSCP and ECN byte (former TOS).
    pub fn dscp_ecn(&self) -> u8 {
        self.data()[1]
    }
    /// Total Length: header plus payload.
    pub fn total_len(&self) -> usize {
        usize::from(self.u16_at(2))
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        self.u16_at(4)
    }
    /// The Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        self.u16_at(6) & FLAG_DF != 0
    }
    /// The More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.u16_at(6) & FLAG_MF != 0
    }
    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> usize {
        usize::from(self.u16_at(6) & OFFSET_MASK) * 8
    }
    /// Time To Live.
    pub fn ttl(&self) -> u8 {
        self.data()[8]
    }
    /// The upper-layer protocol.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.data()[9])
    }
    /// The header checksum field.
    pub fn header_checksum(&self) -> u16 {
        self.u16_at(10)
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = self.data();
        Ipv4Addr::new(d[12], d[13], d[14], d[15])
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = self.data();
        Ipv4Addr::new(d[16], d[17], d[18], d[19])
    }
    /// True when the header checksum verifies (RFC 791 §3.1).
    pub fn verify_checksum(&self) -> bool {
        Accumulator::new()
            .add_bytes(&self.data()[..self.header_len()])
            .verifies()
    }
    /// The header, options included.
    pub fn header(&self) -> &[u8] {
        &self.data()[..self.header_len()]
    }
    /// The payload, up to Total Length.
    pub fn payload(&self) -> &[u8] {
        &self.data()[self.header_len()..self.total_len()]
    }
    /// The packet up to Total Length (no link padding).
    pub fn packet(&self) -> &[u8] {
        &self.data()[..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// The payload, mutable, up to Total Length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), self.total_len());
        &mut self.buffer.as_mut()[start..end]
    }
    /// Sets the TTL (the checksum is not updated).
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[8] = ttl;
    }
    /// Recomputes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        let len = self.header_len();
        let data = self.buffer.as_mut();
        data[10..12].fill(0);
        let sum = internet_checksum(&data[..len]);
        data[10..12].copy_from_slice(&sum.to_be_bytes());
    }
}

/// The fields of an IPv4 header without options that lnsd emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Upper-layer protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Time To Live.
    pub ttl: u8,
    /// DSCP and ECN byte.
    pub dscp_ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_fragment: bool,
}

impl Ipv4Repr {
    /// Reads the header fields of a checked packet (options are dropped).
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Self {
        Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: packet.total_len() - packet.header_len(),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_fragment: packet.dont_fragment(),
        }
    }

    /// Writes a 20-byte header with a valid checksum into `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), IpError> {
        let hdr = out
            .get_mut(..IPV4_HEADER_LEN)
            .ok_or(IpError::BufferTooSmall)?;
        let total = u16::try_from(IPV4_HEADER_LEN + self.payload_len)
            .map_err(|_| IpError::BadTotalLength)?;
        hdr[0] = 0x45;
        hdr[1] = self.dscp_ecn;
        hdr[2..4].copy_from_slice(&total.to_be_bytes());
        hdr[4..6].copy_from_slice(&self.ident.to_be_bytes());
        let flags = if self.dont_fragment { FLAG_DF } else { 0 };
        hdr[6..8].copy_from_slice(&flags.to_be_bytes());
        hdr[8] = self.ttl;
        hdr[9] = u8::from(self.protocol);
        hdr[10..12].fill(0);
        hdr[12..16].copy_from_slice(&self.src.octets());
        hdr[16..20].copy_from_slice(&self.dst.octets());
        let sum = internet_checksum(hdr);
        hdr[10..12].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0x00, 0x02,
        0x01, 0xc6, 0x33, 0x64, 0x02,
    ];

    fn sample() -> [u8; 28] {
        let mut p = [0u8; 28];
        p[..20].copy_from_slice(&UDP_HEADER);
        let sum = internet_checksum(&p[..20]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p
    }

    #[test]
    fn view_reads_fields() {
        let p = sample();
        let v = Ipv4Packet::new_checked(&p[..]).expect("valid");
        assert_eq!(v.header_len(), 20);
        assert_eq!(v.total_len(), 28);
        assert_eq!(v.ident(), 0x1234);
        assert!(v.dont_fragment());
        assert!(!v.more_fragments());
        assert_eq!(v.protocol(), IpProtocol::Udp);
        assert_eq!(v.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(v.dst_addr(), Ipv4Addr::new(198, 51, 100, 2));
        assert!(v.verify_checksum());
        assert_eq!(v.payload().len(), 8);
    }

    #[test]
    fn rejects_inconsistent_lengths() {
        // RFC 791 §3.1: IHL minimum 5; Total Length covers the header.
        let mut p = sample();
        p[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&p[..]),
            Err(IpError::BadHeaderLength)
        );
        let mut p = sample();
        p[3] = 0x30;
        assert_eq!(
            Ipv4Packet::new_checked(&p[..]),
            Err(IpError::BadTotalLength)
        );
        let p = sample();
        assert_eq!(Ipv4Packet::new_checked(&p[..10]), Err(IpError::Truncated));
        assert_eq!(
            Ipv4Packet::new_checked(&[0x65u8; 40][..]),
            Err(IpError::UnknownVersion(6))
        );
    }

    #[test]
    fn repr_round_trip() {
        let p = sample();
        let v = Ipv4Packet::new_checked(&p[..]).expect("valid");
        let repr = Ipv4Repr::parse(&v);
        let mut out = [0u8; 28];
        repr.emit(&mut out).expect("fits");
        assert_eq!(out[..20], p[..20]);
    }
}
