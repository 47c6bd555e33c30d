//! A cluster member with a trivial state machine, for process-level tests.
//!
//! The state machine records the id (first 8 bytes, big endian) of every
//! command it applies. A line protocol on `--api` drives it:
//! `PROPOSE <id>` -> `OK <index>` | `ERR <reason>`;
//! `ROLE` -> `<role> <activity> <term> <leader|0>`;
//! `DUMP` -> `IDS <count> <id>...` (in apply order);
//! `ADD_LEARNER <id> <addr>`, `ADD_VOTER <id> <addr>`, `REMOVE <id>` -> `OK` | `ERR <reason>`.
//!
//! Usage: `lns-cluster-member --id 1 --members 1=127.0.0.1:7101,2=...
//! [--witness 3] --data DIR --api 127.0.0.1:7201 --secret S
//! [--compact-after N] [--join] [--tls-ca F --tls-cert F --tls-key F]`
//! (`--join`: start empty and wait to be added; `--tls-*`: mutual TLS with
//! PEM files).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use lns_cluster::{
    ClusterConfig, Member, MemberKind, MembershipChange, PeerSpec, ProposeError, RestoreError,
    Secret, StateMachine,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Default, Clone)]
struct Applied(Arc<Mutex<Vec<u64>>>);

impl Applied {
    fn ids(&self) -> Vec<u64> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
struct IdLog(Applied);

impl StateMachine for IdLog {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        let id = command
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        if let Ok(mut v) = self.0 .0.lock() {
            v.push(id);
        }
        index.to_be_bytes().to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        self.0
            .ids()
            .iter()
            .flat_map(|id| id.to_be_bytes())
            .collect()
    }

    fn restore(&mut self, _index: u64, snapshot: &[u8]) -> Result<(), RestoreError> {
        if snapshot.len() % 8 != 0 {
            return Err(RestoreError("length not a multiple of 8".into()));
        }
        let ids = snapshot
            .chunks_exact(8)
            .filter_map(|c| <[u8; 8]>::try_from(c).ok().map(u64::from_be_bytes))
            .collect();
        if let Ok(mut v) = self.0 .0.lock() {
            *v = ids;
        }
        Ok(())
    }
}

struct Args {
    id: u64,
    members: BTreeMap<u64, PeerSpec>,
    data: PathBuf,
    api: String,
    secret: String,
    compact_after: Option<u64>,
    join: bool,
    /// (CA, certificate, key) PEM files.
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let (mut id, mut members, mut witness, mut data, mut api, mut secret, mut compact) =
        (None, None, None, None, None, None, None);
    let mut join = false;
    let (mut ca, mut cert, mut key) = (None, None, None);
    while let Some(flag) = it.next() {
        if flag == "--join" {
            join = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--id" => id = Some(value.parse::<u64>()?),
            "--members" => members = Some(value),
            "--witness" => witness = Some(value.parse::<u64>()?),
            "--data" => data = Some(PathBuf::from(value)),
            "--api" => api = Some(value),
            "--secret" => secret = Some(value),
            "--compact-after" => compact = Some(value.parse::<u64>()?),
            "--tls-ca" => ca = Some(PathBuf::from(value)),
            "--tls-cert" => cert = Some(PathBuf::from(value)),
            "--tls-key" => key = Some(PathBuf::from(value)),
            other => bail!("unknown flag {other}"),
        }
    }
    let mut map = BTreeMap::new();
    for part in members.context("--members is required")?.split(',') {
        let (i, addr) = part.split_once('=').context("members: id=host:port")?;
        let i: u64 = i.parse()?;
        let kind = if Some(i) == witness {
            MemberKind::Witness
        } else {
            MemberKind::Eligible
        };
        map.insert(
            i,
            PeerSpec {
                address: addr.to_string(),
                kind,
            },
        );
    }
    Ok(Args {
        id: id.context("--id is required")?,
        members: map,
        data: data.context("--data is required")?,
        api: api.context("--api is required")?,
        secret: secret.context("--secret is required")?,
        compact_after: compact,
        join,
        tls: match (ca, cert, key) {
            (None, None, None) => None,
            (Some(ca), Some(cert), Some(key)) => Some((ca, cert, key)),
            _ => bail!("--tls-ca, --tls-cert and --tls-key go together"),
        },
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,raft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let mut config = ClusterConfig::new(args.id, args.members);
    if let Some(n) = args.compact_after {
        config.compact_after = n;
    }
    if args.join {
        config.bootstrap = lns_cluster::Bootstrap::Joining;
    }
    if let Some((ca, cert, key)) = &args.tls {
        config.tls = Some(lns_cluster::TlsConfig::from_pem_files(ca, cert, key)?);
    }
    let applied = Applied::default();
    let member = Member::start(
        config,
        IdLog(applied.clone()),
        &args.data,
        Secret::new(args.secret)?,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(&args.api).await?;
    tracing::info!(api = %args.api, "member ready");
    loop {
        let (sock, _) = listener.accept().await?;
        let member = member.clone();
        let applied = applied.clone();
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = answer(&member, &applied, line.trim()).await;
                if w.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn answer(member: &Member, applied: &Applied, line: &str) -> String {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("PROPOSE") => {
            let Some(id) = words.next().and_then(|w| w.parse::<u64>().ok()) else {
                return "ERR usage".into();
            };
            let mut cmd = id.to_be_bytes().to_vec();
            cmd.resize(200, 0x5a);
            match member.propose(cmd).await {
                Ok(r) => {
                    let index = <[u8; 8]>::try_from(r.as_slice()).map_or(0, u64::from_be_bytes);
                    format!("OK {index}")
                }
                Err(ProposeError::NotLeader { leader }) => {
                    format!("ERR NOTLEADER {}", leader.unwrap_or(0))
                }
                Err(ProposeError::Dropped) => "ERR DROPPED".into(),
                Err(ProposeError::TimedOut) => "ERR TIMEDOUT".into(),
                Err(e) => format!("ERR OTHER {e}"),
            }
        }
        Some("ROLE") => {
            let l = *member.leadership().borrow();
            format!(
                "{:?} {:?} {} {}",
                l.role,
                l.activity,
                l.term,
                l.leader.unwrap_or(0)
            )
        }
        Some("DUMP") => {
            let ids = applied.ids();
            let mut s = format!("IDS {}", ids.len());
            for id in ids {
                s.push(' ');
                s.push_str(&id.to_string());
            }
            s
        }
        Some(verb @ ("ADD_LEARNER" | "ADD_VOTER" | "REMOVE")) => {
            let Some(id) = words.next().and_then(|w| w.parse::<u64>().ok()) else {
                return "ERR usage".into();
            };
            let address = words.next().unwrap_or_default().to_string();
            let change = match verb {
                "ADD_LEARNER" => MembershipChange::AddLearner { id, address },
                "ADD_VOTER" => MembershipChange::AddVoter { id, address },
                _ => MembershipChange::Remove { id },
            };
            match member.change_membership(change).await {
                Ok(()) => "OK".into(),
                Err(e) => format!("ERR {e}"),
            }
        }
        _ => "ERR unknown command".into(),
    }
}
