//! The engine's tables as management API messages (what `lnsctl sessions`,
//! `tunnels`, `pools` show on a single node).
//!
//! Contract: pure functions of the engine, the data plane's counters and the
//! time passed in; they run inside the control task (see
//! `control/query.rs`), so they only read. Session IDs shown to operators
//! are [`session_ref`]s: the local tunnel ID in the high 16 bits and the
//! local session ID in the low 16 bits (L2TP session IDs are unique only
//! within a tunnel, RFC 2661 §3.1), so `lnsctl session show ID` names one
//! session without a second argument.

use std::collections::BTreeMap;
use std::net::IpAddr;

use lns_proto::l2tp::tunnel::{Phase as TunnelPhase, Tunnel};
use lns_proto::ppp::{AuthMethod, Phase};
use lns_proto::time::Timestamp;

use super::backend::{BackendError, BackendResult};
use super::pb;
use crate::control::Plane;
use crate::engine::{Ending, Engine, Session, SessionKey};

/// The operator-facing ID of a session.
pub fn session_ref(key: SessionKey) -> u32 {
    (u32::from(key.tunnel) << 16) | u32::from(key.session)
}

/// The session a [`session_ref`] names.
pub fn session_key(id: u32) -> SessionKey {
    SessionKey {
        tunnel: (id >> 16) as u16,
        session: (id & 0xffff) as u16,
    }
}

/// Where a session stands, as `lnsctl sessions --state` names it (the
/// same split as the `lnsd_sessions` gauge).
pub fn state(s: &Session) -> pb::SessionState {
    match (s.ending, s.link.phase()) {
        (Ending::With(..), _) | (_, Phase::Terminate) => pb::SessionState::Closing,
        (_, Phase::Authenticate) => pb::SessionState::Authenticating,
        (_, Phase::Network) if s.ipv4.is_some() => pb::SessionState::Up,
        (_, Phase::Network) => pb::SessionState::Network,
        (_, Phase::Dead | Phase::Establish) => pb::SessionState::Establishing,
    }
}

/// One session's line.
pub fn summary(
    engine: &Engine,
    s: &Session,
    now: Timestamp,
    plane: &dyn Plane,
) -> pb::SessionSummary {
    let stats = plane
        .session_stats(s.key.tunnel, s.key.session)
        .unwrap_or_default();
    pb::SessionSummary {
        session_id: session_ref(s.key),
        tunnel_id: u32::from(s.key.tunnel),
        user: s.user_text(),
        state: state(s) as i32,
        ipv4: s.ipv4.map(|a| a.to_string()).unwrap_or_default(),
        ipv6_prefixes: engine
            .ipv6_prefixes(s.key)
            .into_iter()
            .map(|(addr, len)| format!("{addr}/{len}"))
            .collect(),
        uptime_seconds: now.saturating_since(s.started).as_secs(),
        rx_bytes: stats.rx_bytes,
        tx_bytes: stats.tx_bytes,
    }
}

/// `lnsctl sessions` with its filters (empty fields match everything).
pub fn list_sessions(
    engine: &Engine,
    plane: &dyn Plane,
    now: Timestamp,
    filter: &pb::SessionFilter,
) -> BackendResult<pb::SessionList> {
    let ip = IpFilter::parse(&filter.ip)?;
    let sessions = engine
        .sessions()
        .map(|s| summary(engine, s, now, plane))
        .filter(|s| filter.user.is_empty() || s.user == filter.user)
        .filter(|s| filter.tunnel_id.is_none_or(|t| s.tunnel_id == t))
        .filter(|s| filter.state == pb::SessionState::Unspecified as i32 || s.state == filter.state)
        .filter(|s| ip.matches(s))
        .collect();
    Ok(pb::SessionList {
        sessions,
        origin: pb::ReplyOrigin::Live as i32,
    })
}

/// `lnsctl session show ID`.
pub fn session_detail(
    engine: &Engine,
    plane: &dyn Plane,
    now: Timestamp,
    id: u32,
) -> BackendResult<pb::SessionDetail> {
    let s = engine
        .session(session_key(id))
        .ok_or_else(|| BackendError::NotFound(format!("session {id}")))?;
    let stats = plane
        .session_stats(s.key.tunnel, s.key.session)
        .unwrap_or_default();
    let text = |v: Option<&[u8]>| {
        v.map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let class = s
        .grant
        .as_ref()
        .map(|g| {
            g.class()
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    Ok(pb::SessionDetail {
        summary: Some(summary(engine, s, now, plane)),
        calling_number: text(s.stations.calling()),
        called_number: text(s.stations.called()),
        auth_protocol: auth_protocol(s.link.auth_method()).into(),
        mru: u32::from(s.mru),
        ipv6_interface_id: s
            .link
            .peer_interface_id()
            .map(interface_id)
            .unwrap_or_default(),
        radius_class: class,
        rx_packets: stats.rx_packets,
        tx_packets: stats.tx_packets,
        origin: pb::ReplyOrigin::Live as i32,
    })
}

/// One tunnel's line; `now` gives its uptime (0 for a tunnel restored
/// from a snapshot older than the start time it carries).
pub fn tunnel_summary(t: &Tunnel, now: Timestamp) -> pb::TunnelSummary {
    let state = match t.phase {
        TunnelPhase::WaitCtlReply => "wait-ctl-reply",
        TunnelPhase::WaitCtlConn => "wait-ctl-conn",
        TunnelPhase::Established => "established",
        TunnelPhase::Closing { .. } => "closing",
    };
    pb::TunnelSummary {
        tunnel_id: u32::from(t.local_id),
        peer_tunnel_id: u32::from(t.peer_id),
        peer_address: t.peer.to_string(),
        local_address: t.local.to_string(),
        host_name: String::from_utf8_lossy(&t.peer_host_name).into_owned(),
        state: state.into(),
        sessions: t.sessions.len() as u32,
        uptime_seconds: match t.started {
            Timestamp::EPOCH => 0,
            started => now.saturating_since(started).as_secs(),
        },
    }
}

/// `lnsctl tunnels`.
pub fn list_tunnels(engine: &Engine, now: Timestamp) -> pb::TunnelList {
    pb::TunnelList {
        tunnels: engine
            .endpoint()
            .tunnels()
            .map(|t| tunnel_summary(t, now))
            .collect(),
        origin: pb::ReplyOrigin::Live as i32,
    }
}

/// `lnsctl tunnel show ID`.
pub fn tunnel_detail(engine: &Engine, now: Timestamp, id: u32) -> BackendResult<pb::TunnelDetail> {
    let t = u16::try_from(id)
        .ok()
        .and_then(|id| engine.endpoint().tunnel(id))
        .ok_or_else(|| BackendError::NotFound(format!("tunnel {id}")))?;
    Ok(pb::TunnelDetail {
        summary: Some(tunnel_summary(t, now)),
        vendor_name: String::from_utf8_lossy(&t.peer_vendor_name).into_owned(),
        receive_window: u32::from(t.reliable.peer_window),
        ns: u32::from(t.reliable.ns_next),
        nr: u32::from(t.reliable.nr),
        retransmits: u32::try_from(t.retransmits).unwrap_or(u32::MAX),
        session_ids: t
            .sessions
            .keys()
            .map(|&session| {
                session_ref(SessionKey {
                    tunnel: t.local_id,
                    session,
                })
            })
            .collect(),
        origin: pb::ReplyOrigin::Live as i32,
    })
}

/// `lnsctl pools`; `ranges` are the configured ranges by pool name.
pub fn list_pools(engine: &Engine, ranges: &BTreeMap<String, String>) -> pb::PoolList {
    let pools = engine
        .pools()
        .usage()
        .into_iter()
        .map(|(name, used, size)| pb::Pool {
            range: ranges.get(&name).cloned().unwrap_or_default(),
            name,
            family: "ipv4".into(),
            size,
            used,
        })
        .collect();
    pb::PoolList {
        pools,
        origin: pb::ReplyOrigin::Live as i32,
    }
}

/// The `auth_protocol` column: the method LCP negotiated.
pub fn auth_protocol(method: Option<AuthMethod>) -> &'static str {
    match method {
        Some(AuthMethod::Pap) => "PAP",
        Some(AuthMethod::ChapMd5) => "CHAP",
        None => "",
    }
}

/// An IPv6 interface identifier as the low 64 bits of an address
/// (`::1a2b:3c4d:5e6f:7081`).
fn interface_id(id: u64) -> String {
    std::net::Ipv6Addr::from(u128::from(id)).to_string()
}

/// `--ip`: an address or a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpFilter {
    Any,
    Prefix(IpAddr, u8),
}

impl IpFilter {
    fn parse(text: &str) -> BackendResult<IpFilter> {
        if text.is_empty() {
            return Ok(IpFilter::Any);
        }
        let bad = || {
            BackendError::InvalidArgument(format!(
                "--ip {text}: give an address (198.18.0.7) or a prefix (198.18.0.0/24)"
            ))
        };
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            return Err(bad());
        }
        Ok(IpFilter::Prefix(addr, len))
    }

    fn matches(self, s: &pb::SessionSummary) -> bool {
        let IpFilter::Prefix(want, len) = self else {
            return true;
        };
        let held = s
            .ipv4
            .parse::<IpAddr>()
            .ok()
            .map(|a| (a, 32u8))
            .into_iter()
            .chain(s.ipv6_prefixes.iter().filter_map(|p| {
                let (a, l) = p.split_once('/')?;
                Some((a.parse().ok()?, l.parse().ok()?))
            }));
        for (addr, held_len) in held {
            if within(addr, want, len) || (held_len <= len && within(want, addr, held_len)) {
                return true;
            }
        }
        false
    }
}

/// Whether `addr` is inside `prefix/len` (same family only).
fn within(addr: IpAddr, prefix: IpAddr, len: u8) -> bool {
    match (addr, prefix) {
        (IpAddr::V4(a), IpAddr::V4(p)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(p)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ipv4(ip: &str) -> pb::SessionSummary {
        pb::SessionSummary {
            ipv4: ip.into(),
            ..Default::default()
        }
    }

    #[test]
    fn session_ref_round_trips_tunnel_and_session() {
        let key = SessionKey {
            tunnel: 0x1234,
            session: 0xfffe,
        };
        assert_eq!(session_ref(key), 0x1234_fffe);
        assert_eq!(session_key(0x1234_fffe), key);
    }

    #[test]
    fn ip_filter_takes_addresses_and_prefixes() {
        let s = with_ipv4("198.18.0.7");
        let m = |f: &str| IpFilter::parse(f).expect("valid").matches(&s);
        assert!(m(""));
        assert!(m("198.18.0.7"));
        assert!(!m("198.18.0.8"));
        assert!(m("198.18.0.0/24"));
        assert!(m("0.0.0.0/0"));
        assert!(!m("198.19.0.0/16"));
        assert!(!m("2001:db8::/32"));
        let none = pb::SessionSummary::default();
        assert!(IpFilter::parse("").expect("any").matches(&none));
        assert!(!IpFilter::parse("198.18.0.7").expect("valid").matches(&none));
    }

    #[test]
    fn ip_filter_matches_held_ipv6_prefixes_both_ways() {
        let s = pb::SessionSummary {
            ipv6_prefixes: vec!["2001:db8:1:100::/56".into()],
            ..Default::default()
        };
        let m = |f: &str| IpFilter::parse(f).expect("valid").matches(&s);
        assert!(m("2001:db8:1:1ab::1"), "an address inside the prefix");
        assert!(m("2001:db8::/32"), "a wider prefix");
        assert!(!m("2001:db8:1:200::/56"));
    }

    #[test]
    fn ip_filter_refuses_garbage_naming_the_flag() {
        for bad in ["198.18.0", "198.18.0.0/33", "::/129", "x/8"] {
            let e = IpFilter::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("--ip"), "{e}");
        }
    }
}
