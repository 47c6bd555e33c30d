//! The compact settled form (`settled.rs`, issue 5): a [`Link`] and a
//! full [`LinkCore`] fed the same inputs give the same outputs and the
//! same state at every step, the established link settles, and a
//! renegotiation (RFC 1661 §4.1, RCR in Opened) expands it again.

use super::*;

/// The LNS twice (public link and full state) and a pppd-like subscriber.
struct Pair {
    lns: Link,
    full: LinkCore,
    sub: Link,
    e_lns: Seeded,
    e_full: Seeded,
    e_sub: Seeded,
    now: Timestamp,
}

impl Pair {
    fn new() -> Pair {
        Pair::with(lns_cfg(vec![AuthMethod::Pap]))
    }

    fn with(cfg: LinkConfig) -> Pair {
        let cfg = Arc::new(cfg);
        Pair {
            lns: Link::new(Side::Lns, Arc::clone(&cfg)),
            full: LinkCore::new(Side::Lns, cfg),
            sub: Link::new(Side::Subscriber, LinkConfig::subscriber(b"alice", b"pw")),
            e_lns: Seeded::new(5),
            e_full: Seeded::new(5),
            e_sub: Seeded::new(6),
            now: T0,
        }
    }

    /// Opens the three links (RFC 1661 §4.1 Open) without pumping.
    fn open_all(&mut self) {
        self.lns.open(self.now, &mut self.e_lns);
        self.full.open(self.now, &mut self.e_full);
        self.sub.open(self.now, &mut self.e_sub);
    }

    /// Feeds one frame to both LNS forms, then checks they agree.
    fn lns_receives(&mut self, frame: &[u8]) {
        self.lns.handle_frame(self.now, frame, &mut self.e_lns);
        self.full.handle_frame(self.now, frame, &mut self.e_full);
        self.same();
    }

    /// Both LNS forms answer alike: frames, events, state, snapshot.
    fn same(&mut self) {
        assert_eq!(*self.lns.core(), self.full);
        assert_eq!(self.lns.snapshot(), self.full.snapshot());
        assert_eq!(self.lns.poll_timeout(), self.full.poll_timeout());
        assert_eq!(self.lns.lcp_state(), self.full.lcp.state);
        assert_eq!(self.lns.our_magic(), self.full.lcp_neg.our_magic);
        assert_eq!(self.lns.send_compression(), self.full.send_compression());
    }

    /// Exchanges frames until both sides are quiet, answering the LNS's
    /// requests for a decision the same way on both forms.
    fn pump(&mut self) {
        for _ in 0..50 {
            let mut moved = false;
            while let Some(f) = self.sub.poll_transmit() {
                self.lns_receives(&f);
                moved = true;
            }
            while let Some(f) = self.lns.poll_transmit() {
                assert_eq!(self.full.out.pop_frame(), Some(f.clone()));
                self.sub.handle_frame(self.now, &f, &mut self.e_sub);
                moved = true;
            }
            assert_eq!(self.full.out.pop_frame(), None);
            while let Some(ev) = self.lns.poll_event() {
                assert_eq!(self.full.out.pop_event(), Some(ev.clone()));
                match ev {
                    LinkEvent::AuthRequest(_) => {
                        self.lns.auth_accepted(self.now, "Welcome");
                        self.full.auth_accepted(self.now, "Welcome");
                    }
                    LinkEvent::Ipv4AddressRequest => {
                        let peer = Ipv4Addr::new(100, 64, 0, 9);
                        let dns = [Some(Ipv4Addr::new(198, 18, 0, 53)), None];
                        self.lns.ipv4_assigned(self.now, peer, dns);
                        self.full.ipv4_assigned(self.now, peer, dns);
                    }
                    _ => {}
                }
                self.same();
                moved = true;
            }
            while self.sub.poll_event().is_some() {}
            if !moved {
                return;
            }
        }
        panic!("the links did not settle down");
    }
}

#[test]
fn an_established_link_settles_and_answers_like_the_full_state() {
    let mut p = Pair::new();
    assert!(p.lns.is_settled(), "a fresh link is settled");
    p.open_all();
    p.same();
    assert!(!p.lns.is_settled(), "LCP's restart timer runs");
    p.pump();
    assert_eq!(p.lns.ipcp_state(), State::Opened);
    assert_eq!(p.lns.ipv6cp_state(), State::Opened);
    assert!(
        p.lns.is_settled(),
        "every automaton is Opened, no timer runs but the echo"
    );
    assert_eq!(p.lns.user_name(), b"alice");

    // RFC 1661 §5.8: an Echo-Request is answered from the settled state
    // (the identifier, the magic), and the link settles again after.
    let magic = p.sub.our_magic().to_be_bytes();
    p.lns_receives(&lcp(0x09, 0x33, &magic));
    assert!(!p.lns.is_settled(), "the reply waits to be polled");
    let reply = p.lns.poll_transmit().expect("an Echo-Reply");
    assert_eq!(p.full.out.pop_frame(), Some(reply.clone()));
    assert_eq!(reply[4..6], [0x0a, 0x33]);
    assert_eq!(reply[8..12], p.lns.our_magic().to_be_bytes());
    assert_eq!(p.lns.poll_transmit(), None);
    assert_eq!(p.lns.poll_event(), None);
    assert!(p.lns.is_settled(), "the poll that found nothing settled it");

    // Our own echo keepalive fires on both forms at the same time.
    let t = p.lns.poll_timeout().expect("the echo timer runs");
    p.now = t;
    p.lns.handle_timeout(t, &mut p.e_lns);
    p.full.handle_timeout(t, &mut p.e_full);
    p.same();
    p.pump();
    assert!(p.lns.is_settled());
}

#[test]
fn a_configure_request_in_opened_renegotiates_from_the_settled_state() {
    let mut p = Pair::new();
    p.open_all();
    p.pump();
    assert!(p.lns.is_settled());
    // RFC 1661 §4.1: RCR+ in Opened is tld, scr, sca -> Ack-Sent: our new
    // Configure-Request comes from the rebuilt negotiation, with the next
    // identifier, exactly as the full state sends it.
    p.now = p.now + core::time::Duration::from_secs(1);
    p.lns_receives(&pppd_lcp_request(0x44));
    assert_eq!(p.lns.lcp_state(), State::AckSent);
    assert!(!p.lns.is_settled(), "the restart timer runs again");
    let sent = drain(&mut p.lns);
    assert_eq!(sent, {
        let mut v = Vec::new();
        while let Some(f) = p.full.out.pop_frame() {
            v.push(f);
        }
        v
    });
    assert_eq!(sent.len(), 2, "our Configure-Request and the Ack");
    assert_eq!(sent[0][4], 0x01, "Configure-Request first (scr before sca)");
}

#[test]
fn a_chap_link_settles_with_its_rechallenge_timer_and_rechallenges_alike() {
    // RFC 1994 §2: the authenticator may challenge again at any time; the
    // periodic re-challenge timer is kept in the settled record.
    let mut cfg = lns_cfg(vec![AuthMethod::ChapMd5]);
    cfg.rechallenge = Some(core::time::Duration::from_secs(600));
    let mut p = Pair::with(cfg);
    p.open_all();
    p.pump();
    assert_eq!(p.lns.auth_method(), Some(AuthMethod::ChapMd5));
    assert_eq!(p.lns.ipcp_state(), State::Opened);
    assert!(
        p.lns.is_settled(),
        "challenge and message kept in the record"
    );
    assert!(p.lns.core().auth.rechallenge_at.is_some());
    // Run the timers (echo, then the re-challenge) on both forms.
    for _ in 0..70 {
        let t = p.lns.poll_timeout().expect("timers run");
        assert_eq!(Some(t), p.full.poll_timeout());
        p.now = t;
        p.lns.handle_timeout(t, &mut p.e_lns);
        p.full.handle_timeout(t, &mut p.e_full);
        p.same();
        p.pump();
    }
    assert!(
        p.now >= T0 + core::time::Duration::from_secs(600),
        "past the re-challenge"
    );
    assert_eq!(p.lns.phase(), Phase::Network);
    assert!(p.lns.is_settled());
}

#[test]
fn a_settled_link_restores_from_its_snapshot() {
    let mut p = Pair::new();
    p.open_all();
    p.pump();
    assert!(p.lns.is_settled());
    let snap = p.lns.snapshot();
    let restored = Link::restore(Arc::new(p.lns.config().clone()), &snap).expect("restores");
    assert!(restored.is_settled());
    assert_eq!(restored, p.lns);
    assert_eq!(restored.snapshot(), snap);
}

#[test]
fn the_public_link_is_about_half_the_full_state() {
    // Issue 5: 192 bytes on x86_64 against the full state's 424; a new
    // field in the record shows here first.
    assert!(
        core::mem::size_of::<Link>() * 100 <= core::mem::size_of::<LinkCore>() * 46,
        "Link {} bytes, LinkCore {}",
        core::mem::size_of::<Link>(),
        core::mem::size_of::<LinkCore>()
    );
}
