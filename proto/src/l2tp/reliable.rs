//! RFC 2661 §5.8 reliable delivery of control messages, sans-IO.
//!
//! Contract: [`Reliable`] numbers what the tunnel sends (Ns), honours the
//! peer's Receive Window Size and the Appendix A congestion window (slow
//! start, congestion avoidance, collapse to 1 on timeout), retransmits with
//! exponential backoff
//! (initial 1 s, capped) and reports exhaustion; on receive it compares
//! Ns/Nr with 16-bit wrap-around, delivers each message exactly once and in
//! order (buffering early ones inside our window), acknowledges duplicates
//! again at once, and acknowledges the rest by piggyback or, after
//! `ack_delay`, by a ZLB. Every deadline is an absolute [`Timestamp`] so the
//! whole struct can be replicated and restored on another node.

use super::config::TransportConfig;
use super::header::{Header, Sequence};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::time::Duration;

/// `a` comes before `b` in 16-bit sequence space (§5.8).
pub fn seq_lt(a: u16, b: u16) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < 0x8000
}

/// One message we sent or will send once the peer's window allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its Ns.
    pub ns: u16,
    /// Header tunnel id (0 for an SCCRQ, otherwise the peer's id).
    pub tunnel_id: u16,
    /// Header session id (the peer's session id, 0 for tunnel messages).
    pub session_id: u16,
    /// The encoded AVPs (hidden values fixed at queue time, so every
    /// retransmission is byte-identical apart from Nr).
    pub body: Vec<u8>,
    /// Times sent so far (0 = waiting for window space).
    pub transmissions: u32,
    /// When to retransmit (meaningful once sent).
    pub deadline: Timestamp,
}

/// What a received control datagram means for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// A ZLB: acknowledgement only.
    Ack,
    /// Messages now deliverable, in order: (Ns, datagram).
    Deliver(Vec<(u16, Vec<u8>)>),
    /// Ahead of sequence but inside our window: kept for later.
    Buffered,
    /// Already delivered: acknowledged again, not delivered.
    Duplicate,
    /// Beyond our receive window: dropped.
    OutOfWindow,
}

/// The retransmission budget ran out: the tunnel is dead (§5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Ns of the message that was never acknowledged.
    pub ns: u16,
}

/// §5.8 transport state of one tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reliable {
    /// Ns of the next new message.
    pub ns_next: u16,
    /// Next Ns expected from the peer (our Nr).
    pub nr: u16,
    /// The peer's Receive Window Size (default 4, §5.8).
    pub peer_window: u16,
    /// Congestion window in messages (RFC 2661 Appendix A).
    pub cwnd: u16,
    /// Slow-start threshold (Appendix A).
    pub ssthresh: u16,
    /// Acks counted toward the next congestion-avoidance increase.
    pub avoidance_acks: u16,
    /// Unacknowledged and not-yet-sent messages, in Ns order.
    pub queue: VecDeque<Outgoing>,
    /// Early arrivals inside our window: (Ns, datagram), sorted.
    pub reorder: Vec<(u16, Vec<u8>)>,
    /// When to send a ZLB if nothing piggybacks the ack first.
    pub ack_deadline: Option<Timestamp>,
    /// Last time anything arrived from the peer or we sent a HELLO.
    pub last_activity: Timestamp,
}

impl Reliable {
    /// A fresh transport; `nr` is the first Ns expected from the peer.
    pub fn new(now: Timestamp, nr: u16) -> Self {
        Reliable {
            ns_next: 0,
            nr,
            peer_window: 4,
            cwnd: 1,
            ssthresh: 4,
            avoidance_acks: 0,
            queue: VecDeque::new(),
            reorder: Vec::new(),
            ack_deadline: None,
            last_activity: now,
        }
    }

    /// Records the peer's Receive Window Size; it is also the slow-start
    /// threshold until the first timeout (Appendix A).
    pub fn set_peer_window(&mut self, window: u16) {
        self.peer_window = window.max(1);
        self.ssthresh = self.peer_window;
    }

    /// How many messages may be in flight: min(CWND, peer RWS) (Appendix A).
    pub fn window(&self) -> usize {
        usize::from(self.cwnd.min(self.peer_window).max(1))
    }

    /// Queues a message; returns its Ns.
    pub fn push(&mut self, tunnel_id: u16, session_id: u16, body: Vec<u8>) -> u16 {
        let ns = self.ns_next;
        self.ns_next = self.ns_next.wrapping_add(1);
        self.queue.push_back(Outgoing {
            ns,
            tunnel_id,
            session_id,
            body,
            transmissions: 0,
            deadline: Timestamp::EPOCH,
        });
        ns
    }

    /// Processes the Ns/Nr of a received control datagram (§5.8).
    pub fn on_datagram(
        &mut self,
        now: Timestamp,
        seq: Sequence,
        zlb: bool,
        datagram: &[u8],
        config: &TransportConfig,
    ) -> Arrival {
        self.last_activity = now;
        self.acknowledge(seq.nr);
        if zlb {
            return Arrival::Ack;
        }
        if seq.ns == self.nr {
            let mut out = vec![(seq.ns, datagram.to_vec())];
            self.nr = self.nr.wrapping_add(1);
            while let Some(pos) = self.reorder.iter().position(|(ns, _)| *ns == self.nr) {
                let (ns, d) = self.reorder.remove(pos);
                out.push((ns, d));
                self.nr = self.nr.wrapping_add(1);
            }
            if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now + config.ack_delay);
            }
            return Arrival::Deliver(out);
        }
        if seq_lt(seq.ns, self.nr) {
            // §5.8: a duplicate is acknowledged again, never delivered.
            self.ack_deadline = Some(now);
            return Arrival::Duplicate;
        }
        let distance = seq.ns.wrapping_sub(self.nr);
        if distance >= config.receive_window.max(1) {
            return Arrival::OutOfWindow;
        }
        if !self.reorder.iter().any(|(ns, _)| *ns == seq.ns) {
            self.reorder.push((seq.ns, datagram.to_vec()));
            let nr = self.nr;
            self.reorder.sort_by_key(|(ns, _)| ns.wrapping_sub(nr));
        }
        if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + config.ack_delay);
        }
        Arrival::Buffered
    }

    /// Sends what the window allows, retransmits what is due and emits a
    /// ZLB if an ack is due and nothing carried it. Appends datagrams to
    /// `out`; returns how many of them were retransmissions.
    pub fn transmit(
        &mut self,
        now: Timestamp,
        ack_tunnel_id: u16,
        config: &TransportConfig,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<u64, Exhausted> {
        // Appendix A: a timeout of the oldest message collapses the window.
        if self
            .queue
            .front()
            .is_some_and(|m| m.transmissions > 0 && m.deadline <= now)
        {
            self.ssthresh = (self.cwnd / 2).max(1);
            self.cwnd = 1;
            self.avoidance_acks = 0;
        }
        let window = self.window();
        let mut sent_any = false;
        let mut retransmitted = 0;
        for (i, m) in self.queue.iter_mut().enumerate() {
            if i >= window {
                break;
            }
            let due = m.transmissions == 0 || m.deadline <= now;
            if !due {
                continue;
            }
            if m.transmissions > config.max_retransmits {
                return Err(Exhausted { ns: m.ns });
            }
            if m.transmissions > 0 {
                retransmitted += 1;
            }
            m.transmissions += 1;
            m.deadline = now + backoff(config, m.transmissions);
            let mut d = Vec::with_capacity(12 + m.body.len());
            Header::control(m.tunnel_id, m.session_id, m.ns, self.nr).emit(&m.body, &mut d);
            out.push(d);
            sent_any = true;
        }
        if sent_any {
            // §5.8: the Nr of what we just sent acknowledges everything.
            self.ack_deadline = None;
        } else if self.ack_deadline.is_some_and(|t| t <= now) {
            self.ack_deadline = None;
            let mut d = Vec::with_capacity(12);
            Header::control(ack_tunnel_id, 0, self.zlb_ns(), self.nr).emit(&[], &mut d);
            out.push(d);
        }
        Ok(retransmitted)
    }

    /// The earliest deadline: retransmission or delayed ack.
    pub fn next_deadline(&self, config: &TransportConfig) -> Option<Timestamp> {
        let window = self.window();
        let retransmit = self
            .queue
            .iter()
            .take(window)
            .map(|m| {
                if m.transmissions == 0 {
                    Timestamp::EPOCH
                } else {
                    m.deadline
                }
            })
            .min();
        let _ = config;
        match (retransmit, self.ack_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When a HELLO is due (§6.5): after `hello_interval` of silence with nothing in flight.
    pub fn hello_deadline(&self, config: &TransportConfig) -> Option<Timestamp> {
        self.queue
            .is_empty()
            .then(|| self.last_activity + config.hello_interval)
    }

    /// Marks that a HELLO was queued now.
    pub fn hello_sent(&mut self, now: Timestamp) {
        self.last_activity = now;
    }

    /// Ns carried by a ZLB: the next message we have not yet sent (§5.8).
    fn zlb_ns(&self) -> u16 {
        self.queue
            .iter()
            .find(|m| m.transmissions == 0)
            .map_or(self.ns_next, |m| m.ns)
    }

    /// Drops every queued message the peer's `nr` acknowledges (§5.8).
    fn acknowledge(&mut self, nr: u16) {
        let Some(front) = self.queue.front() else {
            return;
        };
        let acked = usize::from(nr.wrapping_sub(front.ns));
        let sent = self
            .queue
            .iter()
            .take_while(|m| m.transmissions > 0)
            .count();
        if acked <= sent {
            self.queue.drain(..acked);
            for _ in 0..acked {
                // Appendix A: +1 per ack in slow start, +1 per window's worth after.
                if self.cwnd < self.ssthresh {
                    self.cwnd += 1;
                } else {
                    self.avoidance_acks += 1;
                    if self.avoidance_acks >= self.cwnd {
                        self.cwnd += 1;
                        self.avoidance_acks = 0;
                    }
                }
                self.cwnd = self.cwnd.min(self.peer_window.max(1));
            }
        }
    }
}

/// The interval after the `n`-th transmission: initial * 2^(n-1), capped.
pub fn backoff(config: &TransportConfig, transmissions: u32) -> Duration {
    let shift = transmissions.saturating_sub(1).min(16);
    config
        .initial_timeout
        .saturating_mul(1u32 << shift)
        .min(config.max_timeout)
}

/// A full retransmission cycle: how long the peer may keep retransmitting
/// one message (the hold-down after StopCCN, §5.7).
pub fn full_cycle(config: &TransportConfig) -> Duration {
    (1..=config.max_retransmits + 1)
        .map(|n| backoff(config, n))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TransportConfig {
        TransportConfig::default()
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn wraparound_comparison() {
        assert!(seq_lt(0xfffe, 0x0001));
        assert!(!seq_lt(0x0001, 0xfffe));
        assert!(!seq_lt(5, 5));
    }

    #[test]
    fn backoff_doubles_to_cap_then_exhausts() {
        let c = cfg();
        assert_eq!(
            (1..=6)
                .map(|n| backoff(&c, n).as_secs())
                .collect::<Vec<_>>(),
            vec![1, 2, 4, 8, 8, 8]
        );
        assert_eq!(full_cycle(&c), Duration::from_secs(31));
        let mut r = Reliable::new(at(0), 0);
        r.push(9, 0, vec![0x80, 0x08, 0, 0, 0, 0, 0, 6]);
        let mut out = Vec::new();
        let mut now = at(0);
        for _ in 0..6 {
            r.transmit(now, 9, &c, &mut out).expect("within budget");
            now = r.next_deadline(&c).expect("retransmit pending");
        }
        assert_eq!(out.len(), 6);
        assert_eq!(now, at(31_000));
        assert_eq!(r.transmit(now, 9, &c, &mut out), Err(Exhausted { ns: 0 }));
    }

    #[test]
    fn window_limits_sends_and_acks_open_it() {
        let c = cfg();
        let mut r = Reliable::new(at(0), 0);
        r.set_peer_window(2);
        for _ in 0..5 {
            r.push(9, 0, vec![1]);
        }
        // Appendix A: CWND starts at 1.
        let mut out = Vec::new();
        r.transmit(at(0), 9, &c, &mut out).expect("ok");
        assert_eq!(out.len(), 1);
        // Peer acks Ns 0 (Nr = 1) with a ZLB: slow start opens CWND to 2.
        let zlb = r.on_datagram(at(5), Sequence { ns: 0, nr: 1 }, true, &[], &c);
        assert_eq!(zlb, Arrival::Ack);
        out.clear();
        r.transmit(at(5), 9, &c, &mut out).expect("ok");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0][8..10], [0x00, 0x01]);
        assert_eq!(out[1][8..10], [0x00, 0x02]);
        // The peer's window (2) caps CWND: acking one lets exactly one more go.
        r.on_datagram(at(6), Sequence { ns: 0, nr: 2 }, true, &[], &c);
        out.clear();
        r.transmit(at(6), 9, &c, &mut out).expect("ok");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0][8..10], [0x00, 0x03]);
        assert_eq!(r.cwnd, 2);
        // A stale Nr (older than the queue) is ignored.
        r.on_datagram(at(7), Sequence { ns: 0, nr: 0 }, true, &[], &c);
        assert_eq!(r.queue.len(), 3);
        // Appendix A: a timeout halves SSTHRESH and collapses CWND to 1.
        out.clear();
        r.transmit(at(2_000), 9, &c, &mut out).expect("ok");
        assert_eq!((r.cwnd, r.ssthresh), (1, 1));
        assert_eq!(out.len(), 1, "only the oldest is retransmitted");
        assert_eq!(out[0][8..10], [0x00, 0x02]);
    }

    #[test]
    fn reorder_duplicates_and_delayed_ack() {
        let c = cfg();
        let mut r = Reliable::new(at(0), 0);
        let d = |ns: u8| vec![ns];
        assert_eq!(
            r.on_datagram(at(1), Sequence { ns: 1, nr: 0 }, false, &d(1), &c),
            Arrival::Buffered
        );
        assert_eq!(
            r.on_datagram(at(1), Sequence { ns: 1, nr: 0 }, false, &d(1), &c),
            Arrival::Buffered
        );
        assert_eq!(
            r.on_datagram(at(2), Sequence { ns: 0, nr: 0 }, false, &d(0), &c),
            Arrival::Deliver(vec![(0, d(0)), (1, d(1))])
        );
        assert_eq!(r.nr, 2);
        assert_eq!(
            r.on_datagram(at(3), Sequence { ns: 0, nr: 0 }, false, &d(0), &c),
            Arrival::Duplicate
        );
        assert_eq!(
            r.on_datagram(
                at(3),
                Sequence {
                    ns: 2 + c.receive_window,
                    nr: 0
                },
                false,
                &d(9),
                &c
            ),
            Arrival::OutOfWindow
        );
        // The duplicate asks for an immediate ZLB carrying Nr = 2.
        let mut out = Vec::new();
        r.transmit(at(3), 9, &c, &mut out).expect("ok");
        assert_eq!(
            out,
            vec![vec![
                0xc8, 0x02, 0x00, 0x0c, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02
            ]]
        );
        assert_eq!(r.ack_deadline, None);
    }
}
