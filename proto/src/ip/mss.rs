//! TCP MSS clamping on SYN segments (RFC 879, RFC 9293 §3.7.1) for IPv4
//! and IPv6, in place, with an incremental checksum fix (RFC 1624).
//!
//! Contract: [`clamp_tcp_mss`] touches nothing but the MSS option value and
//! the TCP checksum, and only on a segment with SYN set whose MSS is above
//! the limit; it works in both directions (SYN and SYN-ACK). A packet whose
//! checksum verified before still verifies after. Cost is bounded: the IPv6
//! extension-header walk is capped and TCP options are at most 40 bytes.
//! A non-TCP packet, a non-SYN segment and a later fragment are left alone.

use super::checksum::update_checksum;
use super::{IpError, IpProtocol, Ipv4Packet, Ipv6Packet, UpperLayer};

/// The largest MSS to let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MssLimit {
    /// Derived from the link MTU: MTU − 40 for IPv4 and MTU − 60 for IPv6
    /// (fixed IP header + 20-byte TCP header).
    FromLinkMtu(u16),
    /// The same fixed MSS for both versions.
    Fixed(u16),
}

/// What [`clamp_tcp_mss`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MssClamp {
    /// Nothing changed: not a TCP SYN, no MSS option, or MSS within the limit.
    Untouched,
    /// The MSS option was lowered from `from` to `to`.
    Rewritten {
        /// The MSS the sender advertised.
        from: u16,
        /// The MSS now in the packet.
        to: u16,
    },
}

/// Lowers the MSS option of a TCP SYN in `packet` (IPv4 or IPv6) to `limit`.
pub fn clamp_tcp_mss(packet: &mut [u8], limit: MssLimit) -> Result<MssClamp, IpError> {
    let (start, end, max) = match packet.first().map(|b| b >> 4) {
        Some(4) => {
            let ip = Ipv4Packet::new_checked(&*packet)?;
            if ip.protocol() != IpProtocol::Tcp || ip.fragment_offset() != 0 {
                return Ok(MssClamp::Untouched);
            }
            let max = match limit {
                MssLimit::FromLinkMtu(mtu) => mtu.saturating_sub(40),
                MssLimit::Fixed(mss) => mss,
            };
            (ip.header_len(), ip.total_len(), max)
        }
        Some(6) => {
            let ip = Ipv6Packet::new_checked(&*packet)?;
            let offset = match ip.upper_layer()? {
                UpperLayer::At {
                    protocol: IpProtocol::Tcp,
                    offset,
                } => offset,
                _ => return Ok(MssClamp::Untouched),
            };
            let max = match limit {
                MssLimit::FromLinkMtu(mtu) => mtu.saturating_sub(60),
                MssLimit::Fixed(mss) => mss,
            };
            (offset, ip.total_len(), max)
        }
        Some(v) => return Err(IpError::UnknownVersion(v)),
        None => return Err(IpError::Truncated),
    };
    // Both bounds were checked against the buffer by the views above.
    clamp_segment(&mut packet[start..end], max)
}

const TCP_HEADER_LEN: usize = 20;
const TCP_FLAG_SYN: u8 = 0x02;
const TCP_CHECKSUM_AT: usize = 16;
const OPTION_EOL: u8 = 0x00;
const OPTION_NOP: u8 = 0x01;
const OPTION_MSS: u8 = 0x02;

/// Clamps every MSS option of the TCP segment `seg` (header first).
fn clamp_segment(seg: &mut [u8], max: u16) -> Result<MssClamp, IpError> {
    if seg.len() < TCP_HEADER_LEN {
        return Err(IpError::BadTransportHeader);
    }
    if seg[13] & TCP_FLAG_SYN == 0 {
        return Ok(MssClamp::Untouched);
    }
    let header_len = usize::from(seg[12] >> 4) * 4;
    if header_len < TCP_HEADER_LEN || header_len > seg.len() {
        return Err(IpError::BadTransportHeader);
    }
    let mut outcome = MssClamp::Untouched;
    let mut at = TCP_HEADER_LEN;
    // RFC 9293 §3.2: kind 0 ends the list, kind 1 is one byte, every other
    // kind has a length byte counting kind and length.
    while at < header_len {
        match seg[at] {
            OPTION_EOL => break,
            OPTION_NOP => at += 1,
            kind => {
                let len = match seg.get(at + 1) {
                    Some(&l) if l >= 2 && at + usize::from(l) <= header_len => usize::from(l),
                    _ => return Err(IpError::BadTransportHeader),
                };
                if kind == OPTION_MSS && len == 4 {
                    let from = u16::from_be_bytes([seg[at + 2], seg[at + 3]]);
                    if from > max {
                        rewrite_be16(seg, at + 2, max);
                        outcome = MssClamp::Rewritten { from, to: max };
                    }
                }
                at += len;
            }
        }
    }
    Ok(outcome)
}

/// Writes `value` at `at` (any alignment) and updates the checksum for each
/// 16-bit word, aligned on the segment start, that the write touched.
fn rewrite_be16(seg: &mut [u8], at: usize, value: u16) {
    let first_word = at & !1;
    let words = if at % 2 == 0 { 1 } else { 2 };
    let word = |seg: &[u8], i: usize| {
        let w = first_word + 2 * i;
        u16::from_be_bytes([seg[w], seg[w + 1]])
    };
    let old = [word(seg, 0), if words == 2 { word(seg, 1) } else { 0 }];
    seg[at..at + 2].copy_from_slice(&value.to_be_bytes());
    let mut sum = u16::from_be_bytes([seg[TCP_CHECKSUM_AT], seg[TCP_CHECKSUM_AT + 1]]);
    for (i, old_word) in old.iter().enumerate().take(words) {
        sum = update_checksum(sum, *old_word, word(seg, i));
    }
    seg[TCP_CHECKSUM_AT..TCP_CHECKSUM_AT + 2].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::checksum::Accumulator;

    /// An IPv4 SYN 192.0.2.1:40000 -> 198.51.100.2:80 with options
    /// `options`, checksums computed from scratch.
    fn syn_v4(options: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + options.len();
        let mut p = vec![0u8; 20 + tcp_len];
        p[..20].copy_from_slice(&[
            0x45, 0x00, 0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc0, 0x00,
            0x02, 0x01, 0xc6, 0x33, 0x64, 0x02,
        ]);
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        let tcp = &mut p[20..];
        tcp[0..4].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50]);
        tcp[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
        tcp[12] = ((tcp_len / 4) as u8) << 4;
        tcp[13] = TCP_FLAG_SYN;
        tcp[14..16].copy_from_slice(&0xfaf0u16.to_be_bytes());
        tcp[20..].copy_from_slice(options);
        let sum = tcp_checksum_v4(&p);
        p[36..38].copy_from_slice(&sum.to_be_bytes());
        p
    }

    fn tcp_checksum_v4(p: &[u8]) -> u16 {
        let mut seg = p[20..].to_vec();
        seg[16..18].fill(0);
        Accumulator::new()
            .add_ipv4_pseudo_header(
                [192, 0, 2, 1].into(),
                [198, 51, 100, 2].into(),
                6,
                seg.len() as u16,
            )
            .add_bytes(&seg)
            .checksum()
    }

    /// A Linux-style SYN (MSS 1460, SACK permitted, timestamps, NOP,
    /// window scale 7), 192.0.2.1:40000 -> 198.51.100.2:80, and the same SYN
    /// with MSS 1452. Both checksums (TCP 0xc040 and 0xc048) were computed
    /// independently of this crate, from the RFC 793 pseudo-header rule.
    const SYN_1460: [u8; 60] = [
        0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x4e, 0x84, 0xc0, 0x00, 0x02,
        0x01, 0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
        0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xc0, 0x40, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
        0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];
    const SYN_1452: [u8; 60] = [
        0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x4e, 0x84, 0xc0, 0x00, 0x02,
        0x01, 0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
        0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xc0, 0x48, 0x00, 0x00, 0x02, 0x04, 0x05, 0xac, 0x04,
        0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    #[test]
    fn linux_style_syn_known_checksums() {
        assert_eq!(tcp_checksum_v4(&SYN_1460), 0xc040);
        let mut p = SYN_1460;
        let r = clamp_tcp_mss(&mut p, MssLimit::FromLinkMtu(1492));
        assert_eq!(
            r,
            Ok(MssClamp::Rewritten {
                from: 1460,
                to: 1452
            })
        );
        assert_eq!(p, SYN_1452);
        assert_eq!(tcp_checksum_v4(&p), 0xc048);
    }

    #[test]
    fn clamps_aligned_mss_and_fixes_checksum() {
        // MSS 1460, SACK permitted, NOP, NOP.
        let mut p = syn_v4(&[0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x01]);
        let r = clamp_tcp_mss(&mut p, MssLimit::FromLinkMtu(1492));
        assert_eq!(
            r,
            Ok(MssClamp::Rewritten {
                from: 1460,
                to: 1452
            })
        );
        assert_eq!(&p[42..44], &1452u16.to_be_bytes());
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), tcp_checksum_v4(&p));
    }

    #[test]
    fn clamps_unaligned_mss_and_fixes_checksum() {
        // A NOP first puts the MSS value at an odd offset in the segment.
        let mut p = syn_v4(&[0x01, 0x02, 0x04, 0x23, 0x28, 0x01, 0x01, 0x00]);
        let r = clamp_tcp_mss(&mut p, MssLimit::Fixed(1400));
        assert_eq!(
            r,
            Ok(MssClamp::Rewritten {
                from: 9000,
                to: 1400
            })
        );
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), tcp_checksum_v4(&p));
    }

    #[test]
    fn clamps_syn_ack_too() {
        // Both directions: the server's SYN-ACK carries its MSS as well.
        let mut p = syn_v4(&[0x02, 0x04, 0x05, 0xb4]);
        p[33] = TCP_FLAG_SYN | 0x10;
        let sum = tcp_checksum_v4(&p);
        p[36..38].copy_from_slice(&sum.to_be_bytes());
        let r = clamp_tcp_mss(&mut p, MssLimit::FromLinkMtu(1280));
        assert_eq!(
            r,
            Ok(MssClamp::Rewritten {
                from: 1460,
                to: 1240
            })
        );
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), tcp_checksum_v4(&p));
    }

    #[test]
    fn leaves_small_mss_and_non_syn_alone() {
        let mut p = syn_v4(&[0x02, 0x04, 0x05, 0x00]);
        let before = p.clone();
        assert_eq!(
            clamp_tcp_mss(&mut p, MssLimit::Fixed(1400)),
            Ok(MssClamp::Untouched)
        );
        let mut ack = syn_v4(&[0x02, 0x04, 0x05, 0xb4]);
        ack[33] = 0x10;
        assert_eq!(
            clamp_tcp_mss(&mut ack, MssLimit::Fixed(536)),
            Ok(MssClamp::Untouched)
        );
        assert_eq!(p, before);
    }

    #[test]
    fn bad_option_length_is_an_error() {
        // RFC 9293 §3.2: an option length below 2 is malformed.
        let mut p = syn_v4(&[0x03, 0x01, 0x00, 0x00]);
        assert_eq!(
            clamp_tcp_mss(&mut p, MssLimit::Fixed(536)),
            Err(IpError::BadTransportHeader)
        );
    }
}
