//! Background persistence of a sled store: the fsyncs and the guard file
//! leave the member thread, so it keeps taking proposals, acknowledgements
//! and appends while a batch reaches the disk (raft-rs "async ready").
//!
//! Contract:
//! - [`Syncer::request`] is called after the writes of Ready `number` went
//!   into sled. The fsync thread then flushes sled (group commit: every
//!   request queued meanwhile shares one flush), and only after that flush
//!   reports `number` in [`Syncer::synced`] and calls the waker. A flush
//!   covers every write made before it started, so a reported number means
//!   that Ready and every earlier one are durable.
//! - The guard file is written by a thread of its own, only ever from a
//!   floor (term, vote, commit) that a completed flush made durable, and
//!   only when the term or vote changed or the commit index moved by
//!   `GUARD_EVERY`: the guard never claims more than the database holds, so
//!   it can lag (a weaker rollback check for a moment) but never refuse a
//!   sound store. It is the only writer of the guard file while it runs.
//! - A failed flush or guard write is reported by [`Syncer::synced`] as a
//!   [`StoreError`]; the member must stop (carrying on after a failed fsync
//!   could break Raft's promises).
//! - Dropping the syncer ends both threads and waits for them.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use super::{write_file, Guard, StoreError, GUARD_EVERY, GUARD_FILE};
use crate::config::Fsync;

/// Called (from the fsync thread) whenever `synced` moved or failed.
pub type SyncWaker = Arc<dyn Fn() + Send + Sync>;

/// The fsync thread and the guard thread of one store.
pub(super) struct Syncer {
    requests: Option<mpsc::Sender<Request>>,
    guards: Option<mpsc::Sender<Guard>>,
    progress: Arc<Mutex<Progress>>,
    threads: Vec<JoinHandle<()>>,
}

/// What the threads report.
#[derive(Debug, Default)]
struct Progress {
    synced: u64,
    failure: Option<String>,
}

/// "The writes of Ready `number` are in sled; make them durable."
struct Request {
    number: u64,
    floor: Guard,
}

impl Syncer {
    /// Starts both threads over `db`; `written` is the guard file's floor.
    pub(super) fn start(
        db: sled::Db,
        dir: PathBuf,
        written: Guard,
        wake: SyncWaker,
    ) -> std::io::Result<Syncer> {
        let progress = Arc::new(Mutex::new(Progress::default()));
        let (requests, rx) = mpsc::channel::<Request>();
        let (guards, guard_rx) = mpsc::channel::<Guard>();
        let guard_thread = {
            let progress = progress.clone();
            let wake = wake.clone();
            std::thread::Builder::new()
                .name("lns-cluster-guard".into())
                .spawn(move || write_guards(&dir, written, &guard_rx, &progress, &wake))?
        };
        let flush_thread = {
            let progress = progress.clone();
            let guards = guards.clone();
            std::thread::Builder::new()
                .name("lns-cluster-fsync".into())
                .spawn(move || flush_loop(&db, &rx, &guards, &progress, &wake))?
        };
        Ok(Syncer {
            requests: Some(requests),
            guards: Some(guards),
            progress,
            // The fsync thread first: it holds a guard sender.
            threads: vec![flush_thread, guard_thread],
        })
    }

    /// Asks for Ready `number` (and everything before it) to be made
    /// durable; `floor` is the hard state it carries.
    pub(super) fn request(&self, number: u64, floor: Guard) {
        let sent = self
            .requests
            .as_ref()
            .is_some_and(|r| r.send(Request { number, floor }).is_ok());
        if !sent {
            self.fail("the fsync thread stopped".into());
        }
    }

    /// Hands a floor made durable by a flush on another thread to the guard
    /// thread (it writes the file when due).
    pub(super) fn durable(&self, floor: Guard) {
        let sent = self.guards.as_ref().is_some_and(|g| g.send(floor).is_ok());
        if !sent {
            self.fail("the guard thread stopped".into());
        }
    }

    /// The highest Ready number known durable (0: none yet), or the failure.
    pub(super) fn synced(&self) -> Result<u64, StoreError> {
        let p = self
            .progress
            .lock()
            .map_err(|_| StoreError::Damaged("the fsync thread panicked".into()))?;
        match &p.failure {
            Some(why) => Err(StoreError::Damaged(why.clone())),
            None => Ok(p.synced),
        }
    }

    fn fail(&self, why: String) {
        if let Ok(mut p) = self.progress.lock() {
            p.failure.get_or_insert(why);
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.requests.take();
        self.guards.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer").finish_non_exhaustive()
    }
}

/// The fsync thread: one flush for everything queued, then report.
fn flush_loop(
    db: &sled::Db,
    rx: &mpsc::Receiver<Request>,
    guards: &mpsc::Sender<Guard>,
    progress: &Mutex<Progress>,
    wake: &SyncWaker,
) {
    while let Ok(mut last) = rx.recv() {
        while let Ok(r) = rx.try_recv() {
            last = r;
        }
        let outcome = db.flush();
        if let Ok(mut p) = progress.lock() {
            match outcome {
                Ok(_) => p.synced = p.synced.max(last.number),
                Err(ref e) => {
                    p.failure.get_or_insert(format!("fsync failed: {e}"));
                }
            }
        }
        wake();
        if outcome.is_err() {
            return;
        }
        let _ = guards.send(last.floor);
    }
}

/// The guard thread: writes the latest durable floor when it is due.
fn write_guards(
    dir: &std::path::Path,
    mut written: Guard,
    rx: &mpsc::Receiver<Guard>,
    progress: &Mutex<Progress>,
    wake: &SyncWaker,
) {
    while let Ok(mut floor) = rx.recv() {
        while let Ok(f) = rx.try_recv() {
            floor = f;
        }
        let due = floor.term != written.term
            || floor.vote != written.vote
            || floor.commit >= written.commit + GUARD_EVERY;
        if !due {
            continue;
        }
        match write_file(dir, Fsync::Always, GUARD_FILE, floor.render().as_bytes()) {
            Ok(()) => written = floor,
            Err(e) => {
                if let Ok(mut p) = progress.lock() {
                    p.failure.get_or_insert(e.to_string());
                }
                wake();
                return;
            }
        }
    }
}
