//! Data-plane parser: never panics and the payload range stays in bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::l2tp::data::parse_data;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_data(data) {
        assert!(info.payload.start <= info.payload.end && info.payload.end <= data.len());
    }
});
