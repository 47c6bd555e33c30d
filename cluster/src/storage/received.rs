//! Installing a snapshot received from the leader, crash-safe.
//!
//! Contract:
//! - [`LogStore::apply_snapshot`] replaces the log and the state with a
//!   snapshot the leader sent. The snapshot file and the database are two
//!   separate durable things, so a crash can land between them; the order
//!   of the steps makes every crash point recoverable:
//!   1. an *install marker* (the snapshot's index) is made durable in the
//!      database;
//!   2. the snapshot file is written and made durable (it replaces the old
//!      one atomically);
//!   3. the log is cleared and the conf state, the hard state (commit at
//!      least the snapshot's index) and the marker's removal are written as
//!      one batch, and made durable by the caller's sync.
//! - [`LogStore::open`] calls [`finish_interrupted_install`]: a snapshot
//!   file above the durable commit index with a marker naming exactly that
//!   index is an install cut short between steps 2 and 3 (a leader only
//!   sends a snapshot above the receiver's commit index, and this member's
//!   own compaction never writes one above its durable commit index), so it
//!   is completed. The same picture without the marker is still refused as
//!   damaged (a database rolled back under its snapshot must not be
//!   papered over). A marker left by a crash before step 2 completed is
//!   stale (the old file is still in place) and is removed.
//! - Before this order existed the file was written after the log was
//!   cleared and before the hard state: a crash there made `open` refuse
//!   the directory ("commit index outside the stored log").

use raft::eraftpb::{ConfState, HardState, Snapshot};

use super::{encode, Disk, LogStore, StoreError, CONF_STATE_KEY, HARD_STATE_KEY};
use crate::config::Fsync;

/// Meta key of the install marker: the index (u64 big-endian) of the
/// received snapshot being installed.
pub(super) const INSTALLING_KEY: &[u8] = b"installing_snapshot";

/// Every step of [`LogStore::apply_snapshot`] (tests stop after fewer).
const ALL_STEPS: u8 = u8::MAX;

impl LogStore {
    /// Installs a snapshot received from the leader: the log is replaced.
    /// The hard state and conf state it sets are durable after the next
    /// [`LogStore::sync`]; a crash at any point leaves a directory that
    /// `open` accepts, holding either the old state or the snapshot.
    pub fn apply_snapshot(&mut self, snap: &Snapshot) -> Result<(), StoreError> {
        self.apply_snapshot_steps(snap, ALL_STEPS)
    }

    /// [`LogStore::apply_snapshot`], stopping after `steps` of its durable
    /// steps (crash injection in the tests below; `ALL_STEPS` otherwise).
    fn apply_snapshot_steps(&mut self, snap: &Snapshot, steps: u8) -> Result<(), StoreError> {
        // A background write of an older snapshot must not land after this
        // one (its outcome no longer matters: this one replaces it).
        if let Some(w) = self.disk.as_mut().and_then(|d| d.writing.take()) {
            let _ = w.thread.join();
        }
        let meta = snap.get_metadata();
        let mut hard_state = self.hard_state.clone();
        hard_state.term = hard_state.term.max(meta.term);
        hard_state.commit = hard_state.commit.max(meta.index);
        let conf_state = meta.get_conf_state().clone();
        if let Some(d) = &mut self.disk {
            // Every queued write lands before the log is cleared under it.
            d.drain()?;
            // 1. The marker, durable before the file can be.
            d.meta.insert(INSTALLING_KEY, &meta.index.to_be_bytes())?;
            if d.fsync == Fsync::Always {
                d.durable.flush()?;
            }
            if steps >= 2 {
                // 2. The file.
                d.write_snapshot(snap)?;
            }
            if steps >= 3 {
                // 3. The log, the states and the marker's removal.
                complete(d, &hard_state, &conf_state)?;
                d.segments.clear();
                d.stale.clear();
            }
        }
        if steps < 3 {
            return Ok(());
        }
        self.snapshot = snap.clone();
        self.entries.clear();
        self.hard_state = hard_state;
        self.conf_state = conf_state;
        Ok(())
    }
}

/// Completes a received snapshot's install that a crash interrupted (see
/// the module contract), updating `hard_state` and `conf_state` as step 3
/// would have; returns whether it did. Removes a stale marker otherwise.
pub(super) fn finish_interrupted_install(
    disk: &Disk,
    hard_state: &mut HardState,
    conf_state: &mut ConfState,
    snapshot: &Snapshot,
) -> Result<bool, StoreError> {
    let Some(marker) = disk.meta.get(INSTALLING_KEY)? else {
        return Ok(false);
    };
    let meta = snapshot.get_metadata();
    let marked = <[u8; 8]>::try_from(marker.as_ref())
        .ok()
        .map(u64::from_be_bytes);
    if marked != Some(meta.index) || meta.index <= hard_state.commit {
        // Cut short before the file was in place, or completed already.
        disk.meta.remove(INSTALLING_KEY)?;
        return Ok(false);
    }
    tracing::warn!(
        index = meta.index,
        commit = hard_state.commit,
        "completing the install of a received snapshot interrupted by a crash"
    );
    hard_state.term = hard_state.term.max(meta.term);
    hard_state.commit = meta.index;
    *conf_state = meta.get_conf_state().clone();
    complete(disk, hard_state, conf_state)?;
    disk.durable.flush()?;
    Ok(true)
}

/// Step 3: clears the log, then writes the states and removes the marker
/// in one batch (the clear lands first: sled recovers a prefix of its
/// writes, so a durable hard state implies a cleared log).
fn complete(disk: &Disk, hard_state: &HardState, conf_state: &ConfState) -> Result<(), StoreError> {
    super::segments::clear(&disk.db, &disk.log)?;
    let mut batch = sled::Batch::default();
    batch.insert(CONF_STATE_KEY, encode(conf_state));
    batch.insert(HARD_STATE_KEY, encode(hard_state));
    batch.remove(INSTALLING_KEY);
    disk.meta.apply_batch(batch)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
    use raft::Storage;

    use super::super::{Fsync, LogStore, StoreError};

    /// A temporary directory removed on drop (even when the test fails).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "lns-cluster-received-{name}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A store holding entries 1..=20 (term 2), commit 15, voters {1, 2}.
    fn filled(dir: &Path) {
        let mut s = LogStore::open(dir, &[], Fsync::Always).expect("fresh store");
        let ents: Vec<Entry> = (1..=20)
            .map(|index| Entry {
                index,
                term: 2,
                ..Default::default()
            })
            .collect();
        s.append(&ents).expect("append");
        let mut cs = ConfState::default();
        cs.set_voters(vec![1, 2]);
        s.set_conf_state(&cs).expect("conf state");
        s.set_hard_state(&HardState {
            term: 2,
            vote: 1,
            commit: 15,
            ..Default::default()
        })
        .expect("hard state");
        s.sync().expect("sync");
    }

    /// The leader's snapshot at index 40, term 3, voters {1, 2, 3}.
    fn received() -> Snapshot {
        let mut cs = ConfState::default();
        cs.set_voters(vec![1, 2, 3]);
        let mut meta = SnapshotMetadata {
            index: 40,
            term: 3,
            ..Default::default()
        };
        meta.set_conf_state(cs);
        let mut snap = Snapshot::default();
        snap.set_metadata(meta);
        snap.set_data(b"state-at-40".to_vec().into());
        snap
    }

    /// Runs `steps` steps of the install, then "crashes": everything
    /// written so far is made durable (the worst case for the order; sled
    /// would keep a prefix of it) and the store is dropped.
    fn crash_after(dir: &Path, steps: u8) {
        let mut s = LogStore::open(dir, &[], Fsync::Always).expect("reopen");
        s.apply_snapshot_steps(&received(), steps)
            .expect("install steps");
        if let Some(d) = &s.disk {
            d.db.flush().expect("flush");
        }
    }

    fn assert_installed(s: &LogStore) {
        assert_eq!(s.latest_snapshot().get_metadata().index, 40);
        assert_eq!(s.latest_snapshot().get_data(), b"state-at-40");
        assert_eq!(s.first_index().expect("first"), 41);
        assert_eq!(s.last_index().expect("last"), 40);
        assert_eq!(s.hard_state().commit, 40);
        assert_eq!(s.hard_state().term, 3);
        assert_eq!(s.conf_state().voters, vec![1, 2, 3]);
    }

    #[test]
    fn crash_after_the_marker_keeps_the_old_state() {
        let dir = TempDir::new("marker");
        filled(&dir.0);
        crash_after(&dir.0, 1);
        let s = LogStore::open(&dir.0, &[], Fsync::Always).expect("old state accepted");
        assert_eq!(s.latest_snapshot().get_metadata().index, 0);
        assert_eq!(s.last_index().expect("last"), 20);
        assert_eq!(s.hard_state().commit, 15);
        assert_eq!(s.conf_state().voters, vec![1, 2]);
    }

    #[test]
    fn crash_after_the_snapshot_file_completes_the_install_on_open() {
        let dir = TempDir::new("file");
        filled(&dir.0);
        crash_after(&dir.0, 2);
        let s = LogStore::open(&dir.0, &[], Fsync::Always).expect("half-applied snapshot");
        assert_installed(&s);
        drop(s);
        // Completed durably: a second restart sees the same.
        let s = LogStore::open(&dir.0, &[], Fsync::Always).expect("reopen");
        assert_installed(&s);
    }

    #[test]
    fn full_install_survives_a_restart() {
        let dir = TempDir::new("full");
        filled(&dir.0);
        {
            let mut s = LogStore::open(&dir.0, &[], Fsync::Always).expect("reopen");
            s.apply_snapshot(&received()).expect("install");
            assert_installed(&s);
            s.sync().expect("sync");
        }
        let s = LogStore::open(&dir.0, &[], Fsync::Always).expect("reopen");
        assert_installed(&s);
    }

    #[test]
    fn snapshot_above_the_commit_without_a_marker_is_still_refused() {
        let dir = TempDir::new("no-marker");
        filled(&dir.0);
        crash_after(&dir.0, 2);
        {
            // The marker gone: a snapshot above the commit is a rollback.
            let db = sled::open(&dir.0).expect("sled");
            db.open_tree("meta")
                .expect("meta")
                .remove(super::INSTALLING_KEY)
                .expect("remove");
            db.flush().expect("flush");
        }
        match LogStore::open(&dir.0, &[], Fsync::Always) {
            Err(StoreError::Damaged(why)) => assert!(why.contains("commit index"), "{why}"),
            Err(e) => panic!("expected Damaged, got {e}"),
            Ok(_) => panic!("a rolled-back store was accepted"),
        }
    }
}
