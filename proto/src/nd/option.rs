//! Neighbor Discovery options (RFC 4861 §4.6, RFC 8106 §5): the options a
//! Router Solicitation or Advertisement carries, owned, with parse and emit.
//!
//! Contract: [`NdOption::parse_all`] reads a whole option area and fails on
//! any option of length zero or running past the end (RFC 4861 §6.1: such a
//! message is silently discarded). Unknown option types are kept raw so they
//! survive a round trip. Emitted options are padded to 8-octet units.

use core::net::Ipv6Addr;

use super::NdError;

/// ND option type numbers (IANA "IPv6 Neighbor Discovery Option Formats").
pub mod kind {
    /// Source Link-Layer Address (RFC 4861 §4.6.1).
    pub const SOURCE_LINK_LAYER_ADDRESS: u8 = 0x01;
    /// Target Link-Layer Address (RFC 4861 §4.6.1).
    pub const TARGET_LINK_LAYER_ADDRESS: u8 = 0x02;
    /// Prefix Information (RFC 4861 §4.6.2).
    pub const PREFIX_INFORMATION: u8 = 0x03;
    /// MTU (RFC 4861 §4.6.4).
    pub const MTU: u8 = 0x05;
    /// Recursive DNS Server (RFC 8106 §5.1).
    pub const RDNSS: u8 = 0x19;
    /// DNS Search List (RFC 8106 §5.2).
    pub const DNSSL: u8 = 0x1f;
}

/// One ND option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdOption {
    /// The sender's link-layer address (absent on PPP, parsed anyway). The
    /// bytes after type and length, padding included.
    SourceLinkLayerAddress(Vec<u8>),
    /// A prefix for on-link determination and SLAAC.
    PrefixInformation(PrefixInformation),
    /// The link MTU.
    Mtu(u32),
    /// Recursive DNS servers and how long they may be used (seconds).
    Rdnss {
        /// Lifetime in seconds (0xffffffff: infinity, 0: stop using).
        lifetime: u32,
        /// Server addresses (at least one).
        servers: Vec<Ipv6Addr>,
    },
    /// DNS search list and how long it may be used (seconds).
    Dnssl {
        /// Lifetime in seconds.
        lifetime: u32,
        /// Domain names, dotted, without the trailing dot.
        domains: Vec<String>,
    },
    /// Any other option, kept as its bytes after type and length.
    Unknown {
        /// Option type.
        kind: u8,
        /// Bytes after the type and length octets.
        data: Vec<u8>,
    },
}

/// The Prefix Information option (RFC 4861 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixInformation {
    /// The prefix (bits past `prefix_len` are sent as they are).
    pub prefix: Ipv6Addr,
    /// Prefix length in bits.
    pub prefix_len: u8,
    /// The flags octet: [`PrefixInformation::ON_LINK`] (L),
    /// [`PrefixInformation::AUTONOMOUS`] (A), other bits kept as received.
    pub flags: u8,
    /// Valid lifetime in seconds.
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
}

impl PrefixInformation {
    /// The L flag: the prefix is on-link.
    pub const ON_LINK: u8 = 0x80;
    /// The A flag: hosts may form addresses by SLAAC (RFC 4862).
    pub const AUTONOMOUS: u8 = 0x40;

    /// True when L is set.
    pub fn on_link(&self) -> bool {
        self.flags & Self::ON_LINK != 0
    }
    /// True when A is set.
    pub fn autonomous(&self) -> bool {
        self.flags & Self::AUTONOMOUS != 0
    }
}

/// A zero-copy walk over an ND option area: yields each option's type and
/// the bytes after its type and length octets, or an error (and then stops)
/// at an option of length zero or one running past the end (RFC 4861 §4.6).
#[derive(Clone, Debug)]
pub struct NdOptionsView<'a> {
    area: &'a [u8],
}

impl<'a> NdOptionsView<'a> {
    /// Walks `area` (the bytes after the fixed part of an ND message).
    pub fn new(area: &'a [u8]) -> Self {
        NdOptionsView { area }
    }
}

impl<'a> Iterator for NdOptionsView<'a> {
    type Item = Result<(u8, &'a [u8]), NdError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, rest) = self.area.split_first()?;
        let len = rest.first().map_or(0, |units| usize::from(*units) * 8);
        // RFC 4861 §4.6: length 0 is invalid; the option must fit.
        if len == 0 || len > self.area.len() {
            self.area = &[];
            return Some(Err(NdError::BadOptionLength(kind)));
        }
        let data = &self.area[2..len];
        self.area = &self.area[len..];
        Some(Ok((kind, data)))
    }
}

impl NdOption {
    /// Parses every option of an option area.
    pub fn parse_all(area: &[u8]) -> Result<Vec<NdOption>, NdError> {
        NdOptionsView::new(area)
            .map(|raw| raw.and_then(|(kind, data)| Self::parse_one(kind, data)))
            .collect()
    }

    /// Appends the option, padded to a multiple of 8 octets.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), NdError> {
        let start = out.len();
        out.extend_from_slice(&[self.kind(), 0]);
        match self {
            NdOption::SourceLinkLayerAddress(data) | NdOption::Unknown { data, .. } => {
                out.extend_from_slice(data)
            }
            NdOption::PrefixInformation(pi) => {
                out.extend_from_slice(&[pi.prefix_len, pi.flags]);
                out.extend_from_slice(&pi.valid_lifetime.to_be_bytes());
                out.extend_from_slice(&pi.preferred_lifetime.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&pi.prefix.octets());
            }
            NdOption::Mtu(mtu) => {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&mtu.to_be_bytes());
            }
            NdOption::Rdnss { lifetime, servers } => {
                if servers.is_empty() {
                    return Err(NdError::BadOptionLength(kind::RDNSS));
                }
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&lifetime.to_be_bytes());
                for s in servers {
                    out.extend_from_slice(&s.octets());
                }
            }
            NdOption::Dnssl { lifetime, domains } => {
                if domains.is_empty() {
                    return Err(NdError::BadOptionLength(kind::DNSSL));
                }
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&lifetime.to_be_bytes());
                for d in domains {
                    encode_domain(d, out)?;
                }
            }
        }
        // RFC 8106 §5.2: pad with zero octets to an 8-octet boundary.
        while (out.len() - start) % 8 != 0 {
            out.push(0);
        }
        let units = (out.len() - start) / 8;
        out[start + 1] = u8::try_from(units).map_err(|_| NdError::BadOptionLength(self.kind()))?;
        Ok(())
    }

    /// The option type number.
    pub fn kind(&self) -> u8 {
        match self {
            NdOption::SourceLinkLayerAddress(_) => kind::SOURCE_LINK_LAYER_ADDRESS,
            NdOption::PrefixInformation(_) => kind::PREFIX_INFORMATION,
            NdOption::Mtu(_) => kind::MTU,
            NdOption::Rdnss { .. } => kind::RDNSS,
            NdOption::Dnssl { .. } => kind::DNSSL,
            NdOption::Unknown { kind, .. } => *kind,
        }
    }

    fn parse_one(kind: u8, data: &[u8]) -> Result<NdOption, NdError> {
        let bad = || NdError::BadOptionLength(kind);
        Ok(match kind {
            kind::SOURCE_LINK_LAYER_ADDRESS => NdOption::SourceLinkLayerAddress(data.to_vec()),
            kind::PREFIX_INFORMATION => {
                // RFC 4861 §4.6.2: length 4 (32 octets).
                if data.len() != 30 {
                    return Err(bad());
                }
                NdOption::PrefixInformation(PrefixInformation {
                    prefix_len: data[0],
                    flags: data[1],
                    valid_lifetime: be32(&data[2..6]),
                    preferred_lifetime: be32(&data[6..10]),
                    prefix: addr(&data[14..30]),
                })
            }
            kind::MTU => {
                // RFC 4861 §4.6.4: length 1.
                if data.len() != 6 {
                    return Err(bad());
                }
                NdOption::Mtu(be32(&data[2..6]))
            }
            kind::RDNSS => {
                // RFC 8106 §5.1: length 3 + 2 per extra address (odd, >= 3).
                if data.len() < 22 || (data.len() - 6) % 16 != 0 {
                    return Err(bad());
                }
                NdOption::Rdnss {
                    lifetime: be32(&data[2..6]),
                    servers: data[6..].chunks_exact(16).map(addr).collect(),
                }
            }
            kind::DNSSL => {
                // RFC 8106 §5.2: length >= 2.
                if data.len() < 14 {
                    return Err(bad());
                }
                NdOption::Dnssl {
                    lifetime: be32(&data[2..6]),
                    domains: decode_domains(&data[6..])?,
                }
            }
            kind => NdOption::Unknown {
                kind,
                data: data.to_vec(),
            },
        })
    }
}

/// Encodes a dotted name as DNS labels ending in the root label (RFC 1035
/// §3.1, no compression as RFC 8106 §5.2 requires).
pub(crate) fn encode_domain(name: &str, out: &mut Vec<u8>) -> Result<(), NdError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    for label in name.split('.') {
        let len = u8::try_from(label.len()).map_err(|_| NdError::BadDomainName)?;
        if len == 0 || len > 63 || !label.bytes().all(is_label_byte) {
            return Err(NdError::BadDomainName);
        }
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - start > 255 {
        return Err(NdError::BadDomainName);
    }
    Ok(())
}

/// Decodes uncompressed DNS names until the data or the zero padding ends.
pub(crate) fn decode_domains(mut data: &[u8]) -> Result<Vec<String>, NdError> {
    let mut names = Vec::new();
    while let Some(&first) = data.first() {
        if first == 0 {
            // Padding: the rest must be zero (RFC 8106 §5.2).
            if data.iter().any(|b| *b != 0) {
                return Err(NdError::BadDomainName);
            }
            break;
        }
        let mut name = String::new();
        loop {
            let (&len, rest) = data.split_first().ok_or(NdError::BadDomainName)?;
            data = rest;
            if len == 0 {
                break;
            }
            let len = usize::from(len);
            if len > 63 || len > data.len() {
                return Err(NdError::BadDomainName);
            }
            let label = &data[..len];
            if !label.iter().copied().all(is_label_byte) {
                return Err(NdError::BadDomainName);
            }
            if !name.is_empty() {
                name.push('.');
            }
            name.extend(label.iter().map(|b| char::from(*b)));
            if name.len() > 253 {
                return Err(NdError::BadDomainName);
            }
            data = &data[len..];
        }
        names.push(name);
    }
    Ok(names)
}

/// Printable ASCII other than the dot and space: what a dotted string can
/// carry without ambiguity.
fn is_label_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'.'
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_information_layout() {
        // RFC 4861 §4.6.2: type 3, length 4, prefix length, L|A, valid,
        // preferred, reserved, prefix.
        let pi = NdOption::PrefixInformation(PrefixInformation {
            prefix: "2001:db8:1:2::".parse().expect("literal"),
            prefix_len: 64,
            flags: PrefixInformation::ON_LINK | PrefixInformation::AUTONOMOUS,
            valid_lifetime: 2_592_000,
            preferred_lifetime: 604_800,
        });
        let mut out = Vec::new();
        pi.emit(&mut out).expect("valid");
        assert_eq!(
            out,
            [
                0x03, 0x04, 0x40, 0xc0, 0x00, 0x27, 0x8d, 0x00, 0x00, 0x09, 0x3a, 0x80, 0, 0, 0, 0,
                0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(NdOption::parse_all(&out), Ok(vec![pi]));
    }

    #[test]
    fn rdnss_and_dnssl_lengths_and_padding() {
        // RFC 8106 §5.1: one address gives length 3.
        let rdnss = NdOption::Rdnss {
            lifetime: 1800,
            servers: vec!["2001:db8::53".parse().expect("literal")],
        };
        let mut out = Vec::new();
        rdnss.emit(&mut out).expect("valid");
        assert_eq!(&out[..8], &[0x19, 0x03, 0, 0, 0x00, 0x00, 0x07, 0x08]);
        assert_eq!(out.len(), 24);
        // RFC 8106 §5.2: "example.org" = 7 example 3 org 0 (13 octets) after
        // 8 octets of header = 21, padded to 24 (length 3).
        let dnssl = NdOption::Dnssl {
            lifetime: 1800,
            domains: vec!["example.org".into()],
        };
        let mut out2 = Vec::new();
        dnssl.emit(&mut out2).expect("valid");
        assert_eq!(out2.len(), 24);
        assert_eq!(out2[1], 3);
        assert_eq!(&out2[8..21], b"\x07example\x03org\x00");
        assert_eq!(&out2[21..], &[0, 0, 0]);
        out.extend_from_slice(&out2);
        assert_eq!(NdOption::parse_all(&out), Ok(vec![rdnss, dnssl]));
    }

    #[test]
    fn view_walks_options_without_copying() {
        let area = [
            0x05, 0x01, 0, 0, 0x00, 0x00, 0x05, 0xd4, 0x63, 0x01, 1, 2, 3, 4, 5, 6,
        ];
        let mut v = NdOptionsView::new(&area);
        assert_eq!(v.next(), Some(Ok((0x05, &area[2..8]))));
        assert_eq!(v.next(), Some(Ok((0x63, &area[10..16]))));
        assert_eq!(v.next(), None);
        let mut bad = NdOptionsView::new(&[0x03, 0x00, 0, 0]);
        assert_eq!(bad.next(), Some(Err(NdError::BadOptionLength(3))));
        assert_eq!(bad.next(), None);
    }

    #[test]
    fn zero_length_and_overlong_options_are_rejected() {
        // RFC 4861 §6.1.2: options with length 0 invalidate the message.
        assert_eq!(
            NdOption::parse_all(&[0x01, 0x00, 0, 0, 0, 0, 0, 0]),
            Err(NdError::BadOptionLength(1))
        );
        assert_eq!(
            NdOption::parse_all(&[0x05, 0x02, 0, 0, 0, 0, 0, 0]),
            Err(NdError::BadOptionLength(5))
        );
        assert_eq!(
            NdOption::parse_all(&[0x05]),
            Err(NdError::BadOptionLength(5))
        );
    }

    #[test]
    fn unknown_and_slla_options_are_kept() {
        let area = [
            0x01, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x63, 0x01, 1, 2, 3, 4, 5, 6,
        ];
        let opts = NdOption::parse_all(&area).expect("valid");
        assert_eq!(
            opts[0],
            NdOption::SourceLinkLayerAddress(vec![0x02, 0x00, 0x5e, 0x00, 0x53, 0x01])
        );
        assert_eq!(
            opts[1],
            NdOption::Unknown {
                kind: 0x63,
                data: vec![1, 2, 3, 4, 5, 6]
            }
        );
        let mut out = Vec::new();
        for o in &opts {
            o.emit(&mut out).expect("valid");
        }
        assert_eq!(out, area);
    }

    #[test]
    fn bad_domain_names_are_refused() {
        let mut out = Vec::new();
        assert_eq!(encode_domain("a..b", &mut out), Err(NdError::BadDomainName));
        assert_eq!(
            encode_domain(&"x".repeat(64), &mut out),
            Err(NdError::BadDomainName)
        );
        assert_eq!(decode_domains(b"\x05ab"), Err(NdError::BadDomainName));
        assert_eq!(
            decode_domains(b"\x01a\x00\x00\x07"),
            Err(NdError::BadDomainName)
        );
    }
}
