//! Scripted exchanges against the link driver with byte vectors (pppd's
//! frames from REFERENCE.md), one test per rule, citing the RFC: the
//! shared fixtures here, the tests by topic in the submodules.

mod auth;
mod lcp;
mod ncp;
mod proxy;
mod robustness;
mod settled;
mod subscriber;
mod termination;

use super::*;
use crate::entropy::Seeded;
use crate::ppp::packet::PacketRepr;
use crate::ppp::pap::PapPacket;

const T0: Timestamp = Timestamp::from_unix_millis(1_000_000);
const PEER_MAGIC: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

fn frame(protocol: u16, packet: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff, 0x03];
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(packet);
    f
}

fn packet(code: u8, id: u8, data: &[u8]) -> Vec<u8> {
    let mut p = vec![code, id];
    p.extend_from_slice(&((data.len() + 4) as u16).to_be_bytes());
    p.extend_from_slice(data);
    p
}

fn lcp(code: u8, id: u8, data: &[u8]) -> Vec<u8> {
    frame(0xc021, &packet(code, id, data))
}

fn drain(l: &mut Link) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| l.poll_transmit()).collect()
}

fn events(l: &mut Link) -> Vec<LinkEvent> {
    std::iter::from_fn(|| l.poll_event()).collect()
}

/// pppd's LCP Configure-Request (REFERENCE.md): ACCM 0, Magic-Number.
fn pppd_lcp_request(id: u8) -> Vec<u8> {
    let mut d = vec![0x02, 0x06, 0, 0, 0, 0, 0x05, 0x06];
    d.extend_from_slice(&PEER_MAGIC);
    lcp(0x01, id, &d)
}

fn lns_cfg(order: Vec<AuthMethod>) -> LinkConfig {
    let mut c = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
    c.auth_order = order;
    c
}

/// An LNS link whose LCP opened with pppd's request; returns the frames
/// the LNS sent.
fn lns_after_lcp(cfg: LinkConfig) -> (Link, Seeded, Vec<Vec<u8>>) {
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, cfg);
    l.open(T0, &mut e);
    let first = drain(&mut l);
    assert_eq!(first.len(), 1);
    let ours = PacketRepr::parse(&first[0][4..]).expect("our request");
    l.handle_frame(T0, &pppd_lcp_request(1), &mut e);
    l.handle_frame(T0, &lcp(0x02, ours.identifier, &ours.data), &mut e);
    assert_eq!(l.lcp_state(), State::Opened);
    let sent = drain(&mut l);
    (l, e, sent)
}

/// A PAP-only LNS link whose first LCP Configure-Request the peer answered
/// with a Configure-Reject of `rejected` (options): the link, its entropy,
/// that first request and the one the LNS sent next.
fn lns_lcp_request_rejected(rejected: &[u8]) -> (Link, Seeded, PacketRepr, PacketRepr) {
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    l.handle_frame(T0, &lcp(0x04, ours.identifier, rejected), &mut e);
    let again = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    (l, e, ours, again)
}

/// An LNS link in the Network phase after PAP.
fn lns_in_network() -> (Link, Seeded) {
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    let req = PapPacket::Request {
        identifier: 1,
        peer_id: b"alice".to_vec(),
        password: b"pw".to_vec(),
    };
    l.handle_frame(T0, &frame(0xc023, &req.to_bytes()), &mut e);
    l.auth_accepted(T0, "");
    assert_eq!(l.phase(), Phase::Network);
    drain(&mut l);
    events(&mut l);
    (l, e)
}

fn run_timers(l: &mut Link, e: &mut Seeded) -> Vec<LinkEvent> {
    let mut ev = Vec::new();
    for _ in 0..100 {
        let Some(t) = l.poll_timeout() else { break };
        l.handle_timeout(t, e);
        drain(l);
        ev.extend(events(l));
        if l.phase() == Phase::Dead {
            break;
        }
    }
    ev
}

fn down_cause(ev: &[LinkEvent]) -> Option<DisconnectCause> {
    ev.iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause.clone()),
        _ => None,
    })
}
