//! The network control protocols on the LNS side: IPCP address and DNS
//! assignment (RFC 1332, RFC 1877), IPV6CP interface identifiers (RFC 5072),
//! an NCP refused or Protocol-Rejected.

use super::*;

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
