//! Byte-vector tests of the classifier: every route and every drop reason.

use super::*;
use crate::dataplane::SessionEntry;
use lns_proto::ppp::frame::Compression;
use proptest::prelude::*;
use std::net::Ipv4Addr;

const LAC: &str = "198.18.0.2:1701";

fn table() -> SessionTable {
    SessionTable::new().with_upsert(SessionEntry {
        tunnel_id: 0x0011,
        session_id: 0x0022,
        peer_tunnel_id: 0x0101,
        peer_session_id: 0x0202,
        peer: LAC.parse().expect("literal"),
        local: "198.18.0.1:1701".parse().expect("literal"),
        ipv4: Some(Ipv4Addr::new(198, 19, 1, 10)),
        ipv6_prefixes: vec![
            ("2001:db8:100:1::".parse().expect("literal"), 64),
            ("2001:db8:180::".parse().expect("literal"), 48),
        ],
        mru: 1400,
        compression: Compression::default(),
    })
}

fn peer(s: &str) -> SocketAddr {
    s.parse().expect("literal")
}

/// RFC 2661 §3.1 minimal data header (flags 0x0002) for (tunnel, session).
fn l2tp_data(tid: u16, sid: u16, ppp: &[u8]) -> Vec<u8> {
    let mut d = vec![0x00, 0x02];
    d.extend_from_slice(&tid.to_be_bytes());
    d.extend_from_slice(&sid.to_be_bytes());
    d.extend_from_slice(ppp);
    d
}

/// A PPP frame with FF 03 and a two-byte protocol (RFC 1661 §2).
fn ppp(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff, 0x03];
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A 28-byte IPv4/UDP packet (checksum not needed by the classifier).
fn ipv4(src: [u8; 4], dst: [u8; 4], flags_df: u8) -> Vec<u8> {
    let mut p = vec![
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, flags_df, 0x00, 0x40, 0x11, 0x00, 0x00,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&[0x13, 0x88, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00]);
    p
}

/// A 48-byte IPv6/UDP packet.
fn ipv6(src: &str, dst: &str) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0x00, 0x08, 0x11, 0x40];
    p.extend_from_slice(&src.parse::<Ipv6Addr>().expect("literal").octets());
    p.extend_from_slice(&dst.parse::<Ipv6Addr>().expect("literal").octets());
    p.extend_from_slice(&[0x13, 0x88, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00]);
    p
}

fn up(datagram: &[u8]) -> String {
    up_from(LAC, datagram)
}

fn up_from(from: &str, datagram: &[u8]) -> String {
    let t = table();
    match classify_upstream(&t, peer(from), datagram) {
        Upstream::L2tpControl => "control".into(),
        Upstream::PppControl { frame, .. } => format!("ppp {:02x?}", &datagram[frame]),
        Upstream::Ip { packet, .. } => format!("ip {}", packet.len()),
        Upstream::Ipv6Link { packet, .. } => format!("link {}", packet.len()),
        Upstream::Drop(r) => format!("drop {r:?}"),
    }
}

#[test]
fn l2tp_control_goes_to_the_control_task() {
    // RFC 2661 §3.1: T, L, S set; a ZLB (12-byte header only).
    let zlb = [
        0xc8, 0x02, 0x00, 0x0c, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
    ];
    assert_eq!(up(&zlb), "control");
    // Even from an unknown peer: the control task validates tunnels.
    assert_eq!(up_from("203.0.113.9:4000", &zlb), "control");
}

#[test]
fn ipv4_from_the_session_address_goes_to_the_tun() {
    let d = l2tp_data(
        0x11,
        0x22,
        &ppp(0x0021, &ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0x40)),
    );
    assert_eq!(up(&d), "ip 28");
}

#[test]
fn ip_range_ends_at_the_ip_length_field() {
    // Trailing padding after the IP packet is not written to the TUN.
    let mut frame = ppp(0x0021, &ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0x00));
    frame.extend_from_slice(&[0x00; 5]);
    assert_eq!(up(&l2tp_data(0x11, 0x22, &frame)), "ip 28");
}

#[test]
fn full_data_header_with_length_sequence_and_offset() {
    // RFC 2661 §3.1: L, S, O bits (flags 0x4a02), Length, Ns/Nr, Offset
    // Size 2 and two pad bytes before the PPP frame.
    let frame = ppp(0x0021, &ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0x00));
    let total = (16 + frame.len()) as u16;
    let mut d = vec![0x4a, 0x02];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[
        0x00, 0x11, 0x00, 0x22, 0x00, 0x05, 0x00, 0x00, 0x00, 0x02, 0xee, 0xee,
    ]);
    d.extend_from_slice(&frame);
    d.extend_from_slice(&[0x99; 3]); // beyond Length: ignored
    let t = table();
    match classify_upstream(&t, peer(LAC), &d) {
        Upstream::Ip { packet, .. } => assert_eq!(packet, 20..48),
        other => panic!("expected IP, got {other:?}"),
    }
}

#[test]
fn compressed_ppp_headers_are_accepted() {
    // RFC 1661 §6.5/§6.6: no FF 03, one-byte protocol 0x21.
    let mut frame = vec![0x21];
    frame.extend_from_slice(&ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0x00));
    assert_eq!(up(&l2tp_data(0x11, 0x22, &frame)), "ip 28");
}

#[test]
fn data_for_an_unknown_session_is_dropped() {
    let ip = ppp(0x0021, &ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0x00));
    assert_eq!(up(&l2tp_data(0x11, 0x23, &ip)), "drop UnknownSession");
    // The session id under another tunnel id is another session (the
    // incumbent accepts this; we do not).
    assert_eq!(up(&l2tp_data(0x12, 0x22, &ip)), "drop UnknownSession");
}

#[test]
fn data_from_another_port_or_address_is_dropped() {
    let ip = l2tp_data(
        0x11,
        0x22,
        &ppp(0x0021, &ipv4([198, 19, 1, 10], [198, 18, 1, 2], 0)),
    );
    assert_eq!(up_from("198.18.0.2:1702", &ip), "drop WrongPeer");
    assert_eq!(up_from("198.18.0.3:1701", &ip), "drop WrongPeer");
}

#[test]
fn spoofed_ipv4_is_dropped() {
    let d = l2tp_data(
        0x11,
        0x22,
        &ppp(0x0021, &ipv4([198, 19, 1, 11], [198, 18, 1, 2], 0)),
    );
    assert_eq!(up(&d), "drop Spoofed");
}

#[test]
fn ipv6_sources_link_local_link_prefix_and_delegated_prefix() {
    let send = |src: &str| {
        up(&l2tp_data(
            0x11,
            0x22,
            &ppp(0x0057, &ipv6(src, "2001:db8:1::2")),
        ))
    };
    assert_eq!(send("2001:db8:100:1::10"), "ip 48");
    assert_eq!(send("2001:db8:180:42::1"), "ip 48");
    assert_eq!(send("fe80::1234"), "ip 48");
    assert_eq!(send("febf::1"), "ip 48");
    assert_eq!(send("fec0::1"), "drop Spoofed");
    assert_eq!(send("2001:db8:100:2::10"), "drop Spoofed");
    assert_eq!(send("2001:db8:181::1"), "drop Spoofed");
}

#[test]
fn ipv6_to_link_scope_destinations_is_for_the_lns() {
    let send = |src: &str, dst: &str| up(&l2tp_data(0x11, 0x22, &ppp(0x0057, &ipv6(src, dst))));
    // RFC 4861 §6.3.7 Router Solicitation to all-routers; DHCPv6 (RFC 8415
    // §7.1) to All_DHCP_Relay_Agents_and_Servers; unicast to our link-local.
    assert_eq!(send("fe80::1234", "ff02::2"), "link 48");
    assert_eq!(send("fe80::1234", "ff02::1:2"), "link 48");
    assert_eq!(send("fe80::1234", "fe80::1"), "link 48");
    assert_eq!(send("2001:db8:100:1::10", "ff02::16"), "link 48");
    // RFC 4862 §5.4.2: a DAD probe from :: to the solicited-node group.
    assert_eq!(send("::", "ff02::1:ff00:1234"), "link 48");
    // :: toward anything else is spoofed; wider multicast scopes are routed.
    assert_eq!(send("::", "2001:db8:1::2"), "drop Spoofed");
    assert_eq!(send("2001:db8:100:1::10", "ff05::1:3"), "ip 48");
    // Spoofed sources stay spoofed on the link too.
    assert_eq!(send("2001:db8:999::1", "ff02::2"), "drop Spoofed");
}

#[test]
fn ppp_control_protocols_go_to_the_control_task() {
    // LCP Echo-Request (RFC 1661 §5.8), PAP, CHAP, IPCP, IPV6CP, CCP and an
    // unknown protocol (answered by the link with Protocol-Reject).
    for proto in [0xc021u16, 0xc023, 0xc223, 0x8021, 0x8057, 0x80fd, 0x8281] {
        let frame = ppp(proto, &[0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00]);
        let got = up(&l2tp_data(0x11, 0x22, &frame));
        assert_eq!(got, format!("ppp {:02x?}", frame), "protocol {proto:#06x}");
    }
}

#[test]
fn ppp_control_from_the_wrong_peer_is_dropped() {
    let frame = ppp(0xc021, &[0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]);
    assert_eq!(
        up_from("198.18.0.9:1701", &l2tp_data(0x11, 0x22, &frame)),
        "drop WrongPeer"
    );
}

#[test]
fn malformed_datagrams_are_dropped() {
    assert_eq!(up(&[]), "drop Malformed");
    assert_eq!(up(&[0x00, 0x02, 0x00]), "drop Malformed");
    // L bit with a Length beyond the datagram (the incumbent reads stale bytes).
    assert_eq!(
        up(&[0x40, 0x02, 0x00, 0xff, 0x00, 0x11, 0x00, 0x22, 0xff]),
        "drop Malformed"
    );
    // Empty PPP frame; protocol field with an even low octet (RFC 1661 §2).
    assert_eq!(up(&l2tp_data(0x11, 0x22, &[])), "drop Malformed");
    assert_eq!(
        up(&l2tp_data(0x11, 0x22, &[0xff, 0x03, 0x00, 0x20])),
        "drop Malformed"
    );
    // Truncated IPv4; an IPv6 packet inside PPP protocol IPv4.
    assert_eq!(
        up(&l2tp_data(0x11, 0x22, &ppp(0x0021, &[0x45, 0x00]))),
        "drop Malformed"
    );
    let v6 = ipv6("2001:db8:100:1::10", "2001:db8:1::2");
    assert_eq!(
        up(&l2tp_data(0x11, 0x22, &ppp(0x0021, &v6))),
        "drop Malformed"
    );
}

#[test]
fn other_l2tp_versions_are_dropped() {
    // L2TPv3 over UDP (RFC 3931 §4.1.2.1: version 3) and L2F (version 1).
    assert_eq!(
        up(&[0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]),
        "drop WrongVersion"
    );
    assert_eq!(
        up(&[0xc8, 0x03, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0]),
        "drop WrongVersion"
    );
    assert_eq!(
        up(&[0x00, 0x01, 0x00, 0x11, 0x00, 0x22]),
        "drop WrongVersion"
    );
}

fn down(packet: &[u8]) -> String {
    let t = table();
    match classify_downstream(&t, packet) {
        Downstream::Forward {
            protocol,
            len,
            slot,
        } => {
            format!("forward {protocol:?} {len} to {}", slot.entry.session_id)
        }
        Downstream::TooBig { slot } => format!("too big for {}", slot.entry.session_id),
        Downstream::Drop(r) => format!("drop {r:?}"),
    }
}

/// An IPv4 packet of `total` bytes (zero payload) with DF as given.
fn big_ipv4(dst: [u8; 4], total: u16, df: u8) -> Vec<u8> {
    let mut p = ipv4([198, 18, 1, 2], dst, df);
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p.resize(usize::from(total), 0);
    p
}

#[test]
fn downstream_lookups_by_destination() {
    assert_eq!(
        down(&ipv4([198, 18, 1, 2], [198, 19, 1, 10], 0)),
        "forward Ipv4 28 to 34"
    );
    assert_eq!(
        down(&ipv4([198, 18, 1, 2], [198, 19, 1, 11], 0)),
        "drop NoRoute"
    );
    assert_eq!(
        down(&ipv6("2001:db8:1::2", "2001:db8:100:1::99")),
        "forward Ipv6 48 to 34"
    );
    assert_eq!(
        down(&ipv6("2001:db8:1::2", "2001:db8:180:7::1")),
        "forward Ipv6 48 to 34"
    );
    assert_eq!(
        down(&ipv6("2001:db8:1::2", "2001:db8:100:2::1")),
        "drop NoRoute"
    );
}

#[test]
fn downstream_larger_than_the_mru() {
    // MRU 1400: DF set -> ICMP; DF clear -> forwarded whole; at the MRU -> fine.
    assert_eq!(
        down(&big_ipv4([198, 19, 1, 10], 1401, 0x40)),
        "too big for 34"
    );
    assert_eq!(
        down(&big_ipv4([198, 19, 1, 10], 1401, 0x00)),
        "forward Ipv4 1401 to 34"
    );
    // Beyond 1500 (RFC 1661 §6.1) even DF clear is too big (and no ICMP).
    assert_eq!(
        down(&big_ipv4([198, 19, 1, 10], 1501, 0x00)),
        "too big for 34"
    );
    assert_eq!(
        down(&big_ipv4([198, 19, 1, 10], 1400, 0x40)),
        "forward Ipv4 1400 to 34"
    );
    let mut v6 = ipv6("2001:db8:1::2", "2001:db8:100:1::99");
    v6[4..6].copy_from_slice(&1361u16.to_be_bytes());
    v6.resize(1401, 0);
    assert_eq!(down(&v6), "too big for 34");
}

#[test]
fn downstream_malformed() {
    assert_eq!(down(&[]), "drop Malformed");
    assert_eq!(down(&[0x45, 0x00, 0x00]), "drop Malformed");
    assert_eq!(down(&[0x50; 40]), "drop Malformed");
    assert_eq!(down(&[0x60; 20]), "drop Malformed");
}

proptest! {
    #[test]
    fn upstream_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let t = table();
        if let Upstream::Ip { packet, .. } | Upstream::PppControl { frame: packet, .. } =
            classify_upstream(&t, peer(LAC), &bytes)
        {
            prop_assert!(packet.end <= bytes.len());
        }
    }

    #[test]
    fn upstream_data_headers_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        // Valid header for the session: the PPP/IP layers get the fuzz.
        let t = table();
        let d = l2tp_data(0x11, 0x22, &tail);
        if let Upstream::Ip { packet, .. } = classify_upstream(&t, peer(LAC), &d) {
            prop_assert!(packet.end <= d.len());
        }
    }

    #[test]
    fn downstream_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let t = table();
        if let Downstream::Forward { len, .. } = classify_downstream(&t, &bytes) {
            prop_assert!(len <= bytes.len());
        }
    }
}
