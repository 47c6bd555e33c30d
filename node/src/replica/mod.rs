//! # The replicated engine: lnsd's Raft state machine (DESIGN.md D1)
//!
//! Contract: a [`Replica`] owns an [`Engine`] and applies committed
//! [`Command`]s to it: every input in order, at the command's `now`, with
//! the entropy expanded from the command's 32-byte seed ([`SeedEntropy`],
//! ChaCha20). The same commands give the same engine state and the same
//! outputs on every member, bit for bit. A command that does not decode
//! (malformed, or written by a newer version) is refused with a typed
//! [`CommandError`] *before* any input is applied: the state does not
//! change. Outputs go, with the log index, to the control side through an
//! unbounded channel ([`ReplicaEvent`]): the active node performs them,
//! standbys only apply the data-plane table updates.
//!
//! The replica also keeps, outside the engine, the engine configuration
//! fingerprint and settings the log last carried and this member's
//! [`Consistency`] with them ([`fingerprint`], [`settings`]), and counts
//! the snapshots installed from a leader after start-up (catch-up of a
//! member behind the compacted log). An `lns` member runs its own
//! configuration and only compares ([`ConfigSource::Own`]); a witness
//! runs the engine settings the log carries ([`ConfigSource::Log`]):
//! when a command or a snapshot carries settings that differ from the
//! ones it runs, it rebuilds its engine with them at that point of the
//! log, so its state (and the snapshots it sends) are the active node's
//! whatever engine sections its own file holds.
//!
//! [`SharedReplica`] is the handle given to the Raft member (whose thread
//! applies) and kept by the control task for reads (status views, the
//! next timer); the lock is held for one command at a time.

pub mod canon;
pub mod command;
pub mod fingerprint;
pub mod settings;

pub use command::{Command, CommandError, SeedEntropy, COMMAND_VERSION};
pub use fingerprint::{ConfigFingerprint, Consistency};
pub use settings::{EngineSettings, SettingsError};

use crate::dataplane::SessionEntry;
use crate::engine::snapshot::SnapshotError;
use crate::engine::{Engine, EngineConfig, Output};
use lns_cluster::{RestoreError, StateMachine};
use lns_proto::pb::lnsd as pb;
use lns_proto::time::Timestamp;
use prost::Message;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// What the replica tells the control side.
#[derive(Debug)]
pub enum ReplicaEvent {
    /// A command was applied at this log index.
    Applied {
        /// The Raft log index.
        index: u64,
        /// The engine's outputs, in order.
        outputs: Vec<Output>,
        /// When the engine wants the next `Tick`.
        next_timeout: Option<Timestamp>,
    },
    /// The state was replaced by a snapshot (catch-up): the data plane
    /// must be rebuilt from these sessions.
    Restored {
        /// The snapshot's log index.
        index: u64,
        /// Every session the data plane should carry.
        sessions: Vec<SessionEntry>,
        /// When the engine wants the next `Tick`.
        next_timeout: Option<Timestamp>,
    },
}

/// Where a member's engine configuration comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// Its own file (an `lns` member): compared with the log's, never
    /// replaced.
    Own,
    /// The settings the log carries (a witness), over its own file's.
    Log,
}

/// The replicated engine.
#[derive(Debug)]
pub struct Replica {
    engine: Engine,
    config: EngineConfig,
    source: ConfigSource,
    /// `config`'s settings.
    own_settings: EngineSettings,
    /// The settings the log (or the last snapshot) last carried.
    log_settings: Option<EngineSettings>,
    applied: u64,
    events: Option<mpsc::UnboundedSender<ReplicaEvent>>,
    /// This member's fingerprint of `config`.
    own: ConfigFingerprint,
    /// The fingerprint the log (or the last snapshot) last carried.
    reference: Option<ConfigFingerprint>,
    /// Set once the member has started: later restores are installs.
    started: bool,
    snapshots_installed: u64,
}

impl Replica {
    /// An empty engine; events go to `events` (none in tests).
    pub fn new(
        config: EngineConfig,
        events: Option<mpsc::UnboundedSender<ReplicaEvent>>,
    ) -> Replica {
        let own_settings = EngineSettings::of(&config);
        Replica {
            engine: Engine::new(config.clone()),
            own: ConfigFingerprint::of_settings(&own_settings),
            own_settings,
            log_settings: None,
            source: ConfigSource::Own,
            config,
            applied: 0,
            events,
            reference: None,
            started: false,
            snapshots_installed: 0,
        }
    }

    /// The same replica taking its engine settings from `source`.
    pub fn with_source(mut self, source: ConfigSource) -> Replica {
        self.source = source;
        self
    }

    /// Decodes and applies one command; returns the outputs. On error
    /// nothing was applied.
    pub fn apply_command(&mut self, index: u64, bytes: &[u8]) -> Result<Vec<Output>, CommandError> {
        let command = Command::decode(bytes)?;
        if let Some(s) = command.settings {
            if let Some(config) = self.adopt_settings(s) {
                match Engine::restore(config.clone(), &self.engine.snapshot()) {
                    Ok(engine) => {
                        self.engine = engine;
                        self.run_config(config);
                    }
                    Err(e) => tracing::error!(
                        "cannot rebuild the engine with the active node's settings: {e}"
                    ),
                }
            }
        }
        if let Some(f) = command.fingerprint {
            self.adopt_reference(f);
        }
        let mut entropy = SeedEntropy::new(command.seed);
        let mut outputs = Vec::new();
        for input in command.inputs {
            self.engine.apply(command.now, input, &mut entropy);
            while let Some(o) = self.engine.poll_output() {
                outputs.push(o);
            }
        }
        self.applied = index;
        Ok(outputs)
    }

    /// SIGHUP: the new LAC table and pools (every member must load the
    /// same ones, or their engines diverge).
    pub fn reconfigure(
        &mut self,
        peers: lns_proto::l2tp::PeerTable,
        pools: Vec<crate::engine::PoolSpec>,
    ) {
        self.config.endpoint.peers = peers.clone();
        self.config.pools = pools.clone();
        self.engine.reconfigure(peers, pools);
        self.own_settings = EngineSettings::of(&self.config);
        self.own = ConfigFingerprint::of_settings(&self.own_settings);
        self.log_consistency();
    }

    /// This member's engine settings (what the active node announces).
    pub fn settings(&self) -> &EngineSettings {
        &self.own_settings
    }

    /// Keeps `s` as the log's settings; for a witness, the configuration
    /// to rebuild the engine with when it differs from the one it runs.
    fn adopt_settings(&mut self, s: EngineSettings) -> Option<EngineConfig> {
        if self.log_settings.as_ref() == Some(&s) {
            return None;
        }
        self.log_settings = Some(s.clone());
        if self.source == ConfigSource::Own || s == self.own_settings {
            return None;
        }
        match s.apply(&self.config) {
            Ok(config) => Some(config),
            Err(e) => {
                tracing::error!(
                    "cannot run the active node's engine settings ({e}): this witness keeps its \
                     own, and its state may differ (upgrade it to the active node's version)"
                );
                None
            }
        }
    }

    /// Runs `config` from now on (a witness adopting the log's settings).
    fn run_config(&mut self, config: EngineConfig) {
        self.own_settings = EngineSettings::of(&config);
        self.own = ConfigFingerprint::of_settings(&self.own_settings);
        self.config = config;
        tracing::info!("this witness now runs the active node's engine settings");
    }

    /// This member's engine configuration fingerprint.
    pub fn fingerprint(&self) -> &ConfigFingerprint {
        &self.own
    }

    /// Whether this member's configuration is the one the log carries.
    pub fn consistency(&self) -> Consistency {
        self.own.check(self.reference.as_ref())
    }

    /// Marks the end of start-up: a snapshot restored from now on came
    /// from a leader (catch-up).
    pub fn mark_started(&mut self) {
        self.started = true;
    }

    /// Snapshots installed from a leader since start-up.
    pub fn snapshots_installed(&self) -> u64 {
        self.snapshots_installed
    }

    /// The log carried `reference`: compare and say so when it differs.
    fn adopt_reference(&mut self, reference: ConfigFingerprint) {
        let changed = self.reference.as_ref() != Some(&reference);
        self.reference = Some(reference);
        if changed {
            self.log_consistency();
        }
    }

    fn log_consistency(&self) {
        match self.consistency() {
            Consistency::Differs(sections) => tracing::error!(
                ?sections,
                "this member's configuration differs from the active node's: it cannot \
                 derive the same state from the log and will not serve until its \
                 configuration matches (RUNBOOK: the configuration must match)"
            ),
            Consistency::Matches => {
                tracing::info!("configuration fingerprint matches the active node's")
            }
            Consistency::Unknown => {}
        }
    }

    /// The engine (read only).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The last applied log index.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The engine state in its versioned encoding.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let mut s = self.engine.snapshot();
        s.config_fingerprint = self.reference.as_ref().map(ConfigFingerprint::to_pb);
        s.cfg_settings = self.log_settings.as_ref().map(EngineSettings::to_pb);
        s.encode_to_vec()
    }

    /// Replaces the state by a snapshot; on error the state is unchanged.
    pub fn restore_bytes(&mut self, index: u64, bytes: &[u8]) -> Result<(), SnapshotError> {
        let s = pb::EngineSnapshot::decode(bytes)
            .map_err(|_| SnapshotError::BadField("snapshot encoding"))?;
        // The snapshot's settings come before its state: a witness builds
        // the restored engine with them.
        let previous = self.log_settings.clone();
        let adopted = s
            .cfg_settings
            .as_ref()
            .and_then(|p| self.adopt_settings(EngineSettings::from_pb(p)));
        let config = adopted.clone().unwrap_or_else(|| self.config.clone());
        self.engine = match Engine::restore(config, &s) {
            Ok(engine) => engine,
            Err(e) => {
                self.log_settings = previous;
                return Err(e);
            }
        };
        if let Some(config) = adopted {
            self.run_config(config);
        }
        self.applied = index;
        if self.started {
            self.snapshots_installed += 1;
        }
        if let Some(f) = &s.config_fingerprint {
            self.adopt_reference(ConfigFingerprint::from_pb(f));
        }
        Ok(())
    }

    /// The data-plane entries of every session (after a restore).
    pub fn data_plane_entries(&self) -> Vec<SessionEntry> {
        let endpoint = self.engine.endpoint();
        self.engine
            .sessions()
            .map(|s| crate::engine::data_plane_entry(endpoint, s))
            .collect()
    }
}

/// The replica shared between the Raft member (writer) and the control
/// task (reader).
#[derive(Debug, Clone)]
pub struct SharedReplica(Arc<Mutex<Replica>>);

impl SharedReplica {
    /// Shares `replica`.
    pub fn new(replica: Replica) -> SharedReplica {
        SharedReplica(Arc::new(Mutex::new(replica)))
    }

    /// Locks the replica (a poisoned lock still holds a consistent engine:
    /// every apply completes before the guard is dropped).
    pub fn lock(&self) -> MutexGuard<'_, Replica> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StateMachine for SharedReplica {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        let mut r = self.lock();
        match r.apply_command(index, command) {
            Ok(outputs) => {
                let next_timeout = r.engine.poll_timeout();
                if let Some(tx) = &r.events {
                    let _ = tx.send(ReplicaEvent::Applied {
                        index,
                        outputs,
                        next_timeout,
                    });
                }
                Vec::new()
            }
            Err(e) => {
                tracing::error!(index, "committed command refused: {e}");
                e.to_string().into_bytes()
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        self.lock().snapshot_bytes()
    }

    fn restore(&mut self, index: u64, snapshot: &[u8]) -> Result<(), RestoreError> {
        let mut r = self.lock();
        r.restore_bytes(index, snapshot)
            .map_err(|e| RestoreError(e.to_string()))?;
        let sessions = r.data_plane_entries();
        let next_timeout = r.engine.poll_timeout();
        if let Some(tx) = &r.events {
            let _ = tx.send(ReplicaEvent::Restored {
                index,
                sessions,
                next_timeout,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
