//! The `lnsd` binary's command line: `check-config` accepts the shipped
//! example and refuses a broken file naming the field; bad usage exits 2.

use std::process::Command;

fn lnsd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lnsd"))
}

#[test]
fn check_config_accepts_the_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lnsd.toml");
    let out = lnsd()
        .args(["check-config", example])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
}

#[test]
fn check_config_names_the_bad_field() {
    let dir = std::env::temp_dir().join(format!("lnsd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[node]\nhost_name = \"x\"\n[[listen]]\naddress = \"192.0.2.2:1701\"\n[ppp]\nipcp_local = \"100.64.0.1\"\nmru = 20\n[aaa]\nusers_file = \"u\"\n",
    )
    .expect("write");
    std::fs::write(dir.join("u"), "alice pw\n").expect("write");
    let out = lnsd()
        .arg("check-config")
        .arg(&file)
        .output()
        .expect("runs");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ppp.mru: 20 is outside 576..=1500"), "{err}");
}

#[test]
fn bad_usage_exits_2() {
    let out = lnsd().arg("--bogus").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
