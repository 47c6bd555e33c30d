//! The engine's replicated state as versioned protobuf
//! (`proto/schema/lnsd.proto`, `lns_proto::pb::lnsd`), and the commands'
//! inputs in the same encoding.
//!
//! Contract: [`Engine::snapshot`] after the outputs are drained, then
//! [`Engine::restore`] with the same configuration, gives an engine that
//! answers every later input exactly as the original (same outputs, same
//! next snapshot). Derived indexes (timers) are rebuilt; metrics tallies
//! are not replicated. The snapshot carries the accounting state (queue,
//! next id, live sessions, waiting Starts and Stops, timers, traffic,
//! causes: `engine::accounting::snapshot`), the IPv6 state (prefix pools
//! with their sticky memory, each session's RA sender and DHCPv6 server:
//! `engine::ipv6_snapshot`) and the setup-failure notes. A version-1
//! snapshot written before those fields existed still loads (they come
//! back empty). [`input_to_pb`] / [`input_from_pb`] round-trip every
//! [`Input`]; a malformed input is a typed [`SnapshotError`].

use super::accounting::{SessionCounters, Traffic};
use super::ipv6::Ipv6Grant;
use super::pool::Pools;
use super::session::{AcctSessionId, AuthPhase, Ending, Session, Stations};
use super::stored_grant::StoredGrant;
use super::types::{
    AddressGrant, AdminCommand, AuthOutcome, Grant, Input, Reauthorization, SessionKey,
};
use super::{flood::SetupLimiter, Engine, RunState};
use crate::metrics::SessionSetupFailure;
use lns_proto::l2tp::state::StateError;
use lns_proto::l2tp::Endpoint;
use lns_proto::pb::lnsd as pb;
use lns_proto::ppp::Link;
use lns_proto::radius::values::AcctAuthentic;
use lns_proto::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The schema version written by this code.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Replicated state that cannot be loaded: corrupt, or written by a newer
/// version (the writer is at fault, never the peer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Written by a schema version this code does not read.
    #[error("engine snapshot version {0} is not supported")]
    UnsupportedVersion(u32),
    /// The L2TP endpoint state does not load.
    #[error("L2TP state: {0}")]
    L2tp(#[from] StateError),
    /// A PPP link does not load.
    #[error("PPP link of session {0}: {1}")]
    Ppp(SessionKey, lns_proto::ppp::RestoreError),
    /// A required field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field holds a value out of range.
    #[error("bad value for {0}")]
    BadField(&'static str),
    /// The IPv6 state does not load.
    #[error("IPv6: {0}")]
    Ipv6(#[from] super::ipv6_snapshot::Ipv6RestoreError),
    /// A session whose L2TP session is not in the endpoint state.
    #[error("session {0} has no L2TP session")]
    Orphan(SessionKey),
}

impl Engine {
    /// The whole replicated state. Drain [`Engine::poll_output`] first:
    /// queued outputs are not state.
    pub fn snapshot(&self) -> pb::EngineSnapshot {
        pb::EngineSnapshot {
            version: SNAPSHOT_VERSION,
            // Set by the replica (replica::fingerprint), not engine state.
            config_fingerprint: None,
            cfg_settings: None,
            endpoint: Some(self.endpoint.snapshot()),
            sessions: self.sessions.values().map(|s| session_to_pb(s)).collect(),
            early: self
                .early
                .iter()
                .map(|(k, frames)| pb::EarlyCall {
                    key: Some(key_to_pb(*k)),
                    frames: frames.clone(),
                })
                .collect(),
            pools: self
                .pools
                .pools
                .iter()
                .map(|(name, p)| pb::PoolRecord {
                    name: name.clone(),
                    cursor: p.cursor,
                    last: p
                        .last
                        .iter()
                        .map(|(user, a)| pb::StickyAddress {
                            user: user.clone(),
                            address: u32::from(*a),
                        })
                        .collect(),
                })
                .collect(),
            in_use: self
                .pools
                .in_use
                .iter()
                .map(|(a, (tunnel, session))| pb::Allocation {
                    address: u32::from(*a),
                    owner: Some(key_to_pb(SessionKey {
                        tunnel: *tunnel,
                        session: *session,
                    })),
                })
                .collect(),
            next_request: self.next_request,
            run_state: match self.state {
                RunState::Running => 0,
                RunState::ShuttingDown => 1,
            },
            limiter: self
                .limiter
                .windows
                .iter()
                .map(|(ip, (second, count))| pb::LimiterWindow {
                    source: match ip {
                        IpAddr::V4(a) => a.octets().to_vec(),
                        IpAddr::V6(a) => a.octets().to_vec(),
                    },
                    second: *second,
                    count: *count,
                })
                .collect(),
            accounting: Some(self.accounting.to_pb()),
            ipv6: Some(self.ipv6_to_pb()),
            setup_failures: self
                .failures
                .entries()
                .map(|(k, cause)| pb::SetupFailureNote {
                    key: Some(key_to_pb(k)),
                    cause: SessionSetupFailure::ALL
                        .iter()
                        .position(|c| *c == cause)
                        .and_then(|i| u32::try_from(i).ok())
                        .unwrap_or(u32::MAX),
                })
                .collect(),
        }
    }

    /// An engine rebuilt from [`Engine::snapshot`] with `config` (the
    /// daemon's configuration, not replicated).
    pub fn restore(
        config: super::EngineConfig,
        s: &pb::EngineSnapshot,
    ) -> Result<Engine, SnapshotError> {
        if s.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion(s.version));
        }
        let endpoint_state = s
            .endpoint
            .as_ref()
            .ok_or(SnapshotError::Missing("endpoint"))?;
        let endpoint = Endpoint::restore(config.endpoint.clone(), endpoint_state)?;
        let mut pools = Pools::new(&config.pools);
        for p in &s.pools {
            if let Some(pool) = pools.pools.get_mut(&p.name) {
                pool.cursor = p.cursor;
                pool.last = p
                    .last
                    .iter()
                    .map(|l| (l.user.clone(), Ipv4Addr::from(l.address)))
                    .collect();
            }
        }
        for a in &s.in_use {
            let k = key_from_pb(a.owner.as_ref())?;
            pools
                .in_use
                .insert(Ipv4Addr::from(a.address), (k.tunnel, k.session));
        }
        let mut limiter = SetupLimiter::new(config.setups_per_second_per_source);
        for w in &s.limiter {
            let ip = match w.source.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(&w.source[..]).map_err(|_| bad("limiter"))?),
                16 => {
                    IpAddr::from(<[u8; 16]>::try_from(&w.source[..]).map_err(|_| bad("limiter"))?)
                }
                _ => return Err(bad("limiter.source")),
            };
            limiter.windows.insert(ip, (w.second, w.count));
        }
        let mut sessions = BTreeMap::new();
        let link_config = std::sync::Arc::new(config.link.clone());
        for r in &s.sessions {
            let session = session_from_pb(&link_config, &endpoint, r)?;
            sessions.insert(session.key, Box::new(session));
        }
        let mut early = BTreeMap::new();
        for c in &s.early {
            early.insert(key_from_pb(c.key.as_ref())?, c.frames.clone());
        }
        let state = match s.run_state {
            0 => RunState::Running,
            1 => RunState::ShuttingDown,
            _ => return Err(bad("run_state")),
        };
        let mut failures = super::SetupFailures::default();
        for n in &s.setup_failures {
            let cause = usize::try_from(n.cause)
                .ok()
                .and_then(|i| SessionSetupFailure::ALL.get(i))
                .ok_or(bad("setup_failures.cause"))?;
            failures.note(key_from_pb(n.key.as_ref())?, *cause);
        }
        let mut accounting = super::Accounting::new(config.accounting.clone());
        if let Some(a) = &s.accounting {
            accounting.load_pb(a)?;
        }
        let ipv6 = config.ipv6.clone();
        let mut engine = Engine {
            endpoint,
            sessions,
            pools,
            limiter,
            next_request: s.next_request,
            state,
            dirty: BTreeSet::new(),
            timers: BTreeSet::new(),
            early,
            outputs: VecDeque::new(),
            tally: super::Tally::default(),
            failures,
            accounting,
            v6: super::ipv6::Ipv6State::default(),
            link_config,
            config,
        };
        // The same `[ipv6]` settings as the writer, then its pools and
        // sessions (a snapshot without them reserves nothing).
        if let Some(settings) = ipv6 {
            engine
                .enable_ipv6(settings)
                .map_err(|_| bad("ipv6 settings"))?;
            if let Some(v6) = &s.ipv6 {
                engine.load_ipv6_pb(v6)?;
            }
        }
        let keys: Vec<SessionKey> = engine.sessions.keys().copied().collect();
        for k in keys {
            engine.reindex(k);
        }
        Ok(engine)
    }
}

/// One input in its replicated encoding.
pub fn input_to_pb(input: &Input) -> pb::Input {
    use pb::input::Kind;
    let kind = match input {
        Input::L2tpDatagram { local, peer, bytes } => Kind::L2tp(pb::L2tpDatagram {
            local: local.to_string(),
            peer: peer.to_string(),
            datagram: bytes.clone(),
        }),
        Input::PppFrame { session, bytes } => Kind::Ppp(pb::PppFrame {
            session: Some(key_to_pb(*session)),
            frame: bytes.clone(),
        }),
        Input::AuthResult {
            session,
            request,
            outcome,
        } => {
            let (code, grant) = match outcome {
                AuthOutcome::Accept(g) => (0, Some(grant_to_pb(g))),
                AuthOutcome::Reject => (1, None),
                AuthOutcome::Unavailable => (2, None),
            };
            Kind::Auth(pb::AuthResult {
                session: Some(key_to_pb(*session)),
                request: *request,
                outcome: code,
                grant,
            })
        }
        Input::Tick => Kind::Tick(pb::Tick {}),
        Input::Admin(cmd) => Kind::Admin(match cmd {
            AdminCommand::KillSession(k) => pb::Admin {
                kind: 1,
                session: Some(key_to_pb(*k)),
                tunnel: 0,
            },
            AdminCommand::KillTunnel(t) => pb::Admin {
                kind: 2,
                session: None,
                tunnel: u32::from(*t),
            },
            AdminCommand::Shutdown => pb::Admin {
                kind: 3,
                session: None,
                tunnel: 0,
            },
        }),
        Input::TrafficSeen { session, at } => Kind::Traffic(pb::TrafficSeen {
            session: Some(key_to_pb(*session)),
            at_us: at.unix_micros(),
        }),
        Input::Rearm => Kind::Rearm(pb::Rearm {}),
        Input::Counters(batch) => Kind::Counters(pb::Counters {
            sessions: batch
                .iter()
                .map(|c| counters_to_pb(c.session, &c.traffic))
                .collect(),
        }),
        Input::AccountingAcked { record } => {
            Kind::AccountingAcked(pb::AccountingAcked { record: *record })
        }
        Input::Reauthorize { session, change } => Kind::Reauthorize(pb::Reauthorize {
            session: Some(key_to_pb(*session)),
            session_timeout_ms: change.session_timeout.map(ms),
            idle_timeout_ms: change.idle_timeout.map(ms),
            acct_interim_interval_ms: change.acct_interim_interval.map(ms),
            class: change.class.clone(),
        }),
    };
    pb::Input { kind: Some(kind) }
}

/// An input decoded from its replicated encoding.
pub fn input_from_pb(p: &pb::Input) -> Result<Input, SnapshotError> {
    use pb::input::Kind;
    Ok(
        match p
            .kind
            .as_ref()
            .ok_or(SnapshotError::Missing("input.kind"))?
        {
            Kind::L2tp(d) => Input::L2tpDatagram {
                local: addr(&d.local)?,
                peer: addr(&d.peer)?,
                bytes: d.datagram.clone(),
            },
            Kind::Ppp(f) => Input::PppFrame {
                session: key_from_pb(f.session.as_ref())?,
                bytes: f.frame.clone(),
            },
            Kind::Auth(a) => Input::AuthResult {
                session: key_from_pb(a.session.as_ref())?,
                request: a.request,
                outcome: match a.outcome {
                    0 => AuthOutcome::Accept(grant_from_pb(
                        a.grant
                            .as_ref()
                            .ok_or(SnapshotError::Missing("auth.grant"))?,
                    )?),
                    1 => AuthOutcome::Reject,
                    2 => AuthOutcome::Unavailable,
                    _ => return Err(bad("auth.outcome")),
                },
            },
            Kind::Tick(_) => Input::Tick,
            Kind::Admin(a) => Input::Admin(match a.kind {
                1 => AdminCommand::KillSession(key_from_pb(a.session.as_ref())?),
                2 => AdminCommand::KillTunnel(
                    u16::try_from(a.tunnel).map_err(|_| bad("admin.tunnel"))?,
                ),
                3 => AdminCommand::Shutdown,
                _ => return Err(bad("admin.kind")),
            }),
            Kind::Traffic(t) => Input::TrafficSeen {
                session: key_from_pb(t.session.as_ref())?,
                at: Timestamp::from_unix_micros(t.at_us),
            },
            Kind::Rearm(_) => Input::Rearm,
            Kind::Counters(c) => Input::Counters(
                c.sessions
                    .iter()
                    .map(|c| {
                        counters_from_pb(c)
                            .map(|(session, traffic)| SessionCounters { session, traffic })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::AccountingAcked(a) => Input::AccountingAcked { record: a.record },
            Kind::Reauthorize(r) => Input::Reauthorize {
                session: key_from_pb(r.session.as_ref())?,
                change: Reauthorization {
                    session_timeout: r.session_timeout_ms.map(Duration::from_millis),
                    idle_timeout: r.idle_timeout_ms.map(Duration::from_millis),
                    acct_interim_interval: r.acct_interim_interval_ms.map(Duration::from_millis),
                    class: r.class.clone(),
                },
            },
        },
    )
}

// ---- helpers ----------------------------------------------------------

fn bad(field: &'static str) -> SnapshotError {
    SnapshotError::BadField(field)
}

fn addr(s: &str) -> Result<SocketAddr, SnapshotError> {
    s.parse().map_err(|_| bad("socket address"))
}

pub(super) fn key_to_pb(k: SessionKey) -> pb::SessionKey {
    pb::SessionKey {
        tunnel: u32::from(k.tunnel),
        session: u32::from(k.session),
    }
}

pub(super) fn key_from_pb(k: Option<&pb::SessionKey>) -> Result<SessionKey, SnapshotError> {
    let k = k.ok_or(SnapshotError::Missing("session key"))?;
    Ok(SessionKey {
        tunnel: u16::try_from(k.tunnel).map_err(|_| bad("session key tunnel"))?,
        session: u16::try_from(k.session).map_err(|_| bad("session key session"))?,
    })
}

// rx = from the subscriber (input), tx = to the subscriber (output).
pub(super) fn counters_to_pb(k: SessionKey, c: &Traffic) -> pb::SessionCounters {
    pb::SessionCounters {
        session: Some(key_to_pb(k)),
        rx_packets: c.input_packets,
        rx_bytes: c.input_octets,
        tx_packets: c.output_packets,
        tx_bytes: c.output_octets,
    }
}

pub(super) fn counters_from_pb(
    c: &pb::SessionCounters,
) -> Result<(SessionKey, Traffic), SnapshotError> {
    Ok((
        key_from_pb(c.session.as_ref())?,
        Traffic {
            input_octets: c.rx_bytes,
            output_octets: c.tx_bytes,
            input_packets: c.rx_packets,
            output_packets: c.tx_packets,
        },
    ))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn grant_to_pb(g: &Grant) -> pb::Grant {
    pb::Grant {
        address: Some(match &g.address {
            AddressGrant::Pool(p) => pb::grant::Address::Pool(p.clone().unwrap_or_default()),
            AddressGrant::Fixed(a) => pb::grant::Address::Fixed(u32::from(*a)),
        }),
        session_timeout_ms: g.session_timeout.map(ms),
        idle_timeout_ms: g.idle_timeout.map(ms),
        class: g.class.clone(),
        dns1: g.dns[0].map(u32::from),
        dns2: g.dns[1].map(u32::from),
        acct_interim_interval_ms: g.acct_interim_interval.map(ms),
        acct_authentic: u32::from(g.authentic),
        ipv6: Some(ipv6_grant_to_pb(g.ipv6())),
    }
}

pub(super) fn v6_prefix_to_pb(p: (Ipv6Addr, u8)) -> pb::Ipv6Prefix {
    pb::Ipv6Prefix {
        address: p.0.octets().to_vec(),
        length: u32::from(p.1),
    }
}

pub(super) fn v6_addr_from_pb(b: &[u8], what: &'static str) -> Result<Ipv6Addr, SnapshotError> {
    let octets: [u8; 16] = b.try_into().map_err(|_| bad(what))?;
    Ok(Ipv6Addr::from(octets))
}

pub(super) fn v6_prefix_from_pb(p: &pb::Ipv6Prefix) -> Result<(Ipv6Addr, u8), SnapshotError> {
    let len = u8::try_from(p.length)
        .ok()
        .filter(|l| *l <= 128)
        .ok_or(bad("ipv6 prefix length"))?;
    Ok((v6_addr_from_pb(&p.address, "ipv6 prefix")?, len))
}

fn ipv6_grant_to_pb(g: &Ipv6Grant) -> pb::Ipv6Grant {
    pb::Ipv6Grant {
        framed_prefix: g.framed_prefix.map(v6_prefix_to_pb),
        delegated_prefix: g.delegated_prefix.map(v6_prefix_to_pb),
        framed_address: g.framed_address.map(|a| a.octets().to_vec()),
        interface_id: g.interface_id.map(|i| i.to_vec()),
        dns: g.dns.iter().map(|a| a.octets().to_vec()).collect(),
    }
}

fn ipv6_grant_from_pb(g: &pb::Ipv6Grant) -> Result<Ipv6Grant, SnapshotError> {
    Ok(Ipv6Grant {
        framed_prefix: g
            .framed_prefix
            .as_ref()
            .map(v6_prefix_from_pb)
            .transpose()?,
        delegated_prefix: g
            .delegated_prefix
            .as_ref()
            .map(v6_prefix_from_pb)
            .transpose()?,
        framed_address: g
            .framed_address
            .as_deref()
            .map(|b| v6_addr_from_pb(b, "framed ipv6 address"))
            .transpose()?,
        interface_id: g
            .interface_id
            .as_deref()
            .map(|b| <[u8; 8]>::try_from(b).map_err(|_| bad("interface id")))
            .transpose()?,
        dns: g
            .dns
            .iter()
            .map(|b| v6_addr_from_pb(b, "ipv6 dns"))
            .collect::<Result<_, _>>()?,
    })
}

fn grant_from_pb(g: &pb::Grant) -> Result<Grant, SnapshotError> {
    let mut grant = Grant {
        address: match g
            .address
            .as_ref()
            .ok_or(SnapshotError::Missing("grant.address"))?
        {
            pb::grant::Address::Pool(p) if p.is_empty() => AddressGrant::Pool(None),
            pb::grant::Address::Pool(p) => AddressGrant::Pool(Some(p.clone())),
            pb::grant::Address::Fixed(a) => AddressGrant::Fixed(Ipv4Addr::from(*a)),
        },
        session_timeout: g.session_timeout_ms.map(Duration::from_millis),
        idle_timeout: g.idle_timeout_ms.map(Duration::from_millis),
        class: g.class.clone(),
        dns: [g.dns1.map(Ipv4Addr::from), g.dns2.map(Ipv4Addr::from)],
        acct_interim_interval: g.acct_interim_interval_ms.map(Duration::from_millis),
        authentic: AcctAuthentic::from(g.acct_authentic),
        ipv6: None,
    };
    if let Some(v6) = g.ipv6.as_ref() {
        grant.set_ipv6(ipv6_grant_from_pb(v6)?);
    }
    Ok(grant)
}

fn session_to_pb(s: &Session) -> pb::SessionRecord {
    let (auth_phase, auth_request) = match s.auth {
        AuthPhase::Waiting => (0, 0),
        AuthPhase::Pending(r) => (1, r),
        AuthPhase::Accepted => (2, 0),
        AuthPhase::Rejected => (3, 0),
    };
    let (ending, ending_result, ending_error) = match s.ending {
        Ending::No => (false, 0, 0),
        Ending::With(r, e) => (true, u32::from(u16::from(r)), u32::from(u16::from(e))),
    };
    pb::SessionRecord {
        key: Some(key_to_pb(s.key)),
        link: Some(s.link.snapshot()),
        auth_phase,
        auth_request,
        user: s.user.to_vec(),
        grant: s.grant.as_ref().map(|g| grant_to_pb(&g.grant())),
        ipv4: s.ipv4.map(u32::from),
        acct_session_id: s.acct_session_id.to_string(),
        started_us: s.started.unix_micros(),
        authenticated_at_us: s.authenticated_at.map(Timestamp::unix_micros),
        last_traffic_us: s.last_traffic.unix_micros(),
        session_deadline_us: s.session_deadline.map(Timestamp::unix_micros),
        idle_timeout_ms: s.idle_timeout.get().map(ms),
        mru: u32::from(s.mru),
        ending,
        ending_result,
        ending_error,
        published: s.published,
        counters: Some(counters_to_pb(s.key, &s.counters)),
    }
}

fn session_from_pb(
    link_config: &std::sync::Arc<lns_proto::ppp::LinkConfig>,
    endpoint: &Endpoint,
    r: &pb::SessionRecord,
) -> Result<Session, SnapshotError> {
    let key = key_from_pb(r.key.as_ref())?;
    let tunnel = endpoint
        .tunnel(key.tunnel)
        .ok_or(SnapshotError::Orphan(key))?;
    let l2tp = tunnel
        .sessions
        .get(&key.session)
        .ok_or(SnapshotError::Orphan(key))?;
    let link_state = r
        .link
        .as_ref()
        .ok_or(SnapshotError::Missing("session.link"))?;
    let link = Link::restore(std::sync::Arc::clone(link_config), link_state)
        .map_err(|e| SnapshotError::Ppp(key, e))?;
    let u16_of = |v: u32, f| u16::try_from(v).map_err(|_| bad(f));
    Ok(Session {
        key,
        peer_session_id: l2tp.peer_id,
        stations: Stations::of(&l2tp.call),
        link,
        auth: match r.auth_phase {
            0 => AuthPhase::Waiting,
            1 => AuthPhase::Pending(r.auth_request),
            2 => AuthPhase::Accepted,
            3 => AuthPhase::Rejected,
            _ => return Err(bad("session.auth_phase")),
        },
        user: r.user.as_slice().into(),
        grant: r
            .grant
            .as_ref()
            .map(grant_from_pb)
            .transpose()?
            .map(StoredGrant::from),
        ipv4: r.ipv4.map(Ipv4Addr::from),
        acct_session_id: AcctSessionId::parse(&r.acct_session_id)
            .ok_or(bad("session.acct_session_id"))?,
        started: Timestamp::from_unix_micros(r.started_us),
        authenticated_at: r.authenticated_at_us.map(Timestamp::from_unix_micros),
        last_traffic: Timestamp::from_unix_micros(r.last_traffic_us),
        session_deadline: r.session_deadline_us.map(Timestamp::from_unix_micros),
        idle_timeout: r.idle_timeout_ms.map(Duration::from_millis).into(),
        mru: u16_of(r.mru, "session.mru")?,
        ending: if r.ending {
            Ending::With(
                u16_of(r.ending_result, "session.ending_result")?.into(),
                u16_of(r.ending_error, "session.ending_error")?.into(),
            )
        } else {
            Ending::No
        },
        published: r.published,
        counters: match &r.counters {
            Some(c) => counters_from_pb(c)?.1,
            None => Traffic::default(),
        },
        indexed_at: None,
    })
}
