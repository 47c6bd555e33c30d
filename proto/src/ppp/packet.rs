//! The control-protocol packet shared by LCP, IPCP, IPV6CP, PAP and CHAP
//! (RFC 1661 §5: Code, Identifier, Length, Data).
//!
//! Contract: [`Packet::new_checked`] refuses a Length below 4 or beyond the
//! buffer; octets after Length are padding and ignored (RFC 1661 §5).

/// What is wrong with a received packet: the peer's fault; the packet is
/// silently discarded (RFC 1661 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer than the 4 header octets.
    #[error("peer sent a control packet shorter than its header")]
    Truncated,
    /// The Length field is below 4 or beyond the frame.
    #[error("peer sent a control packet with Length {0}")]
    BadLength(u16),
}

/// LCP/NCP codes (RFC 1661 §5, RFC 1570 for 12-13) as an open enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// 0x01
    ConfigureRequest,
    /// 0x02
    ConfigureAck,
    /// 0x03
    ConfigureNak,
    /// 0x04
    ConfigureReject,
    /// 0x05
    TerminateRequest,
    /// 0x06
    TerminateAck,
    /// 0x07
    CodeReject,
    /// 0x08 (LCP only)
    ProtocolReject,
    /// 0x09 (LCP only)
    EchoRequest,
    /// 0x0a (LCP only)
    EchoReply,
    /// 0x0b (LCP only)
    DiscardRequest,
    /// 0x0c (LCP only, RFC 1570)
    Identification,
    /// 0x0d (LCP only, RFC 1570)
    TimeRemaining,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(n: u8) -> Self {
        match n {
            0x01 => Code::ConfigureRequest,
            0x02 => Code::ConfigureAck,
            0x03 => Code::ConfigureNak,
            0x04 => Code::ConfigureReject,
            0x05 => Code::TerminateRequest,
            0x06 => Code::TerminateAck,
            0x07 => Code::CodeReject,
            0x08 => Code::ProtocolReject,
            0x09 => Code::EchoRequest,
            0x0a => Code::EchoReply,
            0x0b => Code::DiscardRequest,
            0x0c => Code::Identification,
            0x0d => Code::TimeRemaining,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        match c {
            Code::ConfigureRequest => 0x01,
            Code::ConfigureAck => 0x02,
            Code::ConfigureNak => 0x03,
            Code::ConfigureReject => 0x04,
            Code::TerminateRequest => 0x05,
            Code::TerminateAck => 0x06,
            Code::CodeReject => 0x07,
            Code::ProtocolReject => 0x08,
            Code::EchoRequest => 0x09,
            Code::EchoReply => 0x0a,
            Code::DiscardRequest => 0x0b,
            Code::Identification => 0x0c,
            Code::TimeRemaining => 0x0d,
            Code::Unknown(n) => n,
        }
    }
}

/// A zero-copy view of a control packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the header and the Length field.
    pub fn new_checked(buffer: T) -> Result<Self, PacketError> {
        let b = buffer.as_ref();
        if b.len() < 4 {
            return Err(PacketError::Truncated);
        }
        let length = u16::from_be_bytes([b[2], b[3]]);
        let len = usize::from(length);
        if len < 4 || len > b.len() {
            return Err(PacketError::BadLength(length));
        }
        Ok(Packet { buffer, len })
    }

    /// The raw Code octet (PAP and CHAP give it their own meaning).
    pub fn code_octet(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// The Code as an LCP/NCP code.
    pub fn code(&self) -> Code {
        Code::from(self.code_octet())
    }

    /// The Identifier.
    pub fn identifier(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// The Data field (up to Length; padding excluded).
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[4..self.len]
    }

    /// The packet without padding (header and data).
    pub fn bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.len]
    }
}

/// An owned control packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketRepr {
    /// The Code octet.
    pub code: Code,
    /// The Identifier.
    pub identifier: u8,
    /// The Data field.
    pub data: Vec<u8>,
}

impl PacketRepr {
    /// Parses a control packet.
    pub fn parse(bytes: &[u8]) -> Result<PacketRepr, PacketError> {
        Ok(PacketRepr::from_packet(&Packet::new_checked(bytes)?))
    }

    /// The owned form of a checked packet (padding excluded).
    pub fn from_packet<T: AsRef<[u8]>>(p: &Packet<T>) -> PacketRepr {
        PacketRepr {
            code: p.code(),
            identifier: p.identifier(),
            data: p.data().to_vec(),
        }
    }

    /// Appends the packet to `out`. Data longer than 65 531 octets is
    /// truncated to keep the Length field truthful.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_packet(u8::from(self.code), self.identifier, &self.data, out);
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.data.len());
        self.emit(&mut out);
        out
    }
}

/// Appends a packet with a raw code octet to `out` (used by PAP and CHAP).
pub fn emit_packet(code: u8, identifier: u8, data: &[u8], out: &mut Vec<u8>) {
    let data = &data[..data.len().min(usize::from(u16::MAX) - 4)];
    let length = (4 + data.len()) as u16;
    out.push(code);
    out.push(identifier);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padding_after_length_is_ignored() {
        // RFC 1661 §5: octets outside Length are padding.
        let p = Packet::new_checked(&[0x09, 0x07, 0x00, 0x08, 1, 2, 3, 4, 0xee, 0xee][..])
            .expect("valid");
        assert_eq!(p.code(), Code::EchoRequest);
        assert_eq!(p.identifier(), 7);
        assert_eq!(p.data(), &[1, 2, 3, 4]);
    }

    #[test]
    fn bad_lengths_are_refused() {
        assert_eq!(PacketRepr::parse(&[1, 1, 0]), Err(PacketError::Truncated));
        assert_eq!(
            PacketRepr::parse(&[1, 1, 0, 3]),
            Err(PacketError::BadLength(3))
        );
        assert_eq!(
            PacketRepr::parse(&[1, 1, 0, 9, 0]),
            Err(PacketError::BadLength(9))
        );
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(code in any::<u8>(), identifier in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let repr = PacketRepr { code: Code::from(code), identifier, data };
            prop_assert_eq!(PacketRepr::parse(&repr.to_bytes()).expect("own output"), repr);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.code(), p.identifier(), p.data().len(), p.bytes().len());
            }
        }
    }
}
