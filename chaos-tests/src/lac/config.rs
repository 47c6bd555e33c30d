//! What one lac-sim run does: the LNS to dial, how many tunnels and
//! sessions, how subscribers authenticate, the traffic and how long to hold.
//!
//! Contract: plain data, validated by [`LacConfig::validate`]; the binary
//! builds it from its command line and tests build it directly. User names
//! come from [`LacConfig::user`], the same template the tests use to write
//! RADIUS users.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};

/// How subscribers authenticate (the LNS proposes; we accept only this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    /// PAP (RFC 1334): Configure-Nak CHAP to PAP, as pppd does.
    Pap,
    /// CHAP with MD5 (RFC 1994).
    Chap,
}

/// How long sessions stay up after setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// This long (or until a shutdown signal, whichever comes first).
    For(Duration),
    /// Until a shutdown signal (SIGINT/SIGTERM in the binary).
    UntilSignal,
}

/// One lac-sim run.
#[derive(Debug, Clone)]
pub struct LacConfig {
    /// The LNS control address.
    pub lns: SocketAddr,
    /// Our address (one UDP socket per tunnel, ephemeral ports).
    pub local: IpAddr,
    /// Number of tunnels.
    pub tunnels: u32,
    /// Sessions per tunnel.
    pub sessions_per_tunnel: u32,
    /// PAP or CHAP.
    pub auth: AuthChoice,
    /// User name template; `{n}` becomes the 1-based global session number.
    pub user_template: String,
    /// Every subscriber's password.
    pub password: String,
    /// Tunnel authentication secret (RFC 2661 §5.1.1), if any.
    pub tunnel_secret: Option<String>,
    /// Cap on new sessions per second over all tunnels (`None`: no cap).
    pub setup_rate: Option<f64>,
    /// Probes per second per session during the hold (0: none).
    pub traffic_pps: f64,
    /// Probe size (the IPv4 packet, bytes).
    pub packet_size: usize,
    /// The UDP echo reflector probes go to.
    pub reflector: Option<SocketAddr>,
    /// How long to hold sessions open.
    pub hold: Hold,
    /// Sessions not up after this long count as failed.
    pub setup_timeout: Duration,
    /// After traffic stops, how long to wait for late replies.
    pub drain: Duration,
    /// Where to write the established sessions' routes once setup is done
    /// (`crate::load::routes`), for load generators outside lac-sim.
    pub routes_file: Option<PathBuf>,
    /// The IPv6 UDP echo reflector. Set: every subscriber also runs its
    /// IPv6 stack (RS/SLAAC, DHCPv6 IA_NA and IA_PD, see `lac::ipv6`),
    /// counts as up only once it has both, and probes over IPv6 too.
    pub reflector6: Option<SocketAddr>,
    /// The first this many sessions never open IPCP (IPv6-only subscribers;
    /// needs `reflector6`).
    pub ipv6_only_sessions: u32,
    /// With `reflector6`: every bound subscriber solicits an RA and renews
    /// its DHCPv6 leases this often (first refreshes spread over one
    /// interval); the status file records the answers (failover drills).
    pub v6_refresh: Option<Duration>,
    /// With `reflector6`: every subscriber also sends one malformed DHCPv6
    /// message when its IPv6 starts (the LNS must ignore and count it).
    pub v6_malformed: bool,
    /// Probes per second of each tunnel's first session (a "sentinel" that
    /// measures outages finely); 0: it probes at `traffic_pps` like the rest.
    pub sentinel_pps: f64,
    /// Our §5.8 control timers (`None`: the proto defaults).
    pub control: ControlTimers,
    /// Where to write the live [`super::status::Status`], if anywhere.
    pub status: Option<StatusOutput>,
}

/// Our side's RFC 2661 §5.8/§6.5 control-channel timers. A drill sets a
/// short HELLO interval so the control channel is exercised continuously
/// and an outage shows as a late acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlTimers {
    /// Idle time before we send a HELLO.
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout.
    pub retransmit_initial: Option<Duration>,
    /// Retransmissions before we declare the tunnel dead.
    pub max_retransmits: Option<u32>,
}

/// The live status file and how often it is rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusOutput {
    /// The JSON file (replaced atomically).
    pub path: std::path::PathBuf,
    /// Rewrite period.
    pub every: Duration,
}

impl LacConfig {
    /// Defaults for `tunnels` x `sessions` against `lns` from `local`.
    pub fn new(lns: SocketAddr, local: IpAddr, tunnels: u32, sessions: u32) -> Self {
        LacConfig {
            lns,
            local,
            tunnels,
            sessions_per_tunnel: sessions,
            auth: AuthChoice::Pap,
            user_template: "user{n}".to_string(),
            password: "password".to_string(),
            tunnel_secret: None,
            setup_rate: None,
            traffic_pps: 10.0,
            packet_size: 128,
            reflector: None,
            hold: Hold::For(Duration::from_secs(2)),
            setup_timeout: Duration::from_secs(60),
            drain: Duration::from_millis(500),
            routes_file: None,
            reflector6: None,
            ipv6_only_sessions: 0,
            v6_refresh: None,
            v6_malformed: false,
            sentinel_pps: 0.0,
            control: ControlTimers::default(),
            status: None,
        }
    }

    /// The user name of global session `index` (0-based): `{n}` = index + 1.
    pub fn user(&self, index: u32) -> String {
        user_name(&self.user_template, index)
    }

    /// The probe interval of session `slot` of its tunnel (`None`: no probes).
    pub fn probe_interval(&self, slot: u32) -> Option<Duration> {
        let pps = if slot == 0 && self.sentinel_pps > 0.0 {
            self.sentinel_pps
        } else {
            self.traffic_pps
        };
        (pps > 0.0).then(|| Duration::from_secs_f64(1.0 / pps))
    }

    /// Total sessions.
    pub fn total_sessions(&self) -> u32 {
        self.tunnels.saturating_mul(self.sessions_per_tunnel)
    }

    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.tunnels == 0 || self.tunnels > 4096 {
            bail!("--tunnels must be 1..=4096");
        }
        if self.sessions_per_tunnel == 0 || self.sessions_per_tunnel > 16_384 {
            bail!("--sessions-per-tunnel must be 1..=16384");
        }
        if !self.user_template.contains("{n}") {
            bail!("--user-template must contain {{n}}");
        }
        if self.setup_rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            bail!("--setup-rate must be positive");
        }
        if self.traffic_pps.is_nan() || self.traffic_pps < 0.0 {
            bail!("--traffic-pps must be >= 0");
        }
        if self.sentinel_pps.is_nan() || self.sentinel_pps < 0.0 {
            bail!("--sentinel-pps must be >= 0");
        }
        if self.status.as_ref().is_some_and(|s| s.every.is_zero()) {
            bail!("--status-interval-ms must be positive");
        }
        if (self.traffic_pps > 0.0 || self.sentinel_pps > 0.0)
            && !matches!(self.reflector, Some(SocketAddr::V4(_)))
        {
            bail!("traffic needs an IPv4 --reflector ADDR:PORT (or --traffic-pps 0)");
        }
        if self.reflector6.is_some_and(|r| !r.is_ipv6()) {
            bail!("--reflector6 must be an IPv6 [ADDR]:PORT");
        }
        if self.ipv6_only_sessions > 0 && self.reflector6.is_none() {
            bail!("--ipv6-only-sessions needs --reflector6");
        }
        Ok(())
    }

    /// Whether global session `index` runs without IPCP.
    pub fn ipv6_only(&self, index: u32) -> bool {
        index < self.ipv6_only_sessions
    }
}

/// `template` with `{n}` replaced by `index + 1`.
pub fn user_name(template: &str, index: u32) -> String {
    template.replace("{n}", &(u64::from(index) + 1).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_one_based() {
        assert_eq!(user_name("user{n}", 0), "user1");
        assert_eq!(user_name("u{n}@isp", 41), "u42@isp");
    }

    #[test]
    fn traffic_without_reflector_is_refused() {
        let lns = "198.18.0.2:1701".parse().expect("literal");
        let local = "198.18.0.1".parse().expect("literal");
        let mut c = LacConfig::new(lns, local, 1, 1);
        assert!(c.validate().is_err());
        c.traffic_pps = 0.0;
        assert!(c.validate().is_ok());
        c.user_template = "fixed".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_first_session_of_a_tunnel_is_the_sentinel() {
        let lns = "198.18.0.2:1701".parse().expect("literal");
        let local = "198.18.0.1".parse().expect("literal");
        let mut c = LacConfig::new(lns, local, 2, 3);
        c.traffic_pps = 5.0;
        assert_eq!(c.probe_interval(0), Some(Duration::from_millis(200)));
        c.sentinel_pps = 100.0;
        assert_eq!(c.probe_interval(0), Some(Duration::from_millis(10)));
        assert_eq!(c.probe_interval(2), Some(Duration::from_millis(200)));
        c.traffic_pps = 0.0;
        assert_eq!(c.probe_interval(1), None);
        // Sentinels alone still need a reflector.
        assert!(c.validate().is_err());
    }
}
