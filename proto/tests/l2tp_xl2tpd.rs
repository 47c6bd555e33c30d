//! A scripted exchange with the bytes xl2tpd 1.3.18 sends (REFERENCE.md):
//! SCCRQ without Challenge, SCCCN, ICRQ, ICCN. The LNS must answer each
//! the RFC 2661 way (§7.2.1, §7.4.1) and report the call as xl2tpd sent it.

use lns_proto::entropy::Seeded;
use lns_proto::l2tp::header::HeaderView;
use lns_proto::l2tp::message::{parse_control, MessageType};
use lns_proto::l2tp::{Endpoint, EndpointConfig, Event, Side};
use lns_proto::time::Timestamp;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

const LAC: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 1701));
const LNS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 1701));

/// Rewrites a captured control message's tunnel id, session id, Ns and Nr.
fn readdress(bytes: &[u8], tid: u16, sid: u16, ns: u16, nr: u16) -> Vec<u8> {
    let mut d = bytes.to_vec();
    d[4..6].copy_from_slice(&tid.to_be_bytes());
    d[6..8].copy_from_slice(&sid.to_be_bytes());
    d[8..10].copy_from_slice(&ns.to_be_bytes());
    d[10..12].copy_from_slice(&nr.to_be_bytes());
    d
}

fn feed(lns: &mut Endpoint, now: Timestamp, d: &[u8]) -> Vec<Vec<u8>> {
    let mut e = Seeded::new(11);
    lns.handle_datagram(now, LNS, LAC, d, &mut e);
    std::iter::from_fn(|| lns.poll_transmit())
        .map(|t| t.payload)
        .collect()
}

#[test]
fn xl2tpd_session_setup() {
    let t0 = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));

    // SCCRQ (Ns 0) -> SCCRP (Ns 0, Nr 1) to the LAC's Assigned Tunnel ID 0x4a1f.
    let tx = feed(&mut lns, t0, include_bytes!("data/xl2tpd_sccrq.bin"));
    let (h, m) = parse_control(&tx[0], None).expect("SCCRP");
    let sccrp = m.expect("message");
    assert_eq!(sccrp.message_type, MessageType::Sccrp);
    assert_eq!(
        (h.tunnel_id, h.sequence.map(|s| (s.ns, s.nr))),
        (0x4a1f, Some((0, 1)))
    );
    let ours = sccrp.assigned_tunnel_id().expect("our id");

    // SCCCN (Ns 1, Nr 1): established; nothing to piggyback, so a ZLB after the ack delay.
    let scccn = [
        0xc8, 0x02, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x80, 0x08, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x03,
    ];
    assert!(feed(&mut lns, t0, &readdress(&scccn, ours, 0, 1, 1)).is_empty());
    let up = std::iter::from_fn(|| lns.poll_event()).find_map(|e| match e {
        Event::TunnelUp {
            peer_host_name,
            peer,
            ..
        } => Some((peer_host_name, peer)),
        _ => None,
    });
    assert_eq!(up, Some((b"lac1".to_vec(), LAC)));
    let mut e = Seeded::new(3);
    lns.handle_timeout(t0 + Duration::from_millis(100), &mut e);
    let zlb = lns.poll_transmit().expect("ZLB");
    assert!(HeaderView::new_checked(&zlb.payload).expect("ok").is_zlb());

    // ICRQ (Ns 2, Nr 1) -> ICRP to xl2tpd's session 0x2b67.
    let tx = feed(
        &mut lns,
        t0,
        &readdress(include_bytes!("data/xl2tpd_icrq.bin"), ours, 0, 2, 1),
    );
    let (h, m) = parse_control(&tx[0], None).expect("ICRP");
    let icrp = m.expect("message");
    assert_eq!(icrp.message_type, MessageType::Icrp);
    assert_eq!(
        (h.session_id, h.sequence.map(|s| (s.ns, s.nr))),
        (0x2b67, Some((1, 3)))
    );
    let our_session = icrp.assigned_session_id().expect("session id");
    assert_ne!(our_session, 0);

    // ICCN (Ns 3, Nr 2) -> SessionUp with xl2tpd's call parameters.
    let iccn = readdress(
        include_bytes!("data/xl2tpd_iccn.bin"),
        ours,
        our_session,
        3,
        2,
    );
    assert!(feed(&mut lns, t0, &iccn).is_empty());
    let (route, call) = std::iter::from_fn(|| lns.poll_event())
        .find_map(|e| match e {
            Event::SessionUp { route, call, .. } => Some((route, call)),
            _ => None,
        })
        .expect("session up");
    assert_eq!(
        (route.peer_tunnel_id, route.peer_session_id),
        (0x4a1f, 0x2b67)
    );
    assert_eq!(call.call_serial, 1);
    assert_eq!(call.bearer_type, Some(0));
    assert_eq!(call.tx_connect_speed, Some(10_000_000));
    assert_eq!(call.rx_connect_speed, Some(10_000_000));
    assert_eq!(call.framing_type, Some(1));
    assert_eq!(
        call.proxy_info().authen_type,
        None,
        "xl2tpd sends no proxy AVPs"
    );
}
