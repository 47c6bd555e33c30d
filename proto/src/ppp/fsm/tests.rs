//! Tests of the automaton: the whole RFC 1661 §4.1 table, cell by cell, and
//! the executor's timer, counters and first-request-race resend.

use super::*;
use crate::entropy::Seeded;

/// RFC 1661 §4.1, the state transition table as printed in the RFC.
const RFC1661_TABLE: &str = "
      | State
      |    0         1         2         3         4         5
Events| Initial   Starting  Closed    Stopped   Closing   Stopping
------+-----------------------------------------------------------
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
 RXR  |    -         -         2         3         4         5

      | State
      |    6         7         8           9
Events| Req-Sent  Ack-Rcvd  Ack-Sent    Opened
------+-----------------------------------------
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
 RXR  |    6         7         8         ser/9
";

fn event_named(name: &str) -> Event {
    match name {
        "Up" => Event::Up,
        "Down" => Event::Down,
        "Open" => Event::Open,
        "Close" => Event::Close,
        "TO+" => Event::TimeoutRetry,
        "TO-" => Event::TimeoutGiveUp,
        "RCR+" => Event::RcrGood,
        "RCR-" => Event::RcrBad,
        "RCA" => Event::Rca,
        "RCN" => Event::Rcn,
        "RTR" => Event::Rtr,
        "RTA" => Event::Rta,
        "RUC" => Event::Ruc,
        "RXJ+" => Event::RxjPermitted,
        "RXJ-" => Event::RxjCatastrophic,
        "RXR" => Event::Rxr,
        other => panic!("unknown event {other} in the RFC table"),
    }
}

fn action_named(name: &str) -> Action {
    match name {
        "tlu" => Action::Tlu,
        "tld" => Action::Tld,
        "tls" => Action::Tls,
        "tlf" => Action::Tlf,
        "irc" => Action::Irc,
        "zrc" => Action::Zrc,
        "scr" => Action::Scr,
        "sca" => Action::Sca,
        "scn" => Action::Scn,
        "str" => Action::Str,
        "sta" => Action::Sta,
        "scj" => Action::Scj,
        "ser" => Action::Ser,
        other => panic!("unknown action {other} in the RFC table"),
    }
}

/// A parsed cell: `None` for '-', else the actions and the new state.
type Cell = Option<(Vec<Action>, State)>;

/// Parses one cell ("-", "2", "3r", "irc,scr/6", "tlf/3p").
fn parse_cell(cell: &str) -> Option<(Vec<Action>, State)> {
    if cell == "-" {
        return None;
    }
    let (actions, state) = match cell.split_once('/') {
        Some((a, s)) => (a.split(',').map(action_named).collect(), s),
        None => (Vec::new(), cell),
    };
    let digits: String = state.chars().take_while(char::is_ascii_digit).collect();
    let n: u8 = digits.parse().expect("state number in the RFC table");
    Some((actions, State::from_number(n).expect("state 0-9")))
}

/// Every (state, event) cell of the RFC table, parsed from the text above.
fn rfc_cells() -> Vec<(State, Event, Cell)> {
    let mut cells = Vec::new();
    let mut columns: Vec<State> = Vec::new();
    for line in RFC1661_TABLE.lines() {
        let Some((head, rest)) = line.split_once('|') else {
            continue;
        };
        let head = head.trim();
        if head.is_empty() {
            let nums: Vec<u8> = rest
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if !nums.is_empty() {
                columns = nums.iter().filter_map(|&n| State::from_number(n)).collect();
            }
            continue;
        }
        if head == "Events" {
            continue;
        }
        let event = event_named(head);
        let values: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(values.len(), columns.len(), "row {head}: {rest}");
        for (state, cell) in columns.iter().zip(values) {
            cells.push((*state, event, parse_cell(cell)));
        }
    }
    cells
}

#[test]
fn every_cell_of_the_rfc1661_table() {
    // RFC 1661 §4.1: 10 states x 16 events.
    let cells = rfc_cells();
    assert_eq!(cells.len(), 160);
    let mut seen = std::collections::BTreeSet::new();
    for (state, event, expected) in cells {
        assert!(
            seen.insert((state, event)),
            "duplicate cell {state:?} {event:?}"
        );
        let got = transition(state, event).map(|t| (t.actions.to_vec(), t.next));
        assert_eq!(got, expected, "cell ({state:?}, {event:?})");
    }
    assert_eq!(seen.len(), State::ALL.len() * Event::ALL.len());
}

/// A negotiation that asks for one fixed option and accepts everything.
#[derive(Default)]
struct Fixed {
    acked_by_peer: usize,
    naks: usize,
}

impl Negotiation for Fixed {
    fn request(&self) -> Vec<RawOption> {
        vec![RawOption::new(0x05, &[1, 2, 3, 4])]
    }
    fn review(&mut self, peer: &[RawOption], _e: &mut dyn Entropy) -> Vec<Verdict> {
        peer.iter()
            .map(|o| {
                if o.kind == 0x01 {
                    Verdict::Nak(RawOption::new(0x01, &[0x05, 0xdc]))
                } else {
                    Verdict::Ack
                }
            })
            .collect()
    }
    fn peer_acked(&mut self, _peer: &[RawOption]) {}
    fn ours_acked(&mut self, _ours: &[RawOption]) {
        self.acked_by_peer += 1;
    }
    fn nak_received(&mut self, _s: &[RawOption], _e: &mut dyn Entropy) {
        self.naks += 1;
    }
    fn reject_received(&mut self, _r: &[RawOption]) {}
}

fn sends(out: &[Output]) -> Vec<PacketRepr> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn opened_req_sent(cfg: &FsmConfig) -> (Automaton, Fixed, Vec<Output>) {
    let (mut a, mut n, mut out) = (Automaton::new(), Fixed::default(), Vec::new());
    a.event(Timestamp::EPOCH, cfg, Event::Open, &mut n, &mut out);
    a.event(Timestamp::EPOCH, cfg, Event::Up, &mut n, &mut out);
    (a, n, out)
}

#[test]
fn restart_timer_retransmits_max_configure_times_then_gives_up() {
    // RFC 1661 §4.6: Max-Configure Configure-Requests, then TO- and tlf.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    assert_eq!(
        out,
        vec![Output::Started, Output::Send(a.configure_request())]
    );
    let first_id = a.request_id;
    let mut sent = 1;
    let now = loop {
        let now = a.deadline.expect("timer runs in Req-Sent");
        out.clear();
        a.timeout(now, &cfg, &mut n, &mut out);
        let s = sends(&out);
        if s.is_empty() {
            break now;
        }
        // A retransmission keeps the identifier (RFC 1661 §5.1).
        assert_eq!(s[0].identifier, first_id);
        sent += 1;
    };
    assert_eq!(sent, 10);
    assert_eq!(out, vec![Output::Finished]);
    assert_eq!(a.state, State::Stopped);
    assert_eq!(a.deadline, None);
    assert_eq!(now, Timestamp::EPOCH + cfg.restart * 10);
}

#[test]
fn first_peer_request_makes_us_resend_at_once() {
    // REFERENCE.md: the race; RFC 1661 §4.1 RCR+ in Req-Sent is sca/8, plus
    // our immediate retransmission.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    let first_id = a.request_id;
    out.clear();
    let now = Timestamp::from_unix_millis(150);
    let req = PacketRepr {
        code: Code::ConfigureRequest,
        identifier: 9,
        data: vec![0x05, 0x06, 9, 9, 9, 9],
    };
    let raw = req.to_bytes();
    let ev = a.receive(now, &cfg, &req, &raw, &mut n, &mut Seeded::new(1), &mut out);
    assert_eq!(ev, Some(Event::RcrGood));
    let s = sends(&out);
    assert_eq!(s.len(), 2);
    // Our request again, unchanged (a retransmission), before our Ack.
    assert_eq!(s[0], a.configure_request());
    assert_eq!(s[0].identifier, first_id);
    assert_eq!(s[1].code, Code::ConfigureAck);
    assert_eq!(s[1].identifier, 9);
    assert_eq!(a.state, State::AckSent);
    assert_eq!(a.deadline, Some(now + cfg.restart));
    // A retransmitted request from the peer does not trigger it again.
    out.clear();
    a.receive(now, &cfg, &req, &raw, &mut n, &mut Seeded::new(1), &mut out);
    assert_eq!(sends(&out).len(), 1);
}

#[test]
fn ack_must_match_our_request() {
    // RFC 1661 §5.2: an Ack whose id or options differ is discarded.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    let mut ack = a.configure_request();
    ack.code = Code::ConfigureAck;
    ack.identifier = ack.identifier.wrapping_add(1);
    let e = &mut Seeded::new(1);
    assert_eq!(
        a.receive(Timestamp::EPOCH, &cfg, &ack, &[], &mut n, e, &mut out),
        None
    );
    ack.identifier = a.request_id;
    ack.data.push(0);
    assert_eq!(
        a.receive(Timestamp::EPOCH, &cfg, &ack, &[], &mut n, e, &mut out),
        None
    );
    ack.data.pop();
    assert_eq!(
        a.receive(Timestamp::EPOCH, &cfg, &ack, &[], &mut n, e, &mut out),
        Some(Event::Rca)
    );
    assert_eq!(a.state, State::AckRcvd);
    assert_eq!(n.acked_by_peer, 1);
}

#[test]
fn naks_turn_into_rejects_after_max_failure() {
    // RFC 1661 §4.6 Max-Failure.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    let e = &mut Seeded::new(1);
    let req = PacketRepr {
        code: Code::ConfigureRequest,
        identifier: 1,
        data: vec![0x01, 0x04, 0x00, 0x10],
    };
    let mut codes = Vec::new();
    for _ in 0..7 {
        out.clear();
        a.receive(Timestamp::EPOCH, &cfg, &req, &[], &mut n, e, &mut out);
        codes.extend(
            sends(&out)
                .into_iter()
                .filter(|p| p.code != Code::ConfigureRequest)
                .map(|p| p.code),
        );
    }
    assert_eq!(&codes[..5], &[Code::ConfigureNak; 5]);
    assert_eq!(&codes[5..], &[Code::ConfigureReject; 2]);
}

#[test]
fn nak_gives_a_new_request_with_a_new_identifier() {
    // RFC 1661 §4.1 RCN in Req-Sent: irc,scr/6; §5.1 new identifier.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    let old = a.request_id;
    let nak = PacketRepr {
        code: Code::ConfigureNak,
        identifier: old,
        data: vec![0x05, 0x06, 7, 7, 7, 7],
    };
    out.clear();
    let ev = a.receive(
        Timestamp::EPOCH,
        &cfg,
        &nak,
        &[],
        &mut n,
        &mut Seeded::new(1),
        &mut out,
    );
    assert_eq!(ev, Some(Event::Rcn));
    assert_eq!(n.naks, 1);
    assert_ne!(a.request_id, old);
    assert_eq!(sends(&out), vec![a.configure_request()]);
    assert_eq!(a.restart_counter, cfg.max_configure - 1);
}

#[test]
fn terminate_then_ack_finishes() {
    // RFC 1661 §4.1 Close in Opened: tld,irc,str/4; RTA in Closing: tlf/2.
    let cfg = FsmConfig::default();
    let mut a = Automaton {
        state: State::Opened,
        ..Automaton::new()
    };
    let mut n = Fixed::default();
    let mut out = Vec::new();
    a.event(Timestamp::EPOCH, &cfg, Event::Close, &mut n, &mut out);
    assert_eq!(out[0], Output::Down);
    let term = sends(&out);
    assert_eq!(term[0].code, Code::TerminateRequest);
    assert_eq!(a.state, State::Closing);
    let ta = PacketRepr {
        code: Code::TerminateAck,
        identifier: term[0].identifier,
        data: vec![],
    };
    out.clear();
    a.receive(
        Timestamp::EPOCH,
        &cfg,
        &ta,
        &[],
        &mut n,
        &mut Seeded::new(1),
        &mut out,
    );
    assert_eq!(out, vec![Output::Finished]);
    assert_eq!(a.state, State::Closed);
}

#[test]
fn duplicate_ack_in_opened_is_dropped() {
    // RFC 1661 §5.1: same Identifier = retransmission; a second Ack of the
    // request already acked does not renegotiate. A new Configure-Request
    // still does (§4.1 RCR+ in Opened: tld,scr,sca/8).
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    let e = &mut Seeded::new(1);
    let req = PacketRepr {
        code: Code::ConfigureRequest,
        identifier: 4,
        data: vec![0x05, 0x06, 9, 9, 9, 9],
    };
    a.receive(Timestamp::EPOCH, &cfg, &req, &[], &mut n, e, &mut out);
    let mut ack = a.configure_request();
    ack.code = Code::ConfigureAck;
    a.receive(Timestamp::EPOCH, &cfg, &ack, &[], &mut n, e, &mut out);
    assert_eq!(a.state, State::Opened);
    out.clear();
    assert_eq!(
        a.receive(Timestamp::EPOCH, &cfg, &ack, &[], &mut n, e, &mut out),
        None
    );
    assert_eq!(a.state, State::Opened);
    assert!(out.is_empty());
    a.receive(Timestamp::EPOCH, &cfg, &req, &[], &mut n, e, &mut out);
    assert_eq!(a.state, State::AckSent);
    assert_eq!(out[0], Output::Down);
}

#[test]
fn no_early_resend_while_our_request_may_still_be_in_flight() {
    // A peer request 20 ms after ours: ours is probably in flight; only the
    // table's sca/8 happens.
    let cfg = FsmConfig::default();
    let (mut a, mut n, mut out) = opened_req_sent(&cfg);
    out.clear();
    let req = PacketRepr {
        code: Code::ConfigureRequest,
        identifier: 9,
        data: vec![],
    };
    let now = Timestamp::from_unix_millis(20);
    a.receive(now, &cfg, &req, &[], &mut n, &mut Seeded::new(1), &mut out);
    let s = sends(&out);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].code, Code::ConfigureAck);
}

#[test]
fn unanswered_close_sends_max_terminate_requests_then_finishes() {
    // RFC 1661 §4.6 Max-Terminate (2), then TO- in Closing: tlf/2.
    let cfg = FsmConfig::default();
    let mut a = Automaton {
        state: State::Opened,
        ..Automaton::new()
    };
    let mut n = Fixed::default();
    let mut out = Vec::new();
    a.event(Timestamp::EPOCH, &cfg, Event::Close, &mut n, &mut out);
    let mut terminate_requests = sends(&out).len();
    while let Some(t) = a.deadline {
        out.clear();
        a.timeout(t, &cfg, &mut n, &mut out);
        terminate_requests += sends(&out).len();
    }
    assert_eq!(terminate_requests, usize::from(cfg.max_terminate));
    assert_eq!(out, vec![Output::Finished]);
    assert_eq!(a.state, State::Closed);
}
