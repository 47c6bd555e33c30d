//! Signing and verifying whole packets: the Request and Response
//! Authenticators (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3) and the
//! Message-Authenticator (RFC 3579 §3.2).
//!
//! Contract: every request we send carries a Message-Authenticator as its
//! first attribute (the BlastRADIUS mitigation). The HMAC is computed
//! first, with the Authenticator field holding what the receiver will put
//! there when checking (the random Request Authenticator, 16 zero octets
//! for signed requests, the request's authenticator for replies), then the
//! MD5 authenticator is computed over the packet that already holds it.
//! Verification works on the octets as received, never on a re-emission.

use thiserror::Error;

use super::attribute::{Attribute, AttributeType, HiddenPassword};
use super::code::{AuthenticatorKind, Code};
use super::crypto::{digest_eq, hide_password, hmac_md5, md5, Password, Secret};
use super::packet::{EmitError, Packet, PacketView, HEADER_LEN};

/// An outgoing request before it is bound to a server: the secret, the
/// identifier and the authenticator come at encoding time, so the same
/// request can be re-encoded for another server on failover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The request code (Access-Request, Accounting-Request, ...).
    pub code: Code,
    /// Attributes, without User-Password or Message-Authenticator (both
    /// are added by [`Request::encode`]).
    pub attributes: Vec<Attribute>,
    /// The clear-text User-Password, hidden per server (Access-Request).
    pub password: Option<Password>,
}

/// Why a received packet fails authentication. The sender is at fault (or
/// an attacker); the packet is silently discarded (RFC 2865 §3, RFC 3579
/// §3.2) and counted.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The Request/Response Authenticator does not match.
    #[error("authentication failed: bad authenticator")]
    BadAuthenticator,
    /// A Message-Authenticator is present but wrong or not 16 octets.
    #[error("authentication failed: bad Message-Authenticator")]
    BadMessageAuthenticator,
    /// A Message-Authenticator is required and absent.
    #[error("authentication failed: Message-Authenticator missing")]
    MissingMessageAuthenticator,
}

/// Whether a Message-Authenticator must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageAuthenticatorPolicy {
    /// Absent: refuse the packet.
    Required,
    /// Absent: accept; present: must still be valid.
    IfPresent,
}

impl Request {
    /// A request with no attributes.
    pub fn new(code: Code) -> Self {
        Request {
            code,
            attributes: Vec::new(),
            password: None,
        }
    }

    /// Encodes and signs the request for one server. `authenticator` is
    /// the random Request Authenticator for Access-Request/Status-Server
    /// (it also hides the password) and is ignored for signed requests.
    /// Returns the authenticator actually sent, which the reply's is
    /// checked against.
    pub fn encode(
        &self,
        identifier: u8,
        authenticator: [u8; 16],
        secret: &Secret,
        out: &mut Vec<u8>,
    ) -> Result<[u8; 16], EmitError> {
        let kind = self.code.authenticator_kind();
        let field = match kind {
            AuthenticatorKind::Random => authenticator,
            AuthenticatorKind::Signed | AuthenticatorKind::Response => [0; 16],
        };
        // RFC 3579 §3.2 / BlastRADIUS: Message-Authenticator first.
        let mut attributes = Vec::with_capacity(self.attributes.len() + 2);
        attributes.push(Attribute::MessageAuthenticator([0; 16]));
        let mut password_placed = false;
        for a in &self.attributes {
            if matches!(
                a.kind(),
                AttributeType::MessageAuthenticator | AttributeType::UserPassword
            ) {
                continue;
            }
            attributes.push(a.clone());
            if !password_placed && a.kind() == AttributeType::UserName {
                password_placed = true;
                self.push_password(&mut attributes, secret, &authenticator)?;
            }
        }
        if !password_placed {
            self.push_password(&mut attributes, secret, &authenticator)?;
        }
        let packet = Packet {
            code: self.code,
            identifier,
            authenticator: field,
            attributes,
        };
        let start = out.len();
        packet.emit(out)?;
        let buf = &mut out[start..];
        fill_message_authenticator(buf, HEADER_LEN, secret);
        if kind != AuthenticatorKind::Random {
            // RFC 2866 §3 / RFC 5176 §2.3: MD5(packet with zero
            // authenticator + secret).
            let sig = md5(&[buf, secret.as_bytes()]);
            buf[4..HEADER_LEN].copy_from_slice(&sig);
        }
        let mut sent = [0u8; 16];
        sent.copy_from_slice(&buf[4..HEADER_LEN]);
        Ok(sent)
    }

    fn push_password(
        &self,
        attributes: &mut Vec<Attribute>,
        secret: &Secret,
        authenticator: &[u8; 16],
    ) -> Result<(), EmitError> {
        if let Some(pw) = &self.password {
            let hidden =
                hide_password(pw, secret, authenticator).ok_or(EmitError::PasswordTooLong)?;
            attributes.push(Attribute::UserPassword(HiddenPassword(hidden)));
        }
        Ok(())
    }
}

/// Encodes a reply to a request whose authenticator was
/// `request_authenticator`: Message-Authenticator first, then the Response
/// Authenticator (RFC 2865 §3, RFC 3579 §3.2, RFC 5176 §2.3). The reply's
/// own `authenticator` field and any Message-Authenticator in it are
/// replaced.
pub fn encode_reply(
    reply: &Packet,
    request_authenticator: &[u8; 16],
    secret: &Secret,
    out: &mut Vec<u8>,
) -> Result<(), EmitError> {
    let mut attributes = Vec::with_capacity(reply.attributes.len() + 1);
    attributes.push(Attribute::MessageAuthenticator([0; 16]));
    attributes.extend(
        reply
            .attributes
            .iter()
            .filter(|a| a.kind() != AttributeType::MessageAuthenticator)
            .cloned(),
    );
    let packet = Packet {
        code: reply.code,
        identifier: reply.identifier,
        authenticator: *request_authenticator,
        attributes,
    };
    let start = out.len();
    packet.emit(out)?;
    let buf = &mut out[start..];
    fill_message_authenticator(buf, HEADER_LEN, secret);
    let sig = md5(&[buf, secret.as_bytes()]);
    buf[4..HEADER_LEN].copy_from_slice(&sig);
    Ok(())
}

/// Verifies a reply against the request it answers (RFC 2865 §3 Response
/// Authenticator; RFC 3579 §3.2 Message-Authenticator).
pub fn verify_reply(
    reply: &PacketView<'_>,
    request_authenticator: &[u8; 16],
    secret: &Secret,
    policy: MessageAuthenticatorPolicy,
) -> Result<(), VerifyError> {
    let bytes = reply.as_bytes();
    let expected = md5(&[
        &bytes[..4],
        request_authenticator,
        &bytes[HEADER_LEN..],
        secret.as_bytes(),
    ]);
    if !digest_eq(&expected, &bytes[4..HEADER_LEN]) {
        return Err(VerifyError::BadAuthenticator);
    }
    check_message_authenticator(reply, request_authenticator, secret, policy)
}

/// Verifies a received request: for signed codes (Accounting, Disconnect,
/// CoA) the Request Authenticator (RFC 2866 §3, RFC 5176 §2.3), then the
/// Message-Authenticator (RFC 3579 §3.2). For
/// Access-Request only the Message-Authenticator can be checked.
pub fn verify_request(
    request: &PacketView<'_>,
    secret: &Secret,
    policy: MessageAuthenticatorPolicy,
) -> Result<(), VerifyError> {
    let bytes = request.as_bytes();
    let field = match request.code().authenticator_kind() {
        AuthenticatorKind::Random => request.authenticator(),
        AuthenticatorKind::Signed | AuthenticatorKind::Response => {
            let expected = md5(&[
                &bytes[..4],
                &[0; 16],
                &bytes[HEADER_LEN..],
                secret.as_bytes(),
            ]);
            if !digest_eq(&expected, &bytes[4..HEADER_LEN]) {
                return Err(VerifyError::BadAuthenticator);
            }
            [0; 16]
        }
    };
    check_message_authenticator(request, &field, secret, policy)
}

/// Checks the Message-Authenticator of `packet`, computed with
/// `authenticator_field` in the Authenticator field and the attribute's
/// own value zeroed (RFC 3579 §3.2).
fn check_message_authenticator(
    packet: &PacketView<'_>,
    authenticator_field: &[u8; 16],
    secret: &Secret,
    policy: MessageAuthenticatorPolicy,
) -> Result<(), VerifyError> {
    let Some(ma) = packet.find(AttributeType::MessageAuthenticator) else {
        return match policy {
            MessageAuthenticatorPolicy::Required => Err(VerifyError::MissingMessageAuthenticator),
            MessageAuthenticatorPolicy::IfPresent => Ok(()),
        };
    };
    if ma.value.len() != 16 {
        return Err(VerifyError::BadMessageAuthenticator);
    }
    let bytes = packet.as_bytes();
    let value_at = ma.offset + 2;
    let mac = hmac_md5(
        secret.as_bytes(),
        &[
            &bytes[..4],
            authenticator_field,
            &bytes[HEADER_LEN..value_at],
            &[0; 16],
            &bytes[value_at + 16..],
        ],
    );
    if digest_eq(&mac, ma.value) {
        Ok(())
    } else {
        Err(VerifyError::BadMessageAuthenticator)
    }
}

/// Writes the HMAC into the Message-Authenticator whose attribute starts
/// at `offset` in `buf` (value zero, Authenticator field already set to
/// what the receiver will use).
fn fill_message_authenticator(buf: &mut [u8], offset: usize, secret: &Secret) {
    let mac = hmac_md5(secret.as_bytes(), &[buf]);
    buf[offset + 2..offset + 18].copy_from_slice(&mac);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::crypto::unhide_password;
    use core::net::Ipv4Addr;

    /// RFC 2865 §7.1 Access-Request authenticator and the Access-Accept.
    const RA_7_1: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];
    const ACCEPT_7_1: [u8; 38] = [
        0x02, 0x00, 0x00, 0x26, 0x86, 0xfe, 0x22, 0x0e, 0x76, 0x24, 0xba, 0x2a, 0x10, 0x05, 0xf6,
        0xbf, 0x9b, 0x55, 0xe0, 0xb2, 0x06, 0x06, 0x00, 0x00, 0x00, 0x01, 0x0f, 0x06, 0x00, 0x00,
        0x00, 0x00, 0x0e, 0x06, 0xc0, 0xa8, 0x01, 0x03,
    ];
    /// RFC 2865 §7.2 CHAP Access-Request authenticator and the Access-Accept.
    const RA_7_2: [u8; 16] = [
        0x2a, 0xee, 0x86, 0xf0, 0x8d, 0x0d, 0x55, 0x96, 0x9c, 0xa5, 0x97, 0x8e, 0x0d, 0x33, 0x67,
        0xa2,
    ];
    const ACCEPT_7_2: [u8; 56] = [
        0x02, 0x01, 0x00, 0x38, 0x15, 0xef, 0xbc, 0x7d, 0xab, 0x26, 0xcf, 0xa3, 0xdc, 0x34, 0xd9,
        0xc0, 0x3c, 0x86, 0x01, 0xa4, 0x06, 0x06, 0x00, 0x00, 0x00, 0x02, 0x07, 0x06, 0x00, 0x00,
        0x00, 0x01, 0x08, 0x06, 0xff, 0xff, 0xff, 0xfe, 0x0a, 0x06, 0x00, 0x00, 0x00, 0x02, 0x0d,
        0x06, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x06, 0x00, 0x00, 0x05, 0xdc,
    ];

    fn secret() -> Secret {
        Secret::new("xyzzy5461")
    }

    fn view(b: &[u8]) -> PacketView<'_> {
        PacketView::new_checked(b).expect("test packet is well formed")
    }

    #[test]
    fn rfc2865_7_response_authenticators_verify() {
        let ok = verify_reply(
            &view(&ACCEPT_7_1),
            &RA_7_1,
            &secret(),
            MessageAuthenticatorPolicy::IfPresent,
        );
        assert_eq!(ok, Ok(()));
        let ok = verify_reply(
            &view(&ACCEPT_7_2),
            &RA_7_2,
            &secret(),
            MessageAuthenticatorPolicy::IfPresent,
        );
        assert_eq!(ok, Ok(()));
        // RFC 3579 §3.2: these 1997 examples carry no Message-Authenticator.
        let missing = verify_reply(
            &view(&ACCEPT_7_1),
            &RA_7_1,
            &secret(),
            MessageAuthenticatorPolicy::Required,
        );
        assert_eq!(missing, Err(VerifyError::MissingMessageAuthenticator));
        // Against another request, or with another secret: refused.
        let wrong = verify_reply(
            &view(&ACCEPT_7_1),
            &RA_7_2,
            &secret(),
            MessageAuthenticatorPolicy::IfPresent,
        );
        assert_eq!(wrong, Err(VerifyError::BadAuthenticator));
        let mut tampered = ACCEPT_7_2;
        tampered[0x37] = 0xdd; // Framed-MTU 1501
        let bad = verify_reply(
            &view(&tampered),
            &RA_7_2,
            &secret(),
            MessageAuthenticatorPolicy::IfPresent,
        );
        assert_eq!(bad, Err(VerifyError::BadAuthenticator));
    }

    #[test]
    fn rfc2865_7_1_request_encodes_with_message_authenticator() {
        let mut req = Request::new(Code::AccessRequest);
        req.attributes = vec![
            Attribute::UserName("nemo".into()),
            Attribute::NasIpAddress(Ipv4Addr::new(192, 168, 1, 16)),
            Attribute::NasPort(3),
        ];
        req.password = Some(Password::new("arctangent"));
        let mut out = Vec::new();
        let sent = req.encode(0, RA_7_1, &secret(), &mut out);
        assert_eq!(sent, Ok(RA_7_1));
        let p = Packet::parse(&out).expect("we emit valid packets");
        // Message-Authenticator first, then the RFC's attributes in order
        // with the RFC's hidden password.
        assert_eq!(p.attributes[0].kind(), AttributeType::MessageAuthenticator);
        let hidden = [
            0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a,
            0x0a, 0xee,
        ];
        assert_eq!(
            p.attributes[2],
            Attribute::UserPassword(HiddenPassword(hidden.to_vec()))
        );
        assert_eq!(p.attributes[4], Attribute::NasPort(3));
        let Attribute::UserPassword(h) = &p.attributes[2] else {
            panic!("User-Password expected second");
        };
        assert_eq!(
            unhide_password(&h.0, &secret(), &RA_7_1),
            Ok(Password::new("arctangent"))
        );
        // The server side accepts it; one flipped bit and it does not.
        let v = view(&out);
        assert_eq!(
            verify_request(&v, &secret(), MessageAuthenticatorPolicy::Required),
            Ok(())
        );
        let mut flipped = out.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            verify_request(
                &view(&flipped),
                &secret(),
                MessageAuthenticatorPolicy::Required
            ),
            Err(VerifyError::BadMessageAuthenticator)
        );
    }

    #[test]
    fn rfc3579_3_2_message_authenticator_is_hmac_over_zeroed_field() {
        // Recompute the HMAC by hand from the RFC 3579 §3.2 definition:
        // HMAC-MD5(Type, Identifier, Length, Request Authenticator,
        // Attributes) with the Message-Authenticator value as 16 zeros.
        let mut req = Request::new(Code::AccessRequest);
        req.attributes.push(Attribute::UserName("a".into()));
        let mut out = Vec::new();
        let ra = [0x42; 16];
        req.encode(7, ra, &Secret::new("s3"), &mut out)
            .expect("small packet");
        let mut zeroed = out.clone();
        zeroed[22..38].fill(0);
        assert_eq!(out[20..22], [0x50, 0x12]);
        assert_eq!(out[22..38], hmac_md5(b"s3", &[&zeroed]));
    }

    #[test]
    fn rfc2866_3_accounting_request_is_signed_and_verified() {
        let mut req = Request::new(Code::AccountingRequest);
        req.attributes.push(Attribute::AcctSessionId("0001".into()));
        let mut out = Vec::new();
        let sent = req
            .encode(9, [0xaa; 16], &secret(), &mut out)
            .expect("small packet");
        // RFC 2866 §3: MD5(Code+Identifier+Length+16 zeros+Attributes+secret).
        let mut zeroed = out.clone();
        zeroed[4..20].fill(0);
        assert_eq!(sent, md5(&[&zeroed, b"xyzzy5461"]));
        let policy = MessageAuthenticatorPolicy::Required;
        assert_eq!(verify_request(&view(&out), &secret(), policy), Ok(()));
        assert_eq!(
            verify_request(&view(&out), &Secret::new("other"), policy),
            Err(VerifyError::BadAuthenticator)
        );
    }

    #[test]
    fn replies_round_trip_through_encode_and_verify() {
        let reply = Packet {
            code: Code::AccountingResponse,
            identifier: 9,
            authenticator: [0; 16],
            attributes: vec![],
        };
        let ra = [0x11; 16];
        let mut out = Vec::new();
        encode_reply(&reply, &ra, &secret(), &mut out).expect("small packet");
        let policy = MessageAuthenticatorPolicy::Required;
        assert_eq!(verify_reply(&view(&out), &ra, &secret(), policy), Ok(()));
        assert_eq!(
            verify_reply(&view(&out), &[0x12; 16], &secret(), policy),
            Err(VerifyError::BadAuthenticator)
        );
        // A valid Response Authenticator but a forged Message-Authenticator
        // (recomputing the MD5 needs only the secret the attacker lacks, so
        // fake it here with the secret to isolate the HMAC check).
        let mut forged = out.clone();
        forged[22] ^= 0xff;
        forged[4..20].fill(0);
        forged[4..20].copy_from_slice(&ra);
        let sig = md5(&[&forged, b"xyzzy5461"]);
        forged[4..20].copy_from_slice(&sig);
        assert_eq!(
            verify_reply(&view(&forged), &ra, &secret(), policy),
            Err(VerifyError::BadMessageAuthenticator)
        );
    }
}
