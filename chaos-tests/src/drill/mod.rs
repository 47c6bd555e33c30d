//! Failover drills: a two-LNS-plus-witness lnsd cluster in namespaces, a
//! test LAC holding sessions with traffic, one fault injected, the
//! invariants of the failover contract (FAILOVER.md) checked from the
//! LAC's point of view, and one line printed.
//!
//! Contract: [`bed::ClusterBed`] is the topology and the processes;
//! [`run::Rig`] adds lac-sim (with its live status file) and runs a
//! [`DrillName`], returning a [`DrillLine`]:
//!
//! ```text
//! drill=NAME sessions_before=N sessions_after=N tunnels_torn_down=N duplicate_addresses=N data_gap_ms=N control_gap_ms=N [v6_sessions=N v6_lost=N] [acct_lost=N acct_dup_start=N acct_dup_stop=N] result=pass|fail
//! ```
//!
//! The IPv6 figures appear when the drill checks IPv6 ([`v6_check`]). The
//! `acct_*` fields appear once [`run::Rig::check_accounting`] ran (the
//! `drill` binary runs it after every drill): the sessions were ended
//! cleanly and FreeRADIUS's detail file checked ([`acct_check`]).
//!
//! A drill passes when every session carrying traffic before the fault
//! carries traffic after it with the same address, no tunnel was torn
//! down, no address was ever held twice (by two sessions, or the tunnel
//! address by two nodes), and the data gap is under the drill's target
//! (100 ms for `transfer`, 1 000 ms otherwise), plus the checks a drill
//! adds (e.g. a frozen node stays silent), and, when IPv6 is checked,
//! every session kept its /64, IA_NA address, delegated prefix, routes and
//! IPv6 traffic (`v6_lost=0`); see docs/drills.md.

pub mod acct_check;
pub mod bed;
pub mod bench;
pub mod config;
pub mod run;
pub mod v6_check;
pub mod watch;

pub use v6_check::V6Figures;

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context, Result};

/// The drills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillName {
    /// SIGKILL the active node.
    KillActive,
    /// SIGSTOP the active node past the election timeout, then SIGCONT.
    FreezeActive,
    /// Cut the active node from the other voters (nftables).
    PartitionActive,
    /// SIGKILL the standby.
    KillStandby,
    /// Kill the standby, restart it, let it catch up.
    RestartRejoin,
    /// Planned transfer (SIGUSR1 to the active node).
    Transfer,
    /// New sessions dialling during a kill of the active node.
    Storm,
    /// Kill the active node, restart it, then kill the new active node.
    Double,
}

/// Every drill, in the order `drill all` runs them.
pub const ALL: [DrillName; 8] = [
    DrillName::KillActive,
    DrillName::FreezeActive,
    DrillName::PartitionActive,
    DrillName::KillStandby,
    DrillName::RestartRejoin,
    DrillName::Transfer,
    DrillName::Storm,
    DrillName::Double,
];

impl DrillName {
    /// Its command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillName::KillActive => "kill-active",
            DrillName::FreezeActive => "freeze-active",
            DrillName::PartitionActive => "partition-active",
            DrillName::KillStandby => "kill-standby",
            DrillName::RestartRejoin => "restart-rejoin",
            DrillName::Transfer => "transfer",
            DrillName::Storm => "storm",
            DrillName::Double => "double",
        }
    }

    /// The largest data gap that passes, in ms.
    pub fn data_gap_target_ms(self) -> u64 {
        match self {
            DrillName::Transfer => 100,
            _ => 1000,
        }
    }
}

impl fmt::Display for DrillName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DrillName {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        ALL.into_iter().find(|d| d.as_str() == s).with_context(|| {
            let names: Vec<&str> = ALL.iter().map(|d| d.as_str()).collect();
            format!("unknown drill {s:?} (one of: {}, all)", names.join(", "))
        })
    }
}

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every invariant held.
    Pass,
    /// At least one did not.
    Fail,
}

/// The drill's one-line result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillLine {
    /// Which drill.
    pub drill: DrillName,
    /// Sessions carrying traffic just before the fault.
    pub sessions_before: usize,
    /// Of those, sessions carrying traffic with the same address after it.
    pub sessions_after: usize,
    /// Tunnels the LNS tore down (StopCCN) or that died unacknowledged.
    pub tunnels_torn_down: usize,
    /// Addresses held twice (by two sessions at one status, or the tunnel
    /// address by two nodes at one poll), summed over the drill.
    pub duplicate_addresses: usize,
    /// The longest time without an echoed probe, in ms.
    pub data_gap_ms: u64,
    /// The longest wait for the LNS to acknowledge a control message, in ms.
    pub control_gap_ms: u64,
    /// IPv6 sessions checked and lost, when the drill checks IPv6.
    pub v6: Option<V6Figures>,
    /// The accounting figures, once checked.
    pub accounting: Option<AcctFigures>,
    /// Pass or fail.
    pub result: Verdict,
}

/// What the accounting check found (issue 9: none may be lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcctFigures {
    /// Missing Starts plus missing Stops.
    pub lost: usize,
    /// Starts beyond the first per Acct-Session-Id.
    pub dup_start: usize,
    /// Stops beyond the first per Acct-Session-Id.
    pub dup_stop: usize,
}

impl fmt::Display for DrillLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "drill={} sessions_before={} sessions_after={} tunnels_torn_down={} duplicate_addresses={} data_gap_ms={} control_gap_ms={} ",
            self.drill,
            self.sessions_before,
            self.sessions_after,
            self.tunnels_torn_down,
            self.duplicate_addresses,
            self.data_gap_ms,
            self.control_gap_ms,
        )?;
        if let Some(v) = self.v6 {
            write!(f, "v6_sessions={} v6_lost={} ", v.sessions, v.lost)?;
        }
        if let Some(a) = self.accounting {
            write!(
                f,
                "acct_lost={} acct_dup_start={} acct_dup_stop={} ",
                a.lost, a.dup_start, a.dup_stop
            )?;
        }
        write!(
            f,
            "result={}",
            match self.result {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
            }
        )
    }
}

impl FromStr for DrillLine {
    type Err = anyhow::Error;
    /// Parses a printed line (the CI tests read the binary's output).
    fn from_str(line: &str) -> Result<Self> {
        let mut fields = std::collections::BTreeMap::new();
        for kv in line.split_whitespace() {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("not key=value: {kv:?}"))?;
            fields.insert(k, v);
        }
        let get = |k: &str| -> Result<&str> {
            fields
                .get(k)
                .copied()
                .with_context(|| format!("no {k}= in {line:?}"))
        };
        let num = |k: &str| -> Result<u64> {
            get(k)?
                .parse()
                .with_context(|| format!("{k} is not a number in {line:?}"))
        };
        let result = match get("result")? {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            other => bail!("result={other} is neither pass nor fail"),
        };
        let accounting = if fields.contains_key("acct_lost") {
            Some(AcctFigures {
                lost: num("acct_lost")? as usize,
                dup_start: num("acct_dup_start")? as usize,
                dup_stop: num("acct_dup_stop")? as usize,
            })
        } else {
            None
        };
        Ok(DrillLine {
            drill: get("drill")?.parse()?,
            sessions_before: num("sessions_before")? as usize,
            sessions_after: num("sessions_after")? as usize,
            tunnels_torn_down: num("tunnels_torn_down")? as usize,
            duplicate_addresses: num("duplicate_addresses")? as usize,
            data_gap_ms: num("data_gap_ms")?,
            control_gap_ms: num("control_gap_ms")?,
            v6: match fields.contains_key("v6_lost") {
                true => Some(V6Figures {
                    sessions: num("v6_sessions")? as usize,
                    lost: num("v6_lost")? as usize,
                }),
                false => None,
            },
            accounting,
            result,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_has_the_exact_shape_and_parses_back() {
        let l = DrillLine {
            drill: DrillName::KillActive,
            sessions_before: 1000,
            sessions_after: 1000,
            tunnels_torn_down: 0,
            duplicate_addresses: 0,
            data_gap_ms: 612,
            control_gap_ms: 880,
            v6: None,
            accounting: None,
            result: Verdict::Pass,
        };
        let text = l.to_string();
        assert_eq!(
            text,
            "drill=kill-active sessions_before=1000 sessions_after=1000 tunnels_torn_down=0 duplicate_addresses=0 data_gap_ms=612 control_gap_ms=880 result=pass"
        );
        assert_eq!(text.parse::<DrillLine>().expect("parses"), l);
        let with_v6 = DrillLine {
            v6: Some(V6Figures {
                sessions: 1000,
                lost: 3,
            }),
            result: Verdict::Fail,
            ..l
        };
        let text = with_v6.to_string();
        assert!(
            text.ends_with(" control_gap_ms=880 v6_sessions=1000 v6_lost=3 result=fail"),
            "{text}"
        );
        assert_eq!(text.parse::<DrillLine>().expect("parses"), with_v6);
        assert!("drill=kill-active result=maybe"
            .parse::<DrillLine>()
            .is_err());
        let checked = DrillLine {
            accounting: Some(AcctFigures {
                lost: 2,
                dup_start: 1,
                dup_stop: 0,
            }),
            result: Verdict::Fail,
            ..l
        };
        let text = checked.to_string();
        assert!(
            text.ends_with(
                "control_gap_ms=880 acct_lost=2 acct_dup_start=1 acct_dup_stop=0 result=fail"
            ),
            "{text}"
        );
        assert_eq!(text.parse::<DrillLine>().expect("parses"), checked);
        // All three or none.
        assert!(text
            .replace(" acct_dup_stop=0", "")
            .parse::<DrillLine>()
            .is_err());
    }

    #[test]
    fn names_round_trip_and_transfer_has_the_tight_target() {
        for d in ALL {
            assert_eq!(d.as_str().parse::<DrillName>().expect("name"), d);
        }
        assert!("kill-everything".parse::<DrillName>().is_err());
        assert_eq!(DrillName::Transfer.data_gap_target_ms(), 100);
        assert_eq!(DrillName::KillActive.data_gap_target_ms(), 1000);
    }
}
