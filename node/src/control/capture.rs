//! What the control task shows to running captures (`lnsctl capture`).
//!
//! Contract: called only while a capture runs (the caller checks
//! [`crate::mgmt::taps::CaptureTaps::current`] first, so a node with no
//! capture pays nothing). The control task sees L2TP control datagrams whole
//! (as received and as sent) and PPP control frames (LCP, PAP, CHAP, IPCP,
//! IPV6CP) without their L2TP data header; those get the RFC 2661 §3.1 data
//! header the wire carries (no Length, no Sequence: what lnsd sends) rebuilt
//! around them, with the session's real addresses and IDs. Frames from the
//! subscriber are offered as received (see `control/plane_input.rs`); a PAP
//! or CHAP request carries its own user name into the capture's user scope
//! ([`login_name`]), before the engine has read it. Every datagram is
//! attributed to the *local* tunnel and session IDs. The messages that
//! close a session leave after the engine forgot it: their IDs, user and
//! addresses then come from the sessions the captures remember
//! ([`crate::mgmt::capture_names`]), published with [`names`].

use crate::engine::{Engine, SessionKey};
use crate::mgmt::capture::Direction;
use crate::mgmt::capture_names::SessionName;
use crate::mgmt::taps::{ActiveCaptures, Seen};
use lns_proto::l2tp::header::HeaderView;
use lns_proto::ppp::chap::ChapView;
use lns_proto::ppp::pap::PapView;
use lns_proto::ppp::{Frame, Protocol};
use lns_proto::time::Timestamp;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// RFC 2661 §3.1 data message flags: T=0, L=0, S=0, O=0, P=0, Ver=2.
const DATA_HEADER_FLAGS: [u8; 2] = [0x00, 0x02];

/// An L2TP control datagram received from `peer` on `local`.
pub(crate) fn control_in(
    taps: &ActiveCaptures,
    engine: &Engine,
    at: Timestamp,
    local: SocketAddr,
    peer: SocketAddr,
    datagram: &[u8],
) {
    // Received headers carry our IDs (0 for a new tunnel, §3.1).
    let (tunnel_id, session_id) = HeaderView::new_checked(datagram)
        .map(|h| (h.tunnel_id(), h.session_id()))
        .unwrap_or((0, 0));
    let user = user_of(engine, tunnel_id, session_id);
    taps.offer(Seen {
        at,
        direction: Direction::FromLac,
        tunnel_id,
        session_id,
        user: user.as_deref(),
        src: peer,
        dst: local,
        datagram,
    });
}

/// An L2TP control datagram sent from `local` to `peer`.
pub(crate) fn control_out(
    taps: &ActiveCaptures,
    engine: &Engine,
    at: Timestamp,
    local: SocketAddr,
    peer: SocketAddr,
    datagram: &[u8],
) {
    // Sent headers carry the peer's IDs: map them back to ours (a CDN or
    // StopCCN names a session or tunnel the engine already forgot).
    let (tunnel_id, session_id) = HeaderView::new_checked(datagram)
        .ok()
        .and_then(|h| {
            let (tunnel, session) = (h.tunnel_id(), h.session_id());
            local_ids(engine, peer, tunnel, session)
                .filter(|&(_, ours)| session == 0 || ours != 0)
                .or_else(|| taps.names().local_ids(peer, tunnel, session))
                .or_else(|| local_ids(engine, peer, tunnel, 0))
        })
        .unwrap_or((0, 0));
    let user = user_of(engine, tunnel_id, session_id);
    taps.offer(Seen {
        at,
        direction: Direction::ToLac,
        tunnel_id,
        session_id,
        user: user.as_deref(),
        src: local,
        dst: peer,
        datagram,
    });
}

/// A PPP control frame (address/control and protocol included) of
/// `session`, in `direction`.
pub(crate) fn ppp(
    taps: &ActiveCaptures,
    engine: &Engine,
    at: Timestamp,
    session: SessionKey,
    direction: Direction,
    frame: &[u8],
) {
    // An LCP Terminate-Request leaves after the session is gone.
    let (route, known_user) = match engine.session(session) {
        Some(s) => (
            crate::engine::route_of(engine.endpoint(), s),
            (!s.user.is_empty()).then(|| s.user_text()),
        ),
        None => match taps.names().name((session.tunnel, session.session)) {
            Some(n) => (n.route, n.user.as_deref().map(str::to_owned)),
            None => return,
        },
    };
    // The header carries the receiver's IDs (§3.1).
    let (ids, src, dst) = match direction {
        Direction::FromLac => ((session.tunnel, session.session), route.peer, route.local),
        Direction::ToLac => (
            (route.peer_tunnel_id, route.peer_session_id),
            route.local,
            route.peer,
        ),
    };
    let mut datagram = Vec::with_capacity(6 + frame.len());
    datagram.extend_from_slice(&DATA_HEADER_FLAGS);
    datagram.extend_from_slice(&ids.0.to_be_bytes());
    datagram.extend_from_slice(&ids.1.to_be_bytes());
    datagram.extend_from_slice(frame);
    // A login names its user before the engine has read it.
    let user = known_user.or_else(|| login_name(frame));
    taps.offer(Seen {
        at,
        direction,
        tunnel_id: session.tunnel,
        session_id: session.session,
        user: user.as_deref(),
        src,
        dst,
        datagram: &datagram,
    });
}

/// Every live session's user and route, keyed by (local tunnel, local
/// session), for [`crate::mgmt::taps::CaptureTaps::set_sessions`].
pub(crate) fn names(engine: &Engine) -> BTreeMap<(u16, u16), SessionName> {
    engine
        .sessions()
        .map(|s| {
            let name = SessionName {
                user: (!s.user.is_empty()).then(|| s.user_text().into()),
                route: crate::engine::route_of(engine.endpoint(), s),
            };
            ((s.key.tunnel, s.key.session), name)
        })
        .collect()
}

/// The user a PAP Authenticate-Request (RFC 1334 §2.2.1) or a CHAP
/// Response (RFC 1994 §4.1) names; `None` for any other frame.
pub(crate) fn login_name(frame: &[u8]) -> Option<String> {
    let f = Frame::new_checked(frame).ok()?;
    let name = match f.protocol() {
        Protocol::Pap => match PapView::new_checked(f.payload()).ok()? {
            PapView::Request { peer_id, .. } => peer_id,
            _ => return None,
        },
        Protocol::Chap => match ChapView::new_checked(f.payload()).ok()? {
            ChapView::Response { name, .. } => name,
            _ => return None,
        },
        _ => return None,
    };
    (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

fn user_of(engine: &Engine, tunnel: u16, session: u16) -> Option<String> {
    let s = engine.session(SessionKey { tunnel, session })?;
    (!s.user.is_empty()).then(|| s.user_text())
}

/// Our (tunnel, session) IDs for a datagram sent to `peer` with the peer's
/// IDs in its header.
fn local_ids(
    engine: &Engine,
    peer: SocketAddr,
    peer_tunnel: u16,
    peer_session: u16,
) -> Option<(u16, u16)> {
    let tunnel = engine
        .endpoint()
        .tunnels()
        .find(|t| t.peer == peer && t.peer_id == peer_tunnel)?;
    let session = match peer_session {
        0 => 0,
        id => tunnel
            .sessions
            .values()
            .find(|s| s.peer_id == id)
            .map_or(0, |s| s.local_id),
    };
    Some((tunnel.local_id, session))
}
