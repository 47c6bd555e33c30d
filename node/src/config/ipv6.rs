//! `[ipv6]`: IPv6 service for subscribers (prefix pools, Router
//! Advertisements, DHCPv6). Absent: IPV6CP still opens, nothing else.
//!
//! Contract: plain serde data ([`Ipv6Config`]), checked by [`check`]
//! (every problem named by its field path, with the RFC limit) and turned
//! into the engine's [`Ipv6Settings`] by [`Ipv6Config::settings`], a pure
//! function of a validated section. The server DUID comes from the
//! configuration only, so every cluster node answers with the same one.

use super::validate::FieldError;
use crate::engine::Ipv6Settings;
use lns_proto::dhcpv6::{Dhcpv6Config, Duid, RapidCommit};
use lns_proto::nd::RaConfig;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// IANA Private Enterprise Number reserved for documentation (RFC 5612),
/// the default DUID-EN enterprise number.
pub const DEFAULT_DUID_ENTERPRISE: u32 = 32473;

/// An IPv6 prefix written `2001:db8:100::/48`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct Ipv6Net {
    /// The prefix address.
    pub addr: Ipv6Addr,
    /// Its length.
    pub len: u8,
}

impl TryFrom<String> for Ipv6Net {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected ADDRESS/LENGTH"))?;
        let addr: Ipv6Addr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IPv6 address"))?;
        let len: u8 = l
            .parse()
            .ok()
            .filter(|l| *l <= 128)
            .ok_or_else(|| format!("{l:?} is not a prefix length (0-128)"))?;
        Ok(Ipv6Net { addr, len })
    }
}

impl fmt::Display for Ipv6Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `[ipv6]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ipv6Config {
    /// Pool the per-session link /64s come from (shorter than /64).
    #[serde(default)]
    pub link_pool: Option<Ipv6Net>,
    /// Pool delegated prefixes (DHCPv6 IA_PD) come from.
    #[serde(default)]
    pub pd_pool: Option<Ipv6Net>,
    /// Length of each delegated prefix.
    #[serde(default = "default_pd_length")]
    pub pd_length: u8,
    /// Give a user back the prefixes it had last time when still free.
    #[serde(default = "yes")]
    pub sticky: bool,
    /// MaxRtrAdvInterval (RFC 4861 §6.2.1: 4..=1800 s).
    #[serde(default = "default_ra_interval")]
    pub ra_interval_secs: u64,
    /// AdvDefaultLifetime (0, or MaxRtrAdvInterval..=9000 s; default 3 x interval).
    #[serde(default)]
    pub router_lifetime_secs: Option<u16>,
    /// The M flag: addresses by DHCPv6 (RFC 4861 §4.2).
    #[serde(default = "yes")]
    pub managed: bool,
    /// The O flag: other configuration by DHCPv6.
    #[serde(default = "yes")]
    pub other_config: bool,
    /// MTU option in RAs (>= 1280; absent: not sent).
    #[serde(default)]
    pub mtu: Option<u32>,
    /// DNS servers: RA RDNSS (RFC 8106) and DHCPv6 option 23.
    #[serde(default)]
    pub dns: Vec<Ipv6Addr>,
    /// Search domains: RA DNSSL (RFC 8106) and DHCPv6 option 24.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Preferred lifetime of prefixes, addresses and delegations.
    #[serde(default = "default_preferred")]
    pub preferred_lifetime_secs: u32,
    /// Valid lifetime of prefixes, addresses and delegations.
    #[serde(default = "default_valid")]
    pub valid_lifetime_secs: u32,
    /// Answer a Solicit with Rapid Commit by a committed Reply.
    #[serde(default = "yes")]
    pub rapid_commit: bool,
    /// DHCPv6 server DUID as hex (`00:02:...`, DUID-EN or DUID-LL); the
    /// same on every node. Absent: DUID-EN 32473 with `duid_identifier`.
    #[serde(default)]
    pub server_duid: Option<String>,
    /// Identifier of the default DUID-EN (a stable, cluster-wide name).
    #[serde(default = "default_duid_identifier")]
    pub duid_identifier: String,
    /// IPv6 address put on the TUN device (source of ICMPv6 errors).
    #[serde(default)]
    pub tun_address: Option<Ipv6Addr>,
}

fn default_pd_length() -> u8 {
    56
}
fn default_ra_interval() -> u64 {
    600
}
fn yes() -> bool {
    true
}
fn default_preferred() -> u32 {
    14_400
}
fn default_valid() -> u32 {
    86_400
}
fn default_duid_identifier() -> String {
    "lnsd".into()
}

impl Ipv6Config {
    /// The server DUID this section names.
    pub fn duid(&self) -> Result<Duid, String> {
        match &self.server_duid {
            Some(hex) => {
                let bytes = parse_hex(hex)?;
                match Duid::parse(&bytes) {
                    Ok(d @ (Duid::En { .. } | Duid::Ll { .. })) => Ok(d),
                    _ => Err("must be a DUID-EN (00:02:...) or DUID-LL (00:03:...)".into()),
                }
            }
            None => Ok(Duid::En {
                enterprise_number: DEFAULT_DUID_ENTERPRISE,
                identifier: self.duid_identifier.as_bytes().to_vec(),
            }),
        }
    }

    /// The Router Advertisement template.
    pub fn ra(&self) -> RaConfig {
        let mut ra = RaConfig::for_prefix(Ipv6Addr::UNSPECIFIED)
            .with_max_interval(Duration::from_secs(self.ra_interval_secs));
        if let Some(l) = self.router_lifetime_secs {
            ra.router_lifetime = l;
        }
        ra.managed = self.managed;
        ra.other_config = self.other_config;
        ra.mtu = self.mtu;
        ra.dns_servers = self.dns.clone();
        ra.search_domains = self.domains.clone();
        for p in &mut ra.prefixes {
            p.valid_lifetime = self.valid_lifetime_secs;
            p.preferred_lifetime = self.preferred_lifetime_secs;
        }
        ra
    }

    /// The engine's settings (the section must be valid).
    pub fn settings(&self) -> Result<Ipv6Settings, String> {
        let mut dhcpv6 = Dhcpv6Config::new(self.duid()?);
        dhcpv6.dns_servers = self.dns.clone();
        dhcpv6.domains = self.domains.clone();
        dhcpv6.preferred_lifetime = self.preferred_lifetime_secs;
        dhcpv6.valid_lifetime = self.valid_lifetime_secs;
        dhcpv6.rapid_commit = if self.rapid_commit {
            RapidCommit::Allowed
        } else {
            RapidCommit::Refused
        };
        Ok(Ipv6Settings {
            link_pool: self.link_pool.map(|n| (n.addr, n.len)),
            pd_pool: self.pd_pool.map(|n| (n.addr, n.len)),
            pd_length: self.pd_length,
            sticky: self.sticky,
            ra: self.ra(),
            dhcpv6,
        })
    }

    /// TUN routes for the pools.
    pub fn routes(&self) -> Vec<(IpAddr, u8)> {
        [self.link_pool, self.pd_pool]
            .into_iter()
            .flatten()
            .map(|n| (IpAddr::V6(n.addr), n.len))
            .collect()
    }
}

/// Every rule of `[ipv6]`, each problem named by its path.
pub(super) fn check(c: &Ipv6Config) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut add = |path: &str, message: String| {
        errs.push(FieldError {
            path: format!("ipv6.{path}"),
            message,
        })
    };
    if let Some(n) = c.link_pool {
        if n.len >= 64 {
            add(
                "link_pool",
                format!("{n}: must be shorter than /64 (it holds /64s)"),
            );
        }
    }
    if let Some(n) = c.pd_pool {
        if c.pd_length <= n.len || c.pd_length > 64 {
            add(
                "pd_length",
                format!("must be longer than the pool {n} and at most 64"),
            );
        }
    }
    if let (Some(a), Some(b)) = (c.link_pool, c.pd_pool) {
        let shorter = a.len.min(b.len);
        let m = |x: Ipv6Addr| super::super::engine::v6pool::mask(u128::from(x), shorter);
        if m(a.addr) == m(b.addr) {
            add("pd_pool", format!("{b} overlaps link_pool {a}"));
        }
    }
    if c.link_pool.is_none() {
        add(
            "link_pool",
            "required: sessions without RADIUS Framed-IPv6-Prefix need a /64 from it".into(),
        );
    }
    if c.valid_lifetime_secs < c.preferred_lifetime_secs {
        add(
            "preferred_lifetime_secs",
            "must not exceed valid_lifetime_secs (RFC 4861 §4.6.2, RFC 8415 §21.6)".into(),
        );
    }
    if let Err(e) = c.ra().validate() {
        add("ra_interval_secs", format!("RFC 4861 §6.2.1: {e}"));
    }
    match c.duid() {
        Ok(d) => {
            let mut dhcp = Dhcpv6Config::new(d);
            dhcp.domains = c.domains.clone();
            if let Err(e) = dhcp.validate() {
                add("domains", e.to_string());
            }
        }
        Err(e) => add("server_duid", e),
    }
    if c.duid_identifier.is_empty() || c.duid_identifier.len() > 120 {
        add("duid_identifier", "must be 1 to 120 characters".into());
    }
    errs
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| *c != ':' && *c != '-').collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("{s:?} is not hex")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: &str) -> Ipv6Config {
        toml::from_str(&format!(
            "link_pool = \"2001:db8:100::/48\"\npd_pool = \"2001:db8:200::/40\"\n{extra}"
        ))
        .expect("parses")
    }

    #[test]
    fn defaults_are_valid_and_build_rfc_conformant_settings() {
        let c = section("dns = [\"2001:db8::53\"]\ndomains = [\"example.net\"]");
        assert_eq!(check(&c), Vec::new());
        let s = c.settings().expect("valid");
        assert_eq!(s.pd_length, 56);
        // RFC 4861 §6.2.1: router lifetime 3 x MaxRtrAdvInterval.
        assert_eq!(s.ra.router_lifetime, 1800);
        assert!(s.ra.managed && s.ra.other_config);
        assert_eq!(s.ra.dns_servers, c.dns);
        assert_eq!(s.dhcpv6.domains, vec!["example.net".to_string()]);
        assert_eq!(
            s.dhcpv6.server_duid.to_bytes(),
            vec![0x00, 0x02, 0x00, 0x00, 0x7e, 0xd9, b'l', b'n', b's', b'd']
        );
        assert_eq!(c.routes().len(), 2);
    }

    #[test]
    fn bad_values_are_named_by_path() {
        let c = section(
            "pd_length = 40\nra_interval_secs = 2\nserver_duid = \"00:01:00:01\"\n\
             preferred_lifetime_secs = 10\nvalid_lifetime_secs = 5",
        );
        let paths: Vec<String> = check(&c).into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            vec![
                "ipv6.pd_length",
                "ipv6.preferred_lifetime_secs",
                "ipv6.ra_interval_secs",
                "ipv6.server_duid"
            ]
        );
        let c: Ipv6Config =
            toml::from_str("link_pool = \"2001:db8:100::/64\"\npd_pool = \"2001:db8:100::/56\"")
                .expect("parses");
        let paths: Vec<String> = check(&c).into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            vec!["ipv6.link_pool", "ipv6.pd_length", "ipv6.pd_pool"]
        );
        assert!(toml::from_str::<Ipv6Config>("link_pool = \"2001:db8::\"").is_err());
    }

    #[test]
    fn a_configured_duid_is_used_as_is() {
        let c = section("server_duid = \"00:03:00:01:02:00:00:00:00:01\"");
        assert_eq!(check(&c), Vec::new());
        assert_eq!(
            c.duid(),
            Ok(Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![2, 0, 0, 0, 0, 1]
            })
        );
    }
}
