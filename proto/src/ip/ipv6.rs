//! IPv6 header (RFC 8200 §3) and a bounded walk over extension headers.
//!
//! Contract: [`Ipv6Packet::new_checked`] accepts a buffer only when the
//! version is 6 and the fixed header plus Payload Length fit in the buffer;
//! every accessor is then in bounds. Jumbograms (Payload Length 0 with a
//! Jumbo option, RFC 2675) are not supported: Payload Length is taken
//! literally. [`Ipv6Packet::upper_layer`] walks at most
//! [`MAX_EXTENSION_HEADERS`] headers, so its cost is bounded.

use core::net::Ipv6Addr;

use super::{IpError, IpProtocol};

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

/// Extension headers walked before giving up (O(1) per packet).
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// A checked view of an IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T> {
    buffer: T,
}

/// Where the upper-layer header of an IPv6 packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpperLayer {
    /// The upper-layer header starts at `offset` bytes from the start of the
    /// packet and is of type `protocol`.
    At {
        /// The upper-layer protocol (never an extension header).
        protocol: IpProtocol,
        /// Offset from the start of the IPv6 header.
        offset: usize,
    },
    /// A non-first fragment: no upper-layer header in this packet.
    LaterFragment,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Checks the version and the Payload Length against the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, IpError> {
        let data = buffer.as_ref();
        let first = *data.first().ok_or(IpError::Truncated)?;
        if first >> 4 != 6 {
            return Err(IpError::UnknownVersion(first >> 4));
        }
        if data.len() < IPV6_HEADER_LEN {
            return Err(IpError::Truncated);
        }
        let payload_len = usize::from(u16::from_be_bytes([data[4], data[5]]));
        if IPV6_HEADER_LEN + payload_len > data.len() {
            return Err(IpError::BadTotalLength);
        }
        Ok(Ipv6Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Traffic Class.
    pub fn traffic_class(&self) -> u8 {
        let d = self.data();
        (d[0] << 4) | (d[1] >> 4)
    }
    /// Flow Label (20 bits).
    pub fn flow_label(&self) -> u32 {
        let d = self.data();
        u32::from_be_bytes([0, d[1] & 0x0f, d[2], d[3]])
    }
    /// Payload Length (bytes after the fixed header, extension headers included).
    pub fn payload_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.data()[4], self.data()[5]]))
    }
    /// Total length of the packet (fixed header + payload).
    pub fn total_len(&self) -> usize {
        IPV6_HEADER_LEN + self.payload_len()
    }
    /// Next Header of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.data()[6])
    }
    /// Hop Limit.
    pub fn hop_limit(&self) -> u8 {
        self.data()[7]
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr_at(self.data(), 8)
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr_at(self.data(), 24)
    }
    /// The payload (extension headers included), up to Payload Length.
    pub fn payload(&self) -> &[u8] {
        &self.data()[IPV6_HEADER_LEN..self.total_len()]
    }
    /// The packet up to Payload Length (no link padding).
    pub fn packet(&self) -> &[u8] {
        &self.data()[..self.total_len()]
    }

    /// Walks Hop-by-Hop, Routing, Destination Options, Fragment and AH
    /// headers (RFC 8200 §4, RFC 4302 §2.2) to the upper-layer header.
    /// Fails on a truncated chain or one longer than [`MAX_EXTENSION_HEADERS`].
    pub fn upper_layer(&self) -> Result<UpperLayer, IpError> {
        let packet = self.packet();
        let mut next = self.next_header();
        let mut offset = IPV6_HEADER_LEN;
        for _ in 0..MAX_EXTENSION_HEADERS {
            let len = match next {
                IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                    // RFC 8200 §4.3: Hdr Ext Len in 8-octet units, not counting the first 8.
                    let ext = packet.get(offset + 1).ok_or(IpError::BadExtensionHeader)?;
                    (usize::from(*ext) + 1) * 8
                }
                IpProtocol::Ipv6Frag => {
                    // RFC 8200 §4.5: fixed 8 bytes; offset in the top 13 bits of bytes 2-3.
                    let hdr = packet
                        .get(offset..offset + 8)
                        .ok_or(IpError::BadExtensionHeader)?;
                    if u16::from_be_bytes([hdr[2], hdr[3]]) & 0xfff8 != 0 {
                        return Ok(UpperLayer::LaterFragment);
                    }
                    8
                }
                IpProtocol::Ah => {
                    // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
                    let ext = packet.get(offset + 1).ok_or(IpError::BadExtensionHeader)?;
                    (usize::from(*ext) + 2) * 4
                }
                protocol => return Ok(UpperLayer::At { protocol, offset }),
            };
            let nh = *packet.get(offset).ok_or(IpError::BadExtensionHeader)?;
            if offset + len > packet.len() {
                return Err(IpError::BadExtensionHeader);
            }
            next = IpProtocol::from(nh);
            offset += len;
        }
        Err(IpError::TooManyExtensionHeaders)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// The payload, mutable, up to Payload Length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[IPV6_HEADER_LEN..end]
    }
    /// Sets the Hop Limit.
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[7] = hop_limit;
    }
}

/// The fixed IPv6 header fields lnsd emits (no extension headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next Header.
    pub next_header: IpProtocol,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Hop Limit.
    pub hop_limit: u8,
}

impl Ipv6Repr {
    /// Reads the fixed header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Self {
        Ipv6Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len(),
            hop_limit: packet.hop_limit(),
        }
    }

    /// Writes the 40-byte fixed header (traffic class and flow label 0).
    pub fn emit(&self, out: &mut [u8]) -> Result<(), IpError> {
        let hdr = out
            .get_mut(..IPV6_HEADER_LEN)
            .ok_or(IpError::BufferTooSmall)?;
        let len = u16::try_from(self.payload_len).map_err(|_| IpError::BadTotalLength)?;
        hdr[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
        hdr[4..6].copy_from_slice(&len.to_be_bytes());
        hdr[6] = u8::from(self.next_header);
        hdr[7] = self.hop_limit;
        hdr[8..24].copy_from_slice(&self.src.octets());
        hdr[24..40].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

fn addr_at(data: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&data[at..at + 16]);
    Ipv6Addr::from(octets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(next: u8, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv6Repr {
            src: "2001:db8::1".parse().expect("literal"),
            dst: "2001:db8::2".parse().expect("literal"),
            next_header: IpProtocol::from(next),
            payload_len: payload.len(),
            hop_limit: 64,
        };
        let mut out = vec![0u8; 40 + payload.len()];
        repr.emit(&mut out).expect("fits");
        out[40..].copy_from_slice(payload);
        out
    }

    #[test]
    fn view_and_repr_round_trip() {
        let p = packet(17, &[0; 8]);
        let v = Ipv6Packet::new_checked(&p[..]).expect("valid");
        assert_eq!(v.payload_len(), 8);
        assert_eq!(v.next_header(), IpProtocol::Udp);
        assert_eq!(v.hop_limit(), 64);
        let mut out = vec![0u8; 48];
        Ipv6Repr::parse(&v).emit(&mut out).expect("fits");
        assert_eq!(out[..40], p[..40]);
        assert_eq!(
            v.upper_layer(),
            Ok(UpperLayer::At {
                protocol: IpProtocol::Udp,
                offset: 40
            })
        );
    }

    #[test]
    fn payload_length_beyond_buffer_is_rejected() {
        let mut p = packet(17, &[0; 8]);
        p[5] = 9;
        assert_eq!(
            Ipv6Packet::new_checked(&p[..]),
            Err(IpError::BadTotalLength)
        );
    }

    #[test]
    fn walks_hop_by_hop_and_fragment_headers() {
        // RFC 8200 §4.3: HBH with Hdr Ext Len 0 (8 bytes, PadN), then a first
        // fragment (offset 0, M=1), then TCP.
        let mut payload = vec![44, 0, 0x01, 0x04, 0, 0, 0, 0];
        payload.extend_from_slice(&[6, 0, 0x00, 0x01, 0, 0, 0, 1]);
        payload.extend_from_slice(&[0; 20]);
        let p = packet(0, &payload);
        let v = Ipv6Packet::new_checked(&p[..]).expect("valid");
        assert_eq!(
            v.upper_layer(),
            Ok(UpperLayer::At {
                protocol: IpProtocol::Tcp,
                offset: 56
            })
        );
        // The same fragment with a non-zero offset has no upper-layer header.
        let mut later = p.clone();
        later[50..52].copy_from_slice(&0x0010u16.to_be_bytes());
        let v = Ipv6Packet::new_checked(&later[..]).expect("valid");
        assert_eq!(v.upper_layer(), Ok(UpperLayer::LaterFragment));
    }

    #[test]
    fn truncated_or_endless_chains_fail() {
        // Destination Options claiming 16 bytes in an 8-byte payload.
        let p = packet(60, &[6, 1, 0, 0, 0, 0, 0, 0]);
        let v = Ipv6Packet::new_checked(&p[..]).expect("valid");
        assert_eq!(v.upper_layer(), Err(IpError::BadExtensionHeader));
        // Nine Destination Options headers in a row.
        let mut chain = Vec::new();
        for _ in 0..9 {
            chain.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        }
        let p = packet(60, &chain);
        let v = Ipv6Packet::new_checked(&p[..]).expect("valid");
        assert_eq!(v.upper_layer(), Err(IpError::TooManyExtensionHeaders));
    }
}
