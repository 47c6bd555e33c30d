//! Authentication by the LNS: PAP (RFC 1334 §2), CHAP-MD5 (RFC 1994 §4)
//! with retransmissions and re-challenges, and a peer refusing to authenticate.

use super::*;
use crate::ppp::chap::{md5_response, ChapPacket};
use core::time::Duration;

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
    let t = l.core().auth.rechallenge_at.expect("rechallenge scheduled");
    assert_eq!(t, T0 + Duration::from_secs(60));
    l.handle_timeout(t, &mut e);
    let again = drain(&mut l);
    let ch2 = again
        .iter()
        .find(|f| f[2..5] == [0xc2, 0x23, 0x01])
        .expect("re-challenge");
    assert_ne!(ch2[5], identifier);
}

#[test]
fn peer_rejecting_authentication_gives_cause_15() {
    // RFC 1661 §5.4 Configure-Reject of Authentication-Protocol: the LNS
    // cannot authenticate; RFC 3145 code 15.
    let (mut l, mut e, _, again) = lns_lcp_request_rejected(&[0x03, 0x04, 0xc0, 0x23]);
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
