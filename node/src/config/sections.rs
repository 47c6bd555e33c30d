//! The sections of the configuration file, one struct each, with their
//! defaults. Contract: plain serde data; rules that involve more than one
//! field live in `validate.rs`. Durations are integers whose key names the
//! unit (`_ms`, `_secs`).

use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// A secret (tunnel secret, RADIUS shared secret). `Debug` and `Display`
/// print `<redacted>`, so it never reaches a log.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: &str) -> Self {
        SecretString(s.to_owned())
    }

    /// The secret itself, for the protocol code that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[node]`: who we are.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Our L2TP Host Name AVP and RADIUS NAS-Identifier.
    pub host_name: String,
    /// NAS-IP-Address in RADIUS requests.
    #[serde(default)]
    pub nas_ip: Option<Ipv4Addr>,
}

/// `[[listen]]`: one UDP address.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Address and port (1701 in production).
    pub address: SocketAddr,
    /// Host Name to announce on this address (default: `node.host_name`):
    /// the SCCRP to a LAC that reached this address carries it.
    #[serde(default)]
    pub host_name: Option<String>,
}

/// Whether a LAC must prove the tunnel secret (RFC 2661 §5.1.1).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TunnelAuthPolicy {
    /// We send a Challenge and require the right response.
    Required,
    /// We answer the LAC's Challenge but do not challenge (xl2tpd's default).
    Optional,
}

/// `[[lac]]`: one known LAC, matched by host name and/or source address.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LacConfig {
    /// SCCRQ Host Name to match.
    #[serde(default)]
    pub host_name: Option<String>,
    /// Source address to match.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Tunnel secret, inline.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Tunnel secret, in a file (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Challenge this LAC or not.
    #[serde(default = "default_tunnel_auth")]
    pub tunnel_auth: TunnelAuthPolicy,
    /// Hide the sensitive AVPs we send (needs a secret).
    #[serde(default)]
    pub hide_avps: bool,
}

fn default_tunnel_auth() -> TunnelAuthPolicy {
    TunnelAuthPolicy::Optional
}

/// `[limits]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Tunnels, any state.
    pub max_tunnels: usize,
    /// Sessions in all tunnels.
    pub max_sessions: usize,
    /// Sessions in one tunnel.
    pub max_sessions_per_tunnel: usize,
    /// Tunnels still waiting for SCCCN.
    pub max_half_open: usize,
    /// New tunnels (SCCRQs) accepted per second from one source address.
    pub setups_per_second_per_source: u32,
    /// Accept LACs that no `[[lac]]` entry matches (without a secret).
    pub accept_unknown_lacs: bool,
    /// Capacity of the control task's input queue.
    pub control_queue: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_tunnels: 4_096,
            max_sessions: 60_000,
            max_sessions_per_tunnel: 16_384,
            max_half_open: 256,
            setups_per_second_per_source: 20,
            accept_unknown_lacs: false,
            control_queue: 4_096,
        }
    }
}

/// `[l2tp]`: RFC 2661 §5.8 transport timers.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct L2tpConfig {
    /// First retransmission timeout.
    pub retransmit_initial_ms: u64,
    /// Cap of the exponential backoff (>= 8000 per §5.8).
    pub retransmit_max_ms: u64,
    /// Retransmissions before a tunnel is declared dead.
    pub max_retransmits: u32,
    /// Delay before a lone ZLB ack.
    pub ack_delay_ms: u64,
    /// HELLO after this much silence.
    pub hello_interval_secs: u64,
    /// Our Receive Window Size.
    pub receive_window: u16,
}

impl Default for L2tpConfig {
    fn default() -> Self {
        L2tpConfig {
            retransmit_initial_ms: 1_000,
            retransmit_max_ms: 8_000,
            max_retransmits: 5,
            ack_delay_ms: 100,
            hello_interval_secs: 60,
            receive_window: 16,
        }
    }
}

/// A PPP authentication protocol name.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethodName {
    /// RFC 1994 CHAP with MD5.
    Chap,
    /// RFC 1334 PAP.
    Pap,
}

/// What to do when a user logs in while already logged in.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SecondLogin {
    /// Both sessions live (l2tpns `allow_duplicate_users yes`).
    Allow,
    /// The older session is ended once the new one authenticates.
    ReplaceOlder,
}

/// `[ppp]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PppConfig {
    /// Methods we ask for, in order.
    #[serde(default = "default_auth_order")]
    pub auth_order: Vec<AuthMethodName>,
    /// Our MRU.
    #[serde(default = "default_mru")]
    pub mru: u16,
    /// The largest MRU we accept from the subscriber (our MTU toward it).
    #[serde(default = "default_max_peer_mru")]
    pub max_peer_mru: u16,
    /// RFC 1661 §4.6 restart timer.
    #[serde(default = "default_restart_ms")]
    pub restart_ms: u64,
    /// Max-Configure.
    #[serde(default = "default_max_configure")]
    pub max_configure: u8,
    /// Max-Terminate.
    #[serde(default = "default_max_terminate")]
    pub max_terminate: u8,
    /// Max-Failure.
    #[serde(default = "default_max_failure")]
    pub max_failure: u8,
    /// LCP Echo-Request after this much idle time; 0 disables.
    #[serde(default = "default_echo_interval")]
    pub echo_interval_secs: u64,
    /// Unanswered echoes before the link is declared dead.
    #[serde(default = "default_echo_failures")]
    pub echo_failures: u8,
    /// Our IPCP address (the subscriber's peer address). Not a listen address.
    pub ipcp_local: Ipv4Addr,
    /// DNS servers given in IPCP (at most 2).
    #[serde(default)]
    pub dns: Vec<Ipv4Addr>,
    /// CHAP Name we send.
    #[serde(default)]
    pub chap_name: Option<String>,
    /// Default Session-Timeout (RADIUS may override); 0 = none.
    #[serde(default)]
    pub session_timeout_secs: u64,
    /// Default Idle-Timeout (RADIUS may override); 0 = none.
    #[serde(default)]
    pub idle_timeout_secs: u64,
    /// Second login of the same user.
    #[serde(default = "default_second_login")]
    pub second_login: SecondLogin,
}

impl PppConfig {
    /// The value of a missing `[ppp]` section (a witness has none); an lns
    /// node without one is refused by validation.
    pub fn absent() -> PppConfig {
        PppConfig {
            auth_order: default_auth_order(),
            mru: default_mru(),
            max_peer_mru: default_max_peer_mru(),
            restart_ms: default_restart_ms(),
            max_configure: default_max_configure(),
            max_terminate: default_max_terminate(),
            max_failure: default_max_failure(),
            echo_interval_secs: default_echo_interval(),
            echo_failures: default_echo_failures(),
            ipcp_local: Ipv4Addr::UNSPECIFIED,
            dns: Vec::new(),
            chap_name: None,
            session_timeout_secs: 0,
            idle_timeout_secs: 0,
            second_login: default_second_login(),
        }
    }
}

fn default_auth_order() -> Vec<AuthMethodName> {
    vec![AuthMethodName::Chap, AuthMethodName::Pap]
}
fn default_mru() -> u16 {
    1460
}
fn default_max_peer_mru() -> u16 {
    1500
}
fn default_restart_ms() -> u64 {
    3_000
}
fn default_max_configure() -> u8 {
    10
}
fn default_max_terminate() -> u8 {
    2
}
fn default_max_failure() -> u8 {
    5
}
fn default_echo_interval() -> u64 {
    10
}
fn default_echo_failures() -> u8 {
    3
}
fn default_second_login() -> SecondLogin {
    SecondLogin::Allow
}

/// `[[pools]]`: a named IPv4 pool.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Name (RADIUS Framed-Pool selects it).
    pub name: String,
    /// Address ranges, inclusive.
    pub ranges: Vec<RangeConfig>,
    /// Give a user back the address it had last time if still free.
    #[serde(default)]
    pub sticky: bool,
}

/// One inclusive IPv4 range.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RangeConfig {
    /// First address.
    pub start: Ipv4Addr,
    /// Last address.
    pub end: Ipv4Addr,
}

/// `[aaa]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AaaConfig {
    /// Local users file (`user password [ipv4]` per line, `#` comments).
    #[serde(default)]
    pub users_file: Option<PathBuf>,
    /// Pool used when neither the user nor RADIUS names one.
    #[serde(default)]
    pub default_pool: Option<String>,
    /// RADIUS servers (tried after the users file for users it lacks).
    #[serde(default)]
    pub radius: Option<RadiusConfig>,
    /// RADIUS accounting (RFC 2866); absent: no accounting.
    #[serde(default)]
    pub accounting: Option<super::AccountingSection>,
}

/// `[aaa.radius]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RadiusConfig {
    /// Authentication servers, first preferred.
    pub servers: Vec<RadiusServerConfig>,
    /// Skip a server that just timed out for this long.
    #[serde(default = "default_dead_time")]
    pub dead_time_secs: u64,
    /// Local address to send from (default: any).
    #[serde(default)]
    pub bind: Option<SocketAddr>,
}

fn default_dead_time() -> u64 {
    30
}

/// One RADIUS server.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RadiusServerConfig {
    /// Address and port (1812).
    pub address: SocketAddr,
    /// Shared secret, inline.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Shared secret, in a file (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Wait this long for a reply before retransmitting.
    #[serde(default = "default_radius_timeout")]
    pub timeout_ms: u64,
    /// Transmissions before failing over to the next server.
    #[serde(default = "default_radius_tries")]
    pub tries: u8,
}

fn default_radius_timeout() -> u64 {
    3_000
}
fn default_radius_tries() -> u8 {
    3
}

/// `[tun]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TunConfig {
    /// Device name.
    pub name: String,
    /// Device MTU.
    pub mtu: u16,
    /// Address on the device (default: `ppp.ipcp_local`).
    pub ipv4: Option<Ipv4Addr>,
    /// Upstream worker threads of the data plane.
    pub workers: usize,
    /// Receive/send buffer of each L2TP socket in bytes (also sizes the
    /// TUN transmit queue); 0 keeps the kernel's defaults.
    pub socket_buffer: usize,
}

impl Default for TunConfig {
    fn default() -> Self {
        TunConfig {
            name: "lns0".into(),
            mtu: 1500,
            ipv4: None,
            workers: 1,
            socket_buffer: crate::dataplane::DEFAULT_SOCKET_BUFFER,
        }
    }
}

/// `[http]`: the operations endpoint (`/metrics`, `/healthz`, `/readyz`).
/// Absent: no HTTP server is started.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// TCP address to serve on (plain HTTP: a management address or loopback).
    pub listen: SocketAddr,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// Shorter lines (fields inline, no span context).
    Compact,
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `lns_node=debug`, ...); `RUST_LOG` wins.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}
