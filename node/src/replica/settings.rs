//! # The engine configuration by section, in its canonical encoding
//!
//! Contract: [`EngineSettings::of`] splits the *effective* values of an
//! [`EngineConfig`] (after defaults) into the sections every member must
//! share (`accounting`, `ipv6`, `l2tp`, `lac`, `limits`, `pools`, `ppp`),
//! each as the sorted [`Entries`] of the canonical encoding
//! ([`super::canon`], encoding [`ENCODING`]). The same effective values
//! give the same entries on any lnsd version that writes this encoding.
//! [`EngineSettings::apply`] is the inverse: it rebuilds an engine
//! configuration from the sections, keeping the node's own values from a
//! base (its names, its side, delivery reports): a witness builds its
//! engine from the active node's settings carried by the log, so it needs
//! no pools or LAC table of its own (DESIGN.md D1, RUNBOOK "The witness").
//!
//! The node's own names (`node.host_name`, `listen.host_name`,
//! `ppp.chap_name`) are not part of any section: they identify a member
//! and may differ. The LAC table's tunnel secrets *are* (a witness must
//! derive the same tunnel states): the log and snapshots hold them.

use super::canon::{
    canon_enum, canon_struct, entries_of, CanonError, Element, Entries, Reader, Scalar,
};
use crate::engine::accounting::{AccountingConfig, AccountingMode};
use crate::engine::{EngineConfig, Ipv6Settings, PoolSpec, SecondLoginPolicy};
use lns_proto::dhcpv6::{AddressChoice, Dhcpv6Config, Duid, RapidCommit};
use lns_proto::l2tp::config::{
    Hiding, Limits, PeerEntry, PeerSettings, PeerTable, TransportConfig, TunnelAuth,
};
use lns_proto::nd::{PrefixInformation, RaConfig};
use lns_proto::pb::lnsd as pb;
use lns_proto::ppp::fsm::FsmConfig;
use lns_proto::ppp::{AuthMethod, Compression, FieldCompression, LinkConfig};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The canonical encoding this code writes (and the only one it reads).
pub const ENCODING: u32 = 1;

/// The sections, in name order.
pub const SECTIONS: &[&str] = &[
    "accounting",
    "ipv6",
    "l2tp",
    "lac",
    "limits",
    "pools",
    "ppp",
];

/// An engine configuration's sections in the canonical encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    /// The encoding of the entries ([`ENCODING`] when written here).
    encoding: u32,
    sections: BTreeMap<String, Entries>,
}

/// Settings that cannot become an engine configuration here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Another encoding (a newer lnsd).
    #[error("settings encoding {0} is not supported (this lnsd reads {ENCODING})")]
    Encoding(u32),
    /// A section is absent.
    #[error("section {0} is missing")]
    MissingSection(String),
    /// A section this version does not know.
    #[error("section {0} is not known to this lnsd")]
    UnknownSection(String),
    /// A section whose entries do not read back.
    #[error("section {section}: {error}")]
    Section {
        /// The section.
        section: String,
        /// What is wrong.
        error: CanonError,
    },
}

impl EngineSettings {
    /// The sections of `c`'s effective values.
    pub fn of(c: &EngineConfig) -> EngineSettings {
        let e = &c.endpoint;
        let mut sections = BTreeMap::new();
        sections.insert(
            "l2tp".to_owned(),
            entries_of(
                "",
                &L2tp {
                    transport: e.transport.clone(),
                    vendor_name: e.vendor_name.clone(),
                    firmware_revision: e.firmware_revision,
                },
            ),
        );
        sections.insert(
            "limits".to_owned(),
            entries_of(
                "",
                &LimitsSection {
                    tunnels: e.limits.clone(),
                    max_sessions: c.max_sessions,
                    setups_per_second_per_source: c.setups_per_second_per_source,
                },
            ),
        );
        sections.insert("lac".to_owned(), entries_of("peers", &e.peers));
        sections.insert(
            "ppp".to_owned(),
            entries_of(
                "",
                &Ppp {
                    link: c.link.clone(),
                    dns: c.dns,
                    session_timeout: c.session_timeout,
                    idle_timeout: c.idle_timeout,
                    second_login: c.second_login,
                },
            ),
        );
        sections.insert(
            "pools".to_owned(),
            entries_of(
                "",
                &Pools {
                    pools: c.pools.clone(),
                    default_pool: c.default_pool.clone(),
                },
            ),
        );
        sections.insert("ipv6".to_owned(), entries_of("ipv6", &c.ipv6));
        sections.insert(
            "accounting".to_owned(),
            entries_of("accounting", &c.accounting),
        );
        EngineSettings {
            encoding: ENCODING,
            sections,
        }
    }

    /// The configuration `base` with every section replaced by these
    /// settings (`base` keeps the node's own names and side).
    pub fn apply(&self, base: &EngineConfig) -> Result<EngineConfig, SettingsError> {
        if self.encoding != ENCODING {
            return Err(SettingsError::Encoding(self.encoding));
        }
        if let Some(name) = self
            .sections
            .keys()
            .find(|n| !SECTIONS.contains(&n.as_str()))
        {
            return Err(SettingsError::UnknownSection(name.clone()));
        }
        let mut c = base.clone();
        let l2tp: L2tp = self.read("l2tp", "")?;
        c.endpoint.transport = l2tp.transport;
        c.endpoint.vendor_name = l2tp.vendor_name;
        c.endpoint.firmware_revision = l2tp.firmware_revision;
        let limits: LimitsSection = self.read("limits", "")?;
        c.endpoint.limits = limits.tunnels;
        c.max_sessions = limits.max_sessions;
        c.setups_per_second_per_source = limits.setups_per_second_per_source;
        c.endpoint.peers = self.read("lac", "peers")?;
        let ppp: Ppp = self.read("ppp", "")?;
        let chap_name = std::mem::take(&mut c.link.chap_name);
        let credentials = std::mem::take(&mut c.link.credentials);
        c.link = LinkConfig {
            chap_name,
            credentials,
            ..ppp.link
        };
        c.dns = ppp.dns;
        c.session_timeout = ppp.session_timeout;
        c.idle_timeout = ppp.idle_timeout;
        c.second_login = ppp.second_login;
        let pools: Pools = self.read("pools", "")?;
        c.pools = pools.pools;
        c.default_pool = pools.default_pool;
        c.ipv6 = self.read("ipv6", "ipv6")?;
        c.accounting = self.read("accounting", "accounting")?;
        Ok(c)
    }

    /// Every section's entries, by name.
    pub fn sections(&self) -> &BTreeMap<String, Entries> {
        &self.sections
    }

    /// The protobuf form.
    pub fn to_pb(&self) -> pb::CfgSettings {
        pb::CfgSettings {
            encoding: self.encoding,
            sections: self
                .sections
                .iter()
                .map(|(name, entries)| pb::CfgSection {
                    name: name.clone(),
                    entries: entries
                        .iter()
                        .map(|(key, value)| pb::CfgEntry {
                            key: key.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// From the protobuf form (any encoding: [`EngineSettings::apply`]
    /// refuses one this version does not read).
    pub fn from_pb(p: &pb::CfgSettings) -> EngineSettings {
        let sections = p
            .sections
            .iter()
            .map(|s| {
                let entries = s
                    .entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .collect();
                (s.name.clone(), entries)
            })
            .collect();
        EngineSettings {
            encoding: p.encoding,
            sections,
        }
    }

    fn read<T: super::canon::Canon>(&self, section: &str, key: &str) -> Result<T, SettingsError> {
        let entries = self
            .sections
            .get(section)
            .ok_or_else(|| SettingsError::MissingSection(section.to_owned()))?;
        let at = |error| SettingsError::Section {
            section: section.to_owned(),
            error,
        };
        let mut r = Reader::new(entries.clone());
        let v = T::read(key, &mut r).map_err(at)?;
        r.finish().map_err(at)?;
        Ok(v)
    }
}

// The sections' shapes (keys are the field names).

#[derive(Clone, Debug, PartialEq)]
struct L2tp {
    transport: TransportConfig,
    vendor_name: Vec<u8>,
    firmware_revision: u16,
}

#[derive(Clone, Debug, PartialEq)]
struct LimitsSection {
    tunnels: Limits,
    max_sessions: usize,
    setups_per_second_per_source: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Ppp {
    link: LinkConfig,
    dns: [Option<Ipv4Addr>; 2],
    session_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    second_login: SecondLoginPolicy,
}

#[derive(Clone, Debug, PartialEq)]
struct Pools {
    pools: Vec<PoolSpec>,
    default_pool: Option<String>,
}

canon_struct!(L2tp {
    transport,
    vendor_name,
    firmware_revision
});
canon_struct!(LimitsSection {
    tunnels,
    max_sessions,
    setups_per_second_per_source
});
canon_struct!(Ppp {
    link,
    dns,
    session_timeout,
    idle_timeout,
    second_login
});
canon_struct!(Pools {
    pools,
    default_pool
});

canon_struct!(TransportConfig {
    initial_timeout,
    max_timeout,
    max_retransmits,
    ack_delay,
    hello_interval,
    receive_window,
});
canon_struct!(Limits {
    max_tunnels,
    max_sessions_per_tunnel,
    max_half_open
});
canon_struct!(PeerTable { entries, default });
canon_struct!(PeerEntry {
    host_name,
    address,
    settings
});
canon_struct!(PeerSettings {
    secret,
    auth,
    hiding
});
canon_enum!(TunnelAuth { Required = "required", NotRequired = "not-required" });
canon_enum!(Hiding { Off = "off", Sensitive = "sensitive" });
impl Element for PeerEntry {}

// `chap_name` names this node; `credentials` are a subscriber's (unused
// by an LNS).
canon_struct!(LinkConfig {
    fsm,
    mru,
    max_peer_mru,
    auth_order,
    echo_interval,
    echo_max_failures,
    ipv4_local,
    ipv6_interface_id,
    ipv6_peer_suggestion,
    rechallenge,
    request_compression,
} skip { chap_name, credentials });
canon_struct!(FsmConfig {
    restart,
    max_configure,
    max_failure,
    max_terminate,
    early_resend_after
});
canon_struct!(Compression {
    address_control,
    protocol
});
canon_enum!(FieldCompression { Off = "off", On = "on" });
canon_enum!(AuthMethod { Pap = "pap", ChapMd5 = "chap-md5" });
impl Element for AuthMethod {}
canon_enum!(SecondLoginPolicy { Allow = "allow", ReplaceOlder = "replace-older" });

canon_struct!(PoolSpec {
    name,
    ranges,
    sticky
});
impl Element for PoolSpec {}

canon_struct!(Ipv6Settings {
    link_pool,
    pd_pool,
    pd_length,
    sticky,
    ra,
    dhcpv6
});
canon_struct!(RaConfig {
    max_interval,
    min_interval,
    router_lifetime,
    cur_hop_limit,
    reachable_time,
    retrans_timer,
    managed,
    other_config,
    mtu,
    prefixes,
    dns_servers,
    search_domains,
    dns_lifetime,
});
canon_struct!(PrefixInformation {
    prefix,
    prefix_len,
    flags,
    valid_lifetime,
    preferred_lifetime
});
impl Element for PrefixInformation {}
canon_struct!(Dhcpv6Config {
    server_duid,
    dns_servers,
    domains,
    preferred_lifetime,
    valid_lifetime,
    information_refresh_time,
    sol_max_rt,
    rapid_commit,
    address_choice,
});
canon_enum!(RapidCommit { Allowed = "allowed", Refused = "refused" });

impl Scalar for AddressChoice {
    fn text(&self) -> String {
        match self {
            AddressChoice::FromClientId => "from-client-id".to_owned(),
            AddressChoice::FromEntropy => "from-entropy".to_owned(),
            AddressChoice::Fixed(a) => format!("fixed/{a}"),
        }
    }
    fn parse_text(s: &str) -> Option<Self> {
        match s {
            "from-client-id" => Some(AddressChoice::FromClientId),
            "from-entropy" => Some(AddressChoice::FromEntropy),
            _ => s
                .strip_prefix("fixed/")?
                .parse()
                .ok()
                .map(AddressChoice::Fixed),
        }
    }
}

/// A DUID as its wire bytes (RFC 8415 §11).
impl Scalar for Duid {
    fn text(&self) -> String {
        self.to_bytes().text()
    }
    fn parse_text(s: &str) -> Option<Self> {
        Duid::parse(&Vec::<u8>::parse_text(s)?).ok()
    }
}

canon_struct!(AccountingConfig {
    mode,
    interim_interval,
    max_queued
});
canon_enum!(AccountingMode { Off = "off", On = "on" });

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The commented example: every section set, IPv6 and accounting on,
    /// LACs with a secret.
    fn example() -> EngineConfig {
        Config::from_toml(include_str!("../../examples/lnsd.toml"))
            .expect("the example parses")
            .engine_config()
    }

    /// A witness's file: no engine section at all.
    fn witness() -> EngineConfig {
        Config::from_toml("[node]\nhost_name = \"witness\"\n")
            .expect("parses")
            .engine_config()
    }

    #[test]
    fn the_settings_rebuild_the_same_engine_configuration() {
        let c = example();
        assert!(c.ipv6.is_some(), "the example has [ipv6]");
        assert!(c
            .endpoint
            .peers
            .entries
            .iter()
            .any(|e| e.settings.secret.is_some()));
        let s = EngineSettings::of(&c);
        let rebuilt = s.apply(&witness()).expect("applies");
        assert_eq!(EngineSettings::of(&rebuilt), s);
        assert_eq!(rebuilt.endpoint.peers, c.endpoint.peers);
        assert_eq!(rebuilt.endpoint.transport, c.endpoint.transport);
        assert_eq!(rebuilt.pools, c.pools);
        assert_eq!(rebuilt.ipv6, c.ipv6);
        assert_eq!(rebuilt.accounting, c.accounting);
        assert_eq!(rebuilt.link.fsm, c.link.fsm);
        assert_eq!(rebuilt.link.ipv4_local, c.link.ipv4_local);
        // The witness keeps its own names.
        assert_eq!(rebuilt.endpoint.host_name, b"witness");
        // Through protobuf too.
        assert_eq!(EngineSettings::from_pb(&s.to_pb()), s);
    }

    #[test]
    fn settings_this_version_cannot_read_are_refused_by_name() {
        let mut p = EngineSettings::of(&example()).to_pb();
        p.encoding = ENCODING + 1;
        assert_eq!(
            EngineSettings::from_pb(&p).apply(&witness()).err(),
            Some(SettingsError::Encoding(ENCODING + 1))
        );
        let mut p = EngineSettings::of(&example()).to_pb();
        let limits = p
            .sections
            .iter_mut()
            .find(|s| s.name == "limits")
            .expect("limits section");
        limits.entries.push(pb::CfgEntry {
            key: "tunnels.max_idle".into(),
            value: "3".into(),
        });
        assert_eq!(
            EngineSettings::from_pb(&p).apply(&witness()).err(),
            Some(SettingsError::Section {
                section: "limits".into(),
                error: CanonError::Unknown("tunnels.max_idle".into())
            })
        );
        let mut p = EngineSettings::of(&example()).to_pb();
        p.sections.retain(|s| s.name != "ppp");
        assert_eq!(
            EngineSettings::from_pb(&p).apply(&witness()).err(),
            Some(SettingsError::MissingSection("ppp".into()))
        );
    }

    #[test]
    fn the_accounting_section_text_is_pinned() {
        // Encoding 1, as documented in canon.rs: changing this text breaks
        // rolling upgrades (a new encoding number is needed instead).
        let s = EngineSettings::of(&witness());
        let text: Vec<String> = s.sections()["accounting"]
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            text,
            [
                "accounting.interim_interval=~",
                "accounting.max_queued=100000",
                "accounting.mode=off",
            ]
        );
        let pools: Vec<String> = EngineSettings::of(&example()).sections()["pools"]
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert!(
            pools.contains(&"pools.0.name=subscribers".to_owned()),
            "{pools:?}"
        );
        assert!(pools.contains(&"pools.len=2".to_owned()), "{pools:?}");
    }
}
