//! Large log segments in sled trees of their own: written in chunks,
//! recovered after a restart, truncated by a conflicting append, dropped a
//! few at a time once below the snapshot (by the store's own thread when
//! the writer threads run), and refused when damaged.

mod scratch;

use scratch::TempDir;
use std::path::Path;

use lns_cluster::{Fsync, LogStore, StoreError};
use raft::eraftpb::{ConfState, Entry, HardState};
use raft::{GetEntriesContext, Storage};

/// An entry carrying `size` bytes derived from its index and term.
fn big(index: u64, term: u64, size: usize) -> Entry {
    let mut e = Entry {
        index,
        term,
        ..Default::default()
    };
    let data: Vec<u8> = (0..size)
        .map(|i| (index as usize * 31 + term as usize * 7 + i) as u8)
        .collect();
    e.set_data(data.into());
    e
}

fn run(first: u64, count: u64, term: u64, size: usize) -> Vec<Entry> {
    (first..first + count).map(|i| big(i, term, size)).collect()
}

fn voters() -> ConfState {
    let mut cs = ConfState::default();
    cs.set_voters(vec![1, 2, 3]);
    cs
}

fn commit(s: &mut LogStore, commit: u64) {
    s.set_hard_state(&HardState {
        term: 3,
        vote: 1,
        commit,
        ..Default::default()
    })
    .expect("hard state");
}

fn all_entries(s: &LogStore) -> Vec<Entry> {
    let first = s.first_index().expect("first");
    let last = s.last_index().expect("last");
    s.entries(first, last + 1, None, GetEntriesContext::empty(false))
        .expect("entries")
}

/// The sled directory's segments after the store is closed: the keys of
/// the own trees with their chunk counts, and the shared tree's keys.
fn layout(dir: &Path) -> (Vec<(u64, usize)>, Vec<u64>) {
    let db = sled::open(dir).expect("sled reopens");
    let mut own = Vec::new();
    for name in db.tree_names() {
        if let Some(key) = name.strip_prefix(b"log-".as_slice()) {
            let key = u64::from_be_bytes(key.try_into().expect("8-byte key"));
            let chunks = db.open_tree(&name).expect("tree").len();
            own.push((key, chunks));
        }
    }
    own.sort_unstable();
    let shared = db
        .open_tree("log")
        .expect("log tree")
        .iter()
        .keys()
        .map(|k| u64::from_be_bytes(k.expect("key").as_ref().try_into().expect("8 bytes")))
        .collect();
    (own, shared)
}

fn damaged(r: Result<LogStore, StoreError>) -> String {
    match r {
        Err(StoreError::Damaged(why)) => why,
        Err(e) => panic!("expected Damaged, got {e}"),
        Ok(_) => panic!("a damaged store was accepted"),
    }
}

/// Segments 1..=5 (small, shared), 6..=10 (5 x 2 KiB, own, one chunk),
/// 11..=70 (60 x 4 KiB = 240 KiB, own, three chunks), 71..=72 (small).
/// Commit index 60.
fn fill(dir: &Path) -> Vec<Entry> {
    fill_to(dir, 60)
}

fn fill_to(dir: &Path, commit_index: u64) -> Vec<Entry> {
    let mut s = LogStore::open(dir, &[], Fsync::Always).expect("fresh store");
    let mut all = Vec::new();
    for seg in [
        run(1, 5, 2, 10),
        run(6, 5, 2, 2048),
        run(11, 60, 2, 4096),
        run(71, 2, 2, 10),
    ] {
        s.append(&seg).expect("append");
        all.extend(seg);
    }
    commit(&mut s, commit_index);
    s.sync().expect("sync");
    all
}

#[test]
fn large_segments_get_trees_of_their_own_and_come_back_after_a_restart() {
    let dir = TempDir::new("own-recover");
    let written = fill(dir.path());
    assert_eq!(layout(dir.path()), (vec![(6, 1), (11, 3)], vec![1, 71]));
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(all_entries(&s), written);
    assert_eq!(s.hard_state().commit, 60);
}

#[test]
fn a_conflicting_append_keeps_the_prefix_of_an_own_segment_in_fewer_chunks() {
    let dir = TempDir::new("own-truncate");
    let written = fill_to(dir.path(), 12);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        // Conflict at 65: 11..=64 stays (216 KiB: three chunks still), 65 on
        // is replaced and 71..=72 goes.
        s.append(&run(65, 1, 3, 10)).expect("append");
        s.sync().expect("sync");
    }
    assert_eq!(layout(dir.path()), (vec![(6, 1), (11, 3)], vec![1, 65]));
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        let ents = all_entries(&s);
        assert_eq!(ents[..64], written[..64]);
        assert_eq!(ents[64], big(65, 3, 10));
        assert_eq!(ents.len(), 65);
        // Conflict at 13: segment 11 keeps two entries (8 KiB: one chunk).
        s.append(&run(13, 1, 4, 10)).expect("append");
        s.sync().expect("sync");
    }
    assert_eq!(layout(dir.path()), (vec![(6, 1), (11, 1)], vec![1, 13]));
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    let ents = all_entries(&s);
    assert_eq!(ents[..12], written[..12]);
    assert_eq!(ents[12], big(13, 4, 10));
    assert_eq!(s.last_index().expect("last"), 13);
}

#[test]
fn the_kept_part_of_an_own_segment_straddling_the_snapshot_restarts() {
    let dir = TempDir::new("own-straddle");
    let written = fill_to(dir.path(), 45);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        // Index 20 is inside segment 11..=70: it stays, straddling.
        s.compact(20, &voters(), b"at-20".to_vec())
            .expect("compact");
        // Conflict at 50: the segment keyed 11 now holds 21..=49 only.
        s.append(&run(50, 1, 3, 10)).expect("append");
        s.sync().expect("sync");
    }
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.first_index().expect("first"), 21);
    let ents = all_entries(&s);
    assert_eq!(ents[..29], written[20..49]);
    assert_eq!(ents[29], big(50, 3, 10));
    assert_eq!(ents.len(), 30);
}

#[test]
fn a_flipped_byte_in_a_chunk_is_detected() {
    let dir = TempDir::new("own-bitflip");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        let mut name = b"log-".to_vec();
        name.extend_from_slice(&11u64.to_be_bytes());
        let tree = db.open_tree(name).expect("tree");
        let key = 1u32.to_be_bytes();
        let mut v = tree.get(key).expect("get").expect("chunk 1").to_vec();
        v[100] ^= 0x01;
        tree.insert(key, v).expect("insert");
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("checksum"), "{why}");
}

#[test]
fn a_missing_chunk_is_detected() {
    let dir = TempDir::new("own-chunk-gap");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        let mut name = b"log-".to_vec();
        name.extend_from_slice(&11u64.to_be_bytes());
        let tree = db.open_tree(name).expect("tree");
        tree.remove(1u32.to_be_bytes()).expect("remove");
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("chunk 1 missing"), "{why}");
}

#[test]
fn a_lost_own_segment_below_the_commit_index_is_detected() {
    let dir = TempDir::new("own-lost");
    fill(dir.path());
    {
        let db = sled::open(dir.path()).expect("sled");
        let mut name = b"log-".to_vec();
        name.extend_from_slice(&6u64.to_be_bytes());
        assert!(db.drop_tree(name).expect("drop"));
        db.flush().expect("flush");
    }
    let why = damaged(LogStore::open(dir.path(), &[1], Fsync::Always));
    assert!(why.contains("gap"), "{why}");
}

#[test]
fn an_empty_own_tree_left_by_a_crash_is_dropped_before_its_name_is_reused() {
    let dir = TempDir::new("own-leftover");
    let written = fill(dir.path());
    {
        // A crash between the creation of the tree for segment 73 and its
        // first batch.
        let db = sled::open(dir.path()).expect("sled");
        let mut name = b"log-".to_vec();
        name.extend_from_slice(&73u64.to_be_bytes());
        db.open_tree(name).expect("tree");
        db.flush().expect("flush");
    }
    {
        let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        assert_eq!(all_entries(&s), written);
    }
    assert_eq!(layout(dir.path()).0, vec![(6, 1), (11, 3)]);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        s.append(&run(73, 3, 2, 2048)).expect("append");
        s.sync().expect("sync");
    }
    assert_eq!(layout(dir.path()).0, vec![(6, 1), (11, 3), (73, 1)]);
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.last_index().expect("last"), 75);
}

#[test]
fn own_trees_below_the_snapshot_are_dropped_a_few_per_append() {
    let dir = TempDir::new("own-stale");
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        // 40 own segments of 3 x 2 KiB: keys 1, 4, ..., 118.
        for first in (1..120).step_by(3) {
            s.append(&run(first, 3, 2, 2048)).expect("append");
        }
        commit(&mut s, 120);
        // Segments 1..=88 (30 of them) are wholly below index 90.
        s.compact(90, &voters(), b"at-90".to_vec())
            .expect("compact");
        s.sync().expect("sync");
    }
    assert_eq!(
        layout(dir.path()).0.len(),
        40,
        "not dropped at the compaction"
    );
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        s.append(&run(121, 3, 2, 2048)).expect("append");
        s.sync().expect("sync");
    }
    let after_one = layout(dir.path()).0.len();
    assert!(after_one > 11 && after_one < 41, "{after_one}");
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
        for first in (124..133).step_by(3) {
            s.append(&run(first, 3, 2, 2048)).expect("append");
        }
        s.sync().expect("sync");
    }
    let keys: Vec<u64> = layout(dir.path()).0.iter().map(|(k, _)| *k).collect();
    let expected: Vec<u64> = (91..133).step_by(3).collect();
    assert_eq!(keys, expected);
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.first_index().expect("first"), 91);
    assert_eq!(s.last_index().expect("last"), 132);
}

/// With the writer threads running (a member's store), the own trees below
/// the snapshot are dropped by the store's stale-tree thread, off the
/// writer thread: all gone once enough appends handed them over and the
/// store closed, and the log reads back whole.
#[test]
fn with_background_sync_stale_own_trees_are_dropped_by_their_own_thread() {
    use std::sync::{mpsc, Arc, Mutex};
    let dir = TempDir::new("own-stale-bg");
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        let (tx, woken) = mpsc::channel();
        let tx = Mutex::new(tx);
        let wake: lns_cluster::storage::SyncWaker = Arc::new(move || {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(());
            }
        });
        assert!(s.start_background_sync(wake).expect("start"));
        let mut number = 0;
        let mut sync = |s: &mut LogStore| {
            number += 1;
            s.request_sync(number);
            while s.synced().expect("no failure") < number {
                woken.recv().expect("woken");
            }
        };
        // 40 own segments of 3 x 2 KiB: keys 1, 4, ..., 118.
        for first in (1..120).step_by(3) {
            s.append(&run(first, 3, 2, 2048)).expect("append");
        }
        commit(&mut s, 120);
        sync(&mut s);
        // Segments 1..=88 (30 of them) are wholly below index 90.
        s.compact(90, &voters(), b"at-90".to_vec())
            .expect("compact");
        // Two appends hand over 16 stale trees each.
        for first in [121, 124] {
            s.append(&run(first, 3, 2, 2048)).expect("append");
            sync(&mut s);
        }
    }
    let keys: Vec<u64> = layout(dir.path()).0.iter().map(|(k, _)| *k).collect();
    let expected: Vec<u64> = (91..127).step_by(3).collect();
    assert_eq!(keys, expected, "stale own trees left behind");
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(s.first_index().expect("first"), 91);
    assert_eq!(s.last_index().expect("last"), 126);
    assert_eq!(all_entries(&s), run(91, 36, 2, 2048));
}

#[test]
fn a_version_1_store_is_read_and_marked_version_2() {
    let dir = TempDir::new("own-v1");
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        s.append(&run(1, 5, 2, 10)).expect("append");
        commit(&mut s, 5);
        s.sync().expect("sync");
    }
    let format = |dir: &Path| {
        let db = sled::open(dir).expect("sled");
        let meta = db.open_tree("meta").expect("meta");
        meta.get(b"format").expect("get").expect("marker").to_vec()
    };
    assert_eq!(format(dir.path()), b"lns-cluster-store-v2");
    {
        let db = sled::open(dir.path()).expect("sled");
        let meta = db.open_tree("meta").expect("meta");
        meta.insert(b"format", b"lns-cluster-store-v1".as_slice())
            .expect("insert");
        db.flush().expect("flush");
    }
    {
        let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("v1 opens");
        assert_eq!(s.last_index().expect("last"), 5);
    }
    assert_eq!(format(dir.path()), b"lns-cluster-store-v2");
}

#[test]
fn a_very_large_append_is_cut_into_segments_that_never_become_sled_blobs() {
    let dir = TempDir::new("own-pieces");
    // 300 entries of 5 KiB: ~1.5 MiB in one append, more than one segment
    // of at most 8 chunks can hold.
    let written = run(1, 300, 2, 5 * 1024);
    {
        let mut s = LogStore::open(dir.path(), &[], Fsync::Always).expect("fresh store");
        s.append(&written).expect("append");
        commit(&mut s, 300);
        s.sync().expect("sync");
    }
    let (own, shared) = layout(dir.path());
    assert!(own.len() >= 2, "{own:?}");
    assert_eq!(own[0].0, 1);
    assert!(own.iter().all(|(_, chunks)| *chunks <= 8), "{own:?}");
    assert!(shared.is_empty(), "{shared:?}");
    let blobs = std::fs::read_dir(dir.path().join("blobs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(blobs, 0, "sled wrote blob files");
    let s = LogStore::open(dir.path(), &[], Fsync::Always).expect("reopen");
    assert_eq!(all_entries(&s), written);
}
