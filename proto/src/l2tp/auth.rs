//! RFC 2661 §5.1.1 tunnel authentication with the Challenge and Challenge
//! Response AVPs of §4.4.3 (§4.2 is "Mandatory AVPs", not this).
//!
//! Contract: the response to a Challenge is MD5(message type byte, secret,
//! challenge), where the message type byte is that of the message carrying
//! the response: 2 (SCCRP) when the LNS answers the LAC's challenge, 3
//! (SCCCN) when the LAC answers the LNS's. Comparison is constant-time.

use md5::{Digest, Md5};

/// The ID byte for a response carried in an SCCRP (§5.1.1).
pub const RESPONSE_IN_SCCRP: u8 = 0x02;
/// The ID byte for a response carried in an SCCCN (§5.1.1).
pub const RESPONSE_IN_SCCCN: u8 = 0x03;
/// Length of the challenges we send (§4.4.3 allows any non-zero length).
pub const CHALLENGE_LEN: usize = 16;

/// Computes the Challenge Response for `challenge` (§4.4.3, §5.1.1: the
/// RFC 1994 CHAP computation, MD5 over ID, secret, challenge in that order).
pub fn challenge_response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Whether a received response proves knowledge of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The response matches.
    Authentic,
    /// It does not: StopCCN with Result 4 "not authorized" (§5.1.1).
    Forged,
}

/// Checks `response` against `challenge` in constant time.
pub fn verify(id: u8, secret: &[u8], challenge: &[u8], response: &[u8; 16]) -> Verdict {
    let expected = challenge_response(id, secret, challenge);
    let diff = expected
        .iter()
        .zip(response.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 {
        Verdict::Authentic
    } else {
        Verdict::Forged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_md5_of_id_secret_challenge() {
        // MD5(0x02 "secret" 0x01 0x02): the order §5.1.1 prescribes (RFC 1994 §4.1: ID, secret, challenge).
        let r = challenge_response(RESPONSE_IN_SCCRP, b"secret", &[0x01, 0x02]);
        let mut h = Md5::new();
        h.update([0x02, b's', b'e', b'c', b'r', b'e', b't', 0x01, 0x02]);
        let want: [u8; 16] = h.finalize().into();
        assert_eq!(r, want);
        assert_eq!(
            verify(RESPONSE_IN_SCCRP, b"secret", &[0x01, 0x02], &r),
            Verdict::Authentic
        );
        assert_eq!(
            verify(RESPONSE_IN_SCCCN, b"secret", &[0x01, 0x02], &r),
            Verdict::Forged
        );
        assert_eq!(
            verify(RESPONSE_IN_SCCRP, b"other", &[0x01, 0x02], &r),
            Verdict::Forged
        );
    }
}
