//! Replicated-state decoder: arbitrary protobuf bytes never panic on
//! restore, and whatever restores snapshots back to the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::l2tp::{Endpoint, EndpointConfig, Side};
use lns_proto::pb::l2tp::EndpointState;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = EndpointState::decode(data) else {
        return;
    };
    if let Ok(e) = Endpoint::restore(EndpointConfig::new(Side::Lns, b"lns"), &state) {
        let again = e.snapshot();
        let e2 = Endpoint::restore(EndpointConfig::new(Side::Lns, b"lns"), &again).expect("own snapshot");
        assert_eq!(e2.snapshot(), again);
    }
});
