//! # Engine configuration fingerprints: every member must run the same engine
//!
//! Contract: the replicated engine is deterministic only if every member
//! builds it from the same [`EngineConfig`] (pools, LAC table, limits,
//! timers, PPP, IPv6, accounting). [`ConfigFingerprint::of`] digests that
//! configuration per section: MD5 of the section's canonical entries
//! ([`super::settings`], one `key=value\n` line per entry in key order), a
//! check against accidental differences, not a security digest. The
//! entries encode the *effective* values in a form defined by lnsd (not
//! `Debug`), so a rolling upgrade to a version that changes formatting or
//! adds a setting left at its default keeps the digest. Each fingerprint
//! says which encoding it digests ([`ENCODING`]; 0 was the `Debug` text
//! of earlier versions): fingerprints of different encodings are not
//! compared ([`Consistency::Unknown`], logged), so a cluster upgrading
//! from such a version is not refused. The active node writes its
//! fingerprint into the log when it becomes active (`Command` field 50)
//! and into every snapshot (`EngineSnapshot` field 50); every member
//! compares it with its own ([`ConfigFingerprint::differences`] names the
//! sections that differ) and reports a [`Consistency`]. A member whose
//! configuration differs must not serve: it is not ready, exports
//! `lnsd_config_mismatch 1`, logs the sections at error level and refuses
//! to become active (DESIGN.md D1, RUNBOOK "The configuration must
//! match"). The node's own names (`node.host_name`, `listen.host_name`,
//! `ppp.chap_name`) are left out: they identify a member and may differ.

use super::settings::{EngineSettings, ENCODING};
use crate::engine::EngineConfig;
use lns_proto::pb::lnsd as pb;
use md5::{Digest, Md5};
use std::collections::BTreeMap;

pub use super::settings::SECTIONS;

/// One digest per engine-relevant configuration section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFingerprint {
    /// The encoding the digests are over (0: the legacy `Debug` text).
    encoding: u32,
    sections: BTreeMap<String, [u8; 16]>,
}

/// Whether this member's engine configuration is the active node's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// No fingerprint in the log yet (no node has been active).
    Unknown,
    /// The same as the last fingerprint the log carried.
    Matches,
    /// These sections differ from the active node's.
    Differs(Vec<String>),
}

impl Consistency {
    /// True when the configuration is known to differ.
    pub fn differs(&self) -> bool {
        matches!(self, Consistency::Differs(_))
    }
}

impl ConfigFingerprint {
    /// The fingerprint of `c`.
    pub fn of(c: &EngineConfig) -> ConfigFingerprint {
        ConfigFingerprint::of_settings(&EngineSettings::of(c))
    }

    /// The fingerprint of settings in the canonical encoding.
    pub fn of_settings(s: &EngineSettings) -> ConfigFingerprint {
        let sections = s
            .sections()
            .iter()
            .map(|(name, entries)| {
                let mut md5 = Md5::new();
                for (k, v) in entries {
                    md5.update(k.as_bytes());
                    md5.update(b"=");
                    md5.update(v.as_bytes());
                    md5.update(b"\n");
                }
                (name.clone(), md5.finalize().into())
            })
            .collect();
        ConfigFingerprint {
            encoding: ENCODING,
            sections,
        }
    }

    /// The encoding the digests are over.
    pub fn encoding(&self) -> u32 {
        self.encoding
    }

    /// The sections of `self` that differ from `reference` (or that only
    /// one of them has), in name order; empty when they are equal.
    pub fn differences(&self, reference: &ConfigFingerprint) -> Vec<String> {
        let mut names: Vec<&String> = self
            .sections
            .keys()
            .chain(reference.sections.keys())
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|n| self.sections.get(*n) != reference.sections.get(*n))
            .cloned()
            .collect()
    }

    /// The consistency of `self` against the log's `reference`.
    pub fn check(&self, reference: Option<&ConfigFingerprint>) -> Consistency {
        match reference {
            None => Consistency::Unknown,
            // Digests of another encoding cannot be compared (an upgrade
            // from or to another lnsd version is under way).
            Some(r) if r.encoding != self.encoding => Consistency::Unknown,
            Some(r) => {
                let d = self.differences(r);
                if d.is_empty() {
                    Consistency::Matches
                } else {
                    Consistency::Differs(d)
                }
            }
        }
    }

    /// The protobuf form.
    pub fn to_pb(&self) -> pb::ConfigFingerprint {
        pb::ConfigFingerprint {
            encoding: self.encoding,
            sections: self
                .sections
                .iter()
                .map(|(name, digest)| pb::FingerprintSection {
                    name: name.clone(),
                    digest: digest.to_vec(),
                })
                .collect(),
        }
    }

    /// From the protobuf form; a digest of the wrong length is kept as a
    /// section that matches nothing (it still differs loudly).
    pub fn from_pb(p: &pb::ConfigFingerprint) -> ConfigFingerprint {
        let sections = p
            .sections
            .iter()
            .map(|s| {
                let digest = <[u8; 16]>::try_from(s.digest.as_slice()).unwrap_or([0xff; 16]);
                (s.name.clone(), digest)
            })
            .collect();
        ConfigFingerprint {
            encoding: p.encoding,
            sections,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const BASE: &str = r#"
[node]
host_name = "lns"
[[listen]]
address = "198.18.1.100:1701"
[ppp]
ipcp_local = "198.19.0.1"
[[pools]]
name = "subscribers"
ranges = [{ start = "198.19.0.10", end = "198.19.0.200" }]
"#;

    fn fingerprint(text: &str) -> ConfigFingerprint {
        ConfigFingerprint::of(
            &Config::from_toml(text)
                .expect("test config parses")
                .engine_config(),
        )
    }

    #[test]
    fn the_same_configuration_gives_the_same_fingerprint() {
        let a = fingerprint(BASE);
        assert_eq!(a, fingerprint(BASE));
        assert_eq!(a.check(Some(&fingerprint(BASE))), Consistency::Matches);
        assert_eq!(a.check(None), Consistency::Unknown);
    }

    #[test]
    fn the_node_name_may_differ() {
        let other = BASE.replace("host_name = \"lns\"", "host_name = \"lns-b\"");
        assert_ne!(other, BASE);
        assert_eq!(
            fingerprint(&other).differences(&fingerprint(BASE)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_different_pool_is_named() {
        let other = BASE.replace("198.19.0.200", "198.19.0.201");
        let d = fingerprint(&other).check(Some(&fingerprint(BASE)));
        assert_eq!(d, Consistency::Differs(vec!["pools".into()]));
        assert!(d.differs());
    }

    #[test]
    fn a_witness_without_pools_or_ppp_differs() {
        let witness = "[node]\nhost_name = \"lns\"\n";
        let d = fingerprint(witness).differences(&fingerprint(BASE));
        assert!(d.contains(&"pools".to_owned()), "{d:?}");
        assert!(d.contains(&"ppp".to_owned()), "{d:?}");
    }

    #[test]
    fn timers_and_limits_are_covered() {
        let timers = format!("{BASE}[l2tp]\nhello_interval_secs = 17\n");
        assert_eq!(
            fingerprint(&timers).differences(&fingerprint(BASE)),
            vec!["l2tp".to_owned()]
        );
        let limits = format!("{BASE}[limits]\nmax_sessions = 17\n");
        assert_eq!(
            fingerprint(&limits).differences(&fingerprint(BASE)),
            vec!["limits".to_owned()]
        );
    }

    #[test]
    fn every_section_is_listed() {
        let f = fingerprint(BASE);
        let names: Vec<&str> = f.sections.keys().map(String::as_str).collect();
        assert_eq!(names, SECTIONS);
    }

    #[test]
    fn the_protobuf_form_round_trips() {
        let a = fingerprint(BASE);
        assert_eq!(ConfigFingerprint::from_pb(&a.to_pb()), a);
        let mut p = a.to_pb();
        p.sections[0].digest.truncate(3);
        let name = p.sections[0].name.clone();
        assert_eq!(ConfigFingerprint::from_pb(&p).differences(&a), vec![name]);
    }
}
