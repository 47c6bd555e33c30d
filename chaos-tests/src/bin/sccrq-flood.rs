//! sccrq-flood: sends N SCCRQs to an LNS, each from a new UDP source port,
//! and never answers (half-open tunnels). Used by the lnsd flood drill.
//!
//! `sccrq-flood --lns 198.18.0.2:1701 --local 198.18.0.1 --count 800`

use std::net::{IpAddr, SocketAddr, UdpSocket};

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "SCCRQ flood from many source ports")]
struct Cli {
    /// The LNS control address.
    #[arg(long)]
    lns: SocketAddr,
    /// Our address.
    #[arg(long)]
    local: IpAddr,
    /// How many SCCRQs (one source port each).
    #[arg(long, default_value_t = 1000)]
    count: u16,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    for i in 0..cli.count {
        let sock = UdpSocket::bind((cli.local, 0)).context("bind")?;
        sock.send_to(&sccrq(i.wrapping_add(1)), cli.lns)
            .context("send SCCRQ")?;
    }
    println!("sccrq-flood sent={}", cli.count);
    Ok(())
}

/// A minimal SCCRQ (RFC 2661 §6.1): Message Type 1, Protocol Version 1.0,
/// Framing Capabilities, Host Name, Assigned Tunnel ID, all mandatory; the
/// control header has T, L, S set and version 2 (0xc802), Ns = Nr = 0.
fn sccrq(tunnel_id: u16) -> Vec<u8> {
    let mut avps: Vec<u8> = Vec::new();
    let mut avp = |ty: u16, value: &[u8]| {
        // RFC 2661 §4.1: M bit (0x8000) | length; Vendor ID 0; type; value.
        let len = u16::try_from(6 + value.len()).expect("AVP values here are a few bytes");
        avps.extend_from_slice(&(0x8000 | len).to_be_bytes());
        avps.extend_from_slice(&[0x00, 0x00]);
        avps.extend_from_slice(&ty.to_be_bytes());
        avps.extend_from_slice(value);
    };
    avp(0x0000, &[0x00, 0x01]);
    avp(0x0002, &[0x01, 0x00]);
    avp(0x0003, &[0x00, 0x00, 0x00, 0x03]);
    avp(0x0007, b"flood");
    avp(0x0009, &tunnel_id.to_be_bytes());
    let len = u16::try_from(12 + avps.len()).expect("the SCCRQ is under 100 bytes");
    let mut msg = vec![0xc8, 0x02];
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(&[0x00; 8]);
    msg.extend_from_slice(&avps);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sccrq_parses_as_an_rfc_2661_sccrq() {
        let m = sccrq(0x1234);
        assert_eq!(&m[..2], &[0xc8, 0x02]);
        let (_, msg) = lns_proto::l2tp::message::parse_control(&m, None).expect("parses");
        let msg = msg.expect("not a ZLB");
        assert_eq!(msg.protocol_version(), Some((1, 0)));
        assert_eq!(usize::from(u16::from_be_bytes([m[2], m[3]])), m.len());
        // Assigned Tunnel ID is the last AVP.
        assert_eq!(&m[m.len() - 2..], &[0x12, 0x34]);
    }
}
