//! Scripted exchanges against the link driver with byte vectors (pppd's
//! frames from REFERENCE.md), one test per rule, citing the RFC.

use super::*;
use crate::entropy::Seeded;
use crate::ppp::chap::{md5_response, ChapPacket};
use crate::ppp::packet::{Code, PacketRepr};
use crate::ppp::pap::PapPacket;
use core::time::Duration;
use proptest::prelude::*;

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

#[test]
fn pppd_lcp_request_is_acked_byte_for_byte() {
    // RFC 1661 §5.2: the Ack repeats the options unchanged.
    let (mut l, _, sent) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    let mut ack = vec![0x02, 0x06, 0, 0, 0, 0, 0x05, 0x06];
    ack.extend_from_slice(&PEER_MAGIC);
    assert!(sent.contains(&lcp(0x02, 1, &ack)), "{sent:02x?}");
    assert_eq!(l.peer_magic(), 0x1234_5678);
    assert_eq!(l.phase(), Phase::Authenticate);
    assert!(matches!(events(&mut l)[0], LinkEvent::LcpUp { .. }));
}

#[test]
fn pppd_configure_reject_of_an_option_we_never_sent_is_harmless() {
    // RFC 1661 §5.4; pppd rejects Multilink MRRU (REFERENCE.md). A reject
    // naming options we did not send changes nothing but still gets a new
    // request (RCN in Req-Sent: irc,scr/6).
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    l.handle_frame(
        T0,
        &lcp(0x04, ours.identifier, &[0x11, 0x04, 0x05, 0xdc]),
        &mut e,
    );
    let again = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    assert_eq!(again.data, ours.data);
    assert_ne!(again.identifier, ours.identifier);
}

#[test]
fn echo_request_before_authentication_gets_our_magic() {
    // RFC 1661 §5.8; pppd echoes early (REFERENCE.md).
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    let mut d = PEER_MAGIC.to_vec();
    d.extend_from_slice(b"xy");
    l.handle_frame(T0, &lcp(0x09, 0x33, &d), &mut e);
    let mut reply = l.our_magic().to_be_bytes().to_vec();
    reply.extend_from_slice(b"xy");
    assert_eq!(drain(&mut l), vec![lcp(0x0a, 0x33, &reply)]);
    // A request carrying our own magic is a loop: dropped.
    l.handle_frame(T0, &lcp(0x09, 0x34, &l.our_magic().to_be_bytes()), &mut e);
    assert!(drain(&mut l).is_empty());
}

#[test]
fn discard_identification_time_remaining_are_accepted_silently() {
    // RFC 1661 §5.9, RFC 1570 §2 and §3.
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    for code in [0x0b, 0x0c, 0x0d] {
        l.handle_frame(T0, &lcp(code, 1, &PEER_MAGIC), &mut e);
    }
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.lcp_state(), State::Opened);
}

#[test]
fn unknown_lcp_code_gets_a_code_reject() {
    // RFC 1661 §5.6: the rejected packet is copied.
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    let weird = packet(0x42, 9, &[1, 2, 3]);
    l.handle_frame(T0, &frame(0xc021, &weird), &mut e);
    let sent = drain(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][4], 0x07);
    assert_eq!(&sent[0][8..], &weird[..]);
}

#[test]
fn packets_of_later_phases_are_dropped() {
    // RFC 1661 §3.4/§3.5: only LCP and authentication before Network.
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    l.handle_frame(
        T0,
        &frame(0x8021, &packet(0x01, 1, &[0x03, 0x06, 0, 0, 0, 0])),
        &mut e,
    );
    l.handle_frame(T0, &frame(0x80fd, &packet(0x01, 1, &[])), &mut e);
    l.handle_frame(T0, &[0xff, 0x03, 0x00, 0x21, 0x45], &mut e);
    assert!(drain(&mut l).is_empty());
    assert!(events(&mut l)
        .iter()
        .all(|e| matches!(e, LinkEvent::LcpUp { .. })));
}

#[test]
fn ccp_ecp_multilink_and_unknown_get_a_protocol_reject_in_network() {
    // RFC 1661 §5.7: Protocol-Reject with the protocol and the packet.
    let (mut l, mut e) = lns_in_network();
    for proto in [0x80fdu16, 0x8053, 0x003d, 0x4021] {
        let ccp = packet(0x01, 1, &[0x12, 0x06, 0, 0, 0, 1]);
        l.handle_frame(T0, &frame(proto, &ccp), &mut e);
        let sent = drain(&mut l);
        assert_eq!(sent.len(), 1, "{proto:04x}");
        let p = PacketRepr::parse(&sent[0][4..]).expect("LCP");
        assert_eq!(p.code, Code::ProtocolReject);
        assert_eq!(p.data[..2], proto.to_be_bytes());
        assert_eq!(p.data[2..], ccp[..]);
        assert_eq!(
            events(&mut l),
            vec![LinkEvent::ProtocolRejected { protocol: proto }]
        );
    }
}

#[test]
fn pap_retransmission_gets_the_same_answer() {
    // RFC 1334 §2.2.1: the caller decides once; copies get the same answer.
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::Pap]));
    events(&mut l);
    let req = frame(
        0xc023,
        &PapPacket::Request {
            identifier: 5,
            peer_id: b"bob".to_vec(),
            password: b"pw".to_vec(),
        }
        .to_bytes(),
    );
    l.handle_frame(T0, &req, &mut e);
    l.handle_frame(T0, &req, &mut e);
    assert_eq!(
        events(&mut l),
        vec![LinkEvent::AuthRequest(AuthRequest::Pap {
            name: b"bob".to_vec(),
            password: b"pw".to_vec()
        })]
    );
    assert!(drain(&mut l).is_empty(), "no answer before the decision");
    l.auth_accepted(T0, "hi");
    let ack = frame(0xc023, &[0x02, 0x05, 0x00, 0x07, 0x02, b'h', b'i']);
    let sent = drain(&mut l);
    assert_eq!(sent[0], ack);
    l.handle_frame(T0, &req, &mut e);
    assert_eq!(drain(&mut l), vec![ack]);
    assert_eq!(l.user_name(), b"bob");
}

#[test]
fn pap_request_for_another_peer_id_after_the_verdict_is_not_acked() {
    // RFC 1334 §2.2.2: Authenticate-Ack only for a pair found acceptable;
    // the repeated answer is for copies of the judged request only.
    let (mut l, mut e) = lns_in_network();
    let other = PapPacket::Request {
        identifier: 2,
        peer_id: b"mallory".to_vec(),
        password: b"guess".to_vec(),
    };
    l.handle_frame(T0, &frame(0xc023, &other.to_bytes()), &mut e);
    assert!(drain(&mut l).is_empty(), "no Ack for unchecked credentials");
    assert!(events(&mut l).is_empty());
    let copy = PapPacket::Request {
        identifier: 3,
        peer_id: b"alice".to_vec(),
        password: b"pw".to_vec(),
    };
    l.handle_frame(T0, &frame(0xc023, &copy.to_bytes()), &mut e);
    assert_eq!(
        drain(&mut l),
        vec![frame(0xc023, &[0x02, 0x03, 0x00, 0x05, 0x00])]
    );
}

#[test]
fn chap_challenge_response_success_and_retransmitted_response() {
    // RFC 1994 §4.1, §4.2.
    let mut cfg = lns_cfg(vec![AuthMethod::ChapMd5]);
    cfg.chap_name = b"lns".to_vec();
    let (mut l, mut e, sent) = lns_after_lcp(cfg);
    let ch = sent
        .iter()
        .find(|f| f[2..4] == [0xc2, 0x23])
        .expect("challenge sent on LCP up");
    let ChapPacket::Challenge {
        identifier,
        value,
        name,
    } = ChapPacket::parse(&ch[4..]).expect("challenge")
    else {
        panic!("not a challenge");
    };
    assert_eq!(name, b"lns");
    assert_eq!(value.len(), 16);
    let digest = md5_response(identifier, b"pw", &value);
    let resp = frame(
        0xc223,
        &ChapPacket::Response {
            identifier,
            value: digest.to_vec(),
            name: b"carol".to_vec(),
        }
        .to_bytes(),
    );
    l.handle_frame(T0, &resp, &mut e);
    let ev = events(&mut l);
    assert!(ev.contains(&LinkEvent::AuthRequest(AuthRequest::Chap {
        name: b"carol".to_vec(),
        identifier,
        challenge: value.clone(),
        response: digest.to_vec(),
    })));
    l.auth_accepted(T0, "");
    let success = frame(0xc223, &[0x03, identifier, 0x00, 0x04]);
    assert_eq!(drain(&mut l)[0], success);
    l.handle_frame(T0, &resp, &mut e);
    assert_eq!(drain(&mut l), vec![success]);
    assert_eq!(l.phase(), Phase::Network);
}

#[test]
fn unanswered_challenge_times_out_with_cause_13() {
    // RFC 1994 §4.1 retransmission; RFC 3145 code 13.
    let (mut l, mut e, _) = lns_after_lcp(lns_cfg(vec![AuthMethod::ChapMd5]));
    let mut challenges = 1;
    let mut now = T0;
    for _ in 0..200 {
        let Some(t) = l.poll_timeout() else { break };
        now = t;
        l.handle_timeout(now, &mut e);
        // Answer echoes? No: the peer is silent.
        challenges += drain(&mut l)
            .iter()
            .filter(|f| f[2..5] == [0xc2, 0x23, 0x01])
            .count();
        if l.phase() == Phase::Dead {
            break;
        }
    }
    assert_eq!(challenges, 10, "Max-Configure challenges");
    let down = events(&mut l).into_iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause),
        _ => None,
    });
    assert_eq!(down.map(|c| c.code), Some(DisconnectCode::AuthTimeout));
    assert!(now > T0);
}

#[test]
fn retransmitted_challenge_has_a_new_identifier() {
    // RFC 1994 §4.1: "The Identifier field MUST be changed each time a
    // Challenge is sent"; a Response to the superseded one is ignored and the
    // Response to the current one is judged against the current value.
    let (mut l, mut e, sent) = lns_after_lcp(lns_cfg(vec![AuthMethod::ChapMd5]));
    let parse = |f: &Vec<u8>| match ChapPacket::parse(&f[4..]) {
        Ok(ChapPacket::Challenge {
            identifier, value, ..
        }) => Some((identifier, value)),
        _ => None,
    };
    let (id1, v1) = sent
        .iter()
        .filter(|f| f[2..4] == [0xc2, 0x23])
        .find_map(parse)
        .expect("first challenge");
    let t = l.poll_timeout().expect("retransmission timer");
    l.handle_timeout(t, &mut e);
    let (id2, v2) = drain(&mut l)
        .iter()
        .filter(|f| f[2..4] == [0xc2, 0x23])
        .find_map(parse)
        .expect("retransmitted challenge");
    assert_ne!(id1, id2, "a new identifier on retransmission");
    assert_ne!(v1, v2, "a fresh challenge value");
    events(&mut l);
    let late = ChapPacket::Response {
        identifier: id1,
        value: md5_response(id1, b"pw", &v1).to_vec(),
        name: b"carol".to_vec(),
    };
    l.handle_frame(t, &frame(0xc223, &late.to_bytes()), &mut e);
    assert!(events(&mut l).is_empty(), "stale identifier ignored");
    let current = ChapPacket::Response {
        identifier: id2,
        value: md5_response(id2, b"pw", &v2).to_vec(),
        name: b"carol".to_vec(),
    };
    l.handle_frame(t, &frame(0xc223, &current.to_bytes()), &mut e);
    assert!(
        events(&mut l).contains(&LinkEvent::AuthRequest(AuthRequest::Chap {
            name: b"carol".to_vec(),
            identifier: id2,
            challenge: v2.clone(),
            response: md5_response(id2, b"pw", &v2).to_vec(),
        }))
    );
}

#[test]
fn ipcp_waits_for_the_assignment_then_naks_pppd_to_it() {
    // RFC 1332 §3.3, RFC 1877: pppd asks 0.0.0.0 + DNS 0.0.0.0 (REFERENCE.md).
    let (mut l, mut e) = lns_in_network();
    let pppd = frame(
        0x8021,
        &packet(
            0x01,
            1,
            &[
                0x03, 0x06, 0, 0, 0, 0, 0x81, 0x06, 0, 0, 0, 0, 0x83, 0x06, 0, 0, 0, 0,
            ],
        ),
    );
    l.handle_frame(T0, &pppd, &mut e);
    assert!(drain(&mut l).is_empty(), "held until the caller assigns");
    l.ipv4_assigned(
        T0,
        Ipv4Addr::new(100, 64, 1, 2),
        [
            Some(Ipv4Addr::new(9, 9, 9, 9)),
            Some(Ipv4Addr::new(1, 1, 1, 1)),
        ],
    );
    let nak = frame(
        0x8021,
        &packet(
            0x03,
            1,
            &[
                0x03, 0x06, 100, 64, 1, 2, 0x81, 0x06, 9, 9, 9, 9, 0x83, 0x06, 1, 1, 1, 1,
            ],
        ),
    );
    assert_eq!(drain(&mut l), vec![nak]);
}

#[test]
fn ipcp_request_without_address_gets_it_appended_to_a_nak() {
    // RFC 1332 §3.3: "If negotiation about the remote IP-address is
    // required, and the peer did not provide the option in its
    // Configure-Request, the option SHOULD be appended to a Configure-Nak."
    let (mut l, mut e) = lns_in_network();
    l.ipv4_assigned(T0, Ipv4Addr::new(100, 64, 1, 2), [None, None]);
    drain(&mut l);
    let silent = frame(0x8021, &packet(0x01, 7, &[]));
    l.handle_frame(T0, &silent, &mut e);
    let nak = frame(0x8021, &packet(0x03, 7, &[0x03, 0x06, 100, 64, 1, 2]));
    assert_eq!(drain(&mut l), vec![nak]);
    // The peer adopts it: acked.
    let adopted = frame(0x8021, &packet(0x01, 8, &[0x03, 0x06, 100, 64, 1, 2]));
    l.handle_frame(T0, &adopted, &mut e);
    let ack = frame(0x8021, &packet(0x02, 8, &[0x03, 0x06, 100, 64, 1, 2]));
    assert!(drain(&mut l).contains(&ack));
}

#[test]
fn only_the_peers_ipcp_request_asks_for_an_ipv4_address() {
    // RFC 1332 §3.3: the peer asks for its address in its IPCP
    // Configure-Request; a peer that never does (IPv6 only) is never given
    // one, so the caller holds no IPv4 address for it.
    let (mut l, mut e) = lns_in_network();
    let asked = |ev: &[LinkEvent]| {
        ev.iter()
            .filter(|x| matches!(x, LinkEvent::Ipv4AddressRequest))
            .count()
    };
    let v6 = frame(
        0x8057,
        &packet(
            0x01,
            1,
            &[0x01, 0x0a, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
        ),
    );
    l.handle_frame(T0, &v6, &mut e);
    assert_eq!(asked(&events(&mut l)), 0, "IPV6CP alone asks nothing");
    let ipcp = frame(0x8021, &packet(0x01, 1, &[0x03, 0x06, 0, 0, 0, 0]));
    l.handle_frame(T0, &ipcp, &mut e);
    assert_eq!(asked(&events(&mut l)), 1);
    // A retransmission while the caller decides asks nothing more.
    l.handle_frame(T0, &ipcp, &mut e);
    assert_eq!(asked(&events(&mut l)), 0);
    drain(&mut l);
    l.ipv4_assigned(T0, Ipv4Addr::new(100, 64, 1, 2), [None, None]);
    let nak = frame(0x8021, &packet(0x03, 1, &[0x03, 0x06, 100, 64, 1, 2]));
    assert_eq!(drain(&mut l), vec![nak]);
}

#[test]
fn an_assigned_interface_id_is_naked_to_the_peer_then_acked() {
    // RFC 3162 §2.2 Framed-Interface-Id applied through RFC 5072 §4.1.
    let (mut l, mut e) = lns_in_network();
    l.assign_peer_interface_id(0x0211_22ff_fe33_4455);
    let other = [0x01, 0x0a, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    l.handle_frame(T0, &frame(0x8057, &packet(0x01, 1, &other)), &mut e);
    let ours = [0x01, 0x0a, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];
    let nak = frame(0x8057, &packet(0x03, 1, &ours));
    assert_eq!(drain(&mut l), vec![nak]);
    l.handle_frame(T0, &frame(0x8057, &packet(0x01, 2, &ours)), &mut e);
    let ack = frame(0x8057, &packet(0x02, 2, &ours));
    assert_eq!(drain(&mut l), vec![ack]);
}

#[test]
fn ipv4_refused_closes_ipcp_only() {
    let (mut l, _e) = lns_in_network();
    l.ipv4_refused(T0);
    let sent = drain(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][2..5], [0x80, 0x21, 0x05], "IPCP Terminate-Request");
    assert_eq!(l.phase(), Phase::Network);
    assert_eq!(l.ipv6cp_state(), State::ReqSent);
}

#[test]
fn protocol_reject_of_ipv6cp_stops_it() {
    // RFC 1661 §5.7: RXJ- for the rejected NCP.
    let (mut l, mut e) = lns_in_network();
    l.handle_frame(
        T0,
        &lcp(0x08, 3, &[0x80, 0x57, 0x01, 0x01, 0x00, 0x04]),
        &mut e,
    );
    assert_eq!(l.ipv6cp_state(), State::Stopped);
    assert_eq!(l.ipcp_state(), State::ReqSent);
    assert_eq!(l.lcp_state(), State::Opened);
}

#[test]
fn peer_terminate_request_gives_cause_3_from_the_peer() {
    // RFC 1661 §4.1 RTR in Opened: tld,zrc,sta/5; RFC 3145 code 3.
    let (mut l, mut e) = lns_in_network();
    l.handle_frame(T0, &lcp(0x05, 7, &[]), &mut e);
    assert_eq!(drain(&mut l), vec![lcp(0x06, 7, &[])]);
    assert_eq!(l.phase(), Phase::Terminate);
    let t = l.poll_timeout().expect("Stopping waits one restart period");
    l.handle_timeout(t, &mut e);
    let ev = events(&mut l);
    assert!(
        ev.contains(&LinkEvent::Ipv4Down)
            || !ev.iter().any(|e| matches!(e, LinkEvent::Ipv4Up { .. }))
    );
    let cause = ev.iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause.clone()),
        _ => None,
    });
    let cause = cause.expect("link down");
    assert_eq!(
        (cause.code, cause.direction),
        (DisconnectCode::Normal, Direction::Peer)
    );
    assert_eq!(l.phase(), Phase::Dead);
}

#[test]
fn close_sends_terminate_request_and_reports_the_reason() {
    // RFC 1661 §4.1 Close in Opened: tld,irc,str/4; RTA: tlf/2.
    let (mut l, mut e) = lns_in_network();
    let reason = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local);
    l.close(T0, reason.clone());
    let sent = drain(&mut l);
    let term = PacketRepr::parse(&sent[0][4..]).expect("LCP");
    assert_eq!(term.code, Code::TerminateRequest);
    l.handle_frame(T0, &lcp(0x06, term.identifier, &[]), &mut e);
    assert!(events(&mut l).contains(&LinkEvent::LinkDown { cause: reason }));
    assert_eq!(l.phase(), Phase::Dead);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn negotiated_acfc_and_pfc_are_used_on_send_but_never_for_lcp() {
    // RFC 1661 §6.5, §6.6.
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![]));
    l.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    l.handle_frame(T0, &lcp(0x01, 1, &[0x07, 0x02, 0x08, 0x02]), &mut e);
    l.handle_frame(T0, &lcp(0x02, ours.identifier, &ours.data), &mut e);
    // No authentication configured: straight to Network.
    assert_eq!(l.phase(), Phase::Network);
    let sent = drain(&mut l);
    assert!(
        sent[0].starts_with(&[0xff, 0x03, 0xc0, 0x21, 0x02]),
        "LCP keeps FF03"
    );
    let ncp: Vec<_> = sent.iter().filter(|f| f[0] != 0xff).collect();
    assert_eq!(ncp.len(), 2, "{sent:02x?}");
    assert!(ncp.iter().any(|f| f.starts_with(&[0x80, 0x21, 0x01])));
    assert!(ncp.iter().any(|f| f.starts_with(&[0x80, 0x57, 0x01])));
}

#[test]
fn own_magic_coming_back_ends_in_cause_7() {
    // RFC 1661 §6.4: a looped-back link.
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    for i in 0..10 {
        if l.phase() == Phase::Dead {
            break;
        }
        let magic = l.our_magic().to_be_bytes();
        l.handle_frame(
            T0,
            &lcp(
                0x01,
                i,
                &[0x05, 0x06, magic[0], magic[1], magic[2], magic[3]],
            ),
            &mut e,
        );
    }
    let _ = ours;
    let cause = events(&mut l).into_iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause),
        _ => None,
    });
    assert_eq!(cause.map(|c| c.code), Some(DisconnectCode::LoopedBack));
}

#[test]
fn chap_rechallenge_when_configured() {
    // RFC 1994 §2: the authenticator may re-challenge at any time.
    let mut cfg = lns_cfg(vec![AuthMethod::ChapMd5]);
    cfg.rechallenge = Some(Duration::from_secs(60));
    cfg.echo_interval = None;
    let (mut l, mut e, sent) = lns_after_lcp(cfg);
    let ch = sent
        .iter()
        .find(|f| f[2..4] == [0xc2, 0x23])
        .expect("challenge");
    let identifier = ch[5];
    let resp = ChapPacket::Response {
        identifier,
        value: vec![0; 16],
        name: b"d".to_vec(),
    };
    l.handle_frame(T0, &frame(0xc223, &resp.to_bytes()), &mut e);
    l.auth_accepted(T0, "");
    drain(&mut l);
    let t = l.auth.rechallenge_at.expect("rechallenge scheduled");
    assert_eq!(t, T0 + Duration::from_secs(60));
    l.handle_timeout(t, &mut e);
    let again = drain(&mut l);
    let ch2 = again
        .iter()
        .find(|f| f[2..5] == [0xc2, 0x23, 0x01])
        .expect("re-challenge");
    assert_ne!(ch2[5], identifier);
}

fn proxy_pap() -> ProxyInfo {
    let mut received = vec![0x02, 0x06, 0, 0, 0, 0, 0x05, 0x06];
    received.extend_from_slice(&PEER_MAGIC);
    ProxyInfo {
        initial_received_confreq: Some(received.clone()),
        last_sent_confreq: Some(vec![
            0x01, 0x04, 0x05, 0xb4, 0x03, 0x04, 0xc0, 0x23, 0x05, 0x06, 0xaa, 0xbb, 0xcc, 0xdd,
        ]),
        last_received_confreq: Some(received),
        authen_type: Some(3),
        authen_name: Some(b"eve".to_vec()),
        authen_challenge: None,
        authen_id: Some(0x0007),
        authen_response: Some(b"pw".to_vec()),
    }
}

#[test]
fn proxy_lcp_and_pap_are_adopted_without_renegotiating() {
    // RFC 2661 §4.4.5: LCP Opened as the LAC negotiated it; authentication
    // from the proxied exchange, no new challenge or request.
    let mut e = Seeded::new(1);
    let mut l = Link::new(
        Side::Lns,
        lns_cfg(vec![AuthMethod::ChapMd5, AuthMethod::Pap]),
    );
    l.open_with_proxy(T0, &proxy_pap(), &mut e);
    assert!(drain(&mut l).is_empty(), "nothing renegotiated");
    assert_eq!(l.lcp_state(), State::Opened);
    assert_eq!(l.our_magic(), 0xaabb_ccdd);
    assert_eq!(l.peer_magic(), 0x1234_5678);
    let ev = events(&mut l);
    assert!(ev.contains(&LinkEvent::AuthRequest(AuthRequest::Pap {
        name: b"eve".to_vec(),
        password: b"pw".to_vec()
    })));
    l.auth_accepted(T0, "");
    let sent = drain(&mut l);
    assert_eq!(sent[0], frame(0xc023, &[0x02, 0x07, 0x00, 0x05, 0x00]));
    assert_eq!(l.phase(), Phase::Network);
    // The adopted magic answers echoes.
    l.handle_frame(T0, &lcp(0x09, 1, &PEER_MAGIC), &mut e);
    assert_eq!(drain(&mut l), vec![lcp(0x0a, 1, &[0xaa, 0xbb, 0xcc, 0xdd])]);
}

#[test]
fn proxy_chap_is_handed_to_the_caller_with_its_challenge() {
    let mut e = Seeded::new(1);
    let mut p = proxy_pap();
    p.last_sent_confreq = Some(vec![0x03, 0x05, 0xc2, 0x23, 0x05, 0x05, 0x06, 1, 2, 3, 4]);
    p.authen_type = Some(2);
    p.authen_challenge = Some(vec![9; 16]);
    p.authen_response = Some(vec![8; 16]);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::ChapMd5]));
    l.open_with_proxy(T0, &p, &mut e);
    assert!(drain(&mut l).is_empty());
    assert!(
        events(&mut l).contains(&LinkEvent::AuthRequest(AuthRequest::Chap {
            name: b"eve".to_vec(),
            identifier: 7,
            challenge: vec![9; 16],
            response: vec![8; 16],
        }))
    );
    l.auth_rejected(T0, "no");
    let sent = drain(&mut l);
    assert_eq!(
        sent[0],
        frame(0xc223, &[0x04, 0x07, 0x00, 0x06, b'n', b'o'])
    );
}

#[test]
fn unacceptable_proxy_lcp_is_renegotiated() {
    // RFC 2661 §4.4.5: the LNS may renegotiate; MRRU (unsupported) or an
    // authentication method we do not accept forces it.
    let mut e = Seeded::new(1);
    let mut p = proxy_pap();
    p.last_received_confreq = Some(vec![0x11, 0x04, 0x05, 0xdc]);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open_with_proxy(T0, &p, &mut e);
    let sent = drain(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][2..5], [0xc0, 0x21, 0x01], "fresh Configure-Request");
    assert_eq!(l.lcp_state(), State::ReqSent);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::ChapMd5]));
    l.open_with_proxy(T0, &proxy_pap(), &mut e);
    assert_eq!(l.lcp_state(), State::ReqSent);
}

#[test]
fn proxy_lcp_without_proxy_auth_challenges() {
    let mut e = Seeded::new(1);
    let mut p = proxy_pap();
    p.last_sent_confreq = Some(vec![0x03, 0x05, 0xc2, 0x23, 0x05]);
    p.authen_type = Some(4);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::ChapMd5]));
    l.open_with_proxy(T0, &p, &mut e);
    let sent = drain(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][2..5], [0xc2, 0x23, 0x01], "a CHAP Challenge");
}

proptest! {
    #[test]
    fn no_panic_on_arbitrary_frames(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30), seed in any::<u64>()) {
        for side in [Side::Lns, Side::Subscriber] {
            let mut e = Seeded::new(seed);
            let cfg = match side {
                Side::Lns => lns_cfg(vec![AuthMethod::ChapMd5, AuthMethod::Pap]),
                Side::Subscriber => LinkConfig::subscriber(b"u", b"p"),
            };
            let mut l = Link::new(side, cfg);
            l.open(T0, &mut e);
            drain(&mut l);
            let mut now = T0;
            for f in &frames {
                // Give arbitrary bytes a PPP header half the time so they
                // reach the control protocols.
                let mut g = f.clone();
                if f.first().is_some_and(|b| b & 1 == 0) {
                    let protos: [u16; 6] = [0xc021, 0xc023, 0xc223, 0x8021, 0x8057, 0x80fd];
                    let p = protos[usize::from(f.get(1).copied().unwrap_or(0)) % protos.len()];
                    g = frame(p, f.get(2..).unwrap_or(&[]));
                }
                l.handle_frame(now, &g, &mut e);
                now = now + Duration::from_millis(500);
                l.handle_timeout(now, &mut e);
                l.auth_accepted(now, "");
                l.ipv4_assigned(now, Ipv4Addr::new(10, 0, 0, 2), [None, None]);
                drain(&mut l);
                events(&mut l);
            }
            let snap = l.snapshot();
            prop_assert_eq!(Link::restore(l.config().clone(), &snap).expect("own snapshot"), l);
        }
    }
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

#[test]
fn silent_peer_gives_cause_6_after_max_configure() {
    // RFC 1661 §4.1 TO- in Req-Sent: tlf/3; RFC 3145 code 6.
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open(T0, &mut e);
    drain(&mut l);
    let ev = run_timers(&mut l, &mut e);
    assert_eq!(
        down_cause(&ev).map(|c| c.code),
        Some(DisconnectCode::NoPppPackets)
    );
    assert_eq!(l.phase(), Phase::Dead);
}

#[test]
fn peer_rejecting_authentication_gives_cause_15() {
    // RFC 1661 §5.4 Configure-Reject of Authentication-Protocol: the LNS
    // cannot authenticate; RFC 3145 code 15.
    let mut e = Seeded::new(1);
    let mut l = Link::new(Side::Lns, lns_cfg(vec![AuthMethod::Pap]));
    l.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    l.handle_frame(
        T0,
        &lcp(0x04, ours.identifier, &[0x03, 0x04, 0xc0, 0x23]),
        &mut e,
    );
    let again = PacketRepr::parse(&drain(&mut l)[0][4..]).expect("request");
    assert!(!again.data.windows(2).any(|w| w == [0xc0, 0x23]));
    l.handle_frame(T0, &pppd_lcp_request(1), &mut e);
    l.handle_frame(T0, &lcp(0x02, again.identifier, &again.data), &mut e);
    let sent = drain(&mut l);
    assert!(
        sent.iter().any(|f| f[2..5] == [0xc0, 0x21, 0x05]),
        "Terminate-Request"
    );
    let mut ev = events(&mut l);
    ev.extend(run_timers(&mut l, &mut e));
    let cause = down_cause(&ev).expect("link down");
    assert_eq!(cause.code, DisconnectCode::AuthProtocolRefused);
    assert!(!ev
        .iter()
        .any(|e| matches!(e, LinkEvent::Authenticated { .. })));
}

#[test]
fn subscriber_authenticates_with_pap_and_adopts_ipcp_naks() {
    // RFC 1334 §2.2.1, RFC 1332 §3.3, RFC 1877: pppd-like subscriber.
    let mut e = Seeded::new(5);
    let mut s = Link::new(Side::Subscriber, LinkConfig::subscriber(b"alice", b"pw"));
    s.open(T0, &mut e);
    let ours = PacketRepr::parse(&drain(&mut s)[0][4..]).expect("request");
    // pppd-style request: ACCM 0 + magic.
    assert!(ours.data.starts_with(&[0x02, 0x06, 0, 0, 0, 0, 0x05, 0x06]));
    s.handle_frame(
        T0,
        &lcp(0x01, 1, &[0x03, 0x04, 0xc0, 0x23, 0x05, 0x06, 1, 2, 3, 4]),
        &mut e,
    );
    s.handle_frame(T0, &lcp(0x02, ours.identifier, &ours.data), &mut e);
    let sent = drain(&mut s);
    let pap = sent
        .iter()
        .find(|f| f[2..4] == [0xc0, 0x23])
        .expect("PAP request");
    assert_eq!(
        PapPacket::parse(&pap[4..]).expect("PAP"),
        PapPacket::Request {
            identifier: 0,
            peer_id: b"alice".to_vec(),
            password: b"pw".to_vec()
        }
    );
    s.handle_frame(T0, &frame(0xc023, &[0x02, 0x00, 0x00, 0x05, 0x00]), &mut e);
    assert_eq!(s.phase(), Phase::Network);
    let sent = drain(&mut s);
    let ipcp = sent
        .iter()
        .find(|f| f[2..4] == [0x80, 0x21])
        .expect("IPCP request");
    let req = PacketRepr::parse(&ipcp[4..]).expect("IPCP");
    let nak = [
        0x03, 0x06, 10, 0, 0, 7, 0x81, 0x06, 9, 9, 9, 9, 0x83, 0x06, 8, 8, 8, 8,
    ];
    s.handle_frame(
        T0,
        &frame(0x8021, &packet(0x03, req.identifier, &nak)),
        &mut e,
    );
    let again = drain(&mut s);
    let req2 = PacketRepr::parse(&again[0][4..]).expect("IPCP");
    assert_eq!(req2.data, nak);
    s.handle_frame(
        T0,
        &frame(0x8021, &packet(0x01, 1, &[0x03, 0x06, 10, 0, 0, 1])),
        &mut e,
    );
    s.handle_frame(
        T0,
        &frame(0x8021, &packet(0x02, req2.identifier, &nak)),
        &mut e,
    );
    assert!(events(&mut s).contains(&LinkEvent::Ipv4Up {
        local: Ipv4Addr::new(10, 0, 0, 7),
        peer: Ipv4Addr::new(10, 0, 0, 1),
        dns: [
            Some(Ipv4Addr::new(9, 9, 9, 9)),
            Some(Ipv4Addr::new(8, 8, 8, 8))
        ],
    }));
}

#[test]
fn drained_output_queues_hold_no_buffer() {
    // Issue 5 (memory per session): an established link between bursts
    // keeps no queue buffer; what was queued is still delivered in order.
    let (mut l, _) = lns_in_network();
    assert_eq!((l.transmit.capacity(), l.events.capacity()), (0, 0));
    l.handle_frame(T0, &lcp(0x09, 7, &PEER_MAGIC), &mut Seeded::new(2));
    assert!(l.transmit.capacity() > 0);
    let replies = drain(&mut l);
    assert_eq!(replies.len(), 1, "one Echo-Reply");
    assert_eq!(replies[0][4..6], [0x0a, 7]);
    assert_eq!(l.transmit.capacity(), 0);
}

#[test]
fn a_closing_cause_survives_until_link_down() {
    // RFC 1661 §4.1 Close: the cause given to close() is the one
    // LinkDown carries (it is kept boxed while LCP terminates).
    let (mut l, _) = lns_in_network();
    let cause = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local)
        .with_message("admin");
    l.close(T0, cause.clone());
    l.handle_frame(T0, &lcp(0x06, l.lcp.terminate_id, &[]), &mut Seeded::new(3));
    let down = events(&mut l).into_iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause),
        _ => None,
    });
    assert_eq!(down, Some(cause));
}
