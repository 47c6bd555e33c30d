//! Benchmark: three members in one process over loopback gRPC, sled on disk
//! with fsync on. Reports committed commands per second and commit latency
//! (p50/p99) for 200-byte commands at several in-flight levels, the highest
//! of those levels whose p99 stays under `--p99-target-ms` (20 ms), then the
//! sled directory size after `--count` commands with compaction divided by
//! the live state size (`--count 0` skips that part).
//!
//! Usage: `lns-cluster-bench [--seconds 5] [--count 1000000]
//! [--inflight 1,16,64,256,1024] [--p99-target-ms 20] [--compact-after 10000]
//! [--no-fsync]`
//! (`--no-fsync` only to see how much of the cost is the disk).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use lns_cluster::{
    ClusterConfig, Member, MemberKind, PeerSpec, RestoreError, Secret, StateMachine,
};

const USAGE: &str = "usage: lns-cluster-bench [--seconds 5] [--count 1000000] \
                     [--inflight 1,16,64,256,1024] [--p99-target-ms 20] \
                     [--compact-after 10000] [--no-fsync]";

/// A key-value state: key = first 8 bytes modulo `KEYS`, value = the rest.
/// Values are shared immutable slices, so a frozen view for compaction is
/// a clone of the map (no value is copied) serialised on another thread.
#[derive(Debug, Default)]
struct Kv(BTreeMap<u64, Arc<[u8]>>);

const KEYS: u64 = 10_000;

impl StateMachine for Kv {
    fn apply(&mut self, _index: u64, command: &[u8]) -> Vec<u8> {
        let key = command
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes)
            % KEYS;
        self.0
            .insert(key, command.get(8..).unwrap_or_default().into());
        Vec::new()
    }

    fn snapshot(&self) -> Vec<u8> {
        encode_kv(&self.0)
    }

    fn snapshot_view(&self) -> lns_cluster::SnapshotView {
        let frozen = self.0.clone();
        Box::new(move || encode_kv(&frozen))
    }

    fn restore(&mut self, _index: u64, mut s: &[u8]) -> Result<(), RestoreError> {
        let mut map = BTreeMap::new();
        while !s.is_empty() {
            if s.len() < 12 {
                return Err(RestoreError("truncated".into()));
            }
            let k = u64::from_be_bytes(s[..8].try_into().map_err(|_| RestoreError("key".into()))?);
            let n = u32::from_be_bytes(
                s[8..12]
                    .try_into()
                    .map_err(|_| RestoreError("len".into()))?,
            ) as usize;
            let v = s
                .get(12..12 + n)
                .ok_or_else(|| RestoreError("value".into()))?;
            map.insert(k, v.into());
            s = &s[12 + n..];
        }
        self.0 = map;
        Ok(())
    }
}

fn encode_kv(map: &BTreeMap<u64, Arc<[u8]>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(map.len() * (12 + 192));
    for (k, v) in map {
        out.extend_from_slice(&k.to_be_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
    }
    out
}

struct Opts {
    fsync: lns_cluster::Fsync,
    seconds: u64,
    count: u64,
    inflight: Vec<usize>,
    p99_target_ms: f64,
    compact_after: u64,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        fsync: lns_cluster::Fsync::Always,
        seconds: 5,
        count: 1_000_000,
        inflight: vec![1, 16, 64, 256, 1024],
        p99_target_ms: 20.0,
        compact_after: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-fsync" {
            o.fsync = lns_cluster::Fsync::Never;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let v = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--seconds" => o.seconds = v.parse()?,
            "--count" => o.count = v.parse()?,
            "--p99-target-ms" => o.p99_target_ms = v.parse()?,
            "--compact-after" => o.compact_after = v.parse()?,
            "--inflight" => {
                o.inflight = v.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            other => anyhow::bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    Ok(o)
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let o = opts()?;
    let base = 23000 + (std::process::id() % 1000) as u16 * 5;
    let root: PathBuf =
        std::env::temp_dir().join(format!("lns-cluster-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let members: BTreeMap<u64, PeerSpec> = (1..=3u64)
        .map(|i| {
            (
                i,
                PeerSpec {
                    address: format!("127.0.0.{i}:{}", base + i as u16),
                    kind: MemberKind::Eligible,
                },
            )
        })
        .collect();
    let secret = Secret::new("bench-secret-0123456789")?;
    // The members' gRPC servers and peer links run on a runtime of their
    // own: the 1 024 client tasks, woken together when a batch commits,
    // must not queue in front of the replication traffic.
    let members_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-members")
        .enable_all()
        .build()?;
    let mut handles = Vec::new();
    for id in 1..=3u64 {
        let mut config = ClusterConfig::new(id, members.clone());
        config.compact_after = o.compact_after;
        config.fsync = o.fsync;
        let (dir, secret) = (root.join(format!("m{id}")), secret.clone());
        let m = members_rt
            .spawn(async move { Member::start(config, Kv::default(), &dir, secret).await })
            .await??;
        handles.push(m);
    }
    let leader = loop {
        if let Some(m) = handles.iter().find(|m| m.is_active()) {
            break m.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("leader: member {}", leader.id());
    let next = Arc::new(AtomicU64::new(0));
    // (in flight, commands/s, p99) of the levels that met the p99 target.
    let mut best: Option<(usize, f64, f64)> = None;
    for &k in &o.inflight {
        let (failed, lat) = run(&handles, &next, k, Duration::from_secs(o.seconds)).await;
        let n = lat.len() as u64;
        let secs = o.seconds as f64;
        let p99 = pct(&lat, 99.0);
        println!(
            "inflight {k:>5}: {:>8.0} commands/s, p50 {:.2} ms, p99 {:.2} ms ({n} commands, {failed} failed; p90 {:.2} p95 {:.2} p99.9 {:.2} max {:.2})",
            n as f64 / secs,
            pct(&lat, 50.0),
            p99, pct(&lat, 90.0), pct(&lat, 95.0), pct(&lat, 99.9), pct(&lat, 100.0)
        );
        if p99 < o.p99_target_ms && best.is_none_or(|(b, _, _)| k > b) {
            best = Some((k, n as f64 / secs, p99));
        }
    }
    match best {
        Some((k, rate, p99)) => println!(
            "highest in-flight level with p99 < {} ms: {k} ({rate:.0} commands/s, p99 {p99:.2} ms)",
            o.p99_target_ms
        ),
        None => println!("no in-flight level had p99 < {} ms", o.p99_target_ms),
    }
    if o.count == 0 {
        stop(&handles).await;
        let _ = std::fs::remove_dir_all(&root);
        members_rt.shutdown_background();
        return Ok(());
    }
    // Compaction: push `count` commands, then compare sizes.
    let started = Instant::now();
    let before = next.load(Ordering::Relaxed);
    run_count(&handles, &next, 1024, o.count).await;
    let took = started.elapsed();
    let done = next.load(Ordering::Relaxed) - before;
    let status = leader.status().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let live = (KEYS as usize * (8 + 4 + 192)) as f64;
    let dir = dir_size(&root.join(format!("m{}", leader.id())));
    println!(
        "{done} commands in {:.1} s ({:.0}/s); leader sled dir {:.1} MiB, live state {:.1} MiB, ratio {:.1} (snapshot index {}, applied {})",
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64(),
        dir as f64 / 1048576.0,
        live / 1048576.0,
        dir as f64 / live,
        status.snapshot_index,
        status.applied
    );
    stop(&handles).await;
    let _ = std::fs::remove_dir_all(&root);
    members_rt.shutdown_background();
    Ok(())
}

/// Stops every member and waits until each task has ended (its leadership
/// watch closes), so the directories are not removed under a member.
async fn stop(members: &[Member]) {
    for m in members {
        let mut watch = m.leadership();
        m.shutdown().await;
        while watch.changed().await.is_ok() {}
    }
}

fn command(id: u64) -> Vec<u8> {
    let mut c = id.to_be_bytes().to_vec();
    c.resize(200, 0xa5);
    c
}

/// Runs `k` closed-loop clients for `d` against whichever member is
/// active (a leader change during the run is followed); returns the number
/// of failed proposals and the sorted latencies of the others.
async fn run(members: &[Member], next: &Arc<AtomicU64>, k: usize, d: Duration) -> (u64, Vec<f64>) {
    let end = Instant::now() + d;
    let mut tasks = Vec::new();
    for _ in 0..k {
        let members = members.to_vec();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < end {
                let m = members
                    .iter()
                    .find(|m| m.is_active())
                    .unwrap_or(&members[0]);
                let id = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if m.propose(command(id)).await.is_ok() {
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            (failed, lat)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (f, lat) = t.await.unwrap_or_default();
        failed += f;
        all.extend(lat);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    (failed, all)
}

/// Proposes `count` commands with `k` in flight through whichever member
/// leads (a leader change during the run is followed).
async fn run_count(members: &[Member], next: &Arc<AtomicU64>, k: usize, count: u64) {
    let target = next.load(Ordering::Relaxed) + count;
    let mut tasks = Vec::new();
    for _ in 0..k {
        let members = members.to_vec();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut id = next.fetch_add(1, Ordering::Relaxed);
            while id < target {
                let m = members
                    .iter()
                    .find(|m| m.is_active())
                    .unwrap_or(&members[0]);
                match m.propose(command(id)).await {
                    Ok(_) => id = next.fetch_add(1, Ordering::Relaxed),
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
