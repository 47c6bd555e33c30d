//! The RFC 3145 PPP Disconnect Cause AVP value (L2TP AVP 46): never panics,
//! and a parsed cause re-emits to a value that parses back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ppp::DisconnectCause;

fuzz_target!(|data: &[u8]| {
    if let Ok(cause) = DisconnectCause::parse_avp_value(data) {
        let mut out = Vec::new();
        cause.emit_avp_value(&mut out);
        assert_eq!(DisconnectCause::parse_avp_value(&out), Ok(cause));
    }
});
