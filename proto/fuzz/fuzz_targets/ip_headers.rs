//! The IPv4 and IPv6 header decoders (RFC 791 §3.1, RFC 8200 §3): the
//! checked views never panic, and whatever parses re-emits to a header that
//! parses back to the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ip::{Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, IPV4_HEADER_LEN, IPV6_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Ipv4Packet::new_checked(data) {
        let repr = Ipv4Repr::parse(&p);
        let mut out = vec![0u8; IPV4_HEADER_LEN + repr.payload_len];
        repr.emit(&mut out).expect("a parsed header fits its own length");
        let again = Ipv4Packet::new_checked(&out[..]).expect("our own header checks");
        assert_eq!(Ipv4Repr::parse(&again), repr);
    }
    if let Ok(p) = Ipv6Packet::new_checked(data) {
        let repr = Ipv6Repr::parse(&p);
        let _ = p.upper_layer();
        let mut out = vec![0u8; IPV6_HEADER_LEN + repr.payload_len];
        repr.emit(&mut out).expect("a parsed header fits its own length");
        let again = Ipv6Packet::new_checked(&out[..]).expect("our own header checks");
        assert_eq!(Ipv6Repr::parse(&again), repr);
    }
});
