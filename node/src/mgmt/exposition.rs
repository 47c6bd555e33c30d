//! `lnsctl radius` and `lnsctl counters` read from the metrics lnsd already
//! keeps (the AAA task reports every RADIUS exchange to them).
//!
//! Contract: pure functions of the Prometheus text exposition
//! ([`crate::metrics::Metrics::encode`]), so the numbers lnsctl prints are
//! exactly the ones Prometheus scrapes. RADIUS server state is derived from
//! the totals: `idle` (no request yet), `up` (answers seen and fewer than
//! half of the transmissions timed out) or `down`; the latency is the mean
//! of the answered requests.

use std::collections::BTreeMap;

use super::pb;

const REQUESTS: &str = "lnsd_radius_requests_total";
const TIMEOUTS: &str = "lnsd_radius_timeouts_total";
const LATENCY_SUM: &str = "lnsd_radius_request_duration_seconds_sum";
const LATENCY_COUNT: &str = "lnsd_radius_request_duration_seconds_count";

/// Every counter series (`name{labels}` -> value), in exposition order.
pub fn counters(exposition: &str) -> pb::CountersReply {
    let mut counter_families = Vec::new();
    let mut counters = Vec::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counter_families.push(name.to_owned());
            }
            continue;
        }
        let Some((series, value)) = sample(line) else {
            continue;
        };
        let family = series.split('{').next().unwrap_or(series);
        if counter_families.iter().any(|f| f == family) {
            counters.push(pb::Counter {
                name: series.to_owned(),
                value: value as u64,
            });
        }
    }
    pb::CountersReply { counters }
}

/// One line per (server, kind) the RADIUS metrics know.
pub fn radius(exposition: &str) -> pb::RadiusStatusReply {
    #[derive(Default)]
    struct Totals {
        requests: f64,
        timeouts: f64,
        latency_sum: f64,
        answered: f64,
    }
    let mut by_server: BTreeMap<(String, String), Totals> = BTreeMap::new();
    for line in exposition.lines() {
        let Some((series, value)) = sample(line) else {
            continue;
        };
        let Some((family, labels)) = series.split_once('{') else {
            continue;
        };
        let (Some(server), Some(kind)) = (label(labels, "server"), label(labels, "kind")) else {
            continue;
        };
        let entry = by_server.entry((server, kind)).or_default();
        match family {
            REQUESTS => entry.requests = value,
            TIMEOUTS => entry.timeouts = value,
            LATENCY_SUM => entry.latency_sum = value,
            LATENCY_COUNT => entry.answered = value,
            _ => {}
        }
    }
    let servers = by_server
        .into_iter()
        .map(|((address, purpose), t)| {
            let state = if t.requests == 0.0 {
                "idle"
            } else if t.answered > 0.0 && t.timeouts * 2.0 < t.requests {
                "up"
            } else {
                "down"
            };
            let latency_ms = if t.answered > 0.0 {
                (t.latency_sum / t.answered * 1000.0).round() as u32
            } else {
                0
            };
            pb::RadiusServer {
                address,
                purpose,
                state: state.into(),
                latency_ms,
                requests: t.requests as u64,
                timeouts: t.timeouts as u64,
            }
        })
        .collect();
    pb::RadiusStatusReply { servers }
}

/// `series value` of a sample line (comments and blanks give `None`).
fn sample(line: &str) -> Option<(&str, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    Some((series, value.parse().ok()?))
}

/// The value of label `name` in `a="x",b="y"}` (no escapes in our labels).
fn label(labels: &str, name: &str) -> Option<String> {
    let labels = labels.strip_suffix('}').unwrap_or(labels);
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP lnsd_radius_requests_total RADIUS requests sent.
# TYPE lnsd_radius_requests_total counter
lnsd_radius_requests_total{kind=\"auth\",server=\"198.18.0.1:1812\"} 10
lnsd_radius_requests_total{kind=\"auth\",server=\"198.18.0.2:1812\"} 4
# TYPE lnsd_radius_timeouts_total counter
lnsd_radius_timeouts_total{kind=\"auth\",server=\"198.18.0.1:1812\"} 1
lnsd_radius_timeouts_total{kind=\"auth\",server=\"198.18.0.2:1812\"} 4
# TYPE lnsd_radius_request_duration_seconds histogram
lnsd_radius_request_duration_seconds_bucket{kind=\"auth\",server=\"198.18.0.1:1812\",le=\"0.01\"} 9
lnsd_radius_request_duration_seconds_sum{kind=\"auth\",server=\"198.18.0.1:1812\"} 0.018
lnsd_radius_request_duration_seconds_count{kind=\"auth\",server=\"198.18.0.1:1812\"} 9
# TYPE lnsd_sessions gauge
lnsd_sessions{state=\"established\"} 3
";

    #[test]
    fn radius_state_latency_and_totals_per_server() {
        let r = radius(TEXT);
        let line = |a: &str| {
            r.servers
                .iter()
                .find(|s| s.address == a)
                .cloned()
                .expect("server listed")
        };
        let first = line("198.18.0.1:1812");
        assert_eq!(
            (
                first.state.as_str(),
                first.latency_ms,
                first.requests,
                first.timeouts
            ),
            ("up", 2, 10, 1)
        );
        assert_eq!(first.purpose, "auth");
        let second = line("198.18.0.2:1812");
        assert_eq!((second.state.as_str(), second.latency_ms), ("down", 0));
    }

    #[test]
    fn counters_lists_counter_series_only() {
        let c = counters(TEXT);
        let names: Vec<&str> = c.counters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lnsd_radius_requests_total{kind=\"auth\",server=\"198.18.0.1:1812\"}",
                "lnsd_radius_requests_total{kind=\"auth\",server=\"198.18.0.2:1812\"}",
                "lnsd_radius_timeouts_total{kind=\"auth\",server=\"198.18.0.1:1812\"}",
                "lnsd_radius_timeouts_total{kind=\"auth\",server=\"198.18.0.2:1812\"}",
            ]
        );
        assert_eq!(c.counters[0].value, 10);
    }
}
