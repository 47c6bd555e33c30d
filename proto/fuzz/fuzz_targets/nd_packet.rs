//! Fuzzes the RS/RA decoder and the Router Advertisement sender's RS path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::entropy::Seeded;
use lns_proto::nd::{parse_nd_packet, RaConfig, RouterAdvertiser};
use lns_proto::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let _ = parse_nd_packet(data);
    let cfg = RaConfig::for_prefix("2001:db8::".parse().expect("literal"));
    let mut ra = RouterAdvertiser::new(cfg, "fe80::1".parse().expect("literal"))
        .expect("default config is valid");
    let mut e = Seeded::new(1);
    ra.start(Timestamp::EPOCH, &mut e);
    let _ = ra.handle_rs(Timestamp::EPOCH, data, &mut e);
});
