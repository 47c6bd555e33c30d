//! `[cluster]`: membership of a replicated lnsd cluster (issue 6), in the
//! shape agreed between helpers (`briefs/cluster-config.md`).
//!
//! Contract: plain serde data (`deny_unknown_fields`) plus
//! [`check`] (every problem at once, each naming its field path) and
//! [`ClusterSection::cluster_config`], the conversion into the Raft
//! library's [`lns_cluster::ClusterConfig`]. The rule that two `lns` voters
//! need a witness is the library's (`ClusterConfig::validate`); its reason
//! is reported under `cluster.members`. Without a `[cluster]` section lnsd
//! runs single-node exactly as before.

use super::validate::FieldError;
use lns_cluster::{Bootstrap, ClusterConfig, MemberKind, PeerSpec, Timing, TlsConfig};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// What a member does in the cluster.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterRole {
    /// May become the active LNS (L2TP, PPP, RADIUS, data plane).
    Lns,
    /// A Raft voter only: no L2TP, no TUN, no RADIUS.
    Witness,
}

/// How a member with an empty `data_dir` starts (`[cluster] bootstrap`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterBootstrap {
    /// One of the founding members: with an empty `data_dir`, every member
    /// of `members` is a voter of the new cluster.
    #[default]
    Found,
    /// A new or replacement member: with an empty `data_dir` it forms no
    /// cluster and waits until the active node adds it (`lnsctl cluster
    /// add ID --learner`, then `lnsctl cluster promote ID`); it receives
    /// the state from the leader. Ignored once `data_dir` holds a store.
    Join,
}

/// `[cluster]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// This member's id (never 0; must be in `members`).
    pub node_id: u64,
    /// This member's role.
    pub role: ClusterRole,
    /// The cluster gRPC address, bound exactly there.
    pub listen: SocketAddr,
    /// The Raft store (created if missing).
    pub data_dir: PathBuf,
    /// The shared cluster secret file (first line), relative to the config
    /// file; [`super::Config::load`] reads it into `secret`.
    pub secret_file: PathBuf,
    /// The secret read from `secret_file` (not a key of the file).
    #[serde(skip)]
    pub secret: Option<super::SecretString>,
    /// Raft tick.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// Minimum election timeout in ticks.
    #[serde(default = "default_election_min")]
    pub election_ticks_min: usize,
    /// Exclusive upper bound of the election timeout in ticks.
    #[serde(default = "default_election_max")]
    pub election_ticks_max: usize,
    /// Leader lease.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How long a new leader waits before becoming active.
    #[serde(default = "default_lease_wait_ms")]
    pub lease_wait_ms: u64,
    /// Period of the replicated traffic counters (issue 6 item 5).
    #[serde(default = "default_counters_secs")]
    pub counters_interval_secs: u64,
    /// Applied entries between two snapshots (log compaction); a member
    /// further behind than the leader's compacted log catches up by
    /// snapshot.
    #[serde(default = "default_compact_after")]
    pub compact_after: u64,
    /// Every member, this one included.
    pub members: Vec<ClusterMember>,
    /// Addresses that move to the active member.
    #[serde(default)]
    pub tunnel_addresses: Vec<TunnelAddress>,
    /// Mutual TLS on the cluster transport: the CA that signed every
    /// member's certificate (PEM, relative to the config file). With
    /// `tls_cert` and `tls_key`: all three or none.
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// This member's certificate chain (PEM).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// This member's private key (PEM).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// `found` (default) or `join`: what a member does with an empty
    /// `data_dir` (docs/RUNBOOK.md, "Replacing a dead node").
    #[serde(default)]
    pub bootstrap: ClusterBootstrap,
}

/// `[[cluster.members]]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterMember {
    /// Member id (never 0).
    pub id: u64,
    /// Its cluster gRPC address.
    pub address: SocketAddr,
    /// Its role.
    pub role: ClusterRole,
}

/// `[[cluster.tunnel_addresses]]`: an address that moves to the active node.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TunnelAddress {
    /// `address/prefix-len`, IPv4 or IPv6.
    pub address: IpPrefix,
    /// The interface it is added to.
    pub interface: String,
}

/// An address with its prefix length (`198.18.1.100/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpPrefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl FromStr for IpPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not address/prefix-len"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("{a:?} is not an address"))?;
        let len: u8 = l
            .parse()
            .map_err(|_| format!("{l:?} is not a prefix length"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(format!("prefix length {len} is more than {max}"));
        }
        Ok(IpPrefix { addr, len })
    }
}

impl<'de> Deserialize<'de> for IpPrefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl ClusterSection {
    /// The Raft timers.
    pub fn timing(&self) -> Timing {
        Timing {
            tick: Duration::from_millis(self.tick_ms),
            election_ticks_min: self.election_ticks_min,
            election_ticks_max: self.election_ticks_max,
            lease: Duration::from_millis(self.lease_ms),
            lease_wait: Duration::from_millis(self.lease_wait_ms),
            ..Timing::default()
        }
    }

    /// The Raft library's view of this section.
    pub fn cluster_config(&self) -> ClusterConfig {
        let members = self
            .members
            .iter()
            .map(|m| {
                let kind = match m.role {
                    ClusterRole::Lns => MemberKind::Eligible,
                    ClusterRole::Witness => MemberKind::Witness,
                };
                let spec = PeerSpec {
                    address: m.address.to_string(),
                    kind,
                };
                (m.id, spec)
            })
            .collect();
        let mut c = ClusterConfig::new(self.node_id, members);
        c.timing = self.timing();
        c.bootstrap = match self.bootstrap {
            ClusterBootstrap::Found => Bootstrap::Founding,
            ClusterBootstrap::Join => Bootstrap::Joining,
        };
        c.compact_after = self.compact_after;
        c
    }

    /// The mutual TLS material (`None` without `tls_*`; the paths are
    /// absolute once [`super::Config::load`] resolved them).
    pub fn tls_config(&self) -> Result<Option<TlsConfig>, String> {
        match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (None, None, None) => Ok(None),
            (Some(ca), Some(cert), Some(key)) => TlsConfig::from_pem_files(ca, cert, key)
                .map(Some)
                .map_err(|e| e.to_string()),
            _ => Err("tls_ca, tls_cert and tls_key go together: set all three or none".into()),
        }
    }

    /// Makes the `tls_*` paths relative to `base` (the config file's
    /// directory).
    pub fn resolve_tls(&mut self, base: &std::path::Path) {
        for p in [&mut self.tls_ca, &mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// The counters period.
    pub fn counters_interval(&self) -> Duration {
        Duration::from_secs(self.counters_interval_secs)
    }
}

/// Every rule of `[cluster]`.
pub(super) fn check(c: &ClusterSection, errs: &mut Vec<FieldError>) {
    let mut add = |path: &str, message: String| {
        errs.push(FieldError {
            path: path.into(),
            message,
        })
    };
    if c.node_id == 0 {
        add("cluster.node_id", "must not be 0".into());
    }
    let me = c.members.iter().find(|m| m.id == c.node_id);
    match me {
        None => add(
            "cluster.node_id",
            format!("{} is not one of [[cluster.members]]", c.node_id),
        ),
        Some(m) => {
            if m.role != c.role {
                add(
                    "cluster.role",
                    format!(
                        "{:?} differs from this member's role {:?} in [[cluster.members]]",
                        c.role, m.role
                    ),
                );
            }
            if m.address != c.listen {
                add(
                    "cluster.listen",
                    format!(
                        "{} differs from this member's address {} in [[cluster.members]]",
                        c.listen, m.address
                    ),
                );
            }
        }
    }
    let (mut ids, mut addrs) = (BTreeSet::new(), BTreeSet::new());
    for (i, m) in c.members.iter().enumerate() {
        if m.id == 0 {
            add(&format!("cluster.members[{i}].id"), "must not be 0".into());
        }
        if !ids.insert(m.id) {
            add(
                &format!("cluster.members[{i}].id"),
                format!("{} is listed twice", m.id),
            );
        }
        if !addrs.insert(m.address) {
            add(
                &format!("cluster.members[{i}].address"),
                format!("{} is listed twice", m.address),
            );
        }
    }
    if c.tick_ms == 0 {
        add("cluster.tick_ms", "must be at least 1".into());
    }
    if c.counters_interval_secs == 0 {
        add(
            "cluster.counters_interval_secs",
            "must be at least 1".into(),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, t) in c.tunnel_addresses.iter().enumerate() {
        if t.interface.is_empty() || t.interface.len() > 15 {
            add(
                &format!("cluster.tunnel_addresses[{i}].interface"),
                "must be an interface name of 1 to 15 characters".into(),
            );
        }
        if !seen.insert(t.address.addr) {
            add(
                &format!("cluster.tunnel_addresses[{i}].address"),
                format!("{} is listed twice", t.address.addr),
            );
        }
    }
    check_tls(c, &mut add);
    if c.role == ClusterRole::Lns && c.tunnel_addresses.is_empty() {
        add(
            "cluster.tunnel_addresses",
            "an lns member needs at least one address that moves to the active node".into(),
        );
    }
    // The library's rules (two voters without a witness, timers, ...).
    if me.is_some() && c.node_id != 0 && ids.len() == c.members.len() {
        if let Err(e) = c.cluster_config().validate() {
            let path = match e {
                lns_cluster::ConfigError::Timing(_) => "cluster",
                _ => "cluster.members",
            };
            add(path, e.to_string());
        }
    }
}

/// `tls_ca`, `tls_cert`, `tls_key`: all three or none, each readable PEM.
fn check_tls(c: &ClusterSection, add: &mut impl FnMut(&str, String)) {
    let fields = [
        ("cluster.tls_ca", &c.tls_ca),
        ("cluster.tls_cert", &c.tls_cert),
        ("cluster.tls_key", &c.tls_key),
    ];
    let set = fields.iter().filter(|(_, v)| v.is_some()).count();
    if set == 0 {
        return;
    }
    if set < fields.len() {
        for (path, _) in fields.iter().filter(|(_, v)| v.is_none()) {
            add(
                path,
                "missing: tls_ca, tls_cert and tls_key go together (all three or none)".into(),
            );
        }
        return;
    }
    for (path, value) in fields {
        if let Some(file) = value {
            match std::fs::read(file) {
                Err(e) => add(path, format!("cannot read {}: {e}", file.display())),
                Ok(b) if !b.windows(10).any(|w| w == b"-----BEGIN") => add(
                    path,
                    format!("{} is not PEM (no -----BEGIN line)", file.display()),
                ),
                Ok(_) => {}
            }
        }
    }
}

fn default_tick_ms() -> u64 {
    50
}
fn default_election_min() -> usize {
    6
}
fn default_election_max() -> usize {
    12
}
fn default_lease_ms() -> u64 {
    250
}
fn default_lease_wait_ms() -> u64 {
    300
}
fn default_counters_secs() -> u64 {
    5
}

fn default_compact_after() -> u64 {
    10_000
}
