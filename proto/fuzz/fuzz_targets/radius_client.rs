//! The RADIUS client fed arbitrary datagrams while requests are in flight:
//! no panic, and nothing unauthenticated completes a request.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use lns_proto::entropy::Seeded;
use lns_proto::radius::attribute::Attribute;
use lns_proto::radius::{Client, ClientConfig, Code, Request, Secret, ServerConfig};
use lns_proto::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let server = "192.0.2.1:1812".parse().expect("literal address");
    let acct = "192.0.2.1:1813".parse().expect("literal address");
    let cfg = |addr| ServerConfig {
        addr,
        secret: Secret::new("fuzz"),
        timeout: Duration::from_secs(1),
        tries: 2,
    };
    let mut c = Client::new(ClientConfig {
        auth_servers: vec![cfg(server)],
        acct_servers: vec![cfg(acct)],
        dead_time: Duration::ZERO,
    });
    let mut e = Seeded::new(1);
    let mut r = Request::new(Code::AccessRequest);
    r.attributes.push(Attribute::UserName("u".into()));
    let _ = c.send_access(Timestamp::EPOCH, r, &mut e);
    let _ = c.send_accounting(Timestamp::EPOCH, Request::new(Code::AccountingRequest));
    let mut now = Timestamp::EPOCH;
    // Each chunk is one datagram; its first byte picks the source and
    // whether time advances.
    for chunk in data.split(|b| *b == 0xff) {
        let Some((&ctl, body)) = chunk.split_first() else {
            continue;
        };
        if ctl & 0x80 != 0 {
            now = now + Duration::from_millis(u64::from(ctl & 0x7f) * 20);
            c.handle_timeout(now, &mut e);
        }
        c.handle_datagram(now, if ctl & 1 == 0 { server } else { acct }, body);
        while c.poll_transmit().is_some() {}
        while let Some(ev) = c.poll_event() {
            assert!(
                matches!(ev, lns_proto::radius::Event::Timeout { .. }),
                "forged reply accepted"
            );
        }
    }
});
