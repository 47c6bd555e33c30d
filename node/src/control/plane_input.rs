//! Data-plane inputs ([`ControlInput`]) into engine inputs, shown to the
//! running captures on the way in.
//!
//! Contract: [`data_plane_input`] is the one conversion both control tasks
//! use (the single node's and a cluster member's). It counts received L2TP
//! control bytes on the [`Observer`] and, when a capture runs ([`Shown`] is
//! given only then, so a node with no capture pays nothing), offers the
//! received datagram or PPP control frame to the taps *as received*: before
//! the engine (or, on a cluster member, the Raft log) has seen it. A PAP
//! Authenticate-Request or CHAP Response names its user itself (RFC 1334
//! §2.2.1, RFC 1994 §4.1), so a `--user` capture sees the login that makes
//! the session that user's. What the node *sends* is shown where it is
//! emitted (`control.rs`, `control/cluster.rs`: on a cluster member only
//! outputs of committed commands on the active node).

use super::capture;
use super::Observer;
use crate::dataplane::ControlInput;
use crate::engine::{Engine, Input, SessionKey};
use crate::mgmt::capture::Direction;
use crate::mgmt::taps::ActiveCaptures;
use lns_proto::time::Timestamp;

/// The running captures and the engine that names their sessions' users.
#[derive(Clone, Copy)]
pub(crate) struct Shown<'a> {
    /// The captures running now.
    pub taps: &'a ActiveCaptures,
    /// The engine (read only).
    pub engine: &'a Engine,
}

/// One data-plane input as an engine input; shown to `shown` if given.
pub(crate) fn data_plane_input(
    observer: &mut Observer,
    shown: Option<Shown<'_>>,
    at: Timestamp,
    input: ControlInput,
) -> Input {
    match input {
        ControlInput::L2tpControl {
            local,
            peer,
            datagram,
        } => {
            observer.traffic().received(datagram.len());
            if let Some(s) = shown {
                capture::control_in(s.taps, s.engine, at, local, peer, &datagram);
            }
            Input::L2tpDatagram {
                local,
                peer,
                bytes: datagram,
            }
        }
        ControlInput::PppControl {
            tunnel_id,
            session_id,
            frame,
        } => {
            let session = SessionKey {
                tunnel: tunnel_id,
                session: session_id,
            };
            if let Some(s) = shown {
                capture::ppp(s.taps, s.engine, at, session, Direction::FromLac, &frame);
            }
            Input::PppFrame {
                session,
                bytes: frame,
            }
        }
    }
}
