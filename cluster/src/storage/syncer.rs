//! Background persistence of a sled store: the sled writes, the fsyncs and
//! the guard file leave the member thread, so it keeps taking proposals,
//! acknowledgements and appends while a batch reaches the disk (raft-rs
//! "async ready").
//!
//! Contract:
//! - [`Syncer::write`] queues a write (log segments, metadata values); the
//!   writer thread applies the queued writes to sled in the order they were
//!   queued. Nothing on the member thread touches sled while it runs.
//! - [`Syncer::request`] is queued after the writes of Ready `number`. The
//!   writer thread then flushes sled (group commit: every request queued
//!   meanwhile shares one flush), and only after that flush reports
//!   `number` in [`Syncer::synced`] and calls the waker. A flush covers
//!   every write applied before it started, so a reported number means that
//!   Ready and every earlier one are durable.
//! - [`Syncer::applied_mark`] returns a receiver that fires once every
//!   write queued before it is in sled (not necessarily durable): a caller
//!   that then flushes sled itself (the snapshot writer) or writes sled
//!   directly (a snapshot from the leader) sees them all.
//! - The guard file is written by a thread of its own, only ever from a
//!   floor (term, vote, commit) that a completed flush made durable, and
//!   only when the term or vote changed (at once) or the commit index moved
//!   by `GUARD_EVERY` (at most every `GUARD_PACE`; a floor held back is
//!   written when the pace allows, or when the store stops): the guard
//!   never claims more than the database holds, so
//!   it can lag (a weaker rollback check for a moment) but never refuse a
//!   sound store. It is the only writer of the guard file while it runs.
//! - A failed flush or guard write is reported by [`Syncer::synced`] as a
//!   [`StoreError`]; the member must stop (carrying on after a failed fsync
//!   could break Raft's promises).
//! - Own trees of segments wholly below the snapshot
//!   ([`super::segments::LogOp::DropStale`]) are dropped by a third thread,
//!   at background priority and in no particular order with the other
//!   writes: nothing reads or writes them again, and one a crash leaves is
//!   found stale again at the next start.
//! - Dropping the syncer ends the threads and waits for them (pending
//!   stale trees are dropped first).

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A floor whose only change is the commit index is written at most this
/// often: each write is a file creation, two fsyncs and a rename, which the
/// filesystem's journal serialises with every member's log fsync.
const GUARD_PACE: Duration = Duration::from_millis(100);

use super::durable::Durable;
use super::segments::LogOp;
use super::{write_file, Guard, StoreError, GUARD_EVERY, GUARD_FILE};
use crate::config::Fsync;

/// Called (from the fsync thread) whenever `synced` moved or failed.
pub type SyncWaker = Arc<dyn Fn() + Send + Sync>;

/// The fsync thread, the guard thread and the stale-tree thread of one
/// store.
pub(super) struct Syncer {
    requests: Option<mpsc::Sender<Job>>,
    guards: Option<mpsc::Sender<Guard>>,
    stale: Option<mpsc::Sender<u64>>,
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

/// One write to apply to sled, in queue order.
pub(super) struct Write {
    pub(super) log: Vec<super::segments::LogOp>,
    pub(super) meta: Vec<(&'static [u8], Vec<u8>)>,
}

/// What the writer thread is asked to do, in order.
enum Job {
    Write(Write),
    Sync(Request),
    /// Signals once every earlier job's writes are in sled.
    Mark(mpsc::Sender<()>),
}

impl Syncer {
    /// Starts both threads over `db` (its `log` and `meta` trees); `written`
    /// is the guard file's floor.
    pub(super) fn start(
        durable: Arc<Durable>,
        trees: (sled::Tree, sled::Tree),
        dir: PathBuf,
        written: Guard,
        wake: SyncWaker,
    ) -> std::io::Result<Syncer> {
        let progress = Arc::new(Mutex::new(Progress::default()));
        let (requests, rx) = mpsc::channel::<Job>();
        let (guards, guard_rx) = mpsc::channel::<Guard>();
        let guard_thread = {
            let progress = progress.clone();
            let wake = wake.clone();
            std::thread::Builder::new()
                .name("lns-cluster-guard".into())
                .spawn(move || write_guards(&dir, written, &guard_rx, &progress, &wake))?
        };
        let (stale, stale_rx) = mpsc::channel::<u64>();
        let stale_thread = {
            let progress = progress.clone();
            let db = durable.db().clone();
            std::thread::Builder::new()
                .name("lns-cluster-stale".into())
                .spawn(move || drop_stale(&db, &stale_rx, &progress))?
        };
        let flush_thread = {
            let progress = progress.clone();
            let guards = guards.clone();
            std::thread::Builder::new()
                .name("lns-cluster-fsync".into())
                .spawn(move || flush_loop(&durable, &trees, &rx, &guards, &progress, &wake))?
        };
        Ok(Syncer {
            requests: Some(requests),
            guards: Some(guards),
            stale: Some(stale),
            progress,
            // The fsync thread first: it holds a guard sender.
            threads: vec![flush_thread, guard_thread, stale_thread],
        })
    }

    /// Asks for Ready `number` (and everything before it) to be made
    /// durable; `floor` is the hard state it carries.
    pub(super) fn request(&self, number: u64, floor: Guard) {
        self.queue(Job::Sync(Request { number, floor }));
    }

    /// Queues a write; the writer thread applies it after every earlier one.
    /// Stale trees to drop go to their own thread instead, in no particular
    /// order with the rest.
    pub(super) fn write(&self, mut w: Write) {
        w.log.retain(|op| match op {
            LogOp::DropStale(key) => {
                let sent = self.stale.as_ref().is_some_and(|s| s.send(*key).is_ok());
                if !sent {
                    self.fail("the stale-tree thread stopped".into());
                }
                false
            }
            _ => true,
        });
        if !w.log.is_empty() || !w.meta.is_empty() {
            self.queue(Job::Write(w));
        }
    }

    /// A receiver that fires once every write queued so far is in sled
    /// (it disconnects instead if the writer stopped).
    pub(super) fn applied_mark(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        self.queue(Job::Mark(tx));
        rx
    }

    fn queue(&self, job: Job) {
        let sent = self.requests.as_ref().is_some_and(|r| r.send(job).is_ok());
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
        self.stale.take();
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

/// The writer thread: applies every queued write in order, then one flush
/// for every sync request among them, then reports.
fn flush_loop(
    durable: &Durable,
    (log, meta): &(sled::Tree, sled::Tree),
    rx: &mpsc::Receiver<Job>,
    guards: &mpsc::Sender<Guard>,
    progress: &Mutex<Progress>,
    wake: &SyncWaker,
) {
    while let Ok(first) = rx.recv() {
        let mut last: Option<Request> = None;
        let mut written = Ok(());
        for job in std::iter::once(first).chain(rx.try_iter()) {
            match job {
                Job::Write(w) if written.is_ok() => {
                    written = apply(durable.db(), log, meta, w);
                }
                Job::Write(_) => {}
                Job::Sync(r) => last = Some(r),
                // Dropping the sender on failure disconnects the waiter.
                Job::Mark(tx) if written.is_ok() => {
                    let _ = tx.send(());
                }
                Job::Mark(_) => {}
            }
        }
        let outcome = match (written, &last) {
            (Err(e), _) => Err(StoreError::from(e)),
            (Ok(()), Some(_)) => durable.flush(),
            (Ok(()), None) => continue,
        };
        if let Ok(mut p) = progress.lock() {
            match (&outcome, &last) {
                (Ok(()), Some(r)) => p.synced = p.synced.max(r.number),
                (Ok(()), None) => {}
                (Err(e), _) => {
                    p.failure
                        .get_or_insert(format!("write or fsync failed: {e}"));
                }
            }
        }
        wake();
        if outcome.is_err() {
            return;
        }
        if let Some(r) = last {
            let _ = guards.send(r.floor);
        }
    }
}

fn apply(db: &sled::Db, log: &sled::Tree, meta: &sled::Tree, w: Write) -> sled::Result<()> {
    super::segments::apply(db, log, w.log)?;
    for (key, value) in w.meta {
        meta.insert(key, value)?;
    }
    Ok(())
}

/// The stale-tree thread: drops the own trees of segments wholly below the
/// snapshot, at background priority. Dropping a tree took up to 3-6 ms of
/// the writer thread under load (a quarter of its sled time), ahead of
/// every flush; these trees are never read or written again, and one left
/// by a crash is found stale again at the next start.
fn drop_stale(db: &sled::Db, rx: &mpsc::Receiver<u64>, progress: &Mutex<Progress>) {
    super::background_priority();
    for key in rx {
        if let Err(e) = db.drop_tree(super::segments::own_name(key)) {
            if let Ok(mut p) = progress.lock() {
                p.failure
                    .get_or_insert(format!("dropping a compacted segment failed: {e}"));
            }
            return;
        }
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
    let mut pending: Option<Guard> = None;
    let mut last_write = Instant::now();
    loop {
        // A floor held back by the pace is written once the pace allows,
        // even if no newer floor comes.
        let next = match pending {
            Some(_) => rx.recv_timeout(GUARD_PACE.saturating_sub(last_write.elapsed())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(f) => pending = Some(f),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Stopping: a floor held back by the pace is written now.
                if let Some(floor) = pending.filter(|f| *f != written) {
                    let _ = write_file(dir, Fsync::Always, GUARD_FILE, floor.render().as_bytes());
                }
                return;
            }
        }
        while let Ok(f) = rx.try_recv() {
            pending = Some(f);
        }
        let Some(floor) = pending else { continue };
        match guard_step(&written, &floor, last_write.elapsed()) {
            GuardStep::Write => {}
            GuardStep::Wait => continue,
            GuardStep::Skip => {
                pending = None;
                continue;
            }
        }
        pending = None;
        match write_file(dir, Fsync::Always, GUARD_FILE, floor.render().as_bytes()) {
            Ok(()) => {
                written = floor;
                last_write = Instant::now();
            }
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

/// What the guard thread does with the latest durable floor.
#[derive(Debug, PartialEq, Eq)]
enum GuardStep {
    /// Write it now.
    Write,
    /// Keep it, and write it once the pace allows.
    Wait,
    /// Nothing to record yet (the commit index moved too little).
    Skip,
}

/// The guard's rule: a new term or vote is written at once (forgetting a
/// vote breaks Raft); a commit index that moved by `GUARD_EVERY` is written
/// once `GUARD_PACE` has passed since the last write.
fn guard_step(written: &Guard, floor: &Guard, since_last_write: Duration) -> GuardStep {
    if floor.term != written.term || floor.vote != written.vote {
        GuardStep::Write
    } else if floor.commit < written.commit + GUARD_EVERY {
        GuardStep::Skip
    } else if since_last_write >= GUARD_PACE {
        GuardStep::Write
    } else {
        GuardStep::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(term: u64, vote: u64, commit: u64) -> Guard {
        Guard { term, vote, commit }
    }

    #[test]
    fn a_new_term_or_vote_is_written_at_once_whatever_the_pace() {
        let written = g(2, 1, 5000);
        let soon = Duration::ZERO;
        assert_eq!(guard_step(&written, &g(3, 1, 5000), soon), GuardStep::Write);
        assert_eq!(guard_step(&written, &g(2, 3, 5001), soon), GuardStep::Write);
    }

    #[test]
    fn a_moved_commit_index_waits_for_the_pace_then_is_written() {
        let written = g(2, 1, 5000);
        let moved = g(2, 1, 5000 + GUARD_EVERY);
        let early = GUARD_PACE - Duration::from_millis(1);
        assert_eq!(guard_step(&written, &moved, early), GuardStep::Wait);
        assert_eq!(guard_step(&written, &moved, GUARD_PACE), GuardStep::Write);
        let little = g(2, 1, 5000 + GUARD_EVERY - 1);
        assert_eq!(guard_step(&written, &little, GUARD_PACE), GuardStep::Skip);
    }
}
