//! The replicated PPP link state: arbitrary protobuf bytes decoded as
//! `LinkState` never panic on restore, and whatever restores snapshots and
//! restores back to the same link.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use lns_proto::pb::ppp::LinkState;
use lns_proto::ppp::{Link, LinkConfig};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = LinkState::decode(data) else {
        return;
    };
    // The daemon restores a link with the configuration of its side.
    let cfg = match state.side {
        1 => LinkConfig::subscriber(b"u", b"p"),
        _ => LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1)),
    };
    if let Ok(link) = Link::restore(cfg.clone(), &state) {
        let again = link.snapshot();
        let restored = Link::restore(cfg, &again).expect("own snapshot restores");
        assert_eq!(restored, link);
    }
});
