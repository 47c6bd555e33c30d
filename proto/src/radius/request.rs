//! Request builders for the daemon: the Access-Request for a PPP user
//! authenticated by PAP or CHAP (RFC 2865 §4.1, §5.2, §5.3, §5.40), and
//! Accounting-Request Start / Interim-Update / Stop (RFC 2866 §4.1,
//! RFC 2869 §2.1, §5.1-5.3).
//!
//! Contract: pure functions from typed parameters to a [`Request`]; the
//! [`super::Client`] adds the identifier, the authenticators, the hidden
//! password and the Message-Authenticator when it sends it.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use super::attribute::{Attribute, Ipv6Prefix, Tagged, TaggedString};
use super::code::Code;
use super::crypto::Password;
use super::signing::Request;
use super::values::{
    AcctAuthentic, AcctStatusType, AcctTerminateCause, FramedProtocol, NasPortType, ServiceType,
    TunnelMediumType, TunnelType,
};
use crate::time::Timestamp;

/// How this NAS names itself in requests (RFC 2865 §4.1 wants at least one
/// of NAS-IP-Address and NAS-Identifier).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nas {
    /// NAS-IP-Address.
    pub ipv4: Option<Ipv4Addr>,
    /// NAS-IPv6-Address.
    pub ipv6: Option<Ipv6Addr>,
    /// NAS-Identifier.
    pub identifier: Option<String>,
}

/// What the subscriber proved in PPP authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// PAP: the clear-text password (RFC 1334 §2), hidden per server.
    Pap(Password),
    /// CHAP (RFC 1994): our challenge and the peer's response.
    Chap {
        /// The CHAP Identifier of the exchange.
        ident: u8,
        /// The challenge we sent.
        challenge: Vec<u8>,
        /// The peer's MD5 response.
        response: [u8; 16],
    },
}

/// The line a session arrived on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Port {
    /// NAS-Port: the session's number on this LNS.
    pub nas_port: u32,
    /// NAS-Port-Id, if the operator wants a readable one.
    pub nas_port_id: Option<String>,
    /// Calling-Station-Id (from the LAC's Calling Number AVP).
    pub calling_station_id: Option<String>,
    /// Called-Station-Id (from the LAC's Called Number AVP).
    pub called_station_id: Option<String>,
}

/// Parameters of an Access-Request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessParams {
    /// User-Name as the subscriber gave it.
    pub user_name: String,
    /// PAP or CHAP proof.
    pub credentials: Credentials,
    /// This NAS.
    pub nas: Nas,
    /// The session's port.
    pub port: Port,
    /// State from an Access-Challenge, echoed back (RFC 2865 §5.24).
    pub state: Option<Vec<u8>>,
}

/// Which accounting record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountingKind {
    /// Acct-Status-Type Start.
    Start,
    /// Acct-Status-Type Interim-Update.
    Interim,
    /// Acct-Status-Type Stop, with why the session ended.
    Stop(AcctTerminateCause),
}

/// Traffic counters of a session, 64-bit as the data plane counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Octets from the subscriber.
    pub input_octets: u64,
    /// Octets to the subscriber.
    pub output_octets: u64,
    /// Packets from the subscriber.
    pub input_packets: u64,
    /// Packets to the subscriber.
    pub output_packets: u64,
}

/// The L2TP tunnel a session rides (RFC 2867 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelInfo {
    /// The LAC's address.
    pub client_endpoint: String,
    /// Our address.
    pub server_endpoint: String,
    /// Acct-Tunnel-Connection: names the tunnel and call.
    pub connection: String,
}

/// Parameters of an Accounting-Request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountingParams {
    /// Start, Interim or Stop.
    pub kind: AccountingKind,
    /// Acct-Session-Id, the same for every record of a session (and across
    /// failovers).
    pub session_id: String,
    /// User-Name.
    pub user_name: String,
    /// This NAS.
    pub nas: Nas,
    /// The session's port.
    pub port: Port,
    /// How the user was authenticated.
    pub authentic: AcctAuthentic,
    /// Framed-IP-Address given to the subscriber.
    pub framed_ip: Option<Ipv4Addr>,
    /// Framed-IPv6-Prefix values given to the subscriber.
    pub framed_ipv6_prefixes: Vec<Ipv6Prefix>,
    /// Delegated-IPv6-Prefix given to the subscriber.
    pub delegated_ipv6_prefix: Option<Ipv6Prefix>,
    /// Class values from the Access-Accept, echoed (RFC 2865 §5.25).
    pub class: Vec<Vec<u8>>,
    /// Time since the session started (Interim and Stop).
    pub session_time: Duration,
    /// Traffic so far (Interim and Stop).
    pub counters: Counters,
    /// When the event happened (Event-Timestamp).
    pub event_time: Timestamp,
    /// Tunnel attributes, if the operator wants them.
    pub tunnel: Option<TunnelInfo>,
}

/// An Access-Request for a PPP user (RFC 2865 §4.1): User-Name, the
/// credentials, NAS identification, NAS-Port, NAS-Port-Type Virtual,
/// Service-Type Framed, Framed-Protocol PPP and the station ids.
pub fn access_request(p: &AccessParams) -> Request {
    let mut r = Request::new(Code::AccessRequest);
    let a = &mut r.attributes;
    a.push(Attribute::UserName(p.user_name.clone()));
    match &p.credentials {
        // RFC 2865 §5.2: hidden at encoding time, per server.
        Credentials::Pap(pw) => r.password = Some(pw.clone()),
        // RFC 2865 §5.3 and §5.40: always send CHAP-Challenge, even when
        // 16 octets would fit the Request Authenticator.
        Credentials::Chap {
            ident,
            challenge,
            response,
        } => {
            a.push(Attribute::ChapPassword(super::ChapPassword {
                ident: *ident,
                response: *response,
            }));
            a.push(Attribute::ChapChallenge(challenge.clone()));
        }
    }
    push_nas_and_port(a, &p.nas, &p.port);
    a.push(Attribute::ServiceType(ServiceType::Framed));
    a.push(Attribute::FramedProtocol(FramedProtocol::Ppp));
    if let Some(state) = &p.state {
        a.push(Attribute::State(state.clone()));
    }
    r
}

/// An Accounting-Request (RFC 2866 §4.1) for a session event.
pub fn accounting_request(p: &AccountingParams) -> Request {
    let mut r = Request::new(Code::AccountingRequest);
    let a = &mut r.attributes;
    let status = match p.kind {
        AccountingKind::Start => AcctStatusType::Start,
        AccountingKind::Interim => AcctStatusType::InterimUpdate,
        AccountingKind::Stop(_) => AcctStatusType::Stop,
    };
    a.push(Attribute::AcctStatusType(status));
    a.push(Attribute::AcctSessionId(p.session_id.clone()));
    a.push(Attribute::UserName(p.user_name.clone()));
    push_nas_and_port(a, &p.nas, &p.port);
    a.push(Attribute::ServiceType(ServiceType::Framed));
    a.push(Attribute::FramedProtocol(FramedProtocol::Ppp));
    a.push(Attribute::AcctAuthentic(p.authentic));
    if let Some(ip) = p.framed_ip {
        a.push(Attribute::FramedIpAddress(ip));
    }
    a.extend(
        p.framed_ipv6_prefixes
            .iter()
            .copied()
            .map(Attribute::FramedIpv6Prefix),
    );
    if let Some(d) = p.delegated_ipv6_prefix {
        a.push(Attribute::DelegatedIpv6Prefix(d));
    }
    a.extend(p.class.iter().cloned().map(Attribute::Class));
    // RFC 2869 §5.3: seconds since the epoch.
    let secs = p.event_time.unix_micros() / 1_000_000;
    a.push(Attribute::EventTimestamp(
        u32::try_from(secs).unwrap_or(u32::MAX),
    ));
    // The client rewrites this on each retransmission (RFC 2866 §5.2).
    a.push(Attribute::AcctDelayTime(0));
    if p.kind != AccountingKind::Start {
        // RFC 2866 §5.3/5.4 with RFC 2869 §5.1/5.2: 2^32 overflows go in
        // the Gigawords attributes.
        let c = &p.counters;
        a.push(Attribute::AcctSessionTime(
            u32::try_from(p.session_time.as_secs()).unwrap_or(u32::MAX),
        ));
        a.push(Attribute::AcctInputOctets(low32(c.input_octets)));
        a.push(Attribute::AcctInputGigawords(high32(c.input_octets)));
        a.push(Attribute::AcctOutputOctets(low32(c.output_octets)));
        a.push(Attribute::AcctOutputGigawords(high32(c.output_octets)));
        a.push(Attribute::AcctInputPackets(saturate32(c.input_packets)));
        a.push(Attribute::AcctOutputPackets(saturate32(c.output_packets)));
    }
    if let AccountingKind::Stop(cause) = p.kind {
        a.push(Attribute::AcctTerminateCause(cause));
    }
    if let Some(t) = &p.tunnel {
        // RFC 2867 §4: the tunnel the session used.
        a.push(Attribute::TunnelType(Tagged {
            tag: 0,
            value: TunnelType::L2tp,
        }));
        a.push(Attribute::TunnelMediumType(Tagged {
            tag: 0,
            value: TunnelMediumType::Ipv4,
        }));
        a.push(Attribute::TunnelClientEndpoint(TaggedString {
            tag: Some(0),
            value: t.client_endpoint.clone().into_bytes(),
        }));
        a.push(Attribute::TunnelServerEndpoint(TaggedString {
            tag: Some(0),
            value: t.server_endpoint.clone().into_bytes(),
        }));
        a.push(Attribute::AcctTunnelConnection(t.connection.clone()));
    }
    r
}

/// A NAS-wide accounting event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NasEvent {
    /// Accounting-On: the NAS (re)started; no session of its survives.
    On,
    /// Accounting-Off: the NAS is going away cleanly.
    Off,
}

/// Accounting-On / Accounting-Off (RFC 2866 §5.1): sent at start-up and
/// clean shutdown so the server closes sessions it still counts as open.
/// `session_id` names the event (RFC 2866 §5.5 wants one in every
/// Accounting-Request), e.g. the node's boot identifier.
pub fn accounting_nas_event(
    event: NasEvent,
    nas: &Nas,
    session_id: &str,
    event_time: Timestamp,
) -> Request {
    let mut r = Request::new(Code::AccountingRequest);
    let a = &mut r.attributes;
    a.push(Attribute::AcctStatusType(match event {
        NasEvent::On => AcctStatusType::AccountingOn,
        NasEvent::Off => AcctStatusType::AccountingOff,
    }));
    a.push(Attribute::AcctSessionId(session_id.to_owned()));
    push_nas(a, nas);
    let secs = event_time.unix_micros() / 1_000_000;
    a.push(Attribute::EventTimestamp(
        u32::try_from(secs).unwrap_or(u32::MAX),
    ));
    a.push(Attribute::AcctDelayTime(0));
    r
}

/// Splits a 64-bit counter into (Octets, Gigawords) (RFC 2869 §5.1).
pub fn split_counter(v: u64) -> (u32, u32) {
    (low32(v), high32(v))
}

fn low32(v: u64) -> u32 {
    (v & 0xffff_ffff) as u32
}

fn high32(v: u64) -> u32 {
    (v >> 32) as u32
}

fn saturate32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn push_nas(a: &mut Vec<Attribute>, nas: &Nas) {
    if let Some(ip) = nas.ipv4 {
        a.push(Attribute::NasIpAddress(ip));
    }
    if let Some(ip) = nas.ipv6 {
        a.push(Attribute::NasIpv6Address(ip));
    }
    if let Some(id) = &nas.identifier {
        a.push(Attribute::NasIdentifier(id.clone()));
    }
}

fn push_nas_and_port(a: &mut Vec<Attribute>, nas: &Nas, port: &Port) {
    push_nas(a, nas);
    a.push(Attribute::NasPort(port.nas_port));
    if let Some(id) = &port.nas_port_id {
        a.push(Attribute::NasPortId(id.clone()));
    }
    // RFC 2865 §5.41: Virtual for a session carried over a tunnel.
    a.push(Attribute::NasPortType(NasPortType::Virtual));
    if let Some(c) = &port.calling_station_id {
        a.push(Attribute::CallingStationId(c.clone()));
    }
    if let Some(c) = &port.called_station_id {
        a.push(Attribute::CalledStationId(c.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::attribute::AttributeType;
    use crate::radius::crypto::{chap_response, Secret};
    use crate::radius::packet::Packet;

    fn port() -> Port {
        Port {
            nas_port: 20,
            nas_port_id: None,
            calling_station_id: Some("0102030405".into()),
            called_station_id: None,
        }
    }

    #[test]
    fn rfc2865_7_2_chap_request_shape() {
        // The RFC 2865 §7.2 request: User-Name, CHAP-Password, NAS-IP,
        // NAS-Port 20, Service-Type Framed, Framed-Protocol PPP.
        let challenge = vec![0x2a; 16];
        let response = chap_response(0x16, &Password::new("pw"), &challenge);
        let r = access_request(&AccessParams {
            user_name: "flopsy".into(),
            credentials: Credentials::Chap {
                ident: 0x16,
                challenge: challenge.clone(),
                response,
            },
            nas: Nas {
                ipv4: Some(Ipv4Addr::new(192, 168, 1, 16)),
                ..Nas::default()
            },
            port: port(),
            state: None,
        });
        assert_eq!(r.password, None);
        let kinds: Vec<AttributeType> = r.attributes.iter().map(Attribute::kind).collect();
        assert_eq!(
            kinds,
            [
                AttributeType::UserName,
                AttributeType::ChapPassword,
                AttributeType::ChapChallenge,
                AttributeType::NasIpAddress,
                AttributeType::NasPort,
                AttributeType::NasPortType,
                AttributeType::CallingStationId,
                AttributeType::ServiceType,
                AttributeType::FramedProtocol,
            ]
        );
        let mut out = Vec::new();
        r.encode(1, [0; 16], &Secret::new("s"), &mut out)
            .expect("small packet");
        // CHAP-Password: type 3, length 19, ident 0x16.
        assert!(out.windows(3).any(|w| w == [0x03, 0x13, 0x16]));
        // Framed-Protocol PPP (the incumbent's length bug sent none).
        assert!(out
            .windows(6)
            .any(|w| w == [0x07, 0x06, 0x00, 0x00, 0x00, 0x01]));
        // NAS-Port-Type Virtual (5).
        assert!(out
            .windows(6)
            .any(|w| w == [0x3d, 0x06, 0x00, 0x00, 0x00, 0x05]));
    }

    #[test]
    fn pap_request_hides_the_password() {
        let r = access_request(&AccessParams {
            user_name: "alice".into(),
            credentials: Credentials::Pap(Password::new("secret")),
            nas: Nas {
                identifier: Some("lns1".into()),
                ..Nas::default()
            },
            port: port(),
            state: Some(vec![1, 2]),
        });
        let mut out = Vec::new();
        r.encode(1, [9; 16], &Secret::new("s"), &mut out)
            .expect("small packet");
        assert!(!out.windows(6).any(|w| w == b"secret"));
        let p = Packet::parse(&out).expect("valid");
        assert_eq!(p.attributes[2].kind(), AttributeType::UserPassword);
        assert!(p.find(AttributeType::State).is_some());
    }

    #[test]
    fn rfc2869_5_1_gigawords_split_and_stop_record() {
        assert_eq!(split_counter(0x0000_0002_0000_0005), (5, 2));
        assert_eq!(split_counter(u64::MAX), (u32::MAX, u32::MAX));
        let r = accounting_request(&AccountingParams {
            kind: AccountingKind::Stop(AcctTerminateCause::UserRequest),
            session_id: "00000001".into(),
            user_name: "alice".into(),
            nas: Nas::default(),
            port: port(),
            authentic: AcctAuthentic::Radius,
            framed_ip: Some(Ipv4Addr::new(10, 0, 0, 2)),
            framed_ipv6_prefixes: vec![],
            delegated_ipv6_prefix: None,
            class: vec![b"c1".to_vec()],
            session_time: Duration::from_secs(61),
            counters: Counters {
                input_octets: (3 << 32) + 7,
                output_octets: 9,
                input_packets: 1,
                output_packets: 2,
            },
            event_time: Timestamp::from_unix_millis(1_700_000_000_000),
            tunnel: Some(TunnelInfo {
                client_endpoint: "192.0.2.2".into(),
                server_endpoint: "192.0.2.1".into(),
                connection: "1/2".into(),
            }),
        });
        let has = |a: Attribute| r.attributes.contains(&a);
        assert!(has(Attribute::AcctStatusType(AcctStatusType::Stop)));
        assert!(has(Attribute::AcctInputOctets(7)));
        assert!(has(Attribute::AcctInputGigawords(3)));
        assert!(has(Attribute::AcctOutputOctets(9)));
        assert!(has(Attribute::AcctOutputGigawords(0)));
        assert!(has(Attribute::AcctSessionTime(61)));
        assert!(has(Attribute::EventTimestamp(1_700_000_000)));
        assert!(has(Attribute::AcctTerminateCause(
            AcctTerminateCause::UserRequest
        )));
        assert!(has(Attribute::Class(b"c1".to_vec())));
        assert!(has(Attribute::TunnelType(Tagged {
            tag: 0,
            value: TunnelType::L2tp
        })));
        let mut out = Vec::new();
        r.encode(3, [0; 16], &Secret::new("s"), &mut out)
            .expect("fits");
        assert_eq!(
            Packet::parse(&out).map(|p| p.attributes.len()),
            Ok(r.attributes.len() + 1)
        );
    }

    #[test]
    fn rfc2866_5_1_accounting_on() {
        let nas = Nas {
            identifier: Some("lns1".into()),
            ..Nas::default()
        };
        let r = accounting_nas_event(NasEvent::On, &nas, "boot-1", Timestamp::EPOCH);
        assert_eq!(
            r.attributes[0],
            Attribute::AcctStatusType(AcctStatusType::AccountingOn)
        );
        assert!(r
            .attributes
            .contains(&Attribute::NasIdentifier("lns1".into())));
        assert!(r
            .attributes
            .contains(&Attribute::AcctSessionId("boot-1".into())));
        let off = accounting_nas_event(NasEvent::Off, &nas, "boot-1", Timestamp::EPOCH);
        assert_eq!(
            off.attributes[0],
            Attribute::AcctStatusType(AcctStatusType::AccountingOff)
        );
    }

    #[test]
    fn start_record_has_no_counters() {
        let r = accounting_request(&AccountingParams {
            kind: AccountingKind::Start,
            session_id: "1".into(),
            user_name: "u".into(),
            nas: Nas::default(),
            port: Port::default(),
            authentic: AcctAuthentic::Radius,
            framed_ip: None,
            framed_ipv6_prefixes: vec![],
            delegated_ipv6_prefix: None,
            class: vec![],
            session_time: Duration::ZERO,
            counters: Counters::default(),
            event_time: Timestamp::EPOCH,
            tunnel: None,
        });
        assert!(!r.attributes.iter().any(|a| matches!(
            a.kind(),
            AttributeType::AcctInputOctets
                | AttributeType::AcctSessionTime
                | AttributeType::AcctTerminateCause
        )));
        assert!(r
            .attributes
            .contains(&Attribute::AcctStatusType(AcctStatusType::Start)));
    }
}
