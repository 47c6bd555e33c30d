//! What the PPP links' events do to a session (authentication queries,
//! address assignment, publication to the data plane, the CDN when a link
//! goes down) and the ways a session is ended (timeouts, operator,
//! second-login policy). Part of [`super::Engine`]; same contract: no IO,
//! deterministic.

use super::session::{self, AuthPhase, Ending, Session};
use super::stored_grant::StoredGrant;
use super::types::{AddressGrant, AuthQuery, Grant, Level, Output, SessionKey};
use super::{Engine, PoolError};
use crate::dataplane::SessionEntry;
use crate::metrics::SessionSetupFailure;
use lns_proto::entropy::Entropy;
use lns_proto::l2tp::{CdnResult, ErrorCode, SessionRoute};
use lns_proto::ppp::{Direction, DisconnectCause, DisconnectCode, LinkEvent};
use lns_proto::time::Timestamp;

impl Engine {
    pub(super) fn on_link_event(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        ev: LinkEvent,
        entropy: &mut dyn Entropy,
    ) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        match ev {
            LinkEvent::LcpUp { peer_mru, .. } => s.mru = peer_mru,
            LinkEvent::AuthRequest(proof) => {
                let request = self.next_request;
                self.next_request += 1;
                s.auth = AuthPhase::Pending(request);
                let query = AuthQuery {
                    session: key,
                    request,
                    nas_port: (u32::from(key.tunnel) << 16) | u32::from(key.session),
                    calling_station: s.stations.calling_vec(),
                    called_station: s.stations.called_vec(),
                    proof,
                };
                s.user = query.user().into();
                self.outputs.push_back(Output::Authenticate(query));
            }
            LinkEvent::Authenticated { .. } => {}
            LinkEvent::Ipv4AddressRequest => self.assign_ipv4(now, key),
            LinkEvent::Ipv4Up { peer, .. } => {
                s.ipv4 = Some(peer);
                s.last_traffic = now;
                s.published = true;
                let entry = data_plane_entry(&self.endpoint, s);
                let text = format!("user {:?} up with {peer}", s.user_text());
                let entry = self.with_ipv6(entry);
                self.outputs.push_back(Output::SessionUp(entry));
                self.notice(Level::Info, Some(key), text);
                // RFC 2866 §5.1: Start once the network layer is up.
                self.accounting_network_up(now, key);
            }
            LinkEvent::Ipv6Up { local_id, .. } => {
                self.on_ipv6_up(now, key, local_id, entropy);
                // IPv6-only sessions start their accounting here (after a
                // short wait for IPCP).
                self.accounting_ipv6_up(now, key);
            }
            LinkEvent::Ipv6Down => self.on_ipv6_down(now, key),
            LinkEvent::Ipv4Down => {}
            LinkEvent::ProtocolRejected { protocol } => self.notice(
                Level::Debug,
                Some(key),
                format!("protocol {protocol:#06x} rejected"),
            ),
            LinkEvent::LinkDown { cause } => {
                self.failures
                    .note(key, super::setup_failure::from_link_down(&cause));
                self.accounting
                    .note_cause(key, super::accounting::terminate_cause(&cause));
                let Some(s) = self.sessions.get_mut(&key) else {
                    return;
                };
                let (result, error) = match s.ending {
                    Ending::With(r, e) => (r, e),
                    Ending::No => session::cdn_codes(&cause),
                };
                s.ending = Ending::With(result, error);
                let text = format!(
                    "PPP down ({:?}: {}), sending CDN",
                    cause.code, cause.message
                );
                self.notice(Level::Info, Some(key), text);
                let _ = self.endpoint.close_session(
                    now,
                    key.tunnel,
                    key.session,
                    result,
                    error,
                    Some(session::l2tp_cause(&cause)),
                    entropy,
                );
            }
        }
    }

    /// IPCP wants the subscriber's address: from the grant, else a pool.
    pub(super) fn assign_ipv4(&mut self, now: Timestamp, key: SessionKey) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let grant = s
            .grant
            .as_ref()
            .map_or_else(Grant::default_pool, StoredGrant::grant);
        let user = s.user.clone();
        let owner = (key.tunnel, key.session);
        let result = match &grant.address {
            AddressGrant::Fixed(a) => self.pools.reserve(*a, owner).map(|()| *a),
            AddressGrant::Pool(name) => {
                match name.as_deref().or(self.config.default_pool.as_deref()) {
                    Some(n) => self.pools.allocate(n, owner, &user),
                    None => Err(PoolError::NoPool),
                }
            }
        };
        let dns = if grant.dns.iter().any(Option::is_some) {
            grant.dns
        } else {
            self.config.dns
        };
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        match result {
            Ok(a) => {
                s.ipv4 = Some(a);
                s.link.ipv4_assigned(now, a, dns);
            }
            Err(e) => {
                self.failures.note(key, SessionSetupFailure::PoolExhausted);
                s.link.ipv4_refused(now);
                s.ending = Ending::With(CdnResult::NoFacilitiesTemporary, ErrorCode::NoResources);
                let cause = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local)
                    .with_protocol(0x8021)
                    .with_message(&format!("no IPv4 address: {e}"));
                s.link.close(now, cause);
                let text = format!("user {:?} refused: no IPv4 address: {e}", s.user_text());
                self.notice(Level::Warn, Some(key), text);
            }
        }
    }

    /// Starts ending a session: LCP Terminate, then (on LinkDown) the CDN.
    pub(super) fn end_session(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        result: CdnResult,
        why: &str,
    ) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if s.ending != Ending::No {
            return;
        }
        s.ending = Ending::With(result, ErrorCode::NoError);
        let cause = DisconnectCause::new(DisconnectCode::Administrative, Direction::Local)
            .with_message(why);
        s.link.close(now, cause);
        self.dirty.insert(key);
    }

    /// Sends LCP Terminate-Request on every matching link (before a CDN
    /// or StopCCN ends it abruptly).
    pub(super) fn terminate_links(
        &mut self,
        now: Timestamp,
        matches: impl Fn(&SessionKey) -> bool,
        why: &str,
        entropy: &mut dyn Entropy,
    ) {
        let keys: Vec<SessionKey> = self
            .sessions
            .keys()
            .filter(|k| matches(k))
            .copied()
            .collect();
        for k in keys {
            self.end_session(now, k, CdnResult::Administrative, why);
            // Drain now: the StopCCN that follows removes the session.
            let _ = self.drain_link(now, k, entropy);
        }
    }

    /// Second-login policy "replace-older": ends the user's other sessions.
    pub(super) fn replace_older(&mut self, now: Timestamp, newest: SessionKey, user: &[u8]) {
        let older: Vec<SessionKey> = self
            .sessions
            .values()
            .filter(|s| s.key != newest && s.user == user && s.auth == AuthPhase::Accepted)
            .map(|s| s.key)
            .collect();
        for k in older {
            // RFC 2866 §5.10: ended by the NAS for a reason not listed.
            self.accounting
                .note_cause(k, lns_proto::radius::AcctTerminateCause::NasRequest);
            self.notice(
                Level::Info,
                Some(k),
                format!("replaced by a newer login in {newest:?}"),
            );
            self.end_session(
                now,
                k,
                CdnResult::Administrative,
                "replaced by a newer login",
            );
        }
    }
}

/// The session as the data plane sees it (no IPv4 before IPCP opens),
/// sent along its tunnel's route ([`route_of`]).
pub fn data_plane_entry(endpoint: &lns_proto::l2tp::Endpoint, s: &Session) -> SessionEntry {
    entry_on(s, route_of(endpoint, s))
}

/// [`data_plane_entry`] along a route already at hand (the L2TP session-up
/// event's).
pub(super) fn entry_on(s: &Session, route: SessionRoute) -> SessionEntry {
    SessionEntry {
        tunnel_id: s.key.tunnel,
        session_id: s.key.session,
        peer_tunnel_id: route.peer_tunnel_id,
        peer_session_id: route.peer_session_id,
        peer: route.peer,
        local: route.local,
        ipv4: s.ipv4.filter(|_| s.published),
        ipv6_prefixes: Vec::new(),
        mru: s.mru,
        // What the peer agreed to receive (ACFC/PFC, RFC 1661 §6.5, §6.6);
        // uncompressed until LCP is opened.
        compression: s.link.send_compression(),
    }
}

/// Where `s`'s frames go: its tunnel's addresses and the peer's ids (the
/// tunnel keeps the addresses once for all its sessions). A session whose
/// tunnel is already gone gets unspecified addresses and tunnel id 0,
/// which match no datagram.
pub fn route_of(endpoint: &lns_proto::l2tp::Endpoint, s: &Session) -> SessionRoute {
    match endpoint.tunnel(s.key.tunnel) {
        Some(t) => SessionRoute {
            peer: t.peer,
            local: t.local,
            peer_tunnel_id: t.peer_id,
            peer_session_id: s.peer_session_id,
        },
        None => {
            let nowhere = std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0));
            SessionRoute {
                peer: nowhere,
                local: nowhere,
                peer_tunnel_id: 0,
                peer_session_id: s.peer_session_id,
            }
        }
    }
}
