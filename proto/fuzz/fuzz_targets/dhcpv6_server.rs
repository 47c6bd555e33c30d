//! Fuzzes the DHCPv6 decoder and the per-session server, both on raw IPv6
//! packets and on UDP payloads wrapped in a valid IPv6/UDP packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::dhcpv6::{
    emit_udp_packet, Dhcpv6Config, Dhcpv6Packet, Dhcpv6Server, Duid, CLIENT_PORT, SERVER_PORT,
};
use lns_proto::entropy::Seeded;
use lns_proto::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let _ = Dhcpv6Packet::parse_bytes(data);
    let duid = Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, 1],
    };
    let mut s = Dhcpv6Server::new(
        Dhcpv6Config::new(duid),
        "fe80::1".parse().expect("literal"),
        "2001:db8:1::".parse().expect("literal"),
        Some(("2001:db8:100::".parse().expect("literal"), 56)),
    )
    .expect("valid config");
    let mut e = Seeded::new(1);
    let _ = s.handle(Timestamp::EPOCH, data, &mut e);
    let mut wrapped = Vec::new();
    if emit_udp_packet(
        "fe80::2".parse().expect("literal"),
        "ff02::1:2".parse().expect("literal"),
        CLIENT_PORT,
        SERVER_PORT,
        data,
        &mut wrapped,
    )
    .is_ok()
    {
        let _ = s.handle(Timestamp::EPOCH, &wrapped, &mut e);
        while s.poll_transmit().is_some() {}
    }
});
