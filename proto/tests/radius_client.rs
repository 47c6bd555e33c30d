//! Scripted exchanges with the sans-IO RADIUS `Client` in virtual time:
//! retransmission timing, failover, identifier exhaustion and reuse,
//! forged and malformed replies, Acct-Delay-Time growth, runtime server
//! replacement and determinism. The "servers" are our own signing code
//! checking each request the way FreeRADIUS would (RFC 2865 §3, RFC 2866
//! §3, RFC 3579 §3.2).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use lns_proto::entropy::Seeded;
use lns_proto::radius::attribute::{Attribute, AttributeType};
use lns_proto::radius::crypto::{md5, unhide_password};
use lns_proto::radius::signing::{encode_reply, verify_request, MessageAuthenticatorPolicy};
use lns_proto::radius::{
    Client, ClientConfig, Code, Event, Packet, PacketView, Password, Request, Secret, ServerConfig,
    Transmit,
};
use lns_proto::time::Timestamp;

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(192, 0, 2, last), port))
}

fn server(a: SocketAddr, secret: &str, timeout_s: u64, tries: u8) -> ServerConfig {
    ServerConfig {
        addr: a,
        secret: Secret::new(secret),
        timeout: Duration::from_secs(timeout_s),
        tries,
    }
}

fn pap_request() -> Request {
    let mut r = Request::new(Code::AccessRequest);
    r.attributes.push(Attribute::UserName("alice".into()));
    r.password = Some(Password::new("wonderland"));
    r
}

fn acct_request() -> Request {
    let mut r = Request::new(Code::AccountingRequest);
    r.attributes.push(Attribute::AcctSessionId("s1".into()));
    r
}

fn secs(s: u64) -> Timestamp {
    T0 + Duration::from_secs(s)
}

fn drain(c: &mut Client) -> Vec<Transmit> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

/// A server's answer: checks the request like a real server, then signs a
/// reply of `code` with `secret`.
fn answer(request: &[u8], code: Code, secret: &str) -> Vec<u8> {
    let view = PacketView::new_checked(request).expect("client sends valid packets");
    verify_request(
        &view,
        &Secret::new(secret),
        MessageAuthenticatorPolicy::Required,
    )
    .expect("client signs its requests");
    forge(request, code, secret)
}

/// A reply signed with `secret` without checking the request first.
fn forge(request: &[u8], code: Code, secret: &str) -> Vec<u8> {
    let view = PacketView::new_checked(request).expect("client sends valid packets");
    let s = Secret::new(secret);
    let reply = Packet {
        code,
        identifier: view.identifier(),
        authenticator: [0; 16],
        attributes: vec![Attribute::ReplyMessage("ok".into())],
    };
    let mut out = Vec::new();
    encode_reply(&reply, &view.authenticator(), &s, &mut out).expect("small reply");
    out
}

fn auth_only(servers: Vec<ServerConfig>) -> ClientConfig {
    ClientConfig {
        auth_servers: servers,
        acct_servers: vec![],
        dead_time: Duration::ZERO,
    }
}

#[test]
fn retransmits_on_time_then_fails_over_then_gives_up() {
    let (a, b) = (addr(1, 1812), addr(2, 1812));
    let mut c = Client::new(auth_only(vec![
        server(a, "sa", 3, 3),
        server(b, "sb", 2, 2),
    ]));
    let mut e = Seeded::new(1);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let first = drain(&mut c);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].server, a);
    assert_eq!(c.poll_timeout(), Some(secs(3)));

    // Not yet due: nothing happens.
    c.handle_timeout(secs(3) - Duration::from_micros(1), &mut e);
    assert!(drain(&mut c).is_empty());

    // RFC 5080 §2.2.1: retransmissions are the same packet.
    c.handle_timeout(secs(3), &mut e);
    assert_eq!(drain(&mut c), first);
    assert_eq!(c.poll_timeout(), Some(secs(6)));
    c.handle_timeout(secs(6), &mut e);
    assert_eq!(drain(&mut c), first);

    // Third try used up: fail over to b, re-signed for b's secret.
    c.handle_timeout(secs(9), &mut e);
    let to_b = drain(&mut c);
    assert_eq!(to_b.len(), 1);
    assert_eq!(to_b[0].server, b);
    let p = Packet::parse(&to_b[0].payload).expect("valid");
    let Some(Attribute::UserPassword(hidden)) = p.find(AttributeType::UserPassword) else {
        panic!("User-Password expected");
    };
    assert_eq!(
        unhide_password(&hidden.0, &Secret::new("sb"), &p.authenticator),
        Ok(Password::new("wonderland"))
    );
    assert_eq!(c.poll_timeout(), Some(secs(11)));
    c.handle_timeout(secs(11), &mut e);
    assert_eq!(drain(&mut c), to_b);

    // All servers exhausted.
    c.handle_timeout(secs(13), &mut e);
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.poll_event(), Some(Event::Timeout { handle: h }));
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.in_flight(), 0);
    assert_eq!(c.poll_timeout(), None);
    let sa = c.stats(a).expect("configured");
    assert_eq!((sa.requests, sa.retransmits, sa.timeouts), (1, 2, 1));
    let sb = c.stats(b).expect("configured");
    assert_eq!((sb.requests, sb.retransmits, sb.timeouts), (1, 1, 1));
}

#[test]
fn second_server_answers_and_late_reply_from_first_is_dropped() {
    let (a, b) = (addr(1, 1812), addr(2, 1812));
    let mut c = Client::new(auth_only(vec![
        server(a, "sa", 3, 1),
        server(b, "sb", 3, 1),
    ]));
    let mut e = Seeded::new(2);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let to_a = drain(&mut c);
    c.handle_timeout(secs(3), &mut e);
    let to_b = drain(&mut c);
    assert_eq!(to_b[0].server, b);
    // a answers late: its (server, identifier) is no longer in flight.
    c.handle_datagram(
        secs(4),
        a,
        &answer(&to_a[0].payload, Code::AccessAccept, "sa"),
    );
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.stats(a).map(|s| s.unmatched), Some(1));
    c.handle_datagram(
        secs(4),
        b,
        &answer(&to_b[0].payload, Code::AccessAccept, "sb"),
    );
    match c.poll_event() {
        Some(Event::Reply {
            handle,
            server,
            packet,
        }) => {
            assert_eq!((handle, server, packet.code), (h, b, Code::AccessAccept));
        }
        other => panic!("expected a reply, got {other:?}"),
    }
    let sb = c.stats(b).expect("configured");
    assert_eq!(sb.replies, 1);
    assert_eq!(sb.latencies.back(), Some(&Duration::from_secs(1)));
}

#[test]
fn identifiers_run_out_at_256_and_are_reused_after_completion() {
    let a = addr(1, 1812);
    let mut c = Client::new(auth_only(vec![server(a, "sa", 3, 3)]));
    let mut e = Seeded::new(3);
    let mut sent = Vec::new();
    for _ in 0..256 {
        c.send_access(T0, pap_request(), &mut e).expect("encodable");
        sent.extend(drain(&mut c));
    }
    let mut ids: Vec<u8> = sent.iter().map(|t| t.payload[1]).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 256, "every identifier used once");

    // The 257th waits: nothing to send while all 256 are in flight.
    let waiting = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.in_flight(), 257);

    // Answer the request that holds identifier 0x2a: the waiting one takes it.
    let holder = sent
        .iter()
        .find(|t| t.payload[1] == 0x2a)
        .expect("id 0x2a used");
    c.handle_datagram(
        secs(1),
        a,
        &answer(&holder.payload, Code::AccessReject, "sa"),
    );
    assert!(matches!(c.poll_event(), Some(Event::Reply { .. })));
    let next = drain(&mut c);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].payload[1], 0x2a);
    c.handle_datagram(
        secs(2),
        a,
        &answer(&next[0].payload, Code::AccessAccept, "sa"),
    );
    match c.poll_event() {
        Some(Event::Reply { handle, .. }) => assert_eq!(handle, waiting),
        other => panic!("expected the waiting request's reply, got {other:?}"),
    }
}

#[test]
fn forged_and_malformed_replies_are_dropped_and_counted() {
    let a = addr(1, 1812);
    let mut c = Client::new(auth_only(vec![server(a, "sa", 3, 3)]));
    let mut e = Seeded::new(4);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let req = drain(&mut c).remove(0).payload;
    let now = secs(1);

    // Signed with the wrong secret.
    c.handle_datagram(now, a, &forge(&req, Code::AccessAccept, "sa-guess"));
    // A valid Response Authenticator but no Message-Authenticator: the
    // BlastRADIUS forgery shape (RFC 3579 §3.2 makes it mandatory here).
    let mut bare = Packet {
        code: Code::AccessAccept,
        identifier: req[1],
        authenticator: [0; 16],
        attributes: vec![],
    }
    .to_bytes()
    .expect("small");
    bare[4..20].copy_from_slice(&req[4..20]);
    let sig = md5(&[&bare, b"sa"]);
    bare[4..20].copy_from_slice(&sig);
    c.handle_datagram(now, a, &bare);
    // A valid signature on a code that does not answer an Access-Request.
    c.handle_datagram(now, a, &answer(&req, Code::AccountingResponse, "sa"));
    // Garbage, a wrong identifier, and a stranger.
    c.handle_datagram(now, a, &[0x02, req[1], 0x00]);
    let mut other_id = answer(&req, Code::AccessAccept, "sa");
    other_id[1] = req[1].wrapping_add(1);
    c.handle_datagram(now, a, &other_id);
    c.handle_datagram(now, addr(9, 1812), &answer(&req, Code::AccessAccept, "sa"));

    assert_eq!(c.poll_event(), None, "nothing forged gets through");
    let s = c.stats(a).expect("configured").clone();
    assert_eq!(s.bad_authenticators, 2);
    assert_eq!(s.bad_codes, 1);
    assert_eq!(s.malformed, 1);
    assert_eq!(s.unmatched, 1);
    assert_eq!(c.foreign_datagrams(), 1);
    assert_eq!(c.in_flight(), 1);

    // The genuine reply still completes the request.
    c.handle_datagram(now, a, &answer(&req, Code::AccessAccept, "sa"));
    assert!(matches!(c.poll_event(), Some(Event::Reply { handle, .. }) if handle == h));
    assert_eq!(c.stats(a).map(|s| s.replies), Some(1));
}

fn delay_of(payload: &[u8]) -> Option<u32> {
    Packet::parse(payload)
        .ok()?
        .attributes
        .iter()
        .find_map(|a| match a {
            Attribute::AcctDelayTime(d) => Some(*d),
            _ => None,
        })
}

#[test]
fn accounting_retransmissions_grow_acct_delay_time_and_are_re_signed() {
    let a = addr(1, 1813);
    let mut c = Client::new(ClientConfig {
        auth_servers: vec![],
        acct_servers: vec![server(a, "sa", 5, 3)],
        dead_time: Duration::ZERO,
    });
    let mut e = Seeded::new(5);
    let mut req = acct_request();
    req.attributes.push(Attribute::AcctDelayTime(2)); // queued 2 s before us
    let h = c.send_accounting(T0, req).expect("encodable");
    let t1 = drain(&mut c).remove(0).payload;
    assert_eq!(delay_of(&t1), Some(2));
    c.handle_timeout(secs(5), &mut e);
    let t2 = drain(&mut c).remove(0).payload;
    c.handle_timeout(secs(10), &mut e);
    let t3 = drain(&mut c).remove(0).payload;
    // RFC 2866 §5.2: the delay grows; a changed packet gets a new
    // Identifier and a new Request Authenticator, each one valid.
    assert_eq!((delay_of(&t2), delay_of(&t3)), (Some(7), Some(12)));
    assert_ne!(t1[1], t2[1]);
    assert_ne!(t2[1], t3[1]);
    assert_ne!(t1[4..20], t2[4..20]);
    for t in [&t1, &t2, &t3] {
        let v = PacketView::new_checked(t).expect("valid");
        let ok = verify_request(&v, &Secret::new("sa"), MessageAuthenticatorPolicy::Required);
        assert_eq!(ok, Ok(()));
    }
    // The server answers the first copy late: that identifier is retired.
    c.handle_datagram(secs(11), a, &answer(&t1, Code::AccountingResponse, "sa"));
    assert_eq!(c.poll_event(), None);
    c.handle_datagram(secs(11), a, &answer(&t3, Code::AccountingResponse, "sa"));
    assert!(matches!(c.poll_event(), Some(Event::Reply { handle, .. }) if handle == h));
    assert_eq!(
        c.stats(a).map(|s| (s.retransmits, s.unmatched)),
        Some((2, 1))
    );
}

#[test]
fn replacing_the_server_list_moves_requests_off_removed_servers() {
    let (a, b) = (addr(1, 1812), addr(2, 1812));
    let mut c = Client::new(auth_only(vec![server(a, "sa", 3, 3)]));
    let mut e = Seeded::new(6);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let to_a = drain(&mut c);
    c.set_config(secs(1), auth_only(vec![server(b, "sb", 3, 3)]), &mut e);
    let to_b = drain(&mut c);
    assert_eq!(to_b.len(), 1);
    assert_eq!(to_b[0].server, b);
    assert!(c.stats(a).is_none(), "a's counters went with it");
    c.handle_datagram(
        secs(2),
        a,
        &answer(&to_a[0].payload, Code::AccessAccept, "sa"),
    );
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.foreign_datagrams(), 1);
    c.handle_datagram(
        secs(2),
        b,
        &answer(&to_b[0].payload, Code::AccessAccept, "sb"),
    );
    assert!(matches!(c.poll_event(), Some(Event::Reply { handle, .. }) if handle == h));
}

#[test]
fn a_changed_secret_re_signs_what_is_in_flight() {
    let a = addr(1, 1812);
    let mut c = Client::new(auth_only(vec![server(a, "old", 3, 3)]));
    let mut e = Seeded::new(8);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let before = drain(&mut c);
    // Same list, same secret: nothing is re-sent.
    c.set_config(secs(1), auth_only(vec![server(a, "old", 3, 3)]), &mut e);
    assert!(drain(&mut c).is_empty());
    c.set_config(secs(1), auth_only(vec![server(a, "new", 3, 3)]), &mut e);
    let after = drain(&mut c);
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].payload[1], before[0].payload[1], "new Identifier");
    c.handle_datagram(
        secs(2),
        a,
        &answer(&after[0].payload, Code::AccessAccept, "new"),
    );
    assert!(matches!(c.poll_event(), Some(Event::Reply { handle, .. }) if handle == h));
}

#[test]
fn debug_output_shows_no_secret_or_password_material() {
    let a = addr(1, 1812);
    let mut c = Client::new(auth_only(vec![server(a, "topsecret", 3, 3)]));
    let mut e = Seeded::new(10);
    c.send_access(T0, pap_request(), &mut e).expect("encodable");
    let shown = format!("{c:?}");
    assert!(shown.contains("Secret(..)"), "{shown}");
    assert!(shown.contains("Password(..)"), "{shown}");
    assert!(!shown.contains("topsecret"), "{shown}");
    assert!(!shown.contains("wonderland"), "{shown}");
    assert!(!shown.contains("payload"), "{shown}");
}

#[test]
fn a_dead_server_is_skipped_for_dead_time_then_tried_again() {
    let (a, b) = (addr(1, 1812), addr(2, 1812));
    let mut cfg = auth_only(vec![server(a, "sa", 1, 2), server(b, "sb", 1, 2)]);
    cfg.dead_time = Duration::from_secs(30);
    let mut c = Client::new(cfg);
    let mut e = Seeded::new(11);
    c.send_access(T0, pap_request(), &mut e).expect("encodable");
    drain(&mut c);
    c.handle_timeout(secs(1), &mut e);
    c.handle_timeout(secs(2), &mut e); // a exhausted: fail over to b
    assert!(c.is_dead(a, secs(2)));
    assert_eq!(c.stats(a).map(|s| s.marked_dead), Some(1));
    let to_b = drain(&mut c);
    assert_eq!(to_b.last().map(|t| t.server), Some(b));

    // A new request goes straight to b while a is dead.
    c.send_access(secs(3), pap_request(), &mut e)
        .expect("encodable");
    assert_eq!(
        drain(&mut c).iter().map(|t| t.server).collect::<Vec<_>>(),
        [b]
    );

    // After dead_time, a is tried first again.
    assert!(!c.is_dead(a, secs(32)));
    c.send_access(secs(32), pap_request(), &mut e)
        .expect("encodable");
    let t = drain(&mut c);
    assert_eq!(t.last().map(|t| t.server), Some(a));
    // A reply from a clears any mark at once.
    c.handle_datagram(
        secs(32),
        a,
        &answer(&t[t.len() - 1].payload, Code::AccessAccept, "sa"),
    );
    assert!(!c.is_dead(a, secs(32)));
}

#[test]
fn when_every_server_is_dead_the_list_is_tried_in_order() {
    let a = addr(1, 1812);
    let mut cfg = auth_only(vec![server(a, "sa", 1, 1)]);
    cfg.dead_time = Duration::from_secs(30);
    let mut c = Client::new(cfg);
    let mut e = Seeded::new(12);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    drain(&mut c);
    c.handle_timeout(secs(1), &mut e);
    assert_eq!(c.poll_event(), Some(Event::Timeout { handle: h }));
    assert!(c.is_dead(a, secs(1)));
    c.send_access(secs(2), pap_request(), &mut e)
        .expect("encodable");
    assert_eq!(drain(&mut c).len(), 1, "still sent to the only server");
}

#[test]
fn no_server_configured_times_out_at_once() {
    let mut c = Client::new(ClientConfig::default());
    let mut e = Seeded::new(7);
    let h = c.send_access(T0, pap_request(), &mut e).expect("encodable");
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.poll_event(), Some(Event::Timeout { handle: h }));
}

#[test]
fn same_inputs_give_the_same_outputs() {
    let run = || {
        let (a, b) = (addr(1, 1812), addr(2, 1812));
        let mut c = Client::new(auth_only(vec![
            server(a, "sa", 1, 2),
            server(b, "sb", 1, 2),
        ]));
        let mut e = Seeded::new(42);
        let mut out = Vec::new();
        for i in 0..5u64 {
            c.send_access(secs(i), pap_request(), &mut e)
                .expect("encodable");
        }
        for s in 0..10 {
            c.handle_timeout(secs(s), &mut e);
            out.extend(drain(&mut c));
        }
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        (out, events)
    };
    let (first, second) = (run(), run());
    assert!(!first.0.is_empty());
    assert_eq!(first.1.len(), 5);
    assert_eq!(first, second);
}
