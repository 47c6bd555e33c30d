//! Datagrams into an LNS endpoint. A valid xl2tpd SCCRQ first creates a
//! tunnel; the input is then split into datagrams (a length byte, a flag
//! byte, the bytes), optionally re-addressed to that tunnel so the fuzzer
//! reaches the tunnel and session state machines; timers run in between.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::{Endpoint, EndpointConfig, Event, Side};
use lns_proto::time::Timestamp;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

const LAC: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 1701));
const LNS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 1701));

const SCCRQ: &[u8] = &[
    0xc8, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x08, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x80, 0x08, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x80, 0x0a, 0x00, 0x00,
    0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x80, 0x0a, 0x00, 0x00, 0x00, 0x07, b'l', b'a', b'c', b'1',
    0x80, 0x08, 0x00, 0x00, 0x00, 0x09, 0x4a, 0x1f, 0x80, 0x08, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x04,
];

fuzz_target!(|data: &[u8]| {
    let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns"));
    let mut e = Seeded::new(1);
    let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
    lns.handle_datagram(now, LNS, LAC, SCCRQ, &mut e);
    let tunnel = lns.tunnels().next().map(|t| t.local_id).unwrap_or(0);
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(rest[0]).min(rest.len() - 2);
        let flags = rest[1];
        let mut d = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        if flags & 0x01 != 0 && d.len() >= 6 {
            d[4..6].copy_from_slice(&tunnel.to_be_bytes());
        }
        now = now + Duration::from_millis(u64::from(flags >> 1) * 50);
        lns.handle_datagram(now, LNS, LAC, &d, &mut e);
        if let Some(t) = lns.poll_timeout() {
            if t <= now {
                lns.handle_timeout(now, &mut e);
            }
        }
        while lns.poll_transmit().is_some() {}
        while let Some(ev) = lns.poll_event() {
            if let Event::SessionUp { tunnel, session, .. } = ev {
                assert!(lns.session_route(tunnel, session).is_some());
            }
        }
    }
    let snapshot = lns.snapshot();
    let restored = Endpoint::restore(lns.config().clone(), &snapshot).expect("own snapshot restores");
    assert_eq!(restored.snapshot(), snapshot);
});
