//! The tunnel addresses that move to the active node (FAILOVER.md, issue 6
//! item 4).
//!
//! Contract: [`Vip::claim`] adds every configured address to its interface
//! and announces it: three gratuitous ARP requests (IPv4, RFC 5227 §3
//! "ARP Announcement": sender and target protocol address both the
//! address) spaced [`ANNOUNCE_SPACING`] apart, sent on a packet socket
//! (`pnet_datalink`, no unsafe code); IPv6 addresses are added without
//! Duplicate Address Detection (`nodad`: the cluster guarantees one holder,
//! and DAD would fail while a crashed node's kernel still holds the
//! address) and announced the same way with unsolicited neighbour
//! advertisements ([`na`], RFC 4861 §7.2.6).
//! [`Vip::release`] removes the addresses at once. Addresses are managed
//! with iproute2's `ip` (present on every system lnsd targets); an address
//! already present (claim) or already gone (release) is not an error.

mod na;

pub use na::unsolicited_na;

use crate::config::TunnelAddress;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

/// Gratuitous ARPs sent on claim.
pub const ANNOUNCEMENTS: usize = 3;
/// Time between two of them.
pub const ANNOUNCE_SPACING: Duration = Duration::from_millis(100);

/// The moving addresses of this node.
#[derive(Clone, Debug)]
pub struct Vip {
    addresses: Vec<TunnelAddress>,
}

impl Vip {
    /// The addresses of `[[cluster.tunnel_addresses]]`.
    pub fn new(addresses: Vec<TunnelAddress>) -> Vip {
        Vip { addresses }
    }

    /// Adds every address; returns the problems (the node still serves the
    /// addresses it could add).
    pub fn add_all(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for t in &self.addresses {
            if t.address.addr.is_ipv6() {
                let knob = format!("/proc/sys/net/ipv6/conf/{}/ndisc_notify", t.interface);
                if let Err(e) = std::fs::write(&knob, "1") {
                    errors.push(format!("{knob}: {e}"));
                }
            }
            let address = t.address.to_string();
            let mut args = vec!["addr", "replace", &address, "dev", &t.interface];
            if t.address.addr.is_ipv6() {
                args.push("nodad");
            }
            let r = ip(&args);
            if let Err(e) = r {
                errors.push(format!("add {} to {}: {e}", t.address, t.interface));
            }
        }
        errors
    }

    /// Removes every address (errors are logged, never fatal).
    pub fn release(&self) {
        for t in &self.addresses {
            match ip(&["addr", "del", &t.address.to_string(), "dev", &t.interface]) {
                Ok(()) => {
                    tracing::info!(address = %t.address, interface = %t.interface, "tunnel address released")
                }
                Err(e) if e.contains("Cannot assign") || e.contains("not found") => {}
                Err(e) => {
                    tracing::warn!(address = %t.address, "cannot remove the tunnel address: {e}")
                }
            }
        }
    }

    /// Adds the addresses, then announces the IPv4 ones
    /// [`ANNOUNCEMENTS`] times, [`ANNOUNCE_SPACING`] apart (async: the
    /// caller keeps serving meanwhile).
    pub async fn claim(&self) {
        for e in self.add_all() {
            tracing::error!("tunnel address: {e}");
        }
        for t in &self.addresses {
            tracing::info!(address = %t.address, interface = %t.interface, "tunnel address claimed");
        }
        for round in 0..ANNOUNCEMENTS {
            if round > 0 {
                tokio::time::sleep(ANNOUNCE_SPACING).await;
            }
            for t in &self.addresses {
                match t.address.addr {
                    IpAddr::V4(a) => {
                        if let Err(e) = announce_v4(&t.interface, a) {
                            tracing::warn!(address = %a, interface = %t.interface, "gratuitous ARP not sent: {e}");
                        }
                    }
                    IpAddr::V6(a) => {
                        if let Err(e) = na::announce_v6(&t.interface, a) {
                            tracing::warn!(address = %a, interface = %t.interface, "unsolicited NA not sent: {e}");
                        }
                    }
                }
            }
        }
    }
}

/// Runs `ip ARGS`; the error is its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Sends one gratuitous ARP request for `addr` on `interface`.
fn announce_v4(interface: &str, addr: Ipv4Addr) -> Result<(), String> {
    let (mac, mut tx) = ethernet_tx(interface)?;
    let frame = gratuitous_arp(mac, addr);
    match tx.send_to(&frame, None) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("frame not sent".into()),
    }
}

/// `interface`'s hardware address and a packet socket sending on it.
fn ethernet_tx(
    interface: &str,
) -> Result<([u8; 6], Box<dyn pnet_datalink::DataLinkSender>), String> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| format!("no interface {interface}"))?;
    let mac = iface
        .mac
        .ok_or_else(|| format!("{interface} has no hardware address"))?
        .octets();
    let channel = pnet_datalink::channel(&iface, pnet_datalink::Config::default())
        .map_err(|e| format!("packet socket: {e}"))?;
    let pnet_datalink::Channel::Ethernet(tx, _rx) = channel else {
        return Err("not an Ethernet channel".into());
    };
    Ok((mac, tx))
}

/// An Ethernet broadcast frame carrying an ARP request announcing `addr`
/// at `mac` (RFC 826 layout; RFC 5227 §3 announcement: sender and target
/// protocol addresses are both `addr`, target hardware address zero).
pub fn gratuitous_arp(mac: [u8; 6], addr: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]); // destination: broadcast
    f.extend_from_slice(&mac); // source
    f.extend_from_slice(&[0x08, 0x06]); // EtherType ARP
    f.extend_from_slice(&[0x00, 0x01]); // hardware type Ethernet
    f.extend_from_slice(&[0x08, 0x00]); // protocol type IPv4
    f.extend_from_slice(&[0x06, 0x04]); // hardware and protocol lengths
    f.extend_from_slice(&[0x00, 0x01]); // opcode request
    f.extend_from_slice(&mac); // sender hardware address
    f.extend_from_slice(&addr.octets()); // sender protocol address
    f.extend_from_slice(&[0x00; 6]); // target hardware address
    f.extend_from_slice(&addr.octets()); // target protocol address
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_arp_is_an_rfc_5227_announcement() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let f = gratuitous_arp(mac, Ipv4Addr::new(198, 18, 1, 100));
        assert_eq!(
            f,
            vec![
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x06,
                0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
                0xc6, 0x12, 0x01, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x01, 0x64,
            ]
        );
    }
}
