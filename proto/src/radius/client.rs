//! The sans-IO RADIUS client machine (RFC 2865 §2.5, RFC 2866 §2,
//! RFC 5080 §2.2.1).
//!
//! Contract: a [`Client`] owns every request in flight, keyed by (server,
//! Identifier). It allocates Identifiers per server address (256 each,
//! never two live requests with the same pair; a request waits when all
//! 256 are busy), retransmits after the server's timeout up to its number
//! of tries, then fails over to the next server of the ordered list, and
//! reports [`Event::Timeout`] once all servers are exhausted. A server
//! that exhausted a request's tries is skipped by new requests for
//! [`ClientConfig::dead_time`] (unless every server is). Replies are
//! matched by (source, Identifier), must have a code that answers the
//! request and must authenticate (Response Authenticator, and a valid
//! Message-Authenticator, which is mandatory on Access replies because
//! every request carries one: RFC 3579 §3.2, BlastRADIUS). Anything else
//! is dropped and counted in [`ServerStats`]; nothing received can make the
//! machine panic. Inputs: `send_*`, `handle_datagram`, `handle_timeout`,
//! `set_config`; outputs: `poll_transmit`, `poll_event`, `poll_timeout`.
//! All maps are ordered, so the same inputs give the same outputs.
//!
//! ```
//! use core::time::Duration;
//! use lns_proto::entropy::Seeded;
//! use lns_proto::radius::{
//!     access_request, AccessParams, Client, ClientConfig, Credentials, Event, Nas, Password,
//!     Port, Secret, ServerConfig,
//! };
//! use lns_proto::time::Timestamp;
//!
//! let server = "192.0.2.10:1812".parse().expect("literal");
//! let mut client = Client::new(ClientConfig {
//!     auth_servers: vec![ServerConfig {
//!         addr: server,
//!         secret: Secret::new("s3cret"),
//!         timeout: Duration::from_secs(3),
//!         tries: 3,
//!     }],
//!     acct_servers: vec![],
//!     dead_time: Duration::ZERO,
//! });
//! let now = Timestamp::from_unix_millis(1_700_000_000_000);
//! let mut entropy = Seeded::new(1); // the OS RNG in the daemon
//! let request = access_request(&AccessParams {
//!     user_name: "alice".into(),
//!     credentials: Credentials::Pap(Password::new("wonderland")),
//!     nas: Nas { identifier: Some("lns1".into()), ..Nas::default() },
//!     port: Port { nas_port: 7, ..Port::default() },
//!     state: None,
//! });
//! let handle = client.send_access(now, request, &mut entropy).expect("encodable");
//! let datagram = client.poll_transmit().expect("sent at once"); // send datagram.payload to datagram.server
//! assert_eq!(datagram.server, server);
//! // Nothing came back: at poll_timeout() the request is retransmitted.
//! let deadline = client.poll_timeout().expect("a request is in flight");
//! client.handle_timeout(deadline, &mut entropy);
//! assert_eq!(client.poll_transmit().map(|t| t.payload), Some(datagram.payload));
//! // Replies go to client.handle_datagram(now, source, &bytes); events
//! // come out of poll_event():
//! while let Some(event) = client.poll_event() {
//!     if let Event::Reply { handle: h, packet, .. } = event {
//!         assert_eq!(h, handle);
//!         let _ = packet;
//!     }
//! }
//! ```

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use super::attribute::{Attribute, AttributeType};
use super::code::{AuthenticatorKind, Code};
use super::crypto::Secret;
use super::packet::{EmitError, Packet, PacketView};
use super::signing::{verify_reply, MessageAuthenticatorPolicy, Request};
use crate::entropy::Entropy;
use crate::time::Timestamp;

/// How many recent reply latencies each server keeps.
pub const LATENCY_SAMPLES: usize = 16;

/// One RADIUS server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where requests go and replies come from.
    pub addr: SocketAddr,
    /// The shared secret.
    pub secret: Secret,
    /// Time to wait for a reply before retransmitting.
    pub timeout: Duration,
    /// Transmissions to this server (first one included) before failing over.
    pub tries: u8,
}

/// The ordered server lists, first preferred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// Servers for Access-Request (usually port 1812).
    pub auth_servers: Vec<ServerConfig>,
    /// Servers for Accounting-Request (usually port 1813).
    pub acct_servers: Vec<ServerConfig>,
    /// How long a server that exhausted a request's tries is skipped by
    /// new requests (RFC 2865 §2.5 leaves this to the NAS; RFC 5080 §2.2.1
    /// warns against hammering a dead server). Zero disables it.
    pub dead_time: Duration,
}

/// Which server list a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Authentication and authorization.
    Authentication,
    /// Accounting.
    Accounting,
}

/// Names one request for its whole life, across retransmissions and
/// failovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(pub u64);

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination server.
    pub server: SocketAddr,
    /// The RADIUS packet.
    pub payload: Vec<u8>,
}

/// What the machine tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An authenticated reply to the request.
    Reply {
        /// The request answered.
        handle: Handle,
        /// The server that answered.
        server: SocketAddr,
        /// The reply.
        packet: Packet,
    },
    /// Every server was tried the configured number of times.
    Timeout {
        /// The request given up.
        handle: Handle,
    },
}

/// Counters for one server, for metrics and `show radius`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Requests sent (first transmissions to this server).
    pub requests: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// Requests that ran out of tries on this server.
    pub timeouts: u64,
    /// Authenticated replies.
    pub replies: u64,
    /// Replies dropped for a bad or missing (Message-)Authenticator.
    pub bad_authenticators: u64,
    /// Datagrams that are not RADIUS packets (RFC 2865 §3 length rules).
    pub malformed: u64,
    /// Replies matching no request in flight (late, duplicate or forged).
    pub unmatched: u64,
    /// Replies whose code does not answer the request.
    pub bad_codes: u64,
    /// Times the server was marked dead (see [`ClientConfig::dead_time`]).
    pub marked_dead: u64,
    /// Time from the last transmission to the reply, most recent last.
    pub latencies: VecDeque<Duration>,
}

/// The RADIUS client machine. Its `Debug` shows no secret, password or
/// encoded packet.
pub struct Client {
    config: ClientConfig,
    next_handle: u64,
    requests: BTreeMap<Handle, InFlight>,
    by_id: BTreeMap<(SocketAddr, u8), Handle>,
    next_id: BTreeMap<SocketAddr, u8>,
    stats: BTreeMap<SocketAddr, ServerStats>,
    /// Servers skipped by new requests until the given instant.
    dead_until: BTreeMap<SocketAddr, Timestamp>,
    /// Datagrams from addresses that are not configured servers.
    foreign: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

#[derive(Debug)]
struct InFlight {
    request: Request,
    service: Service,
    /// Index of the current server in its list.
    server: usize,
    /// Random Request Authenticator for the current server (Access).
    authenticator: [u8; 16],
    /// When the request was handed to us (for Acct-Delay-Time).
    created: Timestamp,
    /// Acct-Delay-Time the caller put in, seconds.
    base_delay: u32,
    /// `None` while waiting for a free Identifier.
    attempt: Option<Attempt>,
}

struct Attempt {
    addr: SocketAddr,
    secret: Secret,
    identifier: u8,
    sent_authenticator: [u8; 16],
    payload: Vec<u8>,
    sent_at: Timestamp,
    deadline: Timestamp,
    timeout: Duration,
    tries_left: u8,
}

impl Client {
    /// A client with the given servers and nothing in flight.
    pub fn new(config: ClientConfig) -> Self {
        let mut c = Client {
            config: ClientConfig::default(),
            next_handle: 1,
            requests: BTreeMap::new(),
            by_id: BTreeMap::new(),
            next_id: BTreeMap::new(),
            stats: BTreeMap::new(),
            dead_until: BTreeMap::new(),
            foreign: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        c.install(config);
        c
    }

    /// Replaces the server lists (SIGHUP). Requests whose current server is
    /// still listed with the same secret carry on with it (new timeout and
    /// tries apply from their next attempt); a changed secret re-sends at
    /// once under a new Identifier; requests on a removed server start over
    /// on the first server of the new list. Statistics of servers still
    /// listed are kept.
    pub fn set_config(&mut self, now: Timestamp, config: ClientConfig, entropy: &mut dyn Entropy) {
        self.install(config);
        let handles: Vec<Handle> = self.requests.keys().copied().collect();
        for h in handles {
            let Some(r) = self.requests.get_mut(&h) else {
                continue;
            };
            let list = self.config.servers(r.service);
            let Some(attempt) = &r.attempt else {
                r.server = 0;
                continue;
            };
            let restart_at = match list.iter().position(|s| s.addr == attempt.addr) {
                Some(i) if list[i].secret == attempt.secret => {
                    r.server = i;
                    continue;
                }
                // Same server, new secret: what is in flight is signed
                // with the old one, so send it again signed anew.
                Some(i) => i,
                None => 0,
            };
            let key = (attempt.addr, attempt.identifier);
            self.by_id.remove(&key);
            r.attempt = None;
            r.server = restart_at;
            entropy.fill(&mut r.authenticator);
            self.start_attempt(now, h);
        }
        self.dispatch_waiting(now);
    }

    /// Sends an Access-Request (or Status-Server); `entropy` supplies the
    /// Request Authenticator (RFC 2865 §3).
    pub fn send_access(
        &mut self,
        now: Timestamp,
        request: Request,
        entropy: &mut dyn Entropy,
    ) -> Result<Handle, EmitError> {
        let mut authenticator = [0u8; 16];
        entropy.fill(&mut authenticator);
        self.submit(now, Service::Authentication, request, authenticator)
    }

    /// Sends an Accounting-Request; its Acct-Delay-Time grows on every
    /// retransmission (RFC 2866 §5.2), which re-signs it under a new
    /// Identifier.
    pub fn send_accounting(
        &mut self,
        now: Timestamp,
        request: Request,
    ) -> Result<Handle, EmitError> {
        self.submit(now, Service::Accounting, request, [0; 16])
    }

    /// Forgets a request (its session is gone); a late reply is dropped.
    pub fn cancel(&mut self, now: Timestamp, handle: Handle) {
        if let Some(r) = self.requests.remove(&handle) {
            if let Some(a) = r.attempt {
                self.by_id.remove(&(a.addr, a.identifier));
            }
        }
        self.dispatch_waiting(now);
    }

    /// A datagram arrived from `server`.
    pub fn handle_datagram(&mut self, now: Timestamp, server: SocketAddr, datagram: &[u8]) {
        let Some(stats) = self.stats.get_mut(&server) else {
            self.foreign += 1;
            return;
        };
        // RFC 2865 §3: malformed packets are silently discarded.
        let Ok(view) = PacketView::new_checked(datagram) else {
            stats.malformed += 1;
            return;
        };
        // RFC 2865 §3: the Identifier matches replies to requests.
        let Some(&handle) = self.by_id.get(&(server, view.identifier())) else {
            stats.unmatched += 1;
            return;
        };
        let Some(r) = self.requests.get(&handle) else {
            stats.unmatched += 1;
            return;
        };
        let Some(attempt) = &r.attempt else {
            stats.unmatched += 1;
            return;
        };
        if !r.request.code.accepts_reply(view.code()) {
            stats.bad_codes += 1;
            return;
        }
        // RFC 3579 §3.2: our requests always carry a Message-Authenticator,
        // so Access replies must too (BlastRADIUS). Other replies are
        // protected by the Response Authenticator; one present is checked.
        let policy = match view.code() {
            Code::AccessAccept | Code::AccessReject | Code::AccessChallenge => {
                MessageAuthenticatorPolicy::Required
            }
            _ => MessageAuthenticatorPolicy::IfPresent,
        };
        if verify_reply(&view, &attempt.sent_authenticator, &attempt.secret, policy).is_err() {
            stats.bad_authenticators += 1;
            return;
        }
        stats.replies += 1;
        self.dead_until.remove(&server);
        if stats.latencies.len() == LATENCY_SAMPLES {
            stats.latencies.pop_front();
        }
        stats
            .latencies
            .push_back(now.saturating_since(attempt.sent_at));
        self.by_id.remove(&(server, view.identifier()));
        self.requests.remove(&handle);
        self.events.push_back(Event::Reply {
            handle,
            server,
            packet: Packet::from_view(&view),
        });
        self.dispatch_waiting(now);
    }

    /// Retransmits, fails over and gives up as deadlines pass; `entropy`
    /// supplies fresh Request Authenticators on failover.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        let due: Vec<Handle> = self
            .requests
            .iter()
            .filter(|(_, r)| r.attempt.as_ref().is_some_and(|a| a.deadline <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            self.expire(now, h, entropy);
        }
        self.dispatch_waiting(now);
    }

    /// The next instant `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.requests
            .values()
            .filter_map(|r| r.attempt.as_ref().map(|a| a.deadline))
            .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Counters of one configured server.
    pub fn stats(&self, server: SocketAddr) -> Option<&ServerStats> {
        self.stats.get(&server)
    }

    /// Counters of every configured server, by address.
    pub fn all_stats(&self) -> impl Iterator<Item = (&SocketAddr, &ServerStats)> {
        self.stats.iter()
    }

    /// Datagrams received from addresses that are not configured servers.
    pub fn foreign_datagrams(&self) -> u64 {
        self.foreign
    }

    /// Whether new requests skip `server` at `now` (it exhausted a
    /// request's tries less than `dead_time` ago and has not answered since).
    pub fn is_dead(&self, server: SocketAddr, now: Timestamp) -> bool {
        self.dead_until.get(&server).is_some_and(|t| *t > now)
    }

    /// Until when new requests skip `server`: set when it exhausted a
    /// request's tries, cleared by its next authenticated reply. A time in
    /// the past means the dead time is over and the server is being tried
    /// again without having answered yet.
    pub fn dead_until(&self, server: SocketAddr) -> Option<Timestamp> {
        self.dead_until.get(&server).copied()
    }

    /// Requests not yet answered or given up.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    /// The current configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn install(&mut self, config: ClientConfig) {
        let addrs: Vec<SocketAddr> = config
            .auth_servers
            .iter()
            .chain(&config.acct_servers)
            .map(|s| s.addr)
            .collect();
        self.stats.retain(|a, _| addrs.contains(a));
        self.dead_until.retain(|a, _| addrs.contains(a));
        for a in addrs {
            self.stats.entry(a).or_default();
        }
        self.config = config;
    }

    fn submit(
        &mut self,
        now: Timestamp,
        service: Service,
        request: Request,
        authenticator: [u8; 16],
    ) -> Result<Handle, EmitError> {
        let base_delay = request
            .attributes
            .iter()
            .find_map(|a| match a {
                Attribute::AcctDelayTime(d) => Some(*d),
                _ => None,
            })
            .unwrap_or(0);
        // Encode once with a placeholder secret to refuse what can never
        // be sent; the length does not depend on secret or Identifier.
        let mut probe = Request {
            code: request.code,
            attributes: request.attributes.clone(),
            password: request.password.clone(),
        };
        if service == Service::Accounting {
            set_delay(&mut probe.attributes, base_delay);
        }
        probe.encode(0, authenticator, &Secret::new(""), &mut Vec::new())?;
        let handle = Handle(self.next_handle);
        self.next_handle += 1;
        self.requests.insert(
            handle,
            InFlight {
                request,
                service,
                server: self.first_alive(service, now),
                authenticator,
                created: now,
                base_delay,
                attempt: None,
            },
        );
        self.start_attempt(now, handle);
        Ok(handle)
    }

    /// Sends the request to its current server under a fresh Identifier,
    /// or leaves it waiting if the server has none free.
    fn start_attempt(&mut self, now: Timestamp, handle: Handle) {
        let Some(r) = self.requests.get(&handle) else {
            return;
        };
        let Some(server) = self.config.servers(r.service).get(r.server).cloned() else {
            // No (more) servers: RFC 2865 §2.5 leaves giving up to the NAS.
            self.requests.remove(&handle);
            self.events.push_back(Event::Timeout { handle });
            return;
        };
        let Some(identifier) = self.allocate_id(server.addr) else {
            return; // waits for dispatch_waiting
        };
        let tries_left = server.tries.max(1);
        if let Some(stats) = self.stats.get_mut(&server.addr) {
            stats.requests += 1;
        }
        self.transmit(now, handle, server, identifier, tries_left);
    }

    /// Encodes and queues one transmission, recording the attempt.
    fn transmit(
        &mut self,
        now: Timestamp,
        handle: Handle,
        server: ServerConfig,
        identifier: u8,
        tries_left: u8,
    ) {
        let Some(r) = self.requests.get_mut(&handle) else {
            return;
        };
        let mut payload = Vec::new();
        let encoded = if r.service == Service::Accounting {
            // RFC 2866 §5.2: the delay so far, in seconds.
            let waited = now.saturating_since(r.created).as_secs();
            let delay = u64::from(r.base_delay).saturating_add(waited);
            let mut req = r.request.clone();
            set_delay(
                &mut req.attributes,
                u32::try_from(delay).unwrap_or(u32::MAX),
            );
            req.encode(identifier, r.authenticator, &server.secret, &mut payload)
        } else {
            r.request
                .encode(identifier, r.authenticator, &server.secret, &mut payload)
        };
        let Ok(sent_authenticator) = encoded else {
            // Checked in `submit`; a request that stops encoding is dropped.
            self.requests.remove(&handle);
            self.events.push_back(Event::Timeout { handle });
            return;
        };
        self.by_id.insert((server.addr, identifier), handle);
        self.transmits.push_back(Transmit {
            server: server.addr,
            payload: payload.clone(),
        });
        r.attempt = Some(Attempt {
            addr: server.addr,
            secret: server.secret,
            identifier,
            sent_authenticator,
            payload,
            sent_at: now,
            deadline: now + server.timeout,
            timeout: server.timeout,
            tries_left: tries_left.saturating_sub(1),
        });
    }

    /// A deadline passed: retransmit, fail over or give up.
    fn expire(&mut self, now: Timestamp, handle: Handle, entropy: &mut dyn Entropy) {
        let Some(r) = self.requests.get_mut(&handle) else {
            return;
        };
        let Some(a) = r.attempt.take() else { return };
        let key = (a.addr, a.identifier);
        if a.tries_left > 0 {
            if let Some(stats) = self.stats.get_mut(&a.addr) {
                stats.retransmits += 1;
            }
            if r.service == Service::Authentication
                || r.request.code.authenticator_kind() == AuthenticatorKind::Random
            {
                // RFC 5080 §2.2.1: a retransmission is the same packet, same
                // Identifier and Request Authenticator.
                self.transmits.push_back(Transmit {
                    server: a.addr,
                    payload: a.payload.clone(),
                });
                r.attempt = Some(Attempt {
                    sent_at: now,
                    deadline: now + a.timeout,
                    tries_left: a.tries_left - 1,
                    ..a
                });
                return;
            }
            // RFC 2866 §5.2: a new Acct-Delay-Time makes a new packet, so a
            // new Identifier and a new Request Authenticator.
            self.by_id.remove(&key);
            let server = ServerConfig {
                addr: a.addr,
                secret: a.secret,
                timeout: a.timeout,
                tries: 0,
            };
            match self.allocate_id(a.addr) {
                Some(id) => self.transmit(now, handle, server, id, a.tries_left),
                // Cannot happen (we just freed one), but stay correct.
                None => self.transmit(now, handle, server, a.identifier, a.tries_left),
            }
            return;
        }
        // RFC 2865 §2.5: out of tries on this server, try the next one.
        if let Some(stats) = self.stats.get_mut(&a.addr) {
            stats.timeouts += 1;
            if !self.config.dead_time.is_zero() {
                stats.marked_dead += 1;
                self.dead_until.insert(a.addr, now + self.config.dead_time);
            }
        }
        self.by_id.remove(&key);
        r.server += 1;
        entropy.fill(&mut r.authenticator);
        self.start_attempt(now, handle);
    }

    /// Where a new request starts: the first server not marked dead, or
    /// the first server if all are.
    fn first_alive(&self, service: Service, now: Timestamp) -> usize {
        self.config
            .servers(service)
            .iter()
            .position(|s| !self.is_dead(s.addr, now))
            .unwrap_or(0)
    }

    /// Gives waiting requests the Identifiers that became free.
    fn dispatch_waiting(&mut self, now: Timestamp) {
        let waiting: Vec<Handle> = self
            .requests
            .iter()
            .filter(|(_, r)| r.attempt.is_none())
            .map(|(h, _)| *h)
            .collect();
        for h in waiting {
            self.start_attempt(now, h);
        }
    }

    /// The next free Identifier for `addr`, rotating so that a just-freed
    /// one is reused last (a late reply then meets no request).
    fn allocate_id(&mut self, addr: SocketAddr) -> Option<u8> {
        let start = self.next_id.get(&addr).copied().unwrap_or(0);
        let id = (0..=0xffu8)
            .map(|i| start.wrapping_add(i))
            .find(|id| !self.by_id.contains_key(&(addr, *id)))?;
        self.next_id.insert(addr, id.wrapping_add(1));
        Some(id)
    }
}

impl core::fmt::Debug for Client {
    /// Queued datagrams are counted, not shown: they hold hidden passwords.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("requests", &self.requests)
            .field("stats", &self.stats)
            .field("foreign", &self.foreign)
            .field("queued_transmits", &self.transmits.len())
            .field("queued_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Attempt {
    /// Leaves out the encoded packet: it holds the hidden User-Password.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Attempt")
            .field("addr", &self.addr)
            .field("identifier", &self.identifier)
            .field("sent_at", &self.sent_at)
            .field("deadline", &self.deadline)
            .field("tries_left", &self.tries_left)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// The ordered list for `service`.
    pub fn servers(&self, service: Service) -> &[ServerConfig] {
        match service {
            Service::Authentication => &self.auth_servers,
            Service::Accounting => &self.acct_servers,
        }
    }
}

/// Sets (or adds) Acct-Delay-Time.
fn set_delay(attributes: &mut Vec<Attribute>, seconds: u32) {
    match attributes
        .iter_mut()
        .find(|a| a.kind() == AttributeType::AcctDelayTime)
    {
        Some(a) => *a = Attribute::AcctDelayTime(seconds),
        None => attributes.push(Attribute::AcctDelayTime(seconds)),
    }
}
