//! sled storage: a restart recovers everything; a damaged or truncated data
//! directory is refused with a clear error, never silently reinitialised.

mod scratch;

use scratch::TempDir;
use std::path::Path;

use lns_cluster::{Fsync, LogStore, StoreError};
use raft::eraftpb::{ConfState, Entry, HardState};
use raft::{GetEntriesContext, Storage};

fn entry(index: u64, term: u64) -> Entry {
    let mut e = Entry {
        index,
        term,
        ..Default::default()
    };
    e.set_data(format!("cmd-{index}").into_bytes().into());
    e
}

fn fill(dir: &Path) {
    // A joining (empty) store starts at index 0, so the log can start at 1.
    let mut s = LogStore::open(dir, &[], Fsync::Always).expect("fresh store");
    // Four Readies: log segments keyed 1, 6, 11 and 16.
    for first in [1u64, 6, 11, 16] {
        let ents: Vec<Entry> = (first..first + 5).map(|i| entry(i, 2)).collect();
        s.append(&ents).expect("append");
    }
    let hs = HardState {
        term: 2,
        vote: 1,
        commit: 15,
        ..Default::default()
    };
    s.set_hard_state(&hs).expect("hard state");
    s.sync().expect("sync");
}

fn damaged(r: Result<LogStore, StoreError>) -> String {
    match r {
        Err(StoreError::Damaged(why)) => why,
        Err(e) => panic!("expected Damaged, got {e}"),
        Ok(_) => panic!("a damaged store was accepted"),
    }
}

#[test]
fn restart_recovers_log_hard_state_conf_state_and_snapshot() {
    let dir = TempDir::new("recover");
    fill(dir.path());
    {
        let mut s = LogStore::open(dir.path(), &[9], Fsync::Always).expect("reopen");
        let mut cs = ConfState::default();
        cs.set_voters(vec![1, 2, 3]);
        cs.set_learners(vec![4]);
        s.set_conf_state(&cs).expect("conf state");
        s.compact(10, &cs, b"state-at-10".to_vec())
            .expect("compact");
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[9], Fsync::Always).expect("reopen");
    let st = s.initial_state().expect("state");
    assert_eq!(st.hard_state.term, 2);
    assert_eq!(st.hard_state.vote, 1);
    assert_eq!(st.hard_state.commit, 15);
    assert_eq!(
        st.conf_state.voters,
        vec![1, 2, 3],
        "initial voters ignored on restart"
    );
    assert_eq!(st.conf_state.learners, vec![4]);
    assert_eq!(s.first_index().expect("first"), 11);
    assert_eq!(s.last_index().expect("last"), 20);
    assert_eq!(s.term(10).expect("snapshot term"), 2);
    let snap = s.latest_snapshot();
    assert_eq!(snap.get_metadata().index, 10);
    assert_eq!(snap.get_data(), b"state-at-10");
    let e = s
        .entries(11, 13, None, GetEntriesContext::empty(false))
        .expect("entries");
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].get_data(), b"cmd-11");
}

#[test]
fn conflicting_suffix_is_replaced_on_disk_too() {
    let dir = TempDir::new("truncate-suffix");
    fill(dir.path());
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        s.append(&[entry(18, 3)]).expect("append");
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.last_index().expect("last"), 18);
    assert_eq!(s.term(18).expect("term"), 3);
}

#[test]
fn flipped_byte_in_an_entry_is_detected() {
    let dir = TempDir::new("bitflip");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        let log = db.open_tree("log").expect("tree");
        let key = 6u64.to_be_bytes();
        let mut v = log.get(key).expect("get").expect("segment 6").to_vec();
        let last = v.len() - 1;
        v[last] ^= 0x01;
        log.insert(key, v).expect("insert");
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("checksum"), "{why}");
}

#[test]
fn missing_entry_in_the_middle_is_detected() {
    let dir = TempDir::new("gap");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("log")
            .expect("tree")
            .remove(6u64.to_be_bytes())
            .expect("remove");
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("gap"), "{why}");
}

#[test]
fn lost_tail_below_the_commit_index_is_detected() {
    let dir = TempDir::new("tail");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        let log = db.open_tree("log").expect("tree");
        for key in [11u64, 16] {
            log.remove(key.to_be_bytes()).expect("remove");
        }
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("commit index 15"), "{why}");
}

#[test]
fn overwrite_inside_a_segment_keeps_its_prefix() {
    let dir = TempDir::new("split-segment");
    fill(dir.path());
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        // Conflict at 18, inside segment 16..=20 (above the commit index).
        s.append(&[entry(18, 3), entry(19, 3)]).expect("append");
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.last_index().expect("last"), 19);
    assert_eq!(s.term(17).expect("term 17"), 2);
    assert_eq!(s.term(18).expect("term 18"), 3);
}

#[test]
fn crash_between_snapshot_and_log_removal_still_starts() {
    let dir = TempDir::new("straddle");
    fill(dir.path());
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        let mut cs = ConfState::default();
        cs.set_voters(vec![1, 2, 3]);
        // Index 8 is inside segment 6..=10: the segment stays on disk.
        s.compact(8, &cs, b"at-8".to_vec()).expect("compact");
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.first_index().expect("first"), 9);
    assert_eq!(s.last_index().expect("last"), 20);
}

#[test]
fn directory_without_format_marker_is_refused_not_reinitialised() {
    let dir = TempDir::new("marker");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        db.open_tree("meta")
            .expect("tree")
            .remove(b"format")
            .expect("remove");
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("format marker"), "{why}");
    // Still refused the second time: nothing was rewritten.
    damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
}

#[test]
fn truncated_database_file_is_refused() {
    let dir = TempDir::new("truncfile");
    fill(dir.path());
    let db_file = dir.path().join("db");
    let len = std::fs::metadata(&db_file).expect("sled db file").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&db_file)
        .expect("open db file");
    f.set_len(len / 3).expect("truncate");
    drop(f);
    match LogStore::open(dir.path(), &[1], Fsync::Always) {
        Err(e) => eprintln!("refused as expected: {e}"),
        Ok(s) => panic!(
            "truncated store accepted: last index {}, commit {}",
            s.last_index().unwrap_or(0),
            s.hard_state().commit
        ),
    }
}

#[test]
fn unrelated_files_in_the_directory_are_refused() {
    let dir = TempDir::new("foreign");
    std::fs::create_dir_all(dir.path()).expect("mkdir");
    std::fs::write(dir.path().join("notes.txt"), b"not a store").expect("write");
    assert!(LogStore::open(dir.path(), &[1], Fsync::Always).is_err());
}

#[test]
fn founding_store_starts_from_a_bootstrap_snapshot_holding_the_voters() {
    let dir = TempDir::new("bootstrap");
    let s = LogStore::open(dir.path(), &[1, 2, 3], Fsync::Always).expect("fresh store");
    assert_eq!(s.first_index().expect("first"), 2);
    assert_eq!(s.last_index().expect("last"), 1);
    let meta = s.latest_snapshot().get_metadata();
    assert_eq!((meta.index, meta.term), (1, 1));
    assert_eq!(meta.get_conf_state().voters, vec![1, 2, 3]);
    drop(s);
    let s = LogStore::open(dir.path(), &[7], Fsync::Always).expect("reopen");
    assert_eq!(
        s.conf_state().voters,
        vec![1, 2, 3],
        "initial voters only used once"
    );
}

/// The simulator's disk: a crash keeps exactly the writes of the Readies
/// whose sync completed, and loses the rest (raft-rs async ready).
#[test]
fn simulated_disk_keeps_only_synced_readies_across_a_crash() {
    let disk = lns_cluster::SimulatedDisk::new();
    let mut s = LogStore::on_simulated_disk(&[], &[], &disk);
    assert!(s.background_sync(), "the core must take the async path");
    s.append(&[entry(1, 2), entry(2, 2)]).expect("append");
    s.request_sync(1);
    s.append(&[entry(3, 2)]).expect("append");
    s.request_sync(2);
    assert_eq!(disk.pending(), Some(2));
    assert_eq!(s.synced().expect("no failure"), 0);
    disk.complete(1);
    assert_eq!(s.synced().expect("no failure"), 1);
    assert_eq!(disk.pending(), Some(2));
    let after = disk.after_crash();
    assert_eq!(
        after.last_index().expect("last"),
        2,
        "Ready 2 was not synced"
    );
    assert_eq!(disk.pending(), None, "a crash forgets the syncs in flight");
    // A synchronous sync makes everything durable at once.
    let mut s = after;
    s.append(&[entry(3, 3), entry(4, 3)]).expect("append");
    s.sync().expect("sync");
    assert_eq!(disk.after_crash().last_index().expect("last"), 4);
}

/// The log segments in sled (their keys), read with sled itself after the
/// store is closed.
fn sled_segments(dir: &Path) -> Vec<u64> {
    let db = sled::open(dir).expect("sled reopens");
    let log = db.open_tree("log").expect("log tree");
    log.iter()
        .keys()
        .map(|k| u64::from_be_bytes(k.expect("key").as_ref().try_into().expect("8-byte key")))
        .collect()
}

#[test]
fn segments_below_the_snapshot_leave_sled_a_few_per_append() {
    let dir = TempDir::new("stale");
    let mut cs = ConfState::default();
    cs.set_voters(vec![1, 2, 3]);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        // 100 segments of 5 entries: keys 1, 6, ..., 496.
        for first in (1..500).step_by(5) {
            let ents: Vec<Entry> = (first..first + 5).map(|i| entry(i, 2)).collect();
            s.append(&ents).expect("append");
        }
        s.set_hard_state(&HardState {
            term: 2,
            vote: 1,
            commit: 500,
            ..Default::default()
        })
        .expect("hard state");
        // Segments 1..=296 (60 of them) are wholly below index 300.
        s.compact(300, &cs, b"at-300".to_vec()).expect("compact");
        s.sync().expect("sync");
        assert_eq!(s.first_index().expect("first"), 301);
    }
    // Not removed in one batch at the compaction.
    assert_eq!(sled_segments(dir.path()).len(), 100);
    {
        // Reopening queues them again; one append removes some, not all.
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        assert_eq!(s.first_index().expect("first"), 301);
        let ents: Vec<Entry> = (501..506).map(|i| entry(i, 2)).collect();
        s.append(&ents).expect("append");
        s.sync().expect("sync");
    }
    let after_one = sled_segments(dir.path());
    assert!(
        after_one.len() > 41 && after_one.len() < 101,
        "{}",
        after_one.len()
    );
    assert!(after_one.contains(&501));
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        for first in (506..536).step_by(5) {
            let ents: Vec<Entry> = (first..first + 5).map(|i| entry(i, 2)).collect();
            s.append(&ents).expect("append");
        }
        s.sync().expect("sync");
    }
    // Only the segments above the snapshot remain: 301..=496 and 501..=531.
    let left = sled_segments(dir.path());
    assert_eq!(left.first(), Some(&301));
    assert_eq!(left.len(), 40 + 7);
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.first_index().expect("first"), 301);
    assert_eq!(s.last_index().expect("last"), 535);
    assert_eq!(s.term(400).expect("term 400"), 2);
}
