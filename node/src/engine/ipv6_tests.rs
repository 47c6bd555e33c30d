//! IPv6 engine tests (see `tests/ipv6.rs` for the virtual-time exchanges).

use super::*;
use lns_proto::dhcpv6::{Dhcpv6Error, MessageType};

/// Every reason `dhcp_reason` gives is in the closed set the metric
/// pre-creates (a new `Dhcpv6Ignored` variant must be added there too).
#[test]
fn every_dhcpv6_reason_is_a_known_label() {
    let all = [
        Dhcpv6Ignored::NotDhcp,
        Dhcpv6Ignored::BadSource,
        Dhcpv6Ignored::Malformed(Dhcpv6Error::NotUdp),
        Dhcpv6Ignored::ServerMessage(MessageType::Advertise),
        Dhcpv6Ignored::Relayed,
        Dhcpv6Ignored::UnknownType(0xfe),
        Dhcpv6Ignored::MissingClientId,
        Dhcpv6Ignored::UnexpectedServerId,
        Dhcpv6Ignored::MissingServerId,
        Dhcpv6Ignored::WrongServerId,
        Dhcpv6Ignored::IaInInformationRequest,
        Dhcpv6Ignored::NothingToConfirm,
        Dhcpv6Ignored::ReplyTooLarge(Dhcpv6Error::BadUdpLength),
    ];
    for e in &all {
        assert!(IGNORED_REASONS.contains(&dhcp_reason(e)), "{e:?}");
    }
    let mut sorted = IGNORED_REASONS.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), IGNORED_REASONS.len(), "no duplicate reason");
}

#[test]
fn ipv6_packets_leave_as_uncompressed_ppp_frames() {
    // RFC 1661 §6.5/§6.6: address/control ff 03 and the 2-octet protocol
    // 0x0057 (RFC 5072 §2) are always acceptable to the receiver.
    assert_eq!(
        ppp_ipv6_frame(&[0x60, 0x00]),
        vec![0xff, 0x03, 0x00, 0x57, 0x60, 0x00]
    );
}
