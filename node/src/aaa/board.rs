//! # The RADIUS board: what `lnsctl radius` shows, from the clients themselves
//!
//! Contract: the AAA task (access) and the accounting task each own a
//! sans-IO `lns_proto::radius::Client`; after every step they
//! [`RadiusBoard::publish`] that client's view of its configured servers
//! (totals, recent latency, dead time). The management backend reads
//! [`RadiusBoard::servers`] with the current time, so a server's state is
//! the client's own:
//!
//! - `dead`: it exhausted a request's tries and its dead time is running
//!   (new requests skip it, RFC 5080 §2.2.1);
//! - `probing`: the dead time is over and it has not answered since (the
//!   next requests try it again);
//! - `up`: it answered since it was last marked dead, or never failed;
//! - `idle`: nothing was sent to it yet.
//!
//! Servers are listed in configuration order per purpose (`auth`, then
//! `accounting`); a reload replaces the list. The board is per node: a
//! standby's RADIUS clients are idle, so it shows its own (idle) view.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use lns_proto::radius::Client;
use lns_proto::time::Timestamp;

use crate::metrics::RadiusKind;
use crate::mgmt::pb;

/// The latest view of every RADIUS client of this node.
#[derive(Debug, Default)]
pub struct RadiusBoard {
    /// Access servers, then accounting servers.
    lines: Mutex<[Vec<Line>; 2]>,
}

/// One server as its client last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    address: SocketAddr,
    /// Requests sent to it (first transmissions).
    requests: u64,
    /// Transmissions it left unanswered (retransmissions and requests that
    /// ran out of tries on it).
    timeouts: u64,
    /// Mean of the recent reply latencies.
    latency: Option<Duration>,
    dead_until: Option<Timestamp>,
}

impl RadiusBoard {
    /// An empty board (no RADIUS configured).
    pub fn new() -> RadiusBoard {
        RadiusBoard::default()
    }

    /// Replaces what `kind`'s client shows with its state now.
    pub fn publish(&self, kind: RadiusKind, client: &Client) {
        let config = client.config();
        let servers = match kind {
            RadiusKind::Auth => &config.auth_servers,
            RadiusKind::Accounting => &config.acct_servers,
        };
        let lines = servers
            .iter()
            .map(|s| {
                let stats = client.stats(s.addr).cloned().unwrap_or_default();
                let answered = stats.latencies.len() as u32;
                let latency =
                    (answered > 0).then(|| stats.latencies.iter().sum::<Duration>() / answered);
                Line {
                    address: s.addr,
                    requests: stats.requests,
                    timeouts: stats.retransmits + stats.timeouts,
                    latency,
                    dead_until: client.dead_until(s.addr),
                }
            })
            .collect();
        let mut board = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        board[slot(kind)] = lines;
    }

    /// Every server's line for `lnsctl radius`, its state taken at `now`.
    pub fn servers(&self, now: Timestamp) -> Vec<pb::RadiusServer> {
        let board = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        RadiusKind::ALL
            .iter()
            .flat_map(|kind| board[slot(*kind)].iter().map(move |l| (*kind, l)))
            .map(|(kind, l)| pb::RadiusServer {
                address: l.address.to_string(),
                purpose: kind.label().into(),
                state: state(l, now).into(),
                latency_ms: l
                    .latency
                    .map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
                requests: l.requests,
                timeouts: l.timeouts,
                latency_us: l
                    .latency
                    .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            })
            .collect()
    }
}

fn slot(kind: RadiusKind) -> usize {
    match kind {
        RadiusKind::Auth => 0,
        RadiusKind::Accounting => 1,
    }
}

fn state(l: &Line, now: Timestamp) -> &'static str {
    match l.dead_until {
        Some(until) if until > now => "dead",
        Some(_) => "probing",
        None if l.requests == 0 => "idle",
        None => "up",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::entropy::Seeded;
    use lns_proto::radius::signing::encode_reply;
    use lns_proto::radius::{
        Attribute, ClientConfig, Code, Event, Packet, PacketView, Request, Secret, ServerConfig,
    };

    const LIVE: &str = "198.18.0.1:1812";
    const DEAD: &str = "198.18.0.2:1812";

    fn server(addr: &str) -> ServerConfig {
        ServerConfig {
            addr: addr.parse().expect("literal"),
            secret: Secret::new("s3cret"),
            timeout: Duration::from_secs(1),
            tries: 2,
        }
    }

    fn t0() -> Timestamp {
        Timestamp::from_unix_micros(1_700_000_000_000_000)
    }

    /// The live server's Access-Accept (RFC 2865 §3: Response Authenticator).
    fn accept(request: &[u8]) -> Vec<u8> {
        let view = PacketView::new_checked(request).expect("the client sends valid packets");
        let reply = Packet {
            code: Code::AccessAccept,
            identifier: view.identifier(),
            authenticator: [0; 16],
            attributes: Vec::new(),
        };
        let mut out = Vec::new();
        encode_reply(
            &reply,
            &view.authenticator(),
            &Secret::new("s3cret"),
            &mut out,
        )
        .expect("small reply");
        out
    }

    /// One dead server first in the list, one live server second: the
    /// client fails over after the first one's tries, marks it dead, and
    /// the live one answers after 20 ms.
    #[test]
    fn one_live_and_one_dead_server_as_the_client_sees_them() {
        let mut client = Client::new(ClientConfig {
            auth_servers: vec![server(DEAD), server(LIVE)],
            acct_servers: Vec::new(),
            dead_time: Duration::from_secs(30),
        });
        let board = RadiusBoard::new();
        board.publish(RadiusKind::Auth, &client);
        let states = |now| -> Vec<(String, String)> {
            board
                .servers(now)
                .into_iter()
                .map(|s| (s.address, s.state))
                .collect()
        };
        assert_eq!(
            states(t0()),
            [(DEAD.into(), "idle".into()), (LIVE.into(), "idle".into())]
        );
        let mut entropy = Seeded::new(3);
        let mut now = t0();
        let mut request = Request::new(Code::AccessRequest);
        request.attributes.push(Attribute::UserName("alice".into()));
        client
            .send_access(now, request, &mut entropy)
            .expect("encodable");
        let mut to_live = None;
        // Two tries on the dead server, then the live one.
        while to_live.is_none() {
            while let Some(t) = client.poll_transmit() {
                if t.server == LIVE.parse().expect("literal") {
                    to_live = Some(t.payload);
                }
            }
            if to_live.is_none() {
                now = client.poll_timeout().expect("a retransmission is due");
                client.handle_timeout(now, &mut entropy);
            }
        }
        let request = to_live.expect("sent to the live server");
        now = now + Duration::from_millis(20);
        let reply = accept(&request);
        client.handle_datagram(now, LIVE.parse().expect("literal"), &reply);
        assert!(matches!(client.poll_event(), Some(Event::Reply { .. })));
        board.publish(RadiusKind::Auth, &client);
        let lines = board.servers(now);
        let dead = &lines[0];
        assert_eq!(
            (
                dead.state.as_str(),
                dead.requests,
                dead.timeouts,
                dead.latency_ms
            ),
            ("dead", 1, 2, 0)
        );
        let live = &lines[1];
        assert_eq!(
            (
                live.state.as_str(),
                live.requests,
                live.timeouts,
                live.latency_ms
            ),
            ("up", 1, 0, 20)
        );
        assert!(lines.iter().all(|l| l.purpose == "auth"));
        // After the dead time, the dead server is tried again: probing.
        assert_eq!(
            states(now + Duration::from_secs(31))[0],
            (DEAD.into(), "probing".into())
        );
    }
}
