//! Engine tests: `[[listen]] host_name`. RFC 2661 §4.4.3: the Host Name
//! AVP of our SCCRP is the name of the address the LAC's SCCRQ reached
//! (an LNS reachable under several names), `node.host_name` elsewhere.

use super::*;
use lns_proto::l2tp::message::parse_control;

const LNS_B: &str = "198.51.100.2:1701";

/// The SCCRP the engine sends to a LAC whose SCCRQ reached `lns`.
fn sccrp_via(lns: &str) -> Vec<u8> {
    let mut cfg = config();
    cfg.endpoint.local_host_names = vec![(addr(LNS), b"lns1-a".to_vec())];
    let mut sim = Sim::new(cfg);
    sim.lac
        .open_tunnel(
            sim.now,
            addr(LAC),
            addr(lns),
            PeerSettings::open(),
            &mut sim.e,
        )
        .expect("open tunnel");
    let sccrq = sim.lac.poll_transmit().expect("SCCRQ");
    sim.apply(Input::L2tpDatagram {
        local: sccrq.peer,
        peer: sccrq.local,
        bytes: sccrq.payload,
    });
    std::iter::from_fn(|| sim.engine.poll_output())
        .find_map(|o| match o {
            Output::SendL2tp(t) => {
                assert_eq!(t.local, addr(lns), "the reply leaves from that address");
                Some(t.payload)
            }
            _ => None,
        })
        .expect("SCCRP")
}

/// RFC 2661 §4.4.3 Host Name AVP: M bit, length, vendor 0, type 7, name.
fn host_name_avp(name: &[u8]) -> Vec<u8> {
    let len = 6 + name.len();
    let mut avp = vec![0x80 | (len >> 8) as u8, len as u8, 0x00, 0x00, 0x00, 0x07];
    avp.extend_from_slice(name);
    avp
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_sccrp_carries_the_host_name_of_the_address_the_lac_reached() {
    let a = sccrp_via(LNS);
    assert!(contains(&a, &host_name_avp(b"lns1-a")), "{a:02x?}");
    assert!(!contains(&a, &host_name_avp(b"lns1")), "{a:02x?}");
    let (_, m) = parse_control(&a, None).expect("a control message");
    assert_eq!(m.expect("not a ZLB").host_name(), Some(&b"lns1-a"[..]));

    // An address without its own name announces node.host_name.
    let b = sccrp_via(LNS_B);
    assert!(contains(&b, &host_name_avp(b"lns1")), "{b:02x?}");
    let (_, m) = parse_control(&b, None).expect("a control message");
    assert_eq!(m.expect("not a ZLB").host_name(), Some(&b"lns1"[..]));
}
