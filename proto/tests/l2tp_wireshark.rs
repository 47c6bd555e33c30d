//! Wireshark agrees with our encoder: a pcap of a complete LAC <-> LNS
//! exchange (every message type, challenge in both directions, hidden AVPs,
//! data messages with and without the L, S and O bits) decodes in tshark
//! with no malformed packet and no expert error. Prints SKIPPED without tshark.

mod support;

use lns_proto::entropy::Seeded;
use lns_proto::l2tp::avp_types::{AvpValue, CallErrors, DisconnectCause};
use lns_proto::l2tp::data::{write_data_header, DataOptions};
use lns_proto::l2tp::header::{Header, LengthField, Priority, Sequence};
use lns_proto::l2tp::message::{emit_control, Message, MessageType};
use lns_proto::l2tp::{
    CallInfo, CdnResult, Endpoint, EndpointConfig, ErrorCode, Event, Hiding, PeerSettings,
    PeerTable, ProxyAuthType, ProxyInfo, Side, StopCcnResult, TunnelAuth,
};
use lns_proto::time::Timestamp;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;
use support::{pcap::PcapWriter, tshark};

const LAC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 1701);
const LNS: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 1701);

struct Capture {
    lac: Endpoint,
    lns: Endpoint,
    now: Timestamp,
    e: Seeded,
    pcap: PcapWriter,
    lac_events: Vec<Event>,
    lns_events: Vec<Event>,
}

impl Capture {
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.lac.poll_transmit() {
                self.now = self.now + Duration::from_millis(1);
                self.pcap.udp(self.now.unix_micros(), LAC, LNS, &t.payload);
                self.lns.handle_datagram(
                    self.now,
                    SocketAddr::V4(LNS),
                    SocketAddr::V4(LAC),
                    &t.payload,
                    &mut self.e,
                );
                moved = true;
            }
            while let Some(t) = self.lns.poll_transmit() {
                self.now = self.now + Duration::from_millis(1);
                self.pcap.udp(self.now.unix_micros(), LNS, LAC, &t.payload);
                self.lac.handle_datagram(
                    self.now,
                    SocketAddr::V4(LAC),
                    SocketAddr::V4(LNS),
                    &t.payload,
                    &mut self.e,
                );
                moved = true;
            }
            self.lac_events
                .extend(std::iter::from_fn(|| self.lac.poll_event()));
            self.lns_events
                .extend(std::iter::from_fn(|| self.lns.poll_event()));
            if !moved {
                return;
            }
        }
    }

    fn wait(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = [self.lac.poll_timeout(), self.lns.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.lac.handle_timeout(self.now, &mut self.e);
            self.lns.handle_timeout(self.now, &mut self.e);
            self.pump();
        }
        self.now = end;
    }
}

/// LCP Echo-Request in PPP HDLC-like framing (FF 03, protocol C021).
const LCP_ECHO: [u8; 12] = [
    0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04,
];

#[test]
fn tshark_decodes_a_complete_exchange_cleanly() {
    let settings = PeerSettings {
        secret: Some(b"wireshark-secret".to_vec()),
        auth: TunnelAuth::Required,
        hiding: Hiding::Sensitive,
    };
    let mut lns_cfg = EndpointConfig::new(Side::Lns, b"lns1");
    lns_cfg.peers = PeerTable::allow_all(settings.clone());
    let mut c = Capture {
        lac: Endpoint::new(EndpointConfig::new(Side::Lac, b"lac1")),
        lns: Endpoint::new(lns_cfg),
        now: Timestamp::from_unix_millis(1_700_000_000_000),
        e: Seeded::new(77),
        pcap: PcapWriter::new(),
        lac_events: Vec::new(),
        lns_events: Vec::new(),
    };
    // SCCRQ (challenge) / SCCRP (response + challenge) / SCCCN (response) / ZLB.
    let lac_t = c
        .lac
        .open_tunnel(
            c.now,
            SocketAddr::V4(LAC),
            SocketAddr::V4(LNS),
            settings,
            &mut c.e,
        )
        .expect("open");
    c.pump();
    c.wait(Duration::from_millis(200));
    let call = CallInfo {
        bearer_type: Some(0),
        calling_number: Some(b"0123456789".into()),
        called_number: Some(b"3615".into()),
        tx_connect_speed: Some(100_000_000),
        rx_connect_speed: Some(100_000_000),
        framing_type: Some(1),
        proxy: Some(Box::new(ProxyInfo {
            initial_received_lcp_confreq: Some(vec![
                0x01, 0x01, 0x00, 0x0a, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78,
            ]),
            last_sent_lcp_confreq: Some(vec![0x01, 0x01, 0x00, 0x09, 0x03, 0x05, 0xc2, 0x23, 0x05]),
            last_received_lcp_confreq: Some(vec![
                0x01, 0x02, 0x00, 0x0a, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78,
            ]),
            authen_type: Some(ProxyAuthType::Chap),
            authen_name: Some(b"alice@isp.example".to_vec()),
            authen_challenge: Some(vec![0x5a; 16]),
            authen_id: Some(0x01),
            authen_response: Some(vec![0xa5; 16]),
        })),
        ..CallInfo::default()
    };
    // ICRQ / ICRP / ICCN with hidden AVPs, then the ZLB ack.
    let lac_s = c
        .lac
        .open_session(c.now, lac_t, call, &mut c.e)
        .expect("session");
    c.pump();
    c.wait(Duration::from_millis(200));
    let (lns_t, lns_s, route) = c
        .lns_events
        .iter()
        .find_map(|e| match e {
            Event::SessionUp {
                tunnel,
                session,
                route,
                ..
            } => Some((*tunnel, *session, *route)),
            _ => None,
        })
        .expect("session up on the LNS");
    // SLI from the LNS, WEN from the LAC.
    c.lns
        .set_link_info(c.now, lns_t, lns_s, 0, 0xffff_ffff, &mut c.e)
        .expect("sli");
    c.pump();
    c.lac
        .wan_error_notify(
            c.now,
            lac_t,
            lac_s,
            CallErrors {
                crc_errors: 3,
                ..CallErrors::default()
            },
            &mut c.e,
        )
        .expect("wen");
    c.pump();
    c.wait(Duration::from_millis(200));
    // HELLO after the idle time.
    c.wait(Duration::from_secs(61));

    // Data messages: minimal, with L, with S, with O (and P), all four.
    let variants = [
        DataOptions::MINIMAL,
        DataOptions {
            length: LengthField::Present,
            ..DataOptions::MINIMAL
        },
        DataOptions {
            sequence: Some(Sequence { ns: 1, nr: 0 }),
            ..DataOptions::MINIMAL
        },
        DataOptions {
            offset_size: Some(2),
            priority: Priority::High,
            ..DataOptions::MINIMAL
        },
        DataOptions {
            length: LengthField::Present,
            sequence: Some(Sequence { ns: 2, nr: 0 }),
            offset_size: Some(0),
            priority: Priority::Normal,
        },
    ];
    for opts in variants {
        let mut buf = [0u8; 64];
        let n = write_data_header(
            &mut buf,
            route.peer_tunnel_id,
            route.peer_session_id,
            opts,
            LCP_ECHO.len(),
        )
        .expect("fits");
        buf[n..n + LCP_ECHO.len()].copy_from_slice(&LCP_ECHO);
        c.now = c.now + Duration::from_millis(1);
        c.pcap
            .udp(c.now.unix_micros(), LNS, LAC, &buf[..n + LCP_ECHO.len()]);
    }

    // Outgoing-call messages: OCRQ is refused by the LNS with CDN; OCRP and
    // OCCN as a LAC would answer (captured only, to check their encoding).
    let lns_tunnel = c.lns.tunnel(lns_t).expect("tunnel");
    let (ns, nr) = (lns_tunnel.reliable.nr, lns_tunnel.reliable.ns_next);
    let ocrq = Message::new(MessageType::Ocrq)
        .with(AvpValue::AssignedSessionId(0x0777))
        .with(AvpValue::CallSerialNumber(9))
        .with(AvpValue::MinimumBps(9600))
        .with(AvpValue::MaximumBps(100_000_000))
        .with(AvpValue::BearerType(2))
        .with(AvpValue::FramingType(1))
        .with(AvpValue::CalledNumber(b"3615".to_vec()));
    let mut d = Vec::new();
    emit_control(
        &Header::control(lns_t, 0, ns, nr),
        Some(&ocrq),
        None,
        &mut d,
    )
    .expect("emit");
    c.pcap.udp(c.now.unix_micros(), LAC, LNS, &d);
    c.lns.handle_datagram(
        c.now,
        SocketAddr::V4(LNS),
        SocketAddr::V4(LAC),
        &d,
        &mut c.e,
    );
    c.pump();
    for m in [
        Message::new(MessageType::Ocrp).with(AvpValue::AssignedSessionId(0x0778)),
        Message::new(MessageType::Occn)
            .with(AvpValue::TxConnectSpeed(64_000))
            .with(AvpValue::FramingType(1)),
    ] {
        let mut d = Vec::new();
        emit_control(
            &Header::control(0x0999, 0x0777, 0, 0),
            Some(&m),
            None,
            &mut d,
        )
        .expect("emit");
        c.now = c.now + Duration::from_millis(1);
        c.pcap.udp(c.now.unix_micros(), LAC, LNS, &d);
    }

    // CDN with an RFC 3145 cause, then StopCCN, then the hold-down acks.
    let cause = DisconnectCause {
        code: 0x0002,
        protocol: 0xc021,
        direction: 1,
        message: b"bye".to_vec(),
    };
    c.lns
        .close_session(
            c.now,
            lns_t,
            lns_s,
            CdnResult::Administrative,
            ErrorCode::NoError,
            Some(cause),
            &mut c.e,
        )
        .expect("cdn");
    c.pump();
    c.lac
        .close_tunnel(c.now, lac_t, StopCcnResult::ClearConnection, &mut c.e)
        .expect("stop");
    c.pump();
    c.wait(Duration::from_secs(1));

    assert!(c.lac_events.iter().any(|e| matches!(
        e,
        Event::SetLinkInfo {
            recv_accm: 0xffff_ffff,
            ..
        }
    )));
    assert!(c
        .lns_events
        .iter()
        .any(|e| matches!(e, Event::WanErrorNotify { .. })));
    assert!(c.lns_events.iter().any(|e| matches!(
        e,
        Event::SessionRefused {
            result: CdnResult::NoFacilitiesPermanent,
            ..
        }
    )));

    if !tshark::available() {
        eprintln!("SKIPPED: tshark is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lns-l2tp-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("l2tp.pcap");
    c.pcap.write_to(&path).expect("write pcap");
    let v = tshark::decode(&path).expect("tshark present");
    assert!(v.problems.is_empty(), "tshark problems: {:?}", v.problems);
    for needle in [
        "Start_Control_Request",
        "Start_Control_Reply",
        "Start_Control_Connected",
        "Stop_Control_Notification",
        "Hello",
        "Incoming_Call_Request",
        "Incoming_Call_Reply",
        "Incoming_Call_Connected",
        "Call_Disconnect_Notification",
        "WAN_Error_Notify",
        "Set_Link_Info",
        "Outgoing_Call_Request",
        "Outgoing_Call_Reply",
        "Outgoing_Call_Connected",
        "Challenge",
        "Random Vector",
        "Echo Request",
    ] {
        assert!(v.decode.contains(needle), "tshark did not show {needle:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
