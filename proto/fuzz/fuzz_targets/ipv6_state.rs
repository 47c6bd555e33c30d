//! The replicated per-session IPv6 state: arbitrary protobuf bytes decoded
//! as `RouterAdvertiserState` and as `Dhcpv6ServerState` never panic on
//! restore, and whatever restores re-encodes to state that restores to the
//! same state again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::dhcpv6::{Dhcpv6Config, Dhcpv6Server, Duid};
use lns_proto::nd::{RaConfig, RouterAdvertiser};
use lns_proto::pb::dhcpv6::Dhcpv6ServerState;
use lns_proto::pb::nd::RouterAdvertiserState;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let link_local = "fe80::1".parse().expect("literal");
    if let Ok(state) = RouterAdvertiserState::decode(data) {
        let cfg = RaConfig::for_prefix("2001:db8::".parse().expect("literal"));
        if let Ok(ra) = RouterAdvertiser::from_pb(cfg.clone(), link_local, &state) {
            let again = ra.to_pb();
            let restored =
                RouterAdvertiser::from_pb(cfg, link_local, &again).expect("own state restores");
            assert_eq!(restored.to_pb(), again);
        }
    }
    if let Ok(state) = Dhcpv6ServerState::decode(data) {
        let server = |s: &Dhcpv6ServerState| {
            let duid = Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![2, 0, 0, 0, 0, 1],
            };
            Dhcpv6Server::from_pb(
                Dhcpv6Config::new(duid),
                link_local,
                "2001:db8:1::".parse().expect("literal"),
                Some(("2001:db8:100::".parse().expect("literal"), 56)),
                s,
            )
        };
        if let Ok(s) = server(&state) {
            let again = s.to_pb();
            let restored = server(&again).expect("own state restores");
            assert_eq!(restored.to_pb(), again);
        }
    }
});
