//! Any input on either side: no panic on arbitrary frames and a snapshot
//! that restores the same link; drained output queues hold no buffer.

use super::*;
use core::time::Duration;
use proptest::prelude::*;

proptest! {
    #[test]
    fn no_panic_on_arbitrary_frames(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30), seed in any::<u64>()) {
        for side in [Side::Lns, Side::Subscriber] {
            let mut e = Seeded::new(seed);
            let cfg = match side {
                Side::Lns => lns_cfg(vec![AuthMethod::ChapMd5, AuthMethod::Pap]),
                Side::Subscriber => LinkConfig::subscriber(b"u", b"p"),
            };
            let mut l = Link::new(side, cfg);
            l.open(T0, &mut e);
            drain(&mut l);
            let mut now = T0;
            for f in &frames {
                // Give arbitrary bytes a PPP header half the time so they
                // reach the control protocols.
                let mut g = f.clone();
                if f.first().is_some_and(|b| b & 1 == 0) {
                    let protos: [u16; 6] = [0xc021, 0xc023, 0xc223, 0x8021, 0x8057, 0x80fd];
                    let p = protos[usize::from(f.get(1).copied().unwrap_or(0)) % protos.len()];
                    g = frame(p, f.get(2..).unwrap_or(&[]));
                }
                l.handle_frame(now, &g, &mut e);
                now = now + Duration::from_millis(500);
                l.handle_timeout(now, &mut e);
                l.auth_accepted(now, "");
                l.ipv4_assigned(now, Ipv4Addr::new(10, 0, 0, 2), [None, None]);
                drain(&mut l);
                events(&mut l);
            }
            let snap = l.snapshot();
            prop_assert_eq!(Link::restore(l.config().clone(), &snap).expect("own snapshot"), l);
        }
    }
}

#[test]
fn drained_output_queues_hold_no_buffer() {
    // Issue 5 (memory per session): an established link between bursts
    // keeps no queue buffer; what was queued is still delivered in order.
    let (mut l, _) = lns_in_network();
    assert!(!l.outbox().holds_buffer());
    l.handle_frame(T0, &lcp(0x09, 7, &PEER_MAGIC), &mut Seeded::new(2));
    assert!(l.outbox().holds_buffer());
    let replies = drain(&mut l);
    assert_eq!(replies.len(), 1, "one Echo-Reply");
    assert_eq!(replies[0][4..6], [0x0a, 7]);
    assert!(!l.outbox().holds_buffer());
}
