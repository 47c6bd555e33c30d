//! IPCP options (RFC 1332 §3, RFC 1877 for DNS/NBNS) and the IPCP half of
//! negotiation for both sides.
//!
//! Contract: the assigner (LNS) requests its own IP-Address, Naks the peer's
//! IP-Address to the address the caller assigned (appending it to the Nak
//! when the peer's request has none, RFC 1332 §3.3) and the primary/secondary
//! DNS to the caller's values (rejecting a DNS option it has no value for),
//! and Configure-Rejects IP-Compression, NBNS and anything else. The assignee
//! (subscriber) asks 0.0.0.0 and DNS 0.0.0.0 like pppd and adopts the Nak'd
//! values.

use std::net::Ipv4Addr;

use super::fsm::{Negotiation, Verdict};
use super::options::RawOption;
use crate::entropy::Entropy;

/// IPCP option kinds.
pub mod kind {
    /// IP-Addresses (RFC 1172, deprecated).
    pub const ADDRESSES: u8 = 0x01;
    /// IP-Compression-Protocol (RFC 1332 §3.2).
    pub const COMPRESSION: u8 = 0x02;
    /// IP-Address (RFC 1332 §3.3).
    pub const ADDRESS: u8 = 0x03;
    /// Primary DNS (RFC 1877 §1.1).
    pub const PRIMARY_DNS: u8 = 0x81;
    /// Primary NBNS (RFC 1877 §1.2).
    pub const PRIMARY_NBNS: u8 = 0x82;
    /// Secondary DNS (RFC 1877 §1.3).
    pub const SECONDARY_DNS: u8 = 0x83;
    /// Secondary NBNS (RFC 1877 §1.4).
    pub const SECONDARY_NBNS: u8 = 0x84;
}

/// A typed IPCP option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpcpOption {
    /// IP-Address.
    Address(Ipv4Addr),
    /// Primary DNS server.
    PrimaryDns(Ipv4Addr),
    /// Secondary DNS server.
    SecondaryDns(Ipv4Addr),
    /// Anything else or a wrong length (NBNS, compression included).
    Other(RawOption),
}

impl IpcpOption {
    /// Types a raw option.
    pub fn parse(o: &RawOption) -> IpcpOption {
        let addr = <[u8; 4]>::try_from(&o.data[..]).ok().map(Ipv4Addr::from);
        match (o.kind, addr) {
            (kind::ADDRESS, Some(a)) => IpcpOption::Address(a),
            (kind::PRIMARY_DNS, Some(a)) => IpcpOption::PrimaryDns(a),
            (kind::SECONDARY_DNS, Some(a)) => IpcpOption::SecondaryDns(a),
            _ => IpcpOption::Other(o.clone()),
        }
    }

    /// The raw option.
    pub fn to_raw(&self) -> RawOption {
        match self {
            IpcpOption::Address(a) => RawOption::new(kind::ADDRESS, &a.octets()),
            IpcpOption::PrimaryDns(a) => RawOption::new(kind::PRIMARY_DNS, &a.octets()),
            IpcpOption::SecondaryDns(a) => RawOption::new(kind::SECONDARY_DNS, &a.octets()),
            IpcpOption::Other(o) => o.clone(),
        }
    }
}

/// Which end of address assignment a negotiation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressRole {
    /// We hand out the peer's address (the LNS).
    Assigner,
    /// We learn our address from the peer (the subscriber).
    Assignee,
}

/// IPCP negotiation state. Plain data: the snapshot stores it all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcpNegotiation {
    /// Our role.
    pub role: AddressRole,
    /// The IP-Address we request (`None` once rejected).
    pub request_address: Option<Ipv4Addr>,
    /// The DNS servers we request (assignee only).
    pub request_dns: [Option<Ipv4Addr>; 2],
    /// The address the caller assigned to the peer (assigner only).
    pub assigned_peer: Option<Ipv4Addr>,
    /// The DNS servers to give the peer (assigner only).
    pub peer_dns: [Option<Ipv4Addr>; 2],
    /// The peer's address as acked by us.
    pub peer_address: Ipv4Addr,
}

impl IpcpNegotiation {
    /// The LNS side: requests `local`.
    pub fn assigner(local: Ipv4Addr) -> Self {
        IpcpNegotiation {
            role: AddressRole::Assigner,
            request_address: Some(local),
            request_dns: [None, None],
            assigned_peer: None,
            peer_dns: [None, None],
            peer_address: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// The subscriber side: asks 0.0.0.0 and DNS 0.0.0.0 like pppd.
    pub fn assignee() -> Self {
        IpcpNegotiation {
            role: AddressRole::Assignee,
            request_address: Some(Ipv4Addr::UNSPECIFIED),
            request_dns: [Some(Ipv4Addr::UNSPECIFIED); 2],
            assigned_peer: None,
            peer_dns: [None, None],
            peer_address: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// Our own address as negotiated so far.
    pub fn local_address(&self) -> Ipv4Addr {
        self.request_address.unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn dns_verdict(&self, slot: usize, v: Ipv4Addr, kind: u8) -> Verdict {
        match (self.role, self.peer_dns[slot]) {
            // RFC 1877 §1.1/§1.3: Nak to the server the caller provides.
            (AddressRole::Assigner, Some(d)) if d == v => Verdict::Ack,
            (AddressRole::Assigner, Some(d)) => Verdict::Nak(RawOption::new(kind, &d.octets())),
            _ => Verdict::Reject,
        }
    }
}

impl Negotiation for IpcpNegotiation {
    fn request(&self) -> Vec<RawOption> {
        let mut opts = Vec::new();
        if let Some(a) = self.request_address {
            opts.push(IpcpOption::Address(a).to_raw());
        }
        if let Some(d) = self.request_dns[0] {
            opts.push(IpcpOption::PrimaryDns(d).to_raw());
        }
        if let Some(d) = self.request_dns[1] {
            opts.push(IpcpOption::SecondaryDns(d).to_raw());
        }
        opts
    }

    fn review(&mut self, peer: &[RawOption], _entropy: &mut dyn Entropy) -> Vec<Verdict> {
        peer.iter()
            .map(|raw| match (self.role, IpcpOption::parse(raw)) {
                // RFC 1332 §3.3: Nak to the address we assign.
                (AddressRole::Assigner, IpcpOption::Address(a)) => match self.assigned_peer {
                    Some(p) if p == a => Verdict::Ack,
                    Some(p) => Verdict::Nak(IpcpOption::Address(p).to_raw()),
                    None => Verdict::Reject,
                },
                // RFC 1332 §3.3: the assignee accepts any real peer address.
                (AddressRole::Assignee, IpcpOption::Address(a)) if !a.is_unspecified() => {
                    Verdict::Ack
                }
                (_, IpcpOption::PrimaryDns(v)) => self.dns_verdict(0, v, kind::PRIMARY_DNS),
                (_, IpcpOption::SecondaryDns(v)) => self.dns_verdict(1, v, kind::SECONDARY_DNS),
                // RFC 1332 §3.2 compression, RFC 1877 NBNS, unknown: rejected.
                _ => Verdict::Reject,
            })
            .collect()
    }

    fn peer_acked(&mut self, peer: &[RawOption]) {
        for raw in peer {
            if let IpcpOption::Address(a) = IpcpOption::parse(raw) {
                self.peer_address = a;
            }
        }
    }

    fn ours_acked(&mut self, _ours: &[RawOption]) {}

    fn nak_received(&mut self, suggested: &[RawOption], _entropy: &mut dyn Entropy) {
        if self.role != AddressRole::Assignee {
            // The LNS's own address is configuration; it keeps asking.
            return;
        }
        for raw in suggested {
            match IpcpOption::parse(raw) {
                IpcpOption::Address(a) if self.request_address.is_some() => {
                    self.request_address = Some(a)
                }
                IpcpOption::PrimaryDns(d) if self.request_dns[0].is_some() => {
                    self.request_dns[0] = Some(d)
                }
                IpcpOption::SecondaryDns(d) if self.request_dns[1].is_some() => {
                    self.request_dns[1] = Some(d)
                }
                _ => {}
            }
        }
    }

    fn solicit(&self, peer: &[RawOption]) -> Vec<RawOption> {
        // RFC 1332 §3.3: "If negotiation about the remote IP-address is
        // required, and the peer did not provide the option in its
        // Configure-Request, the option SHOULD be appended to a Configure-Nak."
        match (self.role, self.assigned_peer) {
            (AddressRole::Assigner, Some(p)) if !peer.iter().any(|o| o.kind == kind::ADDRESS) => {
                vec![IpcpOption::Address(p).to_raw()]
            }
            _ => Vec::new(),
        }
    }

    fn reject_received(&mut self, rejected: &[RawOption]) {
        for raw in rejected {
            match raw.kind {
                kind::ADDRESS => self.request_address = None,
                kind::PRIMARY_DNS => self.request_dns[0] = None,
                kind::SECONDARY_DNS => self.request_dns[1] = None,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Seeded;
    use crate::ppp::options::{emit_list, parse_list};
    use proptest::prelude::*;

    /// pppd's IPCP Configure-Request data (REFERENCE.md): 0.0.0.0 + DNS 0.0.0.0 x2.
    const PPPD_IPCP_REQUEST: [u8; 18] = [
        0x03, 0x06, 0, 0, 0, 0, 0x81, 0x06, 0, 0, 0, 0, 0x83, 0x06, 0, 0, 0, 0,
    ];

    fn lns() -> IpcpNegotiation {
        let mut n = IpcpNegotiation::assigner(Ipv4Addr::new(100, 64, 0, 1));
        n.assigned_peer = Some(Ipv4Addr::new(100, 64, 1, 2));
        n.peer_dns = [
            Some(Ipv4Addr::new(9, 9, 9, 9)),
            Some(Ipv4Addr::new(1, 1, 1, 1)),
        ];
        n
    }

    #[test]
    fn assignee_request_matches_pppd() {
        assert_eq!(
            emit_list(&IpcpNegotiation::assignee().request()),
            PPPD_IPCP_REQUEST
        );
    }

    #[test]
    fn pppd_request_is_naked_to_assignment_and_dns() {
        // RFC 1332 §3.3, RFC 1877 §1.1 and §1.3.
        let mut n = lns();
        let opts = parse_list(&PPPD_IPCP_REQUEST).expect("pppd bytes");
        let v = n.review(&opts, &mut Seeded::new(1));
        assert_eq!(
            v,
            vec![
                Verdict::Nak(RawOption::new(kind::ADDRESS, &[100, 64, 1, 2])),
                Verdict::Nak(RawOption::new(kind::PRIMARY_DNS, &[9, 9, 9, 9])),
                Verdict::Nak(RawOption::new(kind::SECONDARY_DNS, &[1, 1, 1, 1])),
            ]
        );
        // The assignee adopts the Nak'd values and asks again.
        let mut s = IpcpNegotiation::assignee();
        let naks: Vec<RawOption> = v
            .into_iter()
            .filter_map(|v| match v {
                Verdict::Nak(o) => Some(o),
                _ => None,
            })
            .collect();
        s.nak_received(&naks, &mut Seeded::new(1));
        let again = s.request();
        assert_eq!(n.review(&again, &mut Seeded::new(1)), vec![Verdict::Ack; 3]);
        n.peer_acked(&again);
        assert_eq!(n.peer_address, Ipv4Addr::new(100, 64, 1, 2));
        assert_eq!(s.local_address(), Ipv4Addr::new(100, 64, 1, 2));
    }

    #[test]
    fn nbns_compression_and_unknown_dns_are_rejected() {
        // RFC 1877 §1.2/§1.4 NBNS, RFC 1332 §3.2 compression (VJ 0x002d).
        let mut n = lns();
        n.peer_dns[1] = None;
        let opts = [
            RawOption::new(kind::PRIMARY_NBNS, &[0, 0, 0, 0]),
            RawOption::new(kind::SECONDARY_NBNS, &[0, 0, 0, 0]),
            RawOption::new(kind::COMPRESSION, &[0x00, 0x2d, 0x0f, 0x01]),
            RawOption::new(kind::SECONDARY_DNS, &[0, 0, 0, 0]),
            RawOption::new(kind::ADDRESSES, &[0; 8]),
        ];
        assert_eq!(
            n.review(&opts, &mut Seeded::new(1)),
            vec![Verdict::Reject; 5]
        );
        // The assignee stops asking what was rejected (RFC 1661 §5.4).
        let mut s = IpcpNegotiation::assignee();
        s.reject_received(&[RawOption::new(kind::SECONDARY_DNS, &[0, 0, 0, 0])]);
        assert_eq!(s.request().len(), 2);
    }

    proptest! {
        #[test]
        fn option_round_trip(kind in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..8)) {
            let raw = RawOption { kind, data };
            let typed = IpcpOption::parse(&raw);
            prop_assert_eq!(typed.to_raw(), raw);
            prop_assert_eq!(IpcpOption::parse(&typed.to_raw()), typed);
        }
    }
}
