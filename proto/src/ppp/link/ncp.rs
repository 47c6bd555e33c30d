//! The Network phase: IPCP and IPV6CP on top of the shared automaton, and
//! the caller's IPv4 assignment.
//!
//! Contract: on the LNS, the peer's first IPCP Configure-Request raises
//! [`LinkEvent::Ipv4AddressRequest`] and waits until the caller answers
//! (a peer that never opens IPCP, e.g. IPv6-only, is never given an IPv4
//! address); both NCPs use LCP codes 1-7 (RFC 1332 §2, RFC 5072 §3) and
//! Code-Reject anything else. The caller may fix the peer's IPV6CP
//! Interface-Identifier ([`Link::assign_peer_interface_id`]).

use std::net::Ipv4Addr;

use super::{AddressRequest, LinkCore, LinkEvent, NoEntropy, Phase, Side};
use crate::entropy::Entropy;
use crate::ppp::fsm::{Automaton, Event, FsmConfig, Inbound, Negotiation, Output};
use crate::ppp::packet::{Code, Packet, PacketRepr};
use crate::ppp::protocol::Protocol;
use crate::time::Timestamp;

impl LinkCore {
    /// LNS: assigns the peer's IPv4 address and DNS servers (after
    /// [`LinkEvent::Ipv4AddressRequest`]); IPCP Naks the peer to them.
    pub fn ipv4_assigned(&mut self, now: Timestamp, peer: Ipv4Addr, dns: [Option<Ipv4Addr>; 2]) {
        if self.side != Side::Lns || self.phase != Phase::Network {
            return;
        }
        self.ipcp_neg.assigned_peer = Some(peer);
        self.ipcp_neg.peer_dns = dns;
        self.ipv4_request = AddressRequest::Assigned;
        if let Some(raw) = self.pending_ipcp.take() {
            // IPCP's review draws no randomness; a fixed source keeps the
            // call signature free of entropy.
            self.receive_ipcp(now, &raw, &mut NoEntropy);
        }
    }

    /// LNS: no IPv4 for this peer; IPCP is closed (RFC 1661 §4.1 Close).
    pub fn ipv4_refused(&mut self, now: Timestamp) {
        if self.side != Side::Lns {
            return;
        }
        self.ipv4_request = AddressRequest::Refused;
        self.pending_ipcp = None;
        let mut out = Vec::new();
        self.ipcp.event(
            now,
            &self.config.fsm,
            Event::Close,
            &mut self.ipcp_neg,
            &mut out,
        );
        self.apply_ncp(Protocol::Ipcp, out);
    }

    /// LNS: the peer's IPV6CP Interface-Identifier must be `id` (RADIUS
    /// Framed-Interface-Id, RFC 3162 §2.2): a Configure-Request with
    /// another one is Nak'd with `id` (RFC 5072 §4.1). Call it before IPV6CP
    /// negotiates (at authentication); 0 or our own identifier is ignored.
    pub fn assign_peer_interface_id(&mut self, id: u64) {
        if self.side != Side::Lns {
            return;
        }
        self.ipv6cp_neg.assigned_peer = (id != 0).then_some(id);
    }

    pub(super) fn ncp_event(&mut self, now: Timestamp, protocol: Protocol, event: Event) {
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        match protocol {
            Protocol::Ipcp => self
                .ipcp
                .event(now, &cfg, event, &mut self.ipcp_neg, &mut out),
            _ => self
                .ipv6cp
                .event(now, &cfg, event, &mut self.ipv6cp_neg, &mut out),
        }
        self.apply_ncp(protocol, out);
    }

    pub(super) fn receive_ipcp(
        &mut self,
        now: Timestamp,
        payload: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        let waiting = matches!(
            self.ipv4_request,
            AddressRequest::NotAsked | AddressRequest::Asked
        );
        if self.side == Side::Lns && waiting {
            if let Ok(p) = Packet::new_checked(payload) {
                if p.code() == Code::ConfigureRequest {
                    // RFC 1332 §3.3: the peer wants an address; answered
                    // once the caller assigns one.
                    if self.ipv4_request == AddressRequest::NotAsked {
                        self.ipv4_request = AddressRequest::Asked;
                        self.out.push_event(LinkEvent::Ipv4AddressRequest);
                    }
                    self.pending_ipcp = Some(p.bytes().into());
                    return;
                }
            }
        }
        self.receive_ncp(now, Protocol::Ipcp, payload, entropy);
    }

    pub(super) fn receive_ipv6cp(
        &mut self,
        now: Timestamp,
        payload: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        self.receive_ncp(now, Protocol::Ipv6cp, payload, entropy);
    }

    /// RFC 1332 §2 / RFC 5072 §3: the NCPs use codes 1-7 of LCP.
    pub(super) fn receive_ncp(
        &mut self,
        now: Timestamp,
        protocol: Protocol,
        payload: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        let Ok(p) = Packet::new_checked(payload) else {
            return;
        };
        let raw = p.bytes();
        let repr = PacketRepr::from_packet(&p);
        let cfg = self.config.fsm;
        let mut out = Vec::new();
        let (fsm, neg): (&mut Automaton, &mut dyn NcpNeg) = match protocol {
            Protocol::Ipcp => (&mut self.ipcp, &mut self.ipcp_neg),
            _ => (&mut self.ipv6cp, &mut self.ipv6cp_neg),
        };
        match repr.code {
            Code::ConfigureRequest
            | Code::ConfigureAck
            | Code::ConfigureNak
            | Code::ConfigureReject
            | Code::TerminateRequest
            | Code::TerminateAck => {
                neg.receive(fsm, now, &cfg, &repr, raw, entropy, &mut out);
            }
            Code::CodeReject => {
                let event = match repr.data.first() {
                    Some(0x01..=0x07) => Event::RxjCatastrophic,
                    _ => Event::RxjPermitted,
                };
                neg.event_with(fsm, now, &cfg, event, &repr, raw, &mut out);
            }
            // RFC 1332 §2: codes 8 and above are unknown to IPCP/IPV6CP.
            _ => neg.event_with(fsm, now, &cfg, Event::Ruc, &repr, raw, &mut out),
        }
        self.apply_ncp(protocol, out);
    }

    pub(super) fn apply_ncp(&mut self, protocol: Protocol, out: Vec<Output>) {
        for o in out {
            match (o, protocol) {
                (Output::Send(p), _) => self.send(protocol, &p.to_bytes()),
                (Output::Up, Protocol::Ipcp) => self.out.push_event(LinkEvent::Ipv4Up {
                    local: self.ipcp_neg.local_address(),
                    peer: self.ipcp_neg.peer_address,
                    dns: match self.side {
                        Side::Lns => self.ipcp_neg.peer_dns,
                        Side::Subscriber => self.ipcp_neg.request_dns,
                    },
                }),
                (Output::Up, _) => self.out.push_event(LinkEvent::Ipv6Up {
                    local_id: self.ipv6cp_neg.local_id(),
                    peer_id: self.ipv6cp_neg.peer_id,
                }),
                (Output::Down, Protocol::Ipcp) => self.out.push_event(LinkEvent::Ipv4Down),
                (Output::Down, _) => self.out.push_event(LinkEvent::Ipv6Down),
                (Output::Started | Output::Finished, _) => {}
            }
        }
    }
}

/// Lets IPCP and IPV6CP share one receive path over different negotiation types.
trait NcpNeg {
    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        repr: &PacketRepr,
        raw: &[u8],
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output>,
    );
    #[allow(clippy::too_many_arguments)]
    fn event_with(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        out: &mut Vec<Output>,
    );
}

impl<N: Negotiation> NcpNeg for N {
    fn receive(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        repr: &PacketRepr,
        raw: &[u8],
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output>,
    ) {
        fsm.receive(now, cfg, repr, raw, self, entropy, out);
    }

    fn event_with(
        &mut self,
        fsm: &mut Automaton,
        now: Timestamp,
        cfg: &FsmConfig,
        event: Event,
        repr: &PacketRepr,
        raw: &[u8],
        out: &mut Vec<Output>,
    ) {
        let inbound = Inbound {
            identifier: repr.identifier,
            raw,
            answer: None,
        };
        fsm.event_with(now, cfg, event, inbound, self, out);
    }
}
