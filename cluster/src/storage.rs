//! The raft log store: an in-memory image of the log that raft-rs reads, kept
//! in step with an optional sled database that makes it durable.
//!
//! Contract:
//! - Holds the entries after the latest snapshot, the hard state, the conf
//!   state and the latest state-machine snapshot (metadata and data).
//! - Every mutation is written to sled as it happens (with background sync:
//!   queued, in order, to the store's writer thread, which applies it before
//!   the next flush); [`LogStore::sync`] makes them durable (fsync) and is
//!   called before any message that depends on them leaves the member (see
//!   `core`). Raft reads only the in-memory image, never sled.
//! - Compaction ([`LogStore::start_compaction_with`]) produces the snapshot's
//!   bytes and writes its file on a thread of its own.
//! - On a [`SimulatedDisk`] (the simulator) the store behaves as with
//!   background sync, and a crash keeps only what a completed sync covered.
//! - [`LogStore::open`] recovers everything after a restart and refuses a
//!   damaged or truncated directory with a [`StoreError`]: every stored value
//!   carries a CRC-32, the log must be contiguous from the snapshot, the commit
//!   index must lie within the log, and a non-empty directory must carry the
//!   format marker. Nothing is ever silently reinitialised.
//! - The latest snapshot is a file beside the database
//!   (`lns-cluster.snapshot`, CRC-checked, replaced atomically). A snapshot
//!   received from the leader is installed in an order that survives a crash
//!   between the file and the database (`received`).
//! - sled recovers a torn or truncated file by rolling back to an older
//!   consistent state, which would make a member forget votes and
//!   acknowledged entries. A small guard file beside the database
//!   (`lns-cluster.guard`, written atomically after a sync whenever the term
//!   or vote changes or the commit index moved by [`GUARD_EVERY`], paced
//!   by the writer thread, see `syncer`) records a floor; a store found
//!   below its floor is refused as rolled back.
//! - Log segments (one per append) live in the shared `log` tree when
//!   small and in trees of their own when large (`segments`).
//! - The in-memory store ([`LogStore::in_memory`]) runs the same code without
//!   sled; the simulator keeps it across a simulated crash as the "disk".

use std::collections::BTreeMap;
use std::path::Path;

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

use crate::config::Fsync;

mod codec;
mod durable;
mod guard;
mod received;
mod segments;
mod simulated;
mod syncer;

use codec::{decode, decode_segment, encode, encode_segment};
use guard::{write_file, Guard};

use durable::Durable;
use segments::{LogOp, LogWrites, Place, Segment};
use simulated::Image;
pub use simulated::SimulatedDisk;
pub use syncer::SyncWaker;
use syncer::{Syncer, Write};

const FORMAT_KEY: &[u8] = b"format";
const FORMAT_V1: &[u8] = b"lns-cluster-store-v1";
/// v2: large segments in trees of their own (`segments`); a v1 store is
/// read as is and marked v2 at open, so an older binary refuses it instead
/// of missing those segments.
const FORMAT_V2: &[u8] = b"lns-cluster-store-v2";
const HARD_STATE_KEY: &[u8] = b"hard_state";
const CONF_STATE_KEY: &[u8] = b"conf_state";
const SNAPSHOT_FILE: &str = "lns-cluster.snapshot";
const GUARD_FILE: &str = "lns-cluster.guard";
/// The guard file is rewritten once the commit index moved this far.
pub const GUARD_EVERY: u64 = 1024;

/// The log store handed to raft-rs.
#[derive(Debug)]
pub struct LogStore {
    hard_state: HardState,
    conf_state: ConfState,
    /// Latest snapshot; its metadata index is the index just before `entries`.
    snapshot: Snapshot,
    entries: Vec<Entry>,
    disk: Option<Disk>,
    /// The simulator's disk, when the store runs on one (no sled then).
    sim: Option<SimulatedDisk>,
    /// Set when raft asked for a snapshot we could not give (it predates the
    /// member it is for); the core then takes a fresh one.
    snapshot_wanted: std::cell::Cell<bool>,
}

/// Why a data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the data directory {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("data directory is damaged: {0}; refusing to start (restore it or remove it to rejoin empty)")]
    Damaged(String),
    #[error("storage I/O failed: {0}")]
    Io(#[from] sled::Error),
}

impl LogStore {
    /// A volatile store (simulator, tests) holding `voters` and `learners`.
    /// With voters, the store starts from a bootstrap snapshot at index 1
    /// (term 1) holding the configuration and no state: a member added later
    /// then learns the initial configuration from that snapshot, since there
    /// is no log entry that carries it. Without voters (a joining member) it
    /// starts empty at index 0.
    pub fn in_memory(voters: &[u64], learners: &[u64]) -> Self {
        let mut s = LogStore::empty();
        // Term 1, not 0: raft-rs 0.7 panics when a member at term 0 rejects a
        // pre-vote (it must never send a vote response with term 0).
        s.hard_state.term = 1;
        s.conf_state = conf_state(voters, learners);
        let meta = s.snapshot.mut_metadata();
        meta.set_conf_state(s.conf_state.clone());
        if !voters.is_empty() {
            meta.index = 1;
            meta.term = 1;
            s.hard_state.commit = 1;
        }
        s
    }

    /// Like [`LogStore::in_memory`], on a simulated disk that loses the
    /// writes not yet synced when the member crashes (see
    /// [`SimulatedDisk`]); the core then takes the background-sync path.
    pub fn on_simulated_disk(voters: &[u64], learners: &[u64], disk: &SimulatedDisk) -> Self {
        let mut s = LogStore::in_memory(voters, learners);
        disk.start(s.image());
        s.sim = Some(disk.clone());
        s
    }

    /// Opens (or creates, when `dir` is absent or empty) a durable store.
    /// A fresh store starts with `voters` as its configuration.
    pub fn open(dir: &Path, voters: &[u64], fsync: Fsync) -> Result<Self, StoreError> {
        let fresh = match std::fs::read_dir(dir) {
            Ok(mut it) => it.next().is_none(),
            Err(_) => true,
        };
        // Reads are served from the in-memory image; sled's page cache
        // (1 GiB by default) only needs to hold recent writes.
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|source| StoreError::Open {
                path: dir.display().to_string(),
                source,
            })?;
        let log = db.open_tree("log")?;
        let meta = db.open_tree("meta")?;
        let durable = std::sync::Arc::new(Durable::new(db.clone(), dir)?);
        let mut disk = Disk {
            db,
            durable,
            log,
            meta,
            fsync,
            dir: dir.to_path_buf(),
            guard: Guard::default(),
            segments: BTreeMap::new(),
            stale: Vec::new(),
            writing: None,
            syncer: None,
        };
        if fresh {
            let mut s = LogStore::in_memory(voters, &[]);
            disk.put_meta(CONF_STATE_KEY, &s.conf_state)?;
            disk.put_meta(HARD_STATE_KEY, &s.hard_state)?;
            disk.write_snapshot(&s.snapshot)?;
            // The marker goes last: a crash before it leaves a directory that
            // is refused, never one that is half-initialised and trusted.
            disk.meta.insert(FORMAT_KEY, FORMAT_V2)?;
            disk.durable.flush()?;
            disk.write_guard(&s.hard_state)?;
            s.disk = Some(disk);
            return Ok(s);
        }
        match disk.meta.get(FORMAT_KEY)? {
            Some(v) if v.as_ref() == FORMAT_V2 => {}
            // Lands before any own tree this binary writes (sled recovers
            // a prefix of its writes).
            Some(v) if v.as_ref() == FORMAT_V1 => {
                disk.meta.insert(FORMAT_KEY, FORMAT_V2)?;
            }
            Some(_) => return Err(StoreError::Damaged("unknown format marker".into())),
            None => return Err(StoreError::Damaged("format marker missing".into())),
        }
        let mut hard_state: HardState = disk.meta_value(HARD_STATE_KEY)?;
        let mut conf_state: ConfState = disk.meta_value(CONF_STATE_KEY)?;
        let snapshot = Disk::read_snapshot(dir)?;
        // A received snapshot's install cut short by a crash is completed.
        received::finish_interrupted_install(&disk, &mut hard_state, &mut conf_state, &snapshot)?;
        let snap_index = snapshot.get_metadata().index;
        let mut entries = Vec::new();
        let mut segments = BTreeMap::new();
        let mut expect = snap_index + 1;
        for (key, (place, bytes)) in segments::read_all(&disk.db, &disk.log)? {
            let seg = decode_segment(&bytes)?;
            drop(bytes);
            let (Some(first), Some(last)) = (seg.first(), seg.last()) else {
                return Err(StoreError::Damaged(format!("empty log segment {key}")));
            };
            // A segment's entries start at its key, or later when it is the
            // kept part of a truncated segment straddling the snapshot.
            if first.index < key || last.index != first.index + seg.len() as u64 - 1 {
                return Err(StoreError::Damaged(format!(
                    "log segment {key} holds entries {}..={}",
                    first.index, last.index
                )));
            }
            segments.insert(
                key,
                Segment {
                    last: last.index,
                    place,
                },
            );
            for e in seg {
                // A segment may straddle the snapshot (compaction keeps it).
                if e.index <= snap_index {
                    continue;
                }
                if e.index != expect {
                    return Err(StoreError::Damaged(format!(
                        "log gap: expected entry {expect}, found {}",
                        e.index
                    )));
                }
                entries.push(e);
                expect += 1;
            }
        }
        let last = expect - 1;
        if hard_state.commit > last || hard_state.commit < snapshot.get_metadata().index {
            return Err(StoreError::Damaged(format!(
                "commit index {} outside the stored log [{}, {last}] (truncated?)",
                hard_state.commit,
                snapshot.get_metadata().index
            )));
        }
        let guard = Guard::read(dir)?;
        if hard_state.term < guard.term
            || (hard_state.term == guard.term && guard.vote != 0 && hard_state.vote != guard.vote)
            || hard_state.commit < guard.commit
        {
            return Err(StoreError::Damaged(format!(
                "rolled back: database has term {} vote {} commit {}, guard file records term {} \
                 vote {} commit {} (truncated or torn database file?)",
                hard_state.term,
                hard_state.vote,
                hard_state.commit,
                guard.term,
                guard.vote,
                guard.commit
            )));
        }
        disk.guard = guard;
        // Segments left below the snapshot by a crash (or a stop) before
        // their removal: they leave with the next appends.
        for (a, seg) in segments {
            if seg.last <= snap_index {
                disk.stale.push((a, seg.place));
            } else {
                disk.segments.insert(a, seg);
            }
        }
        Ok(LogStore {
            hard_state,
            conf_state,
            snapshot,
            entries,
            disk: Some(disk),
            sim: None,
            snapshot_wanted: std::cell::Cell::new(false),
        })
    }

    /// The latest snapshot (metadata and state-machine data).
    pub fn latest_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// True (once) when raft asked for a snapshot newer than the latest.
    pub fn take_snapshot_request(&self) -> bool {
        self.snapshot_wanted.replace(false)
    }

    /// Number of entries held after the snapshot.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Appends entries, truncating any conflicting suffix first.
    pub fn append(&mut self, ents: &[Entry]) -> Result<(), StoreError> {
        let Some(first) = ents.first() else {
            return Ok(());
        };
        let snap_index = self.snapshot.get_metadata().index;
        if first.index <= snap_index {
            return Err(StoreError::Damaged(format!(
                "raft appended entry {} at or below the snapshot {snap_index}",
                first.index
            )));
        }
        let old_last = self.last();
        let keep = (first.index - snap_index - 1) as usize;
        if keep > self.entries.len() {
            return Err(StoreError::Damaged(format!(
                "raft appended entry {} after a gap (last {old_last})",
                first.index
            )));
        }
        if let Some(d) = &mut self.disk {
            // One segment per Ready, keyed by its first index: sled rewrites
            // a whole tree node per insert, so per-entry keys cost far more
            // than the fsync. Where it goes: see `segments`.
            let mut writes = LogWrites::default();
            if first.index <= old_last {
                let cut: Vec<(u64, Segment)> = d
                    .segments
                    .range(..)
                    .filter(|(_, seg)| seg.last >= first.index)
                    .map(|(a, seg)| (*a, *seg))
                    .collect();
                // Highest first: every prefix of these writes leaves a
                // contiguous log.
                for (a, seg) in cut.into_iter().rev() {
                    d.segments.remove(&a);
                    // The part of this segment before the conflict stays,
                    // under the same key.
                    let lo = (a.max(snap_index + 1) - snap_index - 1) as usize;
                    let kept = self.entries.get(lo..keep).unwrap_or_default();
                    if a < first.index && !kept.is_empty() {
                        writes.rewrite(a, seg.place, encode_segment(kept));
                        let last = first.index - 1;
                        d.segments.insert(a, Segment { last, ..seg });
                    } else {
                        writes.remove(a, seg.place);
                    }
                }
            }
            for piece in segments::pieces(ents) {
                let (Some(head), Some(tail)) = (piece.first(), piece.last()) else {
                    continue;
                };
                let (key, last) = (head.index, tail.index);
                let bytes = encode_segment(piece);
                let place = Place::for_len(bytes.len());
                writes.put(key, place, bytes);
                d.segments.insert(key, Segment { last, place });
            }
            let from = d.stale.len().saturating_sub(STALE_PER_APPEND);
            for (a, place) in d.stale.drain(from..) {
                writes.remove_stale(a, place);
            }
            d.write_log(writes.finish())?;
        }
        self.entries.truncate(keep);
        self.entries.extend_from_slice(ents);
        Ok(())
    }

    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<(), StoreError> {
        self.hard_state = hs.clone();
        if let Some(d) = &self.disk {
            d.put_meta(HARD_STATE_KEY, hs)?;
        }
        Ok(())
    }

    pub fn set_commit(&mut self, commit: u64) -> Result<(), StoreError> {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs)
    }

    pub fn set_conf_state(&mut self, cs: &ConfState) -> Result<(), StoreError> {
        self.conf_state = cs.clone();
        if let Some(d) = &self.disk {
            d.put_meta(CONF_STATE_KEY, cs)?;
        }
        Ok(())
    }

    /// Records a state-machine snapshot taken at `index` (already applied)
    /// and drops the log up to it, writing the snapshot file before it
    /// returns.
    pub fn compact(
        &mut self,
        index: u64,
        conf_state: &ConfState,
        data: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.wait_compaction()?;
        let Some(snap) = self.snapshot_at(index, conf_state, data) else {
            return Ok(());
        };
        if let Some(d) = &self.disk {
            d.write_snapshot(&snap)?;
        }
        self.install(snap)
    }

    /// Like [`LogStore::compact`], but the snapshot file is written (and
    /// fsynced) by a thread of its own, off the caller's path: the log is
    /// dropped only once [`LogStore::finish_compaction`] sees the file
    /// durable, so a crash at any point leaves a usable store. Until then
    /// raft keeps serving the previous snapshot and the whole log. In memory
    /// it completes at once. Does nothing while a compaction is running.
    pub fn start_compaction(
        &mut self,
        index: u64,
        conf_state: &ConfState,
        data: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.start_compaction_with(index, conf_state, Box::new(move || data))
    }

    /// Like [`LogStore::start_compaction`], but the snapshot's bytes are
    /// produced by `data` on the writing thread too (from a frozen view of
    /// the state taken at `index`), so the member thread neither serialises
    /// the state nor writes it. In memory `data` runs at once.
    pub fn start_compaction_with(
        &mut self,
        index: u64,
        conf_state: &ConfState,
        data: SnapshotData,
    ) -> Result<(), StoreError> {
        if self.compaction_running() {
            return Ok(());
        }
        let Some(mut snap) = self.snapshot_at(index, conf_state, Vec::new()) else {
            return Ok(());
        };
        let Some(d) = &mut self.disk else {
            snap.set_data(data().into());
            return self.install(snap);
        };
        let (durable, dir, fsync) = (d.durable.clone(), d.dir.clone(), d.fsync);
        let queued = d.syncer.as_ref().map(Syncer::applied_mark);
        let thread = std::thread::Builder::new()
            .name("lns-cluster-snap".into())
            .spawn(move || {
                background_priority();
                // The commit index (at or above `index`) must be durable
                // before a snapshot that presumes it: `open` refuses a
                // commit index below the snapshot. With a writer thread,
                // it may still be queued: wait until it is in sled.
                if let Some(mark) = queued {
                    mark.recv()
                        .map_err(|_| StoreError::Damaged("the sled writer stopped".into()))?;
                }
                snap.set_data(data().into());
                if fsync == Fsync::Always {
                    durable.flush()?;
                }
                write_file(&dir, fsync, SNAPSHOT_FILE, &encode(&snap))?;
                Ok(snap)
            })
            .map_err(|e| StoreError::Damaged(format!("cannot start the snapshot writer: {e}")))?;
        d.writing = Some(Writing { thread });
        Ok(())
    }

    /// True while a snapshot file is being written in the background.
    pub fn compaction_running(&self) -> bool {
        self.disk.as_ref().is_some_and(|d| d.writing.is_some())
    }

    /// Completes a background compaction whose file is durable: installs
    /// the snapshot and drops the log up to it. Returns the snapshot index
    /// when it did; never blocks.
    pub fn finish_compaction(&mut self) -> Result<Option<u64>, StoreError> {
        let done = self
            .disk
            .as_ref()
            .and_then(|d| d.writing.as_ref())
            .is_some_and(|w| w.thread.is_finished());
        if !done {
            return Ok(None);
        }
        self.wait_compaction()
    }

    /// Waits for a background compaction and completes it (see
    /// [`LogStore::finish_compaction`]).
    pub fn wait_compaction(&mut self) -> Result<Option<u64>, StoreError> {
        let Some(w) = self.disk.as_mut().and_then(|d| d.writing.take()) else {
            return Ok(None);
        };
        let snap = w
            .thread
            .join()
            .map_err(|_| StoreError::Damaged("the snapshot writer panicked".into()))??;
        let index = snap.get_metadata().index;
        self.install(snap)?;
        Ok(Some(index))
    }

    /// Moves the fsyncs and guard-file writes of a durable store (fsync on)
    /// to threads of their own (see `syncer`); `wake` is called when
    /// [`LogStore::synced`] moves. Returns false (and does nothing) in memory
    /// or with fsync off: [`LogStore::sync`] stays the only way there.
    pub fn start_background_sync(&mut self, wake: SyncWaker) -> Result<bool, StoreError> {
        let Some(d) = &mut self.disk else {
            return Ok(false);
        };
        if d.fsync != Fsync::Always || d.syncer.is_some() {
            return Ok(d.syncer.is_some());
        }
        let trees = (d.log.clone(), d.meta.clone());
        let syncer = Syncer::start(d.durable.clone(), trees, d.dir.clone(), d.guard, wake)
            .map_err(|e| StoreError::Damaged(format!("cannot start the fsync thread: {e}")))?;
        d.syncer = Some(syncer);
        Ok(true)
    }

    /// True when background sync runs ([`LogStore::start_background_sync`],
    /// or a simulated disk).
    pub fn background_sync(&self) -> bool {
        self.sim.is_some() || self.disk.as_ref().is_some_and(|d| d.syncer.is_some())
    }

    /// Background sync: the writes of Ready `number` are done; make them
    /// (and everything before) durable. Without background sync: nothing.
    pub fn request_sync(&mut self, number: u64) {
        if let Some(sim) = &self.sim {
            sim.request(number, self.image());
            return;
        }
        let floor = Guard::of(&self.hard_state);
        if let Some(s) = self.disk.as_ref().and_then(|d| d.syncer.as_ref()) {
            s.request(number, floor);
        }
    }

    /// Background sync: the highest Ready number known durable, or the
    /// failure that must stop the member (0 without background sync).
    pub fn synced(&self) -> Result<u64, StoreError> {
        if let Some(sim) = &self.sim {
            return Ok(sim.synced());
        }
        match self.disk.as_ref().and_then(|d| d.syncer.as_ref()) {
            Some(s) => s.synced(),
            None => Ok(0),
        }
    }

    /// Makes every write so far durable (fsync), unless fsync is disabled.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let Some(sim) = &self.sim {
            sim.sync_all(self.image());
        }
        if let Some(d) = &mut self.disk {
            d.drain()?;
            if d.fsync == Fsync::Always {
                d.durable.flush()?;
            }
            if let Some(s) = &d.syncer {
                // The guard thread is the only writer of the guard file.
                s.durable(Guard::of(&self.hard_state));
                return Ok(());
            }
            let hs = &self.hard_state;
            let g = &d.guard;
            if hs.term != g.term || hs.vote != g.vote || hs.commit >= g.commit + GUARD_EVERY {
                if d.fsync == Fsync::Never {
                    d.durable.flush()?;
                }
                d.write_guard(hs)?;
            }
        }
        Ok(())
    }

    /// Bytes used on disk (sled's estimate), 0 in memory.
    pub fn size_on_disk(&self) -> u64 {
        self.disk
            .as_ref()
            .and_then(|d| d.db.size_on_disk().ok())
            .unwrap_or(0)
    }

    /// The snapshot at `index` (applied, within the log), or `None` when
    /// the log does not reach past the current snapshot there.
    fn snapshot_at(&self, index: u64, conf_state: &ConfState, data: Vec<u8>) -> Option<Snapshot> {
        let snap_index = self.snapshot.get_metadata().index;
        if index <= snap_index || index > self.last() {
            return None;
        }
        let term = self.entries[(index - snap_index - 1) as usize].term;
        let mut snap = Snapshot::default();
        snap.set_data(data.into());
        let mut meta = SnapshotMetadata {
            index,
            term,
            ..Default::default()
        };
        meta.set_conf_state(conf_state.clone());
        snap.set_metadata(meta);
        Some(snap)
    }

    /// Makes `snap` (its file already durable) the latest snapshot and drops
    /// the log up to it.
    fn install(&mut self, snap: Snapshot) -> Result<(), StoreError> {
        let snap_index = self.snapshot.get_metadata().index;
        let index = snap.get_metadata().index;
        if index <= snap_index {
            return Ok(());
        }
        let drop = ((index - snap_index) as usize).min(self.entries.len());
        self.snapshot = snap;
        let kept = self.entries.split_off(drop);
        free_elsewhere(std::mem::replace(&mut self.entries, kept));
        if let Some(d) = &mut self.disk {
            // The snapshot file is durable: a crash before the removal only
            // leaves entries below the snapshot, which `open` skips. A
            // segment straddling the snapshot index stays until a later
            // compaction. The segments wholly below it leave sled with the
            // next appends, `STALE_PER_APPEND` each: removing hundreds of
            // keys in one batch held the sled writer (and every fsync
            // behind it) for tens of milliseconds.
            let kept = d.segments.split_off(&(index + 1));
            let below = std::mem::replace(&mut d.segments, kept);
            for (a, seg) in below {
                if seg.last <= index {
                    d.stale.push((a, seg.place));
                } else {
                    d.segments.insert(a, seg);
                }
            }
        }
        Ok(())
    }

    /// Everything this store persists, as it is now (simulated disk).
    fn image(&self) -> Image {
        Image {
            hard_state: self.hard_state.clone(),
            conf_state: self.conf_state.clone(),
            snapshot: self.snapshot.clone(),
            entries: self.entries.clone(),
        }
    }

    fn from_image(image: Image, sim: Option<SimulatedDisk>) -> Self {
        LogStore {
            hard_state: image.hard_state,
            conf_state: image.conf_state,
            snapshot: image.snapshot,
            entries: image.entries,
            sim,
            ..LogStore::empty()
        }
    }

    fn empty() -> Self {
        LogStore {
            hard_state: HardState::default(),
            conf_state: ConfState::default(),
            snapshot: Snapshot::default(),
            entries: Vec::new(),
            disk: None,
            sim: None,
            snapshot_wanted: std::cell::Cell::new(false),
        }
    }

    fn first(&self) -> u64 {
        self.snapshot.get_metadata().index + 1
    }

    fn last(&self) -> u64 {
        self.snapshot.get_metadata().index + self.entries.len() as u64
    }
}

impl Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let off = self.first();
        let slice = &self.entries[(low - off) as usize..(high - off) as usize];
        let max = max_size.into().unwrap_or(u64::MAX);
        let mut out = Vec::with_capacity(slice.len());
        let mut size = 0u64;
        for e in slice {
            size += u64::from(e.compute_size());
            if !out.is_empty() && size > max {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let snap = self.snapshot.get_metadata();
        if idx == snap.index {
            return Ok(snap.term);
        }
        if idx < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last() {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.entries[(idx - self.first()) as usize].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let cs = self.snapshot.get_metadata().get_conf_state();
        let knows_to = cs
            .voters
            .iter()
            .chain(&cs.learners)
            .chain(&cs.voters_outgoing)
            .chain(&cs.learners_next)
            .any(|id| *id == to);
        // raft-rs refuses a snapshot whose configuration omits the receiver,
        // so a member added after the last snapshot needs a newer one.
        if !knows_to || self.snapshot.get_metadata().index < request_index {
            self.snapshot_wanted.set(true);
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}

struct Disk {
    db: sled::Db,
    /// Flushes `db` durably (sled's own flush is not, see `durable`).
    durable: std::sync::Arc<Durable>,
    log: sled::Tree,
    meta: sled::Tree,
    fsync: Fsync,
    dir: std::path::PathBuf,
    guard: Guard,
    /// Log segments on disk by key (see `segments`).
    segments: BTreeMap<u64, Segment>,
    /// Segments below the snapshot still in sled, removed a few at a time
    /// with later appends (see [`LogStore::install`]).
    stale: Vec<(u64, Place)>,
    /// The snapshot file being written in the background, if any.
    writing: Option<Writing>,
    /// Background fsync and guard writes, when started.
    syncer: Option<Syncer>,
}

/// A snapshot whose data and file a background thread is producing; it
/// returns the snapshot once its file is durable.
struct Writing {
    thread: std::thread::JoinHandle<Result<Snapshot, StoreError>>,
}

/// Produces a snapshot's data off the member thread (see
/// [`LogStore::start_compaction_with`]).
pub type SnapshotData = Box<dyn FnOnce() -> Vec<u8> + Send>;

impl Drop for Disk {
    /// A snapshot file must not be renamed into place after the store is
    /// gone (a reopened store would see it change under it).
    fn drop(&mut self) {
        if let Some(w) = self.writing.take() {
            let _ = w.thread.join();
        }
    }
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk").field("fsync", &self.fsync).finish()
    }
}

impl Disk {
    /// Writes the guard file atomically.
    fn write_guard(&mut self, hs: &HardState) -> Result<(), StoreError> {
        let g = Guard {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        };
        self.write_file(GUARD_FILE, g.render().as_bytes())?;
        self.guard = g;
        Ok(())
    }

    /// The snapshot lives in a file of its own, not in sled: rewriting a
    /// multi-megabyte sled value at every compaction made the database grow
    /// tens of times larger than the live state.
    fn write_snapshot(&self, snap: &Snapshot) -> Result<(), StoreError> {
        self.write_file(SNAPSHOT_FILE, &encode(snap))
    }

    fn read_snapshot(dir: &Path) -> Result<Snapshot, StoreError> {
        let bytes = std::fs::read(dir.join(SNAPSHOT_FILE))
            .map_err(|e| StoreError::Damaged(format!("snapshot file unreadable: {e}")))?;
        decode(&bytes, "snapshot file")
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_file(&self.dir, self.fsync, name, bytes)
    }

    /// Writes a metadata value: queued to the writer thread when it runs.
    fn put_meta<M: protobuf::Message>(&self, key: &'static [u8], m: &M) -> Result<(), StoreError> {
        match &self.syncer {
            Some(s) => s.write(Write {
                log: Vec::new(),
                meta: vec![(key, encode(m))],
            }),
            None => {
                self.meta.insert(key, encode(m))?;
            }
        }
        Ok(())
    }

    /// Writes to the log trees: queued to the writer thread when it runs
    /// (sled's writes took 2-70 ms of the member thread under load).
    fn write_log(&self, ops: Vec<LogOp>) -> Result<(), StoreError> {
        match &self.syncer {
            Some(s) => s.write(Write {
                log: ops,
                meta: Vec::new(),
            }),
            None => segments::apply(&self.db, &self.log, ops)?,
        }
        Ok(())
    }

    /// Waits until every write queued to the writer thread is in sled.
    fn drain(&self) -> Result<(), StoreError> {
        if let Some(s) = &self.syncer {
            s.applied_mark()
                .recv()
                .map_err(|_| StoreError::Damaged("the sled writer stopped".into()))?;
        }
        Ok(())
    }

    fn meta_value<M: protobuf::Message>(&self, key: &[u8]) -> Result<M, StoreError> {
        let what = String::from_utf8_lossy(key).into_owned();
        match self.meta.get(key)? {
            Some(v) => decode(&v, &what),
            None => Err(StoreError::Damaged(format!("{what} missing"))),
        }
    }
}

/// Frees the entries a compaction dropped on a short-lived thread of its
/// own: freeing ~10 000 entries took 1-8 ms of the member thread, on every
/// member at once. If no thread can be started, the refused closure is
/// dropped here, and the entries with it.
fn free_elsewhere(dropped: Vec<Entry>) {
    if dropped.len() < FREE_INLINE_BELOW {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("lns-cluster-free".into())
        .spawn(move || {
            background_priority();
            drop(dropped)
        });
}

/// Lowers the calling thread's CPU priority (nice 10): compaction and
/// freeing must not take the cores from the member and writer threads that
/// every commit waits for. Best effort: without it they only compete more.
fn background_priority() {
    let tid = rustix::thread::gettid();
    let _ = rustix::process::setpriority_process(Some(tid), BACKGROUND_NICE);
}

/// The nice value of the background threads (CFS gives a nice-10 thread
/// about a tenth of a nice-0 one's share when they compete).
const BACKGROUND_NICE: i32 = 10;

/// Fewer dropped entries than this are freed in place (cheaper than a thread).
const FREE_INLINE_BELOW: usize = 256;

/// How many segments below the snapshot leave sled with each append.
const STALE_PER_APPEND: usize = 16;

fn conf_state(voters: &[u64], learners: &[u64]) -> ConfState {
    let mut cs = ConfState::default();
    cs.set_voters(voters.to_vec());
    cs.set_learners(learners.to_vec());
    cs
}
