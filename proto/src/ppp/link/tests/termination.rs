//! How a link ends (RFC 1661 §4.1) and the RFC 3145 cause it reports: the
//! peer's Terminate-Request, our close, a silent peer.

use super::*;
use crate::ppp::packet::Code;

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
fn a_closing_cause_survives_until_link_down() {
    // RFC 1661 §4.1 Close: the cause given to close() is the one
    // LinkDown carries (it is kept boxed while LCP terminates).
    let (mut l, _) = lns_in_network();
    let cause = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local)
        .with_message("admin");
    l.close(T0, cause.clone());
    let terminate_id = l.core().lcp.terminate_id;
    l.handle_frame(T0, &lcp(0x06, terminate_id, &[]), &mut Seeded::new(3));
    let down = events(&mut l).into_iter().find_map(|e| match e {
        LinkEvent::LinkDown { cause } => Some(cause),
        _ => None,
    });
    assert_eq!(down, Some(cause));
}
