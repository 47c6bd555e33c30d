//! The store's background work: fsyncs on the store's thread (raft-rs async
//! ready) report Readies durable in order and a restart finds them; a
//! background compaction keeps the whole log until its snapshot file is
//! durable, then drops it, and a restart finds the snapshot.

mod scratch;

use scratch::TempDir;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use lns_cluster::storage::SyncWaker;
use lns_cluster::{Fsync, LogStore};
use raft::eraftpb::{ConfState, Entry, HardState};
use raft::Storage;

fn entries(first: u64, last: u64, term: u64) -> Vec<Entry> {
    (first..=last)
        .map(|index| {
            let mut e = Entry {
                index,
                term,
                ..Default::default()
            };
            e.set_data(format!("cmd-{index}").into_bytes().into());
            e
        })
        .collect()
}

fn hard_state(term: u64, vote: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote,
        commit,
        ..Default::default()
    }
}

/// A waker that signals a channel (the test blocks on it, no sleeping).
fn waker() -> (SyncWaker, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let wake: SyncWaker = Arc::new(move || {
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(());
        }
    });
    (wake, rx)
}

/// Blocks until the store reports Ready `number` durable.
fn wait_synced(s: &LogStore, woken: &mpsc::Receiver<()>, number: u64) {
    while s.synced().expect("no fsync failure") < number {
        woken.recv().expect("the fsync thread wakes us");
    }
}

#[test]
fn background_sync_reports_readies_durable_and_a_restart_finds_them() {
    let dir = TempDir::new("bg-sync");
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        let (wake, woken) = waker();
        assert!(s.start_background_sync(wake).expect("start"));
        assert!(s.background_sync());
        assert_eq!(s.synced().expect("synced"), 0, "nothing requested yet");
        s.append(&entries(1, 5, 2)).expect("append");
        s.set_hard_state(&hard_state(2, 1, 3)).expect("hard state");
        s.request_sync(1);
        s.append(&entries(6, 10, 2)).expect("append");
        s.set_hard_state(&hard_state(2, 1, 8)).expect("hard state");
        s.request_sync(2);
        wait_synced(&s, &woken, 2);
        assert_eq!(s.synced().expect("synced"), 2);
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.last_index().expect("last"), 10);
    let hs = s.initial_state().expect("state").hard_state;
    assert_eq!((hs.term, hs.vote, hs.commit), (2, 1, 8));
    // The guard thread recorded the new term and vote (the floor of a
    // completed flush), so a rollback below them would be refused.
    let guard = std::fs::read_to_string(dir.path().join("lns-cluster.guard")).expect("guard");
    assert!(
        guard.starts_with("lns-cluster-guard-v1 2 1 "),
        "guard file not updated by the guard thread: {guard:?}"
    );
}

#[test]
fn background_sync_is_off_in_memory_and_without_fsync() {
    let mut mem = LogStore::in_memory(&[1, 2, 3], &[]);
    let (wake, _woken) = waker();
    assert!(!mem.start_background_sync(wake.clone()).expect("start"));
    assert!(!mem.background_sync());
    let dir = TempDir::new("bg-nofsync");
    let mut s = LogStore::open(dir.path(), &[1], Fsync::Never).expect("fresh store");
    assert!(!s.start_background_sync(wake).expect("start"));
    assert!(!s.background_sync());
}

#[test]
fn background_compaction_keeps_the_log_until_its_snapshot_is_durable() {
    let dir = TempDir::new("bg-compact");
    let mut cs = ConfState::default();
    cs.set_voters(vec![1, 2, 3]);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        s.append(&entries(1, 20, 2)).expect("append");
        s.set_hard_state(&hard_state(2, 1, 15)).expect("hard state");
        s.sync().expect("sync");
        s.start_compaction(10, &cs, b"state-at-10".to_vec())
            .expect("start compaction");
        assert!(s.compaction_running());
        // Until the file is durable raft still sees the old snapshot and
        // the whole log.
        assert_eq!(s.latest_snapshot().get_metadata().index, 0);
        assert_eq!(s.first_index().expect("first"), 1);
        // A second compaction while one runs is ignored.
        s.start_compaction(12, &cs, b"state-at-12".to_vec())
            .expect("ignored");
        assert_eq!(s.wait_compaction().expect("completes"), Some(10));
        assert!(!s.compaction_running());
        assert_eq!(s.latest_snapshot().get_metadata().index, 10);
        assert_eq!(s.latest_snapshot().get_data(), b"state-at-10");
        assert_eq!(s.first_index().expect("first"), 11);
        assert_eq!(s.last_index().expect("last"), 20);
        assert_eq!(s.term(10).expect("snapshot term"), 2);
        assert_eq!(s.finish_compaction().expect("nothing left"), None);
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.latest_snapshot().get_metadata().index, 10);
    assert_eq!(s.latest_snapshot().get_data(), b"state-at-10");
    assert_eq!(s.first_index().expect("first"), 11);
    assert_eq!(s.last_index().expect("last"), 20);
}

#[test]
fn compaction_in_memory_completes_at_once() {
    let mut s = LogStore::in_memory(&[1], &[]);
    s.append(&entries(2, 9, 1)).expect("append");
    let mut cs = ConfState::default();
    cs.set_voters(vec![1]);
    s.start_compaction(5, &cs, b"at-5".to_vec())
        .expect("compact");
    assert!(!s.compaction_running());
    assert_eq!(s.latest_snapshot().get_metadata().index, 5);
    assert_eq!(s.first_index().expect("first"), 6);
}

/// With the writer thread on, the caller's writes are only queued; a
/// compaction then produces the snapshot's bytes on the snapshot writer's
/// thread (never the caller's) after those writes reached sled, and a
/// restart finds both the snapshot and the log after it.
#[test]
fn background_compaction_serialises_off_the_caller_thread_after_queued_writes() {
    let dir = TempDir::new("bg-compact-bg");
    let mut cs = ConfState::default();
    cs.set_voters(vec![1, 2, 3]);
    let caller = std::thread::current().id();
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        let (wake, woken) = waker();
        assert!(s.start_background_sync(wake).expect("start"));
        s.append(&entries(1, 20, 2)).expect("append");
        s.set_hard_state(&hard_state(2, 1, 15)).expect("hard state");
        let (tx, ran_on) = mpsc::channel();
        let data: lns_cluster::SnapshotData = Box::new(move || {
            let _ = tx.send(std::thread::current().id());
            b"state-at-10".to_vec()
        });
        s.start_compaction_with(10, &cs, data).expect("start");
        assert_eq!(s.wait_compaction().expect("completes"), Some(10));
        let thread = ran_on.recv().expect("the data closure ran");
        assert_ne!(
            thread, caller,
            "the state was serialised on the caller's thread"
        );
        assert_eq!(s.latest_snapshot().get_data(), b"state-at-10");
        assert_eq!(s.first_index().expect("first"), 11);
        s.request_sync(1);
        wait_synced(&s, &woken, 1);
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.latest_snapshot().get_metadata().index, 10);
    assert_eq!(s.latest_snapshot().get_data(), b"state-at-10");
    assert_eq!(s.first_index().expect("first"), 11);
    assert_eq!(s.last_index().expect("last"), 20);
    assert_eq!(s.initial_state().expect("state").hard_state.commit, 15);
}
