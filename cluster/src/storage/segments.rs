//! Where the log's segments live in sled, and the writes that put them
//! there.
//!
//! Contract:
//! - A segment is the entries of one append, encoded with a CRC
//!   (`encode_segment`), keyed by the index of its first entry when it was
//!   written. Its entries may start later than its key: the part of a
//!   segment that a conflicting append kept is written again under the same
//!   key, without the entries a compaction dropped.
//! - A segment of fewer than [`OWN_TREE_MIN`] bytes is a value of the shared
//!   `log` tree. A larger one has a tree of its own, named `log-` and the key
//!   (8 bytes, big-endian), holding its bytes cut into chunks of at most
//!   [`CHUNK`] bytes under the keys 0, 1, ... (4 bytes, big-endian).
//!   Why: sled keeps up to 16 values per leaf and rewrites the whole leaf at
//!   every tenth update and at every split, and it writes any item above
//!   ~128 KiB as a file of its own. Under load an append carries 100 KiB or
//!   more, so the shared tree rewrote megabytes of recent segments, file by
//!   file, in front of every fsync. A tree of its own is written once, in
//!   chunks that stay inline in sled's log, and dropped whole.
//! - An append larger than [`SEGMENT_MAX`] is cut into several segments
//!   ([`pieces`]), so that an own tree holds at most 8 chunks: sled
//!   consolidates a page of 10 fragments into one item, which above ~128 KiB
//!   is a blob file again. Blob files stay possible (a kept part written
//!   again over a tree's chunks, sled's own page cleaning moving a large
//!   page), only rare: `durable` syncs them.
//! - [`LogWrites`] queues the writes of one append in order; [`apply`]
//!   performs them in that order. Each write is atomic (one batch on one
//!   tree, or one tree dropped); a sequence is not, so callers order it so
//!   that every prefix leaves a contiguous log (sled recovers a prefix of
//!   its writes after a crash).
//! - [`read_all`] returns every stored segment by key, and drops the own
//!   trees holding no chunk: a crash between a tree's creation and its first
//!   batch leaves one (it holds nothing, and a later append may reuse its
//!   name, so it must go before any). A chunk missing from a sequence, or a
//!   key stored both ways, is damage.

use std::collections::BTreeMap;

use protobuf::Message as _;
use raft::eraftpb::Entry;

use super::StoreError;

/// Segments of at least this many bytes get a tree of their own.
pub(super) const OWN_TREE_MIN: usize = 4 * 1024;

/// The largest chunk of an own tree: well under sled's ~128 KiB blob
/// threshold (a quarter of its 512 KiB log segment), so a chunk is written
/// inline in sled's log, never as a file of its own.
pub(super) const CHUNK: usize = 96 * 1024;

/// The most entry bytes in one segment (8 chunks).
pub(super) const SEGMENT_MAX: usize = 8 * CHUNK;

const OWN_PREFIX: &[u8] = b"log-";

/// Cuts an append into runs of entries of at most [`SEGMENT_MAX`] encoded
/// bytes each (an entry larger than that is a run of its own).
pub(super) fn pieces(ents: &[Entry]) -> Vec<&[Entry]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0usize);
    for (i, e) in ents.iter().enumerate() {
        let len = e.compute_size() as usize + 4;
        // The segment's 4-byte CRC counts too.
        if i > start && 4 + size + len > SEGMENT_MAX {
            out.push(&ents[start..i]);
            (start, size) = (i, 0);
        }
        size += len;
    }
    if start < ents.len() {
        out.push(&ents[start..]);
    }
    out
}

/// Where a segment is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// A value of the shared `log` tree.
    Shared,
    /// A tree of its own.
    Own,
}

impl Place {
    /// Where a new segment of `len` encoded bytes goes.
    pub(super) fn for_len(len: usize) -> Place {
        if len >= OWN_TREE_MIN {
            Place::Own
        } else {
            Place::Shared
        }
    }
}

/// A segment on disk: its last index and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Segment {
    pub(super) last: u64,
    pub(super) place: Place,
}

/// One atomic write to the log trees.
pub(super) enum LogOp {
    /// A batch on the shared `log` tree.
    Shared(sled::Batch),
    /// Writes the segment keyed `.0` into its own tree, which holds nothing
    /// (the key is new, or its tree was dropped by an earlier op).
    Put(u64, Vec<u8>),
    /// Writes the segment keyed `.0` again over its own tree's chunks (the
    /// kept part of a cut segment), removing the chunks it no longer has.
    Rewrite(u64, Vec<u8>),
    /// Drops the own tree of the segment keyed `.0`.
    Drop(u64),
    /// Drops the own tree of a segment wholly below the snapshot: in any
    /// order with the other ops (nothing reads or writes that tree again),
    /// so the writer thread hands it to a background thread.
    DropStale(u64),
}

/// The writes of one append, in order; consecutive writes to the shared
/// tree share one batch.
#[derive(Default)]
pub(super) struct LogWrites {
    ops: Vec<LogOp>,
    shared: Option<sled::Batch>,
}

impl LogWrites {
    /// Writes segment `key` (its encoded bytes) at `place`; nothing is
    /// stored under `key` (or an earlier write of this append removed it).
    pub(super) fn put(&mut self, key: u64, place: Place, bytes: Vec<u8>) {
        self.write(key, place, bytes, LogOp::Put);
    }

    /// Writes segment `key` again at `place`, where it is stored already.
    pub(super) fn rewrite(&mut self, key: u64, place: Place, bytes: Vec<u8>) {
        self.write(key, place, bytes, LogOp::Rewrite);
    }

    fn write(&mut self, key: u64, place: Place, bytes: Vec<u8>, own: fn(u64, Vec<u8>) -> LogOp) {
        match place {
            Place::Shared => self.shared().insert(&key.to_be_bytes(), bytes),
            Place::Own => {
                self.close_shared();
                self.ops.push(own(key, bytes));
            }
        }
    }

    /// Removes segment `key` from `place`.
    pub(super) fn remove(&mut self, key: u64, place: Place) {
        self.erase(key, place, LogOp::Drop);
    }

    /// Removes segment `key`, wholly below the snapshot, from `place`.
    pub(super) fn remove_stale(&mut self, key: u64, place: Place) {
        self.erase(key, place, LogOp::DropStale);
    }

    fn erase(&mut self, key: u64, place: Place, own: fn(u64) -> LogOp) {
        match place {
            Place::Shared => self.shared().remove(&key.to_be_bytes()),
            Place::Own => {
                self.close_shared();
                self.ops.push(own(key));
            }
        }
    }

    /// The writes, in order.
    pub(super) fn finish(mut self) -> Vec<LogOp> {
        self.close_shared();
        self.ops
    }

    fn shared(&mut self) -> &mut sled::Batch {
        self.shared.get_or_insert_with(sled::Batch::default)
    }

    fn close_shared(&mut self) {
        if let Some(b) = self.shared.take() {
            self.ops.push(LogOp::Shared(b));
        }
    }
}

/// Performs `ops` in order on `db` (own trees) and `log` (the shared tree).
pub(super) fn apply(db: &sled::Db, log: &sled::Tree, ops: Vec<LogOp>) -> sled::Result<()> {
    for op in ops {
        match op {
            LogOp::Shared(batch) => log.apply_batch(batch)?,
            LogOp::Put(key, bytes) => {
                // No chunk to remove: iterating even an empty new tree was
                // ~15 % of the writer thread's sled time under load.
                let tree = db.open_tree(own_name(key))?;
                tree.apply_batch(chunks(&bytes).0)?;
            }
            LogOp::Rewrite(key, bytes) => {
                let tree = db.open_tree(own_name(key))?;
                let (mut batch, count) = chunks(&bytes);
                // The segment had more chunks before it was cut.
                for k in tree.iter().keys() {
                    let k = k?;
                    if chunk_number(&k).is_none_or(|n| n >= count) {
                        batch.remove(k);
                    }
                }
                tree.apply_batch(batch)?;
            }
            LogOp::Drop(key) | LogOp::DropStale(key) => {
                db.drop_tree(own_name(key))?;
            }
        }
    }
    Ok(())
}

/// The chunk inserts of a segment's bytes, and how many chunks.
fn chunks(bytes: &[u8]) -> (sled::Batch, u32) {
    let mut batch = sled::Batch::default();
    let mut count = 0u32;
    for chunk in bytes.chunks(CHUNK) {
        batch.insert(&count.to_be_bytes(), chunk);
        count += 1;
    }
    (batch, count)
}

/// Every stored segment by key: where it is and its bytes. Drops the empty
/// own trees a crash left (see the module contract).
pub(super) fn read_all(
    db: &sled::Db,
    log: &sled::Tree,
) -> Result<BTreeMap<u64, (Place, Vec<u8>)>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in log.iter() {
        let (k, v) = kv?;
        let key = key_index(&k).ok_or_else(|| StoreError::Damaged("malformed log key".into()))?;
        out.insert(key, (Place::Shared, v.to_vec()));
    }
    for name in db.tree_names() {
        let Some(key) = own_key(&name) else {
            continue;
        };
        let tree = db.open_tree(&name)?;
        let mut bytes = Vec::new();
        let mut next = 0u32;
        for kv in tree.iter() {
            let (k, v) = kv?;
            if chunk_number(&k) != Some(next) {
                return Err(StoreError::Damaged(format!(
                    "log segment {key}: chunk {next} missing"
                )));
            }
            bytes.extend_from_slice(&v);
            next += 1;
        }
        if next == 0 {
            drop(tree);
            db.drop_tree(&name)?;
            continue;
        }
        if out.insert(key, (Place::Own, bytes)).is_some() {
            return Err(StoreError::Damaged(format!(
                "log segment {key} stored twice"
            )));
        }
    }
    Ok(out)
}

/// Removes every segment, own trees first, then the shared tree's values.
pub(super) fn clear(db: &sled::Db, log: &sled::Tree) -> sled::Result<()> {
    for name in db.tree_names() {
        if own_key(&name).is_some() {
            db.drop_tree(&name)?;
        }
    }
    log.clear()
}

pub(super) fn key_index(k: &[u8]) -> Option<u64> {
    let b: [u8; 8] = k.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

pub(super) fn own_name(key: u64) -> Vec<u8> {
    let mut name = OWN_PREFIX.to_vec();
    name.extend_from_slice(&key.to_be_bytes());
    name
}

fn own_key(name: &[u8]) -> Option<u64> {
    key_index(name.strip_prefix(OWN_PREFIX)?)
}

fn chunk_number(k: &[u8]) -> Option<u32> {
    let b: [u8; 4] = k.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}
