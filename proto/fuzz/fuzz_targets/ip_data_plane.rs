//! Fuzzes the per-packet IP helpers: address lookup, MSS clamping (which
//! must keep a valid TCP checksum valid) and the ICMP too-big builders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ip::{
    clamp_tcp_mss, classify_subscriber_ipv6, destination_address, icmpv4_fragmentation_needed,
    icmpv6_packet_too_big, source_address, MssLimit,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mtu_hi, rest)) = data.split_first() else {
        return;
    };
    let mtu = u16::from(mtu_hi) << 4 | 0x0100;
    let _ = source_address(rest);
    let _ = destination_address(rest);
    let _ = classify_subscriber_ipv6(rest);
    let mut packet = rest.to_vec();
    let _ = clamp_tcp_mss(&mut packet, MssLimit::FromLinkMtu(mtu));
    let mut out = [0u8; 1280];
    let _ = icmpv4_fragmentation_needed(rest, [192, 0, 2, 1].into(), mtu, &mut out);
    let _ = icmpv6_packet_too_big(
        rest,
        "fe80::1".parse().expect("literal"),
        u32::from(mtu),
        &mut out,
    );
});
