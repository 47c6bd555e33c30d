//! # lns-cluster: Raft replication of opaque commands
//!
//! Contract: replicates opaque byte commands through Raft (tikv raft-rs 0.7)
//! and applies them, in the same order on every member, to a state machine
//! supplied by the caller. Never names L2TP, PPP or RADIUS.
//!
//! ```text
//!   caller ── Member (handle) ──cmd channel──▶ member task ── owns ──▶ MemberCore
//!                  ▲                             │   │                 ├ RawNode<LogStore>
//!    watch<Leadership> ◀────────────────────────┘   │                 ├ Lease, witness rule
//!                                                    │                 └ StateMachine
//!      peer gRPC server ──inbound channel──────────▶ │
//!      per-peer sender tasks ◀──bounded queues────── ┘ (one per peer)
//! ```
//!
//! - [`core`]: the sans-IO member (raft-rs `RawNode`, `Ready` handling,
//!   batching, proposals, witness, compaction). The simulator drives it.
//! - [`contract`]: the types exchanged with callers and drivers.
//! - [`lease`]: when a leader is *active*; the safety and timing argument.
//! - [`storage`]: the raft log on sled, with corruption detection.
//! - [`transport`]: tonic gRPC between members, shared-secret authentication.
//! - [`member`]: the tokio task that owns a `MemberCore` and its handle.
//! - [`config`]: members, roles, failover mode and timers, validated.

pub mod config;
pub mod contract;
pub mod core;
pub mod lease;
pub mod log_bridge;
pub mod member;
pub mod storage;
pub mod transport;

/// Generated types of `proto/schema/peer.proto`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all
)]
pub mod pb {
    tonic::include_proto!("lns.cluster.peer.v1");
}

pub use crate::config::{
    Bootstrap, ClusterConfig, ConfigError, FailoverMode, Fsync, MemberId, MemberKind, PeerSpec,
    Timing,
};
pub use crate::core::{
    Activity, ClusterStatus, Event, Leadership, MemberCore, MemberStatus, Membership,
    MembershipChange, ProposeError, RestoreError, Role, StateMachine,
};
pub use crate::lease::Micros;
pub use crate::member::{Member, StartError, PROPOSE_TIMEOUT};
pub use crate::storage::{LogStore, StoreError};
pub use crate::transport::{Secret, SecretError};
