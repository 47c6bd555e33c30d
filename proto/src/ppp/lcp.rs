//! LCP configuration options (RFC 1661 §6, RFC 1334/1994 for
//! Authentication-Protocol) and the LCP half of negotiation for both sides.
//!
//! Contract: [`LcpOption`] parses every option (unknown kinds and wrong
//! lengths are `Other` and get Configure-Rejected); [`LcpNegotiation`]
//! decides our Configure-Request and judges the peer's: MRU Nak'd outside
//! 576..=our maximum, ACCM accepted, Magic-Number checked for loops, PFC and
//! ACFC accepted, MRRU and everything else rejected, Authentication-Protocol
//! demanded by the LNS in the configured order and accepted by the subscriber
//! when configured (else Nak'd to one it accepts).
//!
//! ACCM is never Nak'd, by design: RFC 1661 §5.1 says to Ack an option that
//! is recognisable and acceptable, and every map is acceptable here. L2TP
//! carries PPP in sync framing (RFC 2661 §5.3); the async escaping is done by
//! the LAC, with 0xffffffff (escape all controls, always safe: RFC 1662 §7.1
//! receivers discard/accept escaped characters whatever the map) until an
//! SLI (§6.14) tells it the negotiated map. A Nak "to 0 if needed" could only
//! be needed if we could not honour a map, which cannot happen. The LNS
//! itself requests no ACCM (it receives sync frames).

use super::frame::{Compression, FieldCompression};
use super::fsm::{Negotiation, Verdict};
use super::options::RawOption;
use crate::entropy::Entropy;

/// LCP option kinds (RFC 1661 §6, IANA "LCP Option Types").
pub mod kind {
    /// Maximum-Receive-Unit.
    pub const MRU: u8 = 0x01;
    /// Async-Control-Character-Map.
    pub const ACCM: u8 = 0x02;
    /// Authentication-Protocol.
    pub const AUTH: u8 = 0x03;
    /// Quality-Protocol.
    pub const QUALITY: u8 = 0x04;
    /// Magic-Number.
    pub const MAGIC: u8 = 0x05;
    /// Protocol-Field-Compression.
    pub const PFC: u8 = 0x07;
    /// Address-and-Control-Field-Compression.
    pub const ACFC: u8 = 0x08;
    /// Multilink MRRU (RFC 1990).
    pub const MRRU: u8 = 0x11;
}

/// The smallest MRU we accept from a peer (RFC 1661 §6.1 default is 1500;
/// 576 is the IPv4 minimum datagram).
pub const MIN_PEER_MRU: u16 = 576;

/// An authentication method negotiated by LCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthMethod {
    /// PAP (RFC 1334), protocol 0xc023.
    Pap,
    /// CHAP with MD5 (RFC 1994), protocol 0xc223 algorithm 0x05.
    ChapMd5,
}

impl AuthMethod {
    /// The Authentication-Protocol option data for this method.
    pub fn option_data(self) -> Vec<u8> {
        match self {
            AuthMethod::Pap => vec![0xc0, 0x23],
            AuthMethod::ChapMd5 => vec![0xc2, 0x23, 0x05],
        }
    }

    /// The method an Authentication-Protocol option asks for, if we know it.
    pub fn from_option_data(data: &[u8]) -> Option<AuthMethod> {
        match data {
            [0xc0, 0x23] => Some(AuthMethod::Pap),
            [0xc2, 0x23, 0x05] => Some(AuthMethod::ChapMd5),
            _ => None,
        }
    }
}

/// A typed LCP option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LcpOption {
    /// Maximum-Receive-Unit (§6.1).
    Mru(u16),
    /// Async-Control-Character-Map (RFC 1662 §7.1).
    Accm(u32),
    /// Authentication-Protocol (§6.2): protocol and data.
    AuthProtocol(u16, Vec<u8>),
    /// Magic-Number (§6.4).
    MagicNumber(u32),
    /// Protocol-Field-Compression (§6.5).
    Pfc,
    /// Address-and-Control-Field-Compression (§6.6).
    Acfc,
    /// Anything else, or a known kind with a wrong length.
    Other(RawOption),
}

impl LcpOption {
    /// Types a raw option.
    pub fn parse(o: &RawOption) -> LcpOption {
        let d = &o.data[..];
        match (o.kind, d.len()) {
            (kind::MRU, 2) => LcpOption::Mru(u16::from_be_bytes([d[0], d[1]])),
            (kind::ACCM, 4) => LcpOption::Accm(u32::from_be_bytes([d[0], d[1], d[2], d[3]])),
            (kind::AUTH, n) if n >= 2 => {
                LcpOption::AuthProtocol(u16::from_be_bytes([d[0], d[1]]), d[2..].to_vec())
            }
            (kind::MAGIC, 4) => {
                LcpOption::MagicNumber(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
            }
            (kind::PFC, 0) => LcpOption::Pfc,
            (kind::ACFC, 0) => LcpOption::Acfc,
            _ => LcpOption::Other(o.clone()),
        }
    }

    /// The raw option.
    pub fn to_raw(&self) -> RawOption {
        match self {
            LcpOption::Mru(v) => RawOption::new(kind::MRU, &v.to_be_bytes()),
            LcpOption::Accm(v) => RawOption::new(kind::ACCM, &v.to_be_bytes()),
            LcpOption::AuthProtocol(p, d) => {
                let mut data = p.to_be_bytes().to_vec();
                data.extend_from_slice(d);
                RawOption {
                    kind: kind::AUTH,
                    data,
                }
            }
            LcpOption::MagicNumber(v) => RawOption::new(kind::MAGIC, &v.to_be_bytes()),
            LcpOption::Pfc => RawOption::new(kind::PFC, &[]),
            LcpOption::Acfc => RawOption::new(kind::ACFC, &[]),
            LcpOption::Other(o) => o.clone(),
        }
    }
}

/// What the authenticator side asks for in its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthDemand {
    /// We do not ask the peer to authenticate.
    NotAsked,
    /// We ask for this method.
    Asking(AuthMethod),
    /// The peer refused every method we accept (RFC 3145 cause 15).
    Refused,
}

/// Which end of the authentication a negotiation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRole {
    /// We demand authentication (the LNS).
    Authenticator,
    /// We authenticate ourselves when asked (the subscriber).
    Peer,
}

/// Authentication methods in order of preference, each at most once (a
/// method named again adds nothing: it was offered or refused already).
/// Kept inline: a `Vec` was one heap block in every link (issue 5).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthOrder {
    len: u8,
    /// `methods[..len]` are the methods; the rest is filler.
    methods: [AuthMethod; AuthOrder::CAPACITY],
}

impl AuthOrder {
    /// Every method there is.
    const CAPACITY: usize = 2;

    /// The distinct methods of `methods`, in order of first mention.
    pub fn new(methods: &[AuthMethod]) -> AuthOrder {
        let mut order = AuthOrder {
            len: 0,
            methods: [AuthMethod::Pap; AuthOrder::CAPACITY],
        };
        for m in methods {
            let len = usize::from(order.len);
            if !order.contains(m) && len < AuthOrder::CAPACITY {
                order.methods[len] = *m;
                order.len += 1;
            }
        }
        order
    }
}

impl core::ops::Deref for AuthOrder {
    type Target = [AuthMethod];
    fn deref(&self) -> &[AuthMethod] {
        &self.methods[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for AuthOrder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// LCP negotiation state for one link. Plain data: snapshot stores it all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LcpNegotiation {
    /// Our role in authentication.
    pub role: AuthRole,
    /// Methods in order of preference (authenticator: to ask; peer: accepted).
    pub auth_order: AuthOrder,
    /// Largest MRU we let the peer announce.
    pub max_peer_mru: u16,
    /// MRU we request (`None` once rejected or when not configured).
    pub request_mru: Option<u16>,
    /// ACCM we request.
    pub request_accm: Option<u32>,
    /// Compression we request (what we can receive).
    pub request_compression: Compression,
    /// Our Magic-Number (0: not negotiated).
    pub our_magic: u32,
    /// What we ask the peer to authenticate with.
    pub demand: AuthDemand,
    /// The peer's MRU (what we may send), 1500 unless negotiated.
    pub peer_mru: u16,
    /// The peer's Magic-Number (0 unless negotiated).
    pub peer_magic: u32,
    /// What we may compress when sending.
    pub send_compression: Compression,
    /// The method the peer asks us to authenticate with.
    pub peer_demand: Option<AuthMethod>,
    /// Consecutive Configure-Requests that carried our own magic (§6.4).
    pub loop_suspicions: u8,
}

impl LcpNegotiation {
    /// A negotiation for `role`.
    pub fn new(
        role: AuthRole,
        auth_order: impl AsRef<[AuthMethod]>,
        mru: u16,
        max_peer_mru: u16,
        request_accm: Option<u32>,
        request_compression: Compression,
    ) -> Self {
        let auth_order = AuthOrder::new(auth_order.as_ref());
        let demand = match (role, auth_order.first()) {
            (AuthRole::Authenticator, Some(m)) => AuthDemand::Asking(*m),
            _ => AuthDemand::NotAsked,
        };
        LcpNegotiation {
            role,
            auth_order,
            max_peer_mru,
            request_mru: (mru != 1500).then_some(mru),
            request_accm,
            request_compression,
            our_magic: 0,
            demand,
            peer_mru: 1500,
            peer_magic: 0,
            send_compression: Compression::default(),
            peer_demand: None,
            loop_suspicions: 0,
        }
    }

    /// Draws our Magic-Number (§6.4: non-zero, from the entropy input).
    pub fn draw_magic(&mut self, entropy: &mut dyn Entropy) {
        self.our_magic = nonzero_u32(entropy, 0);
    }

    fn next_method_after(&self, refused: AuthMethod) -> Option<AuthMethod> {
        let pos = self.auth_order.iter().position(|m| *m == refused)?;
        self.auth_order.get(pos + 1).copied()
    }
}

impl Negotiation for LcpNegotiation {
    fn request(&self) -> Vec<RawOption> {
        let mut opts = Vec::new();
        if let Some(mru) = self.request_mru {
            opts.push(LcpOption::Mru(mru));
        }
        if let Some(accm) = self.request_accm {
            opts.push(LcpOption::Accm(accm));
        }
        if let AuthDemand::Asking(m) = self.demand {
            let d = m.option_data();
            opts.push(LcpOption::AuthProtocol(
                u16::from_be_bytes([d[0], d[1]]),
                d[2..].to_vec(),
            ));
        }
        if self.our_magic != 0 {
            opts.push(LcpOption::MagicNumber(self.our_magic));
        }
        if self.request_compression.protocol == FieldCompression::On {
            opts.push(LcpOption::Pfc);
        }
        if self.request_compression.address_control == FieldCompression::On {
            opts.push(LcpOption::Acfc);
        }
        opts.iter().map(LcpOption::to_raw).collect()
    }

    fn review(&mut self, peer: &[RawOption], entropy: &mut dyn Entropy) -> Vec<Verdict> {
        let mut looped = false;
        let verdicts = peer
            .iter()
            .map(|raw| match LcpOption::parse(raw) {
                // RFC 1661 §6.1; the brief: Nak below 576 or above our maximum.
                LcpOption::Mru(v) if v < MIN_PEER_MRU || v > self.max_peer_mru => {
                    Verdict::Nak(LcpOption::Mru(v.clamp(MIN_PEER_MRU, self.max_peer_mru)).to_raw())
                }
                LcpOption::Mru(_) => Verdict::Ack,
                // RFC 1662 §7.1 / RFC 1661 §5.1: any map is acceptable on sync
                // L2TP framing (see the module doc); never Nak'd.
                LcpOption::Accm(_) => Verdict::Ack,
                LcpOption::AuthProtocol(p, d) => {
                    let mut data = p.to_be_bytes().to_vec();
                    data.extend_from_slice(&d);
                    match (self.role, AuthMethod::from_option_data(&data)) {
                        // RFC 1661 §6.2: the LNS does not authenticate itself.
                        (AuthRole::Authenticator, _) => Verdict::Reject,
                        (AuthRole::Peer, Some(m)) if self.auth_order.contains(&m) => Verdict::Ack,
                        // RFC 1661 §6.2: Nak with the protocol we prefer.
                        (AuthRole::Peer, _) => match self.auth_order.first() {
                            Some(m) => Verdict::Nak(RawOption {
                                kind: kind::AUTH,
                                data: m.option_data(),
                            }),
                            None => Verdict::Reject,
                        },
                    }
                }
                LcpOption::MagicNumber(0) => {
                    // RFC 1661 §6.4: zero is not a valid magic; suggest one.
                    Verdict::Nak(
                        LcpOption::MagicNumber(nonzero_u32(entropy, self.our_magic)).to_raw(),
                    )
                }
                LcpOption::MagicNumber(v) if v == self.our_magic => {
                    // RFC 1661 §6.4: our own magic: a looped-back link or a
                    // collision; Nak with a new value.
                    looped = true;
                    Verdict::Nak(
                        LcpOption::MagicNumber(nonzero_u32(entropy, self.our_magic)).to_raw(),
                    )
                }
                LcpOption::MagicNumber(_) => Verdict::Ack,
                LcpOption::Pfc | LcpOption::Acfc => Verdict::Ack,
                // MRRU (until multilink exists), Quality-Protocol, unknown
                // kinds and wrong lengths: RFC 1661 §5.4 Configure-Reject.
                LcpOption::Other(_) => Verdict::Reject,
            })
            .collect();
        self.loop_suspicions = if looped {
            self.loop_suspicions.saturating_add(1)
        } else {
            0
        };
        verdicts
    }

    fn peer_acked(&mut self, peer: &[RawOption]) {
        self.peer_mru = 1500;
        self.peer_magic = 0;
        self.send_compression = Compression::default();
        self.peer_demand = None;
        for raw in peer {
            match LcpOption::parse(raw) {
                LcpOption::Mru(v) => self.peer_mru = v,
                LcpOption::MagicNumber(v) => self.peer_magic = v,
                LcpOption::Pfc => self.send_compression.protocol = FieldCompression::On,
                LcpOption::Acfc => self.send_compression.address_control = FieldCompression::On,
                LcpOption::AuthProtocol(_, _) => {
                    self.peer_demand = AuthMethod::from_option_data(&raw.data)
                }
                _ => {}
            }
        }
    }

    fn ours_acked(&mut self, _ours: &[RawOption]) {}

    fn nak_received(&mut self, suggested: &[RawOption], entropy: &mut dyn Entropy) {
        for raw in suggested {
            match LcpOption::parse(raw) {
                LcpOption::Mru(v)
                    if self.request_mru.is_some()
                        && (MIN_PEER_MRU..=self.max_peer_mru.max(1500)).contains(&v) =>
                {
                    self.request_mru = Some(v);
                }
                LcpOption::Accm(v) if self.request_accm.is_some() => self.request_accm = Some(v),
                LcpOption::AuthProtocol(_, _) => {
                    if let AuthDemand::Asking(current) = self.demand {
                        // RFC 1661 §6.2: the peer suggests another method;
                        // take it if we accept it, else the next of ours.
                        self.demand = match AuthMethod::from_option_data(&raw.data) {
                            Some(m) if self.auth_order.contains(&m) => AuthDemand::Asking(m),
                            _ => match self.next_method_after(current) {
                                Some(m) => AuthDemand::Asking(m),
                                None => AuthDemand::Refused,
                            },
                        };
                    }
                }
                LcpOption::MagicNumber(_) => {
                    // RFC 1661 §6.4: pick a new random magic.
                    self.our_magic = nonzero_u32(entropy, self.our_magic);
                }
                _ => {}
            }
        }
    }

    fn reject_received(&mut self, rejected: &[RawOption]) {
        for raw in rejected {
            match raw.kind {
                kind::MRU => self.request_mru = None,
                kind::ACCM => self.request_accm = None,
                kind::AUTH => {
                    if matches!(self.demand, AuthDemand::Asking(_)) {
                        self.demand = AuthDemand::Refused;
                    }
                }
                kind::MAGIC => self.our_magic = 0,
                kind::PFC => self.request_compression.protocol = FieldCompression::Off,
                kind::ACFC => self.request_compression.address_control = FieldCompression::Off,
                _ => {}
            }
        }
    }
}

/// A non-zero random `u32` different from `avoid`.
pub(crate) fn nonzero_u32(entropy: &mut dyn Entropy, avoid: u32) -> u32 {
    for _ in 0..8 {
        let v = entropy.next_u32();
        if v != 0 && v != avoid {
            return v;
        }
    }
    // Only a broken entropy source gets here; stay valid and deterministic.
    avoid.wrapping_add(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Seeded;
    use crate::ppp::options::{emit_list, parse_list};
    use proptest::prelude::*;

    fn lns() -> LcpNegotiation {
        LcpNegotiation::new(
            AuthRole::Authenticator,
            vec![AuthMethod::ChapMd5, AuthMethod::Pap],
            1460,
            1500,
            None,
            Compression::default(),
        )
    }

    #[test]
    fn auth_order_keeps_each_method_once_in_order_of_first_mention() {
        use AuthMethod::{ChapMd5, Pap};
        assert_eq!(&*AuthOrder::new(&[Pap, ChapMd5, Pap]), &[Pap, ChapMd5]);
        assert_eq!(&*AuthOrder::new(&[ChapMd5, ChapMd5]), &[ChapMd5]);
        assert!(AuthOrder::new(&[]).is_empty());
        // The next method after a refused one (RFC 1661 §5.3 Nak) skips
        // nothing: [chap, pap] still offers pap once chap is refused.
        assert_eq!(lns().next_method_after(ChapMd5), Some(Pap));
    }

    fn subscriber(order: Vec<AuthMethod>) -> LcpNegotiation {
        LcpNegotiation::new(
            AuthRole::Peer,
            order,
            1500,
            1500,
            Some(0),
            Compression::default(),
        )
    }

    #[test]
    fn pppd_configure_request_is_acked() {
        // pppd (REFERENCE.md): ACCM 0 + Magic-Number; RFC 1661 §5.2.
        let mut n = lns();
        n.our_magic = 0x1111_1111;
        let opts = parse_list(&[0x02, 0x06, 0, 0, 0, 0, 0x05, 0x06, 0x4b, 0x2a, 0x10, 0x9c])
            .expect("pppd bytes");
        let v = n.review(&opts, &mut Seeded::new(1));
        assert_eq!(v, vec![Verdict::Ack, Verdict::Ack]);
        n.peer_acked(&opts);
        assert_eq!(n.peer_magic, 0x4b2a_109c);
    }

    #[test]
    fn every_accm_is_acked_never_naked() {
        // RFC 1661 §5.1 + RFC 1662 §7.1 on sync L2TP framing (module doc):
        // any map is acceptable, so the LNS Acks it, Naks never.
        let mut n = lns();
        let e = &mut Seeded::new(1);
        for map in [0x0000_0000u32, 0x000a_0000, 0xffff_ffff] {
            let opt = [LcpOption::Accm(map).to_raw()];
            assert_eq!(n.review(&opt, e), vec![Verdict::Ack], "{map:#010x}");
        }
        assert!(n.request().iter().all(|o| o.kind != kind::ACCM));
    }

    #[test]
    fn lns_request_bytes() {
        // RFC 1661 §6.1, §6.2 (CHAP MD5 = c2 23 05), §6.4.
        let mut n = lns();
        n.our_magic = 0x0102_0304;
        assert_eq!(
            emit_list(&n.request()),
            [0x01, 0x04, 0x05, 0xb4, 0x03, 0x05, 0xc2, 0x23, 0x05, 0x05, 0x06, 1, 2, 3, 4]
        );
    }

    #[test]
    fn mru_outside_bounds_is_naked() {
        // RFC 1661 §6.1 and the brief: below 576 or above our maximum.
        let mut n = lns();
        let e = &mut Seeded::new(1);
        let small = [RawOption::new(kind::MRU, &[0x01, 0x00])];
        assert_eq!(
            n.review(&small, e),
            vec![Verdict::Nak(RawOption::new(kind::MRU, &[0x02, 0x40]))]
        );
        let big = [RawOption::new(kind::MRU, &[0x23, 0x28])];
        assert_eq!(
            n.review(&big, e),
            vec![Verdict::Nak(RawOption::new(kind::MRU, &[0x05, 0xdc]))]
        );
        let ok = [RawOption::new(kind::MRU, &[0x05, 0xb4])];
        assert_eq!(n.review(&ok, e), vec![Verdict::Ack]);
    }

    #[test]
    fn mrru_and_unknown_are_rejected_and_auth_from_client_rejected_by_lns() {
        // RFC 1661 §5.4; RFC 1990 MRRU until multilink exists.
        let mut n = lns();
        let opts = [
            RawOption::new(kind::MRRU, &[0x05, 0xdc]),
            RawOption::new(0x7f, &[1]),
            RawOption::new(kind::AUTH, &[0xc0, 0x23]),
            RawOption::new(kind::MRU, &[0x05]),
        ];
        assert_eq!(
            n.review(&opts, &mut Seeded::new(1)),
            vec![Verdict::Reject; 4]
        );
    }

    #[test]
    fn own_magic_is_a_loop_and_gets_a_new_value() {
        // RFC 1661 §6.4.
        let mut n = lns();
        n.our_magic = 0xdead_beef;
        let opts = [RawOption::new(kind::MAGIC, &[0xde, 0xad, 0xbe, 0xef])];
        let v = n.review(&opts, &mut Seeded::new(1));
        match &v[0] {
            Verdict::Nak(o) => assert_ne!(o.data, vec![0xde, 0xad, 0xbe, 0xef]),
            other => panic!("expected a Nak, got {other:?}"),
        }
        assert_eq!(n.loop_suspicions, 1);
        let zero = [RawOption::new(kind::MAGIC, &[0, 0, 0, 0])];
        assert!(matches!(
            n.review(&zero, &mut Seeded::new(2))[0],
            Verdict::Nak(_)
        ));
    }

    #[test]
    fn nak_of_chap_to_pap_switches_method() {
        // pppd configured for PAP only Naks CHAP to PAP (REFERENCE.md); RFC 1661 §6.2.
        let mut n = lns();
        n.nak_received(
            &[RawOption::new(kind::AUTH, &[0xc0, 0x23])],
            &mut Seeded::new(1),
        );
        assert_eq!(n.demand, AuthDemand::Asking(AuthMethod::Pap));
        // A Nak to something we do not accept and no method left: refused.
        n.nak_received(
            &[RawOption::new(kind::AUTH, &[0xc2, 0x27])],
            &mut Seeded::new(1),
        );
        assert_eq!(n.demand, AuthDemand::Refused);
        let mut m = lns();
        m.reject_received(&[RawOption::new(kind::AUTH, &[0xc2, 0x23, 0x05])]);
        assert_eq!(m.demand, AuthDemand::Refused);
    }

    #[test]
    fn subscriber_naks_a_method_it_is_not_configured_for() {
        // RFC 1661 §6.2 and pppd's behaviour (REFERENCE.md).
        let mut s = subscriber(vec![AuthMethod::Pap]);
        let chap = [RawOption::new(kind::AUTH, &[0xc2, 0x23, 0x05])];
        assert_eq!(
            s.review(&chap, &mut Seeded::new(1)),
            vec![Verdict::Nak(RawOption::new(kind::AUTH, &[0xc0, 0x23]))]
        );
        let pap = [RawOption::new(kind::AUTH, &[0xc0, 0x23])];
        assert_eq!(s.review(&pap, &mut Seeded::new(1)), vec![Verdict::Ack]);
        s.peer_acked(&pap);
        assert_eq!(s.peer_demand, Some(AuthMethod::Pap));
    }

    #[test]
    fn pfc_acfc_acked_enable_send_compression() {
        // RFC 1661 §6.5, §6.6: used on send only when negotiated.
        let mut n = lns();
        let opts = [
            RawOption::new(kind::PFC, &[]),
            RawOption::new(kind::ACFC, &[]),
        ];
        assert_eq!(
            n.review(&opts, &mut Seeded::new(1)),
            vec![Verdict::Ack, Verdict::Ack]
        );
        assert_eq!(n.send_compression, Compression::default());
        n.peer_acked(&opts);
        assert_eq!(n.send_compression.protocol, FieldCompression::On);
        assert_eq!(n.send_compression.address_control, FieldCompression::On);
    }

    proptest! {
        #[test]
        fn option_round_trip(kind in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..10)) {
            let raw = RawOption { kind, data };
            prop_assert_eq!(LcpOption::parse(&raw).to_raw(), raw.clone());
            let typed = LcpOption::parse(&raw);
            prop_assert_eq!(LcpOption::parse(&typed.to_raw()), typed);
        }
    }
}
