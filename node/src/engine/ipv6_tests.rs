//! IPv6 engine tests (see `tests/ipv6.rs` for the virtual-time exchanges).

use super::*;

#[test]
fn ipv6_packets_leave_as_uncompressed_ppp_frames() {
    // RFC 1661 §6.5/§6.6: address/control ff 03 and the 2-octet protocol
    // 0x0057 (RFC 5072 §2) are always acceptable to the receiver.
    assert_eq!(
        ppp_ipv6_frame(&[0x60, 0x00]),
        vec![0xff, 0x03, 0x00, 0x57, 0x60, 0x00]
    );
}
