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
    Bound,
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
            seq: 0,
            out: VecDeque::new(),
            outcome: V6Outcome::default(),
        };
        c.send_rs();
        c.send_dhcp();
        c.retransmit_at = Some(now + RETRANSMIT);
        c
    }

    /// SLAAC address and IA_PD both obtained.
    pub fn ready(&self) -> bool {
        self.outcome.slaac.is_some() && self.dhcp == Dhcp::Bound
    }

    /// When [`V6Client::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.retransmit_at
    }

    /// Retransmits what is unanswered.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.retransmit_at.is_none_or(|t| t > now) {
            return;
        }
        if self.outcome.slaac.is_none() {
            self.send_rs();
        }
        if self.dhcp != Dhcp::Bound {
            self.send_dhcp();
        }
        self.retransmit_at = (!self.ready()).then(|| now + RETRANSMIT);
    }

    /// The next IPv6 packet to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// Handles one IPv6 packet from the LNS.
    pub fn handle(&mut self, packet: &[u8]) {
        if let Ok(rx) = parse_nd_packet(packet) {
            if let NdMessage::RouterAdvertisement(ra) = rx.message {
                self.on_ra(rx.src, &ra.options);
            }
            return;
        }
        let Ok(udp) = parse_udp_packet(packet) else {
            return;
        };
        if udp.src_port == SERVER_PORT && udp.dst_port == CLIENT_PORT {
            if let Ok(Dhcpv6Packet::Message(m)) = Dhcpv6Packet::parse_bytes(udp.payload) {
                self.on_dhcp(&m);
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
        } else if Some(udp.dst) == self.pd_host() {
            self.outcome.received_pd += 1;
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

    fn on_ra(&mut self, src: Ipv6Addr, options: &[NdOption]) {
        self.outcome.router = Some(src);
        for o in options {
            if let NdOption::PrefixInformation(p) = o {
                // RFC 4862 §5.5.3: autonomous, /64 with our 64-bit identifier.
                if p.autonomous() && p.prefix_len == 64 && self.outcome.slaac.is_none() {
                    let bits = u128::from(p.prefix) & !u128::from(u64::MAX);
                    self.outcome.prefix = Some(Ipv6Addr::from(bits));
                    self.outcome.slaac = Some(Ipv6Addr::from(bits | u128::from(self.interface_id)));
                }
            }
        }
    }

    fn on_dhcp(&mut self, m: &Dhcpv6Message) {
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
                self.dhcp = Dhcp::Bound;
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
        let msg_type = match &self.dhcp {
            Dhcp::Soliciting => MessageType::Solicit,
            Dhcp::Requesting(server) => {
                options.push(Dhcpv6Option::ServerId(server.clone()));
                MessageType::Request
            }
            Dhcp::Bound => return,
        };
        options.extend([
            Dhcpv6Option::ElapsedTime(0),
            Dhcpv6Option::IaNa(ia(IAID_NA)),
            Dhcpv6Option::IaPd(ia(IAID_PD)),
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
                c.handle(&p);
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
            c.handle(&back);
        }
        assert_eq!((c.outcome.sent, c.outcome.received), (1, 1));
        assert_eq!((c.outcome.sent_pd, c.outcome.received_pd), (1, 1));
        assert_eq!(
            c.pd_host(),
            Some("2001:db8:200:500::1".parse().expect("literal"))
        );
    }
}
