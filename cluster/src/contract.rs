//! The vocabulary between a member and its users: the state machine trait,
//! the leadership view, events, outbound messages, the status view and the
//! typed errors.
//!
//! Contract: plain data, no behaviour; `core` produces and consumes these,
//! `member` forwards them to callers.

use crate::config::MemberId;
use crate::lease::Micros;
use crate::pb::Envelope;

/// The caller's replicated state machine. Commands and snapshots are opaque.
pub trait StateMachine {
    /// Applies a committed command; the result goes back to the proposer.
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8>;
    /// A serialisation of the whole state (taken after the last apply).
    fn snapshot(&self) -> Vec<u8>;
    /// A frozen view of the state as of the last apply, serialised later on
    /// another thread: compaction calls this on the member thread and runs
    /// the returned closure (which must yield what `snapshot` would have)
    /// on the snapshot writer's thread. Override it when the state can be
    /// frozen cheaply (shared immutable values, a persistent map): the
    /// default serialises at once, on the member thread.
    fn snapshot_view(&self) -> SnapshotView {
        let bytes = self.snapshot();
        Box::new(move || bytes)
    }
    /// Replaces the state with a snapshot taken at `index`.
    fn restore(&mut self, index: u64, snapshot: &[u8]) -> Result<(), RestoreError>;
}

/// A frozen state, serialised when called (see [`StateMachine::snapshot_view`]).
pub type SnapshotView = Box<dyn FnOnce() -> Vec<u8> + Send>;

/// A snapshot the state machine could not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state machine refused the snapshot: {0}")]
pub struct RestoreError(pub String);

/// Why a proposal did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    #[error("not the leader (leader hint: {leader:?})")]
    NotLeader { leader: Option<MemberId> },
    #[error("proposal dropped: it was not committed (safe to retry)")]
    Dropped,
    #[error("proposal timed out: it may or may not be applied")]
    TimedOut,
    #[error("member stopped")]
    Stopped,
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("membership change refused: {0}")]
    MembershipRefused(MembershipRefusal),
}

/// Why a membership change was refused before it was proposed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    /// The same rule as `ConfigError::TwoVotersNeedWitness`, at run time.
    #[error(
        "it would leave two voters ({voters:?}) and no witness: losing either loses the \
         quorum, so automatic failover cannot work; add a witness (or a third voter) first, \
         or run the cluster in FailoverMode::Manual"
    )]
    TwoVotersNeedWitness { voters: Vec<MemberId> },
}

/// The raft role of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Candidate,
    PreCandidate,
    Follower,
    Learner,
}

/// Whether the member may act on the outside world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Active,
    Inactive,
}

/// What the leadership watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leadership {
    pub term: u64,
    pub leader: Option<MemberId>,
    pub role: Role,
    pub activity: Activity,
}

/// An online membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    AddVoter { id: MemberId, address: String },
    AddLearner { id: MemberId, address: String },
    Remove { id: MemberId },
}

/// Something the driver must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A proposal (by token) finished.
    Proposed {
        token: u64,
        result: Result<Vec<u8>, ProposeError>,
    },
    /// A read index request (by token) may be served: everything up to
    /// `index` is applied locally.
    ReadReady { token: u64, index: u64 },
    /// The leadership view changed.
    Leadership(Leadership),
    /// A membership change was applied (address known for additions).
    Membership {
        change: MembershipChange,
        voters: Vec<MemberId>,
        learners: Vec<MemberId>,
    },
    /// A snapshot from the leader replaced the local state.
    SnapshotInstalled { index: u64 },
}

/// Whether an outbound message is a (possibly large) snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Regular,
    Snapshot,
}

/// A message to send to a peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub to: MemberId,
    pub payload: Payload,
    pub envelope: Envelope,
}

/// The kind of a member in the status view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Voter,
    Learner,
}

/// One member in the status view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    pub id: MemberId,
    pub membership: Membership,
    /// Leader only: highest log index known replicated on that member.
    pub match_index: Option<u64>,
    /// Leader only: entries it is behind the leader's last index.
    pub lag: Option<u64>,
    /// When we last heard from it (our clock), if ever.
    pub last_contact: Option<Micros>,
}

/// The status view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub id: MemberId,
    pub leadership: Leadership,
    pub commit: u64,
    pub applied: u64,
    pub last_index: u64,
    pub snapshot_index: u64,
    pub members: Vec<MemberStatus>,
}
