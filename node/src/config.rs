//! # The lnsd configuration file (TOML)
//!
//! Contract: [`Config::from_toml`] parses a document with
//! `deny_unknown_fields` everywhere (a misspelt key is an error naming it),
//! [`Config::validate`] checks every cross-field rule and returns *all*
//! problems at once, each naming the field path (`pools[1].ranges[0]`) and
//! what is allowed. [`Config::load`] reads a file, resolves `secret_file`
//! paths (relative to the config file) and validates. Secrets are held in
//! [`SecretString`], whose `Debug` never shows the value, so a config can be
//! logged whole. `node/examples/lnsd.toml` documents every key and is
//! accepted by `lnsd check-config` (tested below).

mod acct;
mod cluster;
pub mod ipv6;
mod mgmt;
mod runtime;
mod sections;
mod validate;

pub use cluster::{ClusterMember, ClusterRole, ClusterSection, IpPrefix, TunnelAddress};

pub use acct::{
    AccountingSection, DaeClientConfig, DaeConfig, EventTimestampRule, ACCOUNTING_PORT,
};
pub use mgmt::MgmtConfig;

pub use sections::{
    AaaConfig, AuthMethodName, HttpConfig, L2tpConfig, LacConfig, LimitsConfig, ListenConfig,
    LogConfig, LogFormat, NodeConfig, PoolConfig, PppConfig, RadiusConfig, RadiusServerConfig,
    RangeConfig, SecondLogin, SecretString, TunConfig, TunnelAuthPolicy,
};
pub use validate::FieldError;

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Identity of this LNS.
    pub node: NodeConfig,
    /// UDP addresses to listen on (at least one; none on a witness).
    #[serde(default)]
    pub listen: Vec<ListenConfig>,
    /// Known LACs; a tunnel from anyone else is refused unless
    /// `limits.accept_unknown_lacs` is set.
    #[serde(default)]
    pub lac: Vec<LacConfig>,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// L2TP control-channel timers.
    #[serde(default)]
    pub l2tp: L2tpConfig,
    /// PPP negotiation, keepalive and addressing (required unless this
    /// node is a cluster witness).
    #[serde(default = "PppConfig::absent")]
    pub ppp: PppConfig,
    /// IPv4 address pools.
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// Authentication: local users file and/or RADIUS.
    #[serde(default)]
    pub aaa: AaaConfig,
    /// The TUN device.
    #[serde(default)]
    pub tun: TunConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The operations HTTP endpoint; absent: none.
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// Cluster membership (issue 6); absent: a single node, as before.
    #[serde(default)]
    pub cluster: Option<ClusterSection>,
    /// IPv6 for subscribers (RA, DHCPv6, prefix pools); absent: IPV6CP
    /// only.
    #[serde(default)]
    pub ipv6: Option<ipv6::Ipv6Config>,
    /// Dynamic authorization (RFC 5176); absent: none.
    #[serde(default)]
    pub dae: Option<DaeConfig>,
    /// The management API (lnsctl); default: the Unix socket only.
    #[serde(default)]
    pub mgmt: MgmtConfig,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key/type the schema does not have.
    #[error("{0}")]
    Syntax(String),
    /// Parsed but inconsistent: every problem found.
    #[error("{}", ErrorList(.0))]
    Invalid(Vec<FieldError>),
}

impl Config {
    /// Parses a TOML document (no validation, no secret files read).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// Every rule the parser cannot express; all problems at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        validate::check(self)
    }

    /// Reads `path`, resolves `secret_file`s relative to its directory and
    /// validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_toml(&text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_files(base)?;
        config.validate().map_err(ConfigError::Invalid)?;
        Ok(config)
    }

    /// Replaces every `secret_file` by the secret it holds (first line,
    /// trailing newline removed) and makes `aaa.users_file` absolute.
    pub fn resolve_files(&mut self, base: &Path) -> Result<(), ConfigError> {
        let read = |p: &Path| -> Result<SecretString, ConfigError> {
            let full = base.join(p);
            let text = std::fs::read_to_string(&full)
                .map_err(|source| ConfigError::Read { path: full, source })?;
            Ok(SecretString::new(text.lines().next().unwrap_or("")))
        };
        for lac in &mut self.lac {
            if let Some(p) = lac.secret_file.take() {
                lac.secret = Some(read(&p)?);
            }
        }
        if let Some(r) = &mut self.aaa.radius {
            for s in &mut r.servers {
                if let Some(p) = s.secret_file.take() {
                    s.secret = Some(read(&p)?);
                }
            }
        }
        if let Some(c) = &mut self.cluster {
            c.secret = Some(read(&c.secret_file)?);
            if c.data_dir.is_relative() {
                c.data_dir = base.join(&c.data_dir);
            }
            c.resolve_tls(base);
        }
        if let Some(a) = &mut self.aaa.accounting {
            for s in a.servers.iter_mut().flatten() {
                if let Some(p) = s.secret_file.take() {
                    s.secret = Some(read(&p)?);
                }
            }
        }
        if let Some(d) = &mut self.dae {
            for c in &mut d.clients {
                if let Some(p) = c.secret_file.take() {
                    c.secret = Some(read(&p)?);
                }
            }
        }
        if let Some(u) = &mut self.aaa.users_file {
            *u = base.join(&*u);
        }
        self.mgmt
            .resolve_token(base)
            .map_err(|source| ConfigError::Read {
                path: base.join(self.mgmt.token_file.as_deref().unwrap_or(Path::new(""))),
                source,
            })?;
        Ok(())
    }

    /// True for a cluster witness (Raft only: no L2TP, TUN or RADIUS).
    pub fn is_witness(&self) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.role == ClusterRole::Witness)
    }

    /// The LNS-side address of the TUN device (defaults to the IPCP address).
    pub fn tun_ipv4(&self) -> std::net::Ipv4Addr {
        self.tun.ipv4.unwrap_or(self.ppp.ipcp_local)
    }
}

struct ErrorList<'a>(&'a [FieldError]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
