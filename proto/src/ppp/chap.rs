//! CHAP packets and the MD5 response (RFC 1994 §4).
//!
//! Contract: [`ChapView`] (zero-copy) and [`ChapPacket::parse`] accept the RFC layouts (Value-Size must
//! fit); unknown codes are [`ChapError::UnknownCode`]. [`md5_response`] is
//! the RFC 1994 §4.1 digest, used by the subscriber side and by tests; the
//! LNS hands responses to the caller (RADIUS CHAP-Password/CHAP-Challenge).

use md5::{Digest, Md5};

use super::packet::{emit_packet, Packet, PacketError};

/// Length of the challenges we send (RFC 1994 §2.3 recommends 16 octets
/// for MD5).
pub const CHALLENGE_LEN: usize = 16;

/// What is wrong with a received CHAP packet: the peer's fault; discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChapError {
    /// The control-packet header is bad.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// Value-Size points past the packet.
    #[error("peer sent a CHAP packet whose Value-Size does not fit")]
    BadValueSize,
    /// A code RFC 1994 does not define.
    #[error("peer sent an unknown CHAP code {0}")]
    UnknownCode(u8),
}

/// A CHAP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChapPacket {
    /// Code 1, Challenge.
    Challenge {
        /// Identifier.
        identifier: u8,
        /// Challenge value.
        value: Vec<u8>,
        /// Authenticator's name.
        name: Vec<u8>,
    },
    /// Code 2, Response.
    Response {
        /// Identifier (copied from the Challenge).
        identifier: u8,
        /// Response value (the MD5 digest).
        value: Vec<u8>,
        /// Peer's name.
        name: Vec<u8>,
    },
    /// Code 3, Success.
    Success {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: Vec<u8>,
    },
    /// Code 4, Failure.
    Failure {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: Vec<u8>,
    },
}

/// A zero-copy view of a CHAP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChapView<'a> {
    /// Code 1, Challenge.
    Challenge {
        /// Identifier.
        identifier: u8,
        /// Challenge value.
        value: &'a [u8],
        /// Authenticator's name.
        name: &'a [u8],
    },
    /// Code 2, Response.
    Response {
        /// Identifier.
        identifier: u8,
        /// Response value.
        value: &'a [u8],
        /// Peer's name.
        name: &'a [u8],
    },
    /// Code 3, Success.
    Success {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: &'a [u8],
    },
    /// Code 4, Failure.
    Failure {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: &'a [u8],
    },
}

impl<'a> ChapView<'a> {
    /// Checks and views a CHAP packet (the PPP information field).
    pub fn new_checked(bytes: &'a [u8]) -> Result<ChapView<'a>, ChapError> {
        let p = Packet::new_checked(bytes)?;
        let identifier = p.identifier();
        let d = &bytes[4..p.bytes().len()];
        match p.code_octet() {
            code @ (0x01 | 0x02) => {
                let (&n, rest) = d.split_first().ok_or(ChapError::BadValueSize)?;
                let n = usize::from(n);
                if rest.len() < n {
                    return Err(ChapError::BadValueSize);
                }
                let (value, name) = rest.split_at(n);
                Ok(if code == 0x01 {
                    ChapView::Challenge {
                        identifier,
                        value,
                        name,
                    }
                } else {
                    ChapView::Response {
                        identifier,
                        value,
                        name,
                    }
                })
            }
            0x03 => Ok(ChapView::Success {
                identifier,
                message: d,
            }),
            0x04 => Ok(ChapView::Failure {
                identifier,
                message: d,
            }),
            other => Err(ChapError::UnknownCode(other)),
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> ChapPacket {
        match *self {
            ChapView::Challenge {
                identifier,
                value,
                name,
            } => ChapPacket::Challenge {
                identifier,
                value: value.to_vec(),
                name: name.to_vec(),
            },
            ChapView::Response {
                identifier,
                value,
                name,
            } => ChapPacket::Response {
                identifier,
                value: value.to_vec(),
                name: name.to_vec(),
            },
            ChapView::Success {
                identifier,
                message,
            } => ChapPacket::Success {
                identifier,
                message: message.to_vec(),
            },
            ChapView::Failure {
                identifier,
                message,
            } => ChapPacket::Failure {
                identifier,
                message: message.to_vec(),
            },
        }
    }
}

impl ChapPacket {
    /// Parses a CHAP packet (the PPP information field).
    pub fn parse(bytes: &[u8]) -> Result<ChapPacket, ChapError> {
        ChapView::new_checked(bytes).map(|v| v.to_owned())
    }

    /// Appends the packet to `out` (a value longer than 255 octets is cut).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut data = Vec::new();
        let (code, identifier) = match self {
            ChapPacket::Challenge {
                identifier,
                value,
                name,
            }
            | ChapPacket::Response {
                identifier,
                value,
                name,
            } => {
                let value = &value[..value.len().min(255)];
                data.push(value.len() as u8);
                data.extend_from_slice(value);
                data.extend_from_slice(name);
                let code = if matches!(self, ChapPacket::Challenge { .. }) {
                    0x01
                } else {
                    0x02
                };
                (code, *identifier)
            }
            ChapPacket::Success {
                identifier,
                message,
            } => {
                data.extend_from_slice(message);
                (0x03, *identifier)
            }
            ChapPacket::Failure {
                identifier,
                message,
            } => {
                data.extend_from_slice(message);
                (0x04, *identifier)
            }
        };
        emit_packet(code, identifier, &data, out);
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }
}

/// RFC 1994 §4.1 with MD5: MD5(Identifier || secret || Challenge).
pub fn md5_response(identifier: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([identifier]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn challenge_bytes() {
        // RFC 1994 §4.1: Value-Size, Value, Name.
        let bytes = [0x01, 0x02, 0x00, 0x0a, 0x03, 0xaa, 0xbb, 0xcc, b'l', b'n'];
        let p = ChapPacket::parse(&bytes).expect("valid");
        assert_eq!(
            p,
            ChapPacket::Challenge {
                identifier: 2,
                value: vec![0xaa, 0xbb, 0xcc],
                name: b"ln".to_vec()
            }
        );
        assert_eq!(p.to_bytes(), bytes);
        assert_eq!(
            ChapPacket::parse(&[0x02, 0x02, 0x00, 0x06, 0x05, 0x00]),
            Err(ChapError::BadValueSize)
        );
        assert_eq!(
            ChapPacket::parse(&[0x05, 0x02, 0x00, 0x04]),
            Err(ChapError::UnknownCode(5))
        );
    }

    #[test]
    fn md5_response_known_value() {
        // MD5 of the empty string is d41d8cd9...; with id 0 and empty inputs
        // the digest is MD5("\x00") = 93b885ad fe0da089 cdf63490 4fd59f71.
        assert_eq!(
            md5_response(0, b"", b""),
            [
                0x93, 0xb8, 0x85, 0xad, 0xfe, 0x0d, 0xa0, 0x89, 0xcd, 0xf6, 0x34, 0x90, 0x4f, 0xd5,
                0x9f, 0x71
            ]
        );
        assert_ne!(md5_response(1, b"s", b"c"), md5_response(2, b"s", b"c"));
    }

    proptest! {
        #[test]
        fn round_trip(code in 1u8..5, identifier in any::<u8>(), a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = match code {
                1 => ChapPacket::Challenge { identifier, value: a, name: b },
                2 => ChapPacket::Response { identifier, value: a, name: b },
                3 => ChapPacket::Success { identifier, message: a },
                _ => ChapPacket::Failure { identifier, message: a },
            };
            prop_assert_eq!(ChapPacket::parse(&p.to_bytes()).expect("own output"), p);
        }

        #[test]
        fn no_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = ChapPacket::parse(&bytes);
        }
    }
}
