//! pcap writer for captured L2TP datagrams.
//!
//! Contract: produces the classic libpcap format (microsecond timestamps,
//! LINKTYPE_RAW = 101), wrapping each L2TP payload in an IPv4 or IPv6 + UDP
//! header built from the real outer addresses, so that tshark and Wireshark
//! decode it as L2TP on port 1701. Pure: timestamps are passed in.

use std::net::{IpAddr, SocketAddr};

use lns_proto::time::Timestamp;

/// Link type of raw IPv4/IPv6 packets (tcpdump.org link-layer header types).
pub const LINKTYPE_RAW: u32 = 101;
/// Largest UDP payload that fits an IPv4 packet's 16-bit total length.
pub const MAX_PAYLOAD: usize = 0xffff - 20 - 8;
const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const SNAPLEN: u32 = 0xffff;
const IP_PROTO_UDP: u8 = 0x11;

/// The 24-octet pcap global header.
pub fn global_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&PCAP_MAGIC_MICROS.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_RAW.to_le_bytes());
    h
}

/// Appends one pcap record holding `payload` as a UDP datagram from `src` to
/// `dst`. Payloads longer than [`MAX_PAYLOAD`] are truncated (the record says
/// so through its original length). Mixed families (one IPv4, one IPv6) are
/// written as IPv6 with the IPv4 address mapped.
pub fn append_record(
    out: &mut Vec<u8>,
    at: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) {
    let kept = &payload[..payload.len().min(MAX_PAYLOAD)];
    let mut packet = Vec::with_capacity(48 + kept.len());
    let udp_len = 8 + kept.len();
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            // RFC 791 §3.1 header, no options.
            let total = u16::try_from(20 + udp_len).unwrap_or(u16::MAX);
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = IP_PROTO_UDP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let sum = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            packet.extend_from_slice(&ip);
            // RFC 768: a zero UDP checksum over IPv4 means "not computed".
            push_udp(&mut packet, src.port(), dst.port(), kept, 0);
        }
        (s, d) => {
            let s = to_v6(s).octets();
            let d = to_v6(d).octets();
            let len = u16::try_from(udp_len).unwrap_or(u16::MAX);
            // RFC 8200 §3 fixed header.
            packet.extend_from_slice(&[0x60, 0, 0, 0]);
            packet.extend_from_slice(&len.to_be_bytes());
            packet.extend_from_slice(&[IP_PROTO_UDP, 64]);
            packet.extend_from_slice(&s);
            packet.extend_from_slice(&d);
            // RFC 8200 §8.1: the UDP checksum is mandatory over IPv6.
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s);
            pseudo.extend_from_slice(&d);
            pseudo.extend_from_slice(&u32::from(len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, IP_PROTO_UDP]);
            let mut udp_head = [0u8; 8];
            udp_head[0..2].copy_from_slice(&src.port().to_be_bytes());
            udp_head[2..4].copy_from_slice(&dst.port().to_be_bytes());
            udp_head[4..6].copy_from_slice(&len.to_be_bytes());
            let sum = match checksum(&[&pseudo, &udp_head, kept]) {
                0 => 0xffff,
                s => s,
            };
            push_udp(&mut packet, src.port(), dst.port(), kept, sum);
        }
    }
    let original = packet.len() + (payload.len() - kept.len());
    let micros = at.unix_micros();
    let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
    let usecs = u32::try_from(micros % 1_000_000).unwrap_or(0);
    out.extend_from_slice(&secs.to_le_bytes());
    out.extend_from_slice(&usecs.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(packet.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&u32::try_from(original).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&packet);
}

fn to_v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn push_udp(packet: &mut Vec<u8>, src: u16, dst: u16, payload: &[u8], sum: u16) {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    packet.extend_from_slice(&src.to_be_bytes());
    packet.extend_from_slice(&dst.to_be_bytes());
    packet.extend_from_slice(&len.to_be_bytes());
    packet.extend_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(payload);
}

/// RFC 1071 Internet checksum over the concatenation of `parts`.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        match odd.take() {
            None => odd = Some(*byte),
            Some(hi) => sum += u32::from(u16::from_be_bytes([hi, *byte])),
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(0xffff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_is_libpcap_raw() {
        let h = global_header();
        assert_eq!(&h[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&h[20..24], &[101, 0, 0, 0]);
    }

    #[test]
    fn ipv4_record_has_valid_header_checksum_and_lengths() {
        let mut out = Vec::new();
        let at = Timestamp::from_unix_micros(1_700_000_000_123_456);
        let src: SocketAddr = "192.0.2.1:1701".parse().expect("literal");
        let dst: SocketAddr = "198.51.100.2:1701".parse().expect("literal");
        append_record(&mut out, at, src, dst, &[0xc8, 0x02]);
        assert_eq!(&out[0..4], &1_700_000_000u32.to_le_bytes());
        assert_eq!(&out[4..8], &123_456u32.to_le_bytes());
        assert_eq!(&out[8..12], &30u32.to_le_bytes());
        let ip = &out[16..36];
        // RFC 1071: a header with its checksum in place sums to zero.
        assert_eq!(checksum(&[ip]), 0);
        assert_eq!(&ip[2..4], &[0, 30]);
        assert_eq!(&out[36..44], &[0x06, 0xa5, 0x06, 0xa5, 0, 10, 0, 0]);
    }

    #[test]
    fn ipv6_record_has_valid_udp_checksum() {
        let mut out = Vec::new();
        let src: SocketAddr = "[2001:db8::1]:1701".parse().expect("literal");
        let dst: SocketAddr = "[2001:db8::2]:1701".parse().expect("literal");
        append_record(&mut out, Timestamp::EPOCH, src, dst, &[0xc8, 0x02, 0x00]);
        let packet = &out[16..];
        assert_eq!(packet[0] >> 4, 6);
        let udp = &packet[40..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&packet[8..40]);
        pseudo.extend_from_slice(&11u32.to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 0x11]);
        assert_eq!(checksum(&[&pseudo, udp]), 0);
    }

    #[test]
    fn oversize_payload_is_truncated_with_original_length_kept() {
        let mut out = Vec::new();
        let src: SocketAddr = "192.0.2.1:1701".parse().expect("literal");
        let payload = vec![0u8; MAX_PAYLOAD + 5];
        append_record(&mut out, Timestamp::EPOCH, src, src, &payload);
        let incl = u32::from_le_bytes([out[8], out[9], out[10], out[11]]);
        let orig = u32::from_le_bytes([out[12], out[13], out[14], out[15]]);
        assert_eq!(incl, 0xffff);
        assert_eq!(orig, 0xffff + 5);
    }
}
