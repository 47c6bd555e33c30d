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

fn cluster_example(name: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cluster")
        .join(name);
    Config::load(&path).unwrap_or_else(|e| panic!("{name} validates: {e}"))
}

#[test]
fn the_cluster_examples_are_accepted_by_check_config() {
    let a = cluster_example("lns-a.toml");
    let b = cluster_example("lns-b.toml");
    let w = cluster_example("witness.toml");
    assert!(w.is_witness() && !a.is_witness());
    let (ca, cb, cw) = (
        a.cluster.expect("lns-a has [cluster]"),
        b.cluster.expect("lns-b has [cluster]"),
        w.cluster.expect("witness has [cluster]"),
    );
    assert_eq!((ca.node_id, cb.node_id, cw.node_id), (1, 2, 3));
    assert_eq!(cw.role, ClusterRole::Witness);
    assert!(w.listen.is_empty(), "a witness needs no [[listen]]");
    assert_eq!(
        ca.secret.as_ref().map(SecretString::expose),
        Some("example-cluster-secret-change-me-0123456789")
    );
    assert!(ca.data_dir.is_absolute());
    assert_eq!(
        ca.tunnel_addresses[0].address.to_string(),
        "198.18.1.100/24"
    );
    assert_eq!(ca.counters_interval(), std::time::Duration::from_secs(5));
    let raft = ca.cluster_config();
    assert_eq!(raft.validate(), Ok(()));
    assert_eq!(raft.members.len(), 3);
}

fn cluster_text(members: &str, extra: &str) -> String {
    format!(
        "{}\n[cluster]\nnode_id = 1\nrole = \"lns\"\nlisten = \"198.18.1.11:7400\"\n\
         data_dir = \"raft\"\nsecret_file = \"s\"\n{extra}\n{members}\n\
         [[cluster.tunnel_addresses]]\naddress = \"198.18.1.100/24\"\ninterface = \"eth0\"\n",
        minimal()
    )
}

const MEMBER_1: &str =
    "[[cluster.members]]\nid = 1\naddress = \"198.18.1.11:7400\"\nrole = \"lns\"\n";
const MEMBER_2: &str =
    "[[cluster.members]]\nid = 2\naddress = \"198.18.1.12:7400\"\nrole = \"lns\"\n";
const WITNESS_3: &str =
    "[[cluster.members]]\nid = 3\naddress = \"198.18.1.13:7400\"\nrole = \"witness\"\n";

#[test]
fn two_lns_voters_without_a_witness_are_refused_with_the_reason() {
    let e = errors(&cluster_text(&format!("{MEMBER_1}{MEMBER_2}"), ""));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("cluster.members: two voters without a witness"),
        "{e:?}"
    );
    let ok = errors(&cluster_text(
        &format!("{MEMBER_1}{MEMBER_2}{WITNESS_3}"),
        "",
    ));
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn cluster_rules_name_their_fields() {
    let dup = "[[cluster.members]]\nid = 2\naddress = \"198.18.1.11:7400\"\nrole = \"lns\"\n";
    let e = errors(&cluster_text(
        &format!("{MEMBER_1}{dup}{WITNESS_3}"),
        "lease_ms = 900\ncounters_interval_secs = 0",
    ));
    let has = |p: &str| e.iter().any(|m| m.starts_with(p));
    assert!(
        has("cluster.members[1].address: 198.18.1.11:7400 is listed twice"),
        "{e:?}"
    );
    assert!(has("cluster.counters_interval_secs"), "{e:?}");
    assert!(has("cluster: timing: lease must not exceed"), "{e:?}");
    let e = errors(&cluster_text(&format!("{MEMBER_2}{WITNESS_3}"), ""));
    assert!(
        e.iter()
            .any(|m| m.starts_with("cluster.node_id: 1 is not one of")),
        "{e:?}"
    );
    let unknown = cluster_text(MEMBER_1, "colour = \"blue\"");
    let syntax = Config::from_toml(&unknown).expect_err("unknown key refused");
    assert!(syntax.to_string().contains("colour"), "{syntax}");
    let bad_prefix = cluster_text(MEMBER_1, "").replace("198.18.1.100/24", "198.18.1.100/33");
    let syntax = Config::from_toml(&bad_prefix).expect_err("bad prefix refused");
    assert!(syntax.to_string().contains("prefix length 33"), "{syntax}");
}

#[test]
fn a_witness_needs_only_node_and_cluster_and_an_lns_still_needs_ppp() {
    let witness = format!(
        "[node]\nhost_name = \"w\"\n[cluster]\nnode_id = 3\nrole = \"witness\"\n\
         listen = \"198.18.1.13:7400\"\ndata_dir = \"raft\"\nsecret_file = \"s\"\n\
         {MEMBER_1}{MEMBER_2}{WITNESS_3}"
    );
    assert_eq!(errors(&witness), Vec::<String>::new());
    let lns_without_ppp = format!(
        "[node]\nhost_name = \"a\"\n[cluster]\nnode_id = 1\nrole = \"lns\"\n\
         listen = \"198.18.1.11:7400\"\ndata_dir = \"raft\"\nsecret_file = \"s\"\n\
         {MEMBER_1}{MEMBER_2}{WITNESS_3}\
         [[cluster.tunnel_addresses]]\naddress = \"198.18.1.100/24\"\ninterface = \"eth0\"\n"
    );
    let e = errors(&lns_without_ppp);
    assert!(
        e.iter().any(|m| m.starts_with("ppp: the [ppp] section")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.starts_with("listen: at least one")),
        "{e:?}"
    );
}

#[test]
fn cluster_tls_needs_all_three_files_and_names_the_missing_one() {
    let e = errors(&cluster_text(
        &format!("{MEMBER_1}{MEMBER_2}{WITNESS_3}"),
        "tls_ca = \"/nonexistent/ca.pem\"\ntls_cert = \"/nonexistent/c.pem\"",
    ));
    assert!(
        e.iter()
            .any(|m| m
                .starts_with("cluster.tls_key: missing: tls_ca, tls_cert and tls_key go together")),
        "{e:?}"
    );
    assert!(!e.iter().any(|m| m.starts_with("cluster.tls_ca")), "{e:?}");
    let e = errors(&cluster_text(
        &format!("{MEMBER_1}{MEMBER_2}{WITNESS_3}"),
        "tls_ca = \"/nonexistent/ca.pem\"\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"",
    ));
    assert!(
        e.iter()
            .any(|m| m.starts_with("cluster.tls_ca: cannot read /nonexistent/ca.pem")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("cluster.tls_key: cannot read")),
        "{e:?}"
    );
}

#[test]
fn bootstrap_join_makes_a_member_that_waits_to_be_added() {
    let members = format!("{MEMBER_1}{MEMBER_2}{WITNESS_3}");
    let founding = Config::from_toml(&cluster_text(&members, "")).expect("valid");
    let c = founding.cluster.expect("[cluster]");
    assert_eq!(c.bootstrap, super::cluster::ClusterBootstrap::Found);
    assert_eq!(
        c.cluster_config().bootstrap,
        lns_cluster::Bootstrap::Founding
    );
    let joining =
        Config::from_toml(&cluster_text(&members, "bootstrap = \"join\"")).expect("valid");
    let c = joining.cluster.expect("[cluster]");
    assert_eq!(
        c.cluster_config().bootstrap,
        lns_cluster::Bootstrap::Joining
    );
    let bad = Config::from_toml(&cluster_text(&members, "bootstrap = \"wait\""))
        .expect_err("unknown bootstrap refused");
    assert!(bad.to_string().contains("join"), "{bad}");
}
