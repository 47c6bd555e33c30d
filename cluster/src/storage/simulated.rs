//! A simulated disk for the deterministic simulator: the in-memory store
//! with raft-rs "async ready" semantics, where writes become durable only
//! when the test completes a sync and a crash loses everything after the
//! last completed one.
//!
//! Contract:
//! - A store on a [`SimulatedDisk`] ([`LogStore::on_simulated_disk`])
//!   reports background sync, so the core takes the same path as with
//!   sled and the fsync thread: a Ready's persisted messages wait until
//!   [`LogStore::synced`] reaches its number.
//! - `request_sync(number)` records the store's whole image as it is after
//!   Ready `number`'s writes; [`SimulatedDisk::complete`] makes the images
//!   up to a number durable (the test picks when: a seeded delay), in order.
//!   `LogStore::sync` (a Ready carrying a snapshot) makes everything durable
//!   at once, like a synchronous fsync.
//! - [`SimulatedDisk::after_crash`] is the store a restarted member finds:
//!   the last durable image only, with no sync pending.
//! - Deterministic: no threads, no clock; the test drives everything.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};

use super::LogStore;

/// A handle to one member's simulated disk, shared by its store and the
/// test driving it. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SimulatedDisk(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    /// What survives a crash.
    durable: Image,
    /// The highest Ready number durable since the (re)start.
    synced: u64,
    /// Images recorded by `request_sync`, oldest first, not yet durable.
    requested: VecDeque<(u64, Image)>,
}

/// Everything a store persists.
#[derive(Debug, Clone, Default)]
pub(super) struct Image {
    pub(super) hard_state: HardState,
    pub(super) conf_state: ConfState,
    pub(super) snapshot: Snapshot,
    pub(super) entries: Vec<Entry>,
}

impl SimulatedDisk {
    pub fn new() -> Self {
        SimulatedDisk::default()
    }

    /// The highest Ready number whose sync was requested and is not yet
    /// durable, if any.
    pub fn pending(&self) -> Option<u64> {
        self.state().requested.back().map(|(n, _)| *n)
    }

    /// Completes the syncs of every Ready up to `number` (one flush covers
    /// everything written before it).
    pub fn complete(&self, number: u64) {
        let mut s = self.state();
        let mut last = None;
        while s.requested.front().is_some_and(|(n, _)| *n <= number) {
            last = s.requested.pop_front();
        }
        if let Some((n, image)) = last {
            s.durable = image;
            s.synced = s.synced.max(n);
        }
    }

    /// The store a restarted member finds: the last durable image, nothing
    /// pending, Ready numbers counted afresh.
    pub fn after_crash(&self) -> LogStore {
        let image = {
            let mut s = self.state();
            s.requested.clear();
            s.synced = 0;
            s.durable.clone()
        };
        LogStore::from_image(image, Some(self.clone()))
    }

    /// Last index of the durable log (tests: how much a crash would lose).
    pub fn durable_last_index(&self) -> u64 {
        let s = self.state();
        s.durable.snapshot.get_metadata().index + s.durable.entries.len() as u64
    }

    pub(super) fn start(&self, image: Image) {
        let mut s = self.state();
        s.durable = image;
        s.synced = 0;
        s.requested.clear();
    }

    pub(super) fn request(&self, number: u64, image: Image) {
        self.state().requested.push_back((number, image));
    }

    pub(super) fn synced(&self) -> u64 {
        self.state().synced
    }

    /// A synchronous fsync: everything written so far is durable.
    pub(super) fn sync_all(&self, image: Image) {
        let mut s = self.state();
        if let Some((n, _)) = s.requested.back() {
            s.synced = s.synced.max(*n);
        }
        s.requested.clear();
        s.durable = image;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock is never held across a panic point that matters: a
        // poisoned lock still holds a consistent image.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
