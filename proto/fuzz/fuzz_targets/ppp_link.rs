//! The link driver fed arbitrary frames on both sides: no panic, and the
//! state always snapshots and restores exactly.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use lns_proto::entropy::Seeded;
use lns_proto::ppp::{Link, LinkConfig, Side};
use lns_proto::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    for side in [Side::Lns, Side::Subscriber] {
        let cfg = match side {
            Side::Lns => LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1)),
            Side::Subscriber => LinkConfig::subscriber(b"u", b"p"),
        };
        let mut link = Link::new(side, cfg.clone());
        let mut entropy = Seeded::new(data.len() as u64);
        let mut now = Timestamp::from_unix_millis(1_000);
        link.open(now, &mut entropy);
        while link.poll_transmit().is_some() {}
        while link.poll_event().is_some() {}
        // Frames are length-prefixed by one octet.
        let mut rest = data;
        while let Some((&n, tail)) = rest.split_first() {
            let n = usize::from(n).min(tail.len());
            let (frame, tail) = tail.split_at(n);
            rest = tail;
            link.handle_frame(now, frame, &mut entropy);
            now = now + Duration::from_millis(700);
            link.handle_timeout(now, &mut entropy);
            link.auth_accepted(now, "");
            link.ipv4_assigned(now, Ipv4Addr::new(10, 0, 0, 2), [None, None]);
            while link.poll_transmit().is_some() {}
            while link.poll_event().is_some() {}
        }
        let restored = Link::restore(cfg, &link.snapshot()).expect("own snapshot restores");
        assert_eq!(restored, link);
    }
});
