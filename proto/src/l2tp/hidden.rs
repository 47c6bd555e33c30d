//! RFC 2661 §4.3 hidden AVP values.
//!
//! Contract: [`hide`] turns a clear value into the hidden subformat
//! (Original Length, value, padding) encrypted with the MD5 chain keyed by
//! the attribute type, the tunnel secret and the Random Vector; [`unhide`]
//! reverses it. Hidden values need not be a multiple of 16 bytes (unpadded
//! values are accepted, unlike l2tpns). An Original Length that does not fit
//! is reported as [`HiddenError::WrongSecret`].

use md5::{Digest, Md5};
use thiserror::Error;

/// Why a hidden value could not be recovered. `WrongSecret` is a
/// configuration mismatch between the peers (Result 2 / Error 6 or a
/// tunnel refusal); the others are the sender's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HiddenError {
    /// No Random Vector AVP precedes the hidden AVP in the message.
    #[error("hidden AVP without a preceding Random Vector")]
    NoRandomVector,
    /// We have no secret for this tunnel.
    #[error("hidden AVP but no tunnel secret is configured")]
    NoSecret,
    /// Shorter than the 2-byte Original Length.
    #[error("hidden AVP value shorter than 2 bytes")]
    Truncated,
    /// The unhidden Original Length does not fit: the secrets differ.
    #[error("hidden AVP does not decode: wrong tunnel secret (length {claimed} > {available})")]
    WrongSecret { claimed: usize, available: usize },
}

/// Hides `value` of attribute `attr_type`, appending `pad` zero bytes of
/// padding (0 = none) before encryption.
pub fn hide(
    attr_type: u16,
    secret: &[u8],
    random_vector: &[u8],
    value: &[u8],
    pad: usize,
) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    let mut plain = Vec::with_capacity(2 + value.len() + pad);
    plain.extend_from_slice(&len.to_be_bytes());
    plain.extend_from_slice(value);
    plain.resize(plain.len() + pad, 0);
    let mut out = Vec::with_capacity(plain.len());
    let mut key = first_key(attr_type, secret, random_vector);
    for chunk in plain.chunks(16) {
        let start = out.len();
        out.extend(chunk.iter().zip(key.iter()).map(|(p, k)| p ^ k));
        key = next_key(secret, &out[start..]);
    }
    out
}

/// Recovers the clear value of a hidden AVP.
pub fn unhide(
    attr_type: u16,
    secret: &[u8],
    random_vector: &[u8],
    hidden: &[u8],
) -> Result<Vec<u8>, HiddenError> {
    if hidden.len() < 2 {
        return Err(HiddenError::Truncated);
    }
    let mut plain = Vec::with_capacity(hidden.len());
    let mut key = first_key(attr_type, secret, random_vector);
    for chunk in hidden.chunks(16) {
        plain.extend(chunk.iter().zip(key.iter()).map(|(c, k)| c ^ k));
        key = next_key(secret, chunk);
    }
    let claimed = usize::from(u16::from_be_bytes([plain[0], plain[1]]));
    let available = plain.len() - 2;
    if claimed > available {
        return Err(HiddenError::WrongSecret { claimed, available });
    }
    plain.truncate(2 + claimed);
    plain.drain(..2);
    Ok(plain)
}

/// b1 = MD5(AT + S + RV) (§4.3).
fn first_key(attr_type: u16, secret: &[u8], rv: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(attr_type.to_be_bytes());
    h.update(secret);
    h.update(rv);
    h.finalize().into()
}

/// b(i) = MD5(S + c(i-1)) (§4.3).
fn next_key(secret: &[u8], previous_cipher: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(secret);
    h.update(previous_cipher);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padded_and_unpadded_roundtrip() {
        let rv = [0x11u8; 16];
        for pad in [0, 5, 30] {
            let h = hide(0x1e, b"s3cret", &rv, b"alice@isp", pad);
            assert_eq!(h.len(), 2 + 9 + pad);
            assert_ne!(&h[2..11], b"alice@isp");
            assert_eq!(
                unhide(0x1e, b"s3cret", &rv, &h).expect("same secret"),
                b"alice@isp"
            );
        }
    }

    #[test]
    fn first_block_is_md5_of_type_secret_vector() {
        // §4.3: c1 = p1 xor MD5(AT + S + RV); check by hand for a 1-byte value.
        let rv = [0x01, 0x02, 0x03, 0x04];
        let h = hide(0x0009, b"k", &rv, &[0x42], 0);
        let mut m = Md5::new();
        m.update([0x00, 0x09, b'k', 0x01, 0x02, 0x03, 0x04]);
        let b1: [u8; 16] = m.finalize().into();
        assert_eq!(h, vec![b1[0], 0x01 ^ b1[1], 0x42 ^ b1[2]]);
    }

    #[test]
    fn wrong_secret_is_reported() {
        let rv = [0x5au8; 16];
        // A long value: a wrong key gives a random Original Length, almost
        // surely larger than what is there (checked for this vector).
        let h = hide(0x21, b"right", &rv, &[0u8; 16], 0);
        assert!(matches!(
            unhide(0x21, b"wrong", &rv, &h),
            Err(HiddenError::WrongSecret { .. })
        ));
        assert_eq!(
            unhide(0x21, b"right", &rv, &[0x00]),
            Err(HiddenError::Truncated)
        );
    }

    proptest! {
        #[test]
        fn hide_unhide_roundtrip(
            value in proptest::collection::vec(any::<u8>(), 0..80),
            secret in proptest::collection::vec(any::<u8>(), 1..20),
            rv in proptest::collection::vec(any::<u8>(), 1..20),
            pad in 0usize..20,
            at in any::<u16>(),
        ) {
            let h = hide(at, &secret, &rv, &value, pad);
            prop_assert_eq!(unhide(at, &secret, &rv, &h).expect("roundtrip"), value);
        }
    }
}
