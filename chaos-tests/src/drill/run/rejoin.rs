//! # `restart-rejoin`: catch-up by snapshot, then a transfer to the rejoined node
//!
//! Contract (issue 6 item 6, FAILOVER.md promise 6): the standby is
//! killed; while it is down the active node commits more than twice the
//! bed's `compact_after` ([`COMPACT_AFTER`]) entries, so its log no longer
//! holds what the standby lacks; the standby restarts (process only) and
//! must catch up **by snapshot** (its log of this start says
//! `snapshot installed`), its lag in the active node's `lnsctl cluster
//! status` must reach 0, the active node must not change meanwhile, and
//! then a planned transfer (SIGUSR1) to the rejoined node must keep every
//! session (the drill line's figures). Each failed step is a problem of
//! the drill; the steps' timings are notes.

use super::{now_ms, Measure, Rig};
use crate::drill::bed::Restart;
use crate::drill::config::{Member, COMPACT_AFTER};
use crate::harness::Signal;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the active node is given to commit the entries.
const CHURN_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the rejoined node's lag is given to reach 0.
const LAG_TIMEOUT: Duration = Duration::from_secs(20);

impl Rig {
    /// The drill's fault and checks; sets `m.transfer_at` (the tunnel
    /// address may move only after it).
    pub(super) fn restart_rejoin(
        &mut self,
        active: Member,
        standby: Member,
        m: &mut Measure,
    ) -> Result<()> {
        let lnsctl = Lnsctl::find(&self.opts.lnsd_bin)?;
        let socket = self
            .bed
            .mgmt_socket(active)
            .context("restart-rejoin needs [mgmt] (lnsctl cluster status)")?;
        let t = now_ms();
        self.bed.kill(standby)?;
        let base = lnsctl.commit_index(&socket)?;
        let target = base + 2 * COMPACT_AFTER + 1;
        let started = Instant::now();
        let reached = loop {
            let c = lnsctl.commit_index(&socket)?;
            if c >= target {
                break c;
            }
            if started.elapsed() > CHURN_TIMEOUT {
                bail!(
                    "the active node committed only {} entries in {CHURN_TIMEOUT:?} while {} was down (need {})",
                    c - base,
                    standby.role(),
                    target - base
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        m.notes.push(format!(
            "{} down for {} ms while the active node committed {} entries (compact_after {COMPACT_AFTER})",
            standby.role(),
            started.elapsed().as_millis(),
            reached - base
        ));
        self.bed.restart(standby, Restart::ProcessOnly)?;
        self.rejoin(standby)?;
        let installs = snapshot_installs(&last_start(&self.bed.log(standby)));
        if installs == 0 {
            m.problems.push(format!(
                "{} rejoined without installing a snapshot (its log of this start has no `snapshot installed`)",
                standby.role()
            ));
        } else {
            m.notes.push(format!(
                "{} installed {installs} snapshot(s) from the leader",
                standby.role()
            ));
        }
        let started = Instant::now();
        loop {
            match lnsctl.lag_of(&socket, standby.id()) {
                Ok(Some(0)) => {
                    m.notes.push(format!(
                        "{} lag 0 in the active node's cluster status after {} ms more",
                        standby.role(),
                        started.elapsed().as_millis()
                    ));
                    break;
                }
                Ok(lag) if started.elapsed() > LAG_TIMEOUT => {
                    m.problems.push(format!(
                        "{} still lags {lag:?} entries {LAG_TIMEOUT:?} after rejoining",
                        standby.role()
                    ));
                    break;
                }
                Err(e) if started.elapsed() > LAG_TIMEOUT => return Err(e),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        self.settle(None, t, m);
        self.expect_active(active, m);
        let transfer = now_ms();
        m.transfer_at = Some(Instant::now());
        self.bed.signal(active, Signal::Usr1)?;
        if self.settle(Some(active), transfer, m) == Some(standby) {
            m.notes
                .push(format!("transferred to the rejoined {}", standby.role()));
        } else {
            m.problems.push(format!(
                "the transfer did not make the rejoined {} active",
                standby.role()
            ));
        }
        Ok(())
    }
}

/// The `lnsctl` binary.
#[derive(Debug)]
struct Lnsctl {
    bin: PathBuf,
}

impl Lnsctl {
    /// The one beside lnsd (same build), else `LNSCTL_BIN` or the one
    /// beside the drill (built when missing).
    fn find(lnsd: &Path) -> Result<Lnsctl> {
        let beside = lnsd.with_file_name("lnsctl");
        let bin = if beside.is_file() {
            beside
        } else {
            crate::peers::lnsd::lnsctl_binary()?
        };
        Ok(Lnsctl { bin })
    }

    /// `lnsctl --json cluster status` on `socket`.
    fn status(&self, socket: &Path) -> Result<serde_json::Value> {
        let out = Command::new(&self.bin)
            .arg("--socket")
            .arg(socket)
            .args(["--json", "cluster", "status"])
            .output()
            .with_context(|| format!("run {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "lnsctl cluster status: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).context("lnsctl --json output")
    }

    fn commit_index(&self, socket: &Path) -> Result<u64> {
        let s = self.status(socket)?;
        s["commit_index"]
            .as_u64()
            .with_context(|| format!("no commit_index in {s}"))
    }

    /// The lag of member `id` as the leader sees it.
    fn lag_of(&self, socket: &Path, id: u64) -> Result<Option<u64>> {
        let s = self.status(socket)?;
        Ok(lag_in(&s, id))
    }
}

/// Member `id`'s `lag_entries` in a cluster status (0 when the field is
/// left out, as protobuf JSON leaves zeros out).
fn lag_in(status: &serde_json::Value, id: u64) -> Option<u64> {
    let members = status["members"].as_array()?;
    let m = members.iter().find(|m| m["id"].as_u64() == Some(id))?;
    Some(m["lag_entries"].as_u64().unwrap_or(0))
}

/// The part of [`crate::drill::bed::ClusterBed::log`] written by the member's last start.
fn last_start(log: &str) -> String {
    log.rsplit_once(" (start ")
        .map_or(log, |(_, rest)| rest)
        .to_owned()
}

/// How many snapshots from a leader a log reports installed.
fn snapshot_installs(log: &str) -> usize {
    log.matches("snapshot installed").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_start_counts() {
        let log = "--- lns-b (start 1) ---\nsnapshot installed\n--- lns-b (start 2) ---\nstarted\n";
        assert_eq!(snapshot_installs(&last_start(log)), 0);
        let log = format!("{log}INFO lns_cluster::member: snapshot installed index=900\n");
        assert_eq!(snapshot_installs(&last_start(&log)), 1);
    }

    #[test]
    fn lag_reads_the_member_and_defaults_to_zero() {
        let s: serde_json::Value = serde_json::from_str(
            r#"{"commit_index":9,"members":[{"id":1},{"id":2,"lag_entries":4}]}"#,
        )
        .expect("json");
        assert_eq!(lag_in(&s, 1), Some(0));
        assert_eq!(lag_in(&s, 2), Some(4));
        assert_eq!(lag_in(&s, 3), None);
    }
}
