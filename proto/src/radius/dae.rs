//! Dynamic authorization, server side (RFC 5176): checking a
//! Disconnect-Request or CoA-Request from a known client, picking out the
//! session it names, and answering with an ACK or a NAK carrying an
//! Error-Cause.
//!
//! Contract: pure functions. [`verify_request`] and
//! [`check_event_timestamp`] return a [`DaeError`] whose every variant
//! means "silently discard" (RFC 5176 §2.3 and its security
//! considerations on replay protection); semantic refusals are [`ErrorCause`]s that go back in a
//! NAK built by [`encode_response`].

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use thiserror::Error;

use super::attribute::{Attribute, AttributeType};
use super::code::Code;
use super::crypto::Secret;
use super::packet::{EmitError, Packet, PacketView, ParseError};
use super::request::Nas;
use super::signing::{self, encode_reply, MessageAuthenticatorPolicy, VerifyError};
use super::values::ErrorCause;
use crate::time::Timestamp;

/// Why a dynamic-authorization datagram is dropped without an answer.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum DaeError {
    /// Not a RADIUS packet (RFC 2865 §3).
    #[error("malformed by peer: {0}")]
    Malformed(#[from] ParseError),
    /// A code other than Disconnect-Request or CoA-Request.
    #[error("peer sent {0:?} to the dynamic-authorization port")]
    UnexpectedCode(Code),
    /// Authenticator or Message-Authenticator check failed (RFC 5176 §2.3,
    /// RFC 3579 §3.2).
    #[error("peer failed authentication: {0}")]
    Unauthenticated(#[from] VerifyError),
    /// Event-Timestamp required but absent (RFC 5176 replay protection).
    #[error("peer sent no Event-Timestamp")]
    MissingEventTimestamp,
    /// Event-Timestamp outside the accepted window (RFC 5176 replay
    /// protection).
    #[error("peer's Event-Timestamp is {skew_secs} s away from now")]
    StaleEventTimestamp {
        /// Distance from our clock, seconds.
        skew_secs: u64,
    },
}

/// Whether Event-Timestamp must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampPolicy {
    /// Absent: drop the request.
    Required,
    /// Absent: accept; present: must be inside the window.
    IfPresent,
}

/// How we answer an authenticated request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Disconnect-ACK / CoA-ACK.
    Ack,
    /// Disconnect-NAK / CoA-NAK with an Error-Cause (RFC 5176 §3.5).
    Nak(ErrorCause),
}

/// What identifies the session(s) a request targets (RFC 5176 §3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSelector {
    /// User-Name.
    pub user_name: Option<String>,
    /// Acct-Session-Id.
    pub acct_session_id: Option<String>,
    /// Framed-IP-Address.
    pub framed_ip: Option<Ipv4Addr>,
    /// Framed-IPv6-Prefix values.
    pub framed_ipv6_prefixes: Vec<super::attribute::Ipv6Prefix>,
    /// NAS-Port.
    pub nas_port: Option<u32>,
    /// Calling-Station-Id.
    pub calling_station_id: Option<String>,
}

/// Checks a datagram from a known dynamic-authorization client: a
/// Disconnect-Request or CoA-Request whose Request Authenticator (RFC 5176
/// §2.3) and Message-Authenticator (RFC 3579 §3.2) verify
/// under `secret`.
pub fn verify_request(
    datagram: &[u8],
    secret: &Secret,
    policy: MessageAuthenticatorPolicy,
) -> Result<Packet, DaeError> {
    let view = PacketView::new_checked(datagram)?;
    match view.code() {
        Code::DisconnectRequest | Code::CoaRequest => {}
        other => return Err(DaeError::UnexpectedCode(other)),
    }
    signing::verify_request(&view, secret, policy)?;
    Ok(Packet::from_view(&view))
}

/// Replay protection (RFC 5176, security considerations; Event-Timestamp
/// per RFC 2869 §5.3): the Event-Timestamp must be within
/// `window` of `now`, either side.
pub fn check_event_timestamp(
    request: &Packet,
    now: Timestamp,
    window: Duration,
    policy: TimestampPolicy,
) -> Result<(), DaeError> {
    let stamp = request.attributes.iter().find_map(|a| match a {
        Attribute::EventTimestamp(t) => Some(*t),
        _ => None,
    });
    let Some(stamp) = stamp else {
        return match policy {
            TimestampPolicy::Required => Err(DaeError::MissingEventTimestamp),
            TimestampPolicy::IfPresent => Ok(()),
        };
    };
    let now_secs = now.unix_micros() / 1_000_000;
    let skew_secs = now_secs.abs_diff(u64::from(stamp));
    if skew_secs > window.as_secs() {
        return Err(DaeError::StaleEventTimestamp { skew_secs });
    }
    Ok(())
}

/// The NAS identification attributes must name us, or the answer is a
/// NAK with 403 NAS Identification Mismatch (RFC 5176 §3).
pub fn check_nas_identity(request: &Packet, nas: &Nas) -> Result<(), ErrorCause> {
    for a in &request.attributes {
        let ok = match a {
            Attribute::NasIpAddress(ip) => nas.ipv4 == Some(*ip),
            Attribute::NasIpv6Address(ip) => nas.ipv6 == Some(*ip),
            Attribute::NasIdentifier(id) => nas.identifier.as_deref() == Some(id.as_str()),
            _ => true,
        };
        if !ok {
            return Err(ErrorCause::NasIdentificationMismatch);
        }
    }
    Ok(())
}

/// The session identification attributes of a request; 402 Missing
/// Attribute if there are none (RFC 5176 §3).
pub fn session_selector(request: &Packet) -> Result<SessionSelector, ErrorCause> {
    let mut s = SessionSelector::default();
    let mut any = false;
    for a in &request.attributes {
        any |= match a {
            Attribute::UserName(v) => s.user_name.replace(v.clone()).is_none(),
            Attribute::AcctSessionId(v) => s.acct_session_id.replace(v.clone()).is_none(),
            Attribute::FramedIpAddress(v) => s.framed_ip.replace(*v).is_none(),
            Attribute::FramedIpv6Prefix(p) => {
                s.framed_ipv6_prefixes.push(*p);
                true
            }
            Attribute::NasPort(v) => s.nas_port.replace(*v).is_none(),
            Attribute::CallingStationId(v) => s.calling_station_id.replace(v.clone()).is_none(),
            _ => false,
        };
    }
    if any {
        Ok(s)
    } else {
        Err(ErrorCause::MissingAttribute)
    }
}

/// Builds the ACK or NAK for `request`: same Identifier, Proxy-State
/// copied in order (RFC 5176 §3), Error-Cause on a NAK, a
/// Message-Authenticator, and the Response Authenticator over the
/// request's (RFC 5176 §2.3).
pub fn encode_response(
    request: &Packet,
    outcome: Outcome,
    secret: &Secret,
    out: &mut Vec<u8>,
) -> Result<(), EmitError> {
    let (ack, nak) = match request.code {
        Code::CoaRequest => (Code::CoaAck, Code::CoaNak),
        _ => (Code::DisconnectAck, Code::DisconnectNak),
    };
    let mut attributes = Vec::new();
    let code = match outcome {
        Outcome::Ack => ack,
        Outcome::Nak(cause) => {
            attributes.push(Attribute::ErrorCause(cause));
            nak
        }
    };
    attributes.extend(
        request
            .attributes
            .iter()
            .filter(|a| a.kind() == AttributeType::ProxyState)
            .cloned(),
    );
    let reply = Packet {
        code,
        identifier: request.identifier,
        authenticator: [0; 16],
        attributes,
    };
    encode_reply(&reply, &request.authenticator, secret, out)
}

/// Where a request came from must be a configured client; this picks its
/// secret. Kept here so the daemon's DAE socket handler stays a loop.
pub fn client_secret(clients: &[(IpAddr, Secret)], source: IpAddr) -> Option<&Secret> {
    clients.iter().find(|(ip, _)| *ip == source).map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::signing::{verify_reply, Request};

    fn secret() -> Secret {
        Secret::new("dae-secret")
    }

    fn disconnect(stamp: u32) -> Vec<u8> {
        let mut r = Request::new(Code::DisconnectRequest);
        r.attributes = vec![
            Attribute::AcctSessionId("sess-1".into()),
            Attribute::NasIpAddress(Ipv4Addr::new(192, 0, 2, 1)),
            Attribute::EventTimestamp(stamp),
            Attribute::ProxyState(vec![0x01]),
            Attribute::ProxyState(vec![0x02]),
        ];
        let mut out = Vec::new();
        r.encode(0x33, [0; 16], &secret(), &mut out)
            .expect("small packet");
        out
    }

    #[test]
    fn rfc5176_2_3_authenticated_request_is_accepted() {
        let req = verify_request(
            &disconnect(1_000),
            &secret(),
            MessageAuthenticatorPolicy::Required,
        )
        .expect("valid request");
        assert_eq!(req.code, Code::DisconnectRequest);
        let sel = session_selector(&req).expect("has a session id");
        assert_eq!(sel.acct_session_id.as_deref(), Some("sess-1"));
        let nas = Nas {
            ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..Default::default()
        };
        assert_eq!(check_nas_identity(&req, &nas), Ok(()));
        let other = Nas {
            ipv4: Some(Ipv4Addr::new(192, 0, 2, 9)),
            ..Default::default()
        };
        assert_eq!(
            check_nas_identity(&req, &other),
            Err(ErrorCause::NasIdentificationMismatch)
        );
    }

    #[test]
    fn rfc5176_2_3_forged_or_wrong_code_is_dropped() {
        let mut forged = disconnect(1_000);
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        assert_eq!(
            verify_request(&forged, &secret(), MessageAuthenticatorPolicy::Required),
            Err(DaeError::Unauthenticated(VerifyError::BadAuthenticator))
        );
        assert_eq!(
            verify_request(
                &disconnect(1),
                &Secret::new("x"),
                MessageAuthenticatorPolicy::Required
            ),
            Err(DaeError::Unauthenticated(VerifyError::BadAuthenticator))
        );
        let mut acct = Vec::new();
        Request::new(Code::AccountingRequest)
            .encode(1, [0; 16], &secret(), &mut acct)
            .expect("small packet");
        assert_eq!(
            verify_request(&acct, &secret(), MessageAuthenticatorPolicy::Required),
            Err(DaeError::UnexpectedCode(Code::AccountingRequest))
        );
        assert_eq!(
            verify_request(
                &[0x28, 0, 0],
                &secret(),
                MessageAuthenticatorPolicy::Required
            ),
            Err(DaeError::Malformed(ParseError::Truncated(3)))
        );
    }

    #[test]
    fn rfc5176_replay_event_timestamp_window() {
        let req = Packet::parse(&disconnect(1_000)).expect("valid");
        let w = Duration::from_secs(300);
        let at = |s: u64| Timestamp::from_unix_millis(s * 1_000);
        assert_eq!(
            check_event_timestamp(&req, at(1_300), w, TimestampPolicy::Required),
            Ok(())
        );
        assert_eq!(
            check_event_timestamp(&req, at(700), w, TimestampPolicy::Required),
            Ok(())
        );
        assert_eq!(
            check_event_timestamp(&req, at(1_301), w, TimestampPolicy::Required),
            Err(DaeError::StaleEventTimestamp { skew_secs: 301 })
        );
        let mut bare = req.clone();
        bare.attributes
            .retain(|a| a.kind() != AttributeType::EventTimestamp);
        assert_eq!(
            check_event_timestamp(&bare, at(1), w, TimestampPolicy::Required),
            Err(DaeError::MissingEventTimestamp)
        );
        assert_eq!(
            check_event_timestamp(&bare, at(1), w, TimestampPolicy::IfPresent),
            Ok(())
        );
    }

    #[test]
    fn rfc5176_nak_carries_error_cause_and_proxy_state() {
        let req = Packet::parse(&disconnect(1_000)).expect("valid");
        let mut out = Vec::new();
        encode_response(
            &req,
            Outcome::Nak(ErrorCause::SessionContextNotFound),
            &secret(),
            &mut out,
        )
        .expect("small packet");
        let view = PacketView::new_checked(&out).expect("we emit valid packets");
        assert_eq!(view.code(), Code::DisconnectNak);
        assert_eq!(view.identifier(), 0x33);
        // The NAS that sent the request can authenticate our answer.
        assert_eq!(
            verify_reply(
                &view,
                &req.authenticator,
                &secret(),
                MessageAuthenticatorPolicy::Required
            ),
            Ok(())
        );
        let p = Packet::from_view(&view);
        assert_eq!(
            p.attributes[1],
            Attribute::ErrorCause(ErrorCause::SessionContextNotFound)
        );
        // Error-Cause 503 on the wire (RFC 5176 §3.5).
        assert!(out
            .windows(6)
            .any(|w| w == [0x65, 0x06, 0x00, 0x00, 0x01, 0xf7]));
        assert_eq!(p.attributes[2], Attribute::ProxyState(vec![0x01]));
        assert_eq!(p.attributes[3], Attribute::ProxyState(vec![0x02]));
        let mut ack = Vec::new();
        let mut coa = req.clone();
        coa.code = Code::CoaRequest;
        encode_response(&coa, Outcome::Ack, &secret(), &mut ack).expect("small packet");
        assert_eq!(ack[0], 0x2c);
    }

    #[test]
    fn session_selector_needs_an_identifier() {
        let empty = Packet {
            code: Code::DisconnectRequest,
            identifier: 0,
            authenticator: [0; 16],
            attributes: vec![Attribute::EventTimestamp(1)],
        };
        assert_eq!(session_selector(&empty), Err(ErrorCause::MissingAttribute));
        let clients = [(IpAddr::V4(Ipv4Addr::LOCALHOST), secret())];
        assert!(client_secret(&clients, IpAddr::V4(Ipv4Addr::LOCALHOST)).is_some());
        assert!(client_secret(&clients, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_none());
    }
}
