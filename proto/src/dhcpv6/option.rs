//! DHCPv6 options (RFC 8415 §21, RFC 3646 §3-4) as owned values.
//!
//! Contract: [`Dhcpv6Option::parse_all`] reads an option area and checks
//! every option's length against its format; unknown codes are kept raw.
//! Options that encapsulate options (IA_NA, IA_PD, IAADDR, IAPREFIX) are
//! parsed to a bounded depth ([`MAX_NESTING`]), so hostile nesting cannot
//! exhaust the stack. `parse_all(emit(x)) == x` for every value whose
//! fields fit their wire sizes.

use core::net::Ipv6Addr;

use super::duid::Duid;
use super::Dhcpv6Error;
use crate::nd::option::{decode_domains, encode_domain};

/// Option codes (IANA "DHCPv6 Option Codes").
pub mod code {
    /// Client Identifier (RFC 8415 §21.2).
    pub const CLIENTID: u16 = 1;
    /// Server Identifier (§21.3).
    pub const SERVERID: u16 = 2;
    /// IA_NA (§21.4).
    pub const IA_NA: u16 = 3;
    /// IA Address (§21.6).
    pub const IAADDR: u16 = 5;
    /// Option Request (§21.7).
    pub const ORO: u16 = 6;
    /// Preference (§21.8).
    pub const PREFERENCE: u16 = 7;
    /// Elapsed Time (§21.9).
    pub const ELAPSED_TIME: u16 = 8;
    /// Relay Message (§21.10).
    pub const RELAY_MSG: u16 = 9;
    /// Status Code (§21.13).
    pub const STATUS_CODE: u16 = 13;
    /// Rapid Commit (§21.14).
    pub const RAPID_COMMIT: u16 = 14;
    /// Interface-Id (§21.18).
    pub const INTERFACE_ID: u16 = 18;
    /// DNS Recursive Name Server (RFC 3646 §3).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain Search List (RFC 3646 §4).
    pub const DOMAIN_LIST: u16 = 24;
    /// IA_PD (§21.21).
    pub const IA_PD: u16 = 25;
    /// IA Prefix (§21.22).
    pub const IAPREFIX: u16 = 26;
    /// Information Refresh Time (§21.23).
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    /// SOL_MAX_RT (§21.24).
    pub const SOL_MAX_RT: u16 = 82;
}

/// How deep encapsulated options are parsed (IA -> IAADDR -> Status Code).
pub const MAX_NESTING: usize = 3;

/// Status codes (RFC 8415 §21.13), open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusCode {
    /// 0.
    Success,
    /// 1.
    UnspecFail,
    /// 2.
    NoAddrsAvail,
    /// 3.
    NoBinding,
    /// 4.
    NotOnLink,
    /// 5.
    UseMulticast,
    /// 6.
    NoPrefixAvail,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for StatusCode {
    fn from(v: u16) -> Self {
        match v {
            0 => StatusCode::Success,
            1 => StatusCode::UnspecFail,
            2 => StatusCode::NoAddrsAvail,
            3 => StatusCode::NoBinding,
            4 => StatusCode::NotOnLink,
            5 => StatusCode::UseMulticast,
            6 => StatusCode::NoPrefixAvail,
            n => StatusCode::Unknown(n),
        }
    }
}

impl From<StatusCode> for u16 {
    fn from(s: StatusCode) -> u16 {
        match s {
            StatusCode::Success => 0,
            StatusCode::UnspecFail => 1,
            StatusCode::NoAddrsAvail => 2,
            StatusCode::NoBinding => 3,
            StatusCode::NotOnLink => 4,
            StatusCode::UseMulticast => 5,
            StatusCode::NoPrefixAvail => 6,
            StatusCode::Unknown(n) => n,
        }
    }
}

/// The common part of IA_NA and IA_PD (RFC 8415 §21.4, §21.21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ia {
    /// Identity Association identifier, chosen by the client.
    pub iaid: u32,
    /// T1 in seconds.
    pub t1: u32,
    /// T2 in seconds.
    pub t2: u32,
    /// Encapsulated options (IAADDR / IAPREFIX, Status Code).
    pub options: Vec<Dhcpv6Option>,
}

/// One DHCPv6 option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dhcpv6Option {
    /// Client Identifier.
    ClientId(Duid),
    /// Server Identifier.
    ServerId(Duid),
    /// Identity Association for Non-temporary Addresses.
    IaNa(Ia),
    /// Identity Association for Prefix Delegation.
    IaPd(Ia),
    /// An address inside an IA_NA (RFC 8415 §21.6).
    IaAddr {
        /// The address.
        address: Ipv6Addr,
        /// Preferred lifetime in seconds.
        preferred_lifetime: u32,
        /// Valid lifetime in seconds.
        valid_lifetime: u32,
        /// Encapsulated options (Status Code).
        options: Vec<Dhcpv6Option>,
    },
    /// A prefix inside an IA_PD (RFC 8415 §21.22).
    IaPrefix {
        /// Preferred lifetime in seconds.
        preferred_lifetime: u32,
        /// Valid lifetime in seconds.
        valid_lifetime: u32,
        /// Prefix length in bits.
        prefix_len: u8,
        /// The prefix.
        prefix: Ipv6Addr,
        /// Encapsulated options (Status Code).
        options: Vec<Dhcpv6Option>,
    },
    /// Option codes the client wants.
    Oro(Vec<u16>),
    /// Server preference (0-255).
    Preference(u8),
    /// Time since the client began the exchange, in 1/100 s.
    ElapsedTime(u16),
    /// Status Code with its UTF-8 message.
    StatusCode {
        /// The code.
        status: StatusCode,
        /// Human-readable message.
        message: String,
    },
    /// Rapid Commit (empty).
    RapidCommit,
    /// DNS recursive name servers (RFC 3646 §3).
    DnsServers(Vec<Ipv6Addr>),
    /// Domain search list (RFC 3646 §4).
    DomainList(Vec<String>),
    /// Information Refresh Time in seconds.
    InformationRefreshTime(u32),
    /// SOL_MAX_RT in seconds.
    SolMaxRt(u32),
    /// A relayed message (Relay-Forw / Relay-Repl), kept as bytes.
    RelayMessage(Vec<u8>),
    /// Interface-Id of a relay, kept as bytes.
    InterfaceId(Vec<u8>),
    /// Any other option, kept raw.
    Unknown {
        /// Option code.
        code: u16,
        /// Option data.
        data: Vec<u8>,
    },
}

/// A zero-copy walk over a DHCPv6 option area: yields each option's code
/// and data, or an error (and then stops) at a truncated header or an option
/// running past the end (RFC 8415 §21.1).
#[derive(Clone, Debug)]
pub struct Dhcpv6OptionsView<'a> {
    area: &'a [u8],
}

impl<'a> Dhcpv6OptionsView<'a> {
    /// Walks `area` (a message's or an encapsulating option's options).
    pub fn new(area: &'a [u8]) -> Self {
        Dhcpv6OptionsView { area }
    }
}

impl<'a> Iterator for Dhcpv6OptionsView<'a> {
    type Item = Result<(u16, &'a [u8]), Dhcpv6Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.area.is_empty() {
            return None;
        }
        let (code, len) = match self.area {
            [a, b, c, d, ..] => (
                u16::from_be_bytes([*a, *b]),
                usize::from(u16::from_be_bytes([*c, *d])),
            ),
            _ => {
                self.area = &[];
                return Some(Err(Dhcpv6Error::Truncated));
            }
        };
        // RFC 8415 §21.1: option-len counts the data only; it must fit.
        let Some(data) = self.area.get(4..4 + len) else {
            self.area = &[];
            return Some(Err(Dhcpv6Error::BadOptionLength(code)));
        };
        self.area = &self.area[4 + len..];
        Some(Ok((code, data)))
    }
}

impl Dhcpv6Option {
    /// Parses a whole option area at nesting level 0.
    pub fn parse_all(area: &[u8]) -> Result<Vec<Dhcpv6Option>, Dhcpv6Error> {
        parse_area(area, 0)
    }

    /// The option code.
    pub fn code(&self) -> u16 {
        match self {
            Dhcpv6Option::ClientId(_) => code::CLIENTID,
            Dhcpv6Option::ServerId(_) => code::SERVERID,
            Dhcpv6Option::IaNa(_) => code::IA_NA,
            Dhcpv6Option::IaPd(_) => code::IA_PD,
            Dhcpv6Option::IaAddr { .. } => code::IAADDR,
            Dhcpv6Option::IaPrefix { .. } => code::IAPREFIX,
            Dhcpv6Option::Oro(_) => code::ORO,
            Dhcpv6Option::Preference(_) => code::PREFERENCE,
            Dhcpv6Option::ElapsedTime(_) => code::ELAPSED_TIME,
            Dhcpv6Option::StatusCode { .. } => code::STATUS_CODE,
            Dhcpv6Option::RapidCommit => code::RAPID_COMMIT,
            Dhcpv6Option::DnsServers(_) => code::DNS_SERVERS,
            Dhcpv6Option::DomainList(_) => code::DOMAIN_LIST,
            Dhcpv6Option::InformationRefreshTime(_) => code::INFORMATION_REFRESH_TIME,
            Dhcpv6Option::SolMaxRt(_) => code::SOL_MAX_RT,
            Dhcpv6Option::RelayMessage(_) => code::RELAY_MSG,
            Dhcpv6Option::InterfaceId(_) => code::INTERFACE_ID,
            Dhcpv6Option::Unknown { code, .. } => *code,
        }
    }

    /// Appends the option (code, length, data).
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Dhcpv6Error> {
        let start = out.len();
        out.extend_from_slice(&self.code().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        match self {
            Dhcpv6Option::ClientId(d) | Dhcpv6Option::ServerId(d) => d.emit(out),
            Dhcpv6Option::IaNa(ia) | Dhcpv6Option::IaPd(ia) => {
                out.extend_from_slice(&ia.iaid.to_be_bytes());
                out.extend_from_slice(&ia.t1.to_be_bytes());
                out.extend_from_slice(&ia.t2.to_be_bytes());
                emit_all(&ia.options, out)?;
            }
            Dhcpv6Option::IaAddr {
                address,
                preferred_lifetime,
                valid_lifetime,
                options,
            } => {
                out.extend_from_slice(&address.octets());
                out.extend_from_slice(&preferred_lifetime.to_be_bytes());
                out.extend_from_slice(&valid_lifetime.to_be_bytes());
                emit_all(options, out)?;
            }
            Dhcpv6Option::IaPrefix {
                preferred_lifetime,
                valid_lifetime,
                prefix_len,
                prefix,
                options,
            } => {
                out.extend_from_slice(&preferred_lifetime.to_be_bytes());
                out.extend_from_slice(&valid_lifetime.to_be_bytes());
                out.push(*prefix_len);
                out.extend_from_slice(&prefix.octets());
                emit_all(options, out)?;
            }
            Dhcpv6Option::Oro(codes) => {
                for c in codes {
                    out.extend_from_slice(&c.to_be_bytes());
                }
            }
            Dhcpv6Option::Preference(p) => out.push(*p),
            Dhcpv6Option::ElapsedTime(t) => out.extend_from_slice(&t.to_be_bytes()),
            Dhcpv6Option::StatusCode { status, message } => {
                out.extend_from_slice(&u16::from(*status).to_be_bytes());
                out.extend_from_slice(message.as_bytes());
            }
            Dhcpv6Option::RapidCommit => {}
            Dhcpv6Option::DnsServers(servers) => {
                for s in servers {
                    out.extend_from_slice(&s.octets());
                }
            }
            Dhcpv6Option::DomainList(domains) => {
                for d in domains {
                    encode_domain(d, out).map_err(|_| Dhcpv6Error::BadDomainName)?;
                }
            }
            Dhcpv6Option::InformationRefreshTime(t) | Dhcpv6Option::SolMaxRt(t) => {
                out.extend_from_slice(&t.to_be_bytes())
            }
            Dhcpv6Option::RelayMessage(data)
            | Dhcpv6Option::InterfaceId(data)
            | Dhcpv6Option::Unknown { data, .. } => out.extend_from_slice(data),
        }
        let len = u16::try_from(out.len() - start - 4)
            .map_err(|_| Dhcpv6Error::BadOptionLength(self.code()))?;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// Appends every option of `options`.
pub(crate) fn emit_all(options: &[Dhcpv6Option], out: &mut Vec<u8>) -> Result<(), Dhcpv6Error> {
    options.iter().try_for_each(|o| o.emit(out))
}

fn parse_area(area: &[u8], depth: usize) -> Result<Vec<Dhcpv6Option>, Dhcpv6Error> {
    if depth > MAX_NESTING {
        return Err(Dhcpv6Error::TooDeep);
    }
    Dhcpv6OptionsView::new(area)
        .map(|raw| raw.and_then(|(code, data)| parse_one(code, data, depth)))
        .collect()
}

fn parse_one(code: u16, data: &[u8], depth: usize) -> Result<Dhcpv6Option, Dhcpv6Error> {
    let bad = || Dhcpv6Error::BadOptionLength(code);
    let exact = |n: usize| if data.len() == n { Ok(()) } else { Err(bad()) };
    Ok(match code {
        code::CLIENTID => Dhcpv6Option::ClientId(Duid::parse(data)?),
        code::SERVERID => Dhcpv6Option::ServerId(Duid::parse(data)?),
        code::IA_NA | code::IA_PD => {
            // RFC 8415 §21.4 / §21.21: IAID, T1, T2, then options.
            if data.len() < 12 {
                return Err(bad());
            }
            let ia = Ia {
                iaid: be32(&data[0..4]),
                t1: be32(&data[4..8]),
                t2: be32(&data[8..12]),
                options: parse_area(&data[12..], depth + 1)?,
            };
            if code == code::IA_NA {
                Dhcpv6Option::IaNa(ia)
            } else {
                Dhcpv6Option::IaPd(ia)
            }
        }
        code::IAADDR => {
            // RFC 8415 §21.6: address, preferred, valid, options.
            if data.len() < 24 {
                return Err(bad());
            }
            Dhcpv6Option::IaAddr {
                address: addr(&data[0..16]),
                preferred_lifetime: be32(&data[16..20]),
                valid_lifetime: be32(&data[20..24]),
                options: parse_area(&data[24..], depth + 1)?,
            }
        }
        code::IAPREFIX => {
            // RFC 8415 §21.22: preferred, valid, prefix-length, prefix, options.
            if data.len() < 25 {
                return Err(bad());
            }
            Dhcpv6Option::IaPrefix {
                preferred_lifetime: be32(&data[0..4]),
                valid_lifetime: be32(&data[4..8]),
                prefix_len: data[8],
                prefix: addr(&data[9..25]),
                options: parse_area(&data[25..], depth + 1)?,
            }
        }
        code::ORO => {
            if data.len() % 2 != 0 {
                return Err(bad());
            }
            Dhcpv6Option::Oro(
                data.chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect(),
            )
        }
        code::PREFERENCE => {
            exact(1)?;
            Dhcpv6Option::Preference(data[0])
        }
        code::ELAPSED_TIME => {
            exact(2)?;
            Dhcpv6Option::ElapsedTime(u16::from_be_bytes([data[0], data[1]]))
        }
        code::STATUS_CODE => {
            if data.len() < 2 {
                return Err(bad());
            }
            Dhcpv6Option::StatusCode {
                status: StatusCode::from(u16::from_be_bytes([data[0], data[1]])),
                message: String::from_utf8(data[2..].to_vec())
                    .map_err(|_| Dhcpv6Error::BadStatusMessage)?,
            }
        }
        code::RAPID_COMMIT => {
            exact(0)?;
            Dhcpv6Option::RapidCommit
        }
        code::DNS_SERVERS => {
            if data.len() % 16 != 0 {
                return Err(bad());
            }
            Dhcpv6Option::DnsServers(data.chunks_exact(16).map(addr).collect())
        }
        code::DOMAIN_LIST => {
            Dhcpv6Option::DomainList(decode_domains(data).map_err(|_| Dhcpv6Error::BadDomainName)?)
        }
        code::INFORMATION_REFRESH_TIME => {
            exact(4)?;
            Dhcpv6Option::InformationRefreshTime(be32(data))
        }
        code::SOL_MAX_RT => {
            exact(4)?;
            Dhcpv6Option::SolMaxRt(be32(data))
        }
        code::RELAY_MSG => Dhcpv6Option::RelayMessage(data.to_vec()),
        code::INTERFACE_ID => Dhcpv6Option::InterfaceId(data.to_vec()),
        code => Dhcpv6Option::Unknown {
            code,
            data: data.to_vec(),
        },
    })
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
    fn ia_na_with_iaaddr_byte_vector() {
        // RFC 8415 §21.4 + §21.6: IA_NA(iaid 1, T1 3600, T2 5760) holding
        // IAADDR(2001:db8::5, 7200, 14400).
        let wire = [
            0x00, 0x03, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00,
            0x16, 0x80, 0x00, 0x05, 0x00, 0x18, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0x05, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x38, 0x40,
        ];
        let opts = Dhcpv6Option::parse_all(&wire).expect("valid");
        let expected = Dhcpv6Option::IaNa(Ia {
            iaid: 1,
            t1: 3600,
            t2: 5760,
            options: vec![Dhcpv6Option::IaAddr {
                address: "2001:db8::5".parse().expect("literal"),
                preferred_lifetime: 7200,
                valid_lifetime: 14400,
                options: vec![],
            }],
        });
        assert_eq!(opts, vec![expected.clone()]);
        let mut out = Vec::new();
        expected.emit(&mut out).expect("valid");
        assert_eq!(out, wire);
    }

    #[test]
    fn status_oro_dns_domains_round_trip() {
        let opts = vec![
            Dhcpv6Option::StatusCode {
                status: StatusCode::NoBinding,
                message: "no binding".into(),
            },
            Dhcpv6Option::Oro(vec![code::DNS_SERVERS, code::DOMAIN_LIST]),
            Dhcpv6Option::DnsServers(vec!["2001:db8::53".parse().expect("literal")]),
            Dhcpv6Option::DomainList(vec!["ffdn.org".into(), "example.net".into()]),
            Dhcpv6Option::RapidCommit,
            Dhcpv6Option::ElapsedTime(0),
            Dhcpv6Option::Unknown {
                code: 0x1234,
                data: vec![1, 2],
            },
        ];
        let mut out = Vec::new();
        emit_all(&opts, &mut out).expect("valid");
        assert_eq!(&out[..6], &[0x00, 0x0d, 0x00, 0x0c, 0x00, 0x03]);
        assert_eq!(Dhcpv6Option::parse_all(&out), Ok(opts));
    }

    #[test]
    fn view_walks_options_without_copying() {
        let area = [0x00, 0x0e, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 0x01, 0x02];
        let mut v = Dhcpv6OptionsView::new(&area);
        assert_eq!(v.next(), Some(Ok((14, &area[4..4]))));
        assert_eq!(v.next(), Some(Ok((8, &area[8..10]))));
        assert_eq!(v.next(), None);
        let mut bad = Dhcpv6OptionsView::new(&[0x00, 0x08, 0x00, 0x09, 0x00]);
        assert_eq!(bad.next(), Some(Err(Dhcpv6Error::BadOptionLength(8))));
        assert_eq!(bad.next(), None);
    }

    #[test]
    fn length_checks() {
        // RFC 8415 §21.14: Rapid Commit has length 0.
        assert_eq!(
            Dhcpv6Option::parse_all(&[0x00, 0x0e, 0x00, 0x01, 0x00]),
            Err(Dhcpv6Error::BadOptionLength(14))
        );
        // An option longer than the area.
        assert_eq!(
            Dhcpv6Option::parse_all(&[0x00, 0x08, 0x00, 0x04, 0x00]),
            Err(Dhcpv6Error::BadOptionLength(8))
        );
        assert_eq!(
            Dhcpv6Option::parse_all(&[0x00, 0x08, 0x00]),
            Err(Dhcpv6Error::Truncated)
        );
        // IA_NA shorter than its 12 fixed octets.
        assert_eq!(
            Dhcpv6Option::parse_all(&[0x00, 0x03, 0x00, 0x04, 0, 0, 0, 1]),
            Err(Dhcpv6Error::BadOptionLength(3))
        );
    }

    #[test]
    fn nesting_is_bounded() {
        // IA_NA in IA_NA in IA_NA ... deeper than MAX_NESTING.
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..6 {
            let mut o = vec![0x00, 0x03];
            o.extend_from_slice(&((12 + inner.len()) as u16).to_be_bytes());
            o.extend_from_slice(&[0; 12]);
            o.extend_from_slice(&inner);
            inner = o;
        }
        assert_eq!(Dhcpv6Option::parse_all(&inner), Err(Dhcpv6Error::TooDeep));
    }
}
