//! The tunnel addresses that move to the active node (FAILOVER.md, issue 6
//! item 4).
//!
//! Contract: [`Vip::claim`] adds every configured address to its interface
//! and announces it [`ANNOUNCEMENTS`] times, [`ANNOUNCE_SPACING`] apart,
//! on a packet socket (`pnet_datalink`, no unsafe code): a gratuitous ARP
//! for an IPv4 address (RFC 5227 §3 "ARP Announcement") and an
//! unsolicited Neighbor Advertisement with the Override flag and the
//! Target Link-Layer Address option for an IPv6 one (RFC 4861 §7.2.6).
//! Both frames are built by `lns_proto` (`ip::arp`, `nd::neighbor`). An
//! IPv6 address is added without duplicate address detection (`nodad`):
//! it moves from a node that gave it up, and must serve at once.
//! [`Vip::release`] removes the addresses at once. Addresses are managed
//! with iproute2's `ip` (present on every system lnsd targets); an address
//! already present (claim) or already gone (release) is not an error.

use crate::config::TunnelAddress;
use lns_proto::ip::arp::gratuitous_arp_frame;
use lns_proto::nd::neighbor::unsolicited_na_frame;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

/// Announcements (gratuitous ARP / unsolicited NA) sent per address on
/// claim.
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
            let prefix = t.address.to_string();
            let mut args = vec!["addr", "replace", &prefix, "dev", &t.interface];
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

    /// Adds the addresses, then announces each [`ANNOUNCEMENTS`] times,
    /// [`ANNOUNCE_SPACING`] apart (async: the caller keeps serving
    /// meanwhile).
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
                if let Err(e) = announce(&t.interface, t.address.addr) {
                    tracing::warn!(address = %t.address.addr, interface = %t.interface, "announcement not sent: {e}");
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

/// Sends one announcement of `addr` on `interface`: a gratuitous ARP
/// (IPv4) or an unsolicited Neighbor Advertisement (IPv6).
fn announce(interface: &str, addr: IpAddr) -> Result<(), String> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| format!("no interface {interface}"))?;
    let mac = iface
        .mac
        .ok_or_else(|| format!("{interface} has no hardware address"))?
        .octets();
    let frame = announcement(mac, addr);
    let channel = pnet_datalink::channel(&iface, pnet_datalink::Config::default())
        .map_err(|e| format!("packet socket: {e}"))?;
    let pnet_datalink::Channel::Ethernet(mut tx, _rx) = channel else {
        return Err("not an Ethernet channel".into());
    };
    match tx.send_to(&frame, None) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("frame not sent".into()),
    }
}

/// The Ethernet frame announcing `addr` at `mac`.
pub fn announcement(mac: [u8; 6], addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => gratuitous_arp_frame(mac, a),
        IpAddr::V6(a) => unsolicited_na_frame(mac, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames come from lns-proto: ARP (EtherType 0x0806, broadcast)
    /// for IPv4, an ICMPv6 NA (EtherType 0x86dd, to 33:33:00:00:00:01)
    /// for IPv6.
    #[test]
    fn each_family_gets_its_announcement() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let v4 = announcement(mac, "198.18.1.100".parse().expect("literal"));
        assert_eq!(&v4[..6], &[0xff; 6]);
        assert_eq!(&v4[12..14], &[0x08, 0x06]);
        let v6 = announcement(mac, "2001:db8:1::64".parse().expect("literal"));
        assert_eq!(&v6[..6], &[0x33, 0x33, 0, 0, 0, 0x01]);
        assert_eq!(&v6[12..14], &[0x86, 0xdd]);
        assert_eq!(v6[14 + 40], 0x88, "ICMPv6 Neighbor Advertisement");
    }
}
