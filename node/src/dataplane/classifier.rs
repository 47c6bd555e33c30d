//! The pure per-packet decisions of the data plane (no IO, no allocation).
//!
//! Contract:
//! - [`classify_upstream`] takes one UDP payload received from `peer` and the
//!   current [`SessionTable`] and says where it goes: the control task (L2TP
//!   control, or a PPP frame that is not IPv4/IPv6 data), the TUN device (an
//!   IP packet whose source belongs to the session), or nowhere with a
//!   [`DropReason`]. Checks, in order (RFC 2661 §3.1 header; §4 / §5.3 PPP
//!   in data messages): a valid L2TPv2 header; the T bit; an existing
//!   (tunnel, session); the session's peer address and port; a valid PPP
//!   protocol field; for IP, a valid header of the right version and a
//!   source address the session owns (IPv4: its address; IPv6: link-local
//!   fe80::/10 or inside one of its prefixes; :: for a DAD probe to a
//!   link-scope group). IPv6 to a link-scope destination is
//!   [`Upstream::Ipv6Link`] (the LNS's to answer, not the core's).
//! - [`classify_downstream`] takes one IP packet read from the TUN device and
//!   finds its session by destination (a map probe, never a scan), then
//!   whether it fits the session MRU: a packet larger than the MRU with DF
//!   set (IPv4) or any larger IPv6 packet is [`Downstream::TooBig`] (the
//!   caller answers with the ICMP error); a larger IPv4 packet without DF is
//!   forwarded as is up to 1500 bytes (PPP peers receive 1500 octets
//!   whatever the MRU, RFC 1661 §6.1) and is too big beyond (we do not
//!   fragment; no ICMP error is allowed for it, so it is only dropped).
//! - Both return byte ranges, so the caller can rewrite the packet in place
//!   (MSS clamping) afterwards.

use core::ops::Range;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use lns_proto::ip::{Ipv4Packet, Ipv6Packet};
use lns_proto::l2tp::header::{HeaderError, HeaderView, Kind};
use lns_proto::ppp::{Frame, Protocol};

use super::table::{ipv6_in_prefix, SessionSlot, SessionTable};
use super::DropReason;

/// Where an upstream datagram goes.
#[derive(Debug)]
pub enum Upstream<'t> {
    /// An L2TP control message (T bit): the whole datagram to the control task.
    L2tpControl,
    /// A PPP frame for the link (LCP, PAP, CHAP, IPCP, IPV6CP, CCP, unknown).
    PppControl {
        /// The session it belongs to.
        slot: &'t SessionSlot,
        /// The PPP frame (address/control and protocol fields included).
        frame: Range<usize>,
    },
    /// An IP packet for the TUN device.
    Ip {
        /// The session it came from.
        slot: &'t SessionSlot,
        /// The IP packet (bounded by its own length field).
        packet: Range<usize>,
    },
    /// An IPv6 packet to a link-scope destination (fe80::/10 or ff02::/16:
    /// Router and Neighbor Solicitations, DHCPv6 to ff02::1:2, MLD): never
    /// forwarded by a router (RFC 4291 §2.5.6), so it is the LNS's own to
    /// answer. It goes to the IPv6 link sink when one is registered.
    Ipv6Link {
        /// The session it came from.
        slot: &'t SessionSlot,
        /// The IPv6 packet (bounded by its own length field).
        packet: Range<usize>,
    },
    /// Dropped.
    Drop(DropReason),
}

/// Classifies one datagram received from `peer` (see the module contract).
pub fn classify_upstream<'t>(
    table: &'t SessionTable,
    peer: SocketAddr,
    datagram: &[u8],
) -> Upstream<'t> {
    let header = match HeaderView::new_checked(datagram) {
        Ok(h) => h,
        // RFC 2661 §3.1: versions 1 (L2F) and 3 (L2TPv3) are not ours.
        Err(HeaderError::UnsupportedVersion(_)) => return Upstream::Drop(DropReason::WrongVersion),
        Err(_) => return Upstream::Drop(DropReason::Malformed),
    };
    if header.kind() == Kind::Control {
        return Upstream::L2tpControl;
    }
    let Some(slot) = table.session(header.tunnel_id(), header.session_id()) else {
        return Upstream::Drop(DropReason::UnknownSession);
    };
    if slot.entry.peer() != peer {
        return Upstream::Drop(DropReason::WrongPeer);
    }
    let frame_range = header.payload_range();
    let frame = match Frame::new_checked(header.payload()) {
        Ok(f) => f,
        Err(_) => return Upstream::Drop(DropReason::Malformed),
    };
    let ip_start = frame_range.end - frame.payload().len();
    let ip = frame.payload();
    match frame.protocol() {
        Protocol::Ipv4 => {
            let Ok(packet) = Ipv4Packet::new_checked(ip) else {
                return Upstream::Drop(DropReason::Malformed);
            };
            if slot.entry.ipv4 != Some(packet.src_addr()) {
                return Upstream::Drop(DropReason::Spoofed);
            }
            Upstream::Ip {
                slot,
                packet: ip_start..ip_start + packet.total_len(),
            }
        }
        Protocol::Ipv6 => {
            let Ok(packet) = Ipv6Packet::new_checked(ip) else {
                return Upstream::Drop(DropReason::Malformed);
            };
            let range = ip_start..ip_start + packet.total_len();
            let link_scope = is_link_scope(packet.dst_addr());
            // RFC 4862 §5.4.2: DAD probes come from :: to a link-scope group.
            let dad = link_scope && packet.src_addr().is_unspecified();
            if !dad && !ipv6_source_allowed(slot, packet.src_addr()) {
                return Upstream::Drop(DropReason::Spoofed);
            }
            if link_scope {
                return Upstream::Ipv6Link {
                    slot,
                    packet: range,
                };
            }
            Upstream::Ip {
                slot,
                packet: range,
            }
        }
        _ => Upstream::PppControl {
            slot,
            frame: frame_range,
        },
    }
}

/// What to do with a packet read from the TUN device.
#[derive(Debug)]
pub enum Downstream<'t> {
    /// Frame it for this session.
    Forward {
        /// The destination's session.
        slot: &'t SessionSlot,
        /// The PPP protocol to frame it with.
        protocol: Protocol,
        /// The packet's bytes (bounded by its own length field).
        len: usize,
    },
    /// Larger than the session MRU and not fragmentable: answer with ICMP.
    TooBig {
        /// The destination's session.
        slot: &'t SessionSlot,
    },
    /// Dropped.
    Drop(DropReason),
}

/// Classifies one IP packet read from the TUN device.
pub fn classify_downstream<'t>(table: &'t SessionTable, packet: &[u8]) -> Downstream<'t> {
    let (dst, len, fragmentable, protocol) = match packet.first().map(|b| b >> 4) {
        Some(4) => match Ipv4Packet::new_checked(packet) {
            Ok(p) => (
                IpAddr::V4(p.dst_addr()),
                p.total_len(),
                !p.dont_fragment(),
                Protocol::Ipv4,
            ),
            Err(_) => return Downstream::Drop(DropReason::Malformed),
        },
        Some(6) => match Ipv6Packet::new_checked(packet) {
            // RFC 8200 §5: routers never fragment IPv6.
            Ok(p) => (
                IpAddr::V6(p.dst_addr()),
                p.total_len(),
                false,
                Protocol::Ipv6,
            ),
            Err(_) => return Downstream::Drop(DropReason::Malformed),
        },
        _ => return Downstream::Drop(DropReason::Malformed),
    };
    let Some(slot) = table.by_destination(dst) else {
        return Downstream::Drop(DropReason::NoRoute);
    };
    // RFC 1661 §6.1: a PPP peer that asked for a smaller MRU must still
    // receive 1500 octets, so a fragmentable packet up to that goes as is.
    if len > usize::from(slot.entry.mru) && (!fragmentable || len > PPP_MINIMUM_MRU) {
        return Downstream::TooBig { slot };
    }
    Downstream::Forward {
        slot,
        protocol,
        len,
    }
}

/// Link-local unicast (fe80::/10) or link-local multicast (ff02::/16).
fn is_link_scope(dst: Ipv6Addr) -> bool {
    let bits = u128::from(dst);
    bits >> 118 == 0x3fa || bits >> 112 == 0xff02
}

/// What every PPP peer receives whatever its MRU (RFC 1661 §6.1).
const PPP_MINIMUM_MRU: usize = 1500;

/// IPv6 anti-spoofing: link-local (fe80::/10) or inside a session prefix.
fn ipv6_source_allowed(slot: &SessionSlot, src: Ipv6Addr) -> bool {
    let link_local = u128::from(src) >> 118 == 0x3fa;
    link_local
        || slot
            .entry
            .ipv6_prefixes
            .iter()
            .any(|&(prefix, len)| ipv6_in_prefix(src, prefix, len))
}

#[cfg(test)]
#[path = "classifier_tests.rs"]
mod tests;
