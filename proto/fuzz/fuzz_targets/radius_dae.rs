//! RFC 5176 server-side helpers on arbitrary datagrams: verification,
//! timestamp window, session selection and the ACK/NAK builder never panic.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use lns_proto::radius::dae::{self, Outcome, TimestampPolicy};
use lns_proto::radius::signing::MessageAuthenticatorPolicy;
use lns_proto::radius::{ErrorCause, Packet, Secret};
use lns_proto::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let secret = Secret::new("fuzz");
    let _ = dae::verify_request(data, &secret, MessageAuthenticatorPolicy::IfPresent);
    let Ok(p) = Packet::parse(data) else { return };
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let _ =
        dae::check_event_timestamp(&p, now, Duration::from_secs(300), TimestampPolicy::Required);
    let _ = dae::session_selector(&p);
    let _ = dae::check_nas_identity(&p, &Default::default());
    let mut out = Vec::new();
    let _ = dae::encode_response(
        &p,
        Outcome::Nak(ErrorCause::SessionContextNotFound),
        &secret,
        &mut out,
    );
    let _ = dae::encode_response(&p, Outcome::Ack, &secret, &mut out);
});
