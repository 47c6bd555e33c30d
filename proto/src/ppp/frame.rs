//! PPP framing inside L2TP data messages (RFC 1661 §2, RFC 2661 §4.1 and
//! §5.3: HDLC framing without flags, FCS or byte stuffing).
//!
//! Contract: the receive side accepts the Address/Control field (0xff 0x03)
//! present or omitted (ACFC, RFC 1661 §6.6) and a 1- or 2-byte protocol field
//! (PFC, §6.5) whatever was negotiated; the send side compresses only what
//! [`Compression`] allows and never compresses LCP packets (§6.5, §6.6).

use super::protocol::Protocol;

/// What is wrong with a received frame: always the sender's fault; the frame
/// is silently discarded (RFC 1661 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Too short to hold a protocol field.
    #[error("peer sent a PPP frame too short for a protocol field")]
    Truncated,
    /// The protocol field breaks the RFC 1661 §2 bit rules.
    #[error("peer sent an invalid PPP protocol field 0x{0:04x}")]
    BadProtocol(u16),
}

/// Whether a header field is compressed on send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldCompression {
    /// Sent in full.
    #[default]
    Off,
    /// Compressed (omitted or shortened), because the peer negotiated it.
    On,
}

/// The send-side compression negotiated by LCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compression {
    /// ACFC: omit 0xff 0x03 (RFC 1661 §6.6).
    pub address_control: FieldCompression,
    /// PFC: one-byte protocol field when the number is below 0x100 (§6.5).
    pub protocol: FieldCompression,
}

/// A zero-copy view of a PPP frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    protocol_at: usize,
    payload_at: usize,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks that `buffer` holds a valid PPP header.
    pub fn new_checked(buffer: T) -> Result<Self, FrameError> {
        let b = buffer.as_ref();
        let protocol_at = if b.len() >= 2 && b[0] == 0xff && b[1] == 0x03 {
            2
        } else {
            0
        };
        let first = *b.get(protocol_at).ok_or(FrameError::Truncated)?;
        let payload_at = if first & 0x01 == 0x01 {
            // RFC 1661 §6.5: a compressed (one-byte) protocol field.
            protocol_at + 1
        } else {
            let second = *b.get(protocol_at + 1).ok_or(FrameError::Truncated)?;
            if second & 0x01 == 0x00 {
                // RFC 1661 §2: the low octet's least significant bit is 1.
                return Err(FrameError::BadProtocol(u16::from_be_bytes([first, second])));
            }
            protocol_at + 2
        };
        Ok(Frame {
            buffer,
            protocol_at,
            payload_at,
        })
    }

    /// Whether the Address/Control field was present.
    pub fn address_control(&self) -> FieldCompression {
        if self.protocol_at == 2 {
            FieldCompression::Off
        } else {
            FieldCompression::On
        }
    }

    /// The protocol field.
    pub fn protocol(&self) -> Protocol {
        let b = self.buffer.as_ref();
        if self.payload_at - self.protocol_at == 1 {
            Protocol::from(u16::from(b[self.protocol_at]))
        } else {
            Protocol::from(u16::from_be_bytes([
                b[self.protocol_at],
                b[self.protocol_at + 1],
            ]))
        }
    }

    /// The information field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_at..]
    }
}

/// An owned PPP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRepr {
    /// The protocol field.
    pub protocol: Protocol,
    /// The information field.
    pub payload: Vec<u8>,
}

impl FrameRepr {
    /// Parses a received frame.
    pub fn parse(bytes: &[u8]) -> Result<FrameRepr, FrameError> {
        let f = Frame::new_checked(bytes)?;
        Ok(FrameRepr {
            protocol: f.protocol(),
            payload: f.payload().to_vec(),
        })
    }

    /// Appends the frame to `out`, compressing as `compression` allows.
    pub fn emit(&self, compression: Compression, out: &mut Vec<u8>) {
        emit_frame(self.protocol, &self.payload, compression, out);
    }
}

/// Appends a frame for `protocol` carrying `payload` to `out`.
pub fn emit_frame(protocol: Protocol, payload: &[u8], compression: Compression, out: &mut Vec<u8>) {
    let number = protocol.number();
    let is_lcp = protocol == Protocol::Lcp;
    // RFC 1661 §6.6: ACFC never applies to LCP packets.
    if compression.address_control == FieldCompression::Off || is_lcp {
        out.extend_from_slice(&[0xff, 0x03]);
    }
    // RFC 1661 §6.5: PFC only for numbers below 0x100, never for LCP.
    if compression.protocol == FieldCompression::On && number < 0x100 && !is_lcp {
        out.push(number as u8);
    } else {
        out.extend_from_slice(&number.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FULL: Compression = Compression {
        address_control: FieldCompression::Off,
        protocol: FieldCompression::Off,
    };
    const BOTH: Compression = Compression {
        address_control: FieldCompression::On,
        protocol: FieldCompression::On,
    };

    #[test]
    fn all_four_header_forms_parse() {
        // RFC 1661 §2, §6.5, §6.6.
        for (bytes, ac) in [
            (&[0xff, 0x03, 0x00, 0x21, 0xaa][..], FieldCompression::Off),
            (&[0xff, 0x03, 0x21, 0xaa][..], FieldCompression::Off),
            (&[0x00, 0x21, 0xaa][..], FieldCompression::On),
            (&[0x21, 0xaa][..], FieldCompression::On),
        ] {
            let f = Frame::new_checked(bytes).expect("valid");
            assert_eq!(f.protocol(), Protocol::Ipv4);
            assert_eq!(f.payload(), &[0xaa]);
            assert_eq!(f.address_control(), ac);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            Frame::new_checked(&[][..]).err(),
            Some(FrameError::Truncated)
        );
        assert_eq!(
            Frame::new_checked(&[0xff, 0x03][..]).err(),
            Some(FrameError::Truncated)
        );
        assert_eq!(
            Frame::new_checked(&[0xc0, 0x22][..]).err(),
            Some(FrameError::BadProtocol(0xc022))
        );
    }

    #[test]
    fn lcp_is_never_compressed() {
        // RFC 1661 §6.5 and §6.6.
        let mut out = Vec::new();
        emit_frame(Protocol::Lcp, &[0x09], BOTH, &mut out);
        assert_eq!(out, [0xff, 0x03, 0xc0, 0x21, 0x09]);
        out.clear();
        emit_frame(Protocol::Ipv6, &[0x60], BOTH, &mut out);
        assert_eq!(out, [0x57, 0x60]);
        out.clear();
        emit_frame(Protocol::Ipcp, &[0x01], BOTH, &mut out);
        assert_eq!(out, [0x80, 0x21, 0x01]);
        out.clear();
        emit_frame(Protocol::Ipv4, &[0x45], FULL, &mut out);
        assert_eq!(out, [0xff, 0x03, 0x00, 0x21, 0x45]);
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(n in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..64), acfc in any::<bool>(), pfc in any::<bool>()) {
            // Only valid protocol numbers (RFC 1661 §2) can round-trip.
            let n = (n & 0xfeff) | 0x0001;
            let c = Compression {
                address_control: if acfc { FieldCompression::On } else { FieldCompression::Off },
                protocol: if pfc { FieldCompression::On } else { FieldCompression::Off },
            };
            let repr = FrameRepr { protocol: Protocol::from(n), payload };
            let mut out = Vec::new();
            repr.emit(c, &mut out);
            prop_assert_eq!(FrameRepr::parse(&out).expect("own output parses"), repr);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            if let Ok(f) = Frame::new_checked(&bytes[..]) {
                let _ = (f.protocol(), f.payload().len());
            }
        }
    }
}
