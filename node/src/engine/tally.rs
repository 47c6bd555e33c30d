//! # Tally: the engine's event counts, by the reasons the metrics expose
//!
//! Contract: the engine feeds every L2TP event it drains to
//! [`Tally::account`]; the control task reads the totals (monotonic since
//! the engine was built) and turns increases into metric increments. Kept
//! in the engine because the reasons are only visible there (the endpoint's
//! own `Counters` have totals without reasons). Pure and deterministic:
//! fixed arrays indexed like the `ALL` lists of [`crate::metrics::labels`],
//! and one set of tunnel ids (a `BTreeSet`).

use crate::metrics::{ControlDrop, TunnelSetupFailure};
use lns_proto::l2tp::{DropReason, ErrorCode, Event, StopCcnResult, TunnelDownReason};
use std::collections::BTreeSet;

/// Counts since the engine started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    control_drops: [u64; ControlDrop::ALL.len()],
    tunnel_setup_failures: [u64; TunnelSetupFailure::ALL.len()],
    /// Tunnels that reached Established and are not down yet.
    established: BTreeSet<u16>,
}

impl Tally {
    /// Control messages dropped, by reason (every reason, zeros included).
    pub fn control_drops(&self) -> impl Iterator<Item = (ControlDrop, u64)> + '_ {
        ControlDrop::ALL
            .into_iter()
            .zip(self.control_drops.iter().copied())
    }

    /// Tunnel establishments refused or abandoned, by reason.
    pub fn tunnel_setup_failures(&self) -> impl Iterator<Item = (TunnelSetupFailure, u64)> + '_ {
        TunnelSetupFailure::ALL
            .into_iter()
            .zip(self.tunnel_setup_failures.iter().copied())
    }

    /// Counts one L2TP event drained from the endpoint.
    pub fn account(&mut self, event: &Event) {
        match event {
            Event::Dropped { reason, .. } => {
                let i = drop_index(control_drop(reason));
                self.control_drops[i] += 1;
            }
            // RFC 2661 §5.1: an SCCRQ answered by StopCCN.
            Event::TunnelRefused { result, error, .. } => {
                self.fail(refusal(*result, *error));
            }
            Event::TunnelUp { tunnel, .. } => {
                self.established.insert(*tunnel);
            }
            // The guard forgets an established tunnel; only one that never
            // got there counts as a setup failure.
            Event::TunnelDown { tunnel, reason } if !self.established.remove(tunnel) => {
                self.fail(abandoned(reason));
            }
            _ => {}
        }
    }

    fn fail(&mut self, reason: TunnelSetupFailure) {
        let i = TunnelSetupFailure::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every variant is in ALL");
        self.tunnel_setup_failures[i] += 1;
    }
}

/// The metric reason of an endpoint drop.
fn control_drop(reason: &DropReason) -> ControlDrop {
    match reason {
        DropReason::OutOfWindow { .. } => ControlDrop::OutOfWindow,
        DropReason::UnknownTunnel(_)
        | DropReason::WrongPeer(_)
        | DropReason::UnknownSession { .. } => ControlDrop::UnknownTunnel,
        _ => ControlDrop::Malformed,
    }
}

fn drop_index(reason: ControlDrop) -> usize {
    ControlDrop::ALL
        .iter()
        .position(|r| *r == reason)
        .expect("every variant is in ALL")
}

/// Why an SCCRQ was refused, from the StopCCN we sent (RFC 2661 §4.4.2).
fn refusal(result: StopCcnResult, error: ErrorCode) -> TunnelSetupFailure {
    match (result, error) {
        (StopCcnResult::NotAuthorized, _) => TunnelSetupFailure::PeerNotAllowed,
        (_, ErrorCode::NoResources) => TunnelSetupFailure::TunnelLimit,
        _ => TunnelSetupFailure::Malformed,
    }
}

/// Why a tunnel that never reached Established went down.
fn abandoned(reason: &TunnelDownReason) -> TunnelSetupFailure {
    match reason {
        TunnelDownReason::Unreachable | TunnelDownReason::SetupTimeout => {
            TunnelSetupFailure::Timeout
        }
        TunnelDownReason::PeerStopped { .. } | TunnelDownReason::Closed(_) => {
            TunnelSetupFailure::PeerClosed
        }
        // RFC 2661 §5.1.1: a bad Challenge Response is answered by StopCCN
        // with Result Code 4 (not authorized).
        TunnelDownReason::Refused {
            result: StopCcnResult::NotAuthorized,
            ..
        } => TunnelSetupFailure::AuthFailed,
        TunnelDownReason::Refused { .. } | TunnelDownReason::Undecodable { .. } => {
            TunnelSetupFailure::Malformed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(t: &Tally, reason: TunnelSetupFailure) -> u64 {
        t.tunnel_setup_failures()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| n)
    }

    #[test]
    fn a_tunnel_that_was_established_is_not_a_setup_failure() {
        let mut t = Tally::default();
        t.account(&Event::TunnelUp {
            tunnel: 5,
            peer_tunnel: 9,
            peer: "192.0.2.1:1701".parse().expect("literal"),
            local: "192.0.2.2:1701".parse().expect("literal"),
            peer_host_name: b"lac".to_vec(),
        });
        t.account(&Event::TunnelDown {
            tunnel: 5,
            reason: TunnelDownReason::Unreachable,
        });
        assert!(t.tunnel_setup_failures().all(|(_, n)| n == 0));
        // A half-open tunnel that times out is one.
        t.account(&Event::TunnelDown {
            tunnel: 6,
            reason: TunnelDownReason::SetupTimeout,
        });
        assert_eq!(failures(&t, TunnelSetupFailure::Timeout), 1);
    }

    #[test]
    fn refusals_and_drops_are_counted_by_reason() {
        let mut t = Tally::default();
        t.account(&Event::TunnelRefused {
            peer: "192.0.2.1:1701".parse().expect("literal"),
            peer_tunnel: 3,
            result: StopCcnResult::NotAuthorized,
            error: ErrorCode::NoError,
        });
        t.account(&Event::TunnelRefused {
            peer: "192.0.2.1:1701".parse().expect("literal"),
            peer_tunnel: 4,
            result: StopCcnResult::GeneralError,
            error: ErrorCode::NoResources,
        });
        assert_eq!(failures(&t, TunnelSetupFailure::PeerNotAllowed), 1);
        assert_eq!(failures(&t, TunnelSetupFailure::TunnelLimit), 1);
        t.account(&Event::Dropped {
            peer: "192.0.2.1:1701".parse().expect("literal"),
            reason: DropReason::UnknownTunnel(77),
        });
        t.account(&Event::Dropped {
            peer: "192.0.2.1:1701".parse().expect("literal"),
            reason: DropReason::OutOfWindow { tunnel: 1, ns: 9 },
        });
        let drops: Vec<(ControlDrop, u64)> = t.control_drops().filter(|(_, n)| *n > 0).collect();
        assert_eq!(
            drops,
            vec![
                (ControlDrop::UnknownTunnel, 1),
                (ControlDrop::OutOfWindow, 1)
            ]
        );
    }
}
