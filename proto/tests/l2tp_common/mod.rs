//! Shared harness of the L2TP conformance tests: a lossless LAC/LNS pair
//! in virtual time and helpers to craft and inspect control datagrams.
#![allow(dead_code, unused_imports)]

pub use lns_proto::entropy::Seeded;
pub use lns_proto::l2tp::avp::{Avp, Criticality, Visibility};
pub use lns_proto::l2tp::avp_types::{AvpValue, ResultCodeValue};
pub use lns_proto::l2tp::header::{Header, HeaderView};
pub use lns_proto::l2tp::message::{emit_control, parse_control, Message, MessageType};
pub use lns_proto::l2tp::{
    CallInfo, CdnResult, DropReason, Endpoint, EndpointConfig, ErrorCode, Event, Hiding, PeerEntry,
    PeerSettings, PeerTable, ProxyAuthType, ProxyInfo, SessionDownReason, Side, StopCcnResult,
    TunnelAuth, TunnelDownReason,
};
pub use lns_proto::time::Timestamp;
pub use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
pub use std::time::Duration;

pub const LAC: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 1701));
pub const LNS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 1701));

pub fn t0() -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000)
}

/// A lossless, zero-latency LAC/LNS pair.
pub struct Pair {
    pub lac: Endpoint,
    pub lns: Endpoint,
    pub now: Timestamp,
    pub e: Seeded,
    pub lac_events: Vec<Event>,
    pub lns_events: Vec<Event>,
    pub wire: Vec<(bool, Vec<u8>)>,
}

impl Pair {
    pub fn new(lac: EndpointConfig, lns: EndpointConfig) -> Self {
        Pair {
            lac: Endpoint::new(lac),
            lns: Endpoint::new(lns),
            now: t0(),
            e: Seeded::new(1),
            lac_events: Vec::new(),
            lns_events: Vec::new(),
            wire: Vec::new(),
        }
    }

    pub fn plain() -> Self {
        Pair::new(
            EndpointConfig::new(Side::Lac, b"lac1"),
            EndpointConfig::new(Side::Lns, b"lns1"),
        )
    }

    /// Delivers everything until both sides are quiet (timers not run).
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.lac.poll_transmit() {
                self.wire.push((true, t.payload.clone()));
                self.lns
                    .handle_datagram(self.now, LNS, LAC, &t.payload, &mut self.e);
                moved = true;
            }
            while let Some(t) = self.lns.poll_transmit() {
                self.wire.push((false, t.payload.clone()));
                self.lac
                    .handle_datagram(self.now, LAC, LNS, &t.payload, &mut self.e);
                moved = true;
            }
            while let Some(ev) = self.lac.poll_event() {
                self.lac_events.push(ev);
            }
            while let Some(ev) = self.lns.poll_event() {
                self.lns_events.push(ev);
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances virtual time by `d`, running timers, pumping in between.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = [self.lac.poll_timeout(), self.lns.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.lac.handle_timeout(self.now, &mut self.e);
                    self.lns.handle_timeout(self.now, &mut self.e);
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }

    pub fn open_tunnel(&mut self, settings: PeerSettings) -> (u16, u16) {
        let lac_id = self
            .lac
            .open_tunnel(self.now, LAC, LNS, settings, &mut self.e)
            .expect("open");
        self.pump();
        let lns_id = self
            .lns_events
            .iter()
            .find_map(|e| match e {
                Event::TunnelUp { tunnel, .. } => Some(*tunnel),
                _ => None,
            })
            .expect("LNS tunnel up");
        (lac_id, lns_id)
    }
}

/// Sends one raw datagram to an LNS endpoint and collects replies and events.
pub fn poke(lns: &mut Endpoint, now: Timestamp, datagram: &[u8]) -> (Vec<Vec<u8>>, Vec<Event>) {
    let mut e = Seeded::new(9);
    lns.handle_datagram(now, LNS, LAC, datagram, &mut e);
    let mut tx = Vec::new();
    while let Some(t) = lns.poll_transmit() {
        tx.push(t.payload);
    }
    let mut ev = Vec::new();
    while let Some(x) = lns.poll_event() {
        ev.push(x);
    }
    (tx, ev)
}

pub fn datagram(tid: u16, sid: u16, ns: u16, nr: u16, m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    emit_control(&Header::control(tid, sid, ns, nr), Some(m), None, &mut out).expect("emit");
    out
}

pub fn sccrq(assigned: Option<u16>) -> Message {
    let mut m = Message::new(MessageType::Sccrq)
        .with(AvpValue::ProtocolVersion {
            version: 1,
            revision: 0,
        })
        .with(AvpValue::FramingCapabilities(3))
        .with(AvpValue::HostName(b"lac1".to_vec()));
    if let Some(a) = assigned {
        m = m.with(AvpValue::AssignedTunnelId(a));
    }
    m
}

pub fn message_of(d: &[u8]) -> Option<Message> {
    parse_control(d, None)
        .expect("we emit valid control messages")
        .1
}

pub fn result_of(m: &Message) -> (u16, Option<u16>) {
    let rc = m.result_code().expect("result code");
    (rc.result, rc.error)
}
