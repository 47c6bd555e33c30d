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

    #[test]
    fn field_order_and_formatting_do_not_matter() {
        // The same effective values: tables and keys in another order, other
        // spacing, a default spelled out.
        let other = r#"
[[pools]]
ranges = [ {   end = "198.19.0.200", start = "198.19.0.10" } ]
name   = "subscribers"
[ppp]
ipcp_local = "198.19.0.1"
[[listen]]
address = "198.18.1.100:1701"
[node]
host_name = "lns"
[l2tp]
hello_interval_secs = 60
"#;
        assert_eq!(fingerprint(other), fingerprint(BASE));
    }

    #[test]
    fn a_changed_value_changes_exactly_its_section() {
        let base = Config::from_toml(BASE).expect("parses").engine_config();
        let ipv6 = Config::from_toml(include_str!("../../examples/lnsd.toml"))
            .expect("the example parses")
            .engine_config()
            .ipv6;
        type Change = fn(&mut EngineConfig);
        let cases: Vec<(&str, Change)> = vec![
            ("l2tp", |c| c.endpoint.transport.ack_delay *= 2),
            ("l2tp", |c| c.endpoint.vendor_name.push(b'x')),
            ("limits", |c| c.endpoint.limits.max_half_open += 1),
            ("limits", |c| c.max_sessions += 1),
            ("lac", |c| {
                let open = lns_proto::l2tp::PeerSettings::open();
                c.endpoint.peers.default = match c.endpoint.peers.default.take() {
                    Some(_) => None,
                    None => Some(open),
                }
            }),
            ("lac", |c| {
                let mut secret = lns_proto::l2tp::PeerSettings::open();
                secret.secret = Some(b"k".to_vec());
                c.endpoint
                    .peers
                    .entries
                    .push(lns_proto::l2tp::config::PeerEntry {
                        host_name: None,
                        address: None,
                        settings: secret,
                    })
            }),
            ("ppp", |c| c.link.mru -= 1),
            ("ppp", |c| c.link.fsm.max_configure += 1),
            ("ppp", |c| {
                c.dns[1] = Some(std::net::Ipv4Addr::new(198, 18, 0, 53))
            }),
            ("ppp", |c| {
                c.second_login = crate::engine::SecondLoginPolicy::ReplaceOlder
            }),
            ("pools", |c| c.pools[0].sticky = !c.pools[0].sticky),
            ("pools", |c| c.default_pool = Some("other".into())),
            ("accounting", |c| c.accounting.max_queued += 1),
        ];
        let f = ConfigFingerprint::of(&base);
        for (section, change) in cases {
            let mut c = base.clone();
            change(&mut c);
            assert_eq!(
                ConfigFingerprint::of(&c).differences(&f),
                vec![section.to_owned()]
            );
        }
        let mut c = base.clone();
        c.ipv6 = ipv6;
        assert_eq!(
            ConfigFingerprint::of(&c).differences(&f),
            vec!["ipv6".to_owned()]
        );
        // The node's own names are in no section.
        let mut c = base.clone();
        c.endpoint.host_name = b"lns-b".to_vec();
        c.link.chap_name = b"lns-b".to_vec();
        assert_eq!(ConfigFingerprint::of(&c), f);
    }

    #[test]
    fn the_digests_are_pinned() {
        // Encoding 1 of BASE. A change here means every running cluster
        // would see a mismatch on upgrade: bump the encoding instead.
        let hex: Vec<(String, String)> = fingerprint(BASE)
            .sections
            .iter()
            .map(|(n, d)| (n.clone(), d.iter().map(|b| format!("{b:02x}")).collect()))
            .collect();
        let want = [
            ("accounting", "20f81779f88dba2ad1e5d7925dab9bdc"),
            ("ipv6", "fbe103f5b5b7c477625368ab0af8adca"),
            ("l2tp", "5179fbdf3059b306b77e72614b07807a"),
            ("lac", "9186a75468b3921bbc6eefeabf694e73"),
            ("limits", "6938b3c4cb23ea0df499e89d646f71e8"),
            ("pools", "0c502ac02b5484770872ab7941dbc389"),
            ("ppp", "0c2bb4b3c3ae8a58ede178008b64a2d2"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
            .collect();
        assert_eq!(hex, want);
    }

    #[test]
    fn fingerprints_of_another_encoding_are_not_compared() {
        let ours = fingerprint(BASE);
        let mut legacy = fingerprint(&BASE.replace("198.19.0.200", "198.19.0.201")).to_pb();
        legacy.encoding = 0;
        let legacy = ConfigFingerprint::from_pb(&legacy);
        assert_eq!(legacy.encoding(), 0);
        assert_eq!(ours.check(Some(&legacy)), Consistency::Unknown);
        // The same digests in our encoding do differ.
        let other = fingerprint(&BASE.replace("198.19.0.200", "198.19.0.201"));
        assert!(ours.check(Some(&other)).differs());
    }
}
