//! The cluster side of the management API, as a trait object the daemon
//! plugs in when the node has a `[cluster]` section.
//!
//! Contract: [`ClusterOps`] answers `lnsctl cluster ...` and `lnsctl drill
//! switchover`; the daemon backend holds an `Option<Arc<dyn ClusterOps>>`
//! and without one answers FAILED_PRECONDITION with [`NOT_A_MEMBER`].
//! Errors are [`BackendError`]s, so a standby can refuse a write with
//! `NotActive` and the active node's address.

use std::future::Future;
use std::pin::Pin;

use super::backend::BackendResult;
use super::pb;

/// What a single node answers to cluster commands.
pub const NOT_A_MEMBER: &str = "this node is not a cluster member (no [cluster] in its config)";

/// A boxed future (object-safe async methods).
pub type OpFuture<'a, T> = Pin<Box<dyn Future<Output = BackendResult<T>> + Send + 'a>>;

/// Cluster operations (implemented over the Raft node's handle).
pub trait ClusterOps: Send + Sync + 'static {
    /// `lnsctl cluster status`: members, roles, lag, last contact.
    fn status(&self) -> OpFuture<'_, pb::ClusterStatusReply>;
    /// `lnsctl cluster transfer-leader [NODE]` (`None`: the best standby).
    fn transfer_leader(&self, target: Option<String>) -> OpFuture<'_, pb::WriteOutcome>;
    /// `lnsctl cluster add NODE ADDRESS`.
    fn add_member(&self, change: pb::MemberChange) -> OpFuture<'_, pb::WriteOutcome>;
    /// `lnsctl cluster remove NODE`.
    fn remove_member(&self, change: pb::MemberChange) -> OpFuture<'_, pb::WriteOutcome>;
    /// `lnsctl drill switchover [--to NODE]`.
    fn drill_switchover(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> OpFuture<'_, pb::DrillSwitchoverReply>;
    /// Role, term and active node of this member, for `lnsctl status`.
    fn node_view(&self) -> NodeView;
}

/// This member's place in the cluster, as `lnsctl status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// Active, standby, candidate or witness.
    pub role: pb::Role,
    /// The Raft term.
    pub term: u64,
    /// The active node's id (empty while none is known).
    pub active_node: String,
    /// The active node's cluster address (empty while none is known).
    pub active_address: String,
}
