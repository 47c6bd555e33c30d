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
//! - [`storage`]: the raft log on sled, with corruption detection; its
//!   fsyncs, guard file and snapshot files are written off the member thread.
//! - [`transport`]: tonic gRPC between members.
//! - [`auth`]: both-way authentication with the shared secret (HMAC proofs).
//! - [`forward`]: operator requests one member hands to another (opaque).
//! - [`tls`]: optional mutual TLS (rustls) on the peer transport.
//! - [`member`]: the tokio task that owns a `MemberCore` and its handle.
//! - [`config`]: members, roles, failover mode and timers, validated.
//!
//! ```no_run
//! use lns_cluster::{ClusterConfig, Member, MemberKind, PeerSpec, RestoreError, Secret, StateMachine};
//!
//! struct Counter(u64);
//! impl StateMachine for Counter {
//!     fn apply(&mut self, _index: u64, _command: &[u8]) -> Vec<u8> {
//!         self.0 += 1;
//!         self.0.to_be_bytes().to_vec()
//!     }
//!     fn snapshot(&self) -> Vec<u8> {
//!         self.0.to_be_bytes().to_vec()
//!     }
//!     fn restore(&mut self, _index: u64, s: &[u8]) -> Result<(), RestoreError> {
//!         let b: [u8; 8] = s.try_into().map_err(|_| RestoreError("length".into()))?;
//!         self.0 = u64::from_be_bytes(b);
//!         Ok(())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let peer = |addr: &str, kind| PeerSpec { address: addr.into(), kind };
//! let members = [
//!     (1, peer("198.18.0.1:7100", MemberKind::Eligible)),
//!     (2, peer("198.18.0.2:7100", MemberKind::Eligible)),
//!     (3, peer("198.18.0.3:7100", MemberKind::Witness)),
//! ];
//! let config = ClusterConfig::new(1, members.into_iter().collect());
//! let secret = Secret::new("a-long-shared-cluster-secret")?;
//! let member = Member::start(config, Counter(0), "/var/lib/lnsd/raft".as_ref(), secret).await?;
//! let mut watch = member.leadership();
//! watch.changed().await?; // term, leader, role and activity
//! if member.is_active() {
//!     let result = member.propose(b"an opaque command".to_vec()).await?;
//!     assert_eq!(result.len(), 8);
//! }
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod config;
pub mod contract;
pub mod core;
pub mod fence;
pub mod forward;
pub mod lease;
pub mod log_bridge;
pub mod member;
pub mod storage;
pub mod tls;
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

pub use crate::auth::{AuthError, Secret, SecretError};
pub use crate::config::{
    Bootstrap, ClusterConfig, ConfigError, FailoverMode, Fsync, MemberId, MemberKind, PeerSpec,
    Timing,
};
pub use crate::core::{
    Activity, ClusterStatus, Event, Leadership, MemberCore, MemberStatus, Membership,
    MembershipChange, MembershipRefusal, ProposeError, RestoreError, Role, SnapshotView,
    StateMachine,
};
pub use crate::fence::LeaseFence;
pub use crate::forward::{ForwardError, ForwardFuture, ForwardHandler};
pub use crate::lease::Micros;
pub use crate::member::{Member, StartError, PROPOSE_TIMEOUT};
pub use crate::storage::{LogStore, SimulatedDisk, SnapshotData, StoreError, SyncWaker};
pub use crate::tls::{TlsConfig, TlsError};
pub use crate::transport::Credentials;
