//! What a lac-sim run measured, per session and in total, and its two
//! printed forms: one `key=value` summary line and a JSON document.
//!
//! Contract: figures are only ever measured, never estimated; a figure
//! that could not be measured (no session came up) is printed as `-` in
//! the line and `null` in JSON. Loss is probes sent minus replies received.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One session's outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionReport {
    /// Global 0-based session index.
    pub index: u32,
    /// The user it authenticated as.
    pub user: String,
    /// Our tunnel id.
    pub tunnel: u16,
    /// Our session id (0 if the ICRQ was never answered).
    pub session: u16,
    /// ICRQ sent to IPCP opened.
    pub setup: Option<Duration>,
    /// The address IPCP gave us.
    pub ipv4: Option<Ipv4Addr>,
    /// The interface identifiers IPV6CP settled on (ours, the LNS's).
    pub ipv6_ids: Option<(u64, u64)>,
    /// IPv6 (with `--reflector6`): SLAAC, DHCPv6 and IPv6 probe figures.
    pub v6: Option<crate::lac::ipv6::V6Outcome>,
    /// Probes sent.
    pub sent: u64,
    /// Replies received.
    pub received: u64,
    /// The LNS ended the session (CDN, LCP Terminate or tunnel loss)
    /// before our teardown.
    pub dropped_early: bool,
}

/// One tunnel's outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TunnelReport {
    /// Our tunnel id (0 if it never opened).
    pub tunnel: u16,
    /// SCCRQ to SCCCN.
    pub up: bool,
    /// Our StopCCN was acknowledged and every CDN before it.
    pub clean_teardown: bool,
    /// Why the tunnel went down before our teardown (StopCCN from the LNS,
    /// retransmissions exhausted, ...), if it did.
    pub lost: Option<String>,
    /// Its sessions.
    pub sessions: Vec<SessionReport>,
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Per tunnel.
    pub tunnels: Vec<TunnelReport>,
    /// From the first SCCRQ to the last session up (or setup timeout).
    pub setup_elapsed: Duration,
    /// How long probes were sent.
    pub traffic_elapsed: Duration,
}

impl Report {
    /// Sessions that came up: IPCP opened (IPv6-only: SLAAC and DHCPv6
    /// done instead; with `reflector6`, both).
    pub fn sessions_up(&self) -> usize {
        self.sessions().filter(|s| s.setup.is_some()).count()
    }

    /// Sessions whose IPV6CP opened.
    pub fn ipv6_up(&self) -> usize {
        self.sessions().filter(|s| s.ipv6_ids.is_some()).count()
    }

    /// Every session, in tunnel order.
    pub fn sessions(&self) -> impl Iterator<Item = &SessionReport> {
        self.tunnels.iter().flat_map(|t| t.sessions.iter())
    }

    /// Probes sent, replies received.
    pub fn traffic(&self) -> (u64, u64) {
        self.sessions()
            .fold((0, 0), |(s, r), x| (s + x.sent, r + x.received))
    }

    /// Setup latency percentile `p` (0..=100) over sessions that came up.
    pub fn setup_percentile(&self, p: f64) -> Option<Duration> {
        let mut v: Vec<Duration> = self.sessions().filter_map(|s| s.setup).collect();
        percentile(&mut v, p)
    }

    /// Sessions up per second of setup time.
    pub fn sessions_per_sec(&self) -> Option<f64> {
        let secs = self.setup_elapsed.as_secs_f64();
        (secs > 0.0 && self.sessions_up() > 0).then(|| self.sessions_up() as f64 / secs)
    }

    /// Tunnels that went down before our teardown.
    pub fn tunnels_lost(&self) -> usize {
        self.tunnels.iter().filter(|t| t.lost.is_some()).count()
    }

    /// Whether every tunnel tore down cleanly.
    pub fn clean_teardown(&self) -> bool {
        self.tunnels.iter().all(|t| t.clean_teardown)
    }

    /// The machine-readable summary line.
    pub fn summary_line(&self) -> String {
        let (sent, received) = self.traffic();
        let secs = self.traffic_elapsed.as_secs_f64();
        let mut line = String::from("lac-sim");
        let _ = write!(
            line,
            " tunnels={} tunnels_up={} tunnels_lost={} sessions={} sessions_up={} ipv6_up={} dropped={}",
            self.tunnels.len(),
            self.tunnels.iter().filter(|t| t.up).count(),
            self.tunnels_lost(),
            self.sessions().count(),
            self.sessions_up(),
            self.ipv6_up(),
            self.sessions().filter(|s| s.dropped_early).count(),
        );
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
            let _ = write!(line, " setup_{name}_ms={}", ms(self.setup_percentile(p)));
        }
        let _ = write!(
            line,
            " setup_secs={:.3} sessions_per_sec={} sent={sent} received={received} losses={} \
             tx_pps={} rx_pps={} teardown={}",
            self.setup_elapsed.as_secs_f64(),
            opt(self.sessions_per_sec()),
            sent.saturating_sub(received),
            opt((secs > 0.0).then(|| sent as f64 / secs)),
            opt((secs > 0.0).then(|| received as f64 / secs)),
            if self.clean_teardown() {
                "clean"
            } else {
                "unclean"
            },
        );
        line
    }

    /// The JSON document (`--json`): totals and every session.
    pub fn json(&self) -> String {
        let (sent, received) = self.traffic();
        let mut j = String::from("{");
        let _ = write!(
            j,
            "\"tunnels\":{},\"tunnels_up\":{},\"tunnels_lost\":{},\"sessions\":{},\"sessions_up\":{},\"ipv6_up\":{},",
            self.tunnels.len(),
            self.tunnels.iter().filter(|t| t.up).count(),
            self.tunnels_lost(),
            self.sessions().count(),
            self.sessions_up(),
            self.ipv6_up()
        );
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
            let v = self.setup_percentile(p).map(|d| d.as_secs_f64() * 1e3);
            let _ = write!(j, "\"setup_{name}_ms\":{},", json_num(v));
        }
        let _ = write!(
            j,
            "\"setup_secs\":{:.6},\"sessions_per_sec\":{},\"sent\":{sent},\"received\":{received},\
             \"losses\":{},\"clean_teardown\":{},\"session_list\":[",
            self.setup_elapsed.as_secs_f64(),
            json_num(self.sessions_per_sec()),
            sent.saturating_sub(received),
            self.clean_teardown()
        );
        for (i, s) in self.sessions().enumerate() {
            if i > 0 {
                j.push(',');
            }
            let _ = write!(
                j,
                "{{\"index\":{},\"user\":\"{}\",\"tunnel\":{},\"session\":{},\"setup_ms\":{},\
                 \"ipv4\":{},\"ipv6\":{},{}\"sent\":{},\"received\":{},\"dropped_early\":{}}}",
                s.index,
                json_escape(&s.user),
                s.tunnel,
                s.session,
                json_num(s.setup.map(|d| d.as_secs_f64() * 1e3)),
                s.ipv4
                    .map_or_else(|| "null".to_string(), |a| format!("\"{a}\"")),
                s.ipv6_ids.is_some(),
                s.v6.as_ref().map_or_else(String::new, v6_json),
                s.sent,
                s.received,
                s.dropped_early
            );
        }
        j.push_str("]}");
        j
    }
}

/// The IPv6 fields of one session, each followed by a comma.
fn v6_json(v: &crate::lac::ipv6::V6Outcome) -> String {
    let s = |a: Option<std::net::Ipv6Addr>| a.map_or_else(|| "null".into(), |a| format!("\"{a}\""));
    format!(
        "\"ipv6_prefix\":{},\"slaac\":{},\"ia_na\":{},\"ia_pd\":{},\"sent6\":{},\"received6\":{},\"sent_pd\":{},\"received_pd\":{},",
        s(v.prefix),
        s(v.slaac),
        s(v.ia_na),
        v.ia_pd
            .map_or_else(|| "null".into(), |(p, l)| format!("\"{p}/{l}\"")),
        v.sent,
        v.received,
        v.sent_pd,
        v.received_pd
    )
}

/// Nearest-rank percentile of `v` (sorted in place).
pub fn percentile(v: &mut [Duration], p: f64) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".to_string(),
        |d| format!("{:.1}", d.as_secs_f64() * 1e3),
    )
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
}

fn json_num(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_string(), |x| format!("{x:.3}"))
}

fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&mut v, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&mut v, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&mut v, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn summary_counts_losses_and_unmeasured_figures() {
        let up = SessionReport {
            index: 0,
            user: "user1".into(),
            setup: Some(Duration::from_millis(20)),
            ipv4: Some(Ipv4Addr::new(198, 19, 0, 1)),
            sent: 10,
            received: 9,
            ..SessionReport::default()
        };
        let down = SessionReport {
            index: 1,
            user: "us\"er2".into(),
            ..SessionReport::default()
        };
        let r = Report {
            tunnels: vec![TunnelReport {
                tunnel: 7,
                up: true,
                clean_teardown: true,
                lost: None,
                sessions: vec![up, down],
            }],
            setup_elapsed: Duration::from_millis(500),
            traffic_elapsed: Duration::from_secs(1),
        };
        let line = r.summary_line();
        assert!(
            line.starts_with(
                "lac-sim tunnels=1 tunnels_up=1 tunnels_lost=0 sessions=2 sessions_up=1 "
            ),
            "{line}"
        );
        assert!(line.contains(" setup_p50_ms=20.0 "), "{line}");
        assert!(line.contains(" sessions_per_sec=2.0 "), "{line}");
        assert!(line.contains(" sent=10 received=9 losses=1 "), "{line}");
        assert!(line.ends_with(" teardown=clean"), "{line}");
        let j = r.json();
        assert!(j.contains("\"losses\":1"), "{j}");
        assert!(j.contains("\"user\":\"us\\\"er2\""), "{j}");
        assert!(j.contains("\"ipv4\":null"), "{j}");
        let empty = Report::default();
        assert!(empty.summary_line().contains(" setup_p50_ms=- "));
    }
}
