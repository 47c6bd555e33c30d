//! The `/metrics` scrape, end to end: a populated registry served by the real
//! HTTP server on 127.0.0.1:0, fetched over TCP, then
//! - checked by `promtool check metrics` (SKIPPED when promtool is absent),
//! - checked against every metric name the Grafana dashboard and the alert
//!   rules query (they must all exist in the exposition),
//! - checked for the naming rules and for the absence of per-session labels.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lns_node::dataplane::DropReason;
use lns_node::http::{HttpServer, Readiness};
use lns_node::metrics::{
    AddressHolding, AuthMethod, AuthOutcome, ControlDrop, DataPlaneSnapshot, FailoverKind, Metrics,
    NodeRole, RadiusKind, RaftRole, RaftSample, SessionCounts, SessionSetupFailure,
    TrafficCounters, TunnelCounts, TunnelSetupFailure,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Label names allowed anywhere in the exposition: closed sets and
/// configuration items only, nothing that grows with subscribers.
const ALLOWED_LABELS: &[&str] = &[
    "state", "reason", "method", "outcome", "server", "kind", "channel", "pool", "role", "peer",
    "address", "version", "commit", "le",
    // lnsd_config_mismatch: the engine configuration sections (a closed set).
    "section",
];

fn populated_metrics() -> Arc<Metrics> {
    let m = Metrics::new("0.1.0", "0123abc").expect("static metric definitions are valid");
    m.observe_sessions(&SessionCounts {
        negotiating: 3,
        authenticating: 2,
        established: 1200,
        closing: 1,
    });
    m.observe_tunnels(&TunnelCounts {
        establishing: 0,
        established: 12,
        closing: 0,
    });
    m.session_established();
    m.session_setup_failed(SessionSetupFailure::AuthRejected);
    m.tunnel_established();
    m.tunnel_setup_failed(TunnelSetupFailure::AuthFailed);
    m.authentication(AuthMethod::Chap, AuthOutcome::Accept);
    m.authentication(AuthMethod::Pap, AuthOutcome::Reject);
    for server in ["192.0.2.10:1812", "192.0.2.11:1812"] {
        m.radius_server(server);
    }
    m.radius_request_sent("192.0.2.10:1812", RadiusKind::Auth);
    m.radius_answered(
        "192.0.2.10:1812",
        RadiusKind::Auth,
        Duration::from_micros(700),
    );
    m.radius_request_sent("192.0.2.11:1812", RadiusKind::Accounting);
    m.radius_timeout("192.0.2.11:1812", RadiusKind::Accounting);
    m.control_retransmitted(4);
    m.control_dropped(ControlDrop::Duplicate);
    m.observe_pool("ipv4-main", 4096, 1200);
    m.observe_pool("ipv6-pd", 65536, 1100);
    m.observe_raft(&RaftSample {
        term: 7,
        role: RaftRole::Leader,
        leader_id: 1,
        commit_index: 5000,
        applied_index: 4998,
    });
    m.observe_follower_lag(2, 3);
    m.observe_follower_lag(3, 0);
    m.observe_node_role(NodeRole::Active);
    m.failover_completed(
        FailoverKind::Unplanned,
        Duration::from_millis(380),
        1_795_000_000.0,
    );
    m.observe_tunnel_address(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        AddressHolding::Held,
    );
    m.register_data_plane(|| DataPlaneSnapshot {
        l2tp_rx_control: TrafficCounters {
            packets: 10,
            bytes: 1000,
        },
        l2tp_rx_data: TrafficCounters {
            packets: 1_000_000,
            bytes: 900_000_000,
        },
        l2tp_tx_control: TrafficCounters {
            packets: 12,
            bytes: 1100,
        },
        l2tp_tx_data: TrafficCounters {
            packets: 2_000_000,
            bytes: 2_500_000_000,
        },
        tun_rx: TrafficCounters {
            packets: 2_000_000,
            bytes: 2_400_000_000,
        },
        tun_tx: TrafficCounters {
            packets: 999_000,
            bytes: 880_000_000,
        },
        drops: vec![(DropReason::WrongPeer, 7), (DropReason::NoRoute, 30)],
    })
    .expect("registers once");
    Arc::new(m)
}

/// Serves `metrics` on 127.0.0.1:0 and returns the body of `GET /metrics`.
async fn scrape(metrics: Arc<Metrics>) -> String {
    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = HttpServer::bind(any_port, metrics, Readiness::new())
        .await
        .expect("binds 127.0.0.1:0");
    let addr = server.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("writes");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads");
    let _ = stop.send(());
    task.await.expect("server task ends cleanly");
    let raw = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_owned()
}

/// Sample names (first token of every non-comment line).
fn exposed_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_owned())
        .collect()
}

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

#[tokio::test]
async fn promtool_check_metrics_accepts_the_scrape() {
    let body = scrape(populated_metrics()).await;
    let spawned = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: promtool not installed, the scrape was not linted");
            return;
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(body.as_bytes())
        .expect("promtool reads stdin");
    let out = child.wait_with_output().expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check metrics: {report}");
    assert!(report.trim().is_empty(), "promtool lint findings: {report}");
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exposed() {
    let exposed = exposed_names(&scrape(populated_metrics()).await);
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 30, "only {} queries found", exprs.len());
    let queried: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(queried.len() >= 25, "only {queried:?}");
    let missing: Vec<_> = queried.difference(&exposed).collect();
    assert!(
        missing.is_empty(),
        "dashboard queries unexposed metrics: {missing:?}"
    );
}

#[tokio::test]
async fn every_metric_the_alert_rules_query_is_exposed() {
    let exposed = exposed_names(&scrape(populated_metrics()).await);
    let rules = std::fs::read_to_string(repo_file("docs/prometheus/alerts.yml"))
        .expect("alert rules exist");
    // `expr:` values, single-line or `|` blocks (the indented lines below).
    let mut exprs = Vec::new();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((indent, rest)) = line.split_once("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest == "|" {
            let mut block = String::new();
            while let Some(next) = lines.peek() {
                if next.len() - next.trim_start().len() <= indent.len() {
                    break;
                }
                block.push_str(next);
                block.push('\n');
                lines.next();
            }
            exprs.push(block);
        } else {
            exprs.push(rest.to_owned());
        }
    }
    assert!(exprs.len() >= 10, "only {} expressions found", exprs.len());
    let queried: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    // `up` comes from Prometheus itself; `name:with:colons` are recording rules.
    let missing: Vec<_> = queried
        .iter()
        .filter(|n| *n != "up" && !n.contains(':') && !exposed.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "alerts query unexposed metrics: {missing:?}"
    );
    assert!(queried.contains("lnsd_node_role"), "{queried:?}");
}

#[tokio::test]
async fn every_metric_the_runbook_names_is_exposed() {
    let exposed = exposed_names(&scrape(populated_metrics()).await);
    let runbook = std::fs::read_to_string(repo_file("docs/RUNBOOK.md")).expect("runbook exists");
    let named: BTreeSet<&str> = runbook
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("lnsd_"))
        .collect();
    assert!(named.len() >= 10, "{named:?}");
    let missing: Vec<_> = named.iter().filter(|n| !exposed.contains(**n)).collect();
    assert!(
        missing.is_empty(),
        "the runbook names unexposed metrics: {missing:?}"
    );
}

#[tokio::test]
async fn names_are_prefixed_documented_and_carry_no_per_session_label() {
    let body = scrape(populated_metrics()).await;
    let mut families = 0;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            families += 1;
            let (name, help) = rest.split_once(' ').expect("help text present");
            assert!(name.starts_with("lnsd_"), "{name}");
            assert!(help.len() >= 30, "{name}: help too short to teach: {help}");
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("type present");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} lacks _total");
            } else {
                assert!(!name.ends_with("_total"), "{kind} {name} ends in _total");
            }
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((_, labels)) = line.split_once('{') {
            let labels = labels.split('}').next().unwrap_or_default();
            for pair in labels.split(',').filter(|p| !p.is_empty()) {
                let name = pair.split('=').next().unwrap_or_default();
                assert!(ALLOWED_LABELS.contains(&name), "label {name} in {line}");
            }
        }
    }
    assert!(families >= 35, "only {families} families");
}

#[test]
fn dashboard_queries_are_valid_promql() {
    let exprs = dashboard_exprs();
    // promtool parses PromQL only inside rule files: wrap every query in a
    // recording rule, with Grafana's variables replaced by what they expand to.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let e = e.replace("$__rate_interval", "5m").replace("$job", "lnsd");
        let quoted = serde_json::to_string(&e).expect("a string serialises");
        rules.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {quoted}\n"
        ));
    }
    let file =
        std::env::temp_dir().join(format!("lnsd-dashboard-{}.rules.yml", std::process::id()));
    std::fs::write(&file, rules).expect("temp dir writable");
    let out = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: promtool not installed, dashboard queries not parsed");
            return;
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "dashboard PromQL: {report}");
    assert!(
        report.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{report}"
    );
}

#[test]
fn metric_name_extraction_skips_functions_labels_and_keywords() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (server, le) (rate(lnsd_a_bucket{job="$job", x=~"b|c"}[$__rate_interval])))
           / on(instance) group_left(role) lnsd_b > bool 0.5 and lnsd_c offset 5m
           or vector(0) unless max without (pool) (lnsd_d) * 1e3 - lnsd:rec"#,
    );
    let expected: BTreeSet<String> = ["lnsd_a_bucket", "lnsd_b", "lnsd_c", "lnsd_d", "lnsd:rec"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
}

/// Every PromQL query of the Grafana dashboard (docs/grafana).
fn dashboard_exprs() -> Vec<String> {
    let path = repo_file("docs/grafana/lnsd-dashboard.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard exists"))
            .expect("dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&json, &mut exprs);
    exprs
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_exprs(i, out)),
        _ => {}
    }
}

/// Metric names a PromQL expression selects: identifiers that are not
/// functions, aggregations, keywords, label names or literals.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const AGGREGATIONS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    const LABEL_LIST_KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
    let c: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '"' | '\'' | '`' => i = skip_string(&c, i),
            '{' => i = skip_until(&c, i, '}'),
            '[' => i = skip_until(&c, i, ']'),
            '$' => {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
            ch if ch.is_ascii_digit() || ch == '.' => {
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '.') {
                    i += 1;
                }
            }
            ch if ch.is_alphabetic() || ch == '_' || ch == ':' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == ':') {
                    i += 1;
                }
                let ident: String = c[start..i].iter().collect();
                let mut j = i;
                while j < c.len() && c[j].is_whitespace() {
                    j += 1;
                }
                let followed_by_paren = c.get(j) == Some(&'(');
                if LABEL_LIST_KEYWORDS.contains(&ident.as_str()) {
                    if followed_by_paren {
                        i = skip_until(&c, j, ')');
                    }
                } else if !(KEYWORDS.contains(&ident.as_str())
                    || AGGREGATIONS.contains(&ident.as_str())
                    || followed_by_paren)
                {
                    names.insert(ident);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// Index after the closing quote of the string starting at `start`.
fn skip_string(c: &[char], start: usize) -> usize {
    let quote = c[start];
    let mut i = start + 1;
    while i < c.len() && c[i] != quote {
        if c[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Index after the first `close` following `start`, skipping quoted strings.
fn skip_until(c: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < c.len() && c[i] != close {
        if matches!(c[i], '"' | '\'' | '`') {
            i = skip_string(c, i);
        } else {
            i += 1;
        }
    }
    i + 1
}
