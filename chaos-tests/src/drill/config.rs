//! The drill bed's addresses and the lnsd configs it runs: two `lns`
//! members and a `witness`, in the `[cluster]` shape agreed for lnsd
//! (`/work/briefs/cluster-config.md`, mirrored in docs/drills.md).
//!
//! Contract: every address is in 198.18.0.0/15. The lns configs listen on
//! the moving tunnel address only; lnsd itself adds and removes that
//! address on `eth0` when it becomes or stops being active (the bed never
//! touches it, except in [`Mode::Single`], where it plays the part of the
//! missing cluster and puts it on `lns-a` once). IPv6 lives in
//! 2001:db8::/32: the bridge is 2001:db8:1::/64, the IPv6 tunnel address
//! [`TUNNEL_ADDR6`] moves with the IPv4 one, and every lns config has an
//! `[ipv6]` section with the link and delegation pools the core routes via
//! it. The configs are pure functions of their inputs, tested below by
//! parsing them back.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// The LAC's address on the bridge (the bridge itself lives in `lac`).
pub const LAC_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// The core namespace (the reflector).
pub const CORE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
/// FreeRADIUS.
pub const RADIUS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 14);
/// The tunnel address that moves to the active node.
pub const TUNNEL_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 100);
/// Its prefix length on the bridge.
pub const PREFIX_LEN: u8 = 24;
/// Every member's cluster (gRPC) port.
pub const CLUSTER_PORT: u16 = 7400;
/// The subscriber pool (routed by the core via [`TUNNEL_ADDR`]).
pub const POOL: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(198, 19, 0, 1),
    Ipv4Addr::new(198, 19, 31, 254),
);
/// The prefix the core routes through the tunnel address.
pub const POOL_ROUTE: &str = "198.19.0.0/16";
/// The LNS-side IPCP address.
pub const IPCP_LOCAL: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// The UDP echo port of the reflector.
pub const REFLECTOR_PORT: u16 = 7;
/// The RADIUS shared secret.
pub const RADIUS_SECRET: &str = "lnsd-drill-radius";
/// The Interim-Update period of the drills' lnsd (accounting goes to
/// FreeRADIUS's port 1813, written to its detail file).
pub const ACCT_INTERIM_SECS: u64 = 3;
/// The interface of every member namespace on the bridge.
pub const IFACE: &str = "eth0";
/// The LAC's IPv6 address on the bridge (the bridge's /64).
pub const LAC_ADDR6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x0db8, 1, 0, 0, 0, 0, 1);
/// The core's IPv6 address (the IPv6 reflector).
pub const CORE_ADDR6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x0db8, 1, 0, 0, 0, 0, 2);
/// The IPv6 tunnel address: moves to the active node with [`TUNNEL_ADDR`];
/// the core routes the IPv6 pools via it.
pub const TUNNEL_ADDR6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x0db8, 1, 0, 0, 0, 0, 0x100);
/// Prefix length of the bridge's IPv6 network.
pub const PREFIX_LEN6: u8 = 64;
/// The pool of subscriber link /64s.
pub const V6_LINK_POOL: &str = "2001:db8:100::/48";
/// The pool of delegated prefixes.
pub const V6_PD_POOL: &str = "2001:db8:200::/40";
/// The length of the delegated prefixes.
pub const V6_PD_LENGTH: u8 = 56;
/// The TUN device of every lns member (its routes are checked by drills).
pub const TUN: &str = "lns0";

/// A member of the drill cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// Raft node 1, `lns` role, namespace `lns-a`.
    LnsA,
    /// Raft node 2, `lns` role, namespace `lns-b`.
    LnsB,
    /// Raft node 3, `witness` role, namespace `witness`.
    Witness,
}

/// The two members that may become active.
pub const LNS_MEMBERS: [Member; 2] = [Member::LnsA, Member::LnsB];

impl Member {
    /// Its namespace role (and name in logs).
    pub fn role(self) -> &'static str {
        match self {
            Member::LnsA => "lns-a",
            Member::LnsB => "lns-b",
            Member::Witness => "witness",
        }
    }

    /// Its Raft node id.
    pub fn id(self) -> u64 {
        match self {
            Member::LnsA => 1,
            Member::LnsB => 2,
            Member::Witness => 3,
        }
    }

    /// Its own address on the bridge (the cluster address).
    pub fn address(self) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 1, 10 + self.id() as u8)
    }

    /// Its own IPv6 address on the bridge.
    pub fn address6(self) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0x0db8, 1, 0, 0, 0, 0, 0x10 + self.id() as u16)
    }

    /// The other lns member (the witness has none).
    pub fn peer(self) -> Option<Member> {
        match self {
            Member::LnsA => Some(Member::LnsB),
            Member::LnsB => Some(Member::LnsA),
            Member::Witness => None,
        }
    }

    /// The other voters (what a partition cuts this member from).
    pub fn other_voters(self) -> Vec<Member> {
        [Member::LnsA, Member::LnsB, Member::Witness]
            .into_iter()
            .filter(|m| *m != self)
            .collect()
    }
}

/// Whether the bed runs a cluster or a lone lnsd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Two lns members and a witness with `[cluster]`.
    Cluster,
    /// One lnsd without `[cluster]` on `lns-a` (for an lnsd that has no
    /// cluster support: the drills then fail honestly).
    Single,
}

/// Whether the configs carry a `[mgmt]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mgmt {
    /// `[mgmt] socket = <node dir>/mgmt.sock`.
    Served,
    /// No `[mgmt]` (an lnsd that does not know it).
    Absent,
}

/// Writes an lns member's `lnsd.toml`, `users` (empty: RADIUS decides)
/// and `cluster.secret` into `dir`.
pub fn write_lns(
    dir: &Path,
    member: Member,
    mode: Mode,
    mgmt: Mgmt,
    log_level: &str,
) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(
        dir.join("users"),
        "# generated: subscribers are in RADIUS\n",
    )
    .context("write users")?;
    std::fs::write(
        dir.join("cluster.secret"),
        "drill-cluster-secret-0123456789\n",
    )
    .context("write cluster.secret")?;
    std::fs::write(
        dir.join("lnsd.toml"),
        lns_config(dir, member, mode, mgmt, log_level),
    )
    .context("write lnsd.toml")
}

/// Writes the witness's `lnsd.toml` and `cluster.secret` into `dir`.
pub fn write_witness(dir: &Path, mgmt: Mgmt, log_level: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(
        dir.join("users"),
        "# generated: subscribers are in RADIUS\n",
    )
    .context("write users")?;
    std::fs::write(
        dir.join("cluster.secret"),
        "drill-cluster-secret-0123456789\n",
    )
    .context("write cluster.secret")?;
    std::fs::write(dir.join("lnsd.toml"), witness_config(dir, mgmt, log_level))
        .context("write lnsd.toml")
}

/// The `lnsd.toml` of lns member `member` whose files live in `dir`.
pub fn lns_config(dir: &Path, member: Member, mode: Mode, mgmt: Mgmt, log_level: &str) -> String {
    let me = member.address();
    let (first, last) = POOL;
    let mut c = format!(
        r#"# generated by lns-chaos-tests (drill::config) for {role}
[node]
host_name = "lnsd-drill"

[[listen]]
address = "{TUNNEL_ADDR}:1701"

[limits]
accept_unknown_lacs = true
setups_per_second_per_source = 1000
max_half_open = 1024

[ppp]
auth_order = ["chap", "pap"]
ipcp_local = "{IPCP_LOCAL}"
dns = ["198.18.1.53"]
echo_interval_secs = 10
echo_failures = 3

[[pools]]
name = "subscribers"
ranges = [{{ start = "{first}", end = "{last}" }}]

[aaa]
users_file = "users"
default_pool = "subscribers"

[aaa.radius]
dead_time_secs = 1
bind = "{me}:0"

[[aaa.radius.servers]]
address = "{RADIUS_ADDR}:1812"
secret = "{RADIUS_SECRET}"
timeout_ms = 2000
tries = 3

# Issue 9: the drills check that no record is lost or doubled; a few
# Interims happen during a drill.
[aaa.accounting]
interim_interval_secs = {ACCT_INTERIM_SECS}
counters_interval_secs = 2

[tun]
name = "{TUN}"
mtu = 1500

[ipv6]
link_pool = "{V6_LINK_POOL}"
pd_pool = "{V6_PD_POOL}"
pd_length = {V6_PD_LENGTH}
mtu = 1460
dns = ["2001:db8:1::53"]
domains = ["drill.example"]

[log]
level = "{log_level}"
format = "text"
"#,
        role = member.role(),
    );
    if mode == Mode::Cluster {
        c.push_str(&cluster_section(dir, member));
    }
    c.push_str(&mgmt_section(dir, mgmt));
    c
}

/// The witness's `lnsd.toml`: the lns members' engine sections (host
/// name, limits, PPP, pools, AAA defaults: a witness applies the same log
/// and must build the same engine, or it reports a configuration mismatch)
/// with the witness's `[cluster]` (and `[mgmt]`). It serves none of them.
pub fn witness_config(dir: &Path, mgmt: Mgmt, log_level: &str) -> String {
    lns_config(dir, Member::Witness, Mode::Cluster, mgmt, log_level)
}

/// The management socket of the member whose files live in `dir`.
pub fn mgmt_socket(dir: &Path) -> std::path::PathBuf {
    dir.join("mgmt.sock")
}

/// The members' `cluster.compact_after`: small, so that `restart-rejoin`
/// outruns the leader's compacted log and must catch up by snapshot.
pub const COMPACT_AFTER: u64 = 200;

fn cluster_section(dir: &Path, member: Member) -> String {
    let role = match member {
        Member::Witness => "witness",
        Member::LnsA | Member::LnsB => "lns",
    };
    let mut c = format!(
        "\n[cluster]\nnode_id = {id}\nrole = \"{role}\"\nlisten = \"{addr}:{CLUSTER_PORT}\"\ndata_dir = \"{data}\"\nsecret_file = \"cluster.secret\"\ncompact_after = {COMPACT_AFTER}\n",
        id = member.id(),
        addr = member.address(),
        data = dir.join("raft").display(),
    );
    for m in [Member::LnsA, Member::LnsB, Member::Witness] {
        let r = if m == Member::Witness {
            "witness"
        } else {
            "lns"
        };
        let _ = write!(
            c,
            "\n[[cluster.members]]\nid = {}\naddress = \"{}:{CLUSTER_PORT}\"\nrole = \"{r}\"\n",
            m.id(),
            m.address()
        );
    }
    if member != Member::Witness {
        let _ = write!(
            c,
            "\n[[cluster.tunnel_addresses]]\naddress = \"{TUNNEL_ADDR}/{PREFIX_LEN}\"\ninterface = \"{IFACE}\"\n"
        );
        let _ = write!(
            c,
            "\n[[cluster.tunnel_addresses]]\naddress = \"{TUNNEL_ADDR6}/{PREFIX_LEN6}\"\ninterface = \"{IFACE}\"\n"
        );
    }
    c
}

fn mgmt_section(dir: &Path, mgmt: Mgmt) -> String {
    match mgmt {
        Mgmt::Served => format!("\n[mgmt]\nsocket = \"{}\"\n", mgmt_socket(dir).display()),
        Mgmt::Absent => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> toml::Table {
        text.parse().expect("generated config is valid TOML")
    }

    #[test]
    fn lns_members_get_the_agreed_cluster_section() {
        let dir = Path::new("/tmp/drill-unit/lns-b");
        let t = parse(&lns_config(
            dir,
            Member::LnsB,
            Mode::Cluster,
            Mgmt::Served,
            "info",
        ));
        let c = t["cluster"].as_table().expect("[cluster]");
        assert_eq!(c["node_id"].as_integer(), Some(2));
        assert_eq!(c["role"].as_str(), Some("lns"));
        assert_eq!(c["listen"].as_str(), Some("198.18.1.12:7400"));
        assert_eq!(c["data_dir"].as_str(), Some("/tmp/drill-unit/lns-b/raft"));
        assert_eq!(c["secret_file"].as_str(), Some("cluster.secret"));
        let members = c["members"].as_array().expect("members");
        let ids: Vec<_> = members.iter().map(|m| m["id"].as_integer()).collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        assert_eq!(members[2]["role"].as_str(), Some("witness"));
        assert_eq!(members[0]["address"].as_str(), Some("198.18.1.11:7400"));
        let vip = c["tunnel_addresses"].as_array().expect("tunnel addresses");
        assert_eq!(vip.len(), 2);
        assert_eq!(vip[0]["address"].as_str(), Some("198.18.1.100/24"));
        assert_eq!(vip[0]["interface"].as_str(), Some("eth0"));
        assert_eq!(vip[1]["address"].as_str(), Some("2001:db8:1::100/64"));
        assert_eq!(t["ipv6"]["link_pool"].as_str(), Some("2001:db8:100::/48"));
        assert_eq!(t["ipv6"]["pd_length"].as_integer(), Some(56));
        assert_eq!(
            t["listen"][0]["address"].as_str(),
            Some("198.18.1.100:1701")
        );
        assert_eq!(t["aaa"]["radius"]["bind"].as_str(), Some("198.18.1.12:0"));
        assert_eq!(
            t["aaa"]["accounting"]["interim_interval_secs"].as_integer(),
            Some(3)
        );
        assert_eq!(
            t["mgmt"]["socket"].as_str(),
            Some("/tmp/drill-unit/lns-b/mgmt.sock")
        );
    }

    #[test]
    fn the_witness_config_has_the_engine_sections_of_the_lns_members() {
        let t = parse(&witness_config(Path::new("/w"), Mgmt::Served, "debug"));
        let a = parse(&lns_config(
            Path::new("/a"),
            Member::LnsA,
            Mode::Cluster,
            Mgmt::Served,
            "debug",
        ));
        // The RADIUS client binds the member's own address: the only
        // per-member key in those sections.
        let mut t = t;
        let mut a = a;
        for c in [&mut t, &mut a] {
            let radius = c["aaa"]["radius"].as_table_mut().expect("[aaa.radius]");
            assert!(
                radius.remove("bind").is_some(),
                "each member binds its own address"
            );
        }
        for section in ["node", "limits", "ppp", "pools", "aaa", "l2tp"] {
            assert_eq!(t.get(section), a.get(section), "[{section}]");
        }
        // [aaa] differs only by the RADIUS bind address (not engine state).
        assert_eq!(t["aaa"]["default_pool"], a["aaa"]["default_pool"]);
        assert_eq!(t["aaa"]["radius"]["servers"], a["aaa"]["radius"]["servers"]);
        assert_eq!(t["cluster"]["role"].as_str(), Some("witness"));
        assert_eq!(t["cluster"]["node_id"].as_integer(), Some(3));
        assert!(!t["cluster"]
            .as_table()
            .expect("table")
            .contains_key("tunnel_addresses"));
    }

    #[test]
    fn single_mode_and_absent_mgmt_leave_the_sections_out() {
        let t = parse(&lns_config(
            Path::new("/a"),
            Member::LnsA,
            Mode::Single,
            Mgmt::Absent,
            "info",
        ));
        assert!(!t.contains_key("cluster"));
        assert!(!t.contains_key("mgmt"));
        assert_eq!(
            t["pools"][0]["ranges"][0]["end"].as_str(),
            Some("198.19.31.254")
        );
    }

    #[test]
    fn members_know_their_peers() {
        assert_eq!(Member::LnsA.peer(), Some(Member::LnsB));
        assert_eq!(Member::Witness.peer(), None);
        assert_eq!(Member::LnsB.other_voters(), [Member::LnsA, Member::Witness]);
        assert_eq!(Member::Witness.address(), Ipv4Addr::new(198, 18, 1, 13));
    }
}
