//! # Dynamic authorization in the engine (RFC 5176)
//!
//! Contract: [`Engine::select_sessions`] is a read-only query that finds
//! the running sessions a Disconnect-Request or CoA-Request names (every
//! given attribute must match: RFC 5176 §3 session identification);
//! [`Input::Reauthorize`](super::Input::Reauthorize) applies a CoA's new
//! Session-Timeout, Idle-Timeout, Acct-Interim-Interval and Class. A Disconnect is an ordinary
//! `AdminCommand::KillSession` (Acct-Terminate-Cause Admin-Reset). Same
//! determinism as the rest of the engine: sessions are scanned in key order.

use super::accounting::nas_port;
use super::session::{AuthPhase, Ending, Session};
use super::stored_grant::StoredGrant;
use super::types::{Level, Reauthorization, SessionKey};
use super::Engine;
use lns_proto::time::Timestamp;
use std::net::Ipv4Addr;

/// The session identification attributes of a request (RFC 5176 §3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    /// User-Name.
    pub user_name: Option<String>,
    /// Acct-Session-Id.
    pub acct_session_id: Option<String>,
    /// Framed-IP-Address.
    pub framed_ip: Option<Ipv4Addr>,
    /// NAS-Port.
    pub nas_port: Option<u32>,
    /// Calling-Station-Id.
    pub calling_station_id: Option<String>,
}

impl Selector {
    /// Whether `s` matches every attribute given (and at least one is).
    pub fn matches(&self, s: &Session) -> bool {
        let any = self.user_name.is_some()
            || self.acct_session_id.is_some()
            || self.framed_ip.is_some()
            || self.nas_port.is_some()
            || self.calling_station_id.is_some();
        any && self
            .user_name
            .as_ref()
            .is_none_or(|u| u.as_bytes() == s.user.as_slice())
            && self
                .acct_session_id
                .as_ref()
                .is_none_or(|a| s.acct_session_id == *a.as_str())
            && self.framed_ip.is_none_or(|ip| s.ipv4 == Some(ip))
            && self.nas_port.is_none_or(|p| p == nas_port(s.key))
            && self
                .calling_station_id
                .as_ref()
                .is_none_or(|c| s.stations.calling() == Some(c.as_bytes()))
    }
}

impl Engine {
    /// Authenticated, running sessions that `selector` names, in key order.
    pub fn select_sessions(&self, selector: &Selector) -> Vec<SessionKey> {
        self.sessions
            .values()
            .filter(|s| s.auth == AuthPhase::Accepted && s.ending == Ending::No)
            .filter(|s| selector.matches(s))
            .map(|s| s.key)
            .collect()
    }

    /// RFC 5176 §3.2 CoA: what an Access-Accept sets that can change on a
    /// live session. Session-Timeout counts from authentication (RFC 2865
    /// §5.27) and Idle-Timeout from the last traffic (§5.28); zero removes
    /// the limit, and a deadline already past ends the session at the next
    /// tick. Acct-Interim-Interval (RFC 2869 §5.16) re-schedules the
    /// Interims: the next one an interval from `now` (zero: none any more).
    /// Class (RFC 2865 §5.25) replaces the values later records echo.
    pub(super) fn reauthorize(&mut self, now: Timestamp, key: SessionKey, change: Reauthorization) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if let Some(t) = change.session_timeout {
            let from = s.authenticated_at.unwrap_or(s.started);
            s.session_deadline = (!t.is_zero()).then(|| from + t);
        }
        if let Some(t) = change.idle_timeout {
            s.idle_timeout = (!t.is_zero()).then_some(t).into();
        }
        if let Some(stored) = s.grant.as_mut() {
            let mut grant = stored.grant();
            if let Some(i) = change.acct_interim_interval {
                grant.acct_interim_interval = Some(i);
            }
            if !change.class.is_empty() {
                grant.class = change.class.clone();
            }
            *stored = StoredGrant::from(grant);
        }
        if let Some(i) = change.acct_interim_interval {
            self.accounting_reschedule(now, key, i);
        }
        self.dirty.insert(key);
        let text = format!(
            "limits changed by CoA: session timeout {:?}, idle timeout {:?}, \
             interim interval {:?}, class {}",
            change.session_timeout,
            change.idle_timeout,
            change.acct_interim_interval,
            if change.class.is_empty() {
                "unchanged"
            } else {
                "replaced"
            }
        );
        self.notice(Level::Info, Some(key), text);
    }
}
