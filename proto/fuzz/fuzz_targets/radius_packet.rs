//! RADIUS packet decoder: the view, the owned parse, re-emission, the
//! authenticator checks and password unhiding must never panic, and
//! whatever parses must re-parse to itself after emission.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::radius::attribute::Attribute;
use lns_proto::radius::crypto::unhide_password;
use lns_proto::radius::signing::{verify_reply, verify_request, MessageAuthenticatorPolicy};
use lns_proto::radius::{Packet, PacketView, Secret};

fuzz_target!(|data: &[u8]| {
    let Ok(view) = PacketView::new_checked(data) else {
        return;
    };
    let secret = Secret::new("fuzz");
    let _ = verify_request(&view, &secret, MessageAuthenticatorPolicy::IfPresent);
    let _ = verify_reply(
        &view,
        &[0; 16],
        &secret,
        MessageAuthenticatorPolicy::Required,
    );
    let packet = Packet::from_view(&view);
    for a in &packet.attributes {
        if let Attribute::UserPassword(hidden) = a {
            let _ = unhide_password(&hidden.0, &secret, &packet.authenticator);
        }
    }
    let bytes = packet
        .to_bytes()
        .expect("a parsed packet fits when re-emitted");
    assert_eq!(Packet::parse(&bytes), Ok(packet));
});
