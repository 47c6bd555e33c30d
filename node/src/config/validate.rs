//! Cross-field validation of [`super::Config`]. Contract: every problem is
//! reported (not just the first), as a [`FieldError`] naming the field path
//! and saying what is allowed.

use super::{Config, PoolConfig};
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field path, e.g. `pools[1].ranges[0]`.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Runs every rule.
pub(super) fn check(c: &Config) -> Result<(), Vec<FieldError>> {
    let mut errs = Errors(Vec::new());
    if let Some(cluster) = &c.cluster {
        super::cluster::check(cluster, &mut errs.0);
    }
    if c.is_witness() {
        // A witness runs Raft only: [node] and [cluster] are all it needs.
        if c.node.host_name.is_empty() || c.node.host_name.len() > 255 {
            errs.add("node.host_name", "must be 1 to 255 characters");
        }
        http(c, &mut errs);
        return if errs.0.is_empty() {
            Ok(())
        } else {
            Err(errs.0)
        };
    }
    if c.ppp == super::PppConfig::absent() {
        errs.add("ppp", "the [ppp] section (at least ipcp_local) is required");
    }
    node(c, &mut errs);
    lacs(c, &mut errs);
    limits(c, &mut errs);
    l2tp(c, &mut errs);
    ppp(c, &mut errs);
    pools(c, &mut errs);
    aaa(c, &mut errs);
    tun(c, &mut errs);
    http(c, &mut errs);
    if let Some(v6) = &c.ipv6 {
        errs.0.extend(super::ipv6::check(v6));
    }
    super::acct::check(c, &mut errs.0);
    errs.0.extend(super::mgmt::check(&c.mgmt));
    if errs.0.is_empty() {
        Ok(())
    } else {
        Err(errs.0)
    }
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }
}

fn node(c: &Config, e: &mut Errors) {
    if c.node.host_name.is_empty() || c.node.host_name.len() > 255 {
        e.add("node.host_name", "must be 1 to 255 characters");
    }
    if c.listen.is_empty() {
        e.add("listen", "at least one [[listen]] address is required");
    }
    let mut seen = BTreeSet::new();
    for (i, l) in c.listen.iter().enumerate() {
        if !seen.insert(l.address) {
            e.add(
                format!("listen[{i}].address"),
                format!("{} is listed twice", l.address),
            );
        }
        if l.address.port() == 0 {
            e.add(
                format!("listen[{i}].address"),
                "port 0 is not allowed (use 1701)",
            );
        }
        if l.host_name.as_ref().is_some_and(|h| h.is_empty()) {
            e.add(format!("listen[{i}].host_name"), "must not be empty");
        }
    }
}

fn lacs(c: &Config, e: &mut Errors) {
    for (i, l) in c.lac.iter().enumerate() {
        let p = format!("lac[{i}]");
        if l.host_name.is_none() && l.address.is_none() {
            e.add(&p, "give host_name, address or both to match the LAC");
        }
        if l.secret.is_some() && l.secret_file.is_some() {
            e.add(
                format!("{p}.secret_file"),
                "give either secret or secret_file, not both",
            );
        }
        let has_secret = l.secret.is_some() || l.secret_file.is_some();
        if l.tunnel_auth == super::TunnelAuthPolicy::Required && !has_secret {
            e.add(
                format!("{p}.tunnel_auth"),
                "\"required\" needs a secret or secret_file",
            );
        }
        if l.hide_avps && !has_secret {
            e.add(
                format!("{p}.hide_avps"),
                "hiding AVPs needs a secret or secret_file",
            );
        }
        if l.secret.as_ref().is_some_and(|s| s.expose().is_empty()) {
            e.add(format!("{p}.secret"), "must not be empty");
        }
    }
}

fn limits(c: &Config, e: &mut Errors) {
    let l = &c.limits;
    for (name, v) in [
        ("max_tunnels", l.max_tunnels),
        ("max_sessions", l.max_sessions),
        ("max_sessions_per_tunnel", l.max_sessions_per_tunnel),
        ("max_half_open", l.max_half_open),
        ("control_queue", l.control_queue),
    ] {
        if v == 0 {
            e.add(format!("limits.{name}"), "must be at least 1");
        }
    }
    if l.max_tunnels > 65_535 {
        e.add("limits.max_tunnels", "at most 65535 (16-bit tunnel ids)");
    }
    if l.max_sessions_per_tunnel > 65_535 {
        e.add(
            "limits.max_sessions_per_tunnel",
            "at most 65535 (16-bit session ids)",
        );
    }
    if l.setups_per_second_per_source == 0 {
        e.add("limits.setups_per_second_per_source", "must be at least 1");
    }
}

fn l2tp(c: &Config, e: &mut Errors) {
    let t = &c.l2tp;
    if t.retransmit_initial_ms == 0 {
        e.add("l2tp.retransmit_initial_ms", "must be at least 1");
    }
    if t.retransmit_max_ms < 8_000 {
        e.add(
            "l2tp.retransmit_max_ms",
            "RFC 2661 §5.8: the backoff cap must be at least 8000 ms",
        );
    }
    if t.retransmit_max_ms < t.retransmit_initial_ms {
        e.add(
            "l2tp.retransmit_max_ms",
            "must not be below retransmit_initial_ms",
        );
    }
    if t.max_retransmits == 0 {
        e.add("l2tp.max_retransmits", "must be at least 1");
    }
    if t.receive_window == 0 {
        e.add("l2tp.receive_window", "must be at least 1");
    }
    if t.hello_interval_secs == 0 {
        e.add("l2tp.hello_interval_secs", "must be at least 1");
    }
}

fn ppp(c: &Config, e: &mut Errors) {
    let p = &c.ppp;
    if p.auth_order.is_empty() {
        e.add("ppp.auth_order", "list at least one of \"chap\", \"pap\"");
    }
    let distinct: BTreeSet<_> = p.auth_order.iter().map(|m| *m as u8).collect();
    if distinct.len() != p.auth_order.len() {
        e.add("ppp.auth_order", "a method is listed twice");
    }
    if !(576..=1500).contains(&p.mru) {
        e.add("ppp.mru", format!("{} is outside 576..=1500", p.mru));
    }
    if !(576..=1500).contains(&p.max_peer_mru) {
        e.add(
            "ppp.max_peer_mru",
            format!("{} is outside 576..=1500", p.max_peer_mru),
        );
    }
    if p.restart_ms == 0 {
        e.add("ppp.restart_ms", "must be at least 1");
    }
    if p.max_configure == 0 || p.max_terminate == 0 || p.max_failure == 0 {
        e.add(
            "ppp.max_configure",
            "max_configure, max_terminate and max_failure must be at least 1",
        );
    }
    if p.echo_interval_secs > 0 && p.echo_failures == 0 {
        e.add(
            "ppp.echo_failures",
            "must be at least 1 when echo_interval_secs is set",
        );
    }
    if p.dns.len() > 2 {
        e.add("ppp.dns", "IPCP carries at most 2 DNS servers");
    }
    if !usable_v4(p.ipcp_local) {
        e.add(
            "ppp.ipcp_local",
            format!("{} is not a unicast address", p.ipcp_local),
        );
    }
    for (i, l) in c.listen.iter().enumerate() {
        if l.address.ip() == IpAddr::V4(p.ipcp_local) {
            e.add(
                "ppp.ipcp_local",
                format!("must differ from listen[{i}].address: a subscriber would route its own L2TP traffic into the link"),
            );
        }
    }
}

fn pools(c: &Config, e: &mut Errors) {
    let mut names = BTreeSet::new();
    let mut spans: Vec<(u32, u32, String)> = Vec::new();
    for (i, pool) in c.pools.iter().enumerate() {
        let p = format!("pools[{i}]");
        if pool.name.is_empty() {
            e.add(format!("{p}.name"), "must not be empty");
        } else if !names.insert(pool.name.as_str()) {
            e.add(
                format!("{p}.name"),
                format!("\"{}\" is used by another pool", pool.name),
            );
        }
        if pool.ranges.is_empty() {
            e.add(format!("{p}.ranges"), "at least one range is required");
        }
        for (j, r) in pool.ranges.iter().enumerate() {
            let rp = format!("{p}.ranges[{j}]");
            let (s, t) = (u32::from(r.start), u32::from(r.end));
            if s > t {
                e.add(&rp, format!("start {} is after end {}", r.start, r.end));
                continue;
            }
            if !usable_v4(r.start) || !usable_v4(r.end) {
                e.add(&rp, "must hold unicast addresses only");
            }
            let ipcp = u32::from(c.ppp.ipcp_local);
            if (s..=t).contains(&ipcp) {
                e.add(&rp, format!("contains ppp.ipcp_local {}", c.ppp.ipcp_local));
            }
            if let Some((_, _, other)) = spans.iter().find(|(a, b, _)| s <= *b && *a <= t) {
                e.add(&rp, format!("overlaps {other}"));
            }
            spans.push((s, t, rp));
        }
    }
    if let Some(d) = &c.aaa.default_pool {
        if !names.contains(d.as_str()) {
            e.add(
                "aaa.default_pool",
                format!("no pool is named \"{d}\" (known: {})", known(&c.pools)),
            );
        }
    } else if c.pools.len() > 1 {
        e.add(
            "aaa.default_pool",
            "several pools are defined: name the one to use by default",
        );
    }
}

fn aaa(c: &Config, e: &mut Errors) {
    if c.aaa.users_file.is_none() && c.aaa.radius.is_none() {
        e.add(
            "aaa",
            "configure users_file, [aaa.radius] or both: nobody could log in",
        );
    }
    if let Some(r) = &c.aaa.radius {
        if r.servers.is_empty() {
            e.add("aaa.radius.servers", "at least one server is required");
        }
        for (i, s) in r.servers.iter().enumerate() {
            let p = format!("aaa.radius.servers[{i}]");
            match (&s.secret, &s.secret_file) {
                (None, None) => e.add(
                    format!("{p}.secret"),
                    "a shared secret (secret or secret_file) is required",
                ),
                (Some(_), Some(_)) => e.add(
                    format!("{p}.secret_file"),
                    "give either secret or secret_file, not both",
                ),
                (Some(sec), None) if sec.expose().is_empty() => {
                    e.add(format!("{p}.secret"), "must not be empty")
                }
                _ => {}
            }
            if s.timeout_ms == 0 {
                e.add(format!("{p}.timeout_ms"), "must be at least 1");
            }
            if s.tries == 0 {
                e.add(format!("{p}.tries"), "must be at least 1");
            }
        }
    }
}

fn tun(c: &Config, e: &mut Errors) {
    let t = &c.tun;
    if t.name.is_empty() || t.name.len() > 15 {
        e.add("tun.name", "must be 1 to 15 characters (IFNAMSIZ)");
    }
    if !(576..=9000).contains(&t.mtu) {
        e.add("tun.mtu", format!("{} is outside 576..=9000", t.mtu));
    }
    if t.workers == 0 {
        e.add("tun.workers", "must be at least 1");
    }
}

fn http(c: &Config, e: &mut Errors) {
    let Some(h) = &c.http else {
        return;
    };
    if h.listen.port() == 0 {
        e.add(
            "http.listen",
            "needs a fixed port (1-65535): Prometheus must know where to scrape",
        );
    }
    let ip = h.listen.ip();
    if ip.is_multicast() || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast()) {
        e.add(
            "http.listen",
            format!("{ip} is not a unicast address this host can listen on"),
        );
    }
}

fn usable_v4(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback())
}

fn known(pools: &[PoolConfig]) -> String {
    let v: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
