//! The RADIUS packet (RFC 2865 §3): a checked zero-copy [`PacketView`] and
//! the owned [`Packet`] with `parse` and `emit`.
//!
//! Contract: a datagram is accepted when it holds at least the 20-octet
//! header, its Length field is within 20..=4096 and not larger than the
//! datagram, and every attribute has a Length >= 2 that stays inside the
//! packet. Octets past Length are padding and ignored (RFC 2865 §3). Every
//! [`ParseError`] means the peer sent a malformed packet and maps to the
//! same action on the wire: silently discard it (RFC 2865 §3).

use thiserror::Error;

use super::attribute::{Attribute, AttributeType};
use super::code::Code;

/// Octets before the first attribute: Code, Identifier, Length, Authenticator.
pub const HEADER_LEN: usize = 20;
/// Largest packet allowed (RFC 2865 §3).
pub const MAX_PACKET_LEN: usize = 4096;
/// Largest attribute value (Length is one octet and counts Type and Length).
pub const MAX_VALUE_LEN: usize = 253;

/// Why a datagram is not a RADIUS packet. The sender is at fault in every
/// case; the packet is silently discarded (RFC 2865 §3).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than 20 octets.
    #[error("malformed by peer: {0} octets is shorter than the RADIUS header")]
    Truncated(usize),
    /// The Length field is outside 20..=4096.
    #[error("malformed by peer: Length field {0} outside 20..=4096")]
    BadLength(u16),
    /// The Length field claims more octets than the datagram holds.
    #[error("malformed by peer: Length field {length} exceeds the {datagram}-octet datagram")]
    LengthExceedsDatagram {
        /// The Length field.
        length: u16,
        /// The datagram size.
        datagram: usize,
    },
    /// An attribute's Length is below 2 or runs past the packet.
    #[error("malformed by peer: attribute at offset {offset} has a bad Length")]
    BadAttribute {
        /// Offset of the attribute's Type octet in the packet.
        offset: usize,
    },
}

/// Why a packet could not be written. Our own bug: nothing is sent.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EmitError {
    /// An attribute value is longer than 253 octets.
    #[error("local error: attribute type {kind} value of {len} octets exceeds 253")]
    AttributeTooLong {
        /// The attribute type.
        kind: u8,
        /// The value length.
        len: usize,
    },
    /// The whole packet would exceed 4096 octets.
    #[error("local error: packet of {0} octets exceeds 4096")]
    PacketTooLong(usize),
    /// A User-Password longer than 128 octets (RFC 2865 §5.2).
    #[error("local error: password longer than 128 octets")]
    PasswordTooLong,
}

/// A checked view over the octets of one packet (trailing padding cut off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketView<'a> {
    buf: &'a [u8],
}

/// One attribute as it sits in a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// Offset of the Type octet from the start of the packet.
    pub offset: usize,
    /// The Type octet.
    pub kind: u8,
    /// The value octets.
    pub value: &'a [u8],
}

/// Iterator over the attributes of a checked [`PacketView`].
#[derive(Clone, Debug)]
pub struct RawAttributes<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An owned RADIUS packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The Code field.
    pub code: Code,
    /// The Identifier field.
    pub identifier: u8,
    /// The Authenticator field as sent or received.
    pub authenticator: [u8; 16],
    /// Attributes in wire order.
    pub attributes: Vec<Attribute>,
}

impl<'a> PacketView<'a> {
    /// Checks a received datagram (RFC 2865 §3 length rules).
    pub fn new_checked(datagram: &'a [u8]) -> Result<Self, ParseError> {
        let Some(len_field) = datagram.get(2..4) else {
            return Err(ParseError::Truncated(datagram.len()));
        };
        if datagram.len() < HEADER_LEN {
            return Err(ParseError::Truncated(datagram.len()));
        }
        let length = u16::from_be_bytes([len_field[0], len_field[1]]);
        let len = usize::from(length);
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&len) {
            return Err(ParseError::BadLength(length));
        }
        // RFC 2865 §3: longer than the datagram: discard; shorter: the
        // extra octets are padding.
        let Some(buf) = datagram.get(..len) else {
            return Err(ParseError::LengthExceedsDatagram {
                length,
                datagram: datagram.len(),
            });
        };
        let mut pos = HEADER_LEN;
        while pos < buf.len() {
            let attr_len = buf.get(pos + 1).map_or(0, |&l| usize::from(l));
            if attr_len < 2 || pos + attr_len > buf.len() {
                return Err(ParseError::BadAttribute { offset: pos });
            }
            pos += attr_len;
        }
        Ok(PacketView { buf })
    }

    /// The Code field.
    pub fn code(&self) -> Code {
        Code::from(self.buf[0])
    }

    /// The Identifier field.
    pub fn identifier(&self) -> u8 {
        self.buf[1]
    }

    /// The Length field (equal to `as_bytes().len()`).
    pub fn length(&self) -> usize {
        self.buf.len()
    }

    /// The Authenticator field.
    pub fn authenticator(&self) -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buf[4..HEADER_LEN]);
        a
    }

    /// The packet's octets, without trailing padding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The attributes in wire order.
    pub fn attributes(&self) -> RawAttributes<'a> {
        RawAttributes {
            buf: self.buf,
            pos: HEADER_LEN,
        }
    }

    /// The first attribute of type `kind`.
    pub fn find(&self, kind: AttributeType) -> Option<RawAttribute<'a>> {
        let code = u8::from(kind);
        self.attributes().find(|a| a.kind == code)
    }
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        // The view was checked, so each Length is in range; the `get`s
        // still make a bad buffer end the iteration rather than panic.
        let kind = *self.buf.get(self.pos)?;
        let len = usize::from(*self.buf.get(self.pos + 1)?);
        let value = self.buf.get(self.pos + 2..self.pos + len)?;
        let offset = self.pos;
        self.pos += len;
        Some(RawAttribute {
            offset,
            kind,
            value,
        })
    }
}

impl Packet {
    /// Parses a datagram into an owned packet.
    pub fn parse(datagram: &[u8]) -> Result<Packet, ParseError> {
        Ok(Packet::from_view(&PacketView::new_checked(datagram)?))
    }

    /// Decodes the attributes of a checked view.
    pub fn from_view(view: &PacketView<'_>) -> Packet {
        Packet {
            code: view.code(),
            identifier: view.identifier(),
            authenticator: view.authenticator(),
            attributes: view
                .attributes()
                .map(|a| Attribute::decode(a.kind, a.value))
                .collect(),
        }
    }

    /// Appends the packet's octets to `out`, Length filled in.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        let start = out.len();
        out.push(u8::from(self.code));
        out.push(self.identifier);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.authenticator);
        for attr in &self.attributes {
            let at = out.len();
            out.extend_from_slice(&[attr.type_code(), 0]);
            attr.encode_value(out);
            let value_len = out.len() - at - 2;
            if value_len > MAX_VALUE_LEN {
                out.truncate(start);
                return Err(EmitError::AttributeTooLong {
                    kind: attr.type_code(),
                    len: value_len,
                });
            }
            out[at + 1] = (value_len + 2) as u8; // <= 255, checked above
        }
        let total = out.len() - start;
        if total > MAX_PACKET_LEN {
            out.truncate(start);
            return Err(EmitError::PacketTooLong(total));
        }
        out[start + 2..start + 4].copy_from_slice(&(total as u16).to_be_bytes()); // <= 4096
        Ok(())
    }

    /// The packet's octets in a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut v = Vec::new();
        self.emit(&mut v)?;
        Ok(v)
    }

    /// The first attribute of type `kind`.
    pub fn find(&self, kind: AttributeType) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.kind() == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// RFC 2865 §7.1: the PAP Access-Request for "nemo".
    const RFC2865_7_1_REQUEST: [u8; 56] = [
        0x01, 0x00, 0x00, 0x38, 0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5,
        0xcb, 0x98, 0xf4, 0x22, 0x7a, 0x01, 0x06, 0x6e, 0x65, 0x6d, 0x6f, 0x02, 0x12, 0x0d, 0xbe,
        0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a, 0xee, 0x04,
        0x06, 0xc0, 0xa8, 0x01, 0x10, 0x05, 0x06, 0x00, 0x00, 0x00, 0x03,
    ];

    #[test]
    fn rfc2865_7_1_request_parses_and_re_emits_identically() {
        let p = Packet::parse(&RFC2865_7_1_REQUEST).expect("RFC example is well formed");
        assert_eq!(p.code, Code::AccessRequest);
        assert_eq!(p.identifier, 0);
        assert_eq!(p.attributes[0], Attribute::UserName("nemo".into()));
        assert!(matches!(&p.attributes[1], Attribute::UserPassword(h) if h.0.len() == 16));
        assert_eq!(
            p.attributes[2],
            Attribute::NasIpAddress(Ipv4Addr::new(192, 168, 1, 16))
        );
        assert_eq!(p.attributes[3], Attribute::NasPort(3));
        assert_eq!(p.to_bytes(), Ok(RFC2865_7_1_REQUEST.to_vec()));
    }

    #[test]
    fn rfc2865_3_length_rules() {
        let ok = &RFC2865_7_1_REQUEST;
        // Shorter than the header.
        assert_eq!(Packet::parse(&ok[..19]), Err(ParseError::Truncated(19)));
        assert_eq!(Packet::parse(&ok[..1]), Err(ParseError::Truncated(1)));
        // Length larger than the datagram: discard.
        assert_eq!(
            Packet::parse(&ok[..55]),
            Err(ParseError::LengthExceedsDatagram {
                length: 56,
                datagram: 55
            })
        );
        // Octets past Length are padding and ignored.
        let mut padded = ok.to_vec();
        padded.extend_from_slice(&[0xaa; 7]);
        let view = PacketView::new_checked(&padded).expect("padding is allowed");
        assert_eq!(view.as_bytes(), &ok[..]);
        // Length field outside 20..=4096.
        let mut small = ok.to_vec();
        small[2..4].copy_from_slice(&[0x00, 0x13]);
        assert_eq!(Packet::parse(&small), Err(ParseError::BadLength(19)));
        let mut big = vec![0u8; 4100];
        big[..4].copy_from_slice(&[0x01, 0x00, 0x10, 0x01]);
        assert_eq!(Packet::parse(&big), Err(ParseError::BadLength(4097)));
        // An attribute of Length 1 and one running past the packet.
        let mut bad = ok.to_vec();
        bad[21] = 0x01;
        assert_eq!(
            Packet::parse(&bad),
            Err(ParseError::BadAttribute { offset: 20 })
        );
        bad[21] = 0x30;
        assert_eq!(
            Packet::parse(&bad),
            Err(ParseError::BadAttribute { offset: 20 })
        );
        // Length cut inside the last attribute.
        let mut cut = ok.to_vec();
        cut[3] = 0x37;
        assert_eq!(
            Packet::parse(&cut),
            Err(ParseError::BadAttribute { offset: 50 })
        );
    }

    #[test]
    fn emit_refuses_oversized_values_and_packets() {
        let mut p = Packet {
            code: Code::AccessRequest,
            identifier: 1,
            authenticator: [0; 16],
            attributes: vec![Attribute::Class(vec![0; 254])],
        };
        let mut out = vec![0xee];
        assert_eq!(
            p.emit(&mut out),
            Err(EmitError::AttributeTooLong {
                kind: 0x19,
                len: 254
            })
        );
        assert_eq!(out, [0xee], "nothing is left behind on error");
        p.attributes = vec![Attribute::Class(vec![0; 253]); 16];
        assert_eq!(p.to_bytes(), Err(EmitError::PacketTooLong(20 + 16 * 255)));
        p.attributes.truncate(15);
        assert_eq!(p.to_bytes().map(|b| b.len()), Ok(20 + 15 * 255));
    }
}
