//! Three members as separate processes (sled on disk, gRPC on 127.0.0.x):
//! propose continuously, SIGKILL the leader, restart it, and check that
//! every acknowledged command is applied exactly once on every member.
//!
//! Real processes run in real time: the test waits by polling the members
//! with deadlines, never by fixed sleeps.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One three-process cluster at a time: nine members plus their clients on
/// a loaded 2-core machine starve the heartbeats (leaders then step down
/// over and over and the tests measure the machine, not the library).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next one may still run.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const SECRET: &str = "process-test-secret-0123456789";

/// Kills (SIGKILL, by PID) every child it started and removes the data
/// directory, also when the test fails.
struct Cluster {
    dir: PathBuf,
    members: String,
    base: u16,
    children: BTreeMap<u64, Child>,
    /// Mutual TLS: each member gets `--tls-*` flags for its own files.
    tls: bool,
}

impl Cluster {
    /// `tag` keeps tests of the same process apart (ports and directory).
    fn new(tag: u16) -> Self {
        // Below the ephemeral range (32768-60999), where an outgoing
        // connection of any other process could already hold a port.
        let base = 20000 + (std::process::id() % 400) as u16 * 30 + tag * 10;
        let dir =
            std::env::temp_dir().join(format!("lns-cluster-proc-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let members = (1..=3)
            .map(|i| format!("{i}=127.0.0.{i}:{}", base + i as u16))
            .collect::<Vec<_>>()
            .join(",");
        Cluster {
            dir,
            members,
            base,
            children: BTreeMap::new(),
            tls: false,
        }
    }

    /// Generates a CA and a certificate for each member's 127.0.0.x
    /// address in the cluster directory; members then run mutual TLS.
    fn with_tls(mut self) -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).expect("CA");
        std::fs::write(self.dir.join("ca.pem"), ca.pem()).expect("write CA");
        for id in 1..=3u64 {
            let key = rcgen::KeyPair::generate().expect("key");
            let cert = rcgen::CertificateParams::new(vec![format!("127.0.0.{id}")])
                .expect("params")
                .signed_by(&key, &ca, &ca_key)
                .expect("signed");
            std::fs::write(self.dir.join(format!("cert-{id}.pem")), cert.pem()).expect("write");
            std::fs::write(self.dir.join(format!("key-{id}.pem")), key.serialize_pem())
                .expect("write");
        }
        self.tls = true;
        self
    }

    fn api(&self, id: u64) -> String {
        format!("127.0.0.{id}:{}", self.base + 5 + id as u16)
    }

    fn start(&mut self, id: u64) {
        self.start_with(id, &self.members.clone(), &[]);
    }

    fn start_with(&mut self, id: u64, members: &str, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("member-{id}.log")))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_lns-cluster-member"))
            .args(["--id", &id.to_string()])
            .args(["--members", members])
            .args([
                "--data",
                &self.dir.join(format!("data-{id}")).display().to_string(),
            ])
            .args(["--api", &self.api(id)])
            .args(["--secret", SECRET])
            .args(["--compact-after", "500"])
            .args(self.tls_args(id))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn member");
        self.children.insert(id, child);
    }

    fn tls_args(&self, id: u64) -> Vec<String> {
        if !self.tls {
            return Vec::new();
        }
        let file = |name: String| self.dir.join(name).display().to_string();
        vec![
            "--tls-ca".into(),
            file("ca.pem".into()),
            "--tls-cert".into(),
            file(format!("cert-{id}.pem")),
            "--tls-key".into(),
            file(format!("key-{id}.pem")),
        ]
    }

    fn kill(&mut self, id: u64) {
        if let Some(mut c) = self.children.remove(&id) {
            let _ = c.kill(); // SIGKILL to this PID only
            let _ = c.wait();
        }
    }

    fn ask(&self, id: u64, line: &str) -> Option<String> {
        let mut s =
            TcpStream::connect_timeout(&self.api(id).parse().ok()?, Duration::from_millis(300))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(6))).ok()?;
        s.write_all(format!("{line}\n").as_bytes()).ok()?;
        let mut out = String::new();
        BufReader::new(s).read_line(&mut out).ok()?;
        Some(out.trim().to_string())
    }

    /// The member that reports itself Leader and Active.
    fn active_leader(&self, deadline: Duration) -> Option<u64> {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            for id in self.children.keys() {
                if let Some(r) = self.ask(*id, "ROLE") {
                    if r.starts_with("Leader Active") {
                        return Some(*id);
                    }
                }
            }
        }
        None
    }

    fn dump(&self, id: u64) -> Option<Vec<u64>> {
        let r = self.ask(id, "DUMP")?;
        let mut words = r.split_whitespace();
        if words.next() != Some("IDS") {
            return None;
        }
        let n: usize = words.next()?.parse().ok()?;
        let ids: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
        (ids.len() == n).then_some(ids)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.children.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
        if std::thread::panicking() {
            eprintln!("member logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Proposes ids for `duration` through whoever leads; returns acked ids.
fn propose_for(c: &Cluster, next: &mut u64, leader: &mut u64, duration: Duration) -> BTreeSet<u64> {
    let mut acked = BTreeSet::new();
    let end = Instant::now() + duration;
    let ids: Vec<u64> = c.children.keys().copied().collect();
    let mut turn = 0;
    while Instant::now() < end {
        let id = *next;
        match c.ask(*leader, &format!("PROPOSE {id}")) {
            Some(r) if r.starts_with("OK") => {
                acked.insert(id);
                *next += 1;
            }
            Some(r) if r.starts_with("ERR NOTLEADER") => {
                let hint: u64 = r
                    .rsplit(' ')
                    .next()
                    .and_then(|h| h.parse().ok())
                    .unwrap_or(0);
                *leader = if hint != 0 && c.children.contains_key(&hint) {
                    hint
                } else {
                    turn += 1;
                    ids[turn % ids.len()]
                };
                // Not proposed: the same id may be retried.
            }
            _ => {
                // Dropped, timed out or unreachable: the outcome is unknown,
                // so never reuse this id.
                *next += 1;
                turn += 1;
                *leader = ids[turn % ids.len()];
            }
        }
    }
    acked
}

#[test]
fn leader_killed_with_sigkill_loses_no_acknowledged_command() {
    let _serial = one_at_a_time();
    kill_the_leader_and_check_every_ack(Cluster::new(0));
}

/// The same over mutual TLS (`--tls-*` PEM files, certificates generated
/// here): replication, failover and the snapshot stream all run inside TLS.
#[test]
fn leader_killed_over_mutual_tls_loses_no_acknowledged_command() {
    let _serial = one_at_a_time();
    kill_the_leader_and_check_every_ack(Cluster::new(2).with_tls());
}

fn kill_the_leader_and_check_every_ack(mut c: Cluster) {
    for id in 1..=3 {
        c.start(id);
    }
    let mut leader = c
        .active_leader(Duration::from_secs(15))
        .expect("an active leader within 15 s");
    let mut next = 1;
    let mut acked = propose_for(&c, &mut next, &mut leader, Duration::from_millis(1500));
    assert!(!acked.is_empty(), "no command acknowledged before the kill");

    let victim = leader;
    c.kill(victim);
    let killed_at = Instant::now();
    let new_leader = c
        .active_leader(Duration::from_secs(10))
        .expect("a new active leader after the kill");
    let failover = killed_at.elapsed();
    assert_ne!(new_leader, victim);
    leader = new_leader;
    acked.extend(propose_for(
        &c,
        &mut next,
        &mut leader,
        Duration::from_millis(1500),
    ));

    c.start(victim);
    acked.extend(propose_for(
        &c,
        &mut next,
        &mut leader,
        Duration::from_millis(1500),
    ));

    // Quiesce: every member must converge on the same applied sequence.
    let end = Instant::now() + Duration::from_secs(20);
    let dumps = loop {
        let dumps: Vec<Option<Vec<u64>>> = (1..=3).map(|id| c.dump(id)).collect();
        if dumps.iter().all(Option::is_some) {
            let dumps: Vec<Vec<u64>> = dumps.into_iter().flatten().collect();
            if dumps.windows(2).all(|w| w[0] == w[1]) {
                break dumps;
            }
        }
        assert!(Instant::now() < end, "members did not converge");
    };
    eprintln!(
        "acked {} commands; failover to an active leader took {} ms (includes detection)",
        acked.len(),
        failover.as_millis()
    );
    let log = std::fs::read_to_string(c.dir.join("member-1.log")).unwrap_or_default();
    let expected = if c.tls {
        "mutual TLS and the cluster secret"
    } else {
        "the cluster secret (no TLS)"
    };
    assert!(log.contains(expected), "member 1 does not say {expected:?}");
    // The restarted member was behind a compacted log (compact-after 500):
    // it caught up through the chunked InstallSnapshot stream.
    let log =
        std::fs::read_to_string(c.dir.join(format!("member-{victim}.log"))).unwrap_or_default();
    assert!(
        log.contains("snapshot installed"),
        "member {victim} caught up without a snapshot"
    );
    for (i, d) in dumps.iter().enumerate() {
        let unique: BTreeSet<u64> = d.iter().copied().collect();
        assert_eq!(
            unique.len(),
            d.len(),
            "member {} applied a command twice",
            i + 1
        );
        let missing: Vec<&u64> = acked.iter().filter(|id| !unique.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "member {} lost acked commands {missing:?}",
            i + 1
        );
    }
}

#[test]
fn member_joins_as_learner_then_voter_and_another_is_removed() {
    let _serial = one_at_a_time();
    let mut c = Cluster::new(1);
    for id in 1..=3 {
        c.start(id);
    }
    let address4 = format!("127.0.0.4:{}", c.base + 4);
    let members4 = format!("{},4={address4}", c.members);
    c.start_with(4, &members4, &["--join"]);
    let mut leader = c
        .active_leader(Duration::from_secs(15))
        .expect("an active leader");
    let mut next = 1;
    let mut acked = propose_for(&c, &mut next, &mut leader, Duration::from_millis(800));

    let ask_leader = |c: &Cluster, line: &str| -> String {
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let l = c.active_leader(Duration::from_secs(5)).unwrap_or(1);
            match c.ask(l, line) {
                Some(r) if r == "OK" => return r,
                r => assert!(Instant::now() < end, "{line}: {r:?}"),
            }
        }
    };
    ask_leader(&c, &format!("ADD_LEARNER 4 {address4}"));
    acked.extend(propose_for(
        &c,
        &mut next,
        &mut leader,
        Duration::from_millis(800),
    ));
    ask_leader(&c, &format!("ADD_VOTER 4 {address4}"));
    let leader_now = c.active_leader(Duration::from_secs(5)).expect("leader");
    let removed = (1..=3).find(|id| *id != leader_now).expect("a follower");
    ask_leader(&c, &format!("REMOVE {removed}"));
    c.kill(removed);
    acked.extend(propose_for(
        &c,
        &mut next,
        &mut leader,
        Duration::from_millis(800),
    ));

    let end = Instant::now() + Duration::from_secs(20);
    let live: Vec<u64> = c.children.keys().copied().collect();
    let dumps = loop {
        let dumps: Vec<Option<Vec<u64>>> = live.iter().map(|id| c.dump(*id)).collect();
        if dumps.iter().all(Option::is_some) {
            let dumps: Vec<Vec<u64>> = dumps.into_iter().flatten().collect();
            if dumps.windows(2).all(|w| w[0] == w[1]) {
                break dumps;
            }
        }
        assert!(Instant::now() < end, "members {live:?} did not converge");
    };
    assert!(live.contains(&4));
    for d in &dumps {
        let unique: BTreeSet<u64> = d.iter().copied().collect();
        assert_eq!(unique.len(), d.len(), "a command applied twice");
        assert!(
            acked.iter().all(|id| unique.contains(id)),
            "an acked command is missing"
        );
    }
    eprintln!(
        "joined member 4, removed member {removed}; {} commands acked",
        acked.len()
    );
}
