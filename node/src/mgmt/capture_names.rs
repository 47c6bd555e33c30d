//! Who each session is, for the running captures: its user and its L2TP
//! route, for live sessions and for sessions that ended a moment ago.
//!
//! Contract: the messages that close a session (our CDN, an LCP
//! Terminate-Request, the peer's acknowledgement) are emitted or received
//! after the engine has forgotten the session, so a capture scoped to a user
//! or a session would miss them if it only asked the engine. The control
//! task publishes the live sessions ([`SessionNames::next`]) whenever a
//! session comes up or goes down while a capture runs; sessions that left
//! the table since the previous publication are remembered for
//! [`ENDED_FOR`], at most [`MAX_ENDED`] of them (the oldest go first), so
//! the memory is bounded whatever the churn. Lookups try the live sessions
//! first, then the ended ones, newest first (a Session ID reused at once
//! names its new owner).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lns_proto::l2tp::SessionRoute;
use lns_proto::time::Timestamp;

/// How long an ended session still names its closing messages.
pub const ENDED_FOR: Duration = Duration::from_secs(30);

/// Most ended sessions remembered at once.
pub const MAX_ENDED: usize = 256;

/// A session as the captures know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName {
    /// Its user, once authenticated (or named by its login).
    pub user: Option<Arc<str>>,
    /// Its addresses and the peer's IDs.
    pub route: SessionRoute,
}

/// Live and recently ended sessions, keyed by our (tunnel, session) IDs.
#[derive(Debug, Clone, Default)]
pub struct SessionNames {
    live: BTreeMap<(u16, u16), SessionName>,
    /// (when it ended, our IDs, who it was); oldest first.
    ended: VecDeque<(Timestamp, (u16, u16), SessionName)>,
}

impl SessionNames {
    /// The live sessions, with nothing ended yet.
    pub fn new(live: BTreeMap<(u16, u16), SessionName>) -> SessionNames {
        SessionNames {
            live,
            ended: VecDeque::new(),
        }
    }

    /// The names after a change of the live sessions at `now`: the sessions
    /// gone from `live` join the ended ones; the ended ones older than
    /// [`ENDED_FOR`] or beyond [`MAX_ENDED`] are forgotten.
    pub fn next(&self, now: Timestamp, live: BTreeMap<(u16, u16), SessionName>) -> SessionNames {
        let mut ended = self.ended.clone();
        for (key, name) in &self.live {
            if live.get(key).is_none_or(|n| n.route != name.route) {
                ended.push_back((now, *key, name.clone()));
            }
        }
        let horizon = now - ENDED_FOR;
        while ended
            .front()
            .is_some_and(|(at, _, _)| *at < horizon || ended.len() > MAX_ENDED)
        {
            ended.pop_front();
        }
        SessionNames { live, ended }
    }

    /// The same ended sessions with `live` as the live ones (a capture
    /// installed while another runs).
    pub fn with_live(&self, live: BTreeMap<(u16, u16), SessionName>) -> SessionNames {
        SessionNames {
            live,
            ended: self.ended.clone(),
        }
    }

    /// The user of our session `key`, live or recently ended.
    pub fn user(&self, key: (u16, u16)) -> Option<&str> {
        self.name(key).and_then(|n| n.user.as_deref())
    }

    /// The session `key`, live or recently ended.
    pub fn name(&self, key: (u16, u16)) -> Option<&SessionName> {
        self.live.get(&key).or_else(|| {
            self.ended
                .iter()
                .rev()
                .find(|(_, k, _)| *k == key)
                .map(|(_, _, n)| n)
        })
    }

    /// Our (tunnel, session) IDs for a message sent to `peer` carrying the
    /// peer's IDs; a `peer_session` of 0 (the tunnel's control channel)
    /// maps to our tunnel and session 0. Scans: meant as the fallback when
    /// the engine no longer knows the session.
    pub fn local_ids(
        &self,
        peer: SocketAddr,
        peer_tunnel: u16,
        peer_session: u16,
    ) -> Option<(u16, u16)> {
        let hit = |n: &SessionName| {
            n.route.peer == peer
                && n.route.peer_tunnel_id == peer_tunnel
                && (peer_session == 0 || n.route.peer_session_id == peer_session)
        };
        let key = self
            .live
            .iter()
            .find(|(_, n)| hit(n))
            .map(|(k, _)| *k)
            .or_else(|| {
                self.ended
                    .iter()
                    .rev()
                    .find(|(_, _, n)| hit(n))
                    .map(|(_, k, _)| *k)
            })?;
        Some(match peer_session {
            0 => (key.0, 0),
            _ => key,
        })
    }

    /// How many ended sessions are remembered.
    pub fn ended_count(&self) -> usize {
        self.ended.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 1701))
    }

    fn name(user: &str, peer_tunnel: u16, peer_session: u16) -> SessionName {
        SessionName {
            user: (!user.is_empty()).then(|| Arc::from(user)),
            route: SessionRoute {
                peer: addr(2),
                local: addr(1),
                peer_tunnel_id: peer_tunnel,
                peer_session_id: peer_session,
            },
        }
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_unix_micros(secs * 1_000_000)
    }

    #[test]
    fn an_ended_session_still_names_its_user_and_ids_for_a_while() {
        let names = SessionNames::new(BTreeMap::from([
            ((7, 9), name("alice", 70, 90)),
            ((7, 10), name("bob", 70, 91)),
        ]));
        let after = names.next(at(100), BTreeMap::from([((7, 10), name("bob", 70, 91))]));
        assert_eq!(after.user((7, 9)), Some("alice"));
        assert_eq!(after.local_ids(addr(2), 70, 90), Some((7, 9)));
        // The tunnel's own channel (StopCCN, ZLB) maps to our tunnel.
        assert_eq!(after.local_ids(addr(2), 70, 0), Some((7, 0)));
        assert_eq!(after.local_ids(addr(3), 70, 90), None, "another peer");
        // Past ENDED_FOR, the next publication forgets it.
        let later = after.next(
            at(100) + ENDED_FOR + Duration::from_secs(1),
            after.live.clone(),
        );
        assert_eq!(later.user((7, 9)), None);
        assert_eq!(later.local_ids(addr(2), 70, 90), None);
        assert_eq!(later.user((7, 10)), Some("bob"), "live sessions stay");
    }

    #[test]
    fn a_reused_session_id_names_its_newest_owner() {
        let names = SessionNames::new(BTreeMap::from([((7, 9), name("alice", 70, 90))]));
        let gone = names.next(at(1), BTreeMap::new());
        let carol = gone.next(at(2), BTreeMap::from([((7, 9), name("carol", 70, 92))]));
        assert_eq!(carol.user((7, 9)), Some("carol"));
        let gone_again = carol.next(at(3), BTreeMap::new());
        assert_eq!(gone_again.user((7, 9)), Some("carol"));
        assert_eq!(gone_again.local_ids(addr(2), 70, 90), Some((7, 9)));
    }

    #[test]
    fn the_ended_sessions_are_bounded_whatever_the_churn() {
        let mut names = SessionNames::default();
        for i in 0..(MAX_ENDED as u16 + 50) {
            let live = BTreeMap::from([((1, i), name("u", 1, i))]);
            names = names.next(at(5), live);
        }
        assert_eq!(names.ended_count(), MAX_ENDED);
        // The oldest went first.
        assert_eq!(names.user((1, 0)), None);
        assert_eq!(names.user((1, MAX_ENDED as u16 + 48)), Some("u"));
    }
}
