//! The probe datagrams lac-sim sends through each session: an IPv4/UDP
//! packet from the subscriber's address to the reflector, whose payload
//! names the session and a sequence number, so that the echoed reply can
//! be matched and counted.
//!
//! Contract: [`build`] writes a complete IPv4 packet (RFC 791 header with
//! its checksum, RFC 768 UDP with its checksum) of exactly the requested
//! size; [`parse_reply`] accepts only a well-formed IPv4/UDP packet to the
//! given address carrying our magic, and returns what it names.

use std::net::{Ipv4Addr, SocketAddrV4};

use lns_proto::ip::checksum::{internet_checksum, udp_checksum_field, Accumulator};

/// Marks a probe payload ("LACS").
pub const MAGIC: [u8; 4] = [0x4c, 0x41, 0x43, 0x53];
/// UDP source port of every probe (replies come back to it).
pub const PROBE_PORT: u16 = 0x9c40;
/// IPv4 (20) + UDP (8) + magic (4) + session (4) + sequence (8).
pub const MIN_PACKET: usize = 44;

/// What a probe names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeId {
    /// Global session index (0-based over all tunnels).
    pub session: u32,
    /// Per-session sequence number.
    pub seq: u64,
}

/// Appends a probe of `size` bytes (at least [`MIN_PACKET`]) from `src` to
/// `dst` to `out`.
pub fn build(src: Ipv4Addr, dst: SocketAddrV4, id: ProbeId, size: usize, out: &mut Vec<u8>) {
    let size = size.clamp(MIN_PACKET, 0xffff);
    let start = out.len();
    let udp_len = size - 20;
    // RFC 791 §3.1: version 4, IHL 5, no options, DF, TTL 64, protocol 17.
    out.extend_from_slice(&[0x45, 0x00]);
    out.extend_from_slice(&(size as u16).to_be_bytes());
    out.extend_from_slice(&(id.seq as u16).to_be_bytes());
    out.extend_from_slice(&[0x40, 0x00, 0x40, 0x11, 0x00, 0x00]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.ip().octets());
    let hsum = internet_checksum(&out[start..start + 20]);
    out[start + 10..start + 12].copy_from_slice(&hsum.to_be_bytes());
    // RFC 768: UDP header, checksum over the pseudo-header filled in below.
    let u = out.len();
    out.extend_from_slice(&PROBE_PORT.to_be_bytes());
    out.extend_from_slice(&dst.port().to_be_bytes());
    out.extend_from_slice(&(udp_len as u16).to_be_bytes());
    out.extend_from_slice(&[0x00, 0x00]);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&id.session.to_be_bytes());
    out.extend_from_slice(&id.seq.to_be_bytes());
    out.resize(start + size, 0x00);
    let mut sum = Accumulator::new();
    sum.add_ipv4_pseudo_header(src, *dst.ip(), 0x11, udp_len as u16)
        .add_bytes(&out[u..]);
    let field = udp_checksum_field(sum.checksum());
    out[u + 6..u + 8].copy_from_slice(&field.to_be_bytes());
}

/// The probe id in an IPv4/UDP reply addressed to `to`, if it is one of ours.
pub fn parse_reply(packet: &[u8], to: Ipv4Addr) -> Option<ProbeId> {
    let version_ihl = *packet.first()?;
    if version_ihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if ihl < 20 || packet.len() < ihl + 8 || packet.get(9) != Some(&0x11) {
        return None;
    }
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    if dst != to {
        return None;
    }
    let udp = &packet[ihl..];
    if u16::from_be_bytes([udp[2], udp[3]]) != PROBE_PORT {
        return None;
    }
    let body = udp.get(8..24)?;
    if body[..4] != MAGIC {
        return None;
    }
    let session = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&body[8..16]);
    Some(ProbeId {
        session,
        seq: u64::from_be_bytes(seq),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reflect(packet: &[u8]) -> Vec<u8> {
        // What the reflector's kernel sends back: addresses and ports swapped.
        let mut r = packet.to_vec();
        r[12..16].copy_from_slice(&packet[16..20]);
        r[16..20].copy_from_slice(&packet[12..16]);
        r[20..22].copy_from_slice(&packet[22..24]);
        r[22..24].copy_from_slice(&packet[20..22]);
        r
    }

    #[test]
    fn probe_is_valid_ipv4_udp_and_round_trips() {
        let src = Ipv4Addr::new(198, 19, 0, 7);
        let dst = SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 2), 7);
        let id = ProbeId {
            session: 42,
            seq: 0x0102_0304_0506,
        };
        let mut p = Vec::new();
        build(src, dst, id, 100, &mut p);
        assert_eq!(p.len(), 100);
        // RFC 791: the header checksum verifies to zero.
        assert_eq!(internet_checksum(&p[..20]), 0);
        // RFC 768: the checksum over pseudo-header + datagram verifies.
        let mut sum = Accumulator::new();
        sum.add_ipv4_pseudo_header(src, *dst.ip(), 0x11, 80)
            .add_bytes(&p[20..]);
        assert!(sum.verifies());
        assert_eq!(parse_reply(&reflect(&p), src), Some(id));
        // Not addressed to us, or not a probe: ignored.
        assert_eq!(
            parse_reply(&reflect(&p), Ipv4Addr::new(198, 19, 0, 8)),
            None
        );
        assert_eq!(parse_reply(&p[..30], src), None);
    }

    #[test]
    fn small_sizes_are_raised_to_the_minimum() {
        let mut p = Vec::new();
        let dst = SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 2), 7);
        build(
            Ipv4Addr::new(198, 19, 0, 1),
            dst,
            ProbeId { session: 1, seq: 2 },
            10,
            &mut p,
        );
        assert_eq!(p.len(), MIN_PACKET);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]) as usize, MIN_PACKET);
    }
}
