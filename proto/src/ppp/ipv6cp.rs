//! IPV6CP options (RFC 5072 §4) and the IPV6CP half of negotiation for both
//! sides.
//!
//! Contract: we request our Interface-Identifier; the peer's is acked when
//! non-zero and different from ours, otherwise Nak'd to the value the caller
//! provided or to one drawn from the entropy input (RFC 5072 §4.1). When the
//! caller assigned the peer an identifier (`assigned_peer`, RADIUS
//! Framed-Interface-Id, RFC 3162 §2.2), only that one is acked and any other
//! is Nak'd with it.
//! IPv6-Compression-Protocol and unknown options are rejected.

use super::fsm::{Negotiation, Verdict};
use super::lcp::nonzero_u32;
use super::options::RawOption;
use crate::entropy::Entropy;

/// IPV6CP option kinds.
pub mod kind {
    /// Interface-Identifier (RFC 5072 §4.1).
    pub const INTERFACE_ID: u8 = 0x01;
    /// IPv6-Compression-Protocol (RFC 5072 §4.2).
    pub const COMPRESSION: u8 = 0x02;
}

/// A typed IPV6CP option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipv6cpOption {
    /// Interface-Identifier.
    InterfaceId(u64),
    /// Anything else or a wrong length.
    Other(RawOption),
}

impl Ipv6cpOption {
    /// Types a raw option.
    pub fn parse(o: &RawOption) -> Ipv6cpOption {
        match (o.kind, <[u8; 8]>::try_from(&o.data[..])) {
            (kind::INTERFACE_ID, Ok(b)) => Ipv6cpOption::InterfaceId(u64::from_be_bytes(b)),
            _ => Ipv6cpOption::Other(o.clone()),
        }
    }

    /// The raw option.
    pub fn to_raw(&self) -> RawOption {
        match self {
            Ipv6cpOption::InterfaceId(v) => RawOption::new(kind::INTERFACE_ID, &v.to_be_bytes()),
            Ipv6cpOption::Other(o) => o.clone(),
        }
    }
}

/// IPV6CP negotiation state. Plain data: the snapshot stores it all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6cpNegotiation {
    /// Our interface identifier (requested while `Some`).
    pub request_id: Option<u64>,
    /// The identifier to suggest to a peer that needs one (0: draw one).
    pub suggestion: u64,
    /// The peer's identifier as acked by us (0 until then).
    pub peer_id: u64,
    /// The identifier the peer must use (RFC 3162 §2.2), if assigned.
    pub assigned_peer: Option<u64>,
}

impl Ipv6cpNegotiation {
    /// A negotiation requesting `ours` (0: drawn by [`Self::draw_if_unset`]).
    pub fn new(ours: u64, suggestion: u64) -> Self {
        Ipv6cpNegotiation {
            request_id: Some(ours),
            suggestion,
            peer_id: 0,
            assigned_peer: None,
        }
    }

    /// Draws a random non-zero identifier if ours is still 0 (RFC 5072 §4.1).
    pub fn draw_if_unset(&mut self, entropy: &mut dyn Entropy) {
        if self.request_id == Some(0) {
            self.request_id = Some(nonzero_u64(entropy, self.suggestion));
        }
    }

    /// Our identifier (0 if the peer rejected the option).
    pub fn local_id(&self) -> u64 {
        self.request_id.unwrap_or(0)
    }
}

impl Negotiation for Ipv6cpNegotiation {
    fn request(&self) -> Vec<RawOption> {
        self.request_id
            .map(|v| Ipv6cpOption::InterfaceId(v).to_raw())
            .into_iter()
            .collect()
    }

    fn review(&mut self, peer: &[RawOption], entropy: &mut dyn Entropy) -> Vec<Verdict> {
        let ours = self.local_id();
        let assigned = self.assigned_peer.filter(|a| *a != 0 && *a != ours);
        peer.iter()
            .map(|raw| match Ipv6cpOption::parse(raw) {
                // RFC 3162 §2.2 + RFC 5072 §4.1: the assigned identifier is
                // the only acceptable one; Nak anything else with it.
                Ipv6cpOption::InterfaceId(v) if assigned.is_some_and(|a| a != v) => {
                    let a = assigned.unwrap_or(v);
                    Verdict::Nak(Ipv6cpOption::InterfaceId(a).to_raw())
                }
                // RFC 5072 §4.1: a non-zero identifier different from ours.
                Ipv6cpOption::InterfaceId(v) if v != 0 && v != ours => Verdict::Ack,
                // RFC 5072 §4.1: both identifiers zero (ours was rejected):
                // "terminated by transmitting the Configure-Reject".
                Ipv6cpOption::InterfaceId(0) if ours == 0 => Verdict::Reject,
                Ipv6cpOption::InterfaceId(_) => {
                    let s = if self.suggestion != 0 && self.suggestion != ours {
                        self.suggestion
                    } else {
                        nonzero_u64(entropy, ours)
                    };
                    Verdict::Nak(Ipv6cpOption::InterfaceId(s).to_raw())
                }
                // RFC 5072 §4.2 compression and unknown options.
                Ipv6cpOption::Other(_) => Verdict::Reject,
            })
            .collect()
    }

    fn peer_acked(&mut self, peer: &[RawOption]) {
        for raw in peer {
            if let Ipv6cpOption::InterfaceId(v) = Ipv6cpOption::parse(raw) {
                self.peer_id = v;
            }
        }
    }

    fn ours_acked(&mut self, _ours: &[RawOption]) {}

    fn nak_received(&mut self, suggested: &[RawOption], entropy: &mut dyn Entropy) {
        for raw in suggested {
            if let (Some(_), Ipv6cpOption::InterfaceId(v)) =
                (self.request_id, Ipv6cpOption::parse(raw))
            {
                // RFC 5072 §4.1: adopt the suggestion unless it is unusable.
                self.request_id = Some(if v != 0 && v != self.peer_id {
                    v
                } else {
                    nonzero_u64(entropy, self.peer_id)
                });
            }
        }
    }

    fn reject_received(&mut self, rejected: &[RawOption]) {
        if rejected.iter().any(|o| o.kind == kind::INTERFACE_ID) {
            self.request_id = None;
        }
    }
}

fn nonzero_u64(entropy: &mut dyn Entropy, avoid: u64) -> u64 {
    let hi = u64::from(entropy.next_u32());
    let lo = u64::from(nonzero_u32(entropy, 0));
    let v = (hi << 32) | lo;
    if v == avoid {
        v ^ 0x0000_0001_0000_0000
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Seeded;
    use proptest::prelude::*;

    #[test]
    fn distinct_nonzero_identifier_is_acked_others_naked() {
        // RFC 5072 §4.1.
        let e = &mut Seeded::new(3);
        let mut n = Ipv6cpNegotiation::new(0x0200_0000_0000_0001, 0);
        let good = [RawOption::new(
            kind::INTERFACE_ID,
            &[0x12, 0x34, 0, 0, 0, 0, 0, 0x99],
        )];
        assert_eq!(n.review(&good, e), vec![Verdict::Ack]);
        let same = [Ipv6cpOption::InterfaceId(0x0200_0000_0000_0001).to_raw()];
        let zero = [Ipv6cpOption::InterfaceId(0).to_raw()];
        for bad in [&same, &zero] {
            match &n.review(bad, e)[0] {
                Verdict::Nak(o) => {
                    let Ipv6cpOption::InterfaceId(v) = Ipv6cpOption::parse(o) else {
                        panic!("Nak carries an identifier")
                    };
                    assert_ne!(v, 0);
                    assert_ne!(v, 0x0200_0000_0000_0001);
                }
                other => panic!("expected Nak, got {other:?}"),
            }
        }
        // The caller's suggestion wins over randomness.
        n.suggestion = 0x0a0b_0c0d_0e0f_1011;
        assert_eq!(
            n.review(&zero, e),
            vec![Verdict::Nak(
                Ipv6cpOption::InterfaceId(0x0a0b_0c0d_0e0f_1011).to_raw()
            )]
        );
        let comp = [RawOption::new(kind::COMPRESSION, &[0x00, 0x4f])];
        assert_eq!(n.review(&comp, e), vec![Verdict::Reject]);
    }

    #[test]
    fn an_assigned_peer_identifier_is_naked_until_the_peer_uses_it() {
        // RFC 3162 §2.2 (Framed-Interface-Id) with RFC 5072 §4.1.
        let e = &mut Seeded::new(4);
        let mut n = Ipv6cpNegotiation::new(0x0200_0000_0000_0001, 0);
        n.assigned_peer = Some(0x0211_22ff_fe33_4455);
        // Another identifier: Configure-Nak option 01 len 0a with ours.
        let other = [RawOption::new(
            kind::INTERFACE_ID,
            &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
        )];
        let Verdict::Nak(nak) = &n.review(&other, e)[0] else {
            panic!("expected a Nak")
        };
        let mut bytes = Vec::new();
        nak.emit(&mut bytes);
        assert_eq!(
            bytes,
            [0x01, 0x0a, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]
        );
        // Zero is Nak'd the same way; the assigned identifier is acked.
        let zero = [Ipv6cpOption::InterfaceId(0).to_raw()];
        assert_eq!(n.review(&zero, e)[0], Verdict::Nak(nak.clone()));
        let good = [RawOption::new(
            kind::INTERFACE_ID,
            &[0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55],
        )];
        assert_eq!(n.review(&good, e), vec![Verdict::Ack]);
        n.peer_acked(&good);
        assert_eq!(n.peer_id, 0x0211_22ff_fe33_4455);
        // An assignment equal to our own identifier cannot be used.
        n.assigned_peer = Some(0x0200_0000_0000_0001);
        assert_eq!(n.review(&other, e), vec![Verdict::Ack]);
    }

    #[test]
    fn both_identifiers_zero_is_rejected() {
        // RFC 5072 §4.1: "If the two Interface-Identifiers are equal to zero,
        // the Interface-Identifier's negotiation MUST be terminated by
        // transmitting the Configure-Reject". Ours is zero once the peer
        // rejected our option.
        let e = &mut Seeded::new(3);
        let mut n = Ipv6cpNegotiation::new(0x0200_0000_0000_0001, 0);
        n.reject_received(&[Ipv6cpOption::InterfaceId(0x0200_0000_0000_0001).to_raw()]);
        assert_eq!(n.local_id(), 0);
        let zero = [Ipv6cpOption::InterfaceId(0).to_raw()];
        assert_eq!(n.review(&zero, e), vec![Verdict::Reject]);
    }

    #[test]
    fn nak_is_adopted() {
        let e = &mut Seeded::new(3);
        let mut n = Ipv6cpNegotiation::new(0, 0);
        n.draw_if_unset(e);
        assert_ne!(n.local_id(), 0);
        n.nak_received(&[Ipv6cpOption::InterfaceId(77).to_raw()], e);
        assert_eq!(n.local_id(), 77);
    }

    proptest! {
        #[test]
        fn option_round_trip(kind in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..10)) {
            let raw = RawOption { kind, data };
            let typed = Ipv6cpOption::parse(&raw);
            prop_assert_eq!(typed.to_raw(), raw);
        }
    }
}
