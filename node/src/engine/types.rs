//! The engine's inputs, outputs and configuration: the vocabulary the
//! control task (and, later, the replication log) speaks.
//!
//! Contract: plain data. [`AuthQuery`] carries a password or CHAP response;
//! its `Debug` hides them, so outputs can be logged whole.

use crate::dataplane::SessionEntry;
use crate::metrics::SessionSetupFailure;
use lns_proto::l2tp::{EndpointConfig, Transmit};
use lns_proto::ppp::{AuthRequest, LinkConfig};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::accounting::{AccountingConfig, AccountingRecord, SessionCounters};
use super::pool::PoolSpec;

/// A session: (our tunnel id, our session id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    /// Our tunnel id.
    pub tunnel: u16,
    /// Our session id.
    pub session: u16,
}

impl fmt::Display for SessionKey {
    /// `tunnel/session`, as logs and operators name a session.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tunnel, self.session)
    }
}

/// What a second login of a logged-in user does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondLoginPolicy {
    /// Both sessions live.
    Allow,
    /// The older session(s) end once the new one authenticates.
    ReplaceOlder,
}

/// Everything the engine needs (daemon configuration, not replicated).
/// Its `Debug` leaves out the LAC table (it holds tunnel secrets).
#[derive(Clone)]
pub struct EngineConfig {
    /// The L2TP endpoint (Side::Lns, peers, limits, timers).
    pub endpoint: EndpointConfig,
    /// PPP link defaults for every session.
    pub link: LinkConfig,
    /// Address pools.
    pub pools: Vec<PoolSpec>,
    /// Pool used when neither AAA nor the user names one.
    pub default_pool: Option<String>,
    /// DNS servers given in IPCP unless AAA gives others.
    pub dns: [Option<Ipv4Addr>; 2],
    /// Default Session-Timeout.
    pub session_timeout: Option<Duration>,
    /// Default Idle-Timeout.
    pub idle_timeout: Option<Duration>,
    /// Second-login policy.
    pub second_login: SecondLoginPolicy,
    /// Sessions in all tunnels.
    pub max_sessions: usize,
    /// SCCRQs accepted per second from one source address.
    pub setups_per_second_per_source: u32,
    /// IPv6 service (RA, DHCPv6, prefix pools); `None`: IPV6CP only.
    pub ipv6: Option<super::Ipv6Settings>,
    /// Accounting records (RFC 2866).
    pub accounting: AccountingConfig,
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field(
                "host_name",
                &String::from_utf8_lossy(&self.endpoint.host_name),
            )
            .field("transport", &self.endpoint.transport)
            .field("limits", &self.endpoint.limits)
            .field("lacs", &self.endpoint.peers.entries.len())
            .field("link", &self.link)
            .field("pools", &self.pools)
            .field("default_pool", &self.default_pool)
            .field("dns", &self.dns)
            .field("session_timeout", &self.session_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("second_login", &self.second_login)
            .field("max_sessions", &self.max_sessions)
            .field(
                "setups_per_second_per_source",
                &self.setups_per_second_per_source,
            )
            .field("ipv6", &self.ipv6.is_some())
            .field("accounting", &self.accounting)
            .finish()
    }
}

/// An operator command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    /// End one session (LCP Terminate, then CDN "administrative").
    KillSession(SessionKey),
    /// End a tunnel and its sessions (StopCCN).
    KillTunnel(u16),
    /// End everything: CDN for every session, StopCCN for every tunnel,
    /// and refuse new tunnels.
    Shutdown,
}

/// How the subscriber's IPv4 address is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressGrant {
    /// From this pool (`None`: the default pool).
    Pool(Option<String>),
    /// This address (users file, RADIUS Framed-IP-Address).
    Fixed(Ipv4Addr),
}

/// What an accepted authentication grants the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// IPv4 address policy.
    pub address: AddressGrant,
    /// Session-Timeout (overrides the default).
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout (overrides the default).
    pub idle_timeout: Option<Duration>,
    /// Class attributes, kept for accounting.
    pub class: Vec<Vec<u8>>,
    /// DNS servers (override the configured ones when given).
    pub dns: [Option<Ipv4Addr>; 2],
    /// IPv6 prefixes and DNS servers (RFC 3162, 4818, 6911); `None` when
    /// AAA sent none of them. Boxed: ~90 bytes that most sessions (every
    /// locally authenticated one) would carry empty. Read with
    /// [`Grant::ipv6`], set with [`Grant::set_ipv6`].
    pub ipv6: Option<Box<super::ipv6::Ipv6Grant>>,
    /// Acct-Interim-Interval (overrides the configured one).
    pub acct_interim_interval: Option<Duration>,
    /// Who authenticated the user (Acct-Authentic, RFC 2866 §5.6).
    pub authentic: lns_proto::radius::values::AcctAuthentic,
}

impl Grant {
    /// An address from the default pool, nothing else (authenticated
    /// locally).
    pub fn default_pool() -> Grant {
        Grant {
            address: AddressGrant::Pool(None),
            session_timeout: None,
            idle_timeout: None,
            class: Vec::new(),
            dns: [None, None],
            ipv6: None,
            acct_interim_interval: None,
            authentic: lns_proto::radius::values::AcctAuthentic::Local,
        }
    }

    /// The IPv6 grant (empty when AAA sent no IPv6 attribute).
    pub fn ipv6(&self) -> &super::ipv6::Ipv6Grant {
        static EMPTY: super::ipv6::Ipv6Grant = super::ipv6::Ipv6Grant::EMPTY;
        self.ipv6.as_deref().unwrap_or(&EMPTY)
    }

    /// Sets the IPv6 grant; an empty one is kept as `None` (no heap).
    pub fn set_ipv6(&mut self, g: super::ipv6::Ipv6Grant) {
        self.ipv6 = (g != super::ipv6::Ipv6Grant::EMPTY).then(|| Box::new(g));
    }
}

/// The AAA verdict.
// One per authentication, moved once: boxing the Grant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Accepted with these attributes.
    Accept(Grant),
    /// Refused (wrong password, unknown user, Access-Reject).
    Reject,
    /// No server answered: refused too, with a different message.
    Unavailable,
}

/// A request for the AAA task.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthQuery {
    /// The session.
    pub session: SessionKey,
    /// Names this request; the answer must carry it back.
    pub request: u64,
    /// NAS-Port (unique per session on this node).
    pub nas_port: u32,
    /// The LAC's Calling Number AVP (Calling-Station-Id).
    pub calling_station: Option<Vec<u8>>,
    /// The LAC's Called Number AVP (Called-Station-Id).
    pub called_station: Option<Vec<u8>>,
    /// The PAP or CHAP exchange.
    pub proof: AuthRequest,
}

impl AuthQuery {
    /// The user name the subscriber gave.
    pub fn user(&self) -> &[u8] {
        match &self.proof {
            AuthRequest::Pap { name, .. } | AuthRequest::Chap { name, .. } => name,
        }
    }
}

impl fmt::Debug for AuthQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.proof {
            AuthRequest::Pap { .. } => "pap",
            AuthRequest::Chap { .. } => "chap",
        };
        f.debug_struct("AuthQuery")
            .field("session", &self.session)
            .field("request", &self.request)
            .field("user", &String::from_utf8_lossy(self.user()))
            .field("method", &method)
            .field("proof", &"<redacted>")
            .finish()
    }
}

/// One input to [`super::Engine::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An L2TP control datagram.
    L2tpDatagram {
        /// Our address it arrived on.
        local: SocketAddr,
        /// The sender.
        peer: SocketAddr,
        /// The UDP payload.
        bytes: Vec<u8>,
    },
    /// A PPP control frame of a session.
    PppFrame {
        /// The session.
        session: SessionKey,
        /// The frame (address/control and protocol included).
        bytes: Vec<u8>,
    },
    /// The AAA verdict for an [`AuthQuery`].
    AuthResult {
        /// The session.
        session: SessionKey,
        /// The query's `request`.
        request: u64,
        /// The verdict.
        outcome: AuthOutcome,
    },
    /// Timers may be due.
    Tick,
    /// Per-session traffic totals read from the data plane (every
    /// `counters_interval`, and once when a session is withdrawn); also
    /// how counters are replicated in periodic batches (issue 6 item 5).
    /// Counters only grow: a smaller value is ignored.
    Counters(Vec<SessionCounters>),
    /// An accounting server acknowledged this record.
    AccountingAcked {
        /// [`AccountingRecord::id`].
        record: u64,
    },
    /// New limits for a running session (RFC 5176 CoA-Request).
    Reauthorize {
        /// The session.
        session: SessionKey,
        /// What changes.
        change: Reauthorization,
    },
    /// An operator command.
    Admin(AdminCommand),
    /// The data plane saw traffic from the subscriber at `at`.
    TrafficSeen {
        /// The session.
        session: SessionKey,
        /// Last packet from the subscriber (Unix micros).
        at: lns_proto::time::Timestamp,
    },
    /// A new active node took over (issue 6): restart the L2TP and PPP
    /// timers with jitter, retransmit the unacked control messages and ask
    /// AAA again for sessions waiting for a verdict.
    Rearm,
}

/// What a CoA-Request changes (RFC 5176 §3.2): what an Access-Accept
/// sets that can change on a live session. `None` (or no Class): unchanged;
/// a zero duration: no limit (no Interim-Update) any more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reauthorization {
    /// Session-Timeout, counted from authentication (RFC 2865 §5.27).
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout (RFC 2865 §5.28).
    pub idle_timeout: Option<Duration>,
    /// Acct-Interim-Interval (RFC 2869 §5.16): re-schedules the Interims.
    pub acct_interim_interval: Option<Duration>,
    /// Class values (RFC 2865 §5.25): replace those echoed in later
    /// accounting records; empty: unchanged.
    pub class: Vec<Vec<u8>>,
}

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Routine detail.
    Debug,
    /// Normal life events.
    Info,
    /// Something an operator should look at.
    Warn,
}

/// A log-worthy event; the engine never prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Severity.
    pub level: Level,
    /// The session concerned, if any.
    pub session: Option<SessionKey>,
    /// What happened (never a password or secret).
    pub text: String,
}

/// One output drained with [`super::Engine::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// An L2TP control datagram to send.
    SendL2tp(Transmit),
    /// A PPP frame to send in the session's L2TP data header.
    SendPpp {
        /// The session.
        session: SessionKey,
        /// The frame.
        frame: Vec<u8>,
    },
    /// Ask AAA; answer with [`Input::AuthResult`].
    Authenticate(AuthQuery),
    /// Publish (or update) the session in the data plane: once when the
    /// L2TP session is established (no IPv4 yet: PPP control can flow), and
    /// again when IPCP opens (with the subscriber's address).
    SessionUp(SessionEntry),
    /// The session is gone (remove it from the data plane).
    SessionDown {
        /// The session.
        session: SessionKey,
        /// Its user (empty if none authenticated).
        user: String,
        /// Class attributes for the Acct-Stop.
        class: Vec<Vec<u8>>,
        /// Acct-Session-Id.
        acct_session_id: String,
        /// Why it ended, if it ended before being established (the
        /// observer ignores it for an established session).
        setup_failure: SessionSetupFailure,
    },
    /// An accounting record was queued: send it, then answer with
    /// [`Input::AccountingAcked`].
    Account(AccountingRecord),
    /// Something to log.
    Log(Notice),
}
