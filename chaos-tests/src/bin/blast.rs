//! blast: the forward benchmark's load generator. Sends one prebuilt
//! datagram per established session (from lac-sim's `--routes-file`),
//! round-robin, at a paced rate with sendmmsg, for a fixed time, then
//! prints `blast sent=N errors=N secs=S rate=R`.
//!
//! - `blast up`: in the `lac` namespace, raw IPv4 datagrams forged from
//!   each tunnel's LAC socket: L2TP data carrying an IPv4/UDP packet of
//!   `--size` bytes from the subscriber to `--sink`.
//! - `blast down`: in the `core` namespace, UDP packets of `--size` bytes
//!   (IPv4 total) to each subscriber's address, port of `--sink`.

use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use lns_chaos_tests::load::{packets, routes, sender};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Way {
    /// LAC -> LNS -> core.
    Up,
    /// core -> LNS -> LAC.
    Down,
}

#[derive(Debug, Parser)]
#[command(about = "Paced batched load through established L2TP sessions")]
struct Args {
    /// Direction.
    #[arg(value_enum)]
    way: Way,
    /// lac-sim's routes file.
    #[arg(long)]
    routes: PathBuf,
    /// Inner IPv4 packet size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Packets per second, all sessions together.
    #[arg(long)]
    rate: f64,
    /// Seconds to send.
    #[arg(long)]
    secs: f64,
    /// Where upstream packets go (and the port downstream packets use).
    #[arg(long, default_value = "198.18.1.2:9")]
    sink: SocketAddrV4,
}

fn main() -> Result<()> {
    let a = Args::parse();
    if !(a.rate.is_finite() && a.rate > 0.0 && a.secs.is_finite() && a.secs > 0.0) {
        bail!("--rate and --secs must be positive");
    }
    let text = std::fs::read_to_string(&a.routes)
        .with_context(|| format!("read {}", a.routes.display()))?;
    let routes = routes::parse_all(&text)?;
    if routes.is_empty() {
        bail!("no route in {}", a.routes.display());
    }
    let duration = Duration::from_secs_f64(a.secs);
    let sent = match a.way {
        Way::Up => {
            // IPPROTO_RAW: we write the IPv4 header (IP_HDRINCL).
            let fd = socket(
                AddressFamily::Inet,
                SockType::Raw,
                SockFlag::empty(),
                SockProtocol::Raw,
            )
            .context("raw socket (needs root)")?;
            let datagrams: Vec<_> = routes
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let to = SockaddrIn::from(SocketAddrV4::new(*r.lns.ip(), 0));
                    (to, packets::upstream(r, i as u32, a.sink, a.size))
                })
                .collect();
            sender::send_paced(fd.as_fd(), &datagrams, a.rate, duration)
        }
        Way::Down => {
            let sock = UdpSocket::bind("0.0.0.0:0").context("bind")?;
            let payload = packets::downstream_payload(a.size);
            let datagrams: Vec<_> = routes
                .iter()
                .map(|r| {
                    let to = SockaddrIn::from(SocketAddrV4::new(r.ipv4, a.sink.port()));
                    (to, payload.clone())
                })
                .collect();
            sender::send_paced(sock.as_fd(), &datagrams, a.rate, duration)
        }
    };
    println!(
        "blast sent={} errors={} secs={:.3} rate={:.1}",
        sent.packets,
        sent.errors,
        sent.elapsed.as_secs_f64(),
        sent.rate()
    );
    Ok(())
}
