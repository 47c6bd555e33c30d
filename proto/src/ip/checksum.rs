//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Contract: pure arithmetic on byte slices, no allocation. [`Accumulator`]
//! sums 16-bit big-endian words with end-around carry; an odd trailing byte
//! is padded with zero (RFC 1071 §4.1). A checksum field is *valid* when the
//! sum over the covered bytes (checksum field included) folds to `0xffff`.

use core::net::{Ipv4Addr, Ipv6Addr};

/// A running ones'-complement sum. Add the pseudo-header and every covered
/// span, then [`Accumulator::checksum`] gives the value for the field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accumulator(u64);

impl Accumulator {
    /// An empty sum.
    pub const fn new() -> Self {
        Accumulator(0)
    }

    /// Adds `data` as big-endian 16-bit words. Only the last span added may
    /// have an odd length (its final byte is padded with zero).
    pub fn add_bytes(&mut self, data: &[u8]) -> &mut Self {
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            self.0 += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            self.0 += u64::from(u16::from_be_bytes([*last, 0]));
        }
        self
    }

    /// Adds one 16-bit word.
    pub fn add_u16(&mut self, word: u16) -> &mut Self {
        self.0 += u64::from(word);
        self
    }

    /// Adds a 32-bit value as two words.
    pub fn add_u32(&mut self, value: u32) -> &mut Self {
        self.0 += u64::from(value >> 16) + u64::from(value & 0xffff);
        self
    }

    /// Adds the IPv4 pseudo-header (RFC 793 §3.1, RFC 768).
    pub fn add_ipv4_pseudo_header(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        upper_len: u16,
    ) -> &mut Self {
        self.add_bytes(&src.octets())
            .add_bytes(&dst.octets())
            .add_u16(u16::from(protocol))
            .add_u16(upper_len)
    }

    /// Adds the IPv6 pseudo-header (RFC 8200 §8.1).
    pub fn add_ipv6_pseudo_header(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: u8,
        upper_len: u32,
    ) -> &mut Self {
        self.add_bytes(&src.octets())
            .add_bytes(&dst.octets())
            .add_u32(upper_len)
            .add_u16(u16::from(next_header))
    }

    /// The folded 16-bit ones'-complement sum (not complemented).
    pub fn folded(&self) -> u16 {
        let mut acc = self.0;
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        // The loop leaves at most 0xffff.
        acc as u16
    }

    /// The value to store in a checksum field (the complement of the sum).
    pub fn checksum(&self) -> u16 {
        !self.folded()
    }

    /// True when the covered bytes, checksum field included, verify.
    pub fn verifies(&self) -> bool {
        self.folded() == 0xffff
    }
}

/// The Internet checksum of `data` alone (IPv4 header, ICMPv4 message).
pub fn internet_checksum(data: &[u8]) -> u16 {
    Accumulator::new().add_bytes(data).checksum()
}

/// RFC 1624 §3 eqn. 3: the new checksum `HC' = ~(~HC + ~m + m')` after the
/// 16-bit word `old_word` covered by `old_checksum` became `new_word`.
pub fn update_checksum(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    Accumulator::new()
        .add_u16(!old_checksum)
        .add_u16(!old_word)
        .add_u16(new_word)
        .checksum()
}

/// UDP over IPv6 must not carry a zero checksum (RFC 8200 §8.1): a computed
/// zero is sent as `0xffff`. Same rule for UDP over IPv4 (RFC 768).
pub fn udp_checksum_field(computed: u16) -> u16 {
    match computed {
        0 => 0xffff,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Accumulator::new().add_bytes(&data).folded(), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn ipv4_header_checksum_known_vector() {
        // A classic IPv4 header (checksum 0xb861) from the Wikipedia example.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&hdr), 0xb861);
        hdr[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert!(Accumulator::new().add_bytes(&hdr).verifies());
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            Accumulator::new().add_bytes(&[0x12, 0x34, 0x56]).folded(),
            0x1234 + 0x5600
        );
    }

    #[test]
    fn incremental_update_matches_recomputation() {
        // RFC 1624 §4: eqn. 3 gives the same result as a full recomputation.
        let mut data = [0x45u8, 0x00, 0x12, 0x34, 0xde, 0xad, 0x05, 0xb4, 0x00, 0x00];
        let before = internet_checksum(&data);
        data[6..8].copy_from_slice(&0x0550u16.to_be_bytes());
        assert_eq!(
            update_checksum(before, 0x05b4, 0x0550),
            internet_checksum(&data)
        );
    }
}
