//! The replicated form of the engine's IPv6 state, for the failover
//! snapshot: per session, the prefixes (and where they came from), our
//! link-local address, the AAA DNS servers, and the protobuf states of
//! the RA sender and the DHCPv6 server (`lns_proto::pb::{nd, dhcpv6}`).
//!
//! Contract: [`Engine::ipv6_records`] lists every IPv6 session in key
//! order; [`Engine::restore_ipv6`] rebuilds them on an engine with the same
//! `[ipv6]` settings, reserving their prefixes in the pools (so a new
//! active node never hands them out again) and rebuilding the advertisers
//! and servers with their timers and bindings. Queued packets are not
//! replicated (the next RA repairs a lost one; a client retransmits).

use super::ipv6::{session_configs, PrefixSource, SessionIpv6};
use super::snapshot::{
    key_from_pb, key_to_pb, v6_addr_from_pb, v6_prefix_from_pb, v6_prefix_to_pb, SnapshotError,
};
use super::types::SessionKey;
use super::Engine;
use lns_proto::dhcpv6::Dhcpv6Server;
use lns_proto::nd::RouterAdvertiser;
use lns_proto::pb;
use std::net::Ipv6Addr;

/// One session's IPv6 state as plain data with protobuf parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Ipv6Record {
    /// The session.
    pub key: SessionKey,
    /// The link /64.
    pub link_prefix: Ipv6Addr,
    /// Where it came from.
    pub link_source: PrefixSource,
    /// The delegated prefix, its length and origin.
    pub delegated: Option<(Ipv6Addr, u8, PrefixSource)>,
    /// Our link-local address.
    pub link_local: Ipv6Addr,
    /// AAA DNS servers (empty: configured ones).
    pub dns: Vec<Ipv6Addr>,
    /// The RA sender's timers.
    pub advertiser: pb::nd::RouterAdvertiserState,
    /// The DHCPv6 bindings.
    pub dhcp: pb::dhcpv6::Dhcpv6ServerState,
}

/// Why a record could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ipv6RestoreError {
    /// The engine has no `[ipv6]` settings.
    #[error("IPv6 is not enabled on this node")]
    NotEnabled,
    /// The session itself is not in the engine (restore sessions first).
    #[error("session {0}: no such session")]
    UnknownSession(SessionKey),
    /// A prefix is held by another session in this engine's pools.
    #[error("session {0}: {1}")]
    Prefix(SessionKey, String),
    /// The RA or DHCPv6 state does not decode.
    #[error("session {0}: bad state: {1}")]
    State(SessionKey, String),
}

impl Engine {
    /// The IPv6 part of [`Engine::snapshot`]: pools (with their sticky
    /// memory) and every session's record.
    pub(super) fn ipv6_to_pb(&self) -> pb::lnsd::Ipv6EngineState {
        let source = |s: PrefixSource| match s {
            PrefixSource::Pool => 0,
            PrefixSource::Aaa => 1,
        };
        pb::lnsd::Ipv6EngineState {
            link_pool: self.v6.link_pool.as_ref().map(|p| p.to_pb()),
            pd_pool: self.v6.pd_pool.as_ref().map(|p| p.to_pb()),
            sessions: self
                .ipv6_records()
                .into_iter()
                .map(|r| pb::lnsd::Ipv6Session {
                    key: Some(key_to_pb(r.key)),
                    link_prefix: r.link_prefix.octets().to_vec(),
                    link_source: source(r.link_source),
                    delegated: r.delegated.map(|(p, l, _)| v6_prefix_to_pb((p, l))),
                    delegated_source: r.delegated.map_or(0, |(_, _, s)| source(s)),
                    link_local: r.link_local.octets().to_vec(),
                    dns: r.dns.iter().map(|a| a.octets().to_vec()).collect(),
                    advertiser: Some(r.advertiser),
                    dhcp: Some(r.dhcp),
                })
                .collect(),
        }
    }

    /// Loads [`Engine::ipv6_to_pb`] (IPv6 enabled with the same settings,
    /// sessions restored): pools first, then the sessions.
    pub(super) fn load_ipv6_pb(
        &mut self,
        s: &pb::lnsd::Ipv6EngineState,
    ) -> Result<(), SnapshotError> {
        let bad = SnapshotError::BadField;
        if let (Some(pool), Some(state)) = (&mut self.v6.link_pool, &s.link_pool) {
            pool.load_pb(state).ok_or(bad("ipv6.link_pool"))?;
        }
        if let (Some(pool), Some(state)) = (&mut self.v6.pd_pool, &s.pd_pool) {
            pool.load_pb(state).ok_or(bad("ipv6.pd_pool"))?;
        }
        let source = |v: u32| match v {
            0 => Ok(PrefixSource::Pool),
            1 => Ok(PrefixSource::Aaa),
            _ => Err(bad("ipv6 prefix source")),
        };
        let mut records = Vec::with_capacity(s.sessions.len());
        for r in &s.sessions {
            records.push(Ipv6Record {
                key: key_from_pb(r.key.as_ref())?,
                link_prefix: v6_addr_from_pb(&r.link_prefix, "ipv6.link_prefix")?,
                link_source: source(r.link_source)?,
                delegated: match &r.delegated {
                    Some(d) => {
                        let (p, l) = v6_prefix_from_pb(d)?;
                        Some((p, l, source(r.delegated_source)?))
                    }
                    None => None,
                },
                link_local: v6_addr_from_pb(&r.link_local, "ipv6.link_local")?,
                dns: r
                    .dns
                    .iter()
                    .map(|b| v6_addr_from_pb(b, "ipv6.dns"))
                    .collect::<Result<_, _>>()?,
                advertiser: r
                    .advertiser
                    .clone()
                    .ok_or(SnapshotError::Missing("ipv6.advertiser"))?,
                dhcp: r.dhcp.clone().ok_or(SnapshotError::Missing("ipv6.dhcp"))?,
            });
        }
        if records.is_empty() {
            return Ok(());
        }
        Ok(self.restore_ipv6(&records)?)
    }

    /// Every session's IPv6 state, in key order.
    pub fn ipv6_records(&self) -> Vec<Ipv6Record> {
        self.v6
            .sessions
            .iter()
            .map(|(key, v)| Ipv6Record {
                key: *key,
                link_prefix: v.link_prefix,
                link_source: v.link_source,
                delegated: v.delegated,
                link_local: v.link_local,
                dns: v.dns.clone(),
                advertiser: v.advertiser.to_pb(),
                dhcp: v.dhcp.to_pb(),
            })
            .collect()
    }

    /// Rebuilds sessions' IPv6 state from replicated records (after
    /// [`Engine::enable_ipv6`] with the same settings, and after the
    /// sessions themselves are restored). Records already present are
    /// replaced.
    pub fn restore_ipv6(&mut self, records: &[Ipv6Record]) -> Result<(), Ipv6RestoreError> {
        let settings = self
            .v6
            .settings
            .clone()
            .ok_or(Ipv6RestoreError::NotEnabled)?;
        for r in records {
            let Some(s) = self.sessions.get(&r.key) else {
                return Err(Ipv6RestoreError::UnknownSession(r.key));
            };
            let mru = s.mru;
            let fixed = s.grant.as_ref().and_then(|g| g.ipv6().framed_address);
            let owner = (r.key.tunnel, r.key.session);
            let prefix_err = |e: super::V6PoolError| Ipv6RestoreError::Prefix(r.key, e.to_string());
            if let Some(pool) = &mut self.v6.link_pool {
                pool.reserve(r.link_prefix, owner).map_err(prefix_err)?;
            }
            if let (Some((p, l, _)), Some(pool)) = (r.delegated, &mut self.v6.pd_pool) {
                if l == pool.prefix_len() {
                    pool.reserve(p, owner).map_err(prefix_err)?;
                }
            }
            let (ra, dhcp) = session_configs(&settings, r.link_prefix, &r.dns, mru, fixed);
            let state_err = |e: String| Ipv6RestoreError::State(r.key, e);
            let advertiser = RouterAdvertiser::from_pb(ra, r.link_local, &r.advertiser)
                .map_err(|e| state_err(e.to_string()))?;
            let server = Dhcpv6Server::from_pb(
                dhcp,
                r.link_local,
                r.link_prefix,
                r.delegated.map(|(p, l, _)| (p, l)),
                &r.dhcp,
            )
            .map_err(|e| state_err(e.to_string()))?;
            self.v6.sessions.insert(
                r.key,
                SessionIpv6 {
                    link_prefix: r.link_prefix,
                    link_source: r.link_source,
                    delegated: r.delegated,
                    link_local: r.link_local,
                    dns: r.dns.clone(),
                    advertiser,
                    dhcp: server,
                },
            );
            self.reindex(r.key);
        }
        Ok(())
    }
}
