//! The Authenticate phase for both sides: PAP (RFC 1334) and CHAP-MD5
//! (RFC 1994).
//!
//! Contract: the LNS never judges credentials itself: a PAP request or a
//! CHAP response becomes a [`LinkEvent::AuthRequest`] and waits for
//! [`Link::auth_accepted`] / [`Link::auth_rejected`]; a retransmitted
//! request gets the same answer again. The subscriber answers whichever
//! method LCP agreed with its configured credentials.

use super::{AuthRequest, LinkCore, LinkEvent, Phase, Side};
use crate::entropy::Entropy;
use crate::inline_bytes::InlineBytes;
use crate::ppp::cause::{Direction, DisconnectCause, DisconnectCode};
use crate::ppp::chap::{md5_response, ChapPacket, CHALLENGE_LEN};
use crate::ppp::lcp::{AuthDemand, AuthMethod};
use crate::ppp::pap::PapPacket;
use crate::ppp::protocol::Protocol;
use crate::time::Timestamp;

/// Where an authentication exchange stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthStatus {
    /// Not started.
    #[default]
    Idle,
    /// LNS: waiting for a PAP request / CHAP response; subscriber: waiting
    /// for a CHAP challenge or a PAP answer.
    Waiting,
    /// LNS: the caller is deciding; subscriber: CHAP response sent.
    Pending,
    /// Accepted.
    Accepted,
    /// Rejected.
    Rejected,
}

/// Authentication state of one link (both sides). Plain data: the snapshot
/// stores it all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthState {
    /// The method in use.
    pub method: Option<AuthMethod>,
    /// Progress.
    pub status: AuthStatus,
    /// Identifier of the current exchange.
    pub identifier: u8,
    /// Next identifier to use for a Challenge or a PAP request.
    pub next_id: u8,
    /// LNS: the CHAP challenge sent.
    pub challenge: InlineBytes,
    /// LNS: the message of our answer, repeated for retransmitted requests.
    pub message: InlineBytes,
    /// Retransmissions left.
    pub retries_left: u8,
    /// Retransmission or give-up time.
    pub deadline: Option<Timestamp>,
    /// LNS: when to re-challenge.
    pub rechallenge_at: Option<Timestamp>,
    /// The authenticated user name.
    pub peer_name: InlineBytes,
}

impl LinkCore {
    /// LNS: the caller accepted the pending [`AuthRequest`]: PAP
    /// Authenticate-Ack / CHAP Success with `message`, then the Network
    /// phase (RFC 1334 §2.2.2, RFC 1994 §4.2).
    pub fn auth_accepted(&mut self, now: Timestamp, message: &str) {
        if self.side != Side::Lns || self.auth.status != AuthStatus::Pending {
            return;
        }
        self.auth.status = AuthStatus::Accepted;
        self.auth.message = message.as_bytes().into();
        self.auth.deadline = None;
        self.send_auth_answer(self.auth.identifier);
        if self.auth.method == Some(AuthMethod::ChapMd5) {
            self.auth.rechallenge_at = self.config.rechallenge.map(|r| now + r);
        }
        if self.phase == Phase::Authenticate {
            self.enter_network(now, self.auth.method);
        }
    }

    /// LNS: the caller refused: PAP Authenticate-Nak / CHAP Failure with
    /// `message`, then LCP terminates with RFC 3145 code 16.
    pub fn auth_rejected(&mut self, now: Timestamp, message: &str) {
        if self.side != Side::Lns || self.auth.status != AuthStatus::Pending {
            return;
        }
        self.auth.status = AuthStatus::Rejected;
        self.auth.message = message.as_bytes().into();
        self.auth.deadline = None;
        self.auth.rechallenge_at = None;
        self.send_auth_answer(self.auth.identifier);
        let protocol = self.auth_protocol().number();
        self.close(
            now,
            DisconnectCause::new(DisconnectCode::AuthFailed, Direction::Local)
                .with_protocol(protocol)
                .with_message(message),
        );
    }

    /// RFC 1661 §3.4: starts the Authenticate phase once LCP is Opened.
    pub(super) fn start_auth(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        let restart = self.config.fsm.restart;
        let give_up = now + restart * u32::from(self.config.fsm.max_configure.max(1));
        match self.side {
            Side::Lns => match self.lcp_neg.demand {
                AuthDemand::NotAsked => self.enter_network(now, None),
                AuthDemand::Refused => self.close(
                    now,
                    DisconnectCause::new(DisconnectCode::AuthProtocolRefused, Direction::Peer)
                        .with_protocol(0xc021)
                        .with_message("peer refused every authentication protocol"),
                ),
                AuthDemand::Asking(AuthMethod::Pap) => {
                    self.auth.method = Some(AuthMethod::Pap);
                    self.auth.status = AuthStatus::Waiting;
                    self.auth.deadline = Some(give_up);
                }
                AuthDemand::Asking(AuthMethod::ChapMd5) => {
                    self.auth.method = Some(AuthMethod::ChapMd5);
                    self.send_challenge(now, entropy);
                }
            },
            Side::Subscriber => match self.lcp_neg.peer_demand {
                None => self.enter_network(now, None),
                Some(AuthMethod::Pap) => {
                    self.auth.method = Some(AuthMethod::Pap);
                    self.auth.status = AuthStatus::Waiting;
                    self.auth.identifier = self.take_auth_id();
                    self.auth.retries_left = self.config.fsm.max_configure.saturating_sub(1);
                    self.send_pap_request(now);
                }
                Some(AuthMethod::ChapMd5) => {
                    self.auth.method = Some(AuthMethod::ChapMd5);
                    self.auth.status = AuthStatus::Waiting;
                    self.auth.deadline = Some(give_up);
                }
            },
        }
    }

    /// Retransmissions, give-ups and re-challenges that are due.
    pub(super) fn auth_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.auth.rechallenge_at.is_some_and(|t| t <= now) {
            self.auth.rechallenge_at = None;
            if self.auth.status == AuthStatus::Accepted && self.phase == Phase::Network {
                // RFC 1994 §2: CHAP may re-challenge at any time.
                self.send_challenge(now, entropy);
            }
        }
        if self.auth.deadline.is_none_or(|t| t > now) {
            return;
        }
        self.auth.deadline = None;
        let retry = self.auth.retries_left > 0 && self.auth.status == AuthStatus::Waiting;
        match (self.side, self.auth.method) {
            // RFC 1994 §4.1: Challenges are sent until a valid Response
            // arrives, and "the Identifier field MUST be changed each time a
            // Challenge is sent" (retransmissions included); a fresh value
            // too (§2.3: each challenge value SHOULD be unique).
            (Side::Lns, Some(AuthMethod::ChapMd5)) if retry => {
                self.auth.retries_left -= 1;
                let mut challenge = vec![0u8; CHALLENGE_LEN];
                entropy.fill(&mut challenge);
                self.auth.challenge = challenge.into();
                self.auth.identifier = self.take_auth_id();
                self.emit_challenge();
                self.auth.deadline = Some(now + self.config.fsm.restart);
            }
            // RFC 1334 §2.2.1: the Authenticate-Request is retransmitted.
            (Side::Subscriber, Some(AuthMethod::Pap)) if retry => {
                self.auth.retries_left -= 1;
                self.send_pap_request(now);
            }
            // A lost Success would strand us: repeat the Response; the LNS
            // answers a repeated Response with the same Success (RFC 1994 §4.2).
            (Side::Subscriber, Some(AuthMethod::ChapMd5))
                if self.auth.retries_left > 0 && self.auth.status == AuthStatus::Pending =>
            {
                self.auth.retries_left -= 1;
                self.send_chap_response(now);
            }
            _ if matches!(self.auth.status, AuthStatus::Waiting | AuthStatus::Pending) => {
                let direction = match self.side {
                    Side::Lns => Direction::Peer,
                    Side::Subscriber => Direction::Local,
                };
                let protocol = self.auth_protocol().number();
                self.close(
                    now,
                    DisconnectCause::new(DisconnectCode::AuthTimeout, direction)
                        .with_protocol(protocol)
                        .with_message("authentication timed out"),
                );
            }
            _ => {}
        }
    }

    pub(super) fn receive_pap(&mut self, now: Timestamp, payload: &[u8], _e: &mut dyn Entropy) {
        if self.auth.method != Some(AuthMethod::Pap) {
            return;
        }
        let Ok(packet) = PapPacket::parse(payload) else {
            return;
        };
        match (self.side, packet) {
            (
                Side::Lns,
                PapPacket::Request {
                    identifier,
                    peer_id,
                    password,
                },
            ) => match self.auth.status {
                AuthStatus::Waiting => {
                    self.auth.status = AuthStatus::Pending;
                    self.auth.identifier = identifier;
                    self.auth.peer_name = peer_id.as_slice().into();
                    self.auth.deadline = None;
                    self.out
                        .push_event(LinkEvent::AuthRequest(AuthRequest::Pap {
                            name: peer_id,
                            password,
                        }));
                }
                // A request naming another Peer-ID was never judged: answering
                // it with the verdict on the first one would Ack credentials
                // nobody checked (RFC 1334 §2.2.2: Ack only an acceptable
                // pair). Silently discarded.
                _ if peer_id != self.auth.peer_name => {}
                // Still deciding: answer the latest copy when we know.
                AuthStatus::Pending => self.auth.identifier = identifier,
                // RFC 1334 §2.2.1: a retransmitted request gets the same answer.
                AuthStatus::Accepted | AuthStatus::Rejected => self.send_auth_answer(identifier),
                AuthStatus::Idle => {}
            },
            (Side::Subscriber, PapPacket::Ack { identifier, .. })
                if identifier == self.auth.identifier
                    && self.auth.status == AuthStatus::Waiting =>
            {
                self.auth.status = AuthStatus::Accepted;
                self.auth.deadline = None;
                self.auth.peer_name = self.config.credentials.user.as_slice().into();
                self.enter_network(now, Some(AuthMethod::Pap));
            }
            (
                Side::Subscriber,
                PapPacket::Nak {
                    identifier,
                    message,
                },
            ) if identifier == self.auth.identifier && self.auth.status == AuthStatus::Waiting => {
                self.auth.status = AuthStatus::Rejected;
                self.auth.deadline = None;
                self.close(
                    now,
                    DisconnectCause::new(DisconnectCode::AuthFailed, Direction::Peer)
                        .with_protocol(0xc023)
                        .with_message(&String::from_utf8_lossy(&message)),
                );
            }
            _ => {}
        }
    }

    pub(super) fn receive_chap(&mut self, now: Timestamp, payload: &[u8], _e: &mut dyn Entropy) {
        if self.auth.method != Some(AuthMethod::ChapMd5) {
            return;
        }
        let Ok(packet) = ChapPacket::parse(payload) else {
            return;
        };
        match (self.side, packet) {
            (
                Side::Lns,
                ChapPacket::Response {
                    identifier,
                    value,
                    name,
                },
            ) if identifier == self.auth.identifier => match self.auth.status {
                AuthStatus::Waiting => {
                    self.auth.status = AuthStatus::Pending;
                    self.auth.peer_name = name.as_slice().into();
                    self.auth.deadline = None;
                    self.out
                        .push_event(LinkEvent::AuthRequest(AuthRequest::Chap {
                            name,
                            identifier,
                            challenge: self.auth.challenge.to_vec(),
                            response: value,
                        }));
                }
                AuthStatus::Pending | AuthStatus::Idle => {}
                // RFC 1994 §4.2: a retransmitted Response gets the same answer.
                AuthStatus::Accepted | AuthStatus::Rejected => self.send_auth_answer(identifier),
            },
            (
                Side::Subscriber,
                ChapPacket::Challenge {
                    identifier, value, ..
                },
            ) if self.auth.status != AuthStatus::Rejected => {
                self.auth.identifier = identifier;
                self.auth.challenge = value.into();
                if self.auth.status != AuthStatus::Accepted {
                    self.auth.status = AuthStatus::Pending;
                    self.auth.retries_left = self.config.fsm.max_configure.saturating_sub(1);
                }
                self.send_chap_response(now);
            }
            (Side::Subscriber, ChapPacket::Success { identifier, .. })
                if identifier == self.auth.identifier =>
            {
                self.auth.status = AuthStatus::Accepted;
                self.auth.deadline = None;
                self.auth.peer_name = self.config.credentials.user.as_slice().into();
                self.enter_network(now, Some(AuthMethod::ChapMd5));
            }
            (
                Side::Subscriber,
                ChapPacket::Failure {
                    identifier,
                    message,
                },
            ) if identifier == self.auth.identifier => {
                self.auth.status = AuthStatus::Rejected;
                self.auth.deadline = None;
                self.close(
                    now,
                    DisconnectCause::new(DisconnectCode::AuthFailed, Direction::Peer)
                        .with_protocol(0xc223)
                        .with_message(&String::from_utf8_lossy(&message)),
                );
            }
            _ => {}
        }
    }

    /// LNS: a new CHAP challenge from the entropy input (RFC 1994 §2.3).
    fn send_challenge(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        let mut challenge = vec![0u8; CHALLENGE_LEN];
        entropy.fill(&mut challenge);
        self.auth.challenge = challenge.into();
        self.auth.identifier = self.take_auth_id();
        self.auth.status = AuthStatus::Waiting;
        self.auth.retries_left = self.config.fsm.max_configure.saturating_sub(1);
        self.auth.deadline = Some(now + self.config.fsm.restart);
        self.emit_challenge();
    }

    fn emit_challenge(&mut self) {
        let p = ChapPacket::Challenge {
            identifier: self.auth.identifier,
            value: self.auth.challenge.to_vec(),
            name: self.config.chap_name.clone(),
        };
        self.send(Protocol::Chap, &p.to_bytes());
    }

    /// Subscriber: RFC 1994 §4.1, MD5(Identifier || secret || Challenge).
    fn send_chap_response(&mut self, now: Timestamp) {
        let identifier = self.auth.identifier;
        let digest = md5_response(
            identifier,
            &self.config.credentials.password,
            &self.auth.challenge,
        );
        let response = ChapPacket::Response {
            identifier,
            value: digest.to_vec(),
            name: self.config.credentials.user.clone(),
        };
        self.send(Protocol::Chap, &response.to_bytes());
        if self.auth.status == AuthStatus::Pending {
            self.auth.deadline = Some(now + self.config.fsm.restart);
        }
    }

    fn send_pap_request(&mut self, now: Timestamp) {
        let p = PapPacket::Request {
            identifier: self.auth.identifier,
            peer_id: self.config.credentials.user.clone(),
            password: self.config.credentials.password.clone(),
        };
        self.send(Protocol::Pap, &p.to_bytes());
        self.auth.deadline = Some(now + self.config.fsm.restart);
    }

    /// LNS: (re)sends the decided answer with `identifier`.
    fn send_auth_answer(&mut self, identifier: u8) {
        let accepted = self.auth.status == AuthStatus::Accepted;
        let message = self.auth.message.to_vec();
        let bytes = match self.auth.method {
            Some(AuthMethod::Pap) if accepted => PapPacket::Ack {
                identifier,
                message,
            }
            .to_bytes(),
            Some(AuthMethod::Pap) => PapPacket::Nak {
                identifier,
                message,
            }
            .to_bytes(),
            Some(AuthMethod::ChapMd5) if accepted => ChapPacket::Success {
                identifier,
                message,
            }
            .to_bytes(),
            Some(AuthMethod::ChapMd5) => ChapPacket::Failure {
                identifier,
                message,
            }
            .to_bytes(),
            None => return,
        };
        let protocol = self.auth_protocol();
        self.send(protocol, &bytes);
    }

    fn auth_protocol(&self) -> Protocol {
        match self.auth.method {
            Some(AuthMethod::Pap) => Protocol::Pap,
            _ => Protocol::Chap,
        }
    }

    fn take_auth_id(&mut self) -> u8 {
        let id = self.auth.next_id;
        self.auth.next_id = self.auth.next_id.wrapping_add(1);
        id
    }
}
