//! RFC 2661 §3.1 L2TPv2 header: a zero-copy [`HeaderView`] and an owned [`Header`].
//!
//! Contract: [`HeaderView::new_checked`] accepts only version 2 datagrams whose
//! fixed fields fit; the Length field (when present) must not exceed the
//! datagram (we never read past the end) and bytes after it are ignored
//! (RFC 2661 §3.1: "trailing bytes"). Versions 1 (L2F) and 3 (L2TPv3) give
//! [`HeaderError::UnsupportedVersion`] so the caller can log and drop them.

use thiserror::Error;

/// T bit: 1 = control message (RFC 2661 §3.1).
pub const FLAG_TYPE: u16 = 0x8000;
/// L bit: the Length field is present.
pub const FLAG_LENGTH: u16 = 0x4000;
/// S bit: the Ns and Nr fields are present.
pub const FLAG_SEQUENCE: u16 = 0x0800;
/// O bit: the Offset Size field is present.
pub const FLAG_OFFSET: u16 = 0x0200;
/// P bit: priority treatment for data messages.
pub const FLAG_PRIORITY: u16 = 0x0100;
/// Version nibble mask.
pub const VERSION_MASK: u16 = 0x000f;
/// The only version this module speaks.
pub const VERSION_2: u8 = 0x02;
/// Header length of every control message (T, L and S set, no offset).
pub const CONTROL_HEADER_LEN: usize = 12;

/// A header that cannot be used. Every variant is the sender's fault; the
/// RFC answer is to drop the datagram (no tunnel can be trusted yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// Fewer bytes than the fixed fields announced by the flags.
    #[error("datagram truncated: {have} bytes, header needs {need}")]
    Truncated { have: usize, need: usize },
    /// The Length field claims more bytes than the datagram carries.
    #[error("length field {length} exceeds datagram of {datagram} bytes")]
    LengthBeyondDatagram { length: usize, datagram: usize },
    /// The Length field is smaller than the header (and offset pad) itself.
    #[error("length field {length} shorter than the header ({header} bytes)")]
    LengthTooShort { length: usize, header: usize },
    /// Version 1 (L2F), 3 (L2TPv3) or anything but 2.
    #[error("unsupported L2TP version {0}")]
    UnsupportedVersion(u8),
    /// A control message without L or S set, or with O set (RFC 2661 §3.1).
    #[error("control message with invalid flags {0:#06x}")]
    BadControlFlags(u16),
}

/// Control or data message (the T bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// T = 1.
    Control,
    /// T = 0.
    Data,
}

/// Whether a Length field is carried (the L bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthField {
    /// L = 1 (mandatory for control messages).
    Present,
    /// L = 0.
    Absent,
}

/// Priority treatment (the P bit, data messages only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// P = 0.
    Normal,
    /// P = 1.
    High,
}

/// The Ns/Nr pair (present when the S bit is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sequence {
    /// Sequence number of this message.
    pub ns: u16,
    /// Next sequence number expected from the peer.
    pub nr: u16,
}

/// Zero-copy view over an L2TP datagram with a validated header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderView<'a> {
    buf: &'a [u8],
    header_len: usize,
    end: usize,
}

impl<'a> HeaderView<'a> {
    /// Validates the header of `datagram` (RFC 2661 §3.1).
    pub fn new_checked(datagram: &'a [u8]) -> Result<Self, HeaderError> {
        if datagram.len() < 2 {
            return Err(HeaderError::Truncated {
                have: datagram.len(),
                need: 6,
            });
        }
        let flags = u16::from_be_bytes([datagram[0], datagram[1]]);
        let version = (flags & VERSION_MASK) as u8;
        if version != VERSION_2 {
            return Err(HeaderError::UnsupportedVersion(version));
        }
        let control = flags & FLAG_TYPE != 0;
        if control
            && (flags & FLAG_LENGTH == 0 || flags & FLAG_SEQUENCE == 0 || flags & FLAG_OFFSET != 0)
        {
            return Err(HeaderError::BadControlFlags(flags));
        }
        let mut need = 6;
        if flags & FLAG_LENGTH != 0 {
            need += 2;
        }
        if flags & FLAG_SEQUENCE != 0 {
            need += 4;
        }
        let offset_at = need;
        if flags & FLAG_OFFSET != 0 {
            need += 2;
        }
        if datagram.len() < need {
            return Err(HeaderError::Truncated {
                have: datagram.len(),
                need,
            });
        }
        if flags & FLAG_OFFSET != 0 {
            let pad = u16::from_be_bytes([datagram[offset_at], datagram[offset_at + 1]]);
            need += usize::from(pad);
        }
        let end = if flags & FLAG_LENGTH != 0 {
            let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
            if length > datagram.len() {
                return Err(HeaderError::LengthBeyondDatagram {
                    length,
                    datagram: datagram.len(),
                });
            }
            if length < need {
                return Err(HeaderError::LengthTooShort {
                    length,
                    header: need,
                });
            }
            length
        } else {
            if datagram.len() < need {
                return Err(HeaderError::Truncated {
                    have: datagram.len(),
                    need,
                });
            }
            datagram.len()
        };
        Ok(HeaderView {
            buf: datagram,
            header_len: need,
            end,
        })
    }

    /// The raw flags-and-version word.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[0], self.buf[1]])
    }

    /// Control or data.
    pub fn kind(&self) -> Kind {
        if self.flags() & FLAG_TYPE != 0 {
            Kind::Control
        } else {
            Kind::Data
        }
    }

    /// The Length field value, if present.
    pub fn length(&self) -> Option<u16> {
        (self.flags() & FLAG_LENGTH != 0).then(|| u16::from_be_bytes([self.buf[2], self.buf[3]]))
    }

    fn ids_at(&self) -> usize {
        if self.flags() & FLAG_LENGTH != 0 {
            4
        } else {
            2
        }
    }

    /// Tunnel ID (the receiver's identifier).
    pub fn tunnel_id(&self) -> u16 {
        let at = self.ids_at();
        u16::from_be_bytes([self.buf[at], self.buf[at + 1]])
    }

    /// Session ID (the receiver's identifier; 0 for tunnel-scoped messages).
    pub fn session_id(&self) -> u16 {
        let at = self.ids_at() + 2;
        u16::from_be_bytes([self.buf[at], self.buf[at + 1]])
    }

    /// Ns and Nr, if the S bit is set.
    pub fn sequence(&self) -> Option<Sequence> {
        (self.flags() & FLAG_SEQUENCE != 0).then(|| {
            let at = self.ids_at() + 4;
            Sequence {
                ns: u16::from_be_bytes([self.buf[at], self.buf[at + 1]]),
                nr: u16::from_be_bytes([self.buf[at + 2], self.buf[at + 3]]),
            }
        })
    }

    /// The Offset Size, if the O bit is set.
    pub fn offset_size(&self) -> Option<u16> {
        (self.flags() & FLAG_OFFSET != 0).then(|| {
            let mut at = self.ids_at() + 4;
            if self.flags() & FLAG_SEQUENCE != 0 {
                at += 4;
            }
            u16::from_be_bytes([self.buf[at], self.buf[at + 1]])
        })
    }

    /// Priority bit.
    pub fn priority(&self) -> Priority {
        if self.flags() & FLAG_PRIORITY != 0 {
            Priority::High
        } else {
            Priority::Normal
        }
    }

    /// Header length including the offset pad.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Bytes after the header, up to the Length field (trailing bytes cut).
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len..self.end]
    }

    /// The payload's byte range within the datagram.
    pub fn payload_range(&self) -> core::ops::Range<usize> {
        self.header_len..self.end
    }

    /// True for a control message without AVPs: a ZLB acknowledgement (§5.8).
    pub fn is_zlb(&self) -> bool {
        self.kind() == Kind::Control && self.payload().is_empty()
    }

    /// The owned representation of this header.
    pub fn to_header(&self) -> Header {
        Header {
            kind: self.kind(),
            length: if self.length().is_some() {
                LengthField::Present
            } else {
                LengthField::Absent
            },
            tunnel_id: self.tunnel_id(),
            session_id: self.session_id(),
            sequence: self.sequence(),
            offset_size: self.offset_size(),
            priority: self.priority(),
        }
    }
}

/// Owned L2TPv2 header (RFC 2661 §3.1). Emission writes zero offset padding
/// and computes the Length field from the payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// T bit.
    pub kind: Kind,
    /// L bit.
    pub length: LengthField,
    /// Receiver's tunnel id.
    pub tunnel_id: u16,
    /// Receiver's session id.
    pub session_id: u16,
    /// Ns/Nr (S bit).
    pub sequence: Option<Sequence>,
    /// Offset Size (O bit); that many zero pad bytes follow.
    pub offset_size: Option<u16>,
    /// P bit.
    pub priority: Priority,
}

impl Header {
    /// A control message header (T, L, S set) as every control message uses.
    pub fn control(tunnel_id: u16, session_id: u16, ns: u16, nr: u16) -> Self {
        Header {
            kind: Kind::Control,
            length: LengthField::Present,
            tunnel_id,
            session_id,
            sequence: Some(Sequence { ns, nr }),
            offset_size: None,
            priority: Priority::Normal,
        }
    }

    /// Parses the header of `datagram`; returns it with the payload range.
    pub fn parse(datagram: &[u8]) -> Result<(Header, core::ops::Range<usize>), HeaderError> {
        let view = HeaderView::new_checked(datagram)?;
        Ok((view.to_header(), view.payload_range()))
    }

    /// Bytes the header occupies, offset pad included.
    pub fn buffer_len(&self) -> usize {
        let mut n = 6;
        if self.length == LengthField::Present {
            n += 2;
        }
        if self.sequence.is_some() {
            n += 4;
        }
        if let Some(pad) = self.offset_size {
            n += 2 + usize::from(pad);
        }
        n
    }

    /// Writes the header into `buf` (at least [`Header::buffer_len`] bytes)
    /// for a payload of `payload_len` bytes; returns the header length.
    /// `None` if the buffer is too small or the total exceeds 65535.
    pub fn emit_into(&self, buf: &mut [u8], payload_len: usize) -> Option<usize> {
        let hlen = self.buffer_len();
        let total = hlen.checked_add(payload_len)?;
        if buf.len() < hlen || (self.length == LengthField::Present && total > 0xffff) {
            return None;
        }
        let mut flags = u16::from(VERSION_2);
        if self.kind == Kind::Control {
            flags |= FLAG_TYPE;
        }
        if self.length == LengthField::Present {
            flags |= FLAG_LENGTH;
        }
        if self.sequence.is_some() {
            flags |= FLAG_SEQUENCE;
        }
        if self.offset_size.is_some() {
            flags |= FLAG_OFFSET;
        }
        if self.priority == Priority::High {
            flags |= FLAG_PRIORITY;
        }
        buf[0..2].copy_from_slice(&flags.to_be_bytes());
        let mut at = 2;
        if self.length == LengthField::Present {
            // Bounded above: total <= 0xffff.
            buf[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            at = 4;
        }
        buf[at..at + 2].copy_from_slice(&self.tunnel_id.to_be_bytes());
        buf[at + 2..at + 4].copy_from_slice(&self.session_id.to_be_bytes());
        at += 4;
        if let Some(seq) = self.sequence {
            buf[at..at + 2].copy_from_slice(&seq.ns.to_be_bytes());
            buf[at + 2..at + 4].copy_from_slice(&seq.nr.to_be_bytes());
            at += 4;
        }
        if let Some(pad) = self.offset_size {
            buf[at..at + 2].copy_from_slice(&pad.to_be_bytes());
            at += 2;
            let end = at + usize::from(pad);
            buf[at..end].fill(0);
            at = end;
        }
        Some(at)
    }

    /// Appends the header then `payload` to `out`.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.buffer_len(), 0);
        let written = self.emit_into(&mut out[start..], payload.len());
        debug_assert!(written.is_some(), "buffer sized by buffer_len");
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 2661 §5.8 / §3.1: a ZLB is a 12-byte control header, T=L=S=1, ver 2.
    const ZLB: [u8; 12] = [
        0xc8, 0x02, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x03,
    ];

    #[test]
    fn zlb_vector_parses() {
        let v = HeaderView::new_checked(&ZLB).expect("valid");
        assert_eq!(v.kind(), Kind::Control);
        assert_eq!(v.tunnel_id(), 1);
        assert_eq!(v.session_id(), 0);
        assert_eq!(v.sequence(), Some(Sequence { ns: 2, nr: 3 }));
        assert!(v.is_zlb());
        let mut out = Vec::new();
        v.to_header().emit(&[], &mut out);
        assert_eq!(out, ZLB);
    }

    #[test]
    fn length_beyond_datagram_is_malformed() {
        // RFC 2661 §3.1: never read past the datagram.
        let mut d = ZLB;
        d[3] = 0x20;
        assert_eq!(
            HeaderView::new_checked(&d).err(),
            Some(HeaderError::LengthBeyondDatagram {
                length: 0x20,
                datagram: 12
            })
        );
    }

    #[test]
    fn trailing_bytes_after_length_are_ignored() {
        let mut d = ZLB.to_vec();
        d.extend_from_slice(&[0xde, 0xad]);
        let v = HeaderView::new_checked(&d).expect("valid");
        assert!(v.payload().is_empty());
    }

    #[test]
    fn other_versions_are_distinct_errors() {
        let mut d = ZLB;
        d[1] = 0x03;
        assert_eq!(
            HeaderView::new_checked(&d).err(),
            Some(HeaderError::UnsupportedVersion(3))
        );
        d[1] = 0x01;
        assert_eq!(
            HeaderView::new_checked(&d).err(),
            Some(HeaderError::UnsupportedVersion(1))
        );
    }

    #[test]
    fn control_without_sequence_is_refused() {
        // RFC 2661 §3.1: L and S MUST be 1 for control messages.
        let d = [0xc0, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00];
        assert!(matches!(
            HeaderView::new_checked(&d),
            Err(HeaderError::BadControlFlags(_))
        ));
    }

    #[test]
    fn data_with_offset_pad() {
        // Data, O bit, offset 2 with pad, then PPP bytes.
        let d = [
            0x02, 0x02, 0x00, 0x07, 0x00, 0x09, 0x00, 0x02, 0x00, 0x00, 0xff, 0x03,
        ];
        let v = HeaderView::new_checked(&d).expect("valid");
        assert_eq!(v.kind(), Kind::Data);
        assert_eq!(v.offset_size(), Some(2));
        assert_eq!(v.payload(), &[0xff, 0x03]);
        let pad_beyond = [0x02, 0x02, 0x00, 0x07, 0x00, 0x09, 0x00, 0x10];
        assert!(HeaderView::new_checked(&pad_beyond).is_err());
    }

    fn arb_header() -> impl Strategy<Value = Header> {
        (
            any::<bool>(),
            any::<bool>(),
            any::<u16>(),
            any::<u16>(),
            proptest::option::of((any::<u16>(), any::<u16>())),
            proptest::option::of(0u16..16),
            any::<bool>(),
        )
            .prop_map(|(c, l, t, s, seq, off, p)| {
                let control = c;
                Header {
                    kind: if control { Kind::Control } else { Kind::Data },
                    length: if l || control {
                        LengthField::Present
                    } else {
                        LengthField::Absent
                    },
                    tunnel_id: t,
                    session_id: s,
                    sequence: if control {
                        Some(seq.map_or(Sequence { ns: 0, nr: 0 }, |(ns, nr)| Sequence { ns, nr }))
                    } else {
                        seq.map(|(ns, nr)| Sequence { ns, nr })
                    },
                    offset_size: if control { None } else { off },
                    priority: if p && !control {
                        Priority::High
                    } else {
                        Priority::Normal
                    },
                }
            })
    }

    proptest! {
        #[test]
        fn parse_emit_roundtrip(h in arb_header(), payload in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut out = Vec::new();
            h.emit(&payload, &mut out);
            let (back, range) = Header::parse(&out).expect("own output parses");
            prop_assert_eq!(back, h);
            prop_assert_eq!(&out[range], &payload[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(v) = HeaderView::new_checked(&bytes) {
                let _ = (v.tunnel_id(), v.session_id(), v.sequence(), v.offset_size(), v.payload());
            }
        }
    }
}
