//! Reading an Access-Accept into what the LNS must apply to the session
//! (RFC 2865 §5, RFC 2869 §5.16, RFC 3162, RFC 4818, RFC 6911, RFC 2548).
//!
//! Contract: [`Authorization::from_accept`] takes an authenticated reply
//! ([`Authorization::from_attributes`] the attributes of a verified
//! CoA-Request).
//! A reply that asks for a service we cannot give (Service-Type other
//! than Framed, Framed-Protocol other than PPP) is refused with an
//! [`AuthorizationError`]; RFC 2865 §5.6 says to treat it as Access-Reject.
//! Attributes an LNS does not use are ignored.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use thiserror::Error;

use super::attribute::{Attribute, Ipv6Prefix, Vsa};
use super::code::Code;
use super::packet::Packet;
use super::values::{FramedProtocol, ServiceType};

/// What an Access-Accept grants a PPP session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorization {
    /// Framed-IP-Address (255.255.255.254 = pick from a pool, RFC 2865 §5.8).
    pub framed_ip: Option<Ipv4Addr>,
    /// Framed-IP-Netmask.
    pub framed_netmask: Option<Ipv4Addr>,
    /// Framed-Pool.
    pub framed_pool: Option<String>,
    /// Framed-MTU.
    pub framed_mtu: Option<u32>,
    /// Framed-Route values.
    pub framed_routes: Vec<String>,
    /// Session-Timeout.
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout.
    pub idle_timeout: Option<Duration>,
    /// Class values, to echo in accounting (RFC 2865 §5.25).
    pub class: Vec<Vec<u8>>,
    /// MS-Primary-DNS-Server (RFC 2548).
    pub primary_dns: Option<Ipv4Addr>,
    /// MS-Secondary-DNS-Server (RFC 2548).
    pub secondary_dns: Option<Ipv4Addr>,
    /// DNS-Server-IPv6-Address values (RFC 6911 §3.2), in order.
    pub ipv6_dns: Vec<Ipv6Addr>,
    /// Framed-IPv6-Prefix values (RFC 3162 §2.3).
    pub framed_ipv6_prefixes: Vec<Ipv6Prefix>,
    /// Framed-IPv6-Address values (RFC 6911 §3.1).
    pub framed_ipv6_addresses: Vec<Ipv6Addr>,
    /// Framed-IPv6-Route values (RFC 3162 §2.5).
    pub framed_ipv6_routes: Vec<String>,
    /// Framed-IPv6-Pool (RFC 3162 §2.6).
    pub framed_ipv6_pool: Option<String>,
    /// Delegated-IPv6-Prefix (RFC 4818).
    pub delegated_ipv6_prefix: Option<Ipv6Prefix>,
    /// Framed-Interface-Id (RFC 3162 §2.2).
    pub framed_interface_id: Option<[u8; 8]>,
    /// Acct-Interim-Interval (RFC 2869 §5.16).
    pub acct_interim_interval: Option<Duration>,
    /// Filter-Id values.
    pub filter_ids: Vec<String>,
    /// Reply-Message values, in order.
    pub reply_messages: Vec<String>,
}

/// Why an Access-Accept cannot be honoured. The server is at fault (or
/// misconfigured); the session is refused as if Access-Reject came
/// (RFC 2865 §5.6), and PPP sends its failure message.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum AuthorizationError {
    /// The packet is not an Access-Accept.
    #[error("server sent {0:?}, not Access-Accept")]
    NotAccept(Code),
    /// Service-Type is not Framed.
    #[error("server granted Service-Type {0:?}; an LNS only gives Framed")]
    UnsupportedService(ServiceType),
    /// Framed-Protocol is not PPP.
    #[error("server granted Framed-Protocol {0:?}; an LNS only gives PPP")]
    UnsupportedProtocol(FramedProtocol),
}

/// How the subscriber's IPv4 address is chosen (RFC 2865 §5.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressAssignment {
    /// No Framed-IP-Address: the LNS's policy decides (usually its pool).
    Unspecified,
    /// 255.255.255.254: the NAS picks one (from Framed-Pool if given).
    NasChooses,
    /// 255.255.255.255: the user may ask for one (IPCP request honoured).
    UserChooses,
    /// This very address.
    Fixed(Ipv4Addr),
}

impl Authorization {
    /// Reads an authenticated Access-Accept.
    pub fn from_accept(packet: &Packet) -> Result<Authorization, AuthorizationError> {
        if packet.code != Code::AccessAccept {
            return Err(AuthorizationError::NotAccept(packet.code));
        }
        Authorization::from_attributes(&packet.attributes)
    }

    /// Reads authorization attributes from any packet that carries them,
    /// such as a CoA-Request (RFC 5176 §2.2) changing a live session.
    pub fn from_attributes(attributes: &[Attribute]) -> Result<Authorization, AuthorizationError> {
        let secs = |s: &u32| Duration::from_secs(u64::from(*s));
        let mut z = Authorization::default();
        for a in attributes {
            match a {
                // RFC 2865 §5.6: a service the NAS cannot provide.
                Attribute::ServiceType(s) if *s != ServiceType::Framed => {
                    return Err(AuthorizationError::UnsupportedService(*s));
                }
                // RFC 2865 §5.7.
                Attribute::FramedProtocol(p) if *p != FramedProtocol::Ppp => {
                    return Err(AuthorizationError::UnsupportedProtocol(*p));
                }
                Attribute::FramedIpAddress(ip) => z.framed_ip = Some(*ip),
                Attribute::FramedIpNetmask(ip) => z.framed_netmask = Some(*ip),
                Attribute::FramedPool(p) => z.framed_pool = Some(p.clone()),
                Attribute::FramedMtu(m) => z.framed_mtu = Some(*m),
                Attribute::FramedRoute(r) => z.framed_routes.push(r.clone()),
                Attribute::SessionTimeout(s) => z.session_timeout = Some(secs(s)),
                Attribute::IdleTimeout(s) => z.idle_timeout = Some(secs(s)),
                Attribute::Class(c) => z.class.push(c.clone()),
                Attribute::VendorSpecific(Vsa::MsPrimaryDnsServer(ip)) => {
                    z.primary_dns = Some(*ip);
                }
                Attribute::VendorSpecific(Vsa::MsSecondaryDnsServer(ip)) => {
                    z.secondary_dns = Some(*ip);
                }
                Attribute::DnsServerIpv6Address(ip) => z.ipv6_dns.push(*ip),
                Attribute::FramedIpv6Prefix(p) => z.framed_ipv6_prefixes.push(*p),
                Attribute::FramedIpv6Address(ip) => z.framed_ipv6_addresses.push(*ip),
                Attribute::FramedIpv6Route(r) => z.framed_ipv6_routes.push(r.clone()),
                Attribute::FramedIpv6Pool(p) => z.framed_ipv6_pool = Some(p.clone()),
                Attribute::DelegatedIpv6Prefix(p) => z.delegated_ipv6_prefix = Some(*p),
                Attribute::FramedInterfaceId(id) => z.framed_interface_id = Some(*id),
                Attribute::AcctInterimInterval(s) => z.acct_interim_interval = Some(secs(s)),
                Attribute::FilterId(f) => z.filter_ids.push(f.clone()),
                Attribute::ReplyMessage(m) => z.reply_messages.push(m.clone()),
                _ => {}
            }
        }
        Ok(z)
    }

    /// The IPv4 address policy Framed-IP-Address asks for (RFC 2865 §5.8).
    pub fn address_assignment(&self) -> AddressAssignment {
        match self.framed_ip {
            None => AddressAssignment::Unspecified,
            Some(ip) if ip == Ipv4Addr::new(0xff, 0xff, 0xff, 0xfe) => {
                AddressAssignment::NasChooses
            }
            Some(ip) if ip == Ipv4Addr::BROADCAST => AddressAssignment::UserChooses,
            Some(ip) => AddressAssignment::Fixed(ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2865 §7.2: the Access-Accept for "flopsy" (Service-Type
    /// Framed, Framed-Protocol PPP, Framed-IP-Address 255.255.255.254,
    /// Framed-Routing, Framed-Compression, Framed-MTU 1500).
    const ACCEPT_7_2: [u8; 56] = [
        0x02, 0x01, 0x00, 0x38, 0x15, 0xef, 0xbc, 0x7d, 0xab, 0x26, 0xcf, 0xa3, 0xdc, 0x34, 0xd9,
        0xc0, 0x3c, 0x86, 0x01, 0xa4, 0x06, 0x06, 0x00, 0x00, 0x00, 0x02, 0x07, 0x06, 0x00, 0x00,
        0x00, 0x01, 0x08, 0x06, 0xff, 0xff, 0xff, 0xfe, 0x0a, 0x06, 0x00, 0x00, 0x00, 0x02, 0x0d,
        0x06, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x06, 0x00, 0x00, 0x05, 0xdc,
    ];

    #[test]
    fn rfc2865_7_2_accept_reads() {
        let p = Packet::parse(&ACCEPT_7_2).expect("RFC example");
        let z = Authorization::from_accept(&p).expect("framed PPP");
        assert_eq!(z.framed_ip, Some(Ipv4Addr::new(255, 255, 255, 254)));
        assert_eq!(z.framed_mtu, Some(1500));
        // RFC 2865 §5.8: 0xFFFFFFFE means the NAS picks the address.
        assert_eq!(z.address_assignment(), AddressAssignment::NasChooses);
        let fixed = Authorization {
            framed_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..Authorization::default()
        };
        assert_eq!(
            fixed.address_assignment(),
            AddressAssignment::Fixed(Ipv4Addr::new(10, 0, 0, 1))
        );
        let free = Authorization {
            framed_ip: Some(Ipv4Addr::BROADCAST),
            ..Authorization::default()
        };
        assert_eq!(free.address_assignment(), AddressAssignment::UserChooses);
        assert_eq!(
            Authorization::default().address_assignment(),
            AddressAssignment::Unspecified
        );
    }

    #[test]
    fn coa_attributes_read_without_an_accept() {
        let z = Authorization::from_attributes(&[Attribute::SessionTimeout(60)]);
        assert_eq!(
            z.map(|z| z.session_timeout),
            Ok(Some(Duration::from_secs(60)))
        );
    }

    #[test]
    fn login_service_is_refused() {
        // RFC 2865 §7.1's Accept grants Login (Telnet): not for an LNS.
        let mut p = Packet::parse(&ACCEPT_7_2).expect("RFC example");
        p.attributes[0] = Attribute::ServiceType(ServiceType::Login);
        assert_eq!(
            Authorization::from_accept(&p),
            Err(AuthorizationError::UnsupportedService(ServiceType::Login))
        );
        p.code = Code::AccessReject;
        assert_eq!(
            Authorization::from_accept(&p),
            Err(AuthorizationError::NotAccept(Code::AccessReject))
        );
    }

    #[test]
    fn every_lns_attribute_is_read() {
        let prefix = Ipv6Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 48);
        let p48 = prefix.expect("valid prefix");
        let p = Packet {
            code: Code::AccessAccept,
            identifier: 0,
            authenticator: [0; 16],
            attributes: vec![
                Attribute::FramedPool("pool4".into()),
                Attribute::SessionTimeout(3600),
                Attribute::IdleTimeout(600),
                Attribute::Class(b"a".to_vec()),
                Attribute::Class(b"b".to_vec()),
                Attribute::VendorSpecific(Vsa::MsPrimaryDnsServer(Ipv4Addr::new(9, 9, 9, 9))),
                Attribute::VendorSpecific(Vsa::MsSecondaryDnsServer(Ipv4Addr::new(1, 1, 1, 1))),
                Attribute::DnsServerIpv6Address(Ipv6Addr::LOCALHOST),
                Attribute::FramedIpv6Prefix(p48),
                Attribute::DelegatedIpv6Prefix(p48),
                Attribute::FramedInterfaceId([1, 2, 3, 4, 5, 6, 7, 8]),
                Attribute::AcctInterimInterval(300),
                Attribute::ReplyMessage("hi".into()),
                Attribute::Raw {
                    kind: 0xf1,
                    value: vec![1],
                },
            ],
        };
        let z = Authorization::from_accept(&p).expect("accept");
        assert_eq!(z.framed_pool.as_deref(), Some("pool4"));
        assert_eq!(z.session_timeout, Some(Duration::from_secs(3600)));
        assert_eq!(z.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(z.class, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(z.primary_dns, Some(Ipv4Addr::new(9, 9, 9, 9)));
        assert_eq!(z.secondary_dns, Some(Ipv4Addr::new(1, 1, 1, 1)));
        assert_eq!(z.ipv6_dns, [Ipv6Addr::LOCALHOST]);
        assert_eq!(z.framed_ipv6_prefixes, [p48]);
        assert_eq!(z.delegated_ipv6_prefix, Some(p48));
        assert_eq!(z.framed_interface_id, Some([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(z.acct_interim_interval, Some(Duration::from_secs(300)));
        assert_eq!(z.reply_messages, ["hi"]);
    }
}
