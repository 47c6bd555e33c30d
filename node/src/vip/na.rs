//! Unsolicited Neighbour Advertisements for an IPv6 tunnel address
//! (RFC 4861 §7.2.6), the IPv6 counterpart of the gratuitous ARP.
//!
//! Contract: [`unsolicited_na`] builds the whole Ethernet frame (pure,
//! tested with a byte vector); [`announce_v6`] sends it on the interface's
//! packet socket. The address is added with `nodad` ([`super::Vip`]): the
//! cluster, not Duplicate Address Detection, guarantees one holder, and
//! DAD would both delay the address by a second and fail outright while a
//! crashed node's kernel still holds it; so the kernel sends no
//! advertisement of its own and lnsd announces the move itself.

use std::net::Ipv6Addr;

use lns_proto::ip::checksum::Accumulator;

/// ff02::1, all nodes (RFC 4291 §2.7.1).
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ICMPv6 Neighbor Advertisement (RFC 4861 §4.4).
const NEIGHBOR_ADVERTISEMENT: u8 = 0x88;
/// Next header ICMPv6.
const ICMPV6: u8 = 0x3a;
/// R (router) and O (override) set, S (solicited) clear: RFC 4861 §7.2.6.
const FLAGS_ROUTER_OVERRIDE: u8 = 0xa0;
/// Target Link-Layer Address option (RFC 4861 §4.6.1).
const OPT_TARGET_LLADDR: u8 = 0x02;

/// An Ethernet frame to 33:33:00:00:00:01 carrying an unsolicited NA from
/// `addr` to ff02::1 for target `addr` at `mac` (hop limit 255).
pub fn unsolicited_na(mac: [u8; 6], addr: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[NEIGHBOR_ADVERTISEMENT, 0x00, 0x00, 0x00]);
    icmp.extend_from_slice(&[FLAGS_ROUTER_OVERRIDE, 0x00, 0x00, 0x00]);
    icmp.extend_from_slice(&addr.octets());
    icmp.extend_from_slice(&[OPT_TARGET_LLADDR, 0x01]);
    icmp.extend_from_slice(&mac);
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(addr, ALL_NODES, ICMPV6, icmp.len() as u32)
        .add_bytes(&icmp)
        .checksum();
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    f.extend_from_slice(&[0x33, 0x33, 0x00, 0x00, 0x00, 0x01]); // RFC 2464 §7
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x86, 0xdd]); // EtherType IPv6
    f.extend_from_slice(&[0x60, 0x00, 0x00, 0x00]); // version 6, no class/flow
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[ICMPV6, 0xff]); // RFC 4861 §7.1.2: hop limit 255
    f.extend_from_slice(&addr.octets());
    f.extend_from_slice(&ALL_NODES.octets());
    f.extend_from_slice(&icmp);
    f
}

/// Sends one unsolicited NA for `addr` on `interface`.
pub fn announce_v6(interface: &str, addr: Ipv6Addr) -> Result<(), String> {
    let (mac, mut tx) = super::ethernet_tx(interface)?;
    match tx.send_to(&unsolicited_na(mac, addr), None) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("frame not sent".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsolicited_na_overrides_and_carries_our_link_layer_address() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let addr: Ipv6Addr = "2001:db8:1::100".parse().expect("literal");
        let f = unsolicited_na(mac, addr);
        let expected: Vec<u8> = [
            &[0x33, 0x33, 0x00, 0x00, 0x00, 0x01][..],
            &mac,
            &[0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff],
            &addr.octets(),
            &ALL_NODES.octets(),
            &[0x88, 0x00],
        ]
        .concat();
        assert_eq!(f[..expected.len()], expected[..]);
        // Flags R|O, then the target, then option 2 with our MAC.
        assert_eq!(f[58..62], [0xa0, 0x00, 0x00, 0x00]);
        assert_eq!(f[62..78], addr.octets());
        assert_eq!(f[78..], [0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a]);
        // The ICMPv6 checksum verifies over the pseudo-header.
        let ok = Accumulator::new()
            .add_ipv6_pseudo_header(addr, ALL_NODES, ICMPV6, 32)
            .add_bytes(&f[54..])
            .verifies();
        assert!(ok);
        assert_eq!(f.len(), 14 + 40 + 32);
    }
}
