//! `lnsctl config check FILE` runs lnsd's full validation (not only TOML
//! syntax): the shipped example passes; a file with a semantic mistake
//! exits 1 with a message naming the field.

use std::process::Command;

fn lnsctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lnsctl"))
}

#[test]
fn config_check_accepts_the_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lnsd.toml");
    let out = lnsctl()
        .args(["config", "check", example])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("valid"), "{text}");
    let out = lnsctl()
        .args(["--json", "config", "check", example])
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["valid"], serde_json::Value::Bool(true));
}

#[test]
fn config_check_names_the_field_of_a_semantic_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[node]\nhost_name = \"x\"\n[[listen]]\naddress = \"192.0.2.2:1701\"\n\
         [ppp]\nipcp_local = \"100.64.0.1\"\nmru = 20\n[aaa]\nusers_file = \"u\"\n\
         [mgmt]\ntcp = \"127.0.0.1:7402\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("u"), "alice pw\n").expect("write");
    let out = lnsctl()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ppp.mru: 20 is outside 576..=1500"), "{err}");
    assert!(
        err.contains("mgmt.token_file: required when mgmt.tcp is set"),
        "{err}"
    );
}

#[test]
fn config_check_names_an_unknown_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[mgmt]\nsockett = \"/run/x.sock\"\n").expect("write");
    let out = lnsctl()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sockett"), "{err}");
}
