//! `[aaa.accounting]` and `[dae]`: RADIUS accounting (RFC 2866) and
//! dynamic authorization (RFC 5176), with their validation and their
//! conversion into the engine's, the accounting task's and the DAE task's
//! settings.
//!
//! Contract: plain serde data with defaults (`deny_unknown_fields`);
//! [`check`] adds a [`FieldError`] per problem, naming the field path.
//! Accounting is on when the `[aaa.accounting]` section is present and
//! names at least one server: its `servers` list if given, else the
//! `[aaa.radius]` servers on port 1813 (`servers = []`, or no section: no
//! accounting, so a configuration written before accounting existed does
//! not start sending records to servers that may not expect them).
//!
//! Records leave from [`Config::accounting_source`]: `source` if given,
//! else in a cluster the first tunnel address (of the servers' family) on
//! [`CLUSTER_SOURCE_PORT`], so that every member is the same RADIUS client
//! to the servers (a record the new active node sends again after a
//! failover comes from the same address and port as the old node's copy);
//! else `[aaa.radius] bind`, else any address.

use super::sections::{RadiusServerConfig, SecretString};
use super::validate::FieldError;
use super::Config;
use crate::aaa::accounting::AccountingSettings;
use crate::dae::{DaeClient, DaeSettings, TimestampRule};
use crate::engine::accounting::DEFAULT_MAX_QUEUED;
use crate::engine::{AccountingConfig, AccountingMode};
use lns_proto::radius::{ClientConfig, Nas, Secret, ServerConfig};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The accounting port used with the `[aaa.radius]` servers' addresses.
pub const ACCOUNTING_PORT: u16 = 1813;

/// The source port of accounting requests on a cluster's tunnel address
/// when `[aaa.accounting] source` is not given.
pub const CLUSTER_SOURCE_PORT: u16 = 1814;

/// `[aaa.accounting]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountingSection {
    /// Accounting servers, first preferred; absent: the `[aaa.radius]`
    /// servers with port 1813; empty: no accounting.
    #[serde(default)]
    pub servers: Option<Vec<RadiusServerConfig>>,
    /// Interim-Update period when the Access-Accept has no
    /// Acct-Interim-Interval; 0 = none.
    #[serde(default)]
    pub interim_interval_secs: u64,
    /// How often per-session counters are read from the data plane.
    #[serde(default = "default_counters_interval")]
    pub counters_interval_secs: u64,
    /// Unacknowledged records kept before the oldest Interim is dropped.
    #[serde(default = "default_max_queued")]
    pub max_queued: usize,
    /// Skip an accounting server that just timed out for this long.
    #[serde(default = "default_dead_time")]
    pub dead_time_secs: u64,
    /// Address and port accounting requests leave from. In a cluster it
    /// must be a tunnel address with a fixed port (see the module doc).
    #[serde(default)]
    pub source: Option<SocketAddr>,
}

impl Default for AccountingSection {
    fn default() -> Self {
        AccountingSection {
            servers: None,
            interim_interval_secs: 0,
            counters_interval_secs: default_counters_interval(),
            max_queued: default_max_queued(),
            dead_time_secs: default_dead_time(),
            source: None,
        }
    }
}

fn default_counters_interval() -> u64 {
    5
}
fn default_max_queued() -> usize {
    DEFAULT_MAX_QUEUED
}
fn default_dead_time() -> u64 {
    30
}

/// When Event-Timestamp must be in a request (replay protection).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EventTimestampRule {
    /// A request without one is dropped.
    Required,
    /// Checked when present.
    IfPresent,
}

/// `[dae]`: the RFC 5176 server.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaeConfig {
    /// UDP addresses to listen on (port 3799).
    pub listen: Vec<SocketAddr>,
    /// Who may send requests.
    pub clients: Vec<DaeClientConfig>,
    /// Largest distance between a request's Event-Timestamp and our clock.
    #[serde(default = "default_window")]
    pub event_timestamp_window_secs: u64,
    /// Whether Event-Timestamp is required.
    #[serde(default = "default_timestamp_rule")]
    pub event_timestamp: EventTimestampRule,
}

fn default_window() -> u64 {
    300
}
fn default_timestamp_rule() -> EventTimestampRule {
    EventTimestampRule::IfPresent
}

/// One DAE client (a RADIUS server or an operator's tool).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaeClientConfig {
    /// Its source address.
    pub address: IpAddr,
    /// Shared secret, inline.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Shared secret, in a file (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl Config {
    /// The `[aaa.accounting]` section or its defaults.
    pub fn accounting_section(&self) -> AccountingSection {
        self.aaa.accounting.clone().unwrap_or_default()
    }

    /// The accounting servers in force (see the module doc).
    pub fn accounting_servers(&self) -> Vec<ServerConfig> {
        let Some(section) = &self.aaa.accounting else {
            return Vec::new();
        };
        let explicit = section.servers.as_ref().map(|list| {
            list.iter()
                .map(|s| server(s, s.address))
                .collect::<Vec<_>>()
        });
        explicit.unwrap_or_else(|| {
            self.aaa.radius.as_ref().map_or_else(Vec::new, |r| {
                r.servers
                    .iter()
                    .map(|s| server(s, SocketAddr::new(s.address.ip(), ACCOUNTING_PORT)))
                    .collect()
            })
        })
    }

    /// The engine's accounting settings.
    pub fn engine_accounting(&self) -> AccountingConfig {
        let section = self.accounting_section();
        AccountingConfig {
            mode: if self.accounting_servers().is_empty() {
                AccountingMode::Off
            } else {
                AccountingMode::On
            },
            interim_interval: (section.interim_interval_secs > 0)
                .then(|| Duration::from_secs(section.interim_interval_secs)),
            max_queued: section.max_queued,
        }
    }

    /// The accounting task's settings; `None` when accounting is off.
    pub fn accounting_settings(&self) -> Option<AccountingSettings> {
        let servers = self.accounting_servers();
        if servers.is_empty() {
            return None;
        }
        let section = self.accounting_section();
        Some(AccountingSettings {
            client: ClientConfig {
                auth_servers: Vec::new(),
                acct_servers: servers,
                dead_time: Duration::from_secs(section.dead_time_secs),
            },
            nas: Nas {
                ipv4: self.node.nas_ip,
                ipv6: None,
                identifier: Some(self.node.host_name.clone()),
            },
            bind: self.accounting_source(),
            bind_mode: if self.cluster.is_some() {
                crate::dataplane::BindMode::Freebind
            } else {
                crate::dataplane::BindMode::Local
            },
        })
    }

    /// Where accounting requests leave from (see the module doc).
    pub fn accounting_source(&self) -> Option<SocketAddr> {
        if let Some(s) = self.aaa.accounting.as_ref().and_then(|a| a.source) {
            return Some(s);
        }
        if let Some(c) = &self.cluster {
            let v6 = self
                .accounting_servers()
                .first()
                .is_some_and(|s| s.addr.is_ipv6());
            let vip = c
                .tunnel_addresses
                .iter()
                .map(|t| t.address.addr)
                .find(|a| a.is_ipv6() == v6);
            if let Some(a) = vip {
                return Some(SocketAddr::new(a, CLUSTER_SOURCE_PORT));
            }
        }
        self.aaa.radius.as_ref().and_then(|r| r.bind)
    }

    /// How often the control task reads the data plane's counters.
    pub fn counters_interval(&self) -> Duration {
        Duration::from_secs(self.accounting_section().counters_interval_secs.max(1))
    }

    /// The DAE task's settings; `None` without `[dae]`.
    pub fn dae_settings(&self) -> Option<DaeSettings> {
        let d = self.dae.as_ref()?;
        Some(DaeSettings {
            listen: d.listen.clone(),
            clients: d
                .clients
                .iter()
                .map(|c| DaeClient {
                    address: c.address,
                    secret: Secret::new(c.secret.as_ref().map(|s| s.expose()).unwrap_or_default()),
                })
                .collect(),
            window: Duration::from_secs(d.event_timestamp_window_secs),
            timestamps: match d.event_timestamp {
                EventTimestampRule::Required => TimestampRule::Required,
                EventTimestampRule::IfPresent => TimestampRule::IfPresent,
            },
            nas: Nas {
                ipv4: self.node.nas_ip,
                ipv6: None,
                identifier: Some(self.node.host_name.clone()),
            },
        })
    }
}

fn server(s: &RadiusServerConfig, addr: SocketAddr) -> ServerConfig {
    ServerConfig {
        addr,
        secret: Secret::new(s.secret.as_ref().map(|x| x.expose()).unwrap_or_default()),
        timeout: Duration::from_millis(s.timeout_ms),
        tries: s.tries,
    }
}

/// Every rule of the two sections.
pub(super) fn check(c: &Config, errs: &mut Vec<FieldError>) {
    let mut add = |path: String, message: &str| {
        errs.push(FieldError {
            path,
            message: message.into(),
        })
    };
    if let Some(a) = &c.aaa.accounting {
        for (i, s) in a.servers.iter().flatten().enumerate() {
            let p = format!("aaa.accounting.servers[{i}]");
            secret_rule(&p, s.secret.as_ref(), s.secret_file.as_ref(), &mut add);
            if s.timeout_ms == 0 {
                add(format!("{p}.timeout_ms"), "must be at least 1");
            }
            if s.tries == 0 {
                add(format!("{p}.tries"), "must be at least 1");
            }
            if s.address.port() == 0 {
                add(format!("{p}.address"), "needs a port (1813)");
            }
        }
        if a.servers.is_none() && c.aaa.radius.is_none() {
            add(
                "aaa.accounting.servers".into(),
                "no servers and no [aaa.radius] to take them from: list servers, or \
                 `servers = []` for no accounting",
            );
        }
        if a.counters_interval_secs == 0 {
            add(
                "aaa.accounting.counters_interval_secs".into(),
                "must be at least 1",
            );
        }
        if a.max_queued == 0 {
            add("aaa.accounting.max_queued".into(), "must be at least 1");
        }
        if let (Some(src), Some(cluster)) = (a.source, &c.cluster) {
            // Every member must send from the same address and port.
            if src.port() == 0 {
                add(
                    "aaa.accounting.source".into(),
                    "needs a fixed port in a cluster: a record re-sent after a failover must \
                     leave from the same port",
                );
            }
            if !cluster
                .tunnel_addresses
                .iter()
                .any(|t| t.address.addr == src.ip())
            {
                add(
                    "aaa.accounting.source".into(),
                    "must be one of [[cluster.tunnel_addresses]]: a record re-sent after a \
                     failover must leave from the address that moves",
                );
            }
        }
    }
    let Some(d) = &c.dae else {
        return;
    };
    if d.listen.is_empty() {
        add(
            "dae.listen".into(),
            "at least one address (port 3799) is required",
        );
    }
    for (i, l) in d.listen.iter().enumerate() {
        if l.port() == 0 {
            add(format!("dae.listen[{i}]"), "needs a port (3799)");
        }
    }
    if d.clients.is_empty() {
        add(
            "dae.clients".into(),
            "at least one client is required: requests from anyone else are dropped",
        );
    }
    for (i, cl) in d.clients.iter().enumerate() {
        let p = format!("dae.clients[{i}]");
        secret_rule(&p, cl.secret.as_ref(), cl.secret_file.as_ref(), &mut add);
        if d.clients[..i].iter().any(|o| o.address == cl.address) {
            add(format!("{p}.address"), "listed twice");
        }
    }
    if d.event_timestamp_window_secs == 0 {
        add(
            "dae.event_timestamp_window_secs".into(),
            "must be at least 1",
        );
    }
}

fn secret_rule(
    p: &str,
    secret: Option<&SecretString>,
    file: Option<&PathBuf>,
    add: &mut impl FnMut(String, &str),
) {
    match (secret, file) {
        (None, None) => add(
            format!("{p}.secret"),
            "a shared secret (secret or secret_file) is required",
        ),
        (Some(_), Some(_)) => add(
            format!("{p}.secret_file"),
            "give either secret or secret_file, not both",
        ),
        (Some(s), None) if s.expose().is_empty() => add(format!("{p}.secret"), "must not be empty"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[node]
host_name = "lns1"
[[listen]]
address = "192.0.2.2:1701"
[ppp]
ipcp_local = "100.64.255.254"
[[pools]]
name = "p"
ranges = [{ start = "100.64.0.0", end = "100.64.0.255" }]
[aaa.radius]
servers = [{ address = "192.0.2.10:1812", secret = "s" }]
"#;

    #[test]
    fn accounting_defaults_to_the_auth_servers_on_port_1813() {
        // No section: no accounting.
        let none = Config::from_toml(BASE).expect("parses");
        assert!(none.accounting_settings().is_none());
        assert_eq!(none.engine_accounting().mode, AccountingMode::Off);
        let c = Config::from_toml(&format!(
            "{BASE}[aaa.accounting]
"
        ))
        .expect("parses");
        assert!(c.validate().is_ok());
        let s = c.accounting_settings().expect("on");
        assert_eq!(
            s.client.acct_servers[0].addr,
            "192.0.2.10:1813".parse().expect("literal")
        );
        assert_eq!(c.engine_accounting().mode, AccountingMode::On);
        assert_eq!(c.counters_interval(), Duration::from_secs(5));
        let off =
            Config::from_toml(&format!("{BASE}[aaa.accounting]\nservers = []\n")).expect("parses");
        assert!(off.accounting_settings().is_none());
        assert_eq!(off.engine_accounting().mode, AccountingMode::Off);
    }

    #[test]
    fn accounting_and_dae_errors_name_their_fields() {
        let text = format!(
            "{BASE}[aaa.accounting]\nservers = [{{ address = \"192.0.2.11:0\", tries = 0 }}]\n\
             counters_interval_secs = 0\n\
             [dae]\nlisten = []\nclients = [{{ address = \"192.0.2.20\" }}, \
             {{ address = \"192.0.2.20\", secret = \"x\" }}]\n"
        );
        let c = Config::from_toml(&text).expect("parses");
        let errs = c.validate().expect_err("invalid");
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        for p in [
            "aaa.accounting.servers[0].secret",
            "aaa.accounting.servers[0].tries",
            "aaa.accounting.servers[0].address",
            "aaa.accounting.counters_interval_secs",
            "dae.listen",
            "dae.clients[0].secret",
            "dae.clients[1].address",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
    }

    /// lns-a of the cluster examples with `extra` appended.
    fn cluster_member(extra: &str) -> Config {
        let text = include_str!("../../examples/cluster/lns-a.toml");
        Config::from_toml(&format!(
            "{text}\n[aaa.radius]\nservers = [{{ address = \"198.18.1.10:1812\", secret = \"s\" }}]\n\
             bind = \"198.18.1.11:0\"\n{extra}"
        ))
        .expect("parses")
    }

    fn source_errors(c: &Config) -> Vec<String> {
        c.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.path == "aaa.accounting.source")
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn a_cluster_sends_accounting_from_the_tunnel_address_on_a_fixed_port() {
        // Default: the address that moves, port 1814, bound before held.
        let c = cluster_member("[aaa.accounting]\n");
        assert_eq!(
            c.accounting_source(),
            Some("198.18.1.100:1814".parse().expect("literal"))
        );
        let s = c.accounting_settings().expect("on");
        assert_eq!(s.bind, c.accounting_source());
        assert_eq!(s.bind_mode, crate::dataplane::BindMode::Freebind);
        assert!(source_errors(&c).is_empty());
        // A lone node keeps [aaa.radius] bind.
        let lone = Config::from_toml(&format!("{BASE}bind = \"192.0.2.2:0\"\n[aaa.accounting]\n"))
            .expect("parses");
        assert_eq!(
            lone.accounting_source(),
            Some("192.0.2.2:0".parse().expect("literal"))
        );
        assert_eq!(
            lone.accounting_settings().map(|s| s.bind_mode),
            Some(crate::dataplane::BindMode::Local)
        );
        // A member's own address, or no fixed port, defeats the point.
        let own = cluster_member("[aaa.accounting]\nsource = \"198.18.1.11:1814\"\n");
        assert_eq!(source_errors(&own).len(), 1, "{:?}", own.validate());
        let any_port = cluster_member("[aaa.accounting]\nsource = \"198.18.1.100:0\"\n");
        assert_eq!(source_errors(&any_port).len(), 1);
        let good = cluster_member("[aaa.accounting]\nsource = \"198.18.1.100:1900\"\n");
        assert!(source_errors(&good).is_empty());
        assert_eq!(good.accounting_source().map(|a| a.port()), Some(1900));
    }

    #[test]
    fn dae_section_becomes_settings() {
        let text = format!(
            "{BASE}[dae]\nlisten = [\"192.0.2.2:3799\"]\n\
             clients = [{{ address = \"192.0.2.20\", secret = \"k\" }}]\n\
             event_timestamp = \"required\"\n"
        );
        let c = Config::from_toml(&text).expect("parses");
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        let d = c.dae_settings().expect("configured");
        assert_eq!(d.timestamps, TimestampRule::Required);
        assert_eq!(d.window, Duration::from_secs(300));
        assert_eq!(d.clients[0].secret, Secret::new("k"));
    }
}
