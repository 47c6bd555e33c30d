//! RADIUS cryptography on octets: the shared [`Secret`], the
//! [`Password`] it hides (RFC 2865 §5.2), MD5 authenticators (RFC 2865 §3,
//! RFC 2866 §3, RFC 5176 §2.3), HMAC-MD5 (RFC 2104, used by RFC 3579 §3.2)
//! and the CHAP response (RFC 1994 §4.1).
//!
//! Contract: pure functions. Secrets and passwords never appear in `Debug`
//! output: both print as `Secret(..)` / `Password(..)`.

use core::fmt;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use thiserror::Error;

/// Longest User-Password (RFC 2865 §5.2).
pub const MAX_PASSWORD_LEN: usize = 128;

/// A RADIUS shared secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

/// A clear-text password. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Vec<u8>);

/// A hidden User-Password that cannot be revealed. The peer is at fault;
/// an Access-Request carrying it is answered with Access-Reject (or
/// discarded) by a server.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum HiddenPasswordError {
    /// Not a multiple of 16 octets, or outside 16..=128.
    #[error("malformed by peer: hidden User-Password of {0} octets")]
    BadLength(usize),
}

impl Secret {
    /// Wraps secret octets.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Secret(secret.into())
    }

    /// The secret octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Password {
    /// Wraps clear-text password octets.
    pub fn new(password: impl Into<Vec<u8>>) -> Self {
        Password(password.into())
    }

    /// The clear-text octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Hides a password for the User-Password attribute (RFC 2865 §5.2):
/// zero-padded to a multiple of 16 (at least 16), each block XORed with
/// MD5(secret + previous cipher block), the first with the Request
/// Authenticator. `None` if the password is longer than 128 octets.
pub fn hide_password(
    password: &Password,
    secret: &Secret,
    request_authenticator: &[u8; 16],
) -> Option<Vec<u8>> {
    let clear = password.as_bytes();
    if clear.len() > MAX_PASSWORD_LEN {
        return None;
    }
    let blocks = clear.len().div_ceil(16).max(1);
    let mut out = vec![0u8; blocks * 16];
    out[..clear.len()].copy_from_slice(clear);
    let mut prev: [u8; 16] = *request_authenticator;
    for block in out.chunks_mut(16) {
        let b = md5(&[secret.as_bytes(), &prev]);
        for (c, k) in block.iter_mut().zip(b) {
            *c ^= k;
        }
        prev.copy_from_slice(block);
    }
    Some(out)
}

/// Reveals a hidden User-Password (RFC 2865 §5.2), dropping the zero
/// padding.
pub fn unhide_password(
    hidden: &[u8],
    secret: &Secret,
    request_authenticator: &[u8; 16],
) -> Result<Password, HiddenPasswordError> {
    if hidden.is_empty() || hidden.len() % 16 != 0 || hidden.len() > MAX_PASSWORD_LEN {
        return Err(HiddenPasswordError::BadLength(hidden.len()));
    }
    let mut clear = Vec::with_capacity(hidden.len());
    let mut prev: &[u8] = request_authenticator;
    for block in hidden.chunks(16) {
        let b = md5(&[secret.as_bytes(), prev]);
        clear.extend(block.iter().zip(b).map(|(c, k)| c ^ k));
        prev = block;
    }
    while clear.last() == Some(&0) {
        clear.pop();
    }
    Ok(Password(clear))
}

/// MD5 over the concatenation of `parts`.
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 (RFC 2104) of `data` under `key`.
pub fn hmac_md5(key: &[u8], data: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key)
        .expect("invariant: HMAC accepts keys of any length");
    for d in data {
        mac.update(d);
    }
    mac.finalize().into_bytes().into()
}

/// The CHAP response a peer computes: MD5(Identifier + secret + challenge)
/// (RFC 1994 §4.1). The LNS forwards the peer's response to RADIUS; tests
/// use this to play the peer.
pub fn chap_response(ident: u8, password: &Password, challenge: &[u8]) -> [u8; 16] {
    md5(&[&[ident], password.as_bytes(), challenge])
}

/// Constant-time comparison of two 16-octet digests.
pub fn digest_eq(a: &[u8; 16], b: &[u8]) -> bool {
    if b.len() != 16 {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2865 §7.1: Request Authenticator of the "nemo" example.
    const RA_7_1: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];
    /// RFC 2865 §7.1: the hidden User-Password for "arctangent".
    const HIDDEN_7_1: [u8; 16] = [
        0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a,
        0xee,
    ];

    #[test]
    fn rfc2865_7_1_password_hiding() {
        let secret = Secret::new("xyzzy5461");
        let hidden = hide_password(&Password::new("arctangent"), &secret, &RA_7_1);
        assert_eq!(hidden.as_deref(), Some(&HIDDEN_7_1[..]));
        let clear = unhide_password(&HIDDEN_7_1, &secret, &RA_7_1);
        assert_eq!(clear, Ok(Password::new("arctangent")));
        // The wrong secret reveals something else.
        let wrong = unhide_password(&HIDDEN_7_1, &Secret::new("xyzzy5462"), &RA_7_1);
        assert_ne!(wrong, Ok(Password::new("arctangent")));
    }

    #[test]
    fn rfc2865_5_2_lengths() {
        let s = Secret::new("s");
        let ra = [7u8; 16];
        assert_eq!(
            hide_password(&Password::new(""), &s, &ra).map(|h| h.len()),
            Some(16)
        );
        assert_eq!(
            hide_password(&Password::new([1u8; 17]), &s, &ra).map(|h| h.len()),
            Some(32)
        );
        assert_eq!(
            hide_password(&Password::new([1u8; 128]), &s, &ra).map(|h| h.len()),
            Some(128)
        );
        assert_eq!(hide_password(&Password::new([1u8; 129]), &s, &ra), None);
        for bad in [0usize, 15, 17, 144] {
            assert_eq!(
                unhide_password(&vec![0; bad], &s, &ra),
                Err(HiddenPasswordError::BadLength(bad))
            );
        }
    }

    #[test]
    fn rfc2104_hmac_md5_test_case_1() {
        // RFC 2104 Appendix / RFC 2202 test case 1.
        let mac = hmac_md5(&[0x0b; 16], &[b"Hi There"]);
        assert_eq!(
            mac,
            [
                0x92, 0x94, 0x72, 0x7a, 0x36, 0x38, 0xbb, 0x1c, 0x13, 0xf4, 0x8e, 0xf8, 0x15, 0x8b,
                0xfc, 0x9d
            ]
        );
        // RFC 2202 test case 2: key "Jefe".
        let mac = hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(mac[..4], [0x75, 0x0c, 0x78, 0x3e]);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = format!(
            "{:?} {:?}",
            Secret::new("hunter2"),
            Password::new("hunter2")
        );
        assert_eq!(s, "Secret(..) Password(..)");
    }

    #[test]
    fn rfc1994_chap_response_is_md5_of_ident_secret_challenge() {
        let r = chap_response(0x16, &Password::new("pw"), b"chal");
        assert_eq!(r, md5(&[b"\x16pwchal"]));
        assert!(digest_eq(&r, &r));
        assert!(!digest_eq(&r, &[0; 16]));
        assert!(!digest_eq(&r, &r[..15]));
    }
}
