//! reflector: a UDP echo server for lac-sim's probes. Every datagram goes
//! back to its sender unchanged. Runs until killed.

use std::net::{SocketAddr, UdpSocket};

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "UDP echo reflector for lac-sim probes")]
struct Args {
    /// Address to bind (ADDR:PORT).
    #[arg(long, default_value = "0.0.0.0:7")]
    bind: SocketAddr,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sock = UdpSocket::bind(args.bind).with_context(|| format!("bind {}", args.bind))?;
    eprintln!("reflector: listening on {}", args.bind);
    let mut buf = vec![0u8; 0x1_0000];
    loop {
        let (n, from) = sock.recv_from(&mut buf).context("receive")?;
        // A full send buffer loses the reply, which lac-sim counts as loss.
        let _ = sock.send_to(&buf[..n], from);
    }
}
