//! tshark decodes the PPP frames both sides of a link emit, inside L2TP
//! data messages (RFC 2661 §5.3 header written by hand: no L2TP code
//! involved), with no malformed packet or expert error. Prints SKIPPED
//! without tshark.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lns_proto::entropy::Seeded;
use lns_proto::ppp::chap::md5_response;
use lns_proto::ppp::{
    emit_frame, AuthMethod, AuthRequest, Compression, FieldCompression, Link, LinkConfig,
    LinkEvent, Protocol, Side,
};
use lns_proto::time::Timestamp;
use support::{pcap::PcapWriter, tshark};

/// L2TP data header: flags/version 0x0002 (T=0, L=0, S=0, Ver 2), tunnel
/// id, session id.
fn l2tp_data(tunnel: u16, session: u16, ppp: &[u8]) -> Vec<u8> {
    let mut d = vec![0x00, 0x02];
    d.extend_from_slice(&tunnel.to_be_bytes());
    d.extend_from_slice(&session.to_be_bytes());
    d.extend_from_slice(ppp);
    d
}

/// Runs a lossless LNS <-> subscriber exchange and returns every frame as
/// (time, from LNS?, bytes).
fn exchange(
    method: AuthMethod,
    password: &[u8],
    compression: Compression,
) -> Vec<(Timestamp, bool, Vec<u8>)> {
    let mut lns_cfg = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
    lns_cfg.auth_order = vec![method];
    let mut sub_cfg = LinkConfig::subscriber(b"alice", password);
    sub_cfg.echo_interval = Some(Duration::from_secs(5));
    sub_cfg.request_compression = compression;
    let mut lns = Link::new(Side::Lns, lns_cfg);
    let mut sub = Link::new(Side::Subscriber, sub_cfg);
    let (mut el, mut es) = (Seeded::new(1), Seeded::new(2));
    let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
    let end = now + Duration::from_secs(40);
    lns.open(now, &mut el);
    sub.open(now, &mut es);
    let mut log = Vec::new();
    let mut to_lns: Vec<Vec<u8>> = Vec::new();
    let mut to_sub: Vec<Vec<u8>> = Vec::new();
    loop {
        loop {
            let mut moved = false;
            while let Some(f) = lns.poll_transmit() {
                log.push((now, true, f.clone()));
                to_sub.push(f);
                moved = true;
            }
            while let Some(f) = sub.poll_transmit() {
                log.push((now, false, f.clone()));
                to_lns.push(f);
                moved = true;
            }
            while let Some(ev) = lns.poll_event() {
                moved = true;
                match ev {
                    LinkEvent::AuthRequest(AuthRequest::Pap { password, .. }) => {
                        if password == b"secret" {
                            lns.auth_accepted(now, "welcome");
                        } else {
                            lns.auth_rejected(now, "denied");
                        }
                    }
                    LinkEvent::AuthRequest(AuthRequest::Chap {
                        identifier,
                        challenge,
                        response,
                        ..
                    }) => {
                        if response == md5_response(identifier, b"secret", &challenge) {
                            lns.auth_accepted(now, "welcome");
                        } else {
                            lns.auth_rejected(now, "denied");
                        }
                    }
                    LinkEvent::Ipv4AddressRequest => lns.ipv4_assigned(
                        now,
                        Ipv4Addr::new(100, 64, 1, 2),
                        [Some(Ipv4Addr::new(192, 0, 2, 53)), None],
                    ),
                    _ => {}
                }
            }
            while sub.poll_event().is_some() {}
            for f in std::mem::take(&mut to_lns) {
                lns.handle_frame(now, &f, &mut el);
                moved = true;
            }
            for f in std::mem::take(&mut to_sub) {
                sub.handle_frame(now, &f, &mut es);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        let next = [lns.poll_timeout(), sub.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= end => {
                now = now.max(t);
                lns.handle_timeout(now, &mut el);
                sub.handle_timeout(now, &mut es);
            }
            _ => break,
        }
    }
    // A CCP request in the Network phase gets a Protocol-Reject.
    lns.handle_frame(
        now,
        &[0xff, 0x03, 0x80, 0xfd, 0x01, 0x01, 0x00, 0x04],
        &mut el,
    );
    log.push((
        now,
        false,
        vec![0xff, 0x03, 0x80, 0xfd, 0x01, 0x01, 0x00, 0x04],
    ));
    while let Some(f) = lns.poll_transmit() {
        log.push((now, true, f));
    }
    log
}

#[test]
fn tshark_decodes_our_ppp_frames_without_errors() {
    if !tshark::available() {
        eprintln!("SKIPPED: tshark is not installed (chaos-tests/bin/setup installs it)");
        return;
    }
    let lac = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 1701);
    let lns = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 1701);
    let mut w = PcapWriter::new();
    let mut count = 0;
    let both = Compression {
        address_control: FieldCompression::On,
        protocol: FieldCompression::On,
    };
    let mut compressed = 0;
    for (method, password, compression) in [
        (AuthMethod::Pap, &b"secret"[..], Compression::default()),
        (AuthMethod::ChapMd5, &b"secret"[..], both),
        (AuthMethod::Pap, &b"wrong"[..], Compression::default()),
        (AuthMethod::ChapMd5, &b"wrong"[..], Compression::default()),
    ] {
        for (t, from_lns, frame) in exchange(method, password, compression) {
            if frame[0] != 0xff {
                compressed += 1;
            }
            let (src, dst, session) = if from_lns {
                (lns, lac, 7)
            } else {
                (lac, lns, 9)
            };
            w.udp(t.unix_micros(), src, dst, &l2tp_data(3, session, &frame));
            count += 1;
        }
    }
    // RFC 1661 §6.6: once negotiated, the LNS omits FF03 on non-LCP frames.
    assert!(compressed > 0);
    // A datagram framed for the data plane with ACFC and PFC (one-byte
    // protocol 0x21, RFC 1661 §6.5): an IPv4 header, protocol 253 (testing).
    let mut ip = vec![
        0x45, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0xfd, 0x00, 0x00, 100, 64, 1, 2, 192,
        0, 2, 1,
    ];
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&folded.to_be_bytes());
    let mut data_frame = Vec::new();
    emit_frame(Protocol::Ipv4, &ip, both, &mut data_frame);
    assert_eq!(data_frame[0], 0x21);
    w.udp(
        1_700_000_100_000_000,
        lns,
        lac,
        &l2tp_data(3, 7, &data_frame),
    );
    count += 1;
    let dir = std::env::temp_dir().join(format!("lns-ppp-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ppp.pcap");
    w.write_to(&path).expect("write pcap");
    let v = tshark::decode(&path).expect("tshark present");
    assert_eq!(v.frames, count, "{}", v.decode);
    assert!(v.problems.is_empty(), "problems: {:?}", v.problems);
    for needle in [
        "PPP Link Control Protocol",
        "Configuration Request",
        "Configuration Ack",
        "Magic Number",
        "PPP Password Authentication Protocol",
        "PPP Challenge Handshake Authentication Protocol",
        "PPP IP Control Protocol",
        "PPP IPv6 Control Protocol",
        "Configuration Nak",
        "Echo Request",
        "Echo Reply",
        "Protocol Reject",
        "Termination Request",
        "Internet Protocol Version 4, Src: 100.64.1.2",
    ] {
        assert!(
            v.decode.contains(needle),
            "missing {needle:?} in the decode"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
