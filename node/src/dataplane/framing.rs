//! Downstream framing in place: PPP header (RFC 1661 §2, §6.5, §6.6) and
//! L2TP data header (RFC 2661 §3.1) written in front of a payload.
//!
//! Contract: the caller reads the payload at offset [`HEADROOM`] of its
//! buffer; [`encapsulate`] writes the headers just before it and returns the
//! start of the datagram. No allocation, no copy of the payload. The data
//! header is the minimal one (no L, S, O, P bits): the LNS does not
//! sequence data messages unless asked, which we do not support yet.

use lns_proto::l2tp::data::{write_data_header, DataOptions};
use lns_proto::ppp::{Compression, FieldCompression, Protocol};

use super::SessionEntry;

/// Bytes reserved in front of every payload: 6 (L2TP) + 4 (PPP), rounded.
pub const HEADROOM: usize = 16;

/// Whether a PPP header goes in front of the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PppHeader {
    /// Write address/control (as compression allows) and `protocol`.
    Add(Protocol),
    /// The payload already is a whole PPP frame (from the control task).
    AlreadyFramed,
}

/// What the L2TP data header and the PPP header need of a session: the
/// peer's tunnel and session ids and the send-side compression.
pub trait DataRoute {
    /// (peer tunnel id, peer session id, compression).
    fn data_route(&self) -> (u16, u16, Compression);
}

impl DataRoute for SessionEntry {
    fn data_route(&self) -> (u16, u16, Compression) {
        (self.peer_tunnel_id, self.peer_session_id, self.compression)
    }
}

/// Writes the headers for `entry` before `buf[HEADROOM..HEADROOM + len]`;
/// returns the datagram's start offset (the datagram ends at HEADROOM + len).
/// `None` only if `buf` is shorter than HEADROOM + len (a caller bug).
pub fn encapsulate(
    buf: &mut [u8],
    len: usize,
    entry: &impl DataRoute,
    ppp: PppHeader,
) -> Option<usize> {
    if buf.len() < HEADROOM + len {
        return None;
    }
    let (peer_tunnel_id, peer_session_id, compression) = entry.data_route();
    let mut start = HEADROOM;
    if let PppHeader::Add(protocol) = ppp {
        let (bytes, n) = ppp_header(protocol, compression);
        start -= n;
        buf[start..HEADROOM].copy_from_slice(&bytes[..n]);
    }
    let ppp_len = HEADROOM + len - start;
    start -= 6;
    let written = write_data_header(
        &mut buf[start..],
        peer_tunnel_id,
        peer_session_id,
        DataOptions::MINIMAL,
        ppp_len,
    )
    .ok()?;
    debug_assert_eq!(written, 6);
    Some(start)
}

/// The PPP header for `protocol` under `compression`, and its length.
fn ppp_header(protocol: Protocol, compression: Compression) -> ([u8; 4], usize) {
    let number = protocol.number();
    let is_lcp = protocol == Protocol::Lcp;
    let mut out = [0u8; 4];
    let mut n = 0;
    // RFC 1661 §6.6: ACFC never applies to LCP.
    if compression.address_control == FieldCompression::Off || is_lcp {
        out[..2].copy_from_slice(&[0xff, 0x03]);
        n = 2;
    }
    // RFC 1661 §6.5: PFC only for numbers below 0x100, never for LCP.
    if compression.protocol == FieldCompression::On && number < 0x100 && !is_lcp {
        out[n] = number as u8;
        n += 1;
    } else {
        out[n..n + 2].copy_from_slice(&number.to_be_bytes());
        n += 2;
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(compression: Compression) -> SessionEntry {
        SessionEntry {
            tunnel_id: 1,
            session_id: 2,
            peer_tunnel_id: 0x1234,
            peer_session_id: 0xabcd,
            peer: "198.18.0.2:1701".parse().expect("literal"),
            local: "198.18.0.1:1701".parse().expect("literal"),
            ipv4: None,
            ipv6_prefixes: Vec::new(),
            mru: 1500,
            compression,
        }
    }

    #[test]
    fn full_ppp_header_and_minimal_data_header() {
        let mut buf = [0u8; HEADROOM + 3];
        buf[HEADROOM..].copy_from_slice(&[0x45, 0x00, 0x00]);
        let start = encapsulate(
            &mut buf,
            3,
            &entry(Compression::default()),
            PppHeader::Add(Protocol::Ipv4),
        )
        .expect("fits");
        // RFC 2661 §3.1: flags 0x0002 and the peer's ids; RFC 1661 §2: FF 03 00 21.
        assert_eq!(
            &buf[start..],
            &[0x00, 0x02, 0x12, 0x34, 0xab, 0xcd, 0xff, 0x03, 0x00, 0x21, 0x45, 0x00, 0x00]
        );
    }

    #[test]
    fn acfc_and_pfc_compress_ipv6_but_never_lcp() {
        let c = Compression {
            address_control: FieldCompression::On,
            protocol: FieldCompression::On,
        };
        let mut buf = [0u8; HEADROOM + 1];
        let start =
            encapsulate(&mut buf, 1, &entry(c), PppHeader::Add(Protocol::Ipv6)).expect("fits");
        assert_eq!(&buf[start + 6..], &[0x57, 0x00]);
        let start =
            encapsulate(&mut buf, 1, &entry(c), PppHeader::Add(Protocol::Lcp)).expect("fits");
        assert_eq!(&buf[start + 6..], &[0xff, 0x03, 0xc0, 0x21, 0x00]);
    }

    #[test]
    fn already_framed_gets_only_the_l2tp_header() {
        let mut buf = [0u8; HEADROOM + 4];
        buf[HEADROOM..].copy_from_slice(&[0xff, 0x03, 0xc0, 0x21]);
        let start = encapsulate(
            &mut buf,
            4,
            &entry(Compression::default()),
            PppHeader::AlreadyFramed,
        )
        .expect("fits");
        assert_eq!(start, HEADROOM - 6);
        assert_eq!(
            &buf[start..start + 6],
            &[0x00, 0x02, 0x12, 0x34, 0xab, 0xcd]
        );
        assert_eq!(
            encapsulate(
                &mut buf,
                5,
                &entry(Compression::default()),
                PppHeader::AlreadyFramed
            ),
            None
        );
    }

    proptest::proptest! {
        /// What we frame parses back (RFC 2661 §3.1 header, RFC 1661 frame)
        /// to the peer's ids, the protocol and the payload.
        #[test]
        fn framed_ip_parses_back(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            acfc in proptest::prelude::any::<bool>(),
            pfc in proptest::prelude::any::<bool>(),
            v6 in proptest::prelude::any::<bool>(),
        ) {
            let on = |b| if b { FieldCompression::On } else { FieldCompression::Off };
            let e = entry(Compression { address_control: on(acfc), protocol: on(pfc) });
            let protocol = if v6 { Protocol::Ipv6 } else { Protocol::Ipv4 };
            let mut buf = vec![0u8; HEADROOM + payload.len()];
            buf[HEADROOM..].copy_from_slice(&payload);
            let start = encapsulate(&mut buf, payload.len(), &e, PppHeader::Add(protocol))
                .expect("fits");
            let info = lns_proto::l2tp::data::parse_data(&buf[start..]).expect("valid header");
            proptest::prop_assert_eq!((info.tunnel_id, info.session_id), (0x1234, 0xabcd));
            let frame = lns_proto::ppp::Frame::new_checked(&buf[start + info.payload.start..])
                .expect("valid frame");
            proptest::prop_assert_eq!(frame.protocol(), protocol);
            proptest::prop_assert_eq!(frame.payload(), &payload[..]);
        }
    }
}
