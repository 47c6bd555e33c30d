//! RADIUS attributes (RFC 2865 §5): the open [`AttributeType`] number space
//! and the typed [`Attribute`] values an LNS reads and writes.
//!
//! Contract: decoding never fails. A known type whose value has the wrong
//! shape (RFC 6929 §2.8 "invalid attribute") and every unknown type are
//! kept as [`Attribute::Raw`] with their bytes, so a packet can always be
//! parsed, inspected and re-emitted. Values are the attribute payload only
//! (after the Type and Length octets); the 253-byte limit is enforced by
//! [`crate::radius::Packet::emit`].

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::values::{
    AcctAuthentic, AcctStatusType, AcctTerminateCause, ErrorCause, FramedProtocol, NasPortType,
    ServiceType, TerminationAction, TunnelMediumType, TunnelType,
};

/// Microsoft's SMI enterprise number (RFC 2548 §2).
pub const VENDOR_MICROSOFT: u32 = 0x137;
/// MS-Primary-DNS-Server vendor type (RFC 2548: 28).
pub const MS_PRIMARY_DNS_SERVER: u8 = 0x1c;
/// MS-Secondary-DNS-Server vendor type (29).
pub const MS_SECONDARY_DNS_SERVER: u8 = 0x1d;

macro_rules! attributes {
    ( $( $(#[$m:meta])* $variant:ident = $code:expr => $ty:ty, )* ) => {
        open_enum! {
            /// The Type octet of an attribute.
            pub enum AttributeType: u8 {
                $( $(#[$m])* $variant = $code, )*
            }
        }

        /// One attribute with its typed value.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Attribute {
            $( $(#[$m])* $variant($ty), )*
            /// An unknown type, or a known type whose value did not decode:
            /// kept as received.
            Raw {
                /// The Type octet.
                kind: u8,
                /// The value octets.
                value: Vec<u8>,
            },
        }

        impl Attribute {
            /// The attribute's Type.
            pub fn kind(&self) -> AttributeType {
                match self {
                    $( Attribute::$variant(_) => AttributeType::$variant, )*
                    Attribute::Raw { kind, .. } => AttributeType::from(*kind),
                }
            }

            /// Decodes the value of an attribute of type `kind`; never fails.
            pub fn decode(kind: u8, value: &[u8]) -> Attribute {
                let typed = match AttributeType::from(kind) {
                    $( AttributeType::$variant =>
                        <$ty as AttributeValue>::decode(value).map(Attribute::$variant), )*
                    AttributeType::Unknown(_) => None,
                };
                typed.unwrap_or_else(|| Attribute::Raw { kind, value: value.to_vec() })
            }

            /// Appends the value octets (not Type or Length) to `out`.
            pub fn encode_value(&self, out: &mut Vec<u8>) {
                match self {
                    $( Attribute::$variant(v) => v.encode(out), )*
                    Attribute::Raw { value, .. } => out.extend_from_slice(value),
                }
            }
        }
    };
}

attributes! {
    /// User-Name (RFC 2865 §5.1).
    UserName = 0x01 => String,
    /// User-Password (RFC 2865 §5.2), hidden as on the wire; see
    /// [`crate::radius::crypto::unhide_password`].
    UserPassword = 0x02 => HiddenPassword,
    /// CHAP-Password (RFC 2865 §5.3).
    ChapPassword = 0x03 => ChapPassword,
    /// NAS-IP-Address (RFC 2865 §5.4).
    NasIpAddress = 0x04 => Ipv4Addr,
    /// NAS-Port (RFC 2865 §5.5).
    NasPort = 0x05 => u32,
    /// Service-Type (RFC 2865 §5.6).
    ServiceType = 0x06 => ServiceType,
    /// Framed-Protocol (RFC 2865 §5.7).
    FramedProtocol = 0x07 => FramedProtocol,
    /// Framed-IP-Address (RFC 2865 §5.8).
    FramedIpAddress = 0x08 => Ipv4Addr,
    /// Framed-IP-Netmask (RFC 2865 §5.9).
    FramedIpNetmask = 0x09 => Ipv4Addr,
    /// Filter-Id (RFC 2865 §5.11).
    FilterId = 0x0b => String,
    /// Framed-MTU (RFC 2865 §5.12).
    FramedMtu = 0x0c => u32,
    /// Reply-Message (RFC 2865 §5.18).
    ReplyMessage = 0x12 => String,
    /// Framed-Route (RFC 2865 §5.22).
    FramedRoute = 0x16 => String,
    /// State (RFC 2865 §5.24).
    State = 0x18 => Vec<u8>,
    /// Class (RFC 2865 §5.25).
    Class = 0x19 => Vec<u8>,
    /// Vendor-Specific (RFC 2865 §5.26).
    VendorSpecific = 0x1a => Vsa,
    /// Session-Timeout (RFC 2865 §5.27), seconds.
    SessionTimeout = 0x1b => u32,
    /// Idle-Timeout (RFC 2865 §5.28), seconds.
    IdleTimeout = 0x1c => u32,
    /// Termination-Action (RFC 2865 §5.29).
    TerminationAction = 0x1d => TerminationAction,
    /// Called-Station-Id (RFC 2865 §5.30).
    CalledStationId = 0x1e => String,
    /// Calling-Station-Id (RFC 2865 §5.31).
    CallingStationId = 0x1f => String,
    /// NAS-Identifier (RFC 2865 §5.32).
    NasIdentifier = 0x20 => String,
    /// Proxy-State (RFC 2865 §5.33).
    ProxyState = 0x21 => Vec<u8>,
    /// Acct-Status-Type (RFC 2866 §5.1).
    AcctStatusType = 0x28 => AcctStatusType,
    /// Acct-Delay-Time (RFC 2866 §5.2), seconds.
    AcctDelayTime = 0x29 => u32,
    /// Acct-Input-Octets (RFC 2866 §5.3).
    AcctInputOctets = 0x2a => u32,
    /// Acct-Output-Octets (RFC 2866 §5.4).
    AcctOutputOctets = 0x2b => u32,
    /// Acct-Session-Id (RFC 2866 §5.5).
    AcctSessionId = 0x2c => String,
    /// Acct-Authentic (RFC 2866 §5.6).
    AcctAuthentic = 0x2d => AcctAuthentic,
    /// Acct-Session-Time (RFC 2866 §5.7), seconds.
    AcctSessionTime = 0x2e => u32,
    /// Acct-Input-Packets (RFC 2866 §5.8).
    AcctInputPackets = 0x2f => u32,
    /// Acct-Output-Packets (RFC 2866 §5.9).
    AcctOutputPackets = 0x30 => u32,
    /// Acct-Terminate-Cause (RFC 2866 §5.10).
    AcctTerminateCause = 0x31 => AcctTerminateCause,
    /// Acct-Input-Gigawords (RFC 2869 §5.1).
    AcctInputGigawords = 0x34 => u32,
    /// Acct-Output-Gigawords (RFC 2869 §5.2).
    AcctOutputGigawords = 0x35 => u32,
    /// Event-Timestamp (RFC 2869 §5.3), seconds since the Unix epoch.
    EventTimestamp = 0x37 => u32,
    /// CHAP-Challenge (RFC 2865 §5.40).
    ChapChallenge = 0x3c => Vec<u8>,
    /// NAS-Port-Type (RFC 2865 §5.41).
    NasPortType = 0x3d => NasPortType,
    /// Tunnel-Type (RFC 2868 §3.1).
    TunnelType = 0x40 => Tagged<TunnelType>,
    /// Tunnel-Medium-Type (RFC 2868 §3.2).
    TunnelMediumType = 0x41 => Tagged<TunnelMediumType>,
    /// Tunnel-Client-Endpoint (RFC 2868 §3.3).
    TunnelClientEndpoint = 0x42 => TaggedString,
    /// Tunnel-Server-Endpoint (RFC 2868 §3.4).
    TunnelServerEndpoint = 0x43 => TaggedString,
    /// Acct-Tunnel-Connection (RFC 2867 §4.1).
    AcctTunnelConnection = 0x44 => String,
    /// Message-Authenticator (RFC 3579 §3.2).
    MessageAuthenticator = 0x50 => [u8; 16],
    /// Acct-Interim-Interval (RFC 2869 §5.16), seconds.
    AcctInterimInterval = 0x55 => u32,
    /// NAS-Port-Id (RFC 2869 §5.17).
    NasPortId = 0x57 => String,
    /// Framed-Pool (RFC 2869 §5.18).
    FramedPool = 0x58 => String,
    /// Tunnel-Client-Auth-ID (RFC 2868 §3.9).
    TunnelClientAuthId = 0x5a => TaggedString,
    /// Tunnel-Server-Auth-ID (RFC 2868 §3.10).
    TunnelServerAuthId = 0x5b => TaggedString,
    /// NAS-IPv6-Address (RFC 3162 §2.1).
    NasIpv6Address = 0x5f => Ipv6Addr,
    /// Framed-Interface-Id (RFC 3162 §2.2).
    FramedInterfaceId = 0x60 => [u8; 8],
    /// Framed-IPv6-Prefix (RFC 3162 §2.3).
    FramedIpv6Prefix = 0x61 => Ipv6Prefix,
    /// Framed-IPv6-Route (RFC 3162 §2.5).
    FramedIpv6Route = 0x63 => String,
    /// Framed-IPv6-Pool (RFC 3162 §2.6).
    FramedIpv6Pool = 0x64 => String,
    /// Error-Cause (RFC 5176 §3.5).
    ErrorCause = 0x65 => ErrorCause,
    /// Delegated-IPv6-Prefix (RFC 4818 §3).
    DelegatedIpv6Prefix = 0x7b => Ipv6Prefix,
    /// Framed-IPv6-Address (RFC 6911 §3.1).
    FramedIpv6Address = 0xa8 => Ipv6Addr,
    /// DNS-Server-IPv6-Address (RFC 6911 §3.2).
    DnsServerIpv6Address = 0xa9 => Ipv6Addr,
}

/// A User-Password value as on the wire: hidden with the secret and the
/// Request Authenticator (RFC 2865 §5.2). `Debug` shows only its length, so
/// logs give no material for an offline attack on the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct HiddenPassword(pub Vec<u8>);

/// CHAP-Password value: the CHAP Identifier and the 16-octet MD5 response
/// (RFC 2865 §5.3). `Debug` hides the response (with the challenge it
/// allows an offline dictionary attack on the user's password).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChapPassword {
    /// The CHAP Identifier of the peer's Response.
    pub ident: u8,
    /// The peer's MD5 response.
    pub response: [u8; 16],
}

/// An IPv6 prefix as carried by Framed-IPv6-Prefix (RFC 3162 §2.3) and
/// Delegated-IPv6-Prefix (RFC 4818 §3). Bits past `len` are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv6Prefix {
    /// The prefix address, zero past `len`.
    pub addr: Ipv6Addr,
    /// Prefix length, 0..=128.
    pub len: u8,
}

/// A Vendor-Specific attribute (RFC 2865 §5.26). The Microsoft DNS VSAs
/// (RFC 2548) are typed; anything else keeps its vendor data raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vsa {
    /// MS-Primary-DNS-Server (vendor 311, type 28).
    MsPrimaryDnsServer(Ipv4Addr),
    /// MS-Secondary-DNS-Server (vendor 311, type 29).
    MsSecondaryDnsServer(Ipv4Addr),
    /// Any other vendor data: the Vendor-Id and the octets after it.
    Other {
        /// SMI enterprise number (24 bits on the wire after a zero octet).
        vendor_id: u32,
        /// Vendor sub-attributes, undecoded.
        data: Vec<u8>,
    },
}

/// A tagged 24-bit integer (RFC 2868 §3.1): Tag then Value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tagged<T> {
    /// Tag grouping attributes of one tunnel (0 = none).
    pub tag: u8,
    /// The value; only its low 24 bits go on the wire.
    pub value: T,
}

/// A tagged string (RFC 2868 §3.3): an optional Tag octet (0x01..=0x1f,
/// or 0x00) then the string. A first octet above 0x1f starts the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedString {
    /// The tag octet if present.
    pub tag: Option<u8>,
    /// The string octets.
    pub value: Vec<u8>,
}

/// How a value type maps to the octets of an attribute.
pub trait AttributeValue: Sized {
    /// Reads a value, or `None` if the octets have the wrong shape.
    fn decode(value: &[u8]) -> Option<Self>;
    /// Appends the value octets.
    fn encode(&self, out: &mut Vec<u8>);
}

impl Attribute {
    /// Type octet as a number.
    pub fn type_code(&self) -> u8 {
        u8::from(self.kind())
    }
}

impl AttributeValue for String {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 2865 §5: "text" is UTF-8; anything else is kept raw.
        core::str::from_utf8(v).ok().map(str::to_owned)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl AttributeValue for Vec<u8> {
    fn decode(v: &[u8]) -> Option<Self> {
        Some(v.to_vec())
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl AttributeValue for u32 {
    fn decode(v: &[u8]) -> Option<Self> {
        Some(u32::from_be_bytes(v.try_into().ok()?))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl AttributeValue for Ipv4Addr {
    fn decode(v: &[u8]) -> Option<Self> {
        <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

impl AttributeValue for Ipv6Addr {
    fn decode(v: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(v).ok().map(Ipv6Addr::from)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

impl<const N: usize> AttributeValue for [u8; N] {
    fn decode(v: &[u8]) -> Option<Self> {
        v.try_into().ok()
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

macro_rules! u32_enum_value {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn decode(v: &[u8]) -> Option<Self> {
                u32::decode(v).map(<$t>::from)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                u32::from(*self).encode(out)
            }
        }
    )*};
}

u32_enum_value!(
    ServiceType,
    FramedProtocol,
    NasPortType,
    TerminationAction,
    AcctStatusType,
    AcctAuthentic,
    AcctTerminateCause,
    ErrorCause
);

impl fmt::Debug for HiddenPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HiddenPassword({} octets)", self.0.len())
    }
}

impl fmt::Debug for ChapPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChapPassword")
            .field("ident", &self.ident)
            .finish_non_exhaustive()
    }
}

impl AttributeValue for HiddenPassword {
    fn decode(v: &[u8]) -> Option<Self> {
        Some(HiddenPassword(v.to_vec()))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl AttributeValue for ChapPassword {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 2865 §5.3: Length 19 = ident (1) + response (16).
        let (&ident, rest) = v.split_first()?;
        Some(ChapPassword {
            ident,
            response: rest.try_into().ok()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.ident);
        out.extend_from_slice(&self.response);
    }
}

impl Ipv6Prefix {
    /// A prefix, or `None` if `len` > 128 or bits past `len` are set.
    pub fn new(addr: Ipv6Addr, len: u8) -> Option<Self> {
        if len > 128 || u128::from(addr) & !prefix_mask(len) != 0 {
            return None;
        }
        Some(Ipv6Prefix { addr, len })
    }
}

fn prefix_mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    }
}

impl AttributeValue for Ipv6Prefix {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 3162 §2.3: Reserved, Prefix-Length, then up to 16 octets.
        let [_reserved, len, prefix @ ..] = v else {
            return None;
        };
        let needed = usize::from(*len).div_ceil(8);
        if *len > 128 || prefix.len() > 16 || prefix.len() < needed {
            return None;
        }
        let mut octets = [0u8; 16];
        octets[..prefix.len()].copy_from_slice(prefix);
        Ipv6Prefix::new(Ipv6Addr::from(octets), *len)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        // Only the octets the length covers (RFC 8044 §3.10 allows it).
        let n = usize::from(self.len.min(128)).div_ceil(8);
        out.extend_from_slice(&[0x00, self.len]);
        out.extend_from_slice(&self.addr.octets()[..n]);
    }
}

impl AttributeValue for Vsa {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 2865 §5.26: Vendor-Id (high octet 0) then the vendor string.
        let (id, data) = v.split_first_chunk::<4>()?;
        let vendor_id = u32::from_be_bytes(*id);
        if vendor_id >> 24 != 0 {
            return None;
        }
        if vendor_id == VENDOR_MICROSOFT {
            // RFC 2548 §2: one sub-attribute, vendor-type, vendor-length 6.
            if let [kind, 0x06, a, b, c, d] = *data {
                let addr = Ipv4Addr::new(a, b, c, d);
                match kind {
                    MS_PRIMARY_DNS_SERVER => return Some(Vsa::MsPrimaryDnsServer(addr)),
                    MS_SECONDARY_DNS_SERVER => return Some(Vsa::MsSecondaryDnsServer(addr)),
                    _ => {}
                }
            }
        }
        Some(Vsa::Other {
            vendor_id,
            data: data.to_vec(),
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        let ms = |out: &mut Vec<u8>, kind: u8, a: &Ipv4Addr| {
            out.extend_from_slice(&VENDOR_MICROSOFT.to_be_bytes());
            out.extend_from_slice(&[kind, 0x06]);
            out.extend_from_slice(&a.octets());
        };
        match self {
            Vsa::MsPrimaryDnsServer(a) => ms(out, MS_PRIMARY_DNS_SERVER, a),
            Vsa::MsSecondaryDnsServer(a) => ms(out, MS_SECONDARY_DNS_SERVER, a),
            Vsa::Other { vendor_id, data } => {
                out.extend_from_slice(&(vendor_id & 0x00ff_ffff).to_be_bytes());
                out.extend_from_slice(data);
            }
        }
    }
}

impl<T: From<u32> + Into<u32> + Copy> AttributeValue for Tagged<T> {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 2868 §3.1: Tag (1 octet) then a 3-octet value.
        let [tag, a, b, c] = *v else { return None };
        Some(Tagged {
            tag,
            value: T::from(u32::from_be_bytes([0, a, b, c])),
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        let v: u32 = self.value.into();
        out.push(self.tag);
        out.extend_from_slice(&v.to_be_bytes()[1..]);
    }
}

impl AttributeValue for TaggedString {
    fn decode(v: &[u8]) -> Option<Self> {
        // RFC 2868 §3.3: a first octet 0x00..=0x1f is a Tag.
        Some(match v.split_first() {
            Some((&tag, rest)) if tag <= 0x1f => TaggedString {
                tag: Some(tag),
                value: rest.to_vec(),
            },
            _ => TaggedString {
                tag: None,
                value: v.to_vec(),
            },
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        if let Some(tag) = self.tag {
            out.push(tag);
        }
        out.extend_from_slice(&self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(a: &Attribute) -> Vec<u8> {
        let mut v = Vec::new();
        a.encode_value(&mut v);
        v
    }

    #[test]
    fn rfc2865_5_integer_and_address_shapes() {
        // RFC 2865 §5.5: NAS-Port is four octets.
        assert_eq!(
            Attribute::decode(0x05, &[0, 0, 0, 3]),
            Attribute::NasPort(3)
        );
        // A three-octet NAS-Port is invalid and kept raw (RFC 6929 §2.8).
        assert_eq!(
            Attribute::decode(0x05, &[0, 0, 3]),
            Attribute::Raw {
                kind: 0x05,
                value: vec![0, 0, 3]
            }
        );
        assert_eq!(
            Attribute::decode(0x04, &[0xc0, 0xa8, 0x01, 0x10]),
            Attribute::NasIpAddress(Ipv4Addr::new(192, 168, 1, 16))
        );
        assert_eq!(
            Attribute::decode(0xf0, b"x").kind(),
            AttributeType::Unknown(0xf0)
        );
        // Non-UTF-8 text is kept raw.
        assert_eq!(
            Attribute::decode(0x01, &[0xff]).kind(),
            AttributeType::UserName
        );
        assert!(matches!(
            Attribute::decode(0x01, &[0xff]),
            Attribute::Raw { .. }
        ));
    }

    #[test]
    fn rfc3162_2_3_prefix() {
        // 2001:db8:1::/48 in its short form.
        let a = Attribute::decode(0x61, &[0x00, 0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01]);
        let p = Ipv6Prefix::new("2001:db8:1::".parse().unwrap_or(Ipv6Addr::UNSPECIFIED), 48);
        assert_eq!(Some(a.clone()), p.map(Attribute::FramedIpv6Prefix));
        assert_eq!(
            encoded(&a),
            [0x00, 0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01]
        );
        // The full 16-octet form is read too.
        let mut long = vec![0x00, 0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01];
        long.extend_from_slice(&[0; 10]);
        assert_eq!(
            Attribute::decode(0x7b, &long).kind(),
            AttributeType::DelegatedIpv6Prefix
        );
        assert!(!matches!(
            Attribute::decode(0x7b, &long),
            Attribute::Raw { .. }
        ));
        // Bits past the length, a length past 128 or too few octets: raw.
        for bad in [
            &[0x00, 0x08, 0xff, 0x01][..],
            &[0x00, 0x81],
            &[0x00, 0x40, 0x20],
        ] {
            assert!(matches!(
                Attribute::decode(0x61, bad),
                Attribute::Raw { .. }
            ));
        }
    }

    #[test]
    fn rfc2548_ms_dns_vsas() {
        let wire = [0x00, 0x00, 0x01, 0x37, 0x1c, 0x06, 0x0a, 0x00, 0x00, 0x01];
        let a = Attribute::decode(0x1a, &wire);
        assert_eq!(
            a,
            Attribute::VendorSpecific(Vsa::MsPrimaryDnsServer(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(encoded(&a), wire);
        let other = Attribute::decode(0x1a, &[0x00, 0x00, 0x00, 0x09, 0x01, 0x03, 0x41]);
        assert_eq!(
            other,
            Attribute::VendorSpecific(Vsa::Other {
                vendor_id: 9,
                data: vec![0x01, 0x03, 0x41]
            })
        );
        assert!(matches!(
            Attribute::decode(0x1a, &[0x01, 0, 0, 9]),
            Attribute::Raw { .. }
        ));
    }

    #[test]
    fn debug_hides_password_material() {
        let pw = Attribute::decode(0x02, &[0xab; 16]);
        assert_eq!(format!("{pw:?}"), "UserPassword(HiddenPassword(16 octets))");
        let mut chap = vec![0x07];
        chap.extend_from_slice(&[0xcd; 16]);
        let shown = format!("{:?}", Attribute::decode(0x03, &chap));
        assert_eq!(shown, "ChapPassword(ChapPassword { ident: 7, .. })");
    }

    #[test]
    fn rfc2868_tagged_values() {
        let a = Attribute::decode(0x40, &[0x01, 0x00, 0x00, 0x03]);
        assert_eq!(
            a,
            Attribute::TunnelType(Tagged {
                tag: 1,
                value: TunnelType::L2tp
            })
        );
        assert_eq!(encoded(&a), [0x01, 0x00, 0x00, 0x03]);
        let s = Attribute::decode(0x42, b"192.0.2.1");
        assert_eq!(
            s,
            Attribute::TunnelClientEndpoint(TaggedString {
                tag: None,
                value: b"192.0.2.1".to_vec()
            })
        );
        let t = Attribute::decode(0x42, b"\x02x");
        assert_eq!(
            t,
            Attribute::TunnelClientEndpoint(TaggedString {
                tag: Some(2),
                value: b"x".to_vec()
            })
        );
        assert_eq!(encoded(&t), b"\x02x");
    }
}
