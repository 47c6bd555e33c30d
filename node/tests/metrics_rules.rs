//! The Prometheus alert rules: `promtool check rules` and `promtool test
//! rules` pass (SKIPPED when promtool is absent), and every alert of
//! alerts.yml has a unit test that sees it fire and one that sees it quiet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

fn prometheus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/prometheus")
}

/// Runs promtool with `args` in docs/prometheus; None when not installed.
fn promtool(args: &[&str]) -> Option<(bool, String)> {
    match Command::new("promtool")
        .args(args)
        .current_dir(prometheus_dir())
        .output()
    {
        Ok(out) => Some((
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: promtool not installed");
            None
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    }
}

#[test]
fn promtool_check_rules_accepts_the_alerts() {
    if let Some((ok, report)) = promtool(&["check", "rules", "alerts.yml"]) {
        assert!(ok, "{report}");
        assert!(report.contains("SUCCESS"), "{report}");
    }
}

#[test]
fn promtool_unit_tests_of_the_alerts_pass() {
    if let Some((ok, report)) = promtool(&["test", "rules", "alerts.test.yml"]) {
        assert!(ok, "{report}");
        assert!(!report.contains("FAILED"), "{report}");
    }
}

#[test]
fn every_alert_is_tested_firing_and_quiet() {
    let rules = std::fs::read_to_string(prometheus_dir().join("alerts.yml")).expect("rules");
    let tests =
        std::fs::read_to_string(prometheus_dir().join("alerts.test.yml")).expect("rule tests");
    let alerts: BTreeSet<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert!(alerts.len() >= 9, "{alerts:?}");

    // For each `alertname:` case: does it expect alerts (a `- exp_labels:`
    // before the next case) or none (`exp_alerts: []`)?
    let mut cases: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in tests.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("alertname:") {
            current = Some(name.trim());
        } else if let Some(name) = current {
            let entry = cases.entry(name).or_default();
            if line == "exp_alerts: []" {
                entry.1 += 1;
                current = None;
            } else if line.starts_with("- exp_labels:") {
                entry.0 += 1;
                current = None;
            }
        }
    }
    for alert in &alerts {
        let (firing, quiet) = cases.get(alert).copied().unwrap_or_default();
        assert!(firing > 0, "{alert} has no test where it fires");
        assert!(quiet > 0, "{alert} has no test where it stays quiet");
    }
    let unknown: Vec<_> = cases.keys().filter(|c| !alerts.contains(*c)).collect();
    assert!(
        unknown.is_empty(),
        "tests name alerts that do not exist: {unknown:?}"
    );
}

#[test]
fn every_alert_links_to_an_existing_runbook_section() {
    let rules = std::fs::read_to_string(prometheus_dir().join("alerts.yml")).expect("rules");
    let runbook = std::fs::read_to_string(prometheus_dir().join("../RUNBOOK.md"))
        .expect("docs/RUNBOOK.md exists");
    // GitHub's anchor of a heading: lower case, spaces to '-', punctuation dropped.
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| {
            h.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let links: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook: \"docs/RUNBOOK.md#"))
        .map(|rest| rest.trim_end_matches('"'))
        .collect();
    let alerts = rules
        .lines()
        .filter(|l| l.trim().starts_with("- alert:"))
        .count();
    assert_eq!(links.len(), alerts, "every alert carries a runbook link");
    for link in links {
        assert!(anchors.contains(link), "RUNBOOK.md has no section #{link}");
    }
}
