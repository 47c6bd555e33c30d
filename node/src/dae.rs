//! # Dynamic authorization server (RFC 5176) on UDP 3799
//!
//! Contract: [`examine`] is the pure decision for one datagram: from a
//! configured client only (others are dropped and logged), Request
//! Authenticator and Message-Authenticator (when present) verified under
//! that client's secret (RFC 5176 §2.3, RFC 3579 §3.2; failures dropped),
//! Event-Timestamp inside the window (replay protection, RFC 5176 §6.1;
//! outside: dropped), then the semantic checks that end in a NAK with an
//! Error-Cause (RFC 5176 §3.5): an attribute we do not act on (401), NAS
//! identification that is not ours (403), no session identification (402),
//! a CoA that changes nothing (404); refused attributes are named in a log
//! line. What passes is a [`DaeRequest`] for
//! the control task, which resolves the sessions in the engine
//! ([`crate::engine::Engine::select_sessions`]; none: 503) and answers
//! with the outcome: Disconnect ends them (`AdminCommand::KillSession`,
//! Acct-Terminate-Cause Admin-Reset), CoA changes Session-Timeout,
//! Idle-Timeout, Acct-Interim-Interval and Class (`Input::Reauthorize`);
//! any other attribute in a CoA (DNS, addresses, filters: fixed for the
//! life of the session) gets NAK 401 Unsupported-Attribute (§3.6). [`spawn`] runs one socket task per
//! listen address; each answer is signed with the client's secret and
//! echoes Proxy-State. Secrets never reach a log.

use crate::engine::{Reauthorization, Selector};
use crate::system::now;
use lns_proto::radius::dae::{
    check_event_timestamp, check_nas_identity, encode_response, session_selector, verify_request,
    DaeError, Outcome, TimestampPolicy,
};
use lns_proto::radius::signing::MessageAuthenticatorPolicy;
use lns_proto::radius::{Attribute, Code, ErrorCause, Nas, Packet, Secret};
use lns_proto::time::Timestamp;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// How long a request waits for the control task before a NAK 506.
pub const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// Whether Event-Timestamp is required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampRule {
    /// Absent: dropped.
    Required,
    /// Checked when present.
    IfPresent,
}

/// One client allowed to send requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaeClient {
    /// Its source address.
    pub address: IpAddr,
    /// The shared secret.
    pub secret: Secret,
}

/// The DAE server's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaeSettings {
    /// UDP addresses (port 3799).
    pub listen: Vec<SocketAddr>,
    /// Allowed clients.
    pub clients: Vec<DaeClient>,
    /// Event-Timestamp window, either side of our clock.
    pub window: Duration,
    /// Whether Event-Timestamp is required.
    pub timestamps: TimestampRule,
    /// How we name ourselves (NAS identification attributes must match).
    pub nas: Nas,
}

/// What a verified request asks of the sessions it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Disconnect-Request: end them.
    Disconnect,
    /// CoA-Request: change their limits.
    Change(Reauthorization),
}

/// A request for the control task; it answers on `reply`.
#[derive(Debug)]
pub struct DaeRequest {
    /// The sessions named.
    pub selector: Selector,
    /// What to do.
    pub action: Action,
    /// ACK, or NAK 503 when no session matches.
    pub reply: oneshot::Sender<Outcome>,
}

/// What to do with one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Silently discarded (RFC 5176 §2.3), with the reason for the log.
    Drop(String),
    /// Answered at once (a NAK decided without the engine).
    Answer {
        /// The verified request.
        request: Packet,
        /// The outcome.
        outcome: Outcome,
        /// The client's secret, to sign the answer.
        secret: Secret,
    },
    /// For the engine.
    Ask {
        /// The verified request.
        request: Packet,
        /// The sessions named.
        selector: Selector,
        /// What to do.
        action: Action,
        /// The client's secret, to sign the answer.
        secret: Secret,
    },
}

/// Decides what to do with `datagram` from `source` at `now`.
pub fn examine(settings: &DaeSettings, source: IpAddr, datagram: &[u8], now: Timestamp) -> Verdict {
    let Some(client) = settings.clients.iter().find(|c| c.address == source) else {
        return Verdict::Drop(format!("{source} is not a configured DAE client"));
    };
    let secret = client.secret.clone();
    let request = match verify_request(datagram, &secret, MessageAuthenticatorPolicy::IfPresent) {
        Ok(r) => r,
        Err(e) => return Verdict::Drop(format!("from {source}: {e}")),
    };
    let policy = match settings.timestamps {
        TimestampRule::Required => TimestampPolicy::Required,
        TimestampRule::IfPresent => TimestampPolicy::IfPresent,
    };
    if let Err(e) = check_event_timestamp(&request, now, settings.window, policy) {
        let e: DaeError = e;
        return Verdict::Drop(format!("from {source}: {e} (replay protection)"));
    }
    let nak = |request: Packet, cause| Verdict::Answer {
        request,
        outcome: Outcome::Nak(cause),
        secret: secret.clone(),
    };
    if let Some(cause) = unsupported(&request) {
        // RFC 5176 §3.6: the operator learns which attributes were refused.
        let names = refused(&request);
        tracing::warn!(client = %source, attributes = %names.join(", "), ?cause,
            "DAE request refused: attributes lnsd cannot change on a live session");
        return nak(request, cause);
    }
    if let Err(cause) = check_nas_identity(&request, &settings.nas) {
        return nak(request, cause);
    }
    let selector = match session_selector(&request) {
        Ok(s) => Selector {
            user_name: s.user_name,
            acct_session_id: s.acct_session_id,
            framed_ip: s.framed_ip,
            nas_port: s.nas_port,
            calling_station_id: s.calling_station_id,
        },
        Err(cause) => return nak(request, cause),
    };
    let action = match request.code {
        Code::CoaRequest => {
            let secs = |v: u32| Duration::from_secs(u64::from(v));
            let mut change = Reauthorization::default();
            for a in &request.attributes {
                match a {
                    Attribute::SessionTimeout(v) => change.session_timeout = Some(secs(*v)),
                    Attribute::IdleTimeout(v) => change.idle_timeout = Some(secs(*v)),
                    Attribute::AcctInterimInterval(v) => {
                        change.acct_interim_interval = Some(secs(*v))
                    }
                    Attribute::Class(v) => change.class.push(v.clone()),
                    _ => {}
                }
            }
            if change == Reauthorization::default() {
                // RFC 5176 §3.5: nothing to change.
                return nak(request, ErrorCause::InvalidRequest);
            }
            Action::Change(change)
        }
        _ => Action::Disconnect,
    };
    Verdict::Ask {
        request,
        selector,
        action,
        secret,
    }
}

/// The first attribute we cannot act on, as an Error-Cause (RFC 5176 §3.5:
/// 401 Unsupported Attribute; 405 for a Service-Type other than Authorize
/// Only semantics we do not offer).
fn unsupported(request: &Packet) -> Option<ErrorCause> {
    let coa = request.code == Code::CoaRequest;
    request.attributes.iter().find_map(|a| refusal(a, coa))
}

/// Why one attribute of a request is refused, if it is.
fn refusal(a: &Attribute, coa: bool) -> Option<ErrorCause> {
    match a {
        // Session and NAS identification (RFC 5176 §3).
        Attribute::UserName(_)
        | Attribute::AcctSessionId(_)
        | Attribute::FramedIpAddress(_)
        | Attribute::NasPort(_)
        | Attribute::CallingStationId(_)
        | Attribute::NasIpAddress(_)
        | Attribute::NasIpv6Address(_)
        | Attribute::NasIdentifier(_)
        // Security and proxying.
        | Attribute::EventTimestamp(_)
        | Attribute::MessageAuthenticator(_)
        | Attribute::ProxyState(_) => None,
        // What a CoA may change here: what an Access-Accept sets that can
        // change on a live session.
        Attribute::SessionTimeout(_)
        | Attribute::IdleTimeout(_)
        | Attribute::AcctInterimInterval(_)
        | Attribute::Class(_)
            if coa =>
        {
            None
        }
        Attribute::ServiceType(_) => Some(ErrorCause::UnsupportedService),
        _ => Some(ErrorCause::UnsupportedAttribute),
    }
}

/// The names of every attribute [`unsupported`] refuses, for the log line.
fn refused(request: &Packet) -> Vec<String> {
    let coa = request.code == Code::CoaRequest;
    request
        .attributes
        .iter()
        .filter(|a| refusal(a, coa).is_some())
        .map(|a| format!("{:?}", a.kind()))
        .collect()
}

/// Binds every listen address and serves until `to_control` closes.
pub async fn spawn(
    settings: DaeSettings,
    to_control: mpsc::Sender<DaeRequest>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let settings = Arc::new(settings);
    let mut tasks = Vec::new();
    for addr in &settings.listen {
        let socket = UdpSocket::bind(addr).await?;
        tracing::info!(address = %addr, "dynamic authorization (RFC 5176) listening");
        tasks.push(tokio::spawn(serve(
            socket,
            Arc::clone(&settings),
            to_control.clone(),
        )));
    }
    Ok(tasks)
}

async fn serve(
    socket: UdpSocket,
    settings: Arc<DaeSettings>,
    to_control: mpsc::Sender<DaeRequest>,
) {
    let mut buf = [0u8; 4096];
    // Drops are logged at most once per DROP_LOG_EVERY (a flood from a
    // stranger must not flood the log), with the count since the last line.
    let mut drops = DropLog::default();
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let (request, outcome, secret) = match examine(&settings, from.ip(), &buf[..n], now()) {
            Verdict::Drop(why) => {
                if let Some(count) = drops.note(now()) {
                    tracing::warn!(dropped = count, "DAE request dropped: {why}");
                }
                continue;
            }
            Verdict::Answer {
                request,
                outcome,
                secret,
            } => (request, outcome, secret),
            Verdict::Ask {
                request,
                selector,
                action,
                secret,
            } => {
                let (tx, rx) = oneshot::channel();
                let asked = DaeRequest {
                    selector,
                    action,
                    reply: tx,
                };
                let outcome = if to_control.send(asked).await.is_err() {
                    return; // The control task is gone.
                } else {
                    match tokio::time::timeout(ANSWER_WAIT, rx).await {
                        Ok(Ok(o)) => o,
                        _ => Outcome::Nak(ErrorCause::ResourcesUnavailable),
                    }
                };
                (request, outcome, secret)
            }
        };
        tracing::info!(client = %from, code = ?request.code, ?outcome, "DAE request answered");
        let mut out = Vec::new();
        match encode_response(&request, outcome, &secret, &mut out) {
            Ok(()) => {
                if let Err(e) = socket.send_to(&out, from).await {
                    tracing::warn!(client = %from, "DAE answer not sent: {e}");
                }
            }
            Err(e) => tracing::warn!(client = %from, "DAE answer not encodable: {e}"),
        }
    }
}

/// Minimum time between two "dropped" log lines of one socket.
pub const DROP_LOG_EVERY: Duration = Duration::from_secs(1);

/// Counts dropped requests and says when to log.
#[derive(Debug, Default)]
struct DropLog {
    last: Option<Timestamp>,
    since: u64,
}

impl DropLog {
    /// One more drop at `now`; `Some(count)` when a line is due.
    fn note(&mut self, now: Timestamp) -> Option<u64> {
        self.since += 1;
        if self
            .last
            .is_some_and(|t| now.saturating_since(t) < DROP_LOG_EVERY)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::radius::signing::Request;

    const SECRET: &str = "dae-secret";

    fn settings() -> DaeSettings {
        DaeSettings {
            listen: vec!["192.0.2.2:3799".parse().expect("literal")],
            clients: vec![DaeClient {
                address: "192.0.2.20".parse().expect("literal"),
                secret: Secret::new(SECRET),
            }],
            window: Duration::from_secs(300),
            timestamps: TimestampRule::IfPresent,
            nas: Nas {
                ipv4: Some([192, 0, 2, 2].into()),
                ipv6: None,
                identifier: Some("lns1".into()),
            },
        }
    }

    fn t0() -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000)
    }

    fn packet(code: Code, attributes: Vec<Attribute>, secret: &str) -> Vec<u8> {
        let mut r = Request::new(code);
        r.attributes = attributes;
        let mut out = Vec::new();
        r.encode(0x42, [0; 16], &Secret::new(secret), &mut out)
            .expect("small");
        out
    }

    fn client() -> IpAddr {
        "192.0.2.20".parse().expect("literal")
    }

    fn nak_of(v: &Verdict) -> Option<ErrorCause> {
        match v {
            Verdict::Answer {
                outcome: Outcome::Nak(c),
                ..
            } => Some(*c),
            _ => None,
        }
    }

    #[test]
    fn rfc5176_disconnect_by_user_name_is_asked_of_the_engine() {
        let d = packet(
            Code::DisconnectRequest,
            vec![
                Attribute::UserName("alice".into()),
                Attribute::NasIdentifier("lns1".into()),
                Attribute::EventTimestamp(1_700_000_010),
            ],
            SECRET,
        );
        match examine(&settings(), client(), &d, t0()) {
            Verdict::Ask {
                selector, action, ..
            } => {
                assert_eq!(selector.user_name.as_deref(), Some("alice"));
                assert_eq!(action, Action::Disconnect);
            }
            other => panic!("not asked: {other:?}"),
        }
    }

    #[test]
    fn unknown_client_wrong_secret_and_stale_timestamp_are_dropped() {
        let d = packet(
            Code::DisconnectRequest,
            vec![Attribute::UserName("alice".into())],
            SECRET,
        );
        let stranger: IpAddr = "192.0.2.99".parse().expect("literal");
        assert!(matches!(
            examine(&settings(), stranger, &d, t0()),
            Verdict::Drop(_)
        ));
        let wrong = packet(
            Code::DisconnectRequest,
            vec![Attribute::UserName("alice".into())],
            "not-the-secret",
        );
        assert!(matches!(
            examine(&settings(), client(), &wrong, t0()),
            Verdict::Drop(_)
        ));
        // RFC 5176 §6.1 replay protection: 10 minutes old.
        let old = packet(
            Code::DisconnectRequest,
            vec![
                Attribute::UserName("alice".into()),
                Attribute::EventTimestamp(1_700_000_000 - 600),
            ],
            SECRET,
        );
        assert!(matches!(
            examine(&settings(), client(), &old, t0()),
            Verdict::Drop(_)
        ));
        let mut strict = settings();
        strict.timestamps = TimestampRule::Required;
        assert!(matches!(
            examine(&strict, client(), &d, t0()),
            Verdict::Drop(_)
        ));
        // The drop reason never carries the secret.
        if let Verdict::Drop(why) = examine(&settings(), client(), &wrong, t0()) {
            assert!(!why.contains(SECRET));
        }
    }

    #[test]
    fn rfc5176_3_5_error_causes() {
        let s = settings();
        let v = |code, attrs| examine(&s, client(), &packet(code, attrs, SECRET), t0());
        // 402: no session identification.
        assert_eq!(
            nak_of(&v(
                Code::DisconnectRequest,
                vec![Attribute::NasIdentifier("lns1".into())]
            )),
            Some(ErrorCause::MissingAttribute)
        );
        // 401: an attribute we do not act on.
        assert_eq!(
            nak_of(&v(
                Code::CoaRequest,
                vec![
                    Attribute::UserName("alice".into()),
                    Attribute::FilterId("gold".into())
                ]
            )),
            Some(ErrorCause::UnsupportedAttribute)
        );
        // Session-Timeout in a Disconnect-Request is not acted on either.
        assert_eq!(
            nak_of(&v(
                Code::DisconnectRequest,
                vec![
                    Attribute::UserName("alice".into()),
                    Attribute::SessionTimeout(5)
                ]
            )),
            Some(ErrorCause::UnsupportedAttribute)
        );
        // 403: another NAS.
        assert_eq!(
            nak_of(&v(
                Code::DisconnectRequest,
                vec![
                    Attribute::UserName("alice".into()),
                    Attribute::NasIdentifier("lns2".into())
                ]
            )),
            Some(ErrorCause::NasIdentificationMismatch)
        );
        // 404: a CoA that changes nothing.
        assert_eq!(
            nak_of(&v(
                Code::CoaRequest,
                vec![Attribute::AcctSessionId("00aa".into())]
            )),
            Some(ErrorCause::InvalidRequest)
        );
    }

    #[test]
    fn drop_logs_are_rate_limited_with_a_count() {
        let mut d = DropLog::default();
        assert_eq!(d.note(t0()), Some(1));
        for _ in 0..5 {
            assert_eq!(d.note(t0() + Duration::from_millis(10)), None);
        }
        assert_eq!(d.note(t0() + Duration::from_secs(2)), Some(6));
    }

    #[test]
    fn coa_session_timeout_becomes_a_reauthorization() {
        let d = packet(
            Code::CoaRequest,
            vec![
                Attribute::AcctSessionId("00aa".into()),
                Attribute::SessionTimeout(30),
                Attribute::IdleTimeout(0),
            ],
            SECRET,
        );
        match examine(&settings(), client(), &d, t0()) {
            Verdict::Ask { action, .. } => assert_eq!(
                action,
                Action::Change(Reauthorization {
                    session_timeout: Some(Duration::from_secs(30)),
                    idle_timeout: Some(Duration::ZERO),
                    ..Reauthorization::default()
                })
            ),
            other => panic!("not asked: {other:?}"),
        }
    }

    #[test]
    fn rfc5176_coa_interim_interval_and_class_become_a_reauthorization() {
        let d = packet(
            Code::CoaRequest,
            vec![
                Attribute::UserName("alice".into()),
                Attribute::AcctInterimInterval(60),
                Attribute::Class(b"gold".to_vec()),
                Attribute::Class(b"v2".to_vec()),
            ],
            SECRET,
        );
        match examine(&settings(), client(), &d, t0()) {
            Verdict::Ask { action, .. } => assert_eq!(
                action,
                Action::Change(Reauthorization {
                    acct_interim_interval: Some(Duration::from_secs(60)),
                    class: vec![b"gold".to_vec(), b"v2".to_vec()],
                    ..Reauthorization::default()
                })
            ),
            other => panic!("not asked: {other:?}"),
        }
        // RFC 5176 §3.6: what cannot change live is refused by name, and
        // Class or Acct-Interim-Interval in a Disconnect-Request too.
        let dns = packet(
            Code::CoaRequest,
            vec![
                Attribute::UserName("alice".into()),
                Attribute::AcctInterimInterval(60),
                Attribute::FilterId("gold".into()),
                Attribute::FramedMtu(1400),
            ],
            SECRET,
        );
        let v = examine(&settings(), client(), &dns, t0());
        assert_eq!(nak_of(&v), Some(ErrorCause::UnsupportedAttribute));
        if let Verdict::Answer { request, .. } = v {
            assert_eq!(refused(&request), ["FilterId", "FramedMtu"]);
        }
        let disc = packet(
            Code::DisconnectRequest,
            vec![
                Attribute::UserName("alice".into()),
                Attribute::Class(b"x".to_vec()),
            ],
            SECRET,
        );
        assert_eq!(
            nak_of(&examine(&settings(), client(), &disc, t0())),
            Some(ErrorCause::UnsupportedAttribute)
        );
    }

    proptest::proptest! {
        #[test]
        fn no_panic_on_any_datagram_from_a_client(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)
        ) {
            // Unsigned garbage is dropped, never answered.
            let v = examine(&settings(), client(), &bytes, t0());
            proptest::prop_assert!(matches!(v, Verdict::Drop(_)));
        }

        #[test]
        fn signed_requests_with_any_session_timeout_never_panic(
            timeout in proptest::num::u32::ANY,
            port in proptest::num::u32::ANY,
        ) {
            let d = packet(
                Code::CoaRequest,
                vec![Attribute::NasPort(port), Attribute::SessionTimeout(timeout)],
                SECRET,
            );
            let v = examine(&settings(), client(), &d, t0());
            let asked = matches!(v, Verdict::Ask { .. });
            proptest::prop_assert!(asked);
        }
    }
}
