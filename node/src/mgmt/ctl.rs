//! `lnsctl`: argument grammar, command execution and output (tables for
//! people, `--json` for scripts).
//!
//! Contract: [`run`] executes one parsed command against lnsd and writes the
//! result to `out`; every failure comes back as a [`CtlError`] whose message
//! says what to do. The binary only parses arguments and maps errors to exit
//! codes.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use super::client::{self, ClientError, Target};
use super::pb;
use super::server::DEFAULT_SOCKET_PATH;

/// Command line of lnsctl.
#[derive(Debug, Parser)]
#[command(name = "lnsctl", about = "Manage a running lnsd", version)]
pub struct Cli {
    /// Unix socket of the local lnsd.
    #[arg(long, global = true, default_value = DEFAULT_SOCKET_PATH)]
    pub socket: PathBuf,
    /// Talk to lnsd over TCP instead (HOST:PORT); needs --token, or
    /// --tls-ca/--tls-cert/--tls-key when lnsd runs mutual TLS ([mgmt]
    /// tls_*), or both.
    #[arg(long, global = true)]
    pub addr: Option<String>,
    /// Bearer token for --addr.
    #[arg(long, global = true, env = "LNSCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Mutual TLS for --addr: the CA that signed lnsd's certificate (PEM).
    #[arg(long, global = true, env = "LNSCTL_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Mutual TLS for --addr: this client's certificate (PEM), signed by
    /// the CA in lnsd's [mgmt] tls_ca.
    #[arg(long, global = true, env = "LNSCTL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Mutual TLS for --addr: this client's private key (PEM).
    #[arg(long, global = true, env = "LNSCTL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// lnsctl subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Role, term, active node, tunnel addresses, uptime, counts.
    Status,
    /// List sessions, optionally filtered.
    Sessions(SessionFilterArgs),
    /// One session: show or kill.
    #[command(subcommand)]
    Session(SessionCommand),
    /// List tunnels.
    Tunnels,
    /// One tunnel: show or kill.
    #[command(subcommand)]
    Tunnel(TunnelCommand),
    /// Address pools and their use.
    Pools,
    /// RADIUS servers: state, latency, timeouts.
    Radius,
    /// Cluster membership and leadership (writes given to a standby or
    /// the witness are forwarded to the active node).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Drills (forwarded to the active node like every write).
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Node counters.
    Counters,
    /// Configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Stream a pcap of live traffic (active node only).
    Capture(CaptureArgs),
}

/// Filters of `lnsctl sessions`.
#[derive(Debug, Args)]
pub struct SessionFilterArgs {
    /// Only this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Only sessions of this tunnel.
    #[arg(long)]
    pub tunnel: Option<u32>,
    /// Only the session holding this address or prefix.
    #[arg(long)]
    pub ip: Option<String>,
    /// Only sessions in this state.
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
}

/// Session states as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    /// L2TP session being set up.
    Establishing,
    /// PAP/CHAP in progress.
    Authenticating,
    /// NCPs negotiating.
    Network,
    /// Forwarding.
    Up,
    /// Being torn down.
    Closing,
}

/// `lnsctl session ...`.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Details of one session.
    Show {
        /// Session ID (from `lnsctl sessions`).
        id: u32,
    },
    /// Disconnect one session, or every session of a user (on a standby:
    /// forwarded to the active node).
    Kill {
        /// Session ID.
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<u32>,
        /// Kill every session of this user instead.
        #[arg(long)]
        user: Option<String>,
        /// Reason recorded in the logs and accounting.
        #[arg(long, default_value = "administrative kill")]
        reason: String,
    },
}

/// `lnsctl tunnel ...`.
#[derive(Debug, Subcommand)]
pub enum TunnelCommand {
    /// Details of one tunnel.
    Show {
        /// Local tunnel ID.
        id: u32,
    },
    /// Close a tunnel and all its sessions (StopCCN; on a standby:
    /// forwarded to the active node).
    Kill {
        /// Local tunnel ID.
        id: u32,
    },
}

/// `lnsctl cluster ...`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Members, roles, replication lag, last contact.
    Status,
    /// Hand leadership to NODE (or the best standby).
    TransferLeader {
        /// Target node name.
        node: Option<String>,
    },
    /// Add a member (a voter, or with --learner a learner that receives the
    /// log without voting; promote it once its lag is near 0). Start the new
    /// node first with `bootstrap = "join"` in its [cluster] and an empty
    /// data_dir (docs/RUNBOOK.md, "Replacing a dead node").
    Add {
        /// Member id (its node_id).
        node: String,
        /// Its cluster address (HOST:PORT); may be left out when the
        /// member is in [[cluster.members]] of the active node's config.
        address: Option<String>,
        /// Add it as a learner (then `lnsctl cluster promote NODE`).
        #[arg(long)]
        learner: bool,
    },
    /// Promote a learner to a voter (refused while it lags far behind the
    /// leader's commit index: wait for its lag near 0, or --force).
    Promote {
        /// Member id of the learner.
        node: String,
        /// Promote even if the learner lags far behind.
        #[arg(long)]
        force: bool,
    },
    /// Remove a member (a dead one included: the remaining voters must be
    /// a majority of the current ones).
    Remove {
        /// Member id.
        node: String,
    },
}

/// `lnsctl drill ...`.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Planned switchover: reports the gap and sessions before and after.
    Switchover {
        /// Node to switch to (default: the best standby).
        #[arg(long)]
        to: Option<String>,
    },
}

/// `lnsctl config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file with lnsd's full validation (offline: no
    /// lnsd needed; run it where the files it names are).
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `lnsctl capture`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true)
    .args(["session", "user", "tunnel", "all"])))]
pub struct CaptureArgs {
    /// One session by ID.
    #[arg(long)]
    pub session: Option<u32>,
    /// Every session of a user.
    #[arg(long)]
    pub user: Option<String>,
    /// One tunnel by local ID.
    #[arg(long)]
    pub tunnel: Option<u32>,
    /// Every tunnel.
    #[arg(long)]
    pub all: bool,
    /// What to keep (repeatable; default everything).
    #[arg(long = "kind", value_enum)]
    pub kinds: Vec<KindArg>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<u32>,
    /// Stop after this many packets.
    #[arg(long)]
    pub count: Option<u32>,
    /// Write the pcap here ("-" for standard output, e.g. piped to tshark -r -).
    #[arg(short = 'w', long = "write", default_value = "-")]
    pub write: PathBuf,
}

/// Capture kinds as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// L2TP control messages.
    Control,
    /// PAP/CHAP.
    Login,
    /// LCP/IPCP/IPV6CP.
    Negotiation,
    /// DHCPv6.
    Dhcpv6,
    /// Router Solicitation / Advertisement.
    RsRa,
    /// IPv4/IPv6 data.
    Data,
}

/// Why an lnsctl command failed; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// lnsd could not be reached.
    #[error("{0}")]
    Connect(#[from] ClientError),
    /// lnsd answered with an error.
    #[error("{0}")]
    Refused(String),
    /// The arguments are inconsistent.
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// `config check` found problems.
    #[error("{0}")]
    InvalidConfig(String),
}

impl From<tonic::Status> for CtlError {
    fn from(status: tonic::Status) -> Self {
        CtlError::Refused(client::explain(&status))
    }
}

/// Runs one command, writing its output to `out`.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<(), CtlError> {
    if let Command::Config(ConfigCommand::Check { file }) = &cli.command {
        return config_check(file, cli.json, out);
    }
    let target = target(&cli)?;
    let mut c = client::connect(&target).await?;
    let json = cli.json;
    match cli.command {
        Command::Status => {
            let r = c.status(pb::StatusRequest {}).await?.into_inner();
            emit(out, json, &r, || render::status(&r))
        }
        Command::Sessions(f) => {
            let filter = pb::SessionFilter {
                user: f.user.unwrap_or_default(),
                tunnel_id: f.tunnel,
                ip: f.ip.unwrap_or_default(),
                state: f.state.map_or(0, |s| state_to_pb(s) as i32),
            };
            let r = c.list_sessions(filter).await?.into_inner();
            emit(out, json, &r, || render::sessions(&r))
        }
        Command::Session(SessionCommand::Show { id }) => {
            let r = c
                .show_session(pb::SessionRef { session_id: id })
                .await?
                .into_inner();
            emit(out, json, &r, || render::session(&r))
        }
        Command::Session(SessionCommand::Kill { id, user, reason }) => {
            use pb::kill_sessions_request::Target as KillTarget;
            let target = match (id, user) {
                (Some(id), None) => KillTarget::SessionId(id),
                (None, Some(user)) => KillTarget::User(user),
                _ => {
                    return Err(CtlError::Usage(
                        "give a session ID or --user, not both".into(),
                    ))
                }
            };
            let r = c
                .kill_sessions(pb::KillSessionsRequest {
                    target: Some(target),
                    reason,
                })
                .await?
                .into_inner();
            emit(out, json, &r, || render::write_outcome("killed", &r))
        }
        Command::Tunnels => {
            let r = c
                .list_tunnels(pb::ListTunnelsRequest {})
                .await?
                .into_inner();
            emit(out, json, &r, || render::tunnels(&r))
        }
        Command::Tunnel(TunnelCommand::Show { id }) => {
            let r = c
                .show_tunnel(pb::TunnelRef { tunnel_id: id })
                .await?
                .into_inner();
            emit(out, json, &r, || render::tunnel(&r))
        }
        Command::Tunnel(TunnelCommand::Kill { id }) => {
            let r = c
                .kill_tunnel(pb::TunnelRef { tunnel_id: id })
                .await?
                .into_inner();
            emit(out, json, &r, || render::write_outcome("closed", &r))
        }
        Command::Pools => {
            let r = c.list_pools(pb::ListPoolsRequest {}).await?.into_inner();
            emit(out, json, &r, || render::pools(&r))
        }
        Command::Radius => {
            let r = c
                .radius_status(pb::RadiusStatusRequest {})
                .await?
                .into_inner();
            emit(out, json, &r, || render::radius(&r))
        }
        Command::Cluster(ClusterCommand::Status) => {
            let r = c
                .cluster_status(pb::ClusterStatusRequest {})
                .await?
                .into_inner();
            emit(out, json, &r, || render::cluster(&r))
        }
        Command::Cluster(ClusterCommand::TransferLeader { node }) => {
            let r = c
                .transfer_leader(pb::TransferLeaderRequest {
                    target_node: node.unwrap_or_default(),
                })
                .await?
                .into_inner();
            emit(out, json, &r, || render::write_outcome("transferred", &r))
        }
        Command::Cluster(ClusterCommand::Add {
            node,
            address,
            learner,
        }) => {
            let change = pb::MemberChange {
                node,
                address: address.unwrap_or_default(),
                learner,
                force: false,
            };
            let r = c.add_member(change).await?.into_inner();
            emit(out, json, &r, || render::write_outcome("added", &r))
        }
        Command::Cluster(ClusterCommand::Promote { node, force }) => {
            let change = pb::MemberChange {
                node,
                address: String::new(),
                learner: false,
                force,
            };
            let r = c.add_member(change).await?.into_inner();
            emit(out, json, &r, || render::write_outcome("promoted", &r))
        }
        Command::Cluster(ClusterCommand::Remove { node }) => {
            let change = pb::MemberChange {
                node,
                address: String::new(),
                learner: false,
                force: false,
            };
            let r = c.remove_member(change).await?.into_inner();
            emit(out, json, &r, || render::write_outcome("removed", &r))
        }
        Command::Drill(DrillCommand::Switchover { to }) => {
            let request = pb::DrillSwitchoverRequest {
                target_node: to.unwrap_or_default(),
            };
            let r = c.drill_switchover(request).await?.into_inner();
            emit(out, json, &r, || render::drill(&r))
        }
        Command::Counters => {
            let r = c.counters(pb::CountersRequest {}).await?.into_inner();
            emit(out, json, &r, || render::counters(&r))
        }
        Command::Capture(args) => capture(&mut c, args, out).await,
        Command::Config(_) => Ok(()),
    }
}

/// What `lnsctl config check` reports.
#[derive(Debug, Serialize)]
struct ConfigReport {
    file: String,
    valid: bool,
    listen: Vec<String>,
    pools: usize,
    lacs: usize,
}

/// Runs the daemon's own loading: TOML syntax (with line and column), the
/// schema (unknown keys named), the files it names (secrets, token, users)
/// and every cross-field rule, each problem naming its field.
fn config_check(file: &PathBuf, json: bool, out: &mut (dyn Write + Send)) -> Result<(), CtlError> {
    let text = std::fs::read_to_string(file).map_err(|source| CtlError::File {
        path: file.display().to_string(),
        source,
    })?;
    if let Err(e) = text.parse::<toml::Table>() {
        let place = e
            .span()
            .map(|span| {
                let (line, column) = line_column(&text, span.start);
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        return Err(CtlError::InvalidConfig(format!(
            "{}: TOML syntax error{place}: {}",
            file.display(),
            e.message()
        )));
    }
    let config = crate::config::Config::load(file)
        .map_err(|e| CtlError::InvalidConfig(format!("{}: invalid:\n{e}", file.display())))?;
    let report = ConfigReport {
        file: file.display().to_string(),
        valid: true,
        listen: config
            .listen
            .iter()
            .map(|l| l.address.to_string())
            .collect(),
        pools: config.pools.len(),
        lacs: config.lac.len(),
    };
    emit(out, json, &report, || {
        format!(
            "{}: valid (listen {}, {} pool(s), {} LAC(s))\n",
            report.file,
            report.listen.join(" "),
            report.pools,
            report.lacs
        )
    })
}

/// 1-based line and column of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

async fn capture(
    c: &mut client::Client,
    args: CaptureArgs,
    out: &mut (dyn Write + Send),
) -> Result<(), CtlError> {
    use pb::capture_request::Scope;
    let scope = match (&args.session, &args.user, &args.tunnel, args.all) {
        (Some(id), _, _, _) => Scope::SessionId(*id),
        (_, Some(user), _, _) => Scope::User(user.clone()),
        (_, _, Some(id), _) => Scope::TunnelId(*id),
        _ => Scope::AllTunnels(true),
    };
    let request = pb::CaptureRequest {
        scope: Some(scope),
        kinds: args.kinds.iter().map(|k| kind_to_pb(*k) as i32).collect(),
        duration_seconds: args.duration.unwrap_or(0),
        max_packets: args.count.unwrap_or(0),
    };
    if args.duration.is_none() && args.count.is_none() {
        eprintln!(
            "lnsctl: capturing until interrupted (Ctrl-C); use --duration or --count to bound it"
        );
    }
    let mut file: Option<std::fs::File> = None;
    let write_path = args.write.display().to_string();
    if write_path != "-" {
        file = Some(
            std::fs::File::create(&args.write).map_err(|source| CtlError::File {
                path: write_path.clone(),
                source,
            })?,
        );
    }
    let mut stream = c.capture(request).await?.into_inner();
    let mut dropped = 0;
    let mut records = 0u64;
    while let Some(chunk) = stream.message().await? {
        dropped = chunk.dropped;
        let sink: &mut dyn Write = match file.as_mut() {
            Some(f) => f,
            None => &mut *out,
        };
        sink.write_all(&chunk.pcap)
            .map_err(|source| CtlError::File {
                path: write_path.clone(),
                source,
            })?;
        records += 1;
    }
    // The first chunk is the pcap header, not a packet.
    eprintln!(
        "lnsctl: captured {} packets, {dropped} dropped from the capture (queue full)",
        records.saturating_sub(1)
    );
    Ok(())
}

fn emit<T: Serialize>(
    out: &mut (dyn Write + Send),
    json: bool,
    value: &T,
    table: impl FnOnce() -> String,
) -> Result<(), CtlError> {
    let text = if json {
        let mut s = serde_json::to_string_pretty(value)
            .map_err(|e| CtlError::Refused(format!("cannot print JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        table()
    };
    out.write_all(text.as_bytes())
        .map_err(|source| CtlError::File {
            path: "<stdout>".into(),
            source,
        })
}

fn state_to_pb(s: StateArg) -> pb::SessionState {
    match s {
        StateArg::Establishing => pb::SessionState::Establishing,
        StateArg::Authenticating => pb::SessionState::Authenticating,
        StateArg::Network => pb::SessionState::Network,
        StateArg::Up => pb::SessionState::Up,
        StateArg::Closing => pb::SessionState::Closing,
    }
}

/// Where `cli` says to connect: the Unix socket, or `--addr` with a token
/// and/or mutual TLS.
fn target(cli: &Cli) -> Result<Target, CtlError> {
    let Some(addr) = &cli.addr else {
        return Ok(Target::Unix(cli.socket.clone()));
    };
    let tls = match (&cli.tls_ca, &cli.tls_cert, &cli.tls_key) {
        (None, None, None) => None,
        (Some(ca), Some(cert), Some(key)) => Some(
            lns_cluster::TlsConfig::from_pem_files(ca, cert, key)
                .map_err(|e| CtlError::Usage(format!("--tls-ca/--tls-cert/--tls-key: {e}")))?,
        ),
        _ => {
            return Err(CtlError::Usage(
                "--tls-ca, --tls-cert and --tls-key go together: pass all three".into(),
            ))
        }
    };
    if cli.token.is_none() && tls.is_none() {
        return Err(CtlError::Usage(
            "--addr needs a token (--token or LNSCTL_TOKEN) or a client certificate \
             (--tls-ca, --tls-cert, --tls-key)"
                .into(),
        ));
    }
    Ok(Target::Tcp {
        addr: addr.clone(),
        token: cli.token.clone().unwrap_or_default(),
        tls,
    })
}

fn kind_to_pb(k: KindArg) -> pb::CaptureKind {
    match k {
        KindArg::Control => pb::CaptureKind::Control,
        KindArg::Login => pb::CaptureKind::Login,
        KindArg::Negotiation => pb::CaptureKind::Negotiation,
        KindArg::Dhcpv6 => pb::CaptureKind::Dhcpv6,
        KindArg::RsRa => pb::CaptureKind::RsRa,
        KindArg::Data => pb::CaptureKind::Data,
    }
}

mod render;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_parses() {
        let lines = [
            "lnsctl status",
            "lnsctl sessions --user a --tunnel 3 --ip 198.18.0.1 --state up",
            "lnsctl session show 7",
            "lnsctl session kill 7",
            "lnsctl session kill --user bob",
            "lnsctl tunnels",
            "lnsctl tunnel show 3",
            "lnsctl tunnel kill 3",
            "lnsctl pools",
            "lnsctl radius",
            "lnsctl cluster status",
            "lnsctl cluster transfer-leader",
            "lnsctl cluster transfer-leader lns-b",
            "lnsctl cluster add lns-c 198.18.0.3:7000",
            "lnsctl cluster add 2 --learner",
            "lnsctl cluster promote 2",
            "lnsctl cluster promote 2 --force",
            "lnsctl --addr 198.18.0.1:7402 --tls-ca ca.pem --tls-cert c.pem --tls-key k.pem status",
            "lnsctl cluster remove lns-c",
            "lnsctl drill switchover",
            "lnsctl counters",
            "lnsctl config check /etc/lnsd.toml",
            "lnsctl --json capture --user a --kind login --kind negotiation --count 5 -w x.pcap",
            "lnsctl capture --all --duration 10",
        ];
        for line in lines {
            let parsed = Cli::try_parse_from(line.split(' '));
            assert!(parsed.is_ok(), "{line}: {:?}", parsed.err());
        }
    }

    #[test]
    fn inconsistent_arguments_are_refused() {
        for line in [
            "lnsctl session kill 7 --user bob",
            "lnsctl session kill",
            "lnsctl capture --kind login",
            "lnsctl capture --user a --tunnel 3",
        ] {
            assert!(Cli::try_parse_from(line.split(' ')).is_err(), "{line}");
        }
    }

    #[test]
    fn line_column_is_one_based() {
        assert_eq!(line_column("a = 1\nb = \n", 10), (2, 5));
        assert_eq!(line_column("x", 0), (1, 1));
    }
}
