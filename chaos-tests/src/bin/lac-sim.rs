//! lac-sim: the test LAC. Opens T tunnels x S sessions at an LNS, brings
//! PPP up in each (PAP or CHAP, IPCP, IPV6CP), sends UDP probes to a
//! reflector, holds, tears down and prints one summary line (and JSON).
//!
//! Progress goes to stderr: "lac-sim: setup done ..." when the hold
//! starts, so a driver can act during the hold. `--status-file` keeps a
//! live JSON status (per session: state, address, last echo, longest gap;
//! per tunnel: loss, longest control acknowledgement wait) for drills.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use lns_chaos_tests::lac::{self, AuthChoice, ControlTimers, Hold, LacConfig, StatusOutput};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Auth {
    Pap,
    Chap,
}

#[derive(Debug, Parser)]
#[command(about = "Test LAC: tunnels x sessions of PPP over L2TPv2 with probe traffic")]
struct Args {
    /// The LNS control address.
    #[arg(long)]
    lns: SocketAddr,
    /// Local address to bind (one UDP socket per tunnel).
    #[arg(long)]
    local: IpAddr,
    /// Number of tunnels.
    #[arg(long, default_value_t = 1)]
    tunnels: u32,
    /// Sessions per tunnel.
    #[arg(long, default_value_t = 1)]
    sessions_per_tunnel: u32,
    /// Subscriber authentication.
    #[arg(long, value_enum, default_value_t = Auth::Pap)]
    auth: Auth,
    /// User name template; {n} is the 1-based session number.
    #[arg(long, default_value = "user{n}")]
    user_template: String,
    /// Every subscriber's password.
    #[arg(long, default_value = "password")]
    password: String,
    /// Tunnel authentication secret.
    #[arg(long)]
    tunnel_secret: Option<String>,
    /// Cap on new sessions per second (all tunnels together).
    #[arg(long)]
    setup_rate: Option<f64>,
    /// Probes per second per session during the hold (0: none).
    #[arg(long, default_value_t = 10.0)]
    traffic_pps: f64,
    /// Probe size in bytes (the IPv4 packet).
    #[arg(long, default_value_t = 128)]
    packet_size: usize,
    /// UDP echo reflector ADDR:PORT the probes go to.
    #[arg(long)]
    reflector: Option<SocketAddr>,
    /// IPv6 UDP echo reflector [ADDR]:PORT: subscribers also do RS/SLAAC,
    /// DHCPv6 IA_NA + IA_PD and IPv6 probes (from SLAAC and the delegated prefix).
    #[arg(long)]
    reflector6: Option<SocketAddr>,
    /// The first N sessions do not open IPCP (IPv6 only; needs --reflector6).
    #[arg(long, default_value_t = 0)]
    ipv6_only_sessions: u32,
    /// With --reflector6: every N ms each bound subscriber sends a Router
    /// Solicitation and a DHCPv6 Renew (recorded in the status file).
    #[arg(long)]
    v6_refresh_ms: Option<u64>,
    /// With --reflector6: each subscriber also sends one malformed DHCPv6
    /// message (lnsd must ignore and count it).
    #[arg(long)]
    v6_malformed_dhcp: bool,
    /// Seconds to hold sessions after setup (absent: until SIGINT/SIGTERM).
    #[arg(long)]
    hold: Option<f64>,
    /// Seconds after which a session not up counts as failed.
    #[arg(long, default_value_t = 60.0)]
    setup_timeout: f64,
    /// Also print the JSON report (after the summary line).
    #[arg(long)]
    json: bool,
    /// Once setup is done, write one `route ...` line per established
    /// session here (for `blast`, the forward benchmark's load generator).
    #[arg(long)]
    routes_file: Option<std::path::PathBuf>,
    /// Probes per second of each tunnel's first session (fine outage
    /// measurement; 0: same as --traffic-pps).
    #[arg(long, default_value_t = 0.0)]
    sentinel_pps: f64,
    /// Send a HELLO after this many ms of control-channel silence
    /// (default: the RFC 2661 §6.5 60 s).
    #[arg(long)]
    hello_interval_ms: Option<u64>,
    /// First control retransmission timeout in ms (default 1000).
    #[arg(long)]
    retransmit_initial_ms: Option<u64>,
    /// Retransmissions before a tunnel is declared dead (default 5).
    #[arg(long)]
    max_retransmits: Option<u32>,
    /// Write the live status (JSON: sessions, addresses, echoes, gaps) to
    /// this file, replaced every --status-interval-ms.
    #[arg(long)]
    status_file: Option<std::path::PathBuf>,
    /// Status file period in ms.
    #[arg(long, default_value_t = 200)]
    status_interval_ms: u64,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let mut cfg = LacConfig::new(a.lns, a.local, a.tunnels, a.sessions_per_tunnel);
    cfg.auth = match a.auth {
        Auth::Pap => AuthChoice::Pap,
        Auth::Chap => AuthChoice::Chap,
    };
    cfg.user_template = a.user_template;
    cfg.password = a.password;
    cfg.tunnel_secret = a.tunnel_secret;
    cfg.setup_rate = a.setup_rate;
    cfg.traffic_pps = a.traffic_pps;
    cfg.packet_size = a.packet_size;
    cfg.reflector = a.reflector;
    cfg.reflector6 = a.reflector6;
    cfg.ipv6_only_sessions = a.ipv6_only_sessions;
    cfg.v6_refresh = a.v6_refresh_ms.map(Duration::from_millis);
    cfg.v6_malformed = a.v6_malformed_dhcp;
    cfg.hold = match a.hold {
        Some(s) if s.is_finite() && s >= 0.0 => Hold::For(Duration::from_secs_f64(s)),
        Some(_) => anyhow::bail!("--hold must be a number of seconds >= 0"),
        None => Hold::UntilSignal,
    };
    anyhow::ensure!(
        a.setup_timeout.is_finite() && a.setup_timeout > 0.0,
        "--setup-timeout must be positive"
    );
    cfg.setup_timeout = Duration::from_secs_f64(a.setup_timeout);
    cfg.routes_file = a.routes_file;
    cfg.sentinel_pps = a.sentinel_pps;
    cfg.control = ControlTimers {
        hello_interval: a.hello_interval_ms.map(Duration::from_millis),
        retransmit_initial: a.retransmit_initial_ms.map(Duration::from_millis),
        max_retransmits: a.max_retransmits,
    };
    cfg.status = a.status_file.map(|path| StatusOutput {
        path,
        every: Duration::from_millis(a.status_interval_ms),
    });
    cfg.validate()?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let (tx, rx) = watch::channel(false);
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("lac-sim: signal received, tearing down");
            let _ = tx.send(true);
        });
        lac::run(cfg, rx).await
    })?;
    println!("{}", report.summary_line());
    if a.json {
        println!("{}", report.json());
    }
    Ok(())
}
