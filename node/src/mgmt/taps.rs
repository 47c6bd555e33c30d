//! The running captures, shared by the data plane, the control task and the
//! management backend.
//!
//! Contract: [`CaptureTaps::current`] is one lock-free load; `None` when no
//! capture runs, so the forwarding path pays one atomic load per batch and
//! nothing per packet while nobody captures. The backend installs taps
//! (at most [`MAX_CAPTURES`] at once); the control task, which knows who
//! each session's user is, publishes the live sessions with
//! [`CaptureTaps::set_sessions`] so that data-plane offers can be scoped by
//! user and the messages that close a session still match its user and
//! session scopes (see `capture_names.rs`), and removes the taps of
//! finished captures with
//! [`CaptureTaps::prune`]. Writers are serialised by a mutex that the
//! packet path never takes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use lns_proto::time::Timestamp;

use super::capture::{DatagramOwner, Direction};
use super::capture_names::{SessionName, SessionNames};
use super::tap::{CaptureTap, Offer};

/// Most captures running at once (each costs a classification per packet).
pub const MAX_CAPTURES: usize = 4;

/// Why a tap could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_CAPTURES} captures are already running: wait for one to end")]
pub struct CapturesFull;

/// The captures running now.
#[derive(Debug, Default)]
pub struct CaptureTaps {
    active: ArcSwapOption<ActiveCaptures>,
    edit: Mutex<()>,
}

/// A snapshot of the running captures and of the session users.
#[derive(Debug, Clone, Default)]
pub struct ActiveCaptures {
    taps: Vec<CaptureTap>,
    names: Arc<SessionNames>,
}

impl CaptureTaps {
    /// No capture running.
    pub fn new() -> CaptureTaps {
        CaptureTaps::default()
    }

    /// The running captures, `None` when there are none.
    pub fn current(&self) -> Option<Arc<ActiveCaptures>> {
        self.active.load_full()
    }

    /// Whether any capture runs.
    pub fn is_active(&self) -> bool {
        self.active.load().is_some()
    }

    /// Adds a tap, with the sessions live now.
    pub fn install(
        &self,
        tap: CaptureTap,
        sessions: BTreeMap<(u16, u16), SessionName>,
    ) -> Result<(), CapturesFull> {
        let _guard = self.edit.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = self
            .active
            .load_full()
            .map(|a| (*a).clone())
            .unwrap_or_default();
        next.taps.retain(|t| !t.is_closed());
        if next.taps.len() >= MAX_CAPTURES {
            return Err(CapturesFull);
        }
        next.taps.push(tap);
        // Another capture may already remember ended sessions: keep them.
        next.names = Arc::new(next.names.with_live(sessions));
        self.active.store(Some(Arc::new(next)));
        Ok(())
    }

    /// Publishes the sessions live at `now`; those gone since the last
    /// publication are remembered for a while (no effect when no capture
    /// runs).
    pub fn set_sessions(&self, now: Timestamp, sessions: BTreeMap<(u16, u16), SessionName>) {
        let _guard = self.edit.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = self.active.load_full() {
            let next = ActiveCaptures {
                taps: current.taps.clone(),
                names: Arc::new(current.names.next(now, sessions)),
            };
            self.active.store(Some(Arc::new(next)));
        }
    }

    /// Removes the taps whose reader is gone; returns how many remain.
    pub fn prune(&self) -> usize {
        let _guard = self.edit.lock().unwrap_or_else(|p| p.into_inner());
        let Some(current) = self.active.load_full() else {
            return 0;
        };
        if current.taps.iter().all(|t| !t.is_closed()) {
            return current.taps.len();
        }
        let taps: Vec<CaptureTap> = current
            .taps
            .iter()
            .filter(|t| !t.is_closed())
            .cloned()
            .collect();
        let remaining = taps.len();
        if taps.is_empty() {
            self.active.store(None);
        } else {
            let next = ActiveCaptures {
                taps,
                names: current.names.clone(),
            };
            self.active.store(Some(Arc::new(next)));
        }
        remaining
    }
}

/// One datagram as the caller saw it, for [`ActiveCaptures::offer`].
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// When.
    pub at: Timestamp,
    /// Which way.
    pub direction: Direction,
    /// Local Tunnel ID.
    pub tunnel_id: u16,
    /// Local Session ID (0: the tunnel's control channel).
    pub session_id: u16,
    /// The user when the caller knows it; otherwise looked up in the
    /// published map.
    pub user: Option<&'a str>,
    /// Outer UDP source.
    pub src: SocketAddr,
    /// Outer UDP destination.
    pub dst: SocketAddr,
    /// The L2TP UDP payload.
    pub datagram: &'a [u8],
}

impl ActiveCaptures {
    /// The live and recently ended sessions, as last published.
    pub fn names(&self) -> &SessionNames {
        &self.names
    }

    /// Offers one datagram to every running capture; never blocks.
    pub fn offer(&self, seen: Seen<'_>) {
        let user = seen
            .user
            .or_else(|| self.names.user((seen.tunnel_id, seen.session_id)));
        let owner = DatagramOwner {
            tunnel_id: seen.tunnel_id,
            session_id: seen.session_id,
            user,
        };
        for tap in &self.taps {
            // Filtered, dropped (counted by the tap) or closed (pruned by
            // the control task): nothing more to do here.
            let _: Offer = tap.offer(
                seen.at,
                seen.direction,
                owner,
                seen.src,
                seen.dst,
                seen.datagram,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::capture::{CaptureFilter, CaptureScope, KindSet};
    use crate::mgmt::tap::capture_tap;

    fn addr() -> SocketAddr {
        "192.0.2.1:1701".parse().expect("literal")
    }

    /// RFC 2661 §3.1 data header (no L, no S) carrying a PAP
    /// Authenticate-Request (RFC 1334 §2.2.1, protocol 0xc023).
    const PAP: [u8; 12] = [
        0x00, 0x02, 0x00, 0x07, 0x00, 0x09, 0xff, 0x03, 0xc0, 0x23, 0x01, 0x01,
    ];

    fn seen(user: Option<&str>) -> Seen<'_> {
        Seen {
            at: Timestamp::EPOCH,
            direction: Direction::FromLac,
            tunnel_id: 7,
            session_id: 9,
            user,
            src: addr(),
            dst: addr(),
            datagram: &PAP,
        }
    }

    fn alice() -> SessionName {
        SessionName {
            user: Some(Arc::from("alice")),
            route: lns_proto::l2tp::SessionRoute {
                peer: addr(),
                local: addr(),
                peer_tunnel_id: 70,
                peer_session_id: 90,
            },
        }
    }

    fn user_filter(user: &str) -> CaptureFilter {
        CaptureFilter {
            scope: CaptureScope::User(user.into()),
            kinds: KindSet::EVERYTHING,
        }
    }

    #[test]
    fn nothing_is_active_until_a_tap_is_installed_and_after_its_reader_goes() {
        let taps = CaptureTaps::new();
        assert!(taps.current().is_none());
        let (tap, reader) = capture_tap(user_filter("alice"), 4);
        taps.install(tap, BTreeMap::new()).expect("room");
        assert!(taps.is_active());
        assert_eq!(taps.prune(), 1);
        drop(reader);
        assert_eq!(taps.prune(), 0);
        assert!(taps.current().is_none());
    }

    #[test]
    fn user_scope_matches_through_the_published_user_map() {
        let taps = CaptureTaps::new();
        let (tap, mut reader) = capture_tap(user_filter("alice"), 4);
        taps.install(tap, BTreeMap::new()).expect("room");
        let active = taps.current().expect("installed");
        active.offer(seen(None));
        assert!(reader.packets.try_recv().is_err(), "user not known yet");
        taps.set_sessions(Timestamp::EPOCH, BTreeMap::from([((7, 9), alice())]));
        taps.current().expect("installed").offer(seen(None));
        assert_eq!(
            reader.packets.try_recv().map(|p| p.datagram).ok(),
            Some(PAP.to_vec())
        );
        taps.current().expect("installed").offer(seen(Some("bob")));
        assert!(reader.packets.try_recv().is_err(), "caller's user wins");
    }

    #[test]
    fn a_session_that_just_ended_still_matches_its_user_scope() {
        let taps = CaptureTaps::new();
        let (tap, mut reader) = capture_tap(user_filter("alice"), 4);
        taps.install(tap, BTreeMap::from([((7, 9), alice())]))
            .expect("room");
        // The session leaves the tables; its closing messages follow.
        taps.set_sessions(Timestamp::EPOCH, BTreeMap::new());
        taps.current().expect("installed").offer(seen(None));
        assert_eq!(
            reader.packets.try_recv().map(|p| p.datagram).ok(),
            Some(PAP.to_vec()),
            "the ended session is still alice's"
        );
    }

    #[test]
    fn at_most_max_captures_run_at_once() {
        let taps = CaptureTaps::new();
        let mut readers = Vec::new();
        for _ in 0..MAX_CAPTURES {
            let (tap, reader) = capture_tap(user_filter("alice"), 1);
            taps.install(tap, BTreeMap::new()).expect("room");
            readers.push(reader);
        }
        let (tap, _reader) = capture_tap(user_filter("alice"), 1);
        assert_eq!(taps.install(tap, BTreeMap::new()), Err(CapturesFull));
        readers.pop();
        let (tap, _reader) = capture_tap(user_filter("alice"), 1);
        assert_eq!(taps.install(tap, BTreeMap::new()), Ok(()));
    }
}
