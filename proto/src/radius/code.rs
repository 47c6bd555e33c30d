//! RADIUS packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2, RFC 5997).
//!
//! Contract: an open number space; every byte maps to a [`Code`] and back.

open_enum! {
    /// The Code field of a RADIUS packet.
    pub enum Code: u8 {
        /// RFC 2865 §4.1.
        AccessRequest = 0x01,
        /// RFC 2865 §4.2.
        AccessAccept = 0x02,
        /// RFC 2865 §4.3.
        AccessReject = 0x03,
        /// RFC 2866 §4.1.
        AccountingRequest = 0x04,
        /// RFC 2866 §4.2.
        AccountingResponse = 0x05,
        /// RFC 2865 §4.4.
        AccessChallenge = 0x0b,
        /// RFC 5997 (RFC 2865 §3 reserves it).
        StatusServer = 0x0c,
        /// RFC 5176 §2.1.
        DisconnectRequest = 0x28,
        /// RFC 5176 §2.1.
        DisconnectAck = 0x29,
        /// RFC 5176 §2.1.
        DisconnectNak = 0x2a,
        /// RFC 5176 §2.2.
        CoaRequest = 0x2b,
        /// RFC 5176 §2.2.
        CoaAck = 0x2c,
        /// RFC 5176 §2.2.
        CoaNak = 0x2d,
    }
}

impl Code {
    /// How the Authenticator field of a packet with this code is formed.
    pub fn authenticator_kind(self) -> AuthenticatorKind {
        match self {
            // RFC 2865 §3: random, unpredictable Request Authenticator.
            Code::AccessRequest | Code::StatusServer => AuthenticatorKind::Random,
            // RFC 2866 §3, RFC 5176 §2.3: MD5 over the packet with 16 zero
            // octets in place of the authenticator, then the secret.
            Code::AccountingRequest | Code::DisconnectRequest | Code::CoaRequest => {
                AuthenticatorKind::Signed
            }
            // RFC 2865 §3: Response Authenticator over the request's one.
            _ => AuthenticatorKind::Response,
        }
    }

    /// Whether `reply` is a valid answer to a request with this code.
    pub fn accepts_reply(self, reply: Code) -> bool {
        match self {
            // RFC 2865 §4.1.
            Code::AccessRequest => matches!(
                reply,
                Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
            ),
            // RFC 2866 §4.2.
            Code::AccountingRequest => reply == Code::AccountingResponse,
            // RFC 5997 §3: Access-Accept (auth port) or Accounting-Response.
            Code::StatusServer => {
                matches!(reply, Code::AccessAccept | Code::AccountingResponse)
            }
            // RFC 5176 §2.1, §2.2.
            Code::DisconnectRequest => matches!(reply, Code::DisconnectAck | Code::DisconnectNak),
            Code::CoaRequest => matches!(reply, Code::CoaAck | Code::CoaNak),
            _ => false,
        }
    }
}

/// How a packet's Authenticator field is produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticatorKind {
    /// 16 random octets chosen by the sender (Access-Request, Status-Server).
    Random,
    /// MD5 of the packet with a zero authenticator plus the secret.
    Signed,
    /// MD5 of the reply over the request's authenticator plus the secret.
    Response,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=0xffu8 {
            assert_eq!(u8::from(Code::from(b)), b);
        }
        assert_eq!(Code::from(0x2b), Code::CoaRequest);
        assert_eq!(Code::from(0x63), Code::Unknown(0x63));
    }

    #[test]
    fn reply_codes_follow_the_rfcs() {
        assert!(Code::AccessRequest.accepts_reply(Code::AccessChallenge));
        assert!(!Code::AccessRequest.accepts_reply(Code::AccountingResponse));
        assert!(Code::AccountingRequest.accepts_reply(Code::AccountingResponse));
        assert!(Code::CoaRequest.accepts_reply(Code::CoaNak));
        assert!(!Code::AccessAccept.accepts_reply(Code::AccessAccept));
        assert_eq!(
            Code::CoaRequest.authenticator_kind(),
            AuthenticatorKind::Signed
        );
        assert_eq!(
            Code::AccessRequest.authenticator_kind(),
            AuthenticatorKind::Random
        );
        assert_eq!(
            Code::CoaAck.authenticator_kind(),
            AuthenticatorKind::Response
        );
    }
}
