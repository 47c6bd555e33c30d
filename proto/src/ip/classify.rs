//! The data plane's first branch for an IPv6 packet from a subscriber:
//! link control for the control plane (Router Solicitation, DHCPv6), other
//! link-scoped traffic that must never leave the link, or traffic to forward.
//!
//! Contract: O(1), no allocation, no panic; only headers are read (the
//! control plane validates the message itself). RFC 4291 §2.5.6: a router
//! must not forward packets with a link-local source or destination, so
//! those, and link-local-scope multicast, are never [`SubscriberIpv6::Forward`].

use core::net::Ipv6Addr;

use super::{IpError, IpProtocol, Ipv6Packet, UpperLayer};

/// What to do with an IPv6 packet received from a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriberIpv6 {
    /// An ICMPv6 Router Solicitation at a link-scope destination: hand to
    /// `nd::RouterAdvertiser::handle_rs`.
    RouterSolicitation,
    /// UDP to port 547 at a link-scope destination: hand to `dhcpv6::Dhcpv6Server::handle`.
    Dhcpv6,
    /// Other link-scoped traffic (NS/NA, MLD, ...): consume, never forward.
    LinkScope,
    /// Everything else: subject to anti-spoofing, then forward.
    Forward,
}

const ICMPV6_ROUTER_SOLICITATION: u8 = 0x85;
const DHCPV6_SERVER_PORT: u16 = 547;

/// Classifies an IPv6 packet received on a subscriber's PPP link.
pub fn classify_subscriber_ipv6(packet: &[u8]) -> Result<SubscriberIpv6, IpError> {
    let ip = Ipv6Packet::new_checked(packet)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let dst_on_link = is_link_local(dst) || is_link_multicast(dst);
    if !dst_on_link {
        return Ok(if is_link_local(src) {
            SubscriberIpv6::LinkScope
        } else {
            SubscriberIpv6::Forward
        });
    }
    let (protocol, offset) = match ip.upper_layer()? {
        UpperLayer::At { protocol, offset } => (protocol, offset),
        UpperLayer::LaterFragment => return Ok(SubscriberIpv6::LinkScope),
    };
    let upper = &ip.packet()[offset..];
    Ok(match (protocol, upper) {
        (IpProtocol::Icmpv6, [ICMPV6_ROUTER_SOLICITATION, ..]) => {
            SubscriberIpv6::RouterSolicitation
        }
        (IpProtocol::Udp, [_, _, hi, lo, ..])
            if u16::from_be_bytes([*hi, *lo]) == DHCPV6_SERVER_PORT =>
        {
            SubscriberIpv6::Dhcpv6
        }
        _ => SubscriberIpv6::LinkScope,
    })
}

/// fe80::/10 (RFC 4291 §2.5.6).
fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Multicast of interface-local or link-local scope (ff01::/16, ff02::/16,
/// any flags; RFC 4291 §2.7).
fn is_link_multicast(a: Ipv6Addr) -> bool {
    let o = a.octets();
    o[0] == 0xff && matches!(o[1] & 0x0f, 0x01 | 0x02)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::Ipv6Repr;

    fn packet(src: &str, dst: &str, next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        Ipv6Repr {
            src: src.parse().expect("literal"),
            dst: dst.parse().expect("literal"),
            next_header: IpProtocol::from(next),
            payload_len: payload.len(),
            hop_limit: 255,
        }
        .emit(&mut p)
        .expect("fits");
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn control_packets_go_to_the_control_plane() {
        let rs = packet("fe80::2", "ff02::2", 58, &[0x85, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            classify_subscriber_ipv6(&rs),
            Ok(SubscriberIpv6::RouterSolicitation)
        );
        // UDP 546 -> 547 to All_DHCP_Relay_Agents_and_Servers.
        let dhcp = packet(
            "fe80::2",
            "ff02::1:2",
            17,
            &[0x02, 0x22, 0x02, 0x23, 0, 8, 0, 0],
        );
        assert_eq!(classify_subscriber_ipv6(&dhcp), Ok(SubscriberIpv6::Dhcpv6));
    }

    #[test]
    fn link_scope_is_never_forwarded() {
        // RFC 4291 §2.5.6: a Neighbor Solicitation for DAD, and a packet from
        // a link-local source to a global address.
        let ns = packet("::", "ff02::1:ff00:2", 58, &[0x87, 0, 0, 0]);
        assert_eq!(classify_subscriber_ipv6(&ns), Ok(SubscriberIpv6::LinkScope));
        let leak = packet("fe80::2", "2001:db8::1", 17, &[0x02, 0x22, 0x02, 0x23]);
        assert_eq!(
            classify_subscriber_ipv6(&leak),
            Ok(SubscriberIpv6::LinkScope)
        );
        let global = packet("2001:db8:1::2", "2001:db8::1", 6, &[0; 20]);
        assert_eq!(
            classify_subscriber_ipv6(&global),
            Ok(SubscriberIpv6::Forward)
        );
        // Site-scope multicast (ff05::) is not link scope.
        let site = packet("2001:db8:1::2", "ff05::1:3", 17, &[0; 8]);
        assert_eq!(classify_subscriber_ipv6(&site), Ok(SubscriberIpv6::Forward));
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert_eq!(
            classify_subscriber_ipv6(&[0x60, 0, 0]),
            Err(IpError::Truncated)
        );
        let bad_ext = packet("fe80::2", "ff02::2", 0, &[58, 4, 0, 0]);
        assert_eq!(
            classify_subscriber_ipv6(&bad_ext),
            Err(IpError::BadExtensionHeader)
        );
    }
}
