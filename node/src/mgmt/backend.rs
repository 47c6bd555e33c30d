//! The contract between the management server and the daemon.
//!
//! Contract: the daemon implements [`ManagementBackend`]; the server only
//! translates gRPC to these calls and [`BackendError`] to gRPC statuses. Read
//! methods answer on every node (a standby from its replicated tables, saying
//! so with `ReplyOrigin::Replicated`). Write methods on a standby either
//! forward to the active node (returning `WriteOutcome { forwarded_to, .. }`)
//! or return [`BackendError::NotActive`] with the active node's address.

use std::future::Future;

use super::capture::{CaptureFilter, CaptureScope, KindSet};
use super::pb;
use super::tap::CaptureReader;

/// Why a management call failed, named for what the operator must do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The object named does not exist (wrong ID or already gone).
    #[error("{0} not found")]
    NotFound(String),
    /// A write reached a standby that does not forward: retry on the active node.
    #[error("not active; active node is {active_address}")]
    NotActive {
        /// Name of the active node, if known.
        active_node: String,
        /// Management address of the active node, if known.
        active_address: String,
    },
    /// The request itself is wrong.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The node cannot answer now (no leader, shutting down, capture slots full).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The node is not in a state where the request makes sense (a cluster
    /// command on a single node).
    #[error("{0}")]
    Precondition(String),
}

/// A capture the backend started: packets arrive on `reader` until the
/// reader is dropped (the server drops it when the duration or packet count
/// is reached or the client goes away), which removes the tap.
#[derive(Debug)]
pub struct CaptureHandle {
    /// The reading side of the tap installed on the forwarding path.
    pub reader: CaptureReader,
}

/// Whom a requested capture is about, as the operator named it; the backend
/// resolves it against its tables into a [`CaptureScope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedScope {
    /// A session by the ID `lnsctl sessions` shows.
    Session(u32),
    /// Every session of a user.
    User(String),
    /// A tunnel by its local ID.
    Tunnel(u32),
    /// Every tunnel.
    AllTunnels,
}

/// A validated capture request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Whom to capture.
    pub scope: RequestedScope,
    /// What to capture.
    pub kinds: KindSet,
}

impl CaptureSpec {
    /// The filter to install once the backend resolved the scope.
    pub fn filter(&self, scope: CaptureScope) -> CaptureFilter {
        CaptureFilter {
            scope,
            kinds: self.kinds,
        }
    }
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// What the daemon implements for the management API. All futures are `Send`
/// because the server runs them on the multi-threaded runtime.
pub trait ManagementBackend: Send + Sync + 'static {
    /// `lnsctl status`.
    fn status(&self) -> impl Future<Output = BackendResult<pb::StatusReply>> + Send;
    /// `lnsctl sessions`; filter fields left empty match everything.
    fn list_sessions(
        &self,
        filter: pb::SessionFilter,
    ) -> impl Future<Output = BackendResult<pb::SessionList>> + Send;
    /// `lnsctl session show ID`.
    fn show_session(
        &self,
        session_id: u32,
    ) -> impl Future<Output = BackendResult<pb::SessionDetail>> + Send;
    /// `lnsctl session kill ID` / `--user U` (write).
    fn kill_sessions(
        &self,
        request: pb::KillSessionsRequest,
    ) -> impl Future<Output = BackendResult<pb::WriteOutcome>> + Send;
    /// `lnsctl tunnels`.
    fn list_tunnels(&self) -> impl Future<Output = BackendResult<pb::TunnelList>> + Send;
    /// `lnsctl tunnel show ID`.
    fn show_tunnel(
        &self,
        tunnel_id: u32,
    ) -> impl Future<Output = BackendResult<pb::TunnelDetail>> + Send;
    /// `lnsctl tunnel kill ID` (write).
    fn kill_tunnel(
        &self,
        tunnel_id: u32,
    ) -> impl Future<Output = BackendResult<pb::WriteOutcome>> + Send;
    /// `lnsctl pools`.
    fn list_pools(&self) -> impl Future<Output = BackendResult<pb::PoolList>> + Send;
    /// `lnsctl radius`.
    fn radius_status(&self) -> impl Future<Output = BackendResult<pb::RadiusStatusReply>> + Send;
    /// `lnsctl cluster status`.
    fn cluster_status(&self) -> impl Future<Output = BackendResult<pb::ClusterStatusReply>> + Send;
    /// `lnsctl cluster transfer-leader [NODE]` (write).
    fn transfer_leader(
        &self,
        request: pb::TransferLeaderRequest,
    ) -> impl Future<Output = BackendResult<pb::WriteOutcome>> + Send;
    /// `lnsctl cluster add NODE ADDR` (write).
    fn add_member(
        &self,
        change: pb::MemberChange,
    ) -> impl Future<Output = BackendResult<pb::WriteOutcome>> + Send;
    /// `lnsctl cluster remove NODE` (write).
    fn remove_member(
        &self,
        change: pb::MemberChange,
    ) -> impl Future<Output = BackendResult<pb::WriteOutcome>> + Send;
    /// `lnsctl drill switchover` (write).
    fn drill_switchover(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> impl Future<Output = BackendResult<pb::DrillSwitchoverReply>> + Send;
    /// `lnsctl counters`.
    fn counters(&self) -> impl Future<Output = BackendResult<pb::CountersReply>> + Send;
    /// `lnsctl capture`: install a tap for `filter` on the forwarding path
    /// (active node only; a standby returns `NotActive`).
    fn start_capture(
        &self,
        spec: CaptureSpec,
    ) -> impl Future<Output = BackendResult<CaptureHandle>> + Send;
}
