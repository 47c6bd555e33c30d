//! Tests of the configuration: the shipped example, unknown keys, every
//! validation message names its field, secrets stay out of Debug.

use super::*;

const EXAMPLE: &str = include_str!("../../examples/lnsd.toml");

fn minimal() -> String {
    r#"
[node]
host_name = "lns1"
[[listen]]
address = "192.0.2.2:1701"
[ppp]
ipcp_local = "100.64.255.254"
[[pools]]
name = "p"
ranges = [{ start = "100.64.0.1", end = "100.64.0.9" }]
[aaa]
users_file = "users"
"#
    .to_owned()
}

fn errors(text: &str) -> Vec<String> {
    let c = Config::from_toml(text).expect("parses");
    match c.validate() {
        Ok(()) => Vec::new(),
        Err(v) => v.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn the_example_file_is_accepted_by_check_config() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lnsd.toml");
    let c = Config::load(&path).expect("the example validates");
    assert_eq!(c.listen.len(), 2);
    assert_eq!(c.pools.len(), 2);
    assert_eq!(c.ppp.dns.len(), 2);
    assert!(c.aaa.users_file.as_ref().is_some_and(|p| p.is_absolute()));
    assert_eq!(c.aaa.radius.as_ref().map(|r| r.servers.len()), Some(2));
}

#[test]
fn the_example_file_parses_from_text() {
    let c = Config::from_toml(EXAMPLE).expect("parses");
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn a_minimal_file_takes_the_defaults() {
    let c = Config::from_toml(&minimal()).expect("parses");
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.l2tp.retransmit_max_ms, 8_000);
    assert_eq!(c.ppp.second_login, SecondLogin::Allow);
    assert_eq!(c.tun.name, "lns0");
    assert_eq!(c.http, None, "no [http] section: no HTTP server");
}

#[test]
fn the_example_serves_http_on_loopback() {
    let c = Config::from_toml(EXAMPLE).expect("parses");
    let http = c.http.expect("the example documents [http]");
    assert_eq!(http.listen, "127.0.0.1:9701".parse().expect("literal"));
}

#[test]
fn http_listen_needs_a_fixed_unicast_port_and_known_keys() {
    let zero = format!("{}[http]\nlisten = \"127.0.0.1:0\"\n", minimal());
    let errs = errors(&zero);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("http.listen: needs a fixed port"),
        "{errs:?}"
    );
    let multicast = format!("{}[http]\nlisten = \"224.0.0.1:9701\"\n", minimal());
    let errs = errors(&multicast);
    assert!(
        errs.iter().any(|e| e.starts_with("http.listen: 224.0.0.1")),
        "{errs:?}"
    );
    let ok = format!("{}[http]\nlisten = \"[::1]:9701\"\n", minimal());
    assert_eq!(errors(&ok), Vec::<String>::new());
    let typo = format!(
        "{}[http]\nlisten = \"127.0.0.1:9701\"\nport = 1\n",
        minimal()
    );
    let err = Config::from_toml(&typo).expect_err("unknown key");
    assert!(err.to_string().contains("port"), "{err}");
    let missing = format!("{}[http]\n", minimal());
    let err = Config::from_toml(&missing).expect_err("listen is required");
    assert!(err.to_string().contains("listen"), "{err}");
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let text = minimal().replace("[ppp]", "[ppp]\nmagic_number = 3");
    let Err(ConfigError::Syntax(msg)) = Config::from_toml(&text) else {
        panic!("an unknown key must be refused");
    };
    assert!(msg.contains("magic_number"), "{msg}");
}

#[test]
fn reversed_range_names_the_field_and_both_ends() {
    let text = minimal().replace(
        r#"ranges = [{ start = "100.64.0.1", end = "100.64.0.9" }]"#,
        r#"ranges = [{ start = "198.18.9.10", end = "198.18.9.1" }]"#,
    );
    assert_eq!(
        errors(&text),
        vec!["pools[0].ranges[0]: start 198.18.9.10 is after end 198.18.9.1"]
    );
}

#[test]
fn overlapping_ranges_and_pool_containing_ipcp_address_are_refused() {
    let text = minimal().replace(
        r#"ranges = [{ start = "100.64.0.1", end = "100.64.0.9" }]"#,
        r#"ranges = [{ start = "100.64.0.1", end = "100.64.0.9" }, { start = "100.64.0.5", end = "100.64.255.254" }]"#,
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|m| m == "pools[0].ranges[1]: overlaps pools[0].ranges[0]"),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("pools[0].ranges[1]: contains ppp.ipcp_local")),
        "{e:?}"
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = minimal()
        .replace(
            "ipcp_local = \"100.64.255.254\"",
            "ipcp_local = \"192.0.2.2\"\nmru = 100\ndns = [\"1.1.1.1\", \"8.8.8.8\", \"9.9.9.9\"]",
        )
        .replace("users_file = \"users\"", "default_pool = \"nope\"");
    let e = errors(&text);
    for field in [
        "ppp.ipcp_local",
        "ppp.mru",
        "ppp.dns",
        "aaa.default_pool",
        "aaa:",
    ] {
        assert!(
            e.iter().any(|m| m.starts_with(field)),
            "{field} missing in {e:?}"
        );
    }
}

#[test]
fn lac_rules() {
    let text = format!(
        "{}\n[[lac]]\ntunnel_auth = \"required\"\n[[lac]]\naddress = \"192.0.2.1\"\nsecret = \"a\"\nsecret_file = \"b\"\n",
        minimal()
    );
    let e = errors(&text);
    assert!(
        e.contains(&"lac[0]: give host_name, address or both to match the LAC".to_owned()),
        "{e:?}"
    );
    assert!(
        e.contains(&"lac[0].tunnel_auth: \"required\" needs a secret or secret_file".to_owned()),
        "{e:?}"
    );
    assert!(
        e.contains(&"lac[1].secret_file: give either secret or secret_file, not both".to_owned()),
        "{e:?}"
    );
}

#[test]
fn radius_server_needs_a_secret() {
    let text = format!(
        "{}\n[aaa.radius]\n[[aaa.radius.servers]]\naddress = \"127.0.0.1:1812\"\ntries = 0\n",
        minimal()
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|m| m.starts_with("aaa.radius.servers[0].secret:")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("aaa.radius.servers[0].tries:")),
        "{e:?}"
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let c = Config::from_toml(EXAMPLE).expect("parses");
    let debug = format!("{c:?}");
    assert!(!debug.contains("change-me"));
    assert!(!debug.contains("radius-secret"));
    assert!(debug.contains("<redacted>"));
}

#[test]
fn secret_files_are_read_relative_to_the_config() {
    let dir = std::env::temp_dir().join(format!("lnsd-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    std::fs::write(dir.join("lac.secret"), "from-file\n").expect("write");
    let text = format!(
        "{}\n[[lac]]\naddress = \"192.0.2.1\"\nsecret_file = \"lac.secret\"\n",
        minimal()
    );
    std::fs::write(dir.join("lnsd.toml"), text).expect("write");
    let c = Config::load(&dir.join("lnsd.toml")).expect("loads");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        c.lac[0].secret.as_ref().map(|s| s.expose()),
        Some("from-file")
    );
    assert_eq!(c.lac[0].secret_file, None);
}

proptest::proptest! {
    #[test]
    fn any_text_parses_or_fails_cleanly(text in "(?s).{0,400}") {
        if let Ok(c) = Config::from_toml(&text) {
            let _ = c.validate();
        }
    }
}
