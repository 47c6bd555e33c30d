//! lnsd IPv6 end to end: lac-sim in `lac` dials lnsd in `lns` (with an
//! `[ipv6]` section); every subscriber solicits a Router Advertisement,
//! forms a SLAAC address, gets IA_NA and IA_PD by DHCPv6, and sends IPv6
//! probes through lnsd's TUN to the reflector in `core` from its SLAAC
//! address and from inside its delegated prefix; replies come back through
//! lnsd's downstream lookup of both prefixes. One subscriber never opens
//! IPCP (IPv6 only) and holds no IPv4 address: while the sessions are
//! held, `lnsd_pool_used{pool="subscribers"}` is 10 for 11 sessions. Every
//! subscriber also sends one malformed DHCPv6
//! message, which lnsd ignores and counts in
//! `lnsd_ipv6_ignored_total{reason="dhcpv6_malformed"}`. The PPP link
//! traffic is captured on the LAC side veth and decoded by tshark: RA and
//! DHCPv6 present (the deliberately malformed messages filtered out).
//! Skips when not root.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::process::Command;
use std::time::Duration;

use lns_chaos_tests::harness::{have_program, require_root, Privilege, Signal};
use lns_chaos_tests::peers::l2tpns::LAC_ADDR;
use lns_chaos_tests::peers::lnsd::{lnsd_binary, Aaa};
use lns_chaos_tests::peers::{LnsdBed, LnsdOptions};

const TEMPLATE: &str = "v6sub{n}@e2e";
const PASSWORD: &str = "v6-pw";

type Json = serde_json::Value;

fn in_prefix(a: Ipv6Addr, base: &str, len: u32) -> bool {
    let base: Ipv6Addr = base.parse().expect("literal");
    let m = u128::MAX << (128 - len);
    u128::from(a) & m == u128::from(base) & m
}

fn v6(s: &Json, key: &str) -> Option<Ipv6Addr> {
    s[key].as_str().and_then(|a| a.parse().ok())
}

#[test]
fn slaac_dhcpv6_and_traffic_through_both_prefixes_with_an_ipv6_only_session() {
    let test = "slaac_dhcpv6_and_traffic_through_both_prefixes_with_an_ipv6_only_session";
    if require_root(test) == Privilege::Unprivileged {
        return;
    }
    let mut opts = LnsdOptions::new(
        11,
        TEMPLATE,
        PASSWORD,
        env!("CARGO_BIN_EXE_reflector").into(),
    );
    opts.aaa = Aaa::UsersFile;
    opts.ipv6 = true;
    opts.log_level = "info,lns_node=debug".into();
    opts.lnsd_bin = lnsd_binary().expect("lnsd binary");
    let bed = LnsdBed::start(&opts).expect("start lnsd bed");

    // The PPP link traffic as the LAC sees it (L2TP over UDP 1701).
    let pcap = bed.topo.dir().join("lac-side.pcap");
    let capture = have_program("tcpdump").then(|| {
        let mut c = Command::new("tcpdump");
        c.args(["-i", "to-lns", "-U", "-s", "0", "-w"])
            .arg(&pcap)
            .args(["udp", "port", "1701"]);
        let mut p = bed
            .topo
            .spawn_in("lac", "tcpdump", &mut c)
            .expect("tcpdump");
        p.wait_for_log("listening on", Duration::from_secs(10))
            .expect("tcpdump listening");
        p
    });

    // 11 sessions in one tunnel; the first never opens IPCP.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lac-sim"));
    cmd.args([
        "--lns",
        &bed.lns().to_string(),
        "--local",
        &LAC_ADDR.to_string(),
        "--tunnels",
        "1",
        "--sessions-per-tunnel",
        "11",
        "--reflector",
        &bed.reflector().to_string(),
        "--reflector6",
        &bed.reflector6().to_string(),
        "--ipv6-only-sessions",
        "1",
        "--v6-malformed-dhcp",
        "--traffic-pps",
        "10",
        "--setup-timeout",
        "30",
        "--hold",
        "4",
        "--user-template",
        TEMPLATE,
        "--password",
        PASSWORD,
        "--json",
    ]);
    let mut lac = bed
        .topo
        .spawn_in("lac", "lac-sim", &mut cmd)
        .expect("lac-sim runs");
    lac.wait_for_log("lac-sim: setup done", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", lac.log(), bed.log()));
    // During the hold: 10 IPv4 addresses in use for 11 sessions (the
    // IPv6-only one never asked for one); sampled every second by lnsd.
    let pool = "lnsd_pool_used{pool=\"subscribers\"}";
    let pool_used = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(pool)?.trim().parse::<f64>().ok())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let used = loop {
        let v = pool_used(&bed.metrics().expect("scrape /metrics"));
        if v == Some(10.0) || std::time::Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        used,
        Some(10.0),
        "{pool} while 11 sessions (1 IPv6-only) are held"
    );
    lac.wait_exit(Duration::from_secs(60))
        .expect("lac-sim ends");
    let stdout = lac.log();
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_string();
    println!("{summary}");
    let report: Json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report:\n{stdout}\n{}", bed.log()));
    let log = || bed.log();
    assert!(
        summary.contains(" sessions=11 sessions_up=11 ipv6_up=11 "),
        "{summary}\n{}",
        log()
    );

    let list = report["session_list"].as_array().expect("session_list");
    let (mut slaacs, mut pds) = (BTreeSet::new(), BTreeSet::new());
    for s in list {
        let slaac = v6(s, "slaac").unwrap_or_else(|| panic!("no SLAAC address: {s}\n{}", log()));
        let na = v6(s, "ia_na").unwrap_or_else(|| panic!("no IA_NA: {s}"));
        let prefix = v6(s, "ipv6_prefix").expect("RA prefix");
        assert!(in_prefix(slaac, "2001:db8:100::", 48), "{s}");
        assert!(
            in_prefix(na, &prefix.to_string(), 64),
            "IA_NA outside the /64: {s}"
        );
        assert!(in_prefix(slaac, &prefix.to_string(), 64), "{s}");
        let pd = s["ia_pd"].as_str().expect("IA_PD");
        let (pd_addr, pd_len) = pd.split_once('/').expect("prefix/len");
        assert_eq!(pd_len, "56", "{s}");
        let pd_addr: Ipv6Addr = pd_addr.parse().expect("IPv6");
        assert!(in_prefix(pd_addr, "2001:db8:200::", 40), "{s}");
        assert!(slaacs.insert(prefix), "/64 {prefix} handed out twice");
        assert!(pds.insert(pd_addr), "delegated {pd} handed out twice");
        for (sent, received) in [("sent6", "received6"), ("sent_pd", "received_pd")] {
            assert!(s[sent].as_u64().unwrap_or(0) > 0, "no {sent}: {s}");
            assert!(
                s[received].as_u64().unwrap_or(0) > 0,
                "no {received} (IPv6 through the TUN): {s}\n{}",
                log()
            );
        }
        assert_eq!(s["dropped_early"], false, "{s}");
    }
    // The IPv6-only subscriber has no IPv4 and still came up.
    assert_eq!(list[0]["ipv4"], Json::Null, "{}", list[0]);
    assert!(list[1..].iter().all(|s| s["ipv4"].is_string()));
    assert_eq!(report["clean_teardown"], true, "{summary}\n{}", log());
    assert!(log().contains("IPv6 up: 2001:db8:100:"), "{}", log());

    // The malformed DHCPv6 messages were ignored and counted, no more and
    // no less (the control task samples the engine every few seconds).
    let series = "lnsd_ipv6_ignored_total{reason=\"dhcpv6_malformed\"}";
    let value = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let counted = loop {
        let v = value(&bed.metrics().expect("scrape /metrics"));
        if v == Some(11.0) || std::time::Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(counted, Some(11.0), "{series}");

    // tshark: RA and DHCPv6 inside L2TP/PPP, nothing malformed.
    let Some(capture) = capture else {
        eprintln!("SKIPPED capture decode: tcpdump not installed");
        return;
    };
    capture.signal(Signal::Int).expect("stop tcpdump");
    std::thread::sleep(Duration::from_millis(300));
    drop(capture);
    if !have_program("tshark") {
        eprintln!("SKIPPED capture decode: tshark not installed");
        return;
    }
    let out = Command::new("tshark")
        .args(["-n", "-V", "-r"])
        .arg(&pcap)
        .args([
            "-Y",
            "icmpv6.type == 134 || (dhcpv6 && !(udp.length == 18))",
        ])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decode = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = decode
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("malformed")
                || l.contains("[expert info (error")
                || l.contains("severity level: error")
                || l.contains("exception occurred")
        })
        .collect();
    assert!(problems.is_empty(), "tshark problems: {problems:?}");
    for needle in [
        "Layer 2 Tunneling Protocol",
        "Router Advertisement",
        "Recursive DNS Server",
        "Solicit",
        "Advertise",
        "Request",
        "Reply",
        "IA Prefix",
        "IA Address",
    ] {
        assert!(decode.contains(needle), "{needle} not in the decode");
    }
}
