//! Header + AVPs + message typing, with and without a tunnel secret (hidden
//! AVPs are unhidden with a fixed secret); parsed messages are re-emitted
//! and parsed again; raw unhiding of the input is exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::l2tp::hidden::unhide;
use lns_proto::l2tp::message::{emit_control, parse_control, Message};

const SECRET: &[u8] = b"fuzz-secret";

fuzz_target!(|data: &[u8]| {
    for secret in [Some(SECRET), None] {
        if let Ok((header, Some(msg))) = parse_control(data, secret) {
            let _ = (msg.missing_mandatory(), msg.unknown_mandatory(), msg.message_type.scope());
            let mut out = Vec::new();
            if emit_control(&header, Some(&msg), Some(SECRET), &mut out).is_ok() {
                let _ = parse_control(&out, Some(SECRET));
            }
        }
    }
    let _ = Message::parse(data, Some(SECRET));
    if data.len() > 4 {
        let _ = unhide(u16::from_be_bytes([data[0], data[1]]), SECRET, &data[2..4], &data[4..]);
    }
});
