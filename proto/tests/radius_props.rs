//! Property tests for proto::radius: `parse(emit(x)) == x` for packets
//! built from every kind of attribute value, no panic on arbitrary bytes
//! (packet parser, client, dynamic-authorization checks), and the
//! User-Password hide/unhide round trip (RFC 2865 §5.2) for any password.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use lns_proto::entropy::Seeded;
use lns_proto::radius::attribute::{
    Attribute, AttributeType, ChapPassword, HiddenPassword, Ipv6Prefix, Tagged, TaggedString, Vsa,
};
use lns_proto::radius::crypto::{hide_password, unhide_password};
use lns_proto::radius::signing::{
    encode_reply, verify_reply, verify_request, MessageAuthenticatorPolicy,
};
use lns_proto::radius::values::{AcctStatusType, ErrorCause, NasPortType, ServiceType, TunnelType};
use lns_proto::radius::{dae, Client, ClientConfig, Code, Packet, PacketView, Password, Request};
use lns_proto::radius::{Secret, ServerConfig};
use lns_proto::time::Timestamp;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,20}"
}

fn octets(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn prefix() -> impl Strategy<Value = Ipv6Prefix> {
    (any::<u128>(), 0u8..=128).prop_map(|(bits, len)| {
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(len))
        };
        Ipv6Prefix::new(Ipv6Addr::from(bits & mask), len).expect("masked prefix is valid")
    })
}

fn vsa() -> impl Strategy<Value = Vsa> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| Vsa::MsPrimaryDnsServer(Ipv4Addr::from(o))),
        any::<[u8; 4]>().prop_map(|o| Vsa::MsSecondaryDnsServer(Ipv4Addr::from(o))),
        // Not Microsoft, so never a typed VSA.
        (0u32..0x0100_0000, octets(40))
            .prop_filter("not the MS vendor", |(v, _)| *v != 0x137)
            .prop_map(|(vendor_id, data)| Vsa::Other { vendor_id, data }),
    ]
}

fn tagged_string() -> impl Strategy<Value = TaggedString> {
    prop_oneof![
        (0u8..=0x1f, octets(30)).prop_map(|(t, value)| TaggedString {
            tag: Some(t),
            value
        }),
        (0x20u8..=0xff, octets(30)).prop_map(|(first, mut rest)| {
            rest.insert(0, first);
            TaggedString {
                tag: None,
                value: rest,
            }
        }),
    ]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        text().prop_map(Attribute::UserName),
        text().prop_map(Attribute::ReplyMessage),
        text().prop_map(Attribute::AcctSessionId),
        text().prop_map(Attribute::FramedIpv6Route),
        octets(48).prop_map(|v| Attribute::UserPassword(HiddenPassword(v))),
        octets(60).prop_map(Attribute::Class),
        octets(60).prop_map(Attribute::State),
        octets(16).prop_map(Attribute::ChapChallenge),
        (any::<u8>(), any::<[u8; 16]>()).prop_map(|(ident, response)| Attribute::ChapPassword(
            ChapPassword { ident, response }
        )),
        any::<[u8; 4]>().prop_map(|o| Attribute::NasIpAddress(Ipv4Addr::from(o))),
        any::<[u8; 4]>().prop_map(|o| Attribute::FramedIpAddress(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| Attribute::NasIpv6Address(Ipv6Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| Attribute::DnsServerIpv6Address(Ipv6Addr::from(o))),
        any::<u32>().prop_map(Attribute::NasPort),
        any::<u32>().prop_map(Attribute::AcctInputGigawords),
        any::<u32>().prop_map(Attribute::EventTimestamp),
        any::<u32>().prop_map(|v| Attribute::ServiceType(ServiceType::from(v))),
        any::<u32>().prop_map(|v| Attribute::NasPortType(NasPortType::from(v))),
        any::<u32>().prop_map(|v| Attribute::AcctStatusType(AcctStatusType::from(v))),
        any::<u32>().prop_map(|v| Attribute::ErrorCause(ErrorCause::from(v))),
        (any::<u8>(), 0u32..0x0100_0000).prop_map(|(tag, v)| Attribute::TunnelType(Tagged {
            tag,
            value: TunnelType::from(v)
        })),
        tagged_string().prop_map(Attribute::TunnelClientEndpoint),
        any::<[u8; 16]>().prop_map(Attribute::MessageAuthenticator),
        any::<[u8; 8]>().prop_map(Attribute::FramedInterfaceId),
        prefix().prop_map(Attribute::FramedIpv6Prefix),
        prefix().prop_map(Attribute::DelegatedIpv6Prefix),
        vsa().prop_map(Attribute::VendorSpecific),
        (any::<u8>(), octets(40))
            .prop_filter("unknown type", |(k, _)| {
                matches!(AttributeType::from(*k), AttributeType::Unknown(_))
            })
            .prop_map(|(kind, value)| Attribute::Raw { kind, value }),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<[u8; 16]>(),
        prop::collection::vec(attribute(), 0..16),
    )
        .prop_map(|(code, identifier, authenticator, attributes)| Packet {
            code: Code::from(code),
            identifier,
            authenticator,
            attributes,
        })
}

proptest! {
    #[test]
    fn parse_of_emit_is_identity(p in packet()) {
        let bytes = p.to_bytes().expect("generated packets fit");
        let view = PacketView::new_checked(&bytes).expect("emitted packets are valid");
        prop_assert_eq!(view.length(), bytes.len());
        prop_assert_eq!(Packet::parse(&bytes), Ok(p));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in octets(600)) {
        if let Ok(p) = Packet::parse(&bytes) {
            // Whatever parses re-emits to the same packet prefix, except
            // that typed values may be re-encoded canonically.
            let again = p.to_bytes().expect("parsed packets fit");
            prop_assert_eq!(Packet::parse(&again), Ok(p));
        }
        let _ = dae::verify_request(&bytes, &Secret::new("s"), MessageAuthenticatorPolicy::Required);
    }

    #[test]
    fn plausible_headers_never_panic(body in octets(300), code in any::<u8>(), id in any::<u8>(), extra in 0usize..8) {
        // A right Length field so the attribute walker gets exercised.
        let mut bytes = vec![code, id, 0, 0];
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&body);
        let len = (bytes.len() as u16).to_be_bytes();
        bytes[2..4].copy_from_slice(&len);
        bytes.extend(std::iter::repeat_n(0xee, extra));
        if let Ok(v) = PacketView::new_checked(&bytes) {
            let total: usize = v.attributes().map(|a| a.value.len() + 2).sum();
            prop_assert_eq!(total + 20, v.length());
        }
    }

    #[test]
    fn client_survives_arbitrary_datagrams(datagrams in prop::collection::vec(octets(120), 0..20)) {
        let server: SocketAddr = "192.0.2.1:1812".parse().expect("addr");
        let mut c = Client::new(ClientConfig {
            auth_servers: vec![ServerConfig {
                addr: server,
                secret: Secret::new("s"),
                timeout: Duration::from_secs(1),
                tries: 2,
            }],
            acct_servers: vec![],
            dead_time: Duration::ZERO,
        });
        let mut e = Seeded::new(9);
        let mut r = Request::new(Code::AccessRequest);
        r.attributes.push(Attribute::UserName("u".into()));
        c.send_access(Timestamp::EPOCH, r, &mut e).expect("encodable");
        let sent = c.poll_transmit().expect("one transmit");
        for mut d in datagrams {
            // Half the time, aim at the identifier in flight.
            if d.len() > 1 && d[0] & 1 == 0 {
                d[1] = sent.payload[1];
            }
            c.handle_datagram(Timestamp::EPOCH, server, &d);
        }
        prop_assert_eq!(c.in_flight(), 1, "nothing forged completes the request");
    }

    #[test]
    fn what_we_sign_verifies_and_any_flipped_bit_does_not(
        attrs in prop::collection::vec(attribute(), 0..8),
        code in prop_oneof![
            Just(Code::AccessRequest),
            Just(Code::AccountingRequest),
            Just(Code::DisconnectRequest),
            Just(Code::CoaRequest),
            Just(Code::StatusServer),
        ],
        secret in octets(32),
        ra in any::<[u8; 16]>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let secret = Secret::new(secret);
        let mut r = Request::new(code);
        r.attributes = attrs;
        let mut out = Vec::new();
        r.encode(7, ra, &secret, &mut out).expect("generated requests fit");
        let view = PacketView::new_checked(&out).expect("valid");
        let policy = MessageAuthenticatorPolicy::Required;
        prop_assert_eq!(verify_request(&view, &secret, policy), Ok(()));
        // The reply side: whatever the server answers verifies against
        // what we sent.
        let answer = Packet {
            code: Code::AccessAccept,
            identifier: 7,
            authenticator: [0; 16],
            attributes: vec![],
        };
        let mut reply = Vec::new();
        encode_reply(&answer, &view.authenticator(), &secret, &mut reply).expect("fits");
        let rv = PacketView::new_checked(&reply).expect("valid");
        prop_assert_eq!(verify_reply(&rv, &view.authenticator(), &secret, policy), Ok(()));
        // One flipped bit anywhere past the header's Code and Length breaks
        // the request: the MD5 or HMAC catches it. (Access-Request has a
        // random authenticator only the HMAC covers.)
        let mut bad = out.clone();
        let i = 4 + flip.index(bad.len() - 4);
        bad[i] ^= 0x01;
        if let Ok(v) = PacketView::new_checked(&bad) {
            prop_assert!(verify_request(&v, &secret, policy).is_err());
        }
    }

    #[test]
    fn hide_then_unhide_is_identity(
        mut pw in octets(128),
        secret in octets(40),
        ra in any::<[u8; 16]>(),
    ) {
        // RFC 2865 §5.2 pads with NULs, so trailing NULs cannot survive.
        while pw.last() == Some(&0) {
            pw.pop();
        }
        let (pw, secret) = (Password::new(pw), Secret::new(secret));
        let hidden = hide_password(&pw, &secret, &ra).expect("<= 128 octets");
        prop_assert_eq!(hidden.len() % 16, 0);
        prop_assert!(!hidden.is_empty());
        prop_assert_eq!(unhide_password(&hidden, &secret, &ra), Ok(pw));
    }
}
