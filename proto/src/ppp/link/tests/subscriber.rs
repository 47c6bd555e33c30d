//! The subscriber side (`Side::Subscriber`, the test LAC's pppd): PAP, then
//! IPCP adopting the LNS's Naks (RFC 1334 §2.2.1, RFC 1332 §3.3, RFC 1877).

use super::*;

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
