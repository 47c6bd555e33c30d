//! Read-only questions to the control task (the management API's reads).
//!
//! Contract (DESIGN.md D4: the control task is the only owner of the
//! engine): a [`Query`] is a closure the control task runs between two
//! inputs with shared references to the engine and the data plane; it must
//! only read and answer (typically through a oneshot channel). It travels
//! in [`super::ControlSignal::Query`] on the bounded signal channel, so a
//! busy control task makes the asker wait, and the asker bounds that wait
//! with a timeout (see `mgmt/daemon_backend.rs`).

use super::Plane;
use crate::engine::Engine;
use std::fmt;

/// What a [`Query`] runs.
type Question = Box<dyn FnOnce(&Engine, &dyn Plane) + Send>;

/// A question for the control task.
pub struct Query(Question);

impl Query {
    /// Wraps a read-only closure.
    pub fn new(f: impl FnOnce(&Engine, &dyn Plane) + Send + 'static) -> Query {
        Query(Box::new(f))
    }

    /// Runs it (the control task, between two inputs).
    pub fn answer(self, engine: &Engine, plane: &dyn Plane) {
        (self.0)(engine, plane)
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Query")
    }
}
