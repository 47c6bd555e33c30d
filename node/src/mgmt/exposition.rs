//! `lnsctl counters` reads from the metrics lnsd already keeps.
//!
//! Contract: a pure function of the Prometheus text exposition
//! ([`crate::metrics::Metrics::encode`]), so the numbers lnsctl prints are
//! exactly the ones Prometheus scrapes. (`lnsctl radius` reads the RADIUS
//! clients' own state instead: `aaa/board.rs`.)

use super::pb;

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

/// `series value` of a sample line (comments and blanks give `None`).
fn sample(line: &str) -> Option<(&str, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    Some((series, value.parse().ok()?))
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
