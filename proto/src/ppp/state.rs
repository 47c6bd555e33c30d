//! Snapshot and restore of a [`Link`] as the versioned protobuf
//! `pb::ppp::LinkState` (`schema/ppp.proto`).
//!
//! Contract: `Link::restore(config, &link.snapshot())` gives a link equal to
//! the original (after its output queues were drained): same phase,
//! automaton states, counters, timers, magic numbers, MRU, negotiated
//! options, identifiers and addresses, so a link restored on another node
//! answers the next Echo-Request with the same magic and carries on
//! (FAILOVER.md). Restore refuses unknown versions and out-of-range values
//! instead of guessing.

use std::net::Ipv4Addr;

use super::cause::{Direction, DisconnectCause, DisconnectCode};
use super::frame::{Compression, FieldCompression};
use super::fsm::{Automaton, EarlyResend, State};
use super::lcp::{AuthDemand, AuthMethod};
use super::link::{
    AddressRequest, AuthState, AuthStatus, Keepalive, LinkConfig, LinkCore, PeerHeard, Phase, Side,
};
use crate::pb::ppp as pb;
use crate::time::Timestamp;

/// The schema version written by [`Link::snapshot`].
pub const STATE_VERSION: u32 = 1;

/// Why a snapshot cannot be restored: the snapshot is at fault (written by
/// an incompatible version, or corrupted).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// A version this code does not read.
    #[error("PPP link snapshot version {0} is not supported")]
    UnknownVersion(u32),
    /// A field holds a value outside its range.
    #[error("PPP link snapshot field {0} is out of range")]
    BadField(&'static str),
}

impl LinkCore {
    /// The link's whole replicated state. Take it after draining
    /// `poll_transmit` and `poll_event`: queued outputs are not included.
    pub fn snapshot(&self) -> pb::LinkState {
        pb::LinkState {
            version: STATE_VERSION,
            side: match self.side {
                Side::Lns => 0,
                Side::Subscriber => 1,
            },
            phase: match self.phase {
                Phase::Dead => 0,
                Phase::Establish => 1,
                Phase::Authenticate => 2,
                Phase::Network => 3,
                Phase::Terminate => 4,
            },
            lcp: Some(automaton_to_pb(&self.lcp)),
            lcp_negotiation: Some(pb::Lcp {
                request_mru: self.lcp_neg.request_mru.map(u32::from),
                request_accm: self.lcp_neg.request_accm,
                request_pfc: self.lcp_neg.request_compression.protocol == FieldCompression::On,
                request_acfc: self.lcp_neg.request_compression.address_control
                    == FieldCompression::On,
                our_magic: self.lcp_neg.our_magic,
                demand_kind: match self.lcp_neg.demand {
                    AuthDemand::NotAsked => 0,
                    AuthDemand::Asking(_) => 1,
                    AuthDemand::Refused => 2,
                },
                demand_method: match self.lcp_neg.demand {
                    AuthDemand::Asking(m) => method_to_pb(Some(m)),
                    _ => 0,
                },
                peer_mru: u32::from(self.lcp_neg.peer_mru),
                peer_magic: self.lcp_neg.peer_magic,
                send_pfc: self.lcp_neg.send_compression.protocol == FieldCompression::On,
                send_acfc: self.lcp_neg.send_compression.address_control == FieldCompression::On,
                peer_demand: method_to_pb(self.lcp_neg.peer_demand),
                loop_suspicions: u32::from(self.lcp_neg.loop_suspicions),
            }),
            ipcp: Some(automaton_to_pb(&self.ipcp)),
            ipcp_negotiation: Some(pb::Ipcp {
                request_address: self.ipcp_neg.request_address.map(u32::from),
                request_dns1: self.ipcp_neg.request_dns[0].map(u32::from),
                request_dns2: self.ipcp_neg.request_dns[1].map(u32::from),
                assigned_peer: self.ipcp_neg.assigned_peer.map(u32::from),
                peer_dns1: self.ipcp_neg.peer_dns[0].map(u32::from),
                peer_dns2: self.ipcp_neg.peer_dns[1].map(u32::from),
                peer_address: u32::from(self.ipcp_neg.peer_address),
            }),
            ipv6cp: Some(automaton_to_pb(&self.ipv6cp)),
            ipv6cp_negotiation: Some(pb::Ipv6cp {
                request_id: self.ipv6cp_neg.request_id,
                suggestion: self.ipv6cp_neg.suggestion,
                peer_id: self.ipv6cp_neg.peer_id,
                assigned_peer: self.ipv6cp_neg.assigned_peer,
            }),
            auth: Some(pb::Auth {
                method: method_to_pb(self.auth.method),
                status: match self.auth.status {
                    AuthStatus::Idle => 0,
                    AuthStatus::Waiting => 1,
                    AuthStatus::Pending => 2,
                    AuthStatus::Accepted => 3,
                    AuthStatus::Rejected => 4,
                },
                identifier: u32::from(self.auth.identifier),
                next_id: u32::from(self.auth.next_id),
                challenge: self.auth.challenge.to_vec(),
                message: self.auth.message.to_vec(),
                retries_left: u32::from(self.auth.retries_left),
                deadline_us: self.auth.deadline.map(Timestamp::unix_micros),
                rechallenge_at_us: self.auth.rechallenge_at.map(Timestamp::unix_micros),
                peer_name: self.auth.peer_name.to_vec(),
            }),
            echo_next_at_us: self.keepalive.next_at.map(Timestamp::unix_micros),
            echo_unanswered: u32::from(self.keepalive.unanswered),
            ipv4_request: match self.ipv4_request {
                AddressRequest::NotAsked => 0,
                AddressRequest::Asked => 1,
                AddressRequest::Assigned => 2,
                AddressRequest::Refused => 3,
            },
            pending_ipcp: self.pending_ipcp.as_deref().map(<[u8]>::to_vec),
            peer_heard: self.peer_heard == PeerHeard::Heard,
            closing: self.closing.as_ref().map(|c| pb::Cause {
                code: u32::from(u16::from(c.code)),
                protocol: u32::from(c.protocol),
                direction: u32::from(u8::from(c.direction)),
                message: c.message.clone(),
            }),
        }
    }

    /// Rebuilds a link from a snapshot, with the daemon's `config`.
    pub fn restore(
        config: impl Into<std::sync::Arc<LinkConfig>>,
        s: &pb::LinkState,
    ) -> Result<LinkCore, RestoreError> {
        if s.version != STATE_VERSION {
            return Err(RestoreError::UnknownVersion(s.version));
        }
        let side = match s.side {
            0 => Side::Lns,
            1 => Side::Subscriber,
            _ => return Err(RestoreError::BadField("side")),
        };
        let mut link = LinkCore::new(side, config);
        link.phase = match s.phase {
            0 => Phase::Dead,
            1 => Phase::Establish,
            2 => Phase::Authenticate,
            3 => Phase::Network,
            4 => Phase::Terminate,
            _ => return Err(RestoreError::BadField("phase")),
        };
        link.lcp = automaton_from_pb(s.lcp.as_ref(), "lcp")?;
        link.ipcp = automaton_from_pb(s.ipcp.as_ref(), "ipcp")?;
        link.ipv6cp = automaton_from_pb(s.ipv6cp.as_ref(), "ipv6cp")?;

        let l = s
            .lcp_negotiation
            .as_ref()
            .ok_or(RestoreError::BadField("lcp_negotiation"))?;
        let n = &mut link.lcp_neg;
        n.request_mru = l
            .request_mru
            .map(|v| u16_field(v, "request_mru"))
            .transpose()?;
        n.request_accm = l.request_accm;
        n.request_compression = compression(l.request_pfc, l.request_acfc);
        n.our_magic = l.our_magic;
        n.demand = match l.demand_kind {
            0 => AuthDemand::NotAsked,
            1 => AuthDemand::Asking(
                method_from_pb(l.demand_method)?.ok_or(RestoreError::BadField("demand_method"))?,
            ),
            2 => AuthDemand::Refused,
            _ => return Err(RestoreError::BadField("demand_kind")),
        };
        n.peer_mru = u16_field(l.peer_mru, "peer_mru")?;
        n.peer_magic = l.peer_magic;
        n.send_compression = compression(l.send_pfc, l.send_acfc);
        n.peer_demand = method_from_pb(l.peer_demand)?;
        n.loop_suspicions = u8_field(l.loop_suspicions, "loop_suspicions")?;

        let i = s
            .ipcp_negotiation
            .as_ref()
            .ok_or(RestoreError::BadField("ipcp_negotiation"))?;
        let n = &mut link.ipcp_neg;
        n.request_address = i.request_address.map(Ipv4Addr::from);
        n.request_dns = [
            i.request_dns1.map(Ipv4Addr::from),
            i.request_dns2.map(Ipv4Addr::from),
        ];
        n.assigned_peer = i.assigned_peer.map(Ipv4Addr::from);
        n.peer_dns = [
            i.peer_dns1.map(Ipv4Addr::from),
            i.peer_dns2.map(Ipv4Addr::from),
        ];
        n.peer_address = Ipv4Addr::from(i.peer_address);

        let v = s
            .ipv6cp_negotiation
            .as_ref()
            .ok_or(RestoreError::BadField("ipv6cp_negotiation"))?;
        link.ipv6cp_neg.request_id = v.request_id;
        link.ipv6cp_neg.suggestion = v.suggestion;
        link.ipv6cp_neg.peer_id = v.peer_id;
        link.ipv6cp_neg.assigned_peer = v.assigned_peer;

        let a = s.auth.as_ref().ok_or(RestoreError::BadField("auth"))?;
        link.auth = AuthState {
            method: method_from_pb(a.method)?,
            status: match a.status {
                0 => AuthStatus::Idle,
                1 => AuthStatus::Waiting,
                2 => AuthStatus::Pending,
                3 => AuthStatus::Accepted,
                4 => AuthStatus::Rejected,
                _ => return Err(RestoreError::BadField("auth.status")),
            },
            identifier: u8_field(a.identifier, "auth.identifier")?,
            next_id: u8_field(a.next_id, "auth.next_id")?,
            challenge: a.challenge.as_slice().into(),
            message: a.message.as_slice().into(),
            retries_left: u8_field(a.retries_left, "auth.retries_left")?,
            deadline: a.deadline_us.map(Timestamp::from_unix_micros),
            rechallenge_at: a.rechallenge_at_us.map(Timestamp::from_unix_micros),
            peer_name: a.peer_name.as_slice().into(),
        };
        link.keepalive = Keepalive {
            next_at: s.echo_next_at_us.map(Timestamp::from_unix_micros),
            unanswered: u8_field(s.echo_unanswered, "echo_unanswered")?,
        };
        link.ipv4_request = match s.ipv4_request {
            0 => AddressRequest::NotAsked,
            1 => AddressRequest::Asked,
            2 => AddressRequest::Assigned,
            3 => AddressRequest::Refused,
            _ => return Err(RestoreError::BadField("ipv4_request")),
        };
        link.pending_ipcp = s.pending_ipcp.as_deref().map(Box::from);
        link.peer_heard = if s.peer_heard {
            PeerHeard::Heard
        } else {
            PeerHeard::Silent
        };
        link.closing = s
            .closing
            .as_ref()
            .map(|c| -> Result<Box<DisconnectCause>, RestoreError> {
                Ok(Box::new(DisconnectCause {
                    code: DisconnectCode::from(u16_field(c.code, "closing.code")?),
                    protocol: u16_field(c.protocol, "closing.protocol")?,
                    direction: Direction::from(u8_field(c.direction, "closing.direction")?),
                    message: c.message.clone(),
                }))
            })
            .transpose()?;
        link.out = Default::default();
        Ok(link)
    }
}

impl LinkCore {
    /// After a restore on a new active node (FAILOVER.md: "negotiation
    /// timers restart on the new leader, with jitter"): every running timer
    /// is re-armed at `now` plus a random share of its period, so thousands
    /// of restored links do not all send an LCP echo in the same
    /// millisecond. Timers that were not running stay off.
    pub fn rearm_timers(&mut self, now: Timestamp, entropy: &mut dyn crate::entropy::Entropy) {
        let restart = self.config.fsm.restart;
        let mut jitter = |period: core::time::Duration| {
            let us = u64::try_from(period.as_micros()).unwrap_or(u64::MAX).max(1);
            now + core::time::Duration::from_micros(entropy.next_u64() % us)
        };
        for a in [&mut self.lcp, &mut self.ipcp, &mut self.ipv6cp] {
            if a.deadline.is_some() {
                a.deadline = Some(jitter(restart));
            }
        }
        if self.auth.deadline.is_some() {
            self.auth.deadline = Some(jitter(restart));
        }
        if let (Some(_), Some(interval)) = (self.keepalive.next_at, self.config.echo_interval) {
            self.keepalive.next_at = Some(jitter(interval));
        }
    }
}

fn automaton_to_pb(a: &Automaton) -> pb::Automaton {
    pb::Automaton {
        state: u32::from(a.state.number()),
        restart_counter: u32::from(a.restart_counter),
        naks_sent: u32::from(a.naks_sent),
        deadline_us: a.deadline.map(Timestamp::unix_micros),
        request_id: u32::from(a.request_id),
        request: a.request.to_vec(),
        terminate_id: u32::from(a.terminate_id),
        next_id: u32::from(a.next_id),
        early_resend_used: a.early_resend == EarlyResend::Used,
        request_sent_at_us: a.request_sent_at.map(Timestamp::unix_micros),
    }
}

fn automaton_from_pb(
    a: Option<&pb::Automaton>,
    name: &'static str,
) -> Result<Automaton, RestoreError> {
    let a = a.ok_or(RestoreError::BadField(name))?;
    Ok(Automaton {
        state: u8::try_from(a.state)
            .ok()
            .and_then(State::from_number)
            .ok_or(RestoreError::BadField(name))?,
        restart_counter: u8_field(a.restart_counter, name)?,
        naks_sent: u8_field(a.naks_sent, name)?,
        deadline: a.deadline_us.map(Timestamp::from_unix_micros),
        request_id: u8_field(a.request_id, name)?,
        request: a.request.as_slice().into(),
        terminate_id: u8_field(a.terminate_id, name)?,
        next_id: u8_field(a.next_id, name)?,
        early_resend: if a.early_resend_used {
            EarlyResend::Used
        } else {
            EarlyResend::Available
        },
        request_sent_at: a.request_sent_at_us.map(Timestamp::from_unix_micros),
    })
}

fn method_to_pb(m: Option<AuthMethod>) -> u32 {
    match m {
        None => 0,
        Some(AuthMethod::Pap) => 0xc023,
        Some(AuthMethod::ChapMd5) => 0xc223,
    }
}

fn method_from_pb(v: u32) -> Result<Option<AuthMethod>, RestoreError> {
    match v {
        0 => Ok(None),
        0xc023 => Ok(Some(AuthMethod::Pap)),
        0xc223 => Ok(Some(AuthMethod::ChapMd5)),
        _ => Err(RestoreError::BadField("auth method")),
    }
}

fn compression(pfc: bool, acfc: bool) -> Compression {
    let f = |on: bool| {
        if on {
            FieldCompression::On
        } else {
            FieldCompression::Off
        }
    };
    Compression {
        address_control: f(acfc),
        protocol: f(pfc),
    }
}

fn u8_field(v: u32, name: &'static str) -> Result<u8, RestoreError> {
    u8::try_from(v).map_err(|_| RestoreError::BadField(name))
}

fn u16_field(v: u32, name: &'static str) -> Result<u16, RestoreError> {
    u16::try_from(v).map_err(|_| RestoreError::BadField(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Seeded;
    use crate::ppp::Link;
    use prost::Message;

    #[test]
    fn fresh_and_opened_links_round_trip() {
        let cfg = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
        let mut link = Link::new(Side::Lns, cfg.clone());
        let r = Link::restore(cfg.clone(), &link.snapshot()).expect("restores");
        assert_eq!(r, link);
        link.open(Timestamp::from_unix_millis(5), &mut Seeded::new(9));
        while link.poll_transmit().is_some() {}
        let bytes = link.snapshot().encode_to_vec();
        let decoded = pb::LinkState::decode(&bytes[..]).expect("decodes");
        let r = Link::restore(cfg, &decoded).expect("restores");
        assert_eq!(r, link);
        assert_eq!(r.snapshot(), link.snapshot());
    }

    #[test]
    fn rearm_spreads_running_timers_only() {
        let cfg = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
        let mut link = LinkCore::new(Side::Lns, cfg);
        link.open(Timestamp::EPOCH, &mut Seeded::new(1));
        let now = Timestamp::from_unix_millis(50_000);
        link.rearm_timers(now, &mut Seeded::new(2));
        let d = link.lcp.deadline.expect("LCP timer was running");
        assert!(d >= now && d < now + link.config.fsm.restart);
        assert_eq!(link.ipcp.deadline, None);
        assert_eq!(link.keepalive.next_at, None);
    }

    #[test]
    fn unknown_version_and_bad_values_are_refused() {
        let cfg = LinkConfig::lns(Ipv4Addr::new(100, 64, 0, 1));
        let mut s = Link::new(Side::Lns, cfg.clone()).snapshot();
        s.version = 2;
        assert_eq!(
            Link::restore(cfg.clone(), &s),
            Err(RestoreError::UnknownVersion(2))
        );
        s.version = STATE_VERSION;
        s.phase = 9;
        assert_eq!(
            Link::restore(cfg.clone(), &s),
            Err(RestoreError::BadField("phase"))
        );
        s.phase = 0;
        if let Some(l) = s.lcp.as_mut() {
            l.state = 10;
        }
        assert_eq!(Link::restore(cfg, &s), Err(RestoreError::BadField("lcp")));
    }
}
