//! PAP packets (RFC 1334 §2.2).
//!
//! Contract: [`PapView`] (zero-copy) and [`PapPacket::parse`] accept exactly the RFC layouts (length
//! octets must fit in the packet; trailing octets inside Length are refused);
//! unknown codes are [`PapError::UnknownCode`]. The PAP exchange itself
//! lives in the link driver: the request is handed to the caller for a
//! decision.

use super::packet::{emit_packet, Packet, PacketError};

/// What is wrong with a received PAP packet: the peer's fault; discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PapError {
    /// The control-packet header is bad.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// A length octet points past the packet, or octets are left over.
    #[error("peer sent a PAP packet whose fields do not fit its Length")]
    BadField,
    /// A code RFC 1334 does not define.
    #[error("peer sent an unknown PAP code {0}")]
    UnknownCode(u8),
}

/// A PAP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PapPacket {
    /// Code 1, Authenticate-Request.
    Request {
        /// Identifier.
        identifier: u8,
        /// Peer-ID (user name).
        peer_id: Vec<u8>,
        /// Password.
        password: Vec<u8>,
    },
    /// Code 2, Authenticate-Ack.
    Ack {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: Vec<u8>,
    },
    /// Code 3, Authenticate-Nak.
    Nak {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: Vec<u8>,
    },
}

/// A zero-copy view of a PAP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PapView<'a> {
    /// Code 1, Authenticate-Request.
    Request {
        /// Identifier.
        identifier: u8,
        /// Peer-ID.
        peer_id: &'a [u8],
        /// Password.
        password: &'a [u8],
    },
    /// Code 2, Authenticate-Ack.
    Ack {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: &'a [u8],
    },
    /// Code 3, Authenticate-Nak.
    Nak {
        /// Identifier.
        identifier: u8,
        /// Message.
        message: &'a [u8],
    },
}

impl<'a> PapView<'a> {
    /// Checks and views a PAP packet (the PPP information field).
    pub fn new_checked(bytes: &'a [u8]) -> Result<PapView<'a>, PapError> {
        let p = Packet::new_checked(bytes)?;
        let identifier = p.identifier();
        let d = &bytes[4..p.bytes().len()];
        match p.code_octet() {
            0x01 => {
                let (peer_id, rest) = take_counted(d)?;
                let (password, rest) = take_counted(rest)?;
                if !rest.is_empty() {
                    return Err(PapError::BadField);
                }
                Ok(PapView::Request {
                    identifier,
                    peer_id,
                    password,
                })
            }
            code @ (0x02 | 0x03) => {
                let (message, rest) = take_counted(d)?;
                if !rest.is_empty() {
                    return Err(PapError::BadField);
                }
                Ok(if code == 0x02 {
                    PapView::Ack {
                        identifier,
                        message,
                    }
                } else {
                    PapView::Nak {
                        identifier,
                        message,
                    }
                })
            }
            other => Err(PapError::UnknownCode(other)),
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> PapPacket {
        match *self {
            PapView::Request {
                identifier,
                peer_id,
                password,
            } => PapPacket::Request {
                identifier,
                peer_id: peer_id.to_vec(),
                password: password.to_vec(),
            },
            PapView::Ack {
                identifier,
                message,
            } => PapPacket::Ack {
                identifier,
                message: message.to_vec(),
            },
            PapView::Nak {
                identifier,
                message,
            } => PapPacket::Nak {
                identifier,
                message: message.to_vec(),
            },
        }
    }
}

impl PapPacket {
    /// Parses a PAP packet (the PPP information field).
    pub fn parse(bytes: &[u8]) -> Result<PapPacket, PapError> {
        PapView::new_checked(bytes).map(|v| v.to_owned())
    }

    /// Appends the packet to `out` (fields longer than 255 octets are cut).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut data = Vec::new();
        let (code, identifier) = match self {
            PapPacket::Request {
                identifier,
                peer_id,
                password,
            } => {
                put_counted(&mut data, peer_id);
                put_counted(&mut data, password);
                (0x01, *identifier)
            }
            PapPacket::Ack {
                identifier,
                message,
            } => {
                put_counted(&mut data, message);
                (0x02, *identifier)
            }
            PapPacket::Nak {
                identifier,
                message,
            } => {
                put_counted(&mut data, message);
                (0x03, *identifier)
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

fn take_counted(d: &[u8]) -> Result<(&[u8], &[u8]), PapError> {
    let (&n, rest) = d.split_first().ok_or(PapError::BadField)?;
    let n = usize::from(n);
    if rest.len() < n {
        return Err(PapError::BadField);
    }
    Ok(rest.split_at(n))
}

fn put_counted(out: &mut Vec<u8>, field: &[u8]) {
    let field = &field[..field.len().min(255)];
    out.push(field.len() as u8);
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_bytes() {
        // RFC 1334 §2.2.1: Peer-ID Length, Peer-ID, Passwd-Length, Password.
        let bytes = [
            0x01, 0x07, 0x00, 0x0e, 0x05, b'a', b'l', b'i', b'c', b'e', 0x03, b'p', b'w', b'd',
        ];
        let p = PapPacket::parse(&bytes).expect("valid");
        assert_eq!(
            p,
            PapPacket::Request {
                identifier: 7,
                peer_id: b"alice".to_vec(),
                password: b"pwd".to_vec()
            }
        );
        assert_eq!(p.to_bytes(), bytes);
    }

    #[test]
    fn malformed() {
        assert_eq!(
            PapPacket::parse(&[0x01, 0x01, 0x00, 0x06, 0x05, b'a']),
            Err(PapError::BadField)
        );
        assert_eq!(
            PapPacket::parse(&[0x02, 0x01, 0x00, 0x06, 0x00, 0x00]),
            Err(PapError::BadField)
        );
        assert_eq!(
            PapPacket::parse(&[0x09, 0x01, 0x00, 0x04]),
            Err(PapError::UnknownCode(9))
        );
    }

    proptest! {
        #[test]
        fn round_trip(code in 1u8..4, identifier in any::<u8>(), a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = match code {
                1 => PapPacket::Request { identifier, peer_id: a, password: b },
                2 => PapPacket::Ack { identifier, message: a },
                _ => PapPacket::Nak { identifier, message: a },
            };
            prop_assert_eq!(PapPacket::parse(&p.to_bytes()).expect("own output"), p);
        }

        #[test]
        fn no_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = PapPacket::parse(&bytes);
        }
    }
}
