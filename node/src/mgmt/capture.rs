//! Capture filter: decides, for one L2TP datagram seen by the active node,
//! whether a running `lnsctl capture` wants it.
//!
//! Contract: pure and allocation-free; never panics on any input. The caller
//! (the dataplane or the control task) passes the raw UDP payload, the
//! direction and the identity of the session or tunnel the datagram belongs
//! to, as the LNS knows it (local IDs: in datagrams sent to the LAC the header
//! carries the *peer's* IDs, so the header alone cannot scope a capture).
//!
//! Classification follows the operators' tcpdump filters this replaces, but
//! parses the header properly (RFC 2661 §3.1: optional Length, Ns/Nr and Offset
//! fields) instead of guessing fixed offsets. IPv6 extension headers are not
//! walked: DHCPv6 and RS/RA are recognised only directly after the fixed header.

/// Which way a datagram travels, relative to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the LAC.
    FromLac,
    /// Sent to the LAC.
    ToLac,
}

/// What a datagram is, as far as capture filtering is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketClass {
    /// L2TP control message or ZLB acknowledgement (T bit set).
    Control,
    /// PAP or CHAP.
    Login,
    /// LCP (except Echo), IPCP, IPV6CP.
    Negotiation,
    /// DHCPv6 inside IPv6 data.
    Dhcpv6,
    /// ICMPv6 Router Solicitation or Router Advertisement.
    RsRa,
    /// IPv4 or IPv6 data not in the classes above.
    Data,
    /// Anything else: LCP Echo, CCP, MP, unknown PPP protocols, bad headers.
    Other,
}

/// The kinds an operator can ask for (`lnsctl capture --kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// L2TP control messages.
    Control,
    /// PAP / CHAP logins.
    Login,
    /// LCP / IPCP / IPV6CP negotiation.
    Negotiation,
    /// DHCPv6.
    Dhcpv6,
    /// Router Solicitation / Advertisement.
    RsRa,
    /// IPv4 / IPv6 data.
    Data,
}

/// A set of [`CaptureKind`]s; the empty set means "everything", including
/// [`PacketClass::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindSet(u8);

/// Whom a capture is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureScope {
    /// One session, by its local Session ID within its local Tunnel ID.
    Session {
        /// Local Tunnel ID.
        tunnel_id: u16,
        /// Local Session ID.
        session_id: u16,
    },
    /// Every session of one user name (as authenticated).
    User(String),
    /// One tunnel (its control channel and all its sessions), by local ID.
    Tunnel(u16),
    /// Every tunnel.
    AllTunnels,
}

/// Who a datagram belongs to, as the LNS knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramOwner<'a> {
    /// Local Tunnel ID.
    pub tunnel_id: u16,
    /// Local Session ID, 0 for tunnel-level control messages.
    pub session_id: u16,
    /// Authenticated user of the session, if known yet.
    pub user: Option<&'a str>,
}

/// A capture filter: a scope plus a set of kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFilter {
    /// Whom to capture.
    pub scope: CaptureScope,
    /// What to capture.
    pub kinds: KindSet,
}

impl KindSet {
    /// Every kind (the empty set).
    pub const EVERYTHING: KindSet = KindSet(0);

    /// The set holding exactly `kinds`.
    pub fn of(kinds: &[CaptureKind]) -> Self {
        KindSet(kinds.iter().fold(0, |acc, k| acc | k.bit()))
    }

    /// Whether a datagram of class `class` is wanted.
    pub fn wants(self, class: PacketClass) -> bool {
        if self.0 == 0 {
            return true;
        }
        match CaptureKind::for_class(class) {
            Some(kind) => self.0 & kind.bit() != 0,
            None => false,
        }
    }
}

impl CaptureKind {
    fn bit(self) -> u8 {
        match self {
            CaptureKind::Control => 0x01,
            CaptureKind::Login => 0x02,
            CaptureKind::Negotiation => 0x04,
            CaptureKind::Dhcpv6 => 0x08,
            CaptureKind::RsRa => 0x10,
            CaptureKind::Data => 0x20,
        }
    }

    fn for_class(class: PacketClass) -> Option<CaptureKind> {
        match class {
            PacketClass::Control => Some(CaptureKind::Control),
            PacketClass::Login => Some(CaptureKind::Login),
            PacketClass::Negotiation => Some(CaptureKind::Negotiation),
            PacketClass::Dhcpv6 => Some(CaptureKind::Dhcpv6),
            PacketClass::RsRa => Some(CaptureKind::RsRa),
            PacketClass::Data => Some(CaptureKind::Data),
            PacketClass::Other => None,
        }
    }
}

impl CaptureFilter {
    /// Whether this capture wants `datagram` (an L2TP UDP payload).
    ///
    /// The direction does not change the verdict today (both ways are
    /// captured); it is part of the contract so that one-way captures can be
    /// added without changing callers.
    pub fn matches(
        &self,
        datagram: &[u8],
        _direction: Direction,
        owner: DatagramOwner<'_>,
    ) -> bool {
        let in_scope = match &self.scope {
            CaptureScope::Session {
                tunnel_id,
                session_id,
            } => owner.tunnel_id == *tunnel_id && owner.session_id == *session_id,
            CaptureScope::User(user) => owner.user == Some(user.as_str()),
            CaptureScope::Tunnel(tunnel_id) => owner.tunnel_id == *tunnel_id,
            CaptureScope::AllTunnels => true,
        };
        in_scope && self.kinds.wants(classify(datagram))
    }
}

/// L2TP header flag bits, RFC 2661 §3.1.
const FLAG_TYPE: u8 = 0x80;
const FLAG_LENGTH: u8 = 0x40;
const FLAG_SEQUENCE: u8 = 0x08;
const FLAG_OFFSET: u8 = 0x02;
const L2TP_VERSION_2: u8 = 0x02;

/// PPP protocol numbers (RFC 1661 §2, IANA PPP DLL protocol numbers).
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_LCP: u16 = 0xc021;
const PPP_PAP: u16 = 0xc023;
const PPP_CHAP: u16 = 0xc223;
const PPP_IPCP: u16 = 0x8021;
const PPP_IPV6CP: u16 = 0x8057;
/// LCP Echo-Request and Echo-Reply codes, RFC 1661 §5.8.
const LCP_ECHO_REQUEST: u8 = 0x09;
const LCP_ECHO_REPLY: u8 = 0x0a;
const IPV6_NEXT_UDP: u8 = 0x11;
const IPV6_NEXT_ICMPV6: u8 = 0x3a;
/// RFC 4861 §4.1, §4.2.
const ICMPV6_ROUTER_SOLICITATION: u8 = 0x85;
const ICMPV6_ROUTER_ADVERTISEMENT: u8 = 0x86;
/// RFC 8415 §7.2.
const DHCPV6_CLIENT_PORT: u16 = 0x0222;
const DHCPV6_SERVER_PORT: u16 = 0x0223;

/// Classifies an L2TP UDP payload. Malformed or truncated input is
/// [`PacketClass::Other`] (or `Control` when only the T bit is readable).
pub fn classify(datagram: &[u8]) -> PacketClass {
    let Some(&flags) = datagram.first() else {
        return PacketClass::Other;
    };
    // RFC 2661 §3.1: T bit set means control message (a ZLB is one too).
    if flags & FLAG_TYPE != 0 {
        return PacketClass::Control;
    }
    match ppp_frame(datagram) {
        Some(frame) => classify_ppp(frame),
        None => PacketClass::Other,
    }
}

/// The PPP frame carried by an L2TP data message, after the header
/// (RFC 2661 §3.1) and the Offset padding.
fn ppp_frame(datagram: &[u8]) -> Option<&[u8]> {
    let flags = *datagram.first()?;
    let version = *datagram.get(1)? & 0x0f;
    if version != L2TP_VERSION_2 {
        return None;
    }
    let mut at = 2;
    if flags & FLAG_LENGTH != 0 {
        at += 2;
    }
    at += 4; // Tunnel ID, Session ID
    if flags & FLAG_SEQUENCE != 0 {
        at += 4; // Ns, Nr
    }
    if flags & FLAG_OFFSET != 0 {
        let size = u16::from_be_bytes([*datagram.get(at)?, *datagram.get(at + 1)?]);
        at += 2 + usize::from(size);
    }
    datagram.get(at..)
}

fn classify_ppp(frame: &[u8]) -> PacketClass {
    // RFC 1662 §3.1: the FF 03 address/control field may be present or
    // compressed away (ACFC, RFC 1661 §6.6).
    let frame = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    // RFC 1661 §6.5: a protocol field with an odd first octet is one octet (PFC).
    let (protocol, info) = match frame {
        [first, rest @ ..] if first & 0x01 == 0x01 => (u16::from(*first), rest),
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return PacketClass::Other,
    };
    match protocol {
        PPP_PAP | PPP_CHAP => PacketClass::Login,
        PPP_LCP => match info.first() {
            Some(&LCP_ECHO_REQUEST) | Some(&LCP_ECHO_REPLY) => PacketClass::Other,
            _ => PacketClass::Negotiation,
        },
        PPP_IPCP | PPP_IPV6CP => PacketClass::Negotiation,
        PPP_IPV4 => PacketClass::Data,
        PPP_IPV6 => classify_ipv6(info),
        _ => PacketClass::Other,
    }
}

/// RFC 8200 §3: the fixed header is 40 octets, Next Header at octet 6.
fn classify_ipv6(packet: &[u8]) -> PacketClass {
    let next_header = packet.get(6).copied();
    let upper = packet.get(40..).unwrap_or(&[]);
    match (next_header, upper) {
        (
            Some(IPV6_NEXT_ICMPV6),
            [ICMPV6_ROUTER_SOLICITATION | ICMPV6_ROUTER_ADVERTISEMENT, ..],
        ) => PacketClass::RsRa,
        (Some(IPV6_NEXT_UDP), [s0, s1, d0, d1, ..]) => {
            let ports = [
                u16::from_be_bytes([*s0, *s1]),
                u16::from_be_bytes([*d0, *d1]),
            ];
            if ports
                .iter()
                .any(|p| *p == DHCPV6_CLIENT_PORT || *p == DHCPV6_SERVER_PORT)
            {
                PacketClass::Dhcpv6
            } else {
                PacketClass::Data
            }
        }
        _ => PacketClass::Data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data header without optional fields: flags 0x0002, tunnel 10, session 123.
    fn data(ppp: &[u8]) -> Vec<u8> {
        let mut d = vec![0x00, 0x02, 0x00, 0x0a, 0x00, 0x7b];
        d.extend_from_slice(ppp);
        d
    }

    fn ipv6(next: u8, upper: &[u8]) -> Vec<u8> {
        let mut p = vec![0x00, 0x57, 0x60, 0, 0, 0, 0, 0, next, 0xff];
        p.extend_from_slice(&[0u8; 32]);
        p.extend_from_slice(upper);
        p
    }

    const OWNER: DatagramOwner<'static> = DatagramOwner {
        tunnel_id: 10,
        session_id: 123,
        user: Some("alice@isp"),
    };

    #[test]
    fn control_bit_is_control_including_zlb() {
        // RFC 2661 §3.1: T=1 L=1 S=1, ver 2; a ZLB is a 12-octet control message.
        let zlb = [
            0xc8, 0x02, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
        ];
        assert_eq!(classify(&zlb), PacketClass::Control);
    }

    #[test]
    fn ppp_protocols_classified_with_and_without_address_field() {
        assert_eq!(
            classify(&data(&[0xff, 0x03, 0xc0, 0x23, 0x01])),
            PacketClass::Login
        );
        assert_eq!(classify(&data(&[0xc2, 0x23, 0x01])), PacketClass::Login);
        assert_eq!(
            classify(&data(&[0xff, 0x03, 0xc0, 0x21, 0x01, 0x01])),
            PacketClass::Negotiation
        );
        assert_eq!(
            classify(&data(&[0x80, 0x21, 0x01])),
            PacketClass::Negotiation
        );
        assert_eq!(
            classify(&data(&[0x80, 0x57, 0x01])),
            PacketClass::Negotiation
        );
        assert_eq!(classify(&data(&[0x00, 0x21, 0x45])), PacketClass::Data);
        // PFC: one-octet IPv4 protocol, RFC 1661 §6.5.
        assert_eq!(classify(&data(&[0x21, 0x45])), PacketClass::Data);
        assert_eq!(classify(&data(&[0x80, 0xfd, 0x01])), PacketClass::Other);
    }

    #[test]
    fn lcp_echo_is_not_negotiation() {
        // RFC 1661 §5.8 Echo-Request / Echo-Reply.
        assert_eq!(
            classify(&data(&[0xc0, 0x21, 0x09, 0x01])),
            PacketClass::Other
        );
        assert_eq!(
            classify(&data(&[0xc0, 0x21, 0x0a, 0x01])),
            PacketClass::Other
        );
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        // L, S and O bits: length, Ns/Nr and a 2-octet offset pad before PPP.
        let d = [
            0x4a, 0x02, 0x00, 0x14, 0x00, 0x0a, 0x00, 0x7b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
            0xaa, 0xbb, 0xc0, 0x23, 0x01, 0x01,
        ];
        assert_eq!(classify(&d), PacketClass::Login);
        // An offset pointing past the end is malformed, not a panic.
        let bad = [0x02, 0x02, 0x00, 0x0a, 0x00, 0x7b, 0xff, 0xff];
        assert_eq!(classify(&bad), PacketClass::Other);
    }

    #[test]
    fn ipv6_rs_ra_and_dhcpv6_found_inside_data() {
        assert_eq!(classify(&data(&ipv6(0x3a, &[0x85, 0]))), PacketClass::RsRa);
        assert_eq!(classify(&data(&ipv6(0x3a, &[0x86, 0]))), PacketClass::RsRa);
        assert_eq!(classify(&data(&ipv6(0x3a, &[0x80, 0]))), PacketClass::Data);
        assert_eq!(
            classify(&data(&ipv6(0x11, &[0x02, 0x22, 0x02, 0x23]))),
            PacketClass::Dhcpv6
        );
        assert_eq!(
            classify(&data(&ipv6(0x11, &[0x30, 0x39, 0x00, 0x35]))),
            PacketClass::Data
        );
    }

    #[test]
    fn wrong_version_or_truncation_is_other() {
        assert_eq!(classify(&[]), PacketClass::Other);
        assert_eq!(
            classify(&[0x00, 0x03, 0, 1, 0, 2, 0xc0, 0x23]),
            PacketClass::Other
        );
        assert_eq!(classify(&[0x00, 0x02, 0, 1]), PacketClass::Other);
    }

    #[test]
    fn filter_scopes_by_owner_and_kinds() {
        let pap = data(&[0xc0, 0x23, 0x01]);
        let ip = data(&[0x00, 0x21, 0x45]);
        let logins = CaptureFilter {
            scope: CaptureScope::User("alice@isp".into()),
            kinds: KindSet::of(&[CaptureKind::Login]),
        };
        assert!(logins.matches(&pap, Direction::FromLac, OWNER));
        assert!(!logins.matches(&ip, Direction::FromLac, OWNER));
        let bob = DatagramOwner {
            user: Some("bob"),
            ..OWNER
        };
        assert!(!logins.matches(&pap, Direction::ToLac, bob));

        let session = CaptureFilter {
            scope: CaptureScope::Session {
                tunnel_id: 10,
                session_id: 123,
            },
            kinds: KindSet::EVERYTHING,
        };
        assert!(session.matches(&ip, Direction::ToLac, OWNER));
        let other_tunnel = DatagramOwner {
            tunnel_id: 11,
            ..OWNER
        };
        assert!(!session.matches(&ip, Direction::ToLac, other_tunnel));

        let tunnel = CaptureFilter {
            scope: CaptureScope::Tunnel(11),
            kinds: KindSet::EVERYTHING,
        };
        assert!(tunnel.matches(&ip, Direction::FromLac, other_tunnel));
        assert!(!tunnel.matches(&ip, Direction::FromLac, OWNER));
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let _class = classify(&bytes);
        }
    }
}
