//! lac-sim's IPv6 subscriber: what a home router does once IPV6CP is open.
//! It sends a Router Solicitation, forms a SLAAC address from the first
//! autonomous /64 of the Router Advertisement and its IPV6CP interface
//! identifier (RFC 4862 §5.5.3), asks DHCPv6 for IA_NA and IA_PD
//! (Solicit, Advertise, Request, Reply: RFC 8415 §18.2), and then sends
//! UDP probes to the IPv6 reflector from its SLAAC address and from an
//! address inside the delegated prefix (`prefix::1`, as a LAN host behind
//! the router would), counting the echoed replies of each.
//!
//! Contract: sans IO. The tunnel task feeds received IPv6 packets
//! ([`V6Client::handle`]) and timeouts ([`V6Client::handle_timeout`]) and
//! drains whole IPv6 packets with [`V6Client::poll_transmit`]. Every
//! packet is built with `lns-proto` (the same wire code the LNS uses).

use std::collections::VecDeque;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::Duration;

use lns_proto::dhcpv6::{
    emit_udp_packet, parse_udp_packet, Dhcpv6Message, Dhcpv6Option, Dhcpv6Packet, Duid, Ia,
    MessageType, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, CLIENT_PORT, SERVER_PORT,
};
use lns_proto::nd::{
    emit_nd_packet, link_local_address, parse_nd_packet, NdMessage, NdOption, RouterSolicitation,
    ALL_ROUTERS,
};
use lns_proto::time::Timestamp;

use super::probe::{ProbeId, MAGIC, PROBE_PORT};

/// Retransmission interval of RS and DHCPv6 messages (fixed: a test
/// client on a fast link, not RFC 8415 §15 backoff).
pub const RETRANSMIT: Duration = Duration::from_secs(1);
/// IAIDs of our IA_NA and IA_PD.
const IAID_NA: u32 = 1;
const IAID_PD: u32 = 2;

/// Where the DHCPv6 exchange stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dhcp {
    Soliciting,
    Requesting(Duid),
    /// Bound to the server with this DUID.
    Bound(Duid),
    /// A Renew to that server is unanswered.
    Renewing(Duid),
}

/// What the last Reply to one of our Renews held (RFC 8415 §18.2.10.1):
/// the leases with a non-zero valid lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewReply {
    /// When it arrived.
    pub at: Timestamp,
    /// The IA_NA address it extended, if any.
    pub ia_na: Option<Ipv6Addr>,
    /// The IA_PD prefix it extended, if any.
    pub ia_pd: Option<(Ipv6Addr, u8)>,
}

/// What the client learnt and counted (for the report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V6Outcome {
    /// The /64 of the Router Advertisement.
    pub prefix: Option<Ipv6Addr>,
    /// Our SLAAC address.
    pub slaac: Option<Ipv6Addr>,
    /// The IA_NA address.
    pub ia_na: Option<Ipv6Addr>,
    /// The IA_PD prefix and length.
    pub ia_pd: Option<(Ipv6Addr, u8)>,
    /// The router (the LNS's link-local address, the RA's source).
    pub router: Option<Ipv6Addr>,
    /// Probes from the SLAAC address: sent, replies.
    pub sent: u64,
    /// See `sent`.
    pub received: u64,
    /// Probes from inside the delegated prefix: sent, replies.
    pub sent_pd: u64,
    /// See `sent_pd`.
    pub received_pd: u64,
    /// The last Router Advertisement: when, and the /64 it advertised.
    pub last_ra: Option<(Timestamp, Ipv6Addr)>,
    /// The last Reply to a Renew.
    pub last_renew: Option<RenewReply>,
    /// The last echoed probe from the SLAAC address.
    pub last_echo: Option<Timestamp>,
    /// The last echoed probe from inside the delegated prefix.
    pub last_echo_pd: Option<Timestamp>,
}

/// One subscriber's IPv6 stack.
#[derive(Debug, Clone)]
pub struct V6Client {
    session: u32,
    link_local: Ipv6Addr,
    interface_id: u64,
    duid: Duid,
    xid: u32,
    dhcp: Dhcp,
    retransmit_at: Option<Timestamp>,
    refresh: Option<Duration>,
    refresh_at: Option<Timestamp>,
    seq: u64,
    out: VecDeque<Vec<u8>>,
    /// What was learnt so far.
    pub outcome: V6Outcome,
}

impl V6Client {
    /// A client for global session `session` whose IPV6CP identifier is
    /// `interface_id`; sends RS and Solicit at once.
    pub fn start(session: u32, interface_id: u64, now: Timestamp) -> V6Client {
        let mut c = V6Client {
            session,
            link_local: link_local_address(interface_id.to_be_bytes()),
            interface_id,
            // DUID-LL with a MAC derived from the session number.
            duid: Duid::Ll {
                hardware_type: 1,
                link_layer_address: [&[0x02, 0x00][..], &session.to_be_bytes()].concat(),
            },
            xid: session & 0x00ff_ffff,
            dhcp: Dhcp::Soliciting,
            retransmit_at: None,
            refresh: None,
            refresh_at: None,
            seq: 0,
            out: VecDeque::new(),
            outcome: V6Outcome::default(),
        };
        c.send_rs();
        c.send_dhcp();
        c.retransmit_at = Some(now + RETRANSMIT);
        c
    }

    /// Once bound, solicits an RA and renews the leases every `every`; the
    /// first refresh comes after `first` (spread refreshes of many clients).
    pub fn with_refresh(mut self, every: Duration, first: Duration, now: Timestamp) -> Self {
        self.refresh = Some(every);
        self.refresh_at = Some(now + first.max(RETRANSMIT));
        self
    }

    /// SLAAC address and IA_PD both obtained.
    pub fn ready(&self) -> bool {
        self.outcome.slaac.is_some() && matches!(self.dhcp, Dhcp::Bound(_) | Dhcp::Renewing(_))
    }

    /// When [`V6Client::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let refresh = self.refresh_at.filter(|_| self.ready());
        match (self.retransmit_at, refresh) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmits what is unanswered; refreshes when due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.ready() {
            if let (Some(at), Some(every)) = (self.refresh_at, self.refresh) {
                if at <= now {
                    // RFC 4861 §6.3.7 (a host may solicit again) and
                    // RFC 8415 §18.2.4 (Renew to the server that bound us).
                    self.send_rs();
                    if let Dhcp::Bound(server) = &self.dhcp {
                        self.dhcp = Dhcp::Renewing(server.clone());
                    }
                    self.xid = self.xid.wrapping_add(1) & 0x00ff_ffff;
                    self.send_dhcp();
                    self.refresh_at = Some(now + every);
                }
            }
        }
        if self.retransmit_at.is_none_or(|t| t > now) {
            return;
        }
        if self.outcome.slaac.is_none() {
            self.send_rs();
        }
        if !self.ready() {
            self.send_dhcp();
        }
        self.retransmit_at = (!self.ready()).then(|| now + RETRANSMIT);
    }

    /// Queues one malformed DHCPv6 message (a Solicit whose option
    /// overruns it, RFC 8415 §16: the server must ignore it): lets tests
    /// see lnsd count it (`lnsd_ipv6_ignored_total{reason="dhcpv6_malformed"}`).
    pub fn send_malformed_dhcp(&mut self) {
        let payload = [0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x40, 0xde, 0xad];
        let mut p = Vec::new();
        if emit_udp_packet(
            self.link_local,
            ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            CLIENT_PORT,
            SERVER_PORT,
            &payload,
            &mut p,
        )
        .is_ok()
        {
            self.out.push_back(p);
        }
    }

    /// The next IPv6 packet to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// Handles one IPv6 packet from the LNS, received at `now`.
    pub fn handle(&mut self, now: Timestamp, packet: &[u8]) {
        if let Ok(rx) = parse_nd_packet(packet) {
            if let NdMessage::RouterAdvertisement(ra) = rx.message {
                self.on_ra(now, rx.src, &ra.options);
            }
            return;
        }
        let Ok(udp) = parse_udp_packet(packet) else {
            return;
        };
        if udp.src_port == SERVER_PORT && udp.dst_port == CLIENT_PORT {
            if let Ok(Dhcpv6Packet::Message(m)) = Dhcpv6Packet::parse_bytes(udp.payload) {
                self.on_dhcp(now, &m);
            }
            return;
        }
        if udp.dst_port != PROBE_PORT || udp.payload.get(..4) != Some(&MAGIC[..]) {
            return;
        }
        let names_us = udp
            .payload
            .get(4..8)
            .is_some_and(|b| b == self.session.to_be_bytes());
        if !names_us {
            return;
        }
        if Some(udp.dst) == self.outcome.slaac {
            self.outcome.received += 1;
            self.outcome.last_echo = Some(now);
        } else if Some(udp.dst) == self.pd_host() {
            self.outcome.received_pd += 1;
            self.outcome.last_echo_pd = Some(now);
        }
    }

    /// Sends one probe from the SLAAC address and one from inside the
    /// delegated prefix to `reflector`, when those addresses are known.
    pub fn probe(&mut self, reflector: SocketAddrV6) {
        let sources = [self.outcome.slaac, self.pd_host()];
        for (k, src) in sources.into_iter().enumerate() {
            let Some(src) = src else { continue };
            let id = ProbeId {
                session: self.session,
                seq: self.seq,
            };
            let mut payload = MAGIC.to_vec();
            payload.extend_from_slice(&id.session.to_be_bytes());
            payload.extend_from_slice(&id.seq.to_be_bytes());
            let mut p = Vec::new();
            if emit_udp_packet(
                src,
                *reflector.ip(),
                PROBE_PORT,
                reflector.port(),
                &payload,
                &mut p,
            )
            .is_ok()
            {
                self.out.push_back(p);
                if k == 0 {
                    self.outcome.sent += 1;
                } else {
                    self.outcome.sent_pd += 1;
                }
            }
        }
        self.seq += 1;
    }

    /// The LAN host inside the delegated prefix: `prefix::1`.
    pub fn pd_host(&self) -> Option<Ipv6Addr> {
        self.outcome
            .ia_pd
            .map(|(p, _)| Ipv6Addr::from(u128::from(p) | 1))
    }

    fn on_ra(&mut self, now: Timestamp, src: Ipv6Addr, options: &[NdOption]) {
        self.outcome.router = Some(src);
        for o in options {
            if let NdOption::PrefixInformation(p) = o {
                // RFC 4862 §5.5.3: autonomous, /64 with our 64-bit identifier.
                if p.autonomous() && p.prefix_len == 64 {
                    let bits = u128::from(p.prefix) & !u128::from(u64::MAX);
                    self.outcome.last_ra = Some((now, Ipv6Addr::from(bits)));
                    if self.outcome.slaac.is_none() {
                        self.outcome.prefix = Some(Ipv6Addr::from(bits));
                        self.outcome.slaac =
                            Some(Ipv6Addr::from(bits | u128::from(self.interface_id)));
                    }
                }
            }
        }
    }

    fn on_dhcp(&mut self, now: Timestamp, m: &Dhcpv6Message) {
        if m.transaction_id != self.xid {
            return;
        }
        let server = m.find(|o| match o {
            Dhcpv6Option::ServerId(d) => Some(d.clone()),
            _ => None,
        });
        match (&self.dhcp, m.msg_type, server) {
            // RFC 8415 §18.2.1: take the Advertise, Request from its server.
            (Dhcp::Soliciting, MessageType::Advertise, Some(s)) => {
                self.dhcp = Dhcp::Requesting(s);
                self.xid = self.xid.wrapping_add(1) & 0x00ff_ffff;
                self.send_dhcp();
            }
            (Dhcp::Requesting(_), MessageType::Reply, _) => {
                for o in &m.options {
                    match o {
                        Dhcpv6Option::IaNa(ia) => {
                            self.outcome.ia_na = ia.options.iter().find_map(|i| match i {
                                Dhcpv6Option::IaAddr { address, .. } => Some(*address),
                                _ => None,
                            });
                        }
                        Dhcpv6Option::IaPd(ia) => {
                            self.outcome.ia_pd = ia.options.iter().find_map(|i| match i {
                                Dhcpv6Option::IaPrefix {
                                    prefix, prefix_len, ..
                                } => Some((*prefix, *prefix_len)),
                                _ => None,
                            });
                        }
                        _ => {}
                    }
                }
                self.dhcp = match &self.dhcp {
                    Dhcp::Requesting(server) => Dhcp::Bound(server.clone()),
                    other => other.clone(),
                };
            }
            // RFC 8415 §18.2.10.1: the leases the Renew extended (valid
            // lifetime above zero); NoBinding leaves them out.
            (Dhcp::Renewing(server), MessageType::Reply, _) => {
                let server = server.clone();
                let live_na = |o: &Dhcpv6Option| match o {
                    Dhcpv6Option::IaAddr {
                        address,
                        valid_lifetime,
                        ..
                    } if *valid_lifetime > 0 => Some(*address),
                    _ => None,
                };
                let live_pd = |o: &Dhcpv6Option| match o {
                    Dhcpv6Option::IaPrefix {
                        prefix,
                        prefix_len,
                        valid_lifetime,
                        ..
                    } if *valid_lifetime > 0 => Some((*prefix, *prefix_len)),
                    _ => None,
                };
                let mut reply = RenewReply {
                    at: now,
                    ia_na: None,
                    ia_pd: None,
                };
                for o in &m.options {
                    match o {
                        Dhcpv6Option::IaNa(ia) => reply.ia_na = ia.options.iter().find_map(live_na),
                        Dhcpv6Option::IaPd(ia) => reply.ia_pd = ia.options.iter().find_map(live_pd),
                        _ => {}
                    }
                }
                self.outcome.last_renew = Some(reply);
                self.dhcp = Dhcp::Bound(server);
            }
            _ => {}
        }
    }

    fn send_rs(&mut self) {
        let rs = NdMessage::RouterSolicitation(RouterSolicitation {
            options: Vec::new(),
        });
        let mut p = Vec::new();
        if emit_nd_packet(self.link_local, ALL_ROUTERS, &rs, &mut p).is_ok() {
            self.out.push_back(p);
        }
    }

    fn send_dhcp(&mut self) {
        let ia = |iaid| Ia {
            iaid,
            t1: 0,
            t2: 0,
            options: Vec::new(),
        };
        let mut options = vec![Dhcpv6Option::ClientId(self.duid.clone())];
        let (msg_type, na, pd) = match &self.dhcp {
            Dhcp::Soliciting => (MessageType::Solicit, ia(IAID_NA), ia(IAID_PD)),
            Dhcp::Requesting(server) => {
                options.push(Dhcpv6Option::ServerId(server.clone()));
                (MessageType::Request, ia(IAID_NA), ia(IAID_PD))
            }
            Dhcp::Bound(_) => return,
            // RFC 8415 §18.2.4: the Renew lists the leases to extend.
            Dhcp::Renewing(server) => {
                options.push(Dhcpv6Option::ServerId(server.clone()));
                let mut na = ia(IAID_NA);
                na.options
                    .extend(self.outcome.ia_na.map(|address| Dhcpv6Option::IaAddr {
                        address,
                        preferred_lifetime: 0,
                        valid_lifetime: 0,
                        options: Vec::new(),
                    }));
                let mut pd = ia(IAID_PD);
                pd.options
                    .extend(self.outcome.ia_pd.map(|(prefix, prefix_len)| {
                        Dhcpv6Option::IaPrefix {
                            preferred_lifetime: 0,
                            valid_lifetime: 0,
                            prefix_len,
                            prefix,
                            options: Vec::new(),
                        }
                    }));
                (MessageType::Renew, na, pd)
            }
        };
        options.extend([
            Dhcpv6Option::ElapsedTime(0),
            Dhcpv6Option::IaNa(na),
            Dhcpv6Option::IaPd(pd),
            Dhcpv6Option::Oro(vec![0x0017, 0x0018]),
        ]);
        let mut payload = Vec::new();
        let built = Dhcpv6Packet::Message(Dhcpv6Message {
            msg_type,
            transaction_id: self.xid,
            options,
        })
        .emit(&mut payload);
        let mut p = Vec::new();
        if built.is_ok()
            && emit_udp_packet(
                self.link_local,
                ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                CLIENT_PORT,
                SERVER_PORT,
                &payload,
                &mut p,
            )
            .is_ok()
        {
            self.out.push_back(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lns_proto::dhcpv6::{Dhcpv6Config, Dhcpv6Server};
    use lns_proto::entropy::Seeded;
    use lns_proto::nd::{RaConfig, RouterAdvertiser};

    /// The client against the LNS's own RA sender and DHCPv6 server.
    #[test]
    fn slaac_ia_na_and_ia_pd_against_the_lns_cores() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);
        let mut e = Seeded::new(1);
        let lns_ll: Ipv6Addr = "fe80::1".parse().expect("literal");
        let prefix: Ipv6Addr = "2001:db8:100:5::".parse().expect("literal");
        let pd: Ipv6Addr = "2001:db8:200:500::".parse().expect("literal");
        let mut ra = RouterAdvertiser::new(RaConfig::for_prefix(prefix), lns_ll).expect("valid");
        let duid = Duid::En {
            enterprise_number: 32473,
            identifier: b"lnsd".to_vec(),
        };
        let mut dhcp = Dhcpv6Server::new(Dhcpv6Config::new(duid), lns_ll, prefix, Some((pd, 56)))
            .expect("valid");
        let mut c = V6Client::start(7, 0x0211_22ff_fe33_4455, now);
        ra.start(now, &mut e);
        for _ in 0..4 {
            while let Some(p) = c.poll_transmit() {
                let _ = ra.handle_rs(now, &p, &mut e);
                let _ = dhcp.handle(now, &p, &mut e);
            }
            while let Some(p) = ra.poll_transmit().or_else(|| dhcp.poll_transmit()) {
                c.handle(now, &p);
            }
        }
        assert!(c.ready(), "{:?}", c.outcome);
        assert_eq!(
            c.outcome.slaac,
            Some(
                "2001:db8:100:5:211:22ff:fe33:4455"
                    .parse()
                    .expect("literal")
            )
        );
        assert_eq!(c.outcome.router, Some(lns_ll));
        assert_eq!(c.outcome.ia_pd, Some((pd, 56)));
        assert!(c
            .outcome
            .ia_na
            .is_some_and(|a| u128::from(a) >> 64 == u128::from(prefix) >> 64));
        // Probes from both addresses; a reflected one is counted.
        let refl: SocketAddrV6 = "[2001:db8:1::2]:7".parse().expect("literal");
        c.probe(refl);
        let mut sent = Vec::new();
        while let Some(p) = c.poll_transmit() {
            sent.push(p);
        }
        assert_eq!(sent.len(), 2);
        for p in &sent {
            let u = parse_udp_packet(p).expect("valid");
            let mut back = Vec::new();
            emit_udp_packet(u.dst, u.src, u.dst_port, u.src_port, u.payload, &mut back)
                .expect("ok");
            c.handle(now, &back);
        }
        assert_eq!((c.outcome.sent, c.outcome.received), (1, 1));
        assert_eq!((c.outcome.sent_pd, c.outcome.received_pd), (1, 1));
        assert_eq!(
            (c.outcome.last_echo, c.outcome.last_echo_pd),
            (Some(now), Some(now))
        );
        assert_eq!(
            c.pd_host(),
            Some("2001:db8:200:500::1".parse().expect("literal"))
        );
    }

    /// Exchanges packets between the client and an LNS core until quiet.
    fn exchange(
        c: &mut V6Client,
        ra: &mut RouterAdvertiser,
        dhcp: &mut Dhcpv6Server,
        now: Timestamp,
        e: &mut Seeded,
    ) {
        for _ in 0..4 {
            while let Some(p) = c.poll_transmit() {
                let _ = ra.handle_rs(now, &p, e);
                let _ = dhcp.handle(now, &p, e);
            }
            // A solicited RA waits up to MAX_RA_DELAY_TIME (RFC 4861 §6.2.6).
            if ra.poll_timeout().is_some_and(|t| t <= now) {
                ra.handle_timeout(now, e);
            }
            while let Some(p) = ra.poll_transmit().or_else(|| dhcp.poll_transmit()) {
                c.handle(now, &p);
            }
        }
    }

    /// A refresh solicits an RA and renews both leases; a server that lost
    /// the bindings answers NoBinding, which the client records as no lease.
    #[test]
    fn a_refresh_renews_the_same_leases_and_sees_a_lost_binding() {
        let t0 = Timestamp::from_unix_millis(1_700_000_000_000);
        let mut e = Seeded::new(2);
        let lns_ll: Ipv6Addr = "fe80::1".parse().expect("literal");
        let prefix: Ipv6Addr = "2001:db8:100:6::".parse().expect("literal");
        let pd: Ipv6Addr = "2001:db8:200:600::".parse().expect("literal");
        let duid = Duid::En {
            enterprise_number: 32473,
            identifier: b"lnsd".to_vec(),
        };
        let config = Dhcpv6Config::new(duid);
        let mut ra = RouterAdvertiser::new(RaConfig::for_prefix(prefix), lns_ll).expect("valid");
        let mut dhcp =
            Dhcpv6Server::new(config.clone(), lns_ll, prefix, Some((pd, 56))).expect("valid");
        ra.start(t0, &mut e);
        let mut c = V6Client::start(9, 0x0211_22ff_fe33_4456, t0).with_refresh(
            Duration::from_secs(10),
            Duration::from_secs(5),
            t0,
        );
        exchange(&mut c, &mut ra, &mut dhcp, t0, &mut e);
        assert!(c.ready(), "{:?}", c.outcome);
        assert_eq!(c.outcome.last_renew, None);
        // The retransmission timer of the setup fires once, finds nothing
        // unanswered and stops; then only the refresh is scheduled.
        c.handle_timeout(t0 + RETRANSMIT);
        assert!(c.poll_transmit().is_none());
        let due = c.poll_timeout().expect("a refresh is scheduled");
        assert_eq!(due, t0 + Duration::from_secs(5));
        c.handle_timeout(due);
        let t1 = due + Duration::from_secs(1);
        exchange(&mut c, &mut ra, &mut dhcp, t1, &mut e);
        let renewed = c.outcome.last_renew.expect("the Renew was answered");
        assert_eq!(renewed.at, t1);
        assert_eq!(renewed.ia_na, c.outcome.ia_na);
        assert!(renewed.ia_na.is_some());
        assert_eq!(renewed.ia_pd, Some((pd, 56)));
        assert_eq!(c.outcome.last_ra.map(|(_, p)| p), Some(prefix));
        assert!(c.outcome.last_ra.is_some_and(|(t, _)| t > t0), "a new RA");
        // A server without the bindings (an LNS that lost its state).
        let mut amnesic = Dhcpv6Server::new(config, lns_ll, prefix, Some((pd, 56))).expect("valid");
        let due = c.poll_timeout().expect("next refresh");
        assert_eq!(due, t0 + Duration::from_secs(15));
        c.handle_timeout(due);
        exchange(&mut c, &mut ra, &mut amnesic, due, &mut e);
        let lost = c.outcome.last_renew.expect("answered");
        assert_eq!((lost.at, lost.ia_na, lost.ia_pd), (due, None, None));
    }
}
