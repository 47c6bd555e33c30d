//! Member configuration: who the members are, which role each plays, the
//! failover mode and the timers.
//!
//! Contract: [`ClusterConfig::validate`] refuses every configuration that could
//! not keep the failover promise, with a typed [`ConfigError`] saying why. In
//! particular a cluster of two voters without a witness cannot survive the loss
//! of one member, so it is refused unless the operator explicitly chose
//! [`FailoverMode::Manual`] (which never activates a member on its own).

use std::collections::BTreeMap;
use std::time::Duration;

/// A member id (raft-rs node id). Never 0.
pub type MemberId = u64;

/// What a member is allowed to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A full member: votes, stores the log and may become the active member.
    Eligible,
    /// Votes and stores the log but must never become active. If elected it
    /// hands leadership to an eligible member at once.
    Witness,
}

/// Whether a leader activates itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverMode {
    /// The leader becomes active once any previous leader's lease ran out.
    Automatic,
    /// The leader becomes active only after an explicit `activate` call for its
    /// current term. Required for a two-voter cluster without a witness.
    Manual,
}

/// One member as seen by every other member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// `host:port` of its peer gRPC endpoint (unused by the simulator).
    pub address: String,
    pub kind: MemberKind,
}

/// Timers. Every duration is measured on the member's own monotonic clock.
///
/// Defaults (LAN): tick 50 ms, election timeout randomised in [6, 12) ticks
/// (300-600 ms), heartbeat every tick, lease 250 ms, lease wait 300 ms. The
/// timing argument is in the `lease` module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub tick: Duration,
    /// Minimum election timeout in ticks (also raft-rs `election_tick`).
    pub election_ticks_min: usize,
    /// Exclusive upper bound of the randomised election timeout, in ticks.
    pub election_ticks_max: usize,
    pub heartbeat_ticks: usize,
    /// A leader stays active only while a quorum acknowledged one of its
    /// messages created less than `lease` ago.
    pub lease: Duration,
    /// A new leader waits this long after its election before it becomes
    /// active. Must exceed `lease` by the clock-rate drift margin.
    pub lease_wait: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick: Duration::from_millis(50),
            election_ticks_min: 6,
            election_ticks_max: 12,
            heartbeat_ticks: 1,
            lease: Duration::from_millis(250),
            lease_wait: Duration::from_millis(300),
        }
    }
}

/// Everything a member needs to start (the data directory is passed apart).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This member's id; must be a key of `members`.
    pub id: MemberId,
    /// The initial voters (used only when the data directory is empty) and
    /// the address book of every member.
    pub members: BTreeMap<MemberId, PeerSpec>,
    pub failover: FailoverMode,
    pub timing: Timing,
    /// Compact the log every this many applied entries, on a grid shifted
    /// per member so members do not compact together (the first snapshot
    /// after a start or a received snapshot comes between half and one and
    /// a half times this far).
    pub compact_after: u64,
    /// Upper bound of bytes in one raft append message.
    pub max_batch_bytes: u64,
    /// Outbound messages queued per peer before new ones are dropped.
    pub peer_queue: usize,
    /// Every persisted Ready is fsynced unless `Fsync::Never`.
    pub fsync: Fsync,
    /// Ignored when the data directory already holds a store.
    pub bootstrap: Bootstrap,
    /// Mutual TLS on the peer transport (`None`: plain HTTP/2, the shared
    /// secret still authenticates both ends).
    pub tls: Option<crate::tls::TlsConfig>,
}

/// How a member with an empty data directory starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrap {
    /// One of the initial members: every member of `members` is a voter.
    Founding,
    /// A member added later: it starts with no configuration and learns it
    /// (and the state) from the leader once added as a learner or voter.
    Joining,
}

/// Whether persistence is flushed to disk before dependent messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    /// For throw-away benchmarks and tests only: durability is lost.
    Never,
}

impl ClusterConfig {
    /// A config with default timers for `id` among `members`.
    pub fn new(id: MemberId, members: BTreeMap<MemberId, PeerSpec>) -> Self {
        ClusterConfig {
            id,
            members,
            failover: FailoverMode::Automatic,
            timing: Timing::default(),
            compact_after: 10_000,
            max_batch_bytes: 256 * 1024,
            peer_queue: 4096,
            fsync: Fsync::Always,
            bootstrap: Bootstrap::Founding,
            tls: None,
        }
    }

    /// This member's kind.
    pub fn kind(&self) -> MemberKind {
        self.members
            .get(&self.id)
            .map_or(MemberKind::Eligible, |p| p.kind)
    }

    /// Refuses configurations that could not keep the failover promise.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if !self.members.contains_key(&self.id) {
            return Err(ConfigError::SelfNotMember(self.id));
        }
        if self.members.contains_key(&0) {
            return Err(ConfigError::ZeroId);
        }
        let eligible = self
            .members
            .values()
            .filter(|p| p.kind == MemberKind::Eligible)
            .count();
        if eligible == 0 {
            return Err(ConfigError::NoEligibleMember);
        }
        if self.members.len() == 2 && self.failover == FailoverMode::Automatic {
            return Err(ConfigError::TwoVotersNeedWitness);
        }
        let t = &self.timing;
        if t.tick.is_zero() {
            return Err(ConfigError::Timing("tick must be positive"));
        }
        if t.heartbeat_ticks == 0 || t.heartbeat_ticks >= t.election_ticks_min {
            return Err(ConfigError::Timing(
                "heartbeat must be at least one tick and below the election timeout",
            ));
        }
        if t.election_ticks_max <= t.election_ticks_min {
            return Err(ConfigError::Timing(
                "election_ticks_max must exceed election_ticks_min",
            ));
        }
        let heartbeat = t.tick * t.heartbeat_ticks as u32;
        if t.lease <= heartbeat * 2 {
            return Err(ConfigError::Timing(
                "lease must cover at least two heartbeats or the leader flaps",
            ));
        }
        let election_min = t.tick * t.election_ticks_min as u32;
        if t.lease > election_min {
            return Err(ConfigError::Timing(
                "lease must not exceed the minimum election timeout",
            ));
        }
        if t.lease_wait <= t.lease {
            return Err(ConfigError::Timing(
                "lease_wait must exceed lease (clock drift margin)",
            ));
        }
        if self.compact_after == 0 {
            return Err(ConfigError::Timing("compact_after must be positive"));
        }
        Ok(())
    }
}

/// A configuration that cannot keep the failover promise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("member id 0 is reserved by raft")]
    ZeroId,
    #[error("member {0} is not listed in members")]
    SelfNotMember(MemberId),
    #[error("no member may become active: every member is a witness")]
    NoEligibleMember,
    #[error(
        "two voters without a witness cannot fail over automatically (losing either loses \
         the quorum); add a witness member or set FailoverMode::Manual"
    )]
    TwoVotersNeedWitness,
    #[error("timing: {0}")]
    Timing(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(kinds: &[MemberKind]) -> BTreeMap<MemberId, PeerSpec> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    i as u64 + 1,
                    PeerSpec {
                        address: format!("127.0.0.1:{}", 7000 + i),
                        kind: *k,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn defaults_validate_for_two_plus_witness() {
        let c = ClusterConfig::new(
            1,
            members(&[
                MemberKind::Eligible,
                MemberKind::Eligible,
                MemberKind::Witness,
            ]),
        );
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn two_voters_without_witness_refuse_automatic_failover() {
        let mut c = ClusterConfig::new(1, members(&[MemberKind::Eligible, MemberKind::Eligible]));
        assert_eq!(c.validate(), Err(ConfigError::TwoVotersNeedWitness));
        c.failover = FailoverMode::Manual;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn lease_longer_than_election_timeout_is_refused() {
        let mut c = ClusterConfig::new(1, members(&[MemberKind::Eligible]));
        c.timing.lease = Duration::from_millis(400);
        c.timing.lease_wait = Duration::from_millis(450);
        assert!(matches!(c.validate(), Err(ConfigError::Timing(_))));
    }

    #[test]
    fn all_witnesses_is_refused() {
        let c = ClusterConfig::new(1, members(&[MemberKind::Witness]));
        assert_eq!(c.validate(), Err(ConfigError::NoEligibleMember));
    }
}
