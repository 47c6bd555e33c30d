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

#[test]
fn check_config_accepts_the_cluster_trio_and_refuses_a_pair_without_witness() {
    for name in ["lns-a", "lns-b", "witness"] {
        let file = format!(
            "{}/examples/cluster/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let out = lnsd().args(["check-config", &file]).output().expect("runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = std::env::temp_dir().join(format!("lnsd-cli-pair-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/cluster/lns-a.toml"
    ))
    .expect("example");
    // Drop the witness member: two lns voters alone.
    let pair = example.replace(
        "[[cluster.members]]\nid = 3\naddress = \"198.18.1.13:7400\"\nrole = \"witness\"\n",
        "",
    );
    assert_ne!(pair, example);
    std::fs::write(dir.join("pair.toml"), pair).expect("write");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/cluster/cluster.secret"
        ),
        dir.join("cluster.secret"),
    )
    .expect("secret");
    std::fs::write(dir.join("users"), "alice pw\n").expect("users");
    let text = std::fs::read_to_string(dir.join("pair.toml")).expect("read");
    std::fs::write(dir.join("pair.toml"), text.replace("../users", "users")).expect("write");
    let out = lnsd()
        .arg("check-config")
        .arg(dir.join("pair.toml"))
        .output()
        .expect("runs");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cluster.members: two voters without a witness"),
        "{err}"
    );
}
