//! PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4) packets: parse, re-emit,
//! parse again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ppp::chap::ChapPacket;
use lns_proto::ppp::pap::PapPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = PapPacket::parse(data) {
        assert_eq!(PapPacket::parse(&p.to_bytes()).ok(), Some(p));
    }
    if let Ok(c) = ChapPacket::parse(data) {
        assert_eq!(ChapPacket::parse(&c.to_bytes()).ok(), Some(c));
    }
});
