//! RFC 2661 §4.1 AVP framing: a zero-copy [`AvpView`], an iterator over a
//! message body, and the owned [`Avp`] (flags + typed value).
//!
//! Contract: every AVP has Length >= 6 and lies within the message; the
//! iterator yields an error (and stops) at the first violation and never
//! reads past the body. Hidden values (H bit, §4.3) are unhidden by
//! [`parse_avps`] with the tunnel secret and the Random Vector that precedes
//! them in the same message. An AVP with a reserved bit set is treated as
//! unrecognised (§4.1) and kept raw with its flags.

use super::avp_types::{attr, AvpValue, ValueError};
use super::hidden::{self, HiddenError};
use thiserror::Error;

/// M bit.
pub const FLAG_MANDATORY: u16 = 0x8000;
/// H bit.
pub const FLAG_HIDDEN: u16 = 0x4000;
/// The four reserved bits.
pub const FLAG_RESERVED: u16 = 0x3c00;
/// Length mask (10 bits).
pub const LENGTH_MASK: u16 = 0x03ff;
/// Size of the AVP header (flags/length, vendor, type).
pub const AVP_HEADER_LEN: usize = 6;

/// The M bit: may the receiver ignore this AVP if it does not know it?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Criticality {
    /// M = 1: an unknown mandatory AVP ends the tunnel or session (§4.1).
    Mandatory,
    /// M = 0.
    Optional,
}

/// The H bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// H = 0.
    Clear,
    /// H = 1: value hidden with the tunnel secret (§4.3).
    Hidden,
}

/// A malformed AVP list: the sender's fault, answered with Result 2
/// (general error) and Error 2 "Length is wrong" or 3 "value out of range".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AvpError {
    /// Fewer than 6 bytes remain for an AVP header.
    #[error("AVP header truncated ({remaining} bytes left)")]
    Truncated { remaining: usize },
    /// AVP Length below 6.
    #[error("AVP length {0} below 6")]
    LengthTooShort(usize),
    /// AVP Length runs past the end of the message.
    #[error("AVP length {length} exceeds the {remaining} bytes left in the message")]
    LengthBeyondMessage { length: usize, remaining: usize },
    /// A known AVP with a value of the wrong size.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// Unhiding failed (no Random Vector, no secret, or wrong secret).
    #[error(transparent)]
    Hidden(#[from] HiddenError),
}

impl AvpError {
    /// The RFC 2661 §4.4.2 Error Code this failure is reported with.
    pub fn error_code(&self) -> u16 {
        match self {
            AvpError::Value(_) => 0x0003,
            _ => 0x0002,
        }
    }
}

/// Zero-copy view of one AVP.
#[derive(Debug, Clone, Copy)]
pub struct AvpView<'a> {
    buf: &'a [u8],
}

impl<'a> AvpView<'a> {
    /// Checks that `buf` starts with a complete AVP; the view covers exactly it.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, AvpError> {
        if buf.len() < AVP_HEADER_LEN {
            return Err(AvpError::Truncated {
                remaining: buf.len(),
            });
        }
        let length = usize::from(u16::from_be_bytes([buf[0], buf[1]]) & LENGTH_MASK);
        if length < AVP_HEADER_LEN {
            return Err(AvpError::LengthTooShort(length));
        }
        if length > buf.len() {
            return Err(AvpError::LengthBeyondMessage {
                length,
                remaining: buf.len(),
            });
        }
        Ok(AvpView {
            buf: &buf[..length],
        })
    }

    /// Raw flags word (M, H, reserved, length).
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[0], self.buf[1]])
    }
    /// M bit.
    pub fn criticality(&self) -> Criticality {
        if self.flags() & FLAG_MANDATORY != 0 {
            Criticality::Mandatory
        } else {
            Criticality::Optional
        }
    }
    /// H bit.
    pub fn visibility(&self) -> Visibility {
        if self.flags() & FLAG_HIDDEN != 0 {
            Visibility::Hidden
        } else {
            Visibility::Clear
        }
    }
    /// True if a reserved bit is set (§4.1: treat as unrecognised).
    pub fn reserved_bits_set(&self) -> bool {
        self.flags() & FLAG_RESERVED != 0
    }
    /// Total AVP length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Never true: an AVP has at least its 6-byte header.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Vendor ID (0 = IETF).
    pub fn vendor_id(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }
    /// Attribute type.
    pub fn attr_type(&self) -> u16 {
        u16::from_be_bytes([self.buf[4], self.buf[5]])
    }
    /// Attribute value as on the wire (still hidden if H is set).
    pub fn value(&self) -> &'a [u8] {
        &self.buf[AVP_HEADER_LEN..]
    }
}

/// Iterates over the AVPs of a message body; stops after the first error.
#[derive(Debug, Clone)]
pub struct AvpIter<'a> {
    rest: &'a [u8],
}

impl<'a> AvpIter<'a> {
    /// Iterates over `body` (the bytes after the control header).
    pub fn new(body: &'a [u8]) -> Self {
        AvpIter { rest: body }
    }
}

impl<'a> Iterator for AvpIter<'a> {
    type Item = Result<AvpView<'a>, AvpError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match AvpView::new_checked(self.rest) {
            Ok(v) => {
                self.rest = &self.rest[v.len()..];
                Some(Ok(v))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// One owned AVP: flags and typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avp {
    /// M bit.
    pub criticality: Criticality,
    /// H bit (on parse: the value was hidden and has been unhidden).
    pub visibility: Visibility,
    /// The clear value.
    pub value: AvpValue,
}

impl Avp {
    /// A clear AVP with the M bit RFC 2661 prescribes for its type.
    pub fn new(value: AvpValue) -> Self {
        Avp {
            criticality: value.default_criticality(),
            visibility: Visibility::Clear,
            value,
        }
    }

    /// True if the receiver does not know this AVP and must act on the M bit.
    pub fn is_unknown_mandatory(&self) -> bool {
        self.criticality == Criticality::Mandatory && matches!(self.value, AvpValue::Unknown { .. })
    }
}

/// Emission failure: the caller built something that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmitError {
    /// A hidden AVP not preceded by a Random Vector AVP (§4.3).
    #[error("hidden AVP type {0} without a preceding Random Vector")]
    HiddenWithoutRandomVector(u16),
    /// A hidden AVP but no tunnel secret.
    #[error("hidden AVP type {0} but no tunnel secret")]
    HiddenWithoutSecret(u16),
    /// An AVP value longer than the 10-bit length field allows.
    #[error("AVP type {0} too long")]
    TooLong(u16),
}

/// Parses every AVP of `body`, unhiding with `secret` (§4.3).
pub fn parse_avps(body: &[u8], secret: Option<&[u8]>) -> Result<Vec<Avp>, AvpError> {
    let mut out = Vec::new();
    let mut random_vector: Option<&[u8]> = None;
    for view in AvpIter::new(body) {
        let view = view?;
        let clear;
        let value_bytes: &[u8] = if view.visibility() == Visibility::Hidden {
            let rv = random_vector.ok_or(HiddenError::NoRandomVector)?;
            let secret = secret.ok_or(HiddenError::NoSecret)?;
            clear = hidden::unhide(view.attr_type(), secret, rv, view.value())?;
            &clear
        } else {
            view.value()
        };
        let value = if view.reserved_bits_set() {
            AvpValue::Unknown {
                vendor_id: view.vendor_id(),
                attr_type: view.attr_type(),
                value: value_bytes.to_vec(),
            }
        } else {
            AvpValue::decode(view.vendor_id(), view.attr_type(), value_bytes)?
        };
        if view.vendor_id() == 0
            && view.attr_type() == attr::RANDOM_VECTOR
            && view.visibility() == Visibility::Clear
        {
            random_vector = Some(view.value());
        }
        out.push(Avp {
            criticality: view.criticality(),
            visibility: view.visibility(),
            value,
        });
    }
    Ok(out)
}

/// Appends the AVPs to `out`, hiding those marked [`Visibility::Hidden`]
/// with `secret` and the Random Vector that precedes them (§4.3). Hidden
/// values are zero-padded to a multiple of 16 bytes (Original Length
/// included) so their length reveals less; receivers strip the padding.
pub fn emit_avps(avps: &[Avp], secret: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), EmitError> {
    let mut rv: Option<Vec<u8>> = None;
    let mut value = Vec::new();
    for avp in avps {
        let (vendor, attr_type) = avp.value.kind();
        value.clear();
        avp.value.encode(&mut value);
        if avp.visibility == Visibility::Hidden {
            let rv = rv
                .as_deref()
                .ok_or(EmitError::HiddenWithoutRandomVector(attr_type))?;
            let secret = secret.ok_or(EmitError::HiddenWithoutSecret(attr_type))?;
            let pad = (16 - (2 + value.len()) % 16) % 16;
            value = hidden::hide(attr_type, secret, rv, &value, pad);
        }
        let len = AVP_HEADER_LEN + value.len();
        if len > usize::from(LENGTH_MASK) {
            return Err(EmitError::TooLong(attr_type));
        }
        let mut flags = len as u16;
        if avp.criticality == Criticality::Mandatory {
            flags |= FLAG_MANDATORY;
        }
        if avp.visibility == Visibility::Hidden {
            flags |= FLAG_HIDDEN;
        }
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&vendor.to_be_bytes());
        out.extend_from_slice(&attr_type.to_be_bytes());
        out.extend_from_slice(&value);
        if let AvpValue::RandomVector(v) = &avp.value {
            if avp.visibility == Visibility::Clear {
                rv = Some(v.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_vector() {
        // RFC 2661 §4.4.3 Host Name, M=1, length 6+3, vendor 0, type 7, "lac".
        let b = [0x80, 0x09, 0x00, 0x00, 0x00, 0x07, b'l', b'a', b'c'];
        let avps = parse_avps(&b, None).expect("valid");
        assert_eq!(
            avps,
            vec![Avp {
                criticality: Criticality::Mandatory,
                visibility: Visibility::Clear,
                value: AvpValue::HostName(b"lac".to_vec()),
            }]
        );
        let mut out = Vec::new();
        emit_avps(&avps, None, &mut out).expect("emit");
        assert_eq!(out, b);
    }

    #[test]
    fn length_rules() {
        // §4.1: length below 6, or beyond the message, is malformed.
        assert_eq!(
            parse_avps(&[0x80, 0x05, 0, 0, 0, 7], None),
            Err(AvpError::LengthTooShort(5))
        );
        assert_eq!(
            parse_avps(&[0x80, 0x0a, 0, 0, 0, 7, 1], None),
            Err(AvpError::LengthBeyondMessage {
                length: 10,
                remaining: 7
            })
        );
        assert_eq!(
            parse_avps(&[0x80, 0x08, 0, 0], None),
            Err(AvpError::Truncated { remaining: 4 })
        );
    }

    #[test]
    fn unknown_and_reserved_bits_kept_raw() {
        // §4.1: unknown type kept raw with its M bit; reserved bits -> unrecognised.
        let b = [
            0x80, 0x07, 0x00, 0x00, 0x01, 0x00, 0xaa, 0x08, 0x08, 0x00, 0x00, 0x00, 0x07, b'x',
            b'y',
        ];
        let avps = parse_avps(&b, None).expect("valid");
        assert!(avps[0].is_unknown_mandatory());
        assert!(matches!(
            avps[1].value,
            AvpValue::Unknown { attr_type: 7, .. }
        ));
        assert_eq!(avps[1].criticality, Criticality::Optional);
    }

    #[test]
    fn wrong_value_length_is_an_error() {
        // Assigned Tunnel ID (§4.4.3) is exactly 2 bytes.
        let b = [0x80, 0x09, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x02];
        assert!(matches!(parse_avps(&b, None), Err(AvpError::Value(_))));
    }

    #[test]
    fn hidden_values_padded_on_emit_unpadded_accepted() {
        // §4.3: padding is optional; we pad to 16, and accept none.
        let rv = Avp::new(AvpValue::RandomVector(vec![0x07; 16]));
        let name = Avp {
            criticality: Criticality::Optional,
            visibility: Visibility::Hidden,
            value: AvpValue::ProxyAuthenName(b"bob".to_vec()),
        };
        let mut out = Vec::new();
        emit_avps(&[rv.clone(), name.clone()], Some(b"k"), &mut out).expect("emit");
        assert_eq!(out.len(), 22 + 6 + 16);
        assert_eq!(
            parse_avps(&out, Some(b"k")),
            Ok(vec![rv.clone(), name.clone()])
        );
        let hidden = hidden::hide(0x1e, b"k", &[0x07; 16], b"bob", 0);
        let mut raw = out[..22].to_vec();
        raw.extend_from_slice(&[0x40, 0x0b, 0x00, 0x00, 0x00, 0x1e]);
        raw.extend_from_slice(&hidden);
        assert_eq!(parse_avps(&raw, Some(b"k")), Ok(vec![rv, name]));
    }
}
