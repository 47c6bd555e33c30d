//! LCP on the LNS side (RFC 1661 §5, §6): pppd's request acked, rejects,
//! echoes, Code-Reject and Protocol-Reject, phases, ACFC/PFC, looped-back links.

use super::*;
use crate::ppp::packet::Code;

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
    let (_, _, ours, again) = lns_lcp_request_rejected(&[0x11, 0x04, 0x05, 0xdc]);
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
