//! Human-readable renderings of management replies: key/value blocks and
//! hand-aligned tables, one function per reply type.

use std::fmt::Write as _;

use crate::mgmt::pb;

/// Left-aligned columns separated by two spaces; a header row first.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn pairs(items: &[(&str, String)]) -> String {
    let width = items.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    items
        .iter()
        .map(|(k, v)| format!("{:<width$}  {v}\n", format!("{k}:")))
        .collect()
}

fn role(r: i32) -> String {
    match pb::Role::try_from(r) {
        Ok(pb::Role::Active) => "active".into(),
        Ok(pb::Role::Standby) => "standby".into(),
        Ok(pb::Role::Candidate) => "candidate".into(),
        Ok(pb::Role::Single) => "single".into(),
        Ok(pb::Role::Witness) => "witness".into(),
        _ => "unknown".into(),
    }
}

fn state(s: i32) -> String {
    match pb::SessionState::try_from(s) {
        Ok(pb::SessionState::Establishing) => "establishing".into(),
        Ok(pb::SessionState::Authenticating) => "authenticating".into(),
        Ok(pb::SessionState::Network) => "network".into(),
        Ok(pb::SessionState::Up) => "up".into(),
        Ok(pb::SessionState::Closing) => "closing".into(),
        _ => "unknown".into(),
    }
}

fn origin_note(origin: i32) -> &'static str {
    match pb::ReplyOrigin::try_from(origin) {
        Ok(pb::ReplyOrigin::Replicated) => "(answered by a standby from replicated tables)\n",
        _ => "",
    }
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.into()
    }
}

pub(super) fn status(r: &pb::StatusReply) -> String {
    let mut s = pairs(&[
        ("node", r.node.clone()),
        ("role", role(r.role)),
        ("term", r.term.to_string()),
        (
            "active node",
            format!(
                "{} ({})",
                or_dash(&r.active_node),
                or_dash(&r.active_address)
            ),
        ),
        ("tunnel addresses", or_dash(&r.tunnel_addresses.join(", "))),
        ("uptime", duration(r.uptime_seconds)),
        ("tunnels", r.tunnels.to_string()),
        ("sessions", r.sessions.to_string()),
        ("version", or_dash(&r.version)),
    ]);
    s.push_str(origin_note(r.origin));
    s
}

fn session_row(s: &pb::SessionSummary) -> Vec<String> {
    vec![
        s.session_id.to_string(),
        s.tunnel_id.to_string(),
        or_dash(&s.user),
        state(s.state),
        or_dash(&s.ipv4),
        or_dash(&s.ipv6_prefixes.join(",")),
        duration(s.uptime_seconds),
        s.rx_bytes.to_string(),
        s.tx_bytes.to_string(),
    ]
}

pub(super) fn sessions(r: &pb::SessionList) -> String {
    let rows: Vec<_> = r.sessions.iter().map(session_row).collect();
    let mut s = table(
        &[
            "SESSION", "TUNNEL", "USER", "STATE", "IPV4", "IPV6", "UPTIME", "RX", "TX",
        ],
        &rows,
    );
    let _ = writeln!(s, "{} sessions", rows.len());
    s.push_str(origin_note(r.origin));
    s
}

pub(super) fn session(r: &pb::SessionDetail) -> String {
    let sum = r.summary.clone().unwrap_or_default();
    let mut s = pairs(&[
        ("session", sum.session_id.to_string()),
        ("tunnel", sum.tunnel_id.to_string()),
        ("user", or_dash(&sum.user)),
        ("state", state(sum.state)),
        ("ipv4", or_dash(&sum.ipv4)),
        ("ipv6 prefixes", or_dash(&sum.ipv6_prefixes.join(", "))),
        ("ipv6 interface id", or_dash(&r.ipv6_interface_id)),
        ("uptime", duration(sum.uptime_seconds)),
        ("calling number", or_dash(&r.calling_number)),
        ("called number", or_dash(&r.called_number)),
        ("auth", or_dash(&r.auth_protocol)),
        ("mru", r.mru.to_string()),
        ("radius class", or_dash(&r.radius_class)),
        (
            "rx",
            format!("{} bytes, {} packets", sum.rx_bytes, r.rx_packets),
        ),
        (
            "tx",
            format!("{} bytes, {} packets", sum.tx_bytes, r.tx_packets),
        ),
    ]);
    s.push_str(origin_note(r.origin));
    s
}

pub(super) fn write_outcome(verb: &str, r: &pb::WriteOutcome) -> String {
    let mut s = format!("{verb}: {}\n", r.affected);
    if !r.forwarded_to.is_empty() {
        let _ = writeln!(s, "(forwarded to the active node at {})", r.forwarded_to);
    }
    if !r.message.is_empty() {
        let _ = writeln!(s, "{}", r.message);
    }
    s
}

fn tunnel_row(t: &pb::TunnelSummary) -> Vec<String> {
    vec![
        t.tunnel_id.to_string(),
        t.peer_tunnel_id.to_string(),
        or_dash(&t.peer_address),
        or_dash(&t.host_name),
        or_dash(&t.state),
        t.sessions.to_string(),
        duration(t.uptime_seconds),
    ]
}

pub(super) fn tunnels(r: &pb::TunnelList) -> String {
    let rows: Vec<_> = r.tunnels.iter().map(tunnel_row).collect();
    let mut s = table(
        &[
            "TUNNEL", "PEER-ID", "PEER", "HOSTNAME", "STATE", "SESSIONS", "UPTIME",
        ],
        &rows,
    );
    let _ = writeln!(s, "{} tunnels", rows.len());
    s.push_str(origin_note(r.origin));
    s
}

pub(super) fn tunnel(r: &pb::TunnelDetail) -> String {
    let t = r.summary.clone().unwrap_or_default();
    let ids: Vec<String> = r.session_ids.iter().map(u32::to_string).collect();
    let mut s = pairs(&[
        ("tunnel", t.tunnel_id.to_string()),
        ("peer tunnel", t.peer_tunnel_id.to_string()),
        ("peer", or_dash(&t.peer_address)),
        ("local", or_dash(&t.local_address)),
        ("hostname", or_dash(&t.host_name)),
        ("vendor", or_dash(&r.vendor_name)),
        ("state", or_dash(&t.state)),
        ("uptime", duration(t.uptime_seconds)),
        ("receive window", r.receive_window.to_string()),
        ("ns/nr", format!("{}/{}", r.ns, r.nr)),
        ("retransmits", r.retransmits.to_string()),
        ("sessions", or_dash(&ids.join(" "))),
    ]);
    s.push_str(origin_note(r.origin));
    s
}

pub(super) fn pools(r: &pb::PoolList) -> String {
    let rows: Vec<_> = r
        .pools
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.family.clone(),
                p.range.clone(),
                p.used.to_string(),
                p.size.to_string(),
            ]
        })
        .collect();
    let mut s = table(&["POOL", "FAMILY", "RANGE", "USED", "SIZE"], &rows);
    s.push_str(origin_note(r.origin));
    s
}

pub(super) fn radius(r: &pb::RadiusStatusReply) -> String {
    let rows: Vec<_> = r
        .servers
        .iter()
        .map(|v| {
            vec![
                v.address.clone(),
                v.purpose.clone(),
                v.state.clone(),
                format!("{:.1} ms", v.latency_us as f64 / 1000.0),
                v.requests.to_string(),
                v.timeouts.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "SERVER", "PURPOSE", "STATE", "LATENCY", "REQUESTS", "TIMEOUTS",
        ],
        &rows,
    )
}

pub(super) fn cluster(r: &pb::ClusterStatusReply) -> String {
    let rows: Vec<_> = r
        .members
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.name.clone(),
                m.address.clone(),
                if m.learner {
                    format!("{} (learner)", role(m.role))
                } else {
                    role(m.role)
                },
                m.lag_entries.to_string(),
                format!("{} ms ago", m.last_contact_ms),
            ]
        })
        .collect();
    let mut s = format!("term {}, commit index {}\n", r.term, r.commit_index);
    s.push_str(&table(
        &["ID", "NODE", "ADDRESS", "ROLE", "LAG", "LAST CONTACT"],
        &rows,
    ));
    s
}

pub(super) fn drill(r: &pb::DrillSwitchoverReply) -> String {
    let mut s = pairs(&[
        ("from", r.from_node.clone()),
        ("to", r.to_node.clone()),
        ("gap", format!("{} ms", r.gap_ms)),
        ("sessions before", r.sessions_before.to_string()),
        ("sessions after", r.sessions_after.to_string()),
    ]);
    if !r.forwarded_to.is_empty() {
        let _ = writeln!(s, "(forwarded to the active node at {})", r.forwarded_to);
    }
    s
}

pub(super) fn counters(r: &pb::CountersReply) -> String {
    let rows: Vec<_> = r
        .counters
        .iter()
        .map(|c| vec![c.name.clone(), c.value.to_string()])
        .collect();
    table(&["COUNTER", "VALUE"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_to_widest_cell() {
        let t = table(
            &["ID", "USER"],
            &[
                vec!["1".into(), "alice".into()],
                vec!["1234".into(), "b".into()],
            ],
        );
        assert_eq!(t, "ID    USER\n1     alice\n1234  b\n");
    }

    #[test]
    fn durations_are_readable() {
        assert_eq!(duration(3661), "01:01:01");
        assert_eq!(duration(90_061), "1d01h01m");
    }
}
