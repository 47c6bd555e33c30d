//! The sans-IO member: one raft-rs `RawNode`, the lease, the witness rule,
//! proposal tracking and log compaction, driven by explicit inputs.
//!
//! Contract:
//! - No sockets, no clock reads, no tasks. Time is passed in (`now`, micros on
//!   the member's monotonic clock). Inputs: [`MemberCore::handle_timeout`],
//!   [`MemberCore::handle_envelope`], [`MemberCore::propose`] and the admin
//!   calls. After a batch of inputs the driver calls [`MemberCore::flush`]
//!   once: that is where one raft `Ready` is handled, so every proposal and
//!   message of the batch shares one Ready, one fsync and one message per
//!   peer (batching). Outputs are drained with [`MemberCore::poll_transmit`]
//!   and [`MemberCore::poll_event`]; [`MemberCore::poll_timeout`] says when to
//!   call `handle_timeout` next.
//! - `Ready` is handled in the order raft-rs 0.7 documents: leader messages,
//!   snapshot, committed entries, append entries + hard state, sync, then the
//!   persisted messages, then `advance` and the light ready. A driver may
//!   split `flush` around the sync ([`MemberCore::begin_flush`],
//!   [`MemberCore::finish_flush`]) to route the leader messages and replies
//!   first.
//! - When the store syncs in the background (`LogStore::start_background_sync`)
//!   a Ready without a snapshot is handed to raft with `advance_append_async`:
//!   its persisted messages wait until the store reports it (and every
//!   earlier Ready) durable, then `on_persist_ready`. Only a follower's
//!   heartbeat responses may leave earlier, once the term and vote are
//!   durable. The simulator's in-memory store always takes the synchronous
//!   path.
//! - The tokio member (`member`) and the simulator drive this same struct.

use std::collections::{BTreeMap, VecDeque};

use protobuf::Message as _;
use raft::eraftpb::{
    ConfChange, ConfChangeType, ConfChangeV2, ConfState, Entry, EntryType, Message, MessageType,
};
use raft::{RawNode, SnapshotStatus, StateRole};

use crate::config::{ClusterConfig, FailoverMode, MemberId, MemberKind};
use crate::lease::{Lease, Micros};
use crate::pb::Envelope;
use crate::storage::{LogStore, StoreError};

mod compaction;
mod rules;

pub use crate::contract::{
    Activity, ClusterStatus, Event, Leadership, MemberStatus, Membership, MembershipChange,
    MembershipRefusal, Outbound, Payload, ProposeError, RestoreError, Role, SnapshotView,
    StateMachine,
};

/// Why the core could not start or continue.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

/// The sans-IO member.
pub struct MemberCore<S: StateMachine> {
    id: MemberId,
    kind: MemberKind,
    failover: FailoverMode,
    raw: RawNode<LogStore>,
    sm: S,
    lease: Lease,
    tick: Micros,
    next_tick: Micros,
    now: Micros,
    leading_term: Option<u64>,
    leading_since: Option<Micros>,
    /// Leader side: the term whose lease we released (planned transfer), when.
    released: Option<(u64, Micros)>,
    /// After a release: the end of the lease we held then. Until it, this
    /// member may still relay data packets (never control), see
    /// [`MemberCore::forward_until`].
    drain_until: Micros,
    /// Follower side: the term whose leader released its lease to us.
    handed_over_in: Option<u64>,
    election_timeout: Micros,
    manual_term: Option<u64>,
    /// Pending proposals of this member by log index: (sequence, token).
    pending: BTreeMap<u64, (u64, u64)>,
    next_seq: u64,
    /// Proposals waiting for the next `flush`: (sequence, token, command).
    batch: Vec<(u64, u64, Vec<u8>)>,
    /// Read index requests awaiting their ReadState, by context sequence.
    read_requests: BTreeMap<u64, u64>,
    /// Read states awaiting local apply: (index, token).
    reads_ready: Vec<(u64, u64)>,
    outbox: VecDeque<Outbound>,
    events: VecDeque<Event>,
    published: Option<Leadership>,
    last_contact: BTreeMap<MemberId, Micros>,
    kinds: BTreeMap<MemberId, MemberKind>,
    compact_after: u64,
    applied: u64,
    deadline: Micros,
    /// Leader side: when it steps down unless a quorum is heard from first
    /// (`Micros::MAX`: never, e.g. a single voter; 0: not leading).
    step_down_at: Micros,
    /// A Ready between `begin_flush` and `finish_flush` (written, unsynced).
    unsynced: Option<raft::Ready>,
    /// Background sync: Readies written but not yet known durable, with the
    /// messages that must wait for that (number, persisted messages).
    awaiting: VecDeque<(u64, Vec<Message>)>,
    /// The highest Ready number known durable.
    persisted_ready: u64,
    /// The latest Ready that changed the term or the vote.
    term_vote_in: u64,
}

impl<S: StateMachine> std::fmt::Debug for MemberCore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberCore")
            .field("id", &self.id)
            .field("applied", &self.applied)
            .finish()
    }
}

impl<S: StateMachine> MemberCore<S> {
    /// Starts a member over `store` (fresh or recovered). The state machine
    /// is restored from the store's snapshot; raft then re-delivers the
    /// committed entries after it.
    pub fn new(
        config: &ClusterConfig,
        store: LogStore,
        mut sm: S,
        logger: &slog::Logger,
        now: Micros,
    ) -> Result<Self, CoreError> {
        let t = &config.timing;
        let snap = store.latest_snapshot().clone();
        let snap_index = snap.get_metadata().index;
        if snap_index > 0 {
            restore(&mut sm, snap_index, snap.get_data())?;
        }
        let kind = config.kind();
        let rc = raft::Config {
            id: config.id,
            election_tick: t.election_ticks_min,
            min_election_tick: t.election_ticks_min,
            max_election_tick: t.election_ticks_max,
            heartbeat_tick: t.heartbeat_ticks,
            applied: snap_index,
            max_size_per_msg: config.max_batch_bytes,
            max_inflight_msgs: 64,
            check_quorum: true,
            pre_vote: true,
            // Not raft-rs's batch_append: in 0.7 it can merge a resent range
            // into an empty MsgAppend whose index does not precede it
            // (`is_continuous_ents` ignores `msg.index` when the message has
            // no entries), so a follower acknowledges an entry it never
            // stored (found by the simulator). Proposals are batched by
            // `flush` instead: one MsgPropose carries the whole batch.
            batch_append: false,
            max_uncommitted_size: 64 * 1024 * 1024,
            // No raft priority for the witness: a lower priority makes the
            // eligible member refuse the witness's pre-vote, and when the
            // witness in turn ignores the eligible member's pre-vote (still
            // in its lease) failover takes two election timeouts. An elected
            // witness hands leadership over at once instead.
            ..Default::default()
        };
        let raw = RawNode::new(&rc, store, logger)?;
        let tick = micros(t.tick);
        Ok(MemberCore {
            id: config.id,
            kind,
            failover: config.failover,
            raw,
            sm,
            lease: Lease::new(micros(t.lease), micros(t.lease_wait), now),
            tick,
            next_tick: now + tick,
            now,
            leading_term: None,
            leading_since: None,
            released: None,
            drain_until: 0,
            handed_over_in: None,
            election_timeout: tick * t.election_ticks_min as u64,
            manual_term: None,
            pending: BTreeMap::new(),
            next_seq: 1,
            batch: Vec::new(),
            read_requests: BTreeMap::new(),
            reads_ready: Vec::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            published: None,
            last_contact: BTreeMap::new(),
            kinds: config.members.iter().map(|(id, p)| (*id, p.kind)).collect(),
            compact_after: config.compact_after,
            applied: snap_index,
            deadline: 0,
            step_down_at: 0,
            unsynced: None,
            awaiting: VecDeque::new(),
            persisted_ready: 0,
            term_vote_in: 0,
        })
    }

    pub fn id(&self) -> MemberId {
        self.id
    }

    /// The state machine (read-only; tests and the status view).
    pub fn state_machine(&self) -> &S {
        &self.sm
    }

    /// Advances the logical clock: one raft tick per elapsed tick interval.
    pub fn handle_timeout(&mut self, now: Micros) {
        self.now = self.now.max(now);
        while self.now >= self.next_tick {
            self.raw.tick();
            self.next_tick += self.tick;
        }
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Micros {
        let mut t = self.next_tick;
        if let Some(from) = self.lease.active_from() {
            if from > self.now {
                t = t.min(from);
            } else if self.deadline > self.now {
                t = t.min(self.deadline);
            }
        }
        if self.step_down_at > self.now {
            t = t.min(self.step_down_at);
        }
        t
    }

    /// A message from peer `from` arrived.
    pub fn handle_envelope(&mut self, now: Micros, from: MemberId, env: &Envelope) {
        self.now = self.now.max(now);
        let Ok(msg) = Message::parse_from_bytes(&env.raft_message) else {
            tracing::warn!(from, "undecodable raft message dropped");
            return;
        };
        if msg.from != from || msg.to != self.id {
            tracing::warn!(
                from,
                claimed = msg.from,
                to = msg.to,
                "misaddressed raft message dropped"
            );
            return;
        }
        self.last_contact.insert(from, self.now);
        if env.lease_echo > 0 {
            self.lease.record_echo(from, env.echo_term, env.lease_echo);
        }
        let term = msg.term;
        if msg.get_msg_type() == MessageType::MsgRequestVoteResponse
            && !msg.reject
            && term == self.raw.raft.term
        {
            // Before the step: the vote that elects us must count.
            self.lease.record_vote(term, env.vote_silence, self.now);
        }
        if env.lease_released
            && msg.get_msg_type() == MessageType::MsgTimeoutNow
            && self.raw.raft.leader_id == from
            && self.raw.raft.term == term
        {
            self.handed_over_in = Some(term);
        }
        if let Err(e) = self.raw.step(msg) {
            tracing::debug!(from, error = %e, "raft refused a message");
        }
        if env.lease_stamp > 0 && self.raw.raft.leader_id == from && self.raw.raft.term == term {
            self.lease.record_stamp(term, env.lease_stamp);
            self.lease.heard_leader(self.now);
        }
    }

    /// Proposes a command; its result arrives as `Event::Proposed { token }`.
    /// Proposals made between two `flush` calls enter the log together.
    pub fn propose(&mut self, command: Vec<u8>, token: u64) -> Result<(), ProposeError> {
        self.check_leader()?;
        let seq = self.take_seq();
        self.batch.push((seq, token, command));
        Ok(())
    }

    /// Proposes a membership change; completes as `Event::Proposed`.
    pub fn propose_membership(
        &mut self,
        change: &MembershipChange,
        token: u64,
    ) -> Result<(), ProposeError> {
        self.check_leader()?;
        self.check_failover_keeps_working(change)?;
        let mut cc = ConfChange::default();
        match change {
            MembershipChange::AddVoter { id, address } => {
                cc.set_change_type(ConfChangeType::AddNode);
                cc.node_id = *id;
                cc.set_context(address.clone().into_bytes().into());
            }
            MembershipChange::AddLearner { id, address } => {
                cc.set_change_type(ConfChangeType::AddLearnerNode);
                cc.node_id = *id;
                cc.set_context(address.clone().into_bytes().into());
            }
            MembershipChange::Remove { id } => {
                cc.set_change_type(ConfChangeType::RemoveNode);
                cc.node_id = *id;
            }
        }
        let seq = self.take_seq();
        self.raw
            .propose_conf_change(self.context(seq), cc)
            .map_err(|_| ProposeError::Dropped)?;
        self.pending
            .insert(self.raw.raft.raft_log.last_index(), (seq, token));
        Ok(())
    }

    /// Requests a linearizable read index; answered by `Event::ReadReady`.
    pub fn read_index(&mut self, token: u64) {
        let seq = self.take_seq();
        self.read_requests.insert(seq, token);
        self.raw.read_index(seq.to_be_bytes().to_vec());
    }

    /// Asks the leader (this member) to hand leadership to `target`.
    pub fn transfer_leader(&mut self, target: MemberId) -> Result<(), ProposeError> {
        self.check_leader()?;
        self.raw.transfer_leader(target);
        Ok(())
    }

    /// `FailoverMode::Manual`: the operator activates the current leader.
    pub fn activate(&mut self) -> Result<(), ProposeError> {
        self.check_leader()?;
        self.manual_term = Some(self.raw.raft.term);
        Ok(())
    }

    /// The transport could not reach `to`.
    pub fn report_unreachable(&mut self, to: MemberId) {
        self.raw.report_unreachable(to);
    }

    /// The transport finished (or failed) sending a snapshot to `to`.
    pub fn report_snapshot(&mut self, to: MemberId, delivered: Result<(), ()>) {
        let status = match delivered {
            Ok(()) => SnapshotStatus::Finish,
            Err(()) => SnapshotStatus::Failure,
        };
        self.raw.report_snapshot(to, status);
    }

    /// True when this member may act on the outside world at `now`.
    pub fn is_active(&self, now: Micros) -> bool {
        self.activity(now) == Activity::Active
    }

    /// The current leadership view.
    /// The instant (same clock as `now`) until which this member is active
    /// by its lease, or 0 when it is not active at `now`: what
    /// [`crate::LeaseFence`] publishes to other threads.
    pub fn active_until(&self, now: Micros) -> Micros {
        match self.activity(now) {
            Activity::Active => self.deadline,
            Activity::Inactive => 0,
        }
    }

    /// The instant until which this member may forward data packets (not
    /// control messages): [`MemberCore::active_until`] while active; after
    /// a planned hand-over, the end of the lease it released (it is no
    /// longer active, but the LAC and the core send to its MAC until the
    /// target's gratuitous ARP reaches them); otherwise 0.
    ///
    /// Only the target of the hand-over can be active meanwhile (any other
    /// member waits out that lease, `lease`), and it is the member these
    /// packets are on their way to: no control message, address or
    /// allocation is ever emitted by two members.
    pub fn forward_until(&self, now: Micros) -> Micros {
        let active = self.active_until(now);
        if active > 0 {
            active
        } else if now < self.drain_until {
            self.drain_until
        } else {
            0
        }
    }

    pub fn leadership(&self) -> Leadership {
        let r = &self.raw.raft;
        let role = match r.state {
            StateRole::Leader => Role::Leader,
            StateRole::Candidate => Role::Candidate,
            StateRole::PreCandidate => Role::PreCandidate,
            StateRole::Follower => {
                if r.prs().conf().learners().contains(&self.id) {
                    Role::Learner
                } else {
                    Role::Follower
                }
            }
        };
        Leadership {
            term: r.term,
            leader: (r.leader_id != 0).then_some(r.leader_id),
            role,
            activity: self.activity(self.now),
        }
    }

    /// The status view.
    pub fn status(&self) -> ClusterStatus {
        let r = &self.raw.raft;
        let cs = r.prs().conf().to_conf_state();
        let last = r.raft_log.last_index();
        let leader = r.state == StateRole::Leader;
        let mut members = Vec::new();
        let all = cs
            .voters
            .iter()
            .map(|id| (*id, Membership::Voter))
            .chain(cs.learners.iter().map(|id| (*id, Membership::Learner)));
        for (id, membership) in all {
            let matched = if leader {
                r.prs().get(id).map(|p| p.matched)
            } else {
                None
            };
            members.push(MemberStatus {
                id,
                membership,
                match_index: matched,
                lag: matched.map(|m| last.saturating_sub(m)),
                last_contact: if id == self.id {
                    Some(self.now)
                } else {
                    self.last_contact.get(&id).copied()
                },
            });
        }
        ClusterStatus {
            id: self.id,
            leadership: self.leadership(),
            commit: r.raft_log.committed,
            applied: self.applied,
            last_index: last,
            snapshot_index: self.raw.store().latest_snapshot().get_metadata().index,
            members,
        }
    }

    /// Handles everything the inputs since the last call produced: one Ready.
    /// Same as [`MemberCore::begin_flush`] then [`MemberCore::finish_flush`].
    pub fn flush(&mut self, now: Micros) -> Result<(), CoreError> {
        self.begin_flush(now)?;
        self.finish_flush()
    }

    /// The first half of [`MemberCore::flush`], up to the sync: takes the
    /// Ready, queues the messages a leader may send before its own fsync
    /// (raft thesis 10.2.1), applies what is committed (its results are
    /// events at once) and writes the new entries and hard state, unsynced.
    /// A driver drains `poll_event` and `poll_transmit` now, so replication
    /// and the replies overlap this member's fsync, then calls
    /// [`MemberCore::finish_flush`] before any other input.
    pub fn begin_flush(&mut self, now: Micros) -> Result<(), CoreError> {
        if self.unsynced.is_some() {
            self.finish_flush()?;
        }
        self.now = self.now.max(now);
        self.collect_synced()?;
        self.submit_batch();
        self.witness_hand_off();
        self.abandon_failed_transfer();
        self.step_down_without_quorum();
        if self.raw.has_ready() {
            self.begin_ready()?;
        }
        // Before the early messages leave: the watch must report a released
        // lease before the MsgTimeoutNow that hands it over is sent.
        self.update_leadership();
        Ok(())
    }

    /// The second half of [`MemberCore::flush`]: the fsync, then the
    /// messages that depend on it, `advance`, the light ready, compaction.
    pub fn finish_flush(&mut self) -> Result<(), CoreError> {
        if let Some(rd) = self.unsynced.take() {
            self.finish_ready(rd)?;
        }
        self.install_compaction()?;
        self.update_leadership();
        Ok(())
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Outbound> {
        self.outbox.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The log store (size on disk, tests).
    pub fn store(&self) -> &LogStore {
        self.raw.store()
    }

    /// Gives the store back (the simulator keeps it across a crash).
    pub fn into_store(self) -> LogStore {
        let MemberCore { raw, .. } = self;
        let RawNode { raft, .. } = raw;
        raft.r.raft_log.store
    }

    /// Steps every queued proposal in as one MsgPropose: one append per
    /// peer, one Ready, one fsync for the whole batch.
    fn submit_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgPropose);
        m.from = self.id;
        let mut tokens = Vec::with_capacity(batch.len());
        let entries: Vec<Entry> = batch
            .into_iter()
            .map(|(seq, token, cmd)| {
                tokens.push((seq, token));
                let mut e = Entry::default();
                e.set_data(cmd.into());
                e.set_context(self.context(seq).into());
                e
            })
            .collect();
        m.set_entries(entries.into());
        let accepted = self.raw.raft.state == StateRole::Leader && self.raw.step(m).is_ok();
        if !accepted {
            for (_, token) in tokens {
                self.events.push_back(Event::Proposed {
                    token,
                    result: Err(ProposeError::Dropped),
                });
            }
            return;
        }
        let last = self.raw.raft.raft_log.last_index();
        let first = last + 1 - tokens.len() as u64;
        for (i, (seq, token)) in tokens.into_iter().enumerate() {
            self.pending.insert(first + i as u64, (seq, token));
        }
    }

    fn check_leader(&self) -> Result<(), ProposeError> {
        let r = &self.raw.raft;
        if r.state == StateRole::Leader {
            Ok(())
        } else {
            Err(ProposeError::NotLeader {
                leader: (r.leader_id != 0).then_some(r.leader_id),
            })
        }
    }

    fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn context(&self, seq: u64) -> Vec<u8> {
        let mut c = Vec::with_capacity(16);
        c.extend_from_slice(&self.id.to_be_bytes());
        c.extend_from_slice(&seq.to_be_bytes());
        c
    }

    fn activity(&self, now: Micros) -> Activity {
        let Some(term) = self.leading_term else {
            return Activity::Inactive;
        };
        let allowed = self.kind == MemberKind::Eligible
            && match self.failover {
                FailoverMode::Automatic => true,
                FailoverMode::Manual => self.manual_term == Some(term),
            };
        if self.released.is_some_and(|(t, _)| t == term) {
            return Activity::Inactive;
        }
        let waited = self.lease.active_from().is_some_and(|f| now >= f);
        if allowed && waited && now < self.deadline {
            Activity::Active
        } else {
            Activity::Inactive
        }
    }

    fn begin_ready(&mut self) -> Result<(), CoreError> {
        let mut rd = self.raw.ready();
        if let Some(ss) = rd.ss() {
            tracing::debug!(leader = ss.leader_id, role = ?ss.raft_state, "raft soft state");
        }
        // 1. Messages a leader may send before persisting (raft-rs docs).
        let msgs = rd.take_messages();
        self.queue_messages(msgs);
        // 2. A snapshot from the leader.
        if !rd.snapshot().is_empty() {
            let snap = rd.snapshot().clone();
            let index = snap.get_metadata().index;
            self.raw.mut_store().apply_snapshot(&snap)?;
            restore(&mut self.sm, index, snap.get_data())?;
            self.applied = index;
            // Proposals at or below the snapshot: their fate is unknown here.
            let rest = self.pending.split_off(&(index + 1));
            for (_, (_, token)) in std::mem::replace(&mut self.pending, rest) {
                self.events.push_back(Event::Proposed {
                    token,
                    result: Err(ProposeError::TimedOut),
                });
            }
            self.events.push_back(Event::SnapshotInstalled { index });
        }
        // 3. Committed entries.
        let committed = rd.take_committed_entries();
        self.apply_entries(committed)?;
        // 4. New entries and hard state, then one sync.
        if !rd.entries().is_empty() {
            tracing::trace!(
                id = self.id,
                first = rd.entries()[0].index,
                n = rd.entries().len(),
                "append"
            );
            self.raw.mut_store().append(rd.entries())?;
        }
        if let Some(hs) = rd.hs() {
            let old = self.raw.store().hard_state();
            if hs.term != old.term || hs.vote != old.vote {
                self.term_vote_in = rd.number();
            }
            self.raw.mut_store().set_hard_state(hs)?;
        }
        for rs in rd.take_read_states() {
            if let Ok(b) = <[u8; 8]>::try_from(rs.request_ctx.as_slice()) {
                if let Some(token) = self.read_requests.remove(&u64::from_be_bytes(b)) {
                    self.reads_ready.push((rs.index, token));
                }
            }
        }
        if self.raw.store().background_sync() && rd.snapshot().is_empty() {
            return self.defer_sync(rd);
        }
        self.unsynced = Some(rd);
        Ok(())
    }

    /// Background sync (raft-rs async ready): the fsync of this Ready runs
    /// on the store's thread; its persisted messages wait in `awaiting`
    /// until `collect_synced` sees it durable. Meanwhile this member keeps
    /// taking inputs and handling Readies.
    fn defer_sync(&mut self, mut rd: raft::Ready) -> Result<(), CoreError> {
        let number = rd.number();
        let wrote = !rd.entries().is_empty() || rd.hs().is_some();
        let mut msgs = rd.take_persisted_messages();
        if self.term_vote_in <= self.persisted_ready {
            // A heartbeat response acknowledges the term and the commit
            // index, nothing stored in the log: once the term and vote are
            // durable it need not wait behind the entries' fsync, so a slow
            // disk does not silence this member towards its leader.
            let (now, later) = std::mem::take(&mut msgs)
                .into_iter()
                .partition(|m| m.get_msg_type() == MessageType::MsgHeartbeatResponse);
            self.queue_messages(now);
            msgs = later;
        }
        self.raw.advance_append_async(rd);
        if wrote || !self.awaiting.is_empty() {
            // A message may acknowledge entries of an earlier Ready still
            // in flight: it waits for that one too (syncs complete in order).
            self.awaiting.push_back((number, msgs));
            self.raw.mut_store().request_sync(number);
        } else {
            // Nothing written and nothing pending: all is durable already.
            self.persisted_ready = number;
            self.raw.on_persist_ready(number);
            self.queue_messages(msgs);
        }
        self.raw.advance_apply();
        self.serve_reads();
        self.maybe_compact()
    }

    /// Background sync: hands raft every Ready made durable since the last
    /// call and sends the messages that waited for it.
    fn collect_synced(&mut self) -> Result<(), CoreError> {
        if self.awaiting.is_empty() {
            return Ok(());
        }
        let synced = self.raw.store().synced()?;
        if synced <= self.persisted_ready {
            return Ok(());
        }
        self.persisted_ready = synced;
        self.raw.on_persist_ready(synced);
        self.release_awaiting(synced);
        Ok(())
    }

    /// Sends the persisted messages of every Ready up to `number`.
    fn release_awaiting(&mut self, number: u64) {
        while self.awaiting.front().is_some_and(|(n, _)| *n <= number) {
            if let Some((_, msgs)) = self.awaiting.pop_front() {
                self.queue_messages(msgs);
            }
        }
    }

    fn finish_ready(&mut self, mut rd: raft::Ready) -> Result<(), CoreError> {
        self.raw.mut_store().sync()?;
        // Everything written so far is durable now, earlier Readies whose
        // background sync is still running included.
        self.persisted_ready = rd.number();
        self.release_awaiting(rd.number());
        // 5. Messages that depend on what was just persisted.
        let msgs = rd.take_persisted_messages();
        self.queue_messages(msgs);
        // 6. Advance and the light ready.
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit)?;
        }
        let msgs = light.take_messages();
        self.queue_messages(msgs);
        let committed = light.take_committed_entries();
        self.apply_entries(committed)?;
        self.raw.advance_apply();
        self.serve_reads();
        self.maybe_compact()?;
        Ok(())
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), CoreError> {
        for e in entries {
            let result = match e.get_entry_type() {
                EntryType::EntryNormal if e.data.is_empty() => Vec::new(),
                EntryType::EntryNormal => self.sm.apply(e.index, &e.data),
                EntryType::EntryConfChange => {
                    if let Ok(cc) = ConfChange::parse_from_bytes(&e.data) {
                        self.apply_conf_change(&cc)?;
                    }
                    Vec::new()
                }
                EntryType::EntryConfChangeV2 => {
                    if let Ok(cc) = ConfChangeV2::parse_from_bytes(&e.data) {
                        let cs = self.raw.apply_conf_change(&cc)?;
                        self.raw.mut_store().set_conf_state(&cs)?;
                    }
                    Vec::new()
                }
            };
            self.applied = e.index;
            self.resolve(&e, result);
        }
        Ok(())
    }

    fn apply_conf_change(&mut self, cc: &ConfChange) -> Result<(), CoreError> {
        let cs: ConfState = self.raw.apply_conf_change(cc)?;
        self.raw.mut_store().set_conf_state(&cs)?;
        let address = String::from_utf8_lossy(cc.get_context()).into_owned();
        let change = match cc.get_change_type() {
            ConfChangeType::AddNode => MembershipChange::AddVoter {
                id: cc.node_id,
                address,
            },
            ConfChangeType::AddLearnerNode => MembershipChange::AddLearner {
                id: cc.node_id,
                address,
            },
            ConfChangeType::RemoveNode => MembershipChange::Remove { id: cc.node_id },
        };
        self.kinds.entry(cc.node_id).or_insert(MemberKind::Eligible);
        self.events.push_back(Event::Membership {
            change,
            voters: cs.voters.clone(),
            learners: cs.learners.clone(),
        });
        Ok(())
    }

    /// Completes this member's proposals at `e.index`; anything older that
    /// is still pending was overwritten by another leader: dropped.
    fn resolve(&mut self, e: &Entry, result: Vec<u8>) {
        while let Some((&index, _)) = self.pending.first_key_value() {
            if index > e.index {
                break;
            }
            let Some((_, (seq, token))) = self.pending.pop_first() else {
                break;
            };
            let ours = index == e.index && e.context.as_ref() == self.context(seq).as_slice();
            let result = if ours {
                Ok(result.clone())
            } else {
                Err(ProposeError::Dropped)
            };
            self.events.push_back(Event::Proposed { token, result });
        }
    }

    fn serve_reads(&mut self) {
        let applied = self.applied;
        let (ready, waiting): (Vec<_>, Vec<_>) =
            self.reads_ready.drain(..).partition(|(i, _)| *i <= applied);
        self.reads_ready = waiting;
        for (index, token) in ready {
            self.events.push_back(Event::ReadReady { token, index });
        }
    }

    /// Takes the state-machine snapshot when due; the store writes it in
    /// the background (`install_compaction` completes it).
    fn maybe_compact(&mut self) -> Result<(), CoreError> {
        if self.raw.store().compaction_running() {
            return Ok(());
        }
        let snap_index = self.raw.store().latest_snapshot().get_metadata().index;
        let wanted = self.raw.store().take_snapshot_request();
        let due =
            self.applied >= compaction::next_compaction(snap_index, self.compact_after, self.id);
        if !(due || wanted && self.applied > snap_index) {
            return Ok(());
        }
        // Only the frozen view is taken here (it must match `applied`); the
        // bytes are produced and written on the snapshot writer's thread.
        let view = self.sm.snapshot_view();
        let data: crate::storage::SnapshotData = Box::new(move || {
            let state = view();
            let mut data = Vec::with_capacity(state.len() + 1);
            data.push(SNAPSHOT_V1);
            data.extend_from_slice(&state);
            data
        });
        let cs = self.raw.raft.prs().conf().to_conf_state();
        let applied = self.applied;
        self.raw
            .mut_store()
            .start_compaction_with(applied, &cs, data)?;
        self.install_compaction()
    }

    /// Drops the log up to a snapshot the store finished writing.
    fn install_compaction(&mut self) -> Result<(), CoreError> {
        if let Some(index) = self.raw.mut_store().finish_compaction()? {
            tracing::debug!(id = self.id, index, "log compacted");
        }
        Ok(())
    }

    fn queue_messages(&mut self, msgs: Vec<Message>) {
        let leader = self.raw.raft.state == StateRole::Leader;
        let (echo_term, echo) = self.lease.echo(self.raw.raft.term);
        for m in msgs {
            let mut released = false;
            if leader && m.get_msg_type() == MessageType::MsgTimeoutNow {
                let term = self.raw.raft.term;
                let past_wait = self.lease.active_from().is_some_and(|f| self.now >= f);
                if past_wait && self.leading_term == Some(term) {
                    // From here on we are inactive for the rest of the term;
                    // data still reaching us is relayed until the lease we
                    // held runs out.
                    // (A release of an older term is replaced: kept, it
                    // would leave this member active after handing over.)
                    if self.released.is_none_or(|(t, _)| t != term) {
                        self.drain_until = self.active_until(self.now);
                        self.released = Some((term, self.now));
                    }
                    released = true;
                }
            }
            let payload = if m.get_msg_type() == MessageType::MsgSnapshot {
                Payload::Snapshot
            } else {
                Payload::Regular
            };
            let to = m.to;
            let Ok(bytes) = m.write_to_bytes() else {
                continue;
            };
            self.outbox.push_back(Outbound {
                to,
                payload,
                envelope: Envelope {
                    raft_message: bytes,
                    lease_stamp: if leader { self.now.max(1) } else { 0 },
                    lease_echo: echo,
                    echo_term,
                    lease_released: released,
                    vote_silence: if m.get_msg_type() == MessageType::MsgRequestVoteResponse
                        && !m.reject
                    {
                        self.lease.vote_silence(self.now)
                    } else {
                        0
                    },
                },
            });
        }
    }

    fn update_leadership(&mut self) {
        let r = &self.raw.raft;
        if r.state == StateRole::Leader {
            if self.leading_term != Some(r.term) {
                self.leading_term = Some(r.term);
                self.leading_since = Some(self.now);
                if self.handed_over_in.is_some_and(|t| t + 1 == r.term) {
                    self.lease.become_leader_handed_over(r.term, self.now);
                } else {
                    self.lease.become_leader(r.term, self.now);
                }
            }
            let cs = r.prs().conf().to_conf_state();
            let sets: [&[MemberId]; 2] = [&cs.voters, &cs.voters_outgoing];
            self.deadline = self.lease.deadline(self.id, &sets);
            self.step_down_at = self
                .lease
                .quorum_contact(self.id, &sets)
                .map_or(0, |c| c.saturating_add(self.election_timeout));
        } else if self.leading_term.is_some() {
            self.leading_term = None;
            self.leading_since = None;
            self.lease.step_down(self.now);
            self.deadline = 0;
            self.step_down_at = 0;
        }
        let l = self.leadership();
        if self.published != Some(l) {
            self.published = Some(l);
            self.events.push_back(Event::Leadership(l));
        }
    }
}

/// Snapshot data is `SNAPSHOT_V1 || state machine bytes`; empty data is the
/// bootstrap snapshot (initial configuration, initial state).
const SNAPSHOT_V1: u8 = 0x01;

fn restore<S: StateMachine>(sm: &mut S, index: u64, data: &[u8]) -> Result<(), RestoreError> {
    match data.split_first() {
        None => Ok(()),
        Some((&SNAPSHOT_V1, rest)) => sm.restore(index, rest),
        Some((v, _)) => Err(RestoreError(format!("unknown snapshot version {v:#04x}"))),
    }
}

pub(crate) fn micros(d: std::time::Duration) -> Micros {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
