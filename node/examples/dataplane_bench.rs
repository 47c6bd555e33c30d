//! Micro-benchmark of the per-packet path on one core, without IO:
//! upstream classification (L2TP header, session lookup, peer check, PPP,
//! anti-spoofing) + MSS clamping, and downstream classification (lookup by
//! destination, MRU check) + MSS clamping + framing in place.
//!
//! Then the batched socket path alone on loopback (sendmmsg -> recvmmsg,
//! 32 datagrams per call) against one system call per datagram.
//!
//! `cargo run --release -p lns-node --example dataplane_bench [SESSIONS] [PACKETS]`

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use lns_node::dataplane::classifier::{
    classify_downstream, classify_upstream, Downstream, Upstream,
};
use lns_node::dataplane::framing::{encapsulate, PppHeader, HEADROOM};
use lns_node::dataplane::table::SessionTable;
use lns_node::dataplane::SessionEntry;
use lns_proto::ip::{clamp_tcp_mss, IpProtocol, Ipv4Repr, MssLimit};
use lns_proto::ppp::frame::Compression;

fn main() {
    let mut args = std::env::args().skip(1);
    let sessions: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let packets: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let lac: SocketAddr = "198.18.0.2:1701".parse().expect("literal");

    let mut table = SessionTable::new();
    let started = Instant::now();
    for i in 0..sessions {
        table = table.with_upsert(entry(i, lac));
    }
    println!(
        "built a table of {sessions} sessions in {:.2?} (copy-on-write upserts)",
        started.elapsed()
    );

    // Upstream datagrams: 1400-byte IPv4 packets from 64 sessions in turn.
    let datagrams: Vec<Vec<u8>> = (0..64u32)
        .map(|k| {
            let i = k * (sessions / 64).max(1) % sessions;
            let mut d = vec![0x00, 0x02];
            d.extend_from_slice(&ids(i).0.to_be_bytes());
            d.extend_from_slice(&ids(i).1.to_be_bytes());
            d.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
            d.extend_from_slice(&ipv4(addr(i), Ipv4Addr::new(198, 18, 1, 2), 1400));
            d
        })
        .collect();
    let mut work = datagrams.clone();
    let started = Instant::now();
    let mut to_tun = 0u64;
    for n in 0..packets {
        let d = &mut work[(n % 64) as usize];
        if let Upstream::Ip { slot, packet } = classify_upstream(&table, lac, d) {
            let _ = clamp_tcp_mss(&mut d[packet], MssLimit::FromLinkMtu(slot.entry.mru));
            to_tun += 1;
        }
        black_box(&d);
    }
    report("upstream classify + clamp", packets, started, to_tun);

    // Downstream: the same IP packets toward the sessions, framed in place.
    let ip: Vec<Vec<u8>> = (0..64u32)
        .map(|k| {
            ipv4(
                Ipv4Addr::new(198, 18, 1, 2),
                addr(k * (sessions / 64).max(1) % sessions),
                1400,
            )
        })
        .collect();
    let mut slot_buf = vec![0u8; HEADROOM + 1500];
    let started = Instant::now();
    let mut framed = 0u64;
    for n in 0..packets {
        let p = &ip[(n % 64) as usize];
        slot_buf[HEADROOM..HEADROOM + p.len()].copy_from_slice(p);
        if let Downstream::Forward {
            slot,
            protocol,
            len,
        } = classify_downstream(&table, &slot_buf[HEADROOM..HEADROOM + p.len()])
        {
            let _ = clamp_tcp_mss(
                &mut slot_buf[HEADROOM..HEADROOM + len],
                MssLimit::FromLinkMtu(slot.entry.mru),
            );
            if encapsulate(&mut slot_buf, len, &slot.entry, PppHeader::Add(protocol)).is_some() {
                framed += 1;
            }
        }
        black_box(&slot_buf);
    }
    report(
        "downstream classify + clamp + frame (incl. 1400 B copy)",
        packets,
        started,
        framed,
    );

    io_bench(packets.min(500_000));
}

/// Loopback UDP: batched versus one datagram per system call.
fn io_bench(packets: u32) {
    use lns_node::dataplane::socket::{bind, RecvBatch, SendBatch, BATCH};
    for batched in [true, false] {
        let rx = bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
        let to = rx.local_addr().expect("addr");
        let sender = std::thread::spawn(move || {
            let tx = bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
            let mut batch = SendBatch::new(256);
            let mut sent = 0;
            // Loopback drops what overflows the receiver; it stops after
            // 100 ms without traffic.
            while sent < packets {
                if batched {
                    for _ in 0..BATCH {
                        batch.push(0, 200, 0, to);
                    }
                    sent += batch.flush(std::slice::from_ref(&tx)).packets as u32;
                } else {
                    let _ = tx.send_to(&[0u8; 200], to);
                    sent += 1;
                }
            }
        });
        let mut batch = RecvBatch::new();
        let mut buf = [0u8; 2048];
        let mut got = 0u64;
        let mut first = None;
        let mut last = Instant::now();
        loop {
            let n = if batched {
                batch.recv(&rx).map(|n| n as u64)
            } else {
                rx.recv(&mut buf).map(|_| 1)
            };
            match n {
                Ok(n) => {
                    got += n;
                    last = Instant::now();
                    first.get_or_insert(last);
                }
                Err(_) => break,
            }
        }
        let secs = first.map_or(0.0, |f| (last - f).as_secs_f64()).max(1e-9);
        let _ = sender.join();
        println!(
            "loopback UDP 200 B, {}: {got} received in {secs:.3} s = {:.2} Mpps",
            if batched {
                "recvmmsg/sendmmsg x32"
            } else {
                "one syscall each"
            },
            got as f64 / secs / 1e6
        );
    }
}

fn report(what: &str, packets: u32, started: Instant, ok: u64) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{what}: {packets} packets in {secs:.3} s = {:.2} Mpps ({ok} accepted)",
        f64::from(packets) / secs / 1e6
    );
}

fn ids(i: u32) -> (u16, u16) {
    ((i / 1000 + 1) as u16, (i % 1000 + 1) as u16)
}

fn addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + i)
}

fn entry(i: u32, lac: SocketAddr) -> SessionEntry {
    let (tunnel_id, session_id) = ids(i);
    let v6 = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64));
    SessionEntry {
        tunnel_id,
        session_id,
        peer_tunnel_id: tunnel_id,
        peer_session_id: session_id,
        peer: lac,
        local: "198.18.0.1:1701".parse().expect("literal"),
        ipv4: Some(addr(i)),
        ipv6_prefixes: vec![(v6, 64)],
        mru: 1500,
        compression: Compression::default(),
    }
}

/// An IPv4/UDP packet of `total` bytes.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, total: usize) -> Vec<u8> {
    let mut p = vec![0u8; total];
    Ipv4Repr {
        src,
        dst,
        protocol: IpProtocol::Udp,
        payload_len: total - 20,
        ttl: 64,
        dscp_ecn: 0,
        ident: 0,
        dont_fragment: true,
    }
    .emit(&mut p)
    .expect("fits");
    p
}
