//! A flush of the sled database that is durable against power loss, not
//! only against the process dying.
//!
//! Contract:
//! - sled 0.34's `flush` writes its log file with `sync_file_range`, which
//!   waits for the page cache to reach the device but flushes neither the
//!   device's write cache nor the file's metadata (its size), and it never
//!   syncs the files it writes items above ~128 KiB to (`blobs/`).
//!   [`Durable::flush`] runs sled's flush, then `fdatasync`s the log file,
//!   every blob file not synced before, and the blob directory when it
//!   gained a file. Only then is a write durable in the sense Raft needs
//!   (a vote or an acknowledged entry must survive a power cut).
//! - The store's layout keeps blob files rare (see `segments`); the blob
//!   directory is still read before and after every flush, so one that
//!   appears is synced before the flush returns (and again at the next
//!   flush when it appeared during this one, as sled may still have been
//!   writing it).
//! - Shared (behind an `Arc`) by the member thread, the writer thread and
//!   the snapshot writer.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StoreError;

/// sled's database and the files its flush leaves unsynced.
pub(super) struct Durable {
    db: sled::Db,
    /// sled's log file (`<dir>/db`), opened to be synced.
    log_file: File,
    /// sled's directory of large items.
    blobs: PathBuf,
    /// Blob files already synced (the names present at the last flush).
    synced: Mutex<BTreeSet<OsString>>,
}

impl Durable {
    /// Over the sled database opened in `dir`.
    pub(super) fn new(db: sled::Db, dir: &Path) -> Result<Durable, StoreError> {
        let log_file = File::open(dir.join("db")).map_err(io)?;
        Ok(Durable {
            db,
            log_file,
            blobs: dir.join("blobs"),
            synced: Mutex::new(BTreeSet::new()),
        })
    }

    pub(super) fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Makes every write applied to sled so far durable.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        // Blob files listed before sled's flush are complete once it
        // returns (sled writes a blob before the log record naming it, and
        // its flush waits for every record reserved before it). One that
        // appears only afterwards may still be being written: it is synced
        // now and again at the next flush.
        let before = self.blob_names()?;
        self.db.flush()?;
        self.log_file.sync_data().map_err(io)?;
        let after = self.blob_names()?;
        let known = self.synced()?.clone();
        let mut gained = false;
        for name in after.difference(&known) {
            match File::open(self.blobs.join(name)) {
                Ok(f) => f.sync_data().map_err(io)?,
                // sled removed it meanwhile: nothing to sync.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            }
            gained = true;
        }
        if gained {
            File::open(&self.blobs)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        // Synced and complete: known before, or listed before sled's flush.
        let complete = after
            .into_iter()
            .filter(|n| known.contains(n) || before.contains(n))
            .collect();
        *self.synced()? = complete;
        Ok(())
    }

    /// The names in the blob directory (none while it does not exist).
    fn blob_names(&self) -> Result<BTreeSet<OsString>, StoreError> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(e) => return Err(io(e)),
        };
        entries
            .map(|e| e.map(|e| e.file_name()).map_err(io))
            .collect()
    }

    /// The set of synced blob names (never held across a sync: the
    /// snapshot writer runs at a lower priority than the writer thread).
    fn synced(&self) -> Result<std::sync::MutexGuard<'_, BTreeSet<OsString>>, StoreError> {
        self.synced
            .lock()
            .map_err(|_| StoreError::Damaged("a flush panicked".into()))
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io(sled::Error::Io(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_file_listed_before_the_flush_is_recorded_as_synced() {
        let dir = std::env::temp_dir().join(format!("lns-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = sled::Config::new().path(&dir).open().expect("sled");
        let d = Durable::new(db, &dir).expect("durable");
        // A value far above sled's blob threshold becomes a blob file.
        let tree = d.db().open_tree("t").expect("tree");
        tree.insert(b"k", vec![7u8; 400 * 1024]).expect("insert");
        d.flush().expect("flush");
        let names = d.synced.lock().expect("lock").clone();
        assert!(!names.is_empty(), "no blob file was seen");
        for name in &names {
            assert!(dir.join("blobs").join(name).exists());
        }
        d.flush().expect("a second flush");
        assert_eq!(*d.synced.lock().expect("lock"), names);
        drop(tree);
        drop(d);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
