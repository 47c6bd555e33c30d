//! lac-sim's live status: what the LAC sees right now, written as one JSON
//! document to a file every few hundred milliseconds while it runs
//! (`--status-file`), for drills that watch sessions through a fault.
//!
//! Contract: [`Status`] is plain serde data (written with a temporary file
//! and a rename, so a reader never sees half a document); the analysis
//! methods only count what the LAC measured. Times are Unix milliseconds.
//! Gaps are measured from the start of the hold (see [`super::observe`]).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where a session stands, as the LAC sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Not dialled yet.
    Pending,
    /// ICRQ sent or PPP negotiating.
    Dialing,
    /// IPCP opened.
    Up,
    /// Gone.
    Ended,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Global 0-based index.
    pub index: u32,
    /// Our session id.
    pub session: u16,
    /// Where it stands.
    pub state: SessionState,
    /// The address IPCP gave it.
    pub ipv4: Option<Ipv4Addr>,
    /// The LNS ended it (CDN, LCP Terminate, tunnel loss) before our teardown.
    pub ended_by_lns: bool,
    /// Its probe interval in milliseconds (0: no probes).
    pub interval_ms: f64,
    /// Probes sent and echoed.
    pub sent: u64,
    /// Probes echoed.
    pub received: u64,
    /// The last echo (Unix ms), if the hold started.
    pub last_echo_ms: Option<u64>,
    /// The longest time without an echo since the hold started, the open
    /// interval included.
    pub max_gap_ms: Option<u64>,
    /// Its IPv6 stack (lac-sim with `--reflector6`), once IPV6CP opened.
    #[serde(default)]
    pub v6: Option<V6Status>,
}

/// One subscriber's IPv6 state as the LAC sees it (see `lac::ipv6`).
/// Times are Unix ms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V6Status {
    /// The /64 of the first Router Advertisement.
    pub prefix: Option<Ipv6Addr>,
    /// The SLAAC address.
    pub slaac: Option<Ipv6Addr>,
    /// The IA_NA address of the Request's Reply.
    pub ia_na: Option<Ipv6Addr>,
    /// The IA_PD prefix and length of the Request's Reply.
    pub ia_pd: Option<(Ipv6Addr, u8)>,
    /// The last Router Advertisement: when, and its /64.
    pub last_ra: Option<(u64, Ipv6Addr)>,
    /// The last Reply to a Renew: when, and the leases it extended.
    pub last_renew: Option<RenewSeen>,
    /// The last echoed probe from the SLAAC address.
    pub last_echo_ms: Option<u64>,
    /// The last echoed probe from inside the delegated prefix.
    pub last_echo_pd_ms: Option<u64>,
}

/// A Reply to a Renew: (Unix ms, the IA_NA address, the IA_PD prefix it
/// extended).
pub type RenewSeen = (u64, Option<Ipv6Addr>, Option<(Ipv6Addr, u8)>);

impl From<&super::ipv6::V6Outcome> for V6Status {
    fn from(o: &super::ipv6::V6Outcome) -> Self {
        let ms = |t: lns_proto::time::Timestamp| t.unix_micros() / 1000;
        V6Status {
            prefix: o.prefix,
            slaac: o.slaac,
            ia_na: o.ia_na,
            ia_pd: o.ia_pd,
            last_ra: o.last_ra.map(|(t, p)| (ms(t), p)),
            last_renew: o.last_renew.map(|r| (ms(r.at), r.ia_na, r.ia_pd)),
            last_echo_ms: o.last_echo.map(ms),
            last_echo_pd_ms: o.last_echo_pd.map(ms),
        }
    }
}

/// One tunnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunnelStatus {
    /// 0-based tunnel number of this lac-sim.
    pub index: u32,
    /// Our tunnel id (0 before it opened).
    pub tunnel: u16,
    /// SCCCN sent and acknowledged.
    pub up: bool,
    /// Why it went down before our teardown (StopCCN from the LNS,
    /// retransmissions exhausted), if it did.
    pub lost: Option<String>,
    /// The longest wait for an acknowledgement of our control messages
    /// since the hold started, still-open waits included.
    pub max_ack_ms: u64,
    /// Its sessions.
    pub sessions: Vec<SessionStatus>,
}

/// The whole LAC at one instant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// When this was taken (Unix ms).
    pub unix_ms: u64,
    /// `setup`, `traffic`, `drain` or `teardown`.
    pub stage: String,
    /// Every tunnel.
    pub tunnels: Vec<TunnelStatus>,
}

impl Status {
    /// Reads a status file.
    pub fn read(path: &Path) -> Result<Status> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
    }

    /// Writes atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(self).context("serialise status")?;
        std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
    }

    /// Every session, in tunnel order.
    pub fn sessions(&self) -> impl Iterator<Item = &SessionStatus> {
        self.tunnels.iter().flat_map(|t| t.sessions.iter())
    }

    /// Sessions with IPCP opened and not ended.
    pub fn sessions_up(&self) -> usize {
        self.sessions()
            .filter(|s| s.state == SessionState::Up)
            .count()
    }

    /// Up sessions with an echo at or after `since_ms`: (index, address).
    pub fn carrying_since(&self, since_ms: u64) -> BTreeMap<u32, Ipv4Addr> {
        self.sessions()
            .filter(|s| s.state == SessionState::Up)
            .filter(|s| s.last_echo_ms.is_some_and(|t| t >= since_ms))
            .filter_map(|s| s.ipv4.map(|a| (s.index, a)))
            .collect()
    }

    /// Tunnels the LNS tore down (or that died of unacknowledged messages).
    pub fn tunnels_torn_down(&self) -> usize {
        self.tunnels.iter().filter(|t| t.lost.is_some()).count()
    }

    /// Sessions the LNS ended.
    pub fn sessions_ended_by_lns(&self) -> usize {
        self.sessions().filter(|s| s.ended_by_lns).count()
    }

    /// Sessions still dialling (neither up nor ended).
    pub fn sessions_dialing(&self) -> usize {
        self.sessions()
            .filter(|s| matches!(s.state, SessionState::Pending | SessionState::Dialing))
            .count()
    }

    /// Addresses of up sessions, for duplicate checks across LACs.
    pub fn live_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.sessions()
            .filter(|s| s.state == SessionState::Up)
            .filter_map(|s| s.ipv4)
    }

    /// The data gap: the longest time any session went without an echoed
    /// probe, in ms. Sessions probing more slowly than the fastest ones
    /// have the difference of intervals taken off (their spacing is coarser,
    /// not their outage longer), so the figure has the resolution of the
    /// fastest probes ("sentinel" sessions). `None`: nothing measured.
    pub fn data_gap_ms(&self) -> Option<u64> {
        let probing = || self.sessions().filter(|s| s.interval_ms > 0.0);
        let finest = probing()
            .map(|s| s.interval_ms)
            .fold(f64::INFINITY, f64::min);
        probing()
            .filter_map(|s| {
                let gap = s.max_gap_ms? as f64;
                Some((gap - (s.interval_ms - finest)).max(0.0).round() as u64)
            })
            .max()
    }

    /// The control gap: the longest wait of any tunnel for the LNS to
    /// acknowledge a control message, in ms.
    pub fn control_gap_ms(&self) -> u64 {
        self.tunnels.iter().map(|t| t.max_ack_ms).max().unwrap_or(0)
    }
}

/// Addresses held by more than one session in `addresses` (each extra
/// holder counts once).
pub fn duplicate_addresses(addresses: impl IntoIterator<Item = Ipv4Addr>) -> usize {
    let mut seen: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
    for a in addresses {
        *seen.entry(a).or_default() += 1;
    }
    seen.values().map(|n| n - 1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(index: u32, ip: u8, interval_ms: f64, gap: u64, last: u64) -> SessionStatus {
        SessionStatus {
            index,
            session: 100 + index as u16,
            state: SessionState::Up,
            ipv4: Some(Ipv4Addr::new(198, 19, 0, ip)),
            ended_by_lns: false,
            interval_ms,
            sent: 10,
            received: 9,
            last_echo_ms: Some(last),
            max_gap_ms: Some(gap),
            v6: None,
        }
    }

    fn status() -> Status {
        let mut ended = session(2, 3, 200.0, 5000, 1000);
        ended.state = SessionState::Ended;
        ended.ended_by_lns = true;
        Status {
            unix_ms: 9000,
            stage: "traffic".into(),
            tunnels: vec![
                TunnelStatus {
                    index: 0,
                    tunnel: 5,
                    up: true,
                    lost: None,
                    max_ack_ms: 1250,
                    // A sentinel at 10 ms with a 630 ms gap, a 200 ms session
                    // with a 700 ms gap (at most 510 ms of outage).
                    sessions: vec![
                        session(0, 1, 10.0, 630, 8990),
                        session(1, 2, 200.0, 700, 8800),
                    ],
                },
                TunnelStatus {
                    index: 1,
                    tunnel: 6,
                    up: true,
                    lost: Some("StopCcn".into()),
                    max_ack_ms: 80,
                    sessions: vec![ended],
                },
            ],
        }
    }

    #[test]
    fn counts_what_the_lac_saw() {
        let s = status();
        assert_eq!(s.sessions_up(), 2);
        assert_eq!(s.tunnels_torn_down(), 1);
        assert_eq!(s.sessions_ended_by_lns(), 1);
        assert_eq!(s.sessions_dialing(), 0);
        assert_eq!(s.control_gap_ms(), 1250);
        let carrying = s.carrying_since(8900);
        assert_eq!(carrying.len(), 1);
        assert_eq!(carrying.get(&0), Some(&Ipv4Addr::new(198, 19, 0, 1)));
        assert_eq!(s.carrying_since(0).len(), 2, "ended sessions never carry");
    }

    #[test]
    fn the_data_gap_has_the_resolution_of_the_fastest_probes() {
        let s = status();
        // Session 1: 700 - (200 - 10) = 510; the ended one: 5000 - 190 = 4810.
        assert_eq!(s.data_gap_ms(), Some(4810));
        let mut only_live = s.clone();
        only_live.tunnels.truncate(1);
        assert_eq!(only_live.data_gap_ms(), Some(630));
        assert_eq!(Status::default().data_gap_ms(), None);
    }

    #[test]
    fn duplicates_count_extra_holders() {
        let a = Ipv4Addr::new(198, 19, 0, 1);
        let b = Ipv4Addr::new(198, 19, 0, 2);
        assert_eq!(duplicate_addresses([a, b]), 0);
        assert_eq!(duplicate_addresses([a, b, a, a]), 2);
    }

    #[test]
    fn a_written_status_reads_back_equal() {
        let path =
            std::env::temp_dir().join(format!("lns-status-unit-{}.json", std::process::id()));
        let s = status();
        s.write(&path).expect("write");
        assert_eq!(Status::read(&path).expect("read"), s);
        let _ = std::fs::remove_file(&path);
    }
}
