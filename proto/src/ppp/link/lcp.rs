//! LCP beyond negotiation: Echo, Discard, Identification, Time-Remaining,
//! Code-Reject and Protocol-Reject (RFC 1661 §5.5-5.9, RFC 1570), and the
//! echo keepalive.
//!
//! Contract: every LCP packet goes through the automaton (RXR, RUC, RXJ±
//! events) so the §4.1 table decides what is answered in which state; the
//! keepalive sends an Echo-Request after `echo_interval` of silence and
//! declares the link dead (RFC 3145 code 8) after `echo_max_failures`
//! unanswered ones.

use super::{LinkCore, LinkEvent, PeerHeard};
use crate::entropy::Entropy;
use crate::ppp::cause::{Direction, DisconnectCause, DisconnectCode};
use crate::ppp::fsm::{Event, Inbound, State};
use crate::ppp::packet::{Code, Packet, PacketRepr};
use crate::ppp::protocol::Protocol;
use crate::time::Timestamp;

impl LinkCore {
    pub(super) fn receive_lcp(
        &mut self,
        now: Timestamp,
        payload: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        let Ok(p) = Packet::new_checked(payload) else {
            return; // RFC 1661 §5: malformed, silently discarded.
        };
        self.peer_heard = PeerHeard::Heard;
        let raw = p.bytes();
        let repr = PacketRepr::from_packet(&p);
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        match repr.code {
            Code::ConfigureRequest
            | Code::ConfigureAck
            | Code::ConfigureNak
            | Code::ConfigureReject
            | Code::TerminateRequest
            | Code::TerminateAck => {
                if repr.code == Code::TerminateRequest && self.closing.is_none() {
                    // RFC 3145 code 3: the peer asked to terminate.
                    self.closing = Some(Box::new(
                        DisconnectCause::new(DisconnectCode::Normal, Direction::Peer)
                            .with_message("peer sent LCP Terminate-Request"),
                    ));
                }
                self.lcp
                    .receive(now, &cfg, &repr, raw, &mut self.lcp_neg, entropy, &mut out);
                self.apply_lcp(now, out, entropy);
                if self.lcp_neg.loop_suspicions > cfg.max_failure {
                    // RFC 1661 §6.4: our own magic keeps coming back.
                    self.fail_now(
                        now,
                        DisconnectCause::new(DisconnectCode::LoopedBack, Direction::Global)
                            .with_protocol(0xc021),
                    );
                }
            }
            Code::CodeReject => {
                // RFC 1661 §5.6: rejecting a code we need is catastrophic.
                let event = match repr.data.first() {
                    Some(0x01..=0x07) => Event::RxjCatastrophic,
                    _ => Event::RxjPermitted,
                };
                self.lcp_rx_event(now, event, &repr, raw, None, entropy);
            }
            Code::ProtocolReject => {
                // RFC 1661 §5.7: the peer does not speak `protocol`.
                let Some(&[hi, lo]) = repr
                    .data
                    .get(..2)
                    .and_then(|s| <&[u8; 2]>::try_from(s).ok())
                else {
                    return;
                };
                match Protocol::from(u16::from_be_bytes([hi, lo])) {
                    Protocol::Lcp => {
                        self.lcp_rx_event(now, Event::RxjCatastrophic, &repr, raw, None, entropy)
                    }
                    Protocol::Ipcp => self.ncp_event(now, Protocol::Ipcp, Event::RxjCatastrophic),
                    Protocol::Ipv6cp => {
                        self.ncp_event(now, Protocol::Ipv6cp, Event::RxjCatastrophic)
                    }
                    _ => self.lcp_rx_event(now, Event::RxjPermitted, &repr, raw, None, entropy),
                }
            }
            Code::EchoRequest => {
                // RFC 1661 §5.8: answer with our magic; a request carrying
                // our own magic means a looped-back link: drop it.
                let magic = magic_of(&repr.data);
                if self.lcp_neg.our_magic != 0 && magic == Some(self.lcp_neg.our_magic) {
                    return;
                }
                let mut data = self.lcp_neg.our_magic.to_be_bytes().to_vec();
                data.extend_from_slice(repr.data.get(4..).unwrap_or(&[]));
                let answer = PacketRepr {
                    code: Code::EchoReply,
                    identifier: repr.identifier,
                    data,
                };
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, Some(answer), entropy);
            }
            Code::EchoReply => {
                let magic = magic_of(&repr.data);
                if self.lcp_neg.our_magic == 0 || magic != Some(self.lcp_neg.our_magic) {
                    self.keepalive.unanswered = 0;
                    if let (Some(_), Some(i)) = (self.keepalive.next_at, self.config.echo_interval)
                    {
                        self.keepalive.next_at = Some(now + i);
                    }
                }
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, None, entropy);
            }
            // RFC 1661 §5.9, RFC 1570 §2-3: accepted and dropped.
            Code::DiscardRequest | Code::Identification | Code::TimeRemaining => {
                self.lcp_rx_event(now, Event::Rxr, &repr, raw, None, entropy)
            }
            // RFC 1661 §4.3 RUC: Code-Reject.
            Code::Unknown(_) => self.lcp_rx_event(now, Event::Ruc, &repr, raw, None, entropy),
        }
    }

    pub(super) fn lcp_rx_event(
        &mut self,
        now: Timestamp,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        answer: Option<PacketRepr>,
        entropy: &mut dyn Entropy,
    ) {
        let mut out = Vec::new();
        let inbound = Inbound {
            identifier: repr.identifier,
            raw,
            answer,
        };
        self.lcp.event_with(
            now,
            &self.config.fsm,
            event,
            inbound,
            &mut self.lcp_neg,
            &mut out,
        );
        self.apply_lcp(now, out, entropy);
    }

    /// RFC 1661 §5.7: Protocol-Reject with the rejected protocol and as
    /// much of the packet as fits the peer's MRU.
    pub(super) fn protocol_reject(&mut self, protocol: Protocol, payload: &[u8]) {
        if self.lcp.state != State::Opened {
            return;
        }
        let number = protocol.number();
        let room = usize::from(self.lcp_neg.peer_mru).saturating_sub(6);
        let mut data = number.to_be_bytes().to_vec();
        data.extend_from_slice(&payload[..payload.len().min(room)]);
        let p = PacketRepr {
            code: Code::ProtocolReject,
            identifier: self.lcp.take_id(),
            data,
        };
        self.send(Protocol::Lcp, &p.to_bytes());
        self.out
            .push_event(LinkEvent::ProtocolRejected { protocol: number });
    }

    pub(super) fn keepalive_timeout(&mut self, now: Timestamp, _entropy: &mut dyn Entropy) {
        let Some(interval) = self.config.echo_interval else {
            self.keepalive.next_at = None;
            return;
        };
        if self.lcp.state != State::Opened {
            self.keepalive.next_at = None;
            return;
        }
        if self.keepalive.unanswered >= self.config.echo_max_failures {
            // The brief: link dead after M unanswered echoes (RFC 3145 code 8).
            self.fail_now(
                now,
                DisconnectCause::new(DisconnectCode::EchoTimeout, Direction::Local)
                    .with_protocol(0xc021)
                    .with_message("no reply to LCP Echo-Request"),
            );
            return;
        }
        // RFC 1661 §5.8: Echo-Request with our magic.
        let p = PacketRepr {
            code: Code::EchoRequest,
            identifier: self.lcp.take_id(),
            data: self.lcp_neg.our_magic.to_be_bytes().to_vec(),
        };
        self.send(Protocol::Lcp, &p.to_bytes());
        self.keepalive.unanswered = self.keepalive.unanswered.saturating_add(1);
        self.keepalive.next_at = Some(now + interval);
    }
}

/// The magic-number field that opens Echo and Discard packets.
fn magic_of(data: &[u8]) -> Option<u32> {
    let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}
