//! Failover of a real cluster (issue 6 item 8), as root in network
//! namespaces (skipped with a message otherwise): two `lnsd` (role lns) and
//! one `lnsd` witness on one bridge, `lac-sim` holding 20 sessions over 2
//! tunnels with traffic to a reflector in `core`, which routes the pool via
//! the tunnel address.
//!
//! ```text
//!  lac 198.18.1.1   lns-a 198.18.1.11   lns-b 198.18.1.12   witness 198.18.1.13
//!        |                |                   |                   |
//!  ======+================+===== bridge ======+===================+=== core 198.18.1.2
//!  tunnel address 198.18.1.100/24 on the active node; core: 198.19.0.0/16 via it
//! ```
//!
//! The drill: SIGKILL the active lnsd; the other must become active and hold
//! the tunnel address; the killed one restarts and rejoins as a standby;
//! `lnsctl cluster transfer-leader` given to that standby is forwarded to
//! the active node and transfers leadership back and `lnsctl drill switchover` moves it once more. The real
//! `lnsctl` checks `cluster status` and `status` on every member (the
//! witness included), and the survivor's /metrics counts the failover. Through all of it the
//! LAC must see no CDN and no StopCCN (`tunnels_lost=0 dropped=0`), every
//! session must keep carrying traffic, and the teardown must be clean.
//!
//! The bed (namespaces, configs, processes) is `cluster_bed`.

mod cluster_bed;
mod netns_support;

use cluster_bed::{build_bed, build_bed_with, spawn, Bed, NAMES, SESSIONS, VIP};
use netns_support::can_run;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn kill_active_then_rejoin_and_transfer_back_keep_every_session() {
    if !can_run() {
        return;
    }
    let mut bed = build_bed("fo", "k");
    let first = bed
        .wait_holder(None, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no node became active\n{}", bed.logs()));
    let other = 1 - first;
    // lac-sim: 2 tunnels x 10 sessions, 20 probes/s each, held 30 s.
    let mut sim = bed.start_lac_sim(20, 30);
    sim.wait_setup(&bed);
    std::thread::sleep(Duration::from_secs(3));

    // 0. lnsctl on every member: the witness lists all three, one active;
    // `status` names the role on the active and the standby.
    let roles = bed.cluster_roles("wit");
    let want_active = (first + 1) as u64;
    assert_eq!(roles.len(), 3, "{roles:?}");
    assert!(
        roles.contains(&(want_active, "ROLE_ACTIVE".into())),
        "{roles:?}"
    );
    assert!(roles.contains(&(3, "ROLE_WITNESS".into())), "{roles:?}");
    assert_eq!(
        roles.iter().filter(|(_, r)| r == "ROLE_ACTIVE").count(),
        1,
        "{roles:?}"
    );
    let s = bed.ctl(NAMES[first], &["status"]);
    assert_eq!(s["role"], "ROLE_ACTIVE", "{s}");
    assert_eq!(s["active_node"], want_active.to_string(), "{s}");
    let s = bed.ctl(NAMES[other], &["status"]);
    assert_eq!(s["role"], "ROLE_STANDBY", "{s}");
    assert_eq!(s["sessions"], SESSIONS, "standby's replicated table: {s}");
    let w = bed.ctl("wit", &["status"]);
    assert_eq!(w["role"], "ROLE_WITNESS", "{w}");

    // 1. SIGKILL the active node: the other takes the tunnel address.
    let killed_at = Instant::now();
    if let Some(p) = bed.nodes[first].as_mut() {
        p.signal("KILL");
        p.kill();
    }
    bed.nodes[first] = None;
    // The killed node's namespace keeps the address (nobody removed it,
    // as after a crash of the process): the new node's gratuitous ARPs
    // move the LAC's and the core's neighbour entries; the restarted lnsd
    // removes the stale address before it joins.
    assert!(
        bed.wait_holds(other, Duration::from_secs(5)),
        "the standby did not take over\n{}",
        bed.logs()
    );
    let took = killed_at.elapsed();
    println!("failover: node {} active after {took:?}", other + 1);
    assert!(took < Duration::from_secs(3), "takeover took {took:?}");
    std::thread::sleep(Duration::from_millis(500));
    let roles = bed.cluster_roles(NAMES[other]);
    assert!(
        roles.contains(&((other + 1) as u64, "ROLE_ACTIVE".into())),
        "survivor's cluster status: {roles:?}"
    );
    // The roles follower samples the leadership once a second: give the
    // counter that long to appear.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut unplanned = failovers(&bed, other, "unplanned");
    while unplanned < 1.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        unplanned = failovers(&bed, other, "unplanned");
    }
    assert_eq!(
        unplanned,
        1.0,
        "lnsd_failovers_total on the survivor (planned: {})",
        failovers(&bed, other, "planned")
    );

    // 2. The killed node restarts and rejoins as a standby.
    std::thread::sleep(Duration::from_secs(3));
    bed.start_node(first);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        bed.holder(),
        Some(other),
        "the rejoining node disturbed the active\n{}",
        bed.logs()
    );

    // 3. `lnsctl cluster transfer-leader` given to the standby is forwarded
    // to the active node: leadership goes back to the standby (the next
    // eligible member).
    let t = bed.ctl(NAMES[first], &["cluster", "transfer-leader"]);
    assert_eq!(
        t["forwarded_to"],
        format!("198.18.1.1{}:7400", other + 1),
        "{t}"
    );
    let back = bed.wait_holder(Some(first), Duration::from_secs(5));
    assert_eq!(
        back,
        Some(first),
        "the transfer did not happen\n{}",
        bed.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    // 3b. The drill: a planned switchover with its gap and session counts.
    let d = bed.ctl(NAMES[first], &["drill", "switchover"]);
    println!("drill: {d}");
    assert_eq!(d["to_node"], (other + 1).to_string(), "{d}");
    let gap = d["gap_ms"].as_u64().unwrap_or(0);
    assert!(gap > 0 && gap < 5_000, "{d}");
    assert_eq!(d["sessions_before"], SESSIONS, "{d}");
    assert_eq!(d["sessions_after"], SESSIONS, "{d}");
    assert!(
        bed.wait_holds(other, Duration::from_secs(5)),
        "drill target not active\n{}",
        bed.logs()
    );
    assert!(
        failovers(&bed, other, "planned") >= 1.0,
        "planned failover not counted"
    );

    // 4. lac-sim ends its hold and tears down: its report is the verdict.
    let (status, stdout, report) = sim.finish(&bed, Duration::from_secs(60));
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lac-sim tunnels="))
        .unwrap_or_default()
        .to_owned();
    println!("{summary}");
    let ctx = || format!("{summary}\n{}", bed.logs());
    assert!(status.success(), "lac-sim failed\n{}", ctx());
    assert_eq!(report["tunnels_up"], 2, "{}", ctx());
    assert_eq!(
        report["tunnels_lost"],
        0,
        "a StopCCN or a dead tunnel\n{}",
        ctx()
    );
    assert_eq!(report["sessions_up"], SESSIONS, "{}", ctx());
    assert_eq!(report["clean_teardown"], true, "{}", ctx());
    let list = report["session_list"].as_array().expect("session_list");
    for s in list {
        assert_eq!(
            s["dropped_early"],
            false,
            "a CDN or LCP Terminate: {s}\n{}",
            ctx()
        );
        let sent = s["sent"].as_u64().unwrap_or(0);
        let received = s["received"].as_u64().unwrap_or(0);
        // Two switchovers in a 30 s hold: a session that stopped carrying
        // traffic after either would have lost far more than a third.
        assert!(
            sent > 0 && received * 3 >= sent * 2,
            "session lost its traffic: {s}\n{}",
            ctx()
        );
    }
    let sent = report["sent"].as_u64().unwrap_or(0);
    let losses = report["losses"].as_u64().unwrap_or(u64::MAX);
    println!("probes sent={sent} lost={losses}");
}

/// Issue 6 (same state on every member): lns-b's pool differs from the
/// active lns-a's. lns-b must say so (log, `lnsd_config_mismatch`,
/// `/readyz` 503) and must not take over when lns-a dies, while lns-a and
/// the witness (same engine sections) report no mismatch; when lns-a comes
/// back, lns-b hands the leadership it refuses to it (retried hand-off).
#[test]
fn a_member_whose_pool_differs_is_refused() {
    if !can_run() {
        return;
    }
    let mut bed = build_bed_with("fo", "m", &|name, c| {
        if name == "lnsb" {
            c.replace("198.19.0.254", "198.19.0.200")
        } else {
            c
        }
    });
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(15)),
        Some(0),
        "lns-a did not become active\n{}",
        bed.logs()
    );
    bed.start_node(1);
    let pools = "lnsd_config_mismatch{section=\"pools\"}";
    let deadline = Instant::now() + Duration::from_secs(20);
    while bed.metric(1, pools) != 1.0 {
        assert!(
            Instant::now() < deadline,
            "lns-b never reported its pool mismatch\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, body) = bed.http_get(1, "/readyz");
    assert_eq!(code, "503", "lns-b ready with a different pool: {body}");
    assert!(body.contains("configuration differs"), "{body}");
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("differs from the active node") && log.contains("pools"),
        "lns-b did not log the mismatch\n{}",
        bed.logs()
    );
    assert_eq!(bed.metric(0, pools), 0.0, "lns-a flagged itself");
    let (code, body) = bed.http_get(0, "/readyz");
    assert_eq!(code, "200", "the active lns-a is not ready: {body}");
    let wit = bed.ctl("wit", &["cluster", "status"]);
    assert!(wit["members"].is_array(), "{wit}");

    // lns-a dies: lns-b (which may win the election) must not serve.
    if let Some(p) = bed.nodes[0].as_mut() {
        p.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        assert!(
            !bed.holds(1),
            "lns-b took the tunnel address with a different pool\n{}",
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("refusing to become active"),
        "lns-b was never elected, so the refusal was not exercised\n{}",
        bed.logs()
    );

    // lns-a comes back as a follower of the refusing lns-b: lns-b keeps
    // handing leadership on (a single try went to the dead lns-a and was
    // lost), so lns-a becomes active again without any operator action.
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(30)),
        Some(0),
        "the cluster stayed without an active node while lns-a could serve\n{}",
        bed.logs()
    );
    let log = std::fs::read_to_string(bed.dir.join("lnsb.log")).unwrap_or_default();
    assert!(
        log.contains("handing leadership to member 1"),
        "lns-b did not hand leadership on\n{}",
        bed.logs()
    );
    assert!(!bed.holds(1), "lns-b holds the tunnel address too");
}

const VIP6: &str = "2001:db8:1::64";

/// Issue 6 item 4: the node that becomes active announces its tunnel
/// addresses on the LAN with frames lnsd builds itself (lns_proto): three
/// gratuitous ARPs for the IPv4 address and three unsolicited Neighbor
/// Advertisements (Override set, Solicited clear, target link-layer address
/// = its MAC) for the IPv6 one, captured on the bridge and decoded by
/// tshark without a malformed or erroneous packet.
#[test]
fn becoming_active_announces_the_tunnel_addresses_on_the_lan() {
    if !can_run() {
        return;
    }
    let mut bed = build_bed_with("fo", "a", &|name, c| {
        if name == "lnsa" {
            format!("{c}\n[[cluster.tunnel_addresses]]\naddress = \"{VIP6}/64\"\ninterface = \"eth0\"\n")
        } else {
            c
        }
    });
    let pcap = bed.dir.join("announce.pcap");
    let dump_log = bed.dir.join("tcpdump.log");
    let _dump = spawn(
        &bed.ns("br"),
        Path::new("tcpdump"),
        &[
            "-i",
            "br0",
            "-U",
            "-w",
            &pcap.to_string_lossy(),
            "arp or icmp6",
        ],
        &dump_log,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&dump_log)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(Instant::now() < deadline, "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    bed.start_node(0);
    assert_eq!(
        bed.wait_holder(Some(0), Duration::from_secs(15)),
        Some(0),
        "lns-a did not become active\n{}",
        bed.logs()
    );
    let mac = mac_of(&bed.ns("lnsa"));
    let garp = format!("arp.opcode == 1 && arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP} && arp.src.hw_mac == {mac}");
    let na = format!(
        "icmpv6.type == 136 && ipv6.dst == ff02::1 && icmpv6.nd.na.target_address == {VIP6} \
         && icmpv6.nd.na.flag.o == 1 && icmpv6.nd.na.flag.s == 0 && icmpv6.opt.linkaddr == {mac}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (g, n) = (tshark_count(&pcap, &garp), tshark_count(&pcap, &na));
        if g >= 3 && n >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "announcements seen: {g} gratuitous ARP, {n} unsolicited NA (want 3 each)\n{}\n{}",
            tshark_all(&pcap),
            bed.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let bad = tshark_count(&pcap, "_ws.malformed || _ws.expert.severity >= error");
    assert_eq!(bad, 0, "malformed frames:\n{}", tshark_all(&pcap));
}

/// The MAC of eth0 in namespace `ns`, as tshark prints it.
fn mac_of(ns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-br", "link", "show", "eth0"])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        .unwrap_or_else(|| panic!("no MAC in {text:?}"))
        .to_owned()
}

/// Frames of `pcap` matching the display filter `filter`.
fn tshark_count(pcap: &Path, filter: &str) -> usize {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter])
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Every frame of `pcap`, one line each (for failure messages).
fn tshark_all(pcap: &Path) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `lnsd_failovers_total{kind}` value on the /metrics of lns node `i`.
fn failovers(bed: &Bed, i: usize, kind: &str) -> f64 {
    bed.metric(i, &format!("lnsd_failovers_total{{kind=\"{kind}\"}}"))
}
