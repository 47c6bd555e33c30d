//! Proxy LCP and proxy authentication handed over by the LAC (RFC 2661
//! §4.4.5): adopted when acceptable, renegotiated otherwise.

use super::*;

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
