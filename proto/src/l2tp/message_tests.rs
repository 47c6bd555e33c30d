//! Byte vectors (RFC 2661 and xl2tpd captures, REFERENCE.md) and property
//! tests for control messages.

use super::*;
use crate::l2tp::avp_types::{CallErrors, DisconnectCause};
use proptest::prelude::*;

/// SCCRQ as xl2tpd 1.3.18 sends it (REFERENCE.md): Protocol Version 1.0,
/// Framing async+sync, Bearer none, Firmware, Host Name, Vendor Name,
/// Assigned Tunnel ID, Receive Window Size 4, no Challenge.
pub(crate) const XL2TPD_SCCRQ: &[u8] = &[
    0xc8, 0x02, 0x00, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // header
    0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // Message Type SCCRQ
    0x80, 0x08, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, // Protocol Version 1.0
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, // Framing Caps A+S
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, // Bearer Caps none
    0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x06, 0x90, // Firmware Revision 0x0690
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x07, b'l', b'a', b'c', b'1', // Host Name "lac1"
    0x00, 0x13, 0x00, 0x00, 0x00, 0x08, b'x', b'e', b'l', b'e', b'r', b'a', b'n', b'c', b'e', b'.',
    b'c', b'o', b'm', // Vendor Name
    0x80, 0x08, 0x00, 0x00, 0x00, 0x09, 0x4a, 0x1f, // Assigned Tunnel ID 0x4a1f
    0x80, 0x08, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x04, // Receive Window Size 4
];

/// ICRQ as xl2tpd sends it: Assigned Session ID, Call Serial Number, Bearer Type.
pub(crate) const XL2TPD_ICRQ: &[u8] = &[
    0xc8, 0x02, 0x00, 0x30, 0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, // header
    0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, // Message Type ICRQ
    0x80, 0x08, 0x00, 0x00, 0x00, 0x0e, 0x2b, 0x67, // Assigned Session ID
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x01, // Call Serial Number 1
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, // Bearer Type
];

/// ICCN as xl2tpd sends it: Tx Connect Speed, Framing Type sync, Rx Connect Speed.
pub(crate) const XL2TPD_ICCN: &[u8] = &[
    0xc8, 0x02, 0x00, 0x32, 0x12, 0x34, 0x55, 0x66, 0x00, 0x02, 0x00, 0x03, // header
    0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, // Message Type ICCN
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x18, 0x00, 0x98, 0x96, 0x80, // Tx Connect Speed 10M
    0x80, 0x0a, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00, 0x01, // Framing Type sync
    0x00, 0x0a, 0x00, 0x00, 0x00, 0x26, 0x00, 0x98, 0x96, 0x80, // Rx Connect Speed 10M
];

#[test]
fn xl2tpd_sccrq_parses_and_reemits_identically() {
    let (h, m) = parse_control(XL2TPD_SCCRQ, None).expect("valid SCCRQ");
    let m = m.expect("not a ZLB");
    assert_eq!(h.tunnel_id, 0);
    assert_eq!(m.message_type, MessageType::Sccrq);
    assert_eq!(m.missing_mandatory(), None);
    assert_eq!(m.assigned_tunnel_id(), Some(0x4a1f));
    assert_eq!(m.host_name(), Some(&b"lac1"[..]));
    assert_eq!(m.receive_window_size(), Some(4));
    assert_eq!(m.protocol_version(), Some((1, 0)));
    assert_eq!(m.challenge(), None);
    let mut out = Vec::new();
    emit_control(&h, Some(&m), None, &mut out).expect("emit");
    assert_eq!(out, XL2TPD_SCCRQ);
}

#[test]
fn xl2tpd_icrq_and_iccn() {
    let (h, m) = parse_control(XL2TPD_ICRQ, None).expect("valid ICRQ");
    let m = m.expect("message");
    assert_eq!((h.tunnel_id, h.session_id), (0x1234, 0));
    assert_eq!(m.message_type, MessageType::Icrq);
    assert_eq!(m.assigned_session_id(), Some(0x2b67));
    assert_eq!(m.missing_mandatory(), None);
    let (_, m) = parse_control(XL2TPD_ICCN, None).expect("valid ICCN");
    let m = m.expect("message");
    assert_eq!(m.message_type, MessageType::Iccn);
    assert_eq!(m.missing_mandatory(), None);
    assert!(m
        .avps
        .iter()
        .any(|a| a.value == AvpValue::RxConnectSpeed(10_000_000)));
    assert_eq!(m.message_type.scope(), Scope::Session);
}

#[test]
fn missing_mandatory_avp_is_named() {
    // §6.1: SCCRQ without Assigned Tunnel ID.
    let m = Message::new(MessageType::Sccrq)
        .with(AvpValue::ProtocolVersion {
            version: 1,
            revision: 0,
        })
        .with(AvpValue::HostName(b"h".to_vec()))
        .with(AvpValue::FramingCapabilities(3));
    assert_eq!(m.missing_mandatory(), Some(attr::ASSIGNED_TUNNEL_ID));
}

#[test]
fn message_type_must_come_first() {
    // §4.4.1: the Message Type AVP MUST be the first AVP.
    let body = [0x80, 0x08, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01];
    assert_eq!(
        Message::parse(&body, None),
        Err(MessageError::NoMessageType)
    );
}

#[test]
fn hidden_avp_with_wrong_secret_is_clear_error() {
    let m = Message {
        message_type: MessageType::Iccn,
        type_criticality: Criticality::Mandatory,
        avps: vec![
            Avp::new(AvpValue::RandomVector(vec![0x33; 16])),
            Avp {
                criticality: Criticality::Optional,
                visibility: Visibility::Hidden,
                value: AvpValue::ProxyAuthenName(b"alice@example.net.and.more".to_vec()),
            },
        ],
    };
    let mut body = Vec::new();
    m.emit(Some(b"right"), &mut body).expect("emit");
    assert_eq!(Message::parse(&body, Some(b"right")), Ok(m));
    assert!(matches!(
        Message::parse(&body, Some(b"wrong")),
        Err(MessageError::Avp(AvpError::Hidden(_)))
    ));
    assert!(matches!(
        Message::parse(&body, None),
        Err(MessageError::Avp(AvpError::Hidden(
            crate::l2tp::hidden::HiddenError::NoSecret
        )))
    ));
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..max)
}

pub(crate) fn arb_value() -> impl Strategy<Value = AvpValue> {
    use AvpValue as A;
    let a = prop_oneof![
        (any::<u16>(), proptest::option::of(any::<u16>()), bytes(8)).prop_map(|(r, e, m)| {
            A::ResultCode(ResultCodeValue {
                result: r,
                error: e,
                message: if e.is_some() { m } else { Vec::new() },
            })
        }),
        (any::<u8>(), any::<u8>()).prop_map(|(v, r)| A::ProtocolVersion {
            version: v,
            revision: r
        }),
        any::<u32>().prop_map(A::FramingCapabilities),
        any::<u32>().prop_map(A::BearerCapabilities),
        any::<[u8; 8]>().prop_map(A::TieBreaker),
        any::<u16>().prop_map(A::FirmwareRevision),
        bytes(20).prop_map(A::HostName),
        bytes(20).prop_map(A::VendorName),
        any::<u16>().prop_map(A::AssignedTunnelId),
        any::<u16>().prop_map(A::ReceiveWindowSize),
        bytes(20).prop_map(A::Challenge),
        (any::<u16>(), any::<u8>(), bytes(5)).prop_map(|(c, m, a)| A::Q931Cause {
            cause: c,
            message: m,
            advisory: a
        }),
        any::<[u8; 16]>().prop_map(A::ChallengeResponse),
        any::<u16>().prop_map(A::AssignedSessionId),
        any::<u32>().prop_map(A::CallSerialNumber),
        any::<u32>().prop_map(A::MinimumBps),
    ];
    let b = prop_oneof![
        any::<u32>().prop_map(A::MaximumBps),
        any::<u32>().prop_map(A::BearerType),
        any::<u32>().prop_map(A::FramingType),
        bytes(12).prop_map(A::CalledNumber),
        bytes(12).prop_map(A::CallingNumber),
        bytes(12).prop_map(A::SubAddress),
        any::<u32>().prop_map(A::TxConnectSpeed),
        any::<u32>().prop_map(A::PhysicalChannelId),
        bytes(30).prop_map(A::InitialReceivedLcpConfReq),
        bytes(30).prop_map(A::LastSentLcpConfReq),
        bytes(30).prop_map(A::LastReceivedLcpConfReq),
        any::<u16>().prop_map(A::ProxyAuthenType),
        bytes(20).prop_map(A::ProxyAuthenName),
        bytes(20).prop_map(A::ProxyAuthenChallenge),
        any::<u8>().prop_map(A::ProxyAuthenId),
        bytes(20).prop_map(A::ProxyAuthenResponse),
    ];
    let c = prop_oneof![
        any::<[u32; 6]>().prop_map(|e| A::CallErrors(CallErrors {
            crc_errors: e[0],
            framing_errors: e[1],
            hardware_overruns: e[2],
            buffer_overruns: e[3],
            timeout_errors: e[4],
            alignment_errors: e[5],
        })),
        (any::<u32>(), any::<u32>()).prop_map(|(s, r)| A::Accm { send: s, recv: r }),
        bytes(16).prop_map(A::RandomVector),
        bytes(10).prop_map(A::PrivateGroupId),
        any::<u32>().prop_map(A::RxConnectSpeed),
        Just(A::SequencingRequired),
        (any::<u16>(), any::<u16>(), any::<u8>(), bytes(6)).prop_map(|(c, p, d, m)| {
            A::PppDisconnectCause(DisconnectCause {
                code: c,
                protocol: p,
                direction: d,
                message: m,
            })
        }),
        (any::<u16>(), any::<u32>()).prop_map(|(f, t)| A::FailoverCapability {
            flags: f,
            recovery_time: t
        }),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| A::TunnelRecovery {
            recover_tunnel: a,
            recover_remote_tunnel: b
        }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(a, b)| A::SuggestedControlSequence { ns: a, nr: b }),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| A::FailoverSessionState {
            sender_session: a,
            receiver_session: b
        }),
        (1u16..0xffff, 0x50u16..0x400, bytes(10)).prop_map(|(v, t, value)| A::Unknown {
            vendor_id: v,
            attr_type: t,
            value
        }),
        (0x50u16..0x400, bytes(10)).prop_map(|(t, value)| A::Unknown {
            vendor_id: 0,
            attr_type: t,
            value
        }),
    ];
    prop_oneof![a, b, c]
}

fn arb_type() -> impl Strategy<Value = MessageType> {
    (0u16..0x14).prop_map(MessageType::from)
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        arb_type(),
        any::<bool>(),
        proptest::collection::vec((arb_value(), any::<bool>(), any::<bool>()), 0..8),
    )
        .prop_map(|(t, m, avps)| {
            let mut out = vec![Avp::new(AvpValue::RandomVector(vec![0x42; 16]))];
            out.extend(avps.into_iter().map(|(value, mandatory, hidden)| Avp {
                criticality: if mandatory {
                    Criticality::Mandatory
                } else {
                    Criticality::Optional
                },
                visibility: if hidden && !matches!(value, AvpValue::RandomVector(_)) {
                    Visibility::Hidden
                } else {
                    Visibility::Clear
                },
                value,
            }));
            Message {
                message_type: t,
                type_criticality: if m {
                    Criticality::Mandatory
                } else {
                    Criticality::Optional
                },
                avps: out,
            }
        })
}

proptest! {
    #[test]
    fn parse_emit_roundtrip_every_message(m in arb_message(), tid in any::<u16>(), sid in any::<u16>()) {
        let h = Header::control(tid, sid, 7, 9);
        let mut out = Vec::new();
        emit_control(&h, Some(&m), Some(b"shared"), &mut out).expect("emit");
        let (h2, m2) = parse_control(&out, Some(b"shared")).expect("parse own output");
        prop_assert_eq!(h2, h);
        prop_assert_eq!(m2, Some(m));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = parse_control(&bytes, Some(b"k"));
        let _ = Message::parse(&bytes, Some(b"k"));
        let _ = Message::parse(&bytes, None);
    }

    #[test]
    fn mutated_sccrq_never_panics(at in 0usize..0x65, byte in any::<u8>()) {
        let mut d = XL2TPD_SCCRQ.to_vec();
        d[at] = byte;
        if let Ok((_, Some(m))) = parse_control(&d, None) {
            let _ = (m.missing_mandatory(), m.unknown_mandatory());
        }
    }
}
