//! The datagrams `blast` sends, built once per session before the run:
//! the per-packet loop only hands prebuilt buffers to sendmmsg.
//!
//! Contract:
//! - [`upstream`]: a whole IPv4 datagram for a raw socket (`IP_HDRINCL`):
//!   outer IPv4 (RFC 791) from the LAC's tunnel socket to the LNS, UDP
//!   (RFC 768, checksum 0: none, allowed over IPv4), a minimal L2TP data
//!   header (RFC 2661 §3.1: T=0, no L/S/O bits, the LNS's tunnel and
//!   session ids), a PPP frame (RFC 1661 §2, address/control 0xff03,
//!   protocol 0x0021) and an inner IPv4/UDP packet of exactly `size` bytes
//!   from the subscriber's address to the sink.
//! - [`downstream_payload`]: the UDP payload that makes an IPv4/UDP packet
//!   of exactly `size` bytes (sent from the core to a subscriber).

use std::net::SocketAddrV4;

use lns_proto::ip::checksum::internet_checksum;
use lns_proto::l2tp::data::{data_header_len, write_data_header, DataOptions};
use lns_proto::ppp::frame::emit_frame;
use lns_proto::ppp::{Compression, Protocol};

use super::routes::Route;
use crate::lac::probe::{self, ProbeId};

/// IPv4 (20) + UDP (8) headers.
pub const IPV4_UDP_HEADERS: usize = 28;
/// The smallest inner packet [`upstream`] builds (a lac-sim probe).
pub const MIN_SIZE: usize = probe::MIN_PACKET;
/// The largest inner packet that still fits a 1 500-byte link once
/// encapsulated (outer IPv4+UDP 28, L2TP 6, PPP 4).
pub const MAX_SIZE: usize = 1500 - IPV4_UDP_HEADERS - 6 - 4;

/// The raw IPv4 datagram carrying one `size`-byte packet of `route`'s
/// subscriber to `sink` (see the module contract). `index` is written in
/// the inner payload so captures can tell sessions apart.
pub fn upstream(route: &Route, index: u32, sink: SocketAddrV4, size: usize) -> Vec<u8> {
    let size = size.clamp(MIN_SIZE, MAX_SIZE);
    let mut inner = Vec::with_capacity(size);
    probe::build(
        route.ipv4,
        sink,
        ProbeId {
            session: index,
            seq: 0,
        },
        size,
        &mut inner,
    );
    let mut frame = Vec::with_capacity(size + 4);
    emit_frame(Protocol::Ipv4, &inner, Compression::default(), &mut frame);
    let options = DataOptions::MINIMAL;
    let l2tp_len = data_header_len(options) + frame.len();
    let udp_len = 8 + l2tp_len;
    let total = 20 + udp_len;
    let mut d = Vec::with_capacity(total);
    // RFC 791 §3.1: version 4, IHL 5, total length, no fragmentation, TTL
    // 64, protocol 17 (UDP); the checksum is filled in below.
    d.extend_from_slice(&[0x45, 0x00]);
    d.extend_from_slice(&(total as u16).to_be_bytes());
    d.extend_from_slice(&[0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00]);
    d.extend_from_slice(&route.local.ip().octets());
    d.extend_from_slice(&route.lns.ip().octets());
    let sum = internet_checksum(&d[..20]);
    d[10..12].copy_from_slice(&sum.to_be_bytes());
    // RFC 768: checksum 0 means "not computed" (IPv4 only).
    d.extend_from_slice(&route.local.port().to_be_bytes());
    d.extend_from_slice(&route.lns.port().to_be_bytes());
    d.extend_from_slice(&(udp_len as u16).to_be_bytes());
    d.extend_from_slice(&[0x00, 0x00]);
    let at = d.len();
    d.resize(at + data_header_len(options), 0x00);
    let written = write_data_header(
        &mut d[at..],
        route.tunnel,
        route.session,
        options,
        frame.len(),
    );
    debug_assert_eq!(written.ok(), Some(data_header_len(options)));
    d.extend_from_slice(&frame);
    d
}

/// The UDP payload of a `size`-byte IPv4/UDP packet (zeros, at least one
/// byte).
pub fn downstream_payload(size: usize) -> Vec<u8> {
    vec![0x00; size.saturating_sub(IPV4_UDP_HEADERS).max(1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::l2tp::data::parse_data;
    use lns_proto::ppp::Frame;
    use std::net::Ipv4Addr;

    #[test]
    fn upstream_is_ipv4_udp_l2tp_ppp_around_an_exact_inner_packet() {
        let route = Route {
            local: "198.18.0.1:40001".parse().expect("literal"),
            lns: "198.18.0.2:1701".parse().expect("literal"),
            tunnel: 0x0102,
            session: 0x0304,
            ipv4: Ipv4Addr::new(198, 19, 0, 9),
        };
        let sink: SocketAddrV4 = "198.18.1.2:9".parse().expect("literal");
        for size in [64, 1400] {
            let d = upstream(&route, 3, sink, size);
            assert_eq!(d.len(), 20 + 8 + 6 + 4 + size);
            // RFC 791: the header checksum verifies; addresses are the tunnel's.
            assert_eq!(internet_checksum(&d[..20]), 0);
            assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), d.len());
            assert_eq!(&d[12..16], &[198, 18, 0, 1]);
            assert_eq!(&d[16..20], &[198, 18, 0, 2]);
            // RFC 768: ports of the tunnel, length, no checksum.
            assert_eq!(&d[20..24], &[0x9c, 0x41, 0x06, 0xa5]);
            assert_eq!(
                usize::from(u16::from_be_bytes([d[24], d[25]])),
                d.len() - 20
            );
            assert_eq!(&d[26..28], &[0x00, 0x00]);
            // RFC 2661 §3.1: a data message for the LNS's ids.
            let info = parse_data(&d[28..]).expect("an L2TP data message");
            assert_eq!((info.tunnel_id, info.session_id), (0x0102, 0x0304));
            let frame = &d[28..][info.payload];
            assert_eq!(&frame[..4], &[0xff, 0x03, 0x00, 0x21]);
            let f = Frame::new_checked(frame).expect("a PPP frame");
            assert_eq!(f.protocol(), Protocol::Ipv4);
            let inner = f.payload();
            assert_eq!(inner.len(), size);
            assert_eq!(
                &inner[12..16],
                &[198, 19, 0, 9],
                "the session's source address"
            );
            assert_eq!(&inner[16..20], &[198, 18, 1, 2]);
        }
    }

    #[test]
    fn sizes_are_kept_within_one_link_mtu() {
        let route = Route {
            local: "198.18.0.1:1".parse().expect("literal"),
            lns: "198.18.0.2:1701".parse().expect("literal"),
            tunnel: 1,
            session: 1,
            ipv4: Ipv4Addr::new(198, 19, 0, 1),
        };
        let sink: SocketAddrV4 = "198.18.1.2:9".parse().expect("literal");
        assert_eq!(upstream(&route, 0, sink, 9000).len(), 1500);
        assert_eq!(upstream(&route, 0, sink, 1).len(), 38 + MIN_SIZE);
        assert_eq!(downstream_payload(64).len() + IPV4_UDP_HEADERS, 64);
        assert_eq!(downstream_payload(10).len(), 1);
    }
}
