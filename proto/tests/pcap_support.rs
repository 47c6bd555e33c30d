//! Checks the pcap writer itself: tshark reads back a hand-built L2TP ZLB
//! (RFC 2661 §5.8) and an L2TP data message carrying an LCP Echo-Request.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::{pcap::PcapWriter, tshark};

#[test]
fn tshark_reads_our_pcap_and_flags_a_malformed_packet() {
    if !tshark::available() {
        eprintln!("SKIPPED: tshark is not installed (chaos-tests/bin/setup installs it)");
        return;
    }
    let lac = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 1701);
    let lns = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 1701);
    let mut w = PcapWriter::new();
    // ZLB: T=1 L=1 S=1, ver 2, length 12, tunnel 1, session 0, Ns 1, Nr 1.
    w.udp(
        1_000_000,
        lac,
        lns,
        &[
            0xc8, 0x02, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
        ],
    );
    // Data: no flags, tunnel 1 session 2, PPP FF03 LCP Echo-Request id 1 magic 0x01020304.
    w.udp(
        1_000_100,
        lac,
        lns,
        &[
            0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08,
            0x01, 0x02, 0x03, 0x04,
        ],
    );
    let dir = std::env::temp_dir().join(format!("lns-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.pcap");
    w.write_to(&good).expect("write pcap");
    let v = tshark::decode(&good).expect("tshark present");
    assert_eq!(v.frames, 2, "{}", v.decode);
    assert!(
        v.problems.is_empty(),
        "unexpected problems: {:?}",
        v.problems
    );
    assert!(
        v.decode.contains("Layer 2 Tunneling Protocol"),
        "{}",
        v.decode
    );
    assert!(v.decode.contains("Echo Request"), "{}", v.decode);

    // A control message whose Length field claims more than the datagram has:
    // the checker must notice, or it could never fail.
    let mut bad = PcapWriter::new();
    bad.udp(
        1,
        lac,
        lns,
        &[
            0xc8, 0x02, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x08,
        ],
    );
    let bad_path = dir.join("bad.pcap");
    bad.write_to(&bad_path).expect("write pcap");
    let v = tshark::decode(&bad_path).expect("tshark present");
    assert!(
        !v.problems.is_empty(),
        "malformed packet not flagged:\n{}",
        v.decode
    );
    std::fs::remove_dir_all(&dir).ok();
}
