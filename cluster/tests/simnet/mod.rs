//! A deterministic in-process simulator for lns-cluster.
//!
//! Contract: N real [`MemberCore`]s over an in-memory network in virtual
//! time. Everything random (message drop, delay, duplication, partitions,
//! crashes, election timeouts, client load) comes from one seeded generator,
//! and every collection iterates in a fixed order, so a seed replays exactly.
//! After every step the harness checks that at most one member is active;
//! [`Sim::final_checks`] checks the end-state properties.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use lns_cluster::core::{Outbound, Payload};
use lns_cluster::{
    ClusterConfig, Event, LogStore, MemberCore, MemberId, MemberKind, MembershipChange, PeerSpec,
    RestoreError, Role, SimulatedDisk, StateMachine,
};
use raft::Storage as _;

pub const MS: u64 = 1_000;

/// splitmix64: tiny, seeded, portable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }
}

/// What every state machine reports, shared by the harness.
#[derive(Debug, Default)]
pub struct Checker {
    /// index -> command id, the first time any member applied it.
    pub reference: BTreeMap<u64, u64>,
    pub violations: Vec<String>,
}

/// The test state machine: a hash chain plus the set of command ids seen.
#[derive(Debug)]
pub struct ChainSm {
    member: MemberId,
    checker: Rc<RefCell<Checker>>,
    pub last_index: u64,
    pub hash: u64,
    pub seen: BTreeSet<u64>,
}

impl ChainSm {
    pub fn new(member: MemberId, checker: Rc<RefCell<Checker>>) -> Self {
        ChainSm {
            member,
            checker,
            last_index: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            seen: BTreeSet::new(),
        }
    }
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl StateMachine for ChainSm {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        let mut c = self.checker.borrow_mut();
        let id = command
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        if index <= self.last_index {
            c.violations.push(format!(
                "member {} applied index {index} after {}",
                self.member, self.last_index
            ));
        }
        match c.reference.get(&index) {
            Some(&other) if other != id => c.violations.push(format!(
                "member {} applied command {id} at index {index}, another member applied {other}",
                self.member
            )),
            Some(_) => {}
            None => {
                c.reference.insert(index, id);
            }
        }
        if !self.seen.insert(id) {
            c.violations
                .push(format!("member {} applied command {id} twice", self.member));
        }
        self.last_index = index;
        self.hash = fnv(fnv(self.hash, &index.to_be_bytes()), command);
        self.hash.to_be_bytes().to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.last_index.to_be_bytes());
        out.extend_from_slice(&self.hash.to_be_bytes());
        for id in &self.seen {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out
    }

    fn restore(&mut self, index: u64, snapshot: &[u8]) -> Result<(), RestoreError> {
        if snapshot.len() < 16 || snapshot.len() % 8 != 0 {
            return Err(RestoreError("bad length".into()));
        }
        let words: Vec<u64> = snapshot
            .chunks_exact(8)
            .filter_map(|c| <[u8; 8]>::try_from(c).ok().map(u64::from_be_bytes))
            .collect();
        // Entries without a command (leader no-ops, membership) move raft's
        // index without an `apply`, so the state may lag the snapshot index.
        if words[0] > index {
            return Err(RestoreError(format!(
                "snapshot says {} but raft says {index}",
                words[0]
            )));
        }
        self.last_index = words[0];
        self.hash = words[1];
        self.seen = words[2..].iter().copied().collect();
        Ok(())
    }
}

/// Network behaviour for a run.
#[derive(Debug, Clone)]
pub struct NetParams {
    pub drop_permille: u64,
    pub dup_permille: u64,
    pub delay_min: u64,
    pub delay_max: u64,
}

impl NetParams {
    pub fn lan() -> Self {
        NetParams {
            drop_permille: 0,
            dup_permille: 0,
            delay_min: 200,
            delay_max: 2 * MS,
        }
    }
    pub fn random(rng: &mut Rng) -> Self {
        let delay_min = 100 + rng.below(MS);
        NetParams {
            drop_permille: rng.below(80),
            dup_permille: rng.below(40),
            delay_min,
            delay_max: delay_min + rng.below(8 * MS),
        }
    }
}

struct InFlight {
    from: MemberId,
    out: Outbound,
}

pub struct Node {
    pub config: ClusterConfig,
    pub core: Option<MemberCore<ChainSm>>,
    /// The "disk" of a crashed member.
    pub disk: Option<LogStore>,
    /// A disk that loses unsynced writes on a crash (`Sim::with_lossy_disks`).
    pub lossy: Option<SimulatedDisk>,
    /// The pending sync being flushed: (completes at, up to Ready number).
    pub sync_at: Option<(u64, u64)>,
    pub snapshots_installed: u64,
    pub became_leader_at: Option<u64>,
}

/// The simulated cluster.
pub struct Sim {
    pub seed: u64,
    pub now: u64,
    pub rng: Rng,
    pub nodes: BTreeMap<MemberId, Node>,
    net: BTreeMap<(u64, u64), InFlight>,
    net_seq: u64,
    pub params: NetParams,
    /// Directed links that are cut.
    pub cut: BTreeSet<(MemberId, MemberId)>,
    pub checker: Rc<RefCell<Checker>>,
    /// Command ids acknowledged to the client (applied on the proposer).
    pub acked: BTreeSet<u64>,
    next_cmd: u64,
    /// Client load: one proposal every this many micros (0: none).
    pub load_every: u64,
    next_load: u64,
    /// token -> membership change result (Ok / Err text).
    pub admin_results: BTreeMap<u64, Result<(), String>>,
    /// token -> (member, read index) of answered read index requests.
    pub reads: BTreeMap<u64, (MemberId, u64)>,
    /// Number of steps where exactly one member was active.
    pub active_steps: u64,
    /// Log entries that crashes threw away (written, never synced).
    pub lost_on_crash: u64,
    /// Lossy disks: one sync (flush) takes this long, min and max (micros).
    pub sync_delay: (u64, u64),
}

/// Member ids and kinds, e.g. `&[Eligible, Eligible, Witness]` -> 1, 2, 3.
pub fn members(kinds: &[MemberKind]) -> BTreeMap<MemberId, PeerSpec> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                i as u64 + 1,
                PeerSpec {
                    address: format!("sim-{}", i + 1),
                    kind: *k,
                },
            )
        })
        .collect()
}

impl Sim {
    /// A cluster whose initial voters are `voters` (ids from `all`); the
    /// others start as empty members that must be added.
    pub fn new(seed: u64, all: &BTreeMap<MemberId, PeerSpec>, voters: &[MemberId]) -> Self {
        Sim::with_config(seed, all, voters, |_| {})
    }

    /// Like `new`, with `tweak` applied to every member's config.
    pub fn with_config(
        seed: u64,
        all: &BTreeMap<MemberId, PeerSpec>,
        voters: &[MemberId],
        tweak: impl Fn(&mut ClusterConfig),
    ) -> Self {
        Sim::build(seed, all, voters, tweak, Disks::Synchronous)
    }

    /// Like `new`, with every member on a [`SimulatedDisk`]: the core takes
    /// the background-sync path (persisted messages wait for the sync), a
    /// sync completes after a seeded delay, and a crash loses every write
    /// not yet synced.
    pub fn with_lossy_disks(
        seed: u64,
        all: &BTreeMap<MemberId, PeerSpec>,
        voters: &[MemberId],
    ) -> Self {
        Sim::build(seed, all, voters, |_| {}, Disks::Lossy)
    }

    fn build(
        seed: u64,
        all: &BTreeMap<MemberId, PeerSpec>,
        voters: &[MemberId],
        tweak: impl Fn(&mut ClusterConfig),
        disks: Disks,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let checker = Rc::new(RefCell::new(Checker::default()));
        let mut nodes = BTreeMap::new();
        // Distinct, seeded election timeouts: raft-rs draws its randomised
        // timeout from a thread RNG, so the simulator pins the range to one
        // value per member (min..min+1) to stay deterministic.
        let mut pool: Vec<usize> = (6..12).collect();
        for id in all.keys() {
            let mut config = ClusterConfig::new(*id, all.clone());
            let pick = rng.below(pool.len() as u64) as usize;
            let e = pool.remove(pick);
            config.timing.election_ticks_min = e;
            config.timing.election_ticks_max = e + 1;
            config.compact_after = 40 + rng.below(60);
            config.max_batch_bytes = 64 * 1024;
            config.failover = lns_cluster::FailoverMode::Automatic;
            tweak(&mut config);
            let initial: &[MemberId] = if voters.contains(id) { voters } else { &[] };
            let lossy = (disks == Disks::Lossy).then(SimulatedDisk::new);
            let store = match &lossy {
                Some(d) => LogStore::on_simulated_disk(initial, &[], d),
                None => LogStore::in_memory(initial, &[]),
            };
            let start = rng.below(50 * MS);
            let sm = ChainSm::new(*id, checker.clone());
            let core = MemberCore::new(&config, store, sm, &raft_logger(), start)
                .expect("a fresh in-memory member always starts");
            nodes.insert(
                *id,
                Node {
                    config,
                    core: Some(core),
                    disk: None,
                    lossy,
                    sync_at: None,
                    snapshots_installed: 0,
                    became_leader_at: None,
                },
            );
        }
        Sim {
            seed,
            now: 0,
            rng,
            nodes,
            net: BTreeMap::new(),
            net_seq: 0,
            params: NetParams::lan(),
            cut: BTreeSet::new(),
            checker,
            acked: BTreeSet::new(),
            next_cmd: 1,
            load_every: 5 * MS,
            next_load: 0,
            admin_results: BTreeMap::new(),
            reads: BTreeMap::new(),
            active_steps: 0,
            lost_on_crash: 0,
            sync_delay: (100, 4 * MS),
        }
    }

    /// Runs until virtual time `until`.
    pub fn run_until(&mut self, until: u64) {
        loop {
            let next = self.next_event_time();
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            self.step();
        }
    }

    pub fn run_for(&mut self, d: u64) {
        let t = self.now + d;
        self.run_until(t);
    }

    pub fn alive(&self, id: MemberId) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.core.is_some())
    }

    pub fn core(&self, id: MemberId) -> Option<&MemberCore<ChainSm>> {
        self.nodes.get(&id).and_then(|n| n.core.as_ref())
    }

    pub fn core_mut(&mut self, id: MemberId) -> Option<&mut MemberCore<ChainSm>> {
        self.nodes.get_mut(&id).and_then(|n| n.core.as_mut())
    }

    /// Members that are alive and believe they lead.
    pub fn leaders(&self) -> Vec<MemberId> {
        self.nodes
            .iter()
            .filter(|(_, n)| {
                n.core
                    .as_ref()
                    .is_some_and(|c| c.leadership().role == Role::Leader)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn active(&self) -> Vec<MemberId> {
        let now = self.now;
        self.nodes
            .iter()
            .filter(|(_, n)| n.core.as_ref().is_some_and(|c| c.is_active(now)))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn crash(&mut self, id: MemberId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            if let Some(core) = node.core.take() {
                let store = core.into_store();
                node.disk = Some(match &node.lossy {
                    Some(d) => {
                        let written = store.last_index().unwrap_or(0);
                        self.lost_on_crash += written.saturating_sub(d.durable_last_index());
                        d.after_crash()
                    }
                    None => store,
                });
                node.sync_at = None;
                node.became_leader_at = None;
            }
        }
    }

    pub fn restart(&mut self, id: MemberId) {
        let now = self.now;
        let checker = self.checker.clone();
        if let Some(node) = self.nodes.get_mut(&id) {
            if let Some(store) = node.disk.take() {
                let sm = ChainSm::new(id, checker);
                match MemberCore::new(&node.config, store, sm, &raft_logger(), now) {
                    Ok(core) => node.core = Some(core),
                    Err(e) => self
                        .checker
                        .borrow_mut()
                        .violations
                        .push(format!("member {id} failed to restart: {e}")),
                }
            }
        }
    }

    /// Cuts `id` off from every other member (both directions).
    pub fn isolate(&mut self, id: MemberId) {
        let ids: Vec<MemberId> = self.nodes.keys().copied().collect();
        for o in ids.into_iter().filter(|o| *o != id) {
            self.cut.insert((id, o));
            self.cut.insert((o, id));
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Proposes a membership change through the current leader.
    pub fn change_membership(&mut self, change: MembershipChange, token: u64) -> bool {
        let Some(leader) = self.leaders().first().copied() else {
            return false;
        };
        let now = self.now;
        let Some(core) = self.core_mut(leader) else {
            return false;
        };
        let ok = core.propose_membership(&change, token).is_ok();
        let _ = core.flush(now);
        self.drain(leader);
        ok
    }

    /// End-of-run properties: call after healing and a quiet period.
    pub fn final_checks(&self) -> Vec<String> {
        let mut v = self.checker.borrow().violations.clone();
        let live: Vec<(&MemberId, &MemberCore<ChainSm>)> = self
            .nodes
            .iter()
            .filter_map(|(id, n)| n.core.as_ref().map(|c| (id, c)))
            .collect();
        let voters_and_learners: BTreeSet<MemberId> = live
            .iter()
            .flat_map(|(_, c)| c.status().members.into_iter().map(|m| m.id))
            .collect();
        let leaders = self.leaders();
        if leaders.len() != 1 {
            v.push(format!(
                "expected one leader after healing, found {leaders:?}"
            ));
        }
        let mut states = BTreeSet::new();
        for (id, c) in &live {
            if !voters_and_learners.contains(id) {
                continue;
            }
            let sm = c.state_machine();
            states.insert((sm.last_index, sm.hash));
            for cmd in &self.acked {
                if !sm.seen.contains(cmd) {
                    v.push(format!("member {id} lost acknowledged command {cmd}"));
                    break;
                }
            }
        }
        if states.len() > 1 {
            v.push(format!("members disagree on (index, hash): {states:?}"));
        }
        v
    }

    fn next_event_time(&self) -> u64 {
        let mut t = u64::MAX;
        if let Some((&(at, _), _)) = self.net.first_key_value() {
            t = t.min(at);
        }
        for n in self.nodes.values() {
            if let Some(c) = &n.core {
                t = t.min(c.poll_timeout());
            }
            if let Some((at, _)) = n.sync_at {
                t = t.min(at);
            }
        }
        if self.load_every > 0 {
            t = t.min(self.next_load);
        }
        t.max(self.now)
    }

    fn step(&mut self) {
        let now = self.now;
        // Deliver due messages.
        while let Some((&(at, seq), _)) = self.net.first_key_value() {
            if at > now {
                break;
            }
            let Some(m) = self.net.remove(&(at, seq)) else {
                break;
            };
            self.deliver(m);
        }
        // Client load.
        if self.load_every > 0 && self.next_load <= now {
            self.next_load = now + self.load_every / 2 + self.rng.below(self.load_every);
            self.client_propose();
        }
        // Timers and one flush per member.
        let ids: Vec<MemberId> = self.nodes.keys().copied().collect();
        for id in &ids {
            self.advance_disk(*id);
            if let Some(c) = self.core_mut(*id) {
                if c.poll_timeout() <= now {
                    c.handle_timeout(now);
                }
                if let Err(e) = c.flush(now) {
                    eprintln!("t={}ms member {id} flush failed: {e}", now / MS);
                    self.checker
                        .borrow_mut()
                        .violations
                        .push(format!("member {id} flush failed: {e}"));
                }
            }
            self.drain(*id);
            self.advance_disk(*id);
        }
        // At most one active member at any instant; a witness never.
        let active = self.active();
        if active.len() > 1 {
            self.checker.borrow_mut().violations.push(format!(
                "t={}us: members {active:?} active at once",
                self.now
            ));
        }
        if active.len() == 1 {
            self.active_steps += 1;
        }
        for id in active {
            if self.nodes[&id].config.kind() == MemberKind::Witness {
                self.checker
                    .borrow_mut()
                    .violations
                    .push(format!("witness {id} active at t={}us", self.now));
            }
        }
    }

    /// Lossy disks: completes the sync in flight when it is due, and starts
    /// one (covering every Ready written so far) when some are waiting.
    fn advance_disk(&mut self, id: MemberId) {
        let now = self.now;
        let alive = self.alive(id);
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(disk) = node.lossy.clone() else {
            return;
        };
        if !alive {
            return;
        }
        if let Some((at, number)) = node.sync_at {
            if at > now {
                return;
            }
            disk.complete(number);
            node.sync_at = None;
        }
        if let Some(number) = disk.pending() {
            let (lo, hi) = self.sync_delay;
            let delay = lo + self.rng.below(hi - lo + 1);
            if let Some(node) = self.nodes.get_mut(&id) {
                node.sync_at = Some((now + delay, number));
            }
        }
    }

    fn client_propose(&mut self) {
        let Some(leader) = self.leaders().first().copied() else {
            return;
        };
        let id = self.next_cmd;
        self.next_cmd += 1;
        let mut cmd = id.to_be_bytes().to_vec();
        cmd.resize(24, 0x5a);
        if let Some(c) = self.core_mut(leader) {
            let _ = c.propose(cmd, id);
        }
    }

    fn deliver(&mut self, m: InFlight) {
        let to = m.out.to;
        let now = self.now;
        let delivered = !self.cut.contains(&(m.from, to)) && self.alive(to);
        if delivered {
            if let Some(c) = self.core_mut(to) {
                c.handle_envelope(now, m.from, &m.out.envelope);
            }
        }
        if m.out.payload == Payload::Snapshot {
            if let Some(c) = self.core_mut(m.from) {
                c.report_snapshot(to, if delivered { Ok(()) } else { Err(()) });
            }
        }
    }

    /// Moves a member's outputs into the network and the harness.
    fn drain(&mut self, id: MemberId) {
        let mut outs = Vec::new();
        let mut events = Vec::new();
        if let Some(c) = self.core_mut(id) {
            while let Some(o) = c.poll_transmit() {
                outs.push(o);
            }
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
        }
        for out in outs {
            self.send(id, out);
        }
        for e in events {
            match e {
                Event::Proposed { token, result } => {
                    if token >= 1 << 48 {
                        self.admin_results
                            .insert(token, result.map(|_| ()).map_err(|e| e.to_string()));
                    } else if result.is_ok() {
                        self.acked.insert(token);
                    }
                }
                Event::SnapshotInstalled { .. } => {
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.snapshots_installed += 1;
                    }
                }
                Event::Leadership(l) => {
                    if std::env::var_os("LNS_SIM_TRACE").is_some() {
                        eprintln!("t={}ms member {id}: {l:?}", self.now / MS);
                    }
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.became_leader_at = match l.role {
                            Role::Leader => n.became_leader_at.or(Some(self.now)),
                            _ => None,
                        };
                    }
                }
                Event::ReadReady { token, index } => {
                    let applied = self.core(id).map_or(0, |c| c.status().applied);
                    if applied < index {
                        self.checker.borrow_mut().violations.push(format!(
                            "member {id} served read index {index} with only {applied} applied"
                        ));
                    }
                    self.reads.insert(token, (id, index));
                }
                Event::Membership { .. } => {}
            }
        }
    }

    fn send(&mut self, from: MemberId, out: Outbound) {
        let p = self.params.clone();
        if out.payload == Payload::Regular && self.rng.chance(p.drop_permille) {
            return;
        }
        let copies = if out.payload == Payload::Regular && self.rng.chance(p.dup_permille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = p.delay_min + self.rng.below(p.delay_max - p.delay_min + 1);
            self.net_seq += 1;
            self.net.insert(
                (self.now + delay, self.net_seq),
                InFlight {
                    from,
                    out: out.clone(),
                },
            );
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disks {
    /// `LogStore::in_memory`: every write durable at once.
    Synchronous,
    /// `LogStore::on_simulated_disk`.
    Lossy,
}

/// raft-rs logs into tracing when `LNS_SIM_TRACE` is set, else nowhere.
fn raft_logger() -> slog::Logger {
    if std::env::var_os("LNS_SIM_TRACE").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("raft=trace,lns_cluster=trace")
            .with_writer(std::io::stderr)
            .try_init();
        lns_cluster::log_bridge::logger()
    } else {
        lns_cluster::log_bridge::silent()
    }
}

/// Default timers, for tests that reason about them.
pub fn default_lease() -> u64 {
    lns_cluster::Timing::default().lease.as_micros() as u64
}

pub fn tick() -> u64 {
    Duration::from_millis(50).as_micros() as u64
}
