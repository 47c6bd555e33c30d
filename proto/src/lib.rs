//! # lns-proto: every wire format and sans-IO protocol machine of lnsd
//!
//! Contract: nothing in this crate performs IO, reads a clock or draws
//! randomness. Time (`now`) and random bytes are parameters; outputs are
//! drained with `poll_*` methods. Every wire format has a zero-copy view and
//! an owned representation with `parse` and `emit`; number spaces are open
//! enums with an `Unknown(n)` variant.
//!
//! Modules:
//! - [`time`] and [`entropy`]: the clock and randomness every core takes as input.
//! - [`l2tp`]: RFC 2661 L2TPv2 header, AVPs, messages, reliable delivery,
//!   tunnel and session state machines for both sides, endpoint demux.
//! - [`ppp`]: RFC 1661 PPP framing, the option-negotiation automaton, LCP,
//!   PAP, CHAP, IPCP, IPV6CP and the session link driver for both sides.
//! - [`radius`]: RFC 2865/2866/3579/5176 RADIUS wire format, crypto, the
//!   sans-IO client machine and dynamic-authorization helpers.
//! - [`ip`]: data-plane IPv4/IPv6 helpers: header views, checksums, address
//!   lookup, TCP MSS clamping, ICMP Fragmentation Needed / Packet Too Big.
//! - [`nd`]: RFC 4861 Router Solicitation / Advertisement with RFC 8106 DNS
//!   options, and the per-link sans-IO Router Advertisement sender.
//! - [`dhcpv6`]: RFC 8415 messages and options, and the per-session sans-IO
//!   DHCPv6 server (IA_NA from the session /64, IA_PD delegated prefix).
#![forbid(unsafe_code)]

pub mod dhcpv6;
pub mod entropy;
pub mod inline_bytes;
pub mod ip;
pub mod l2tp;
pub mod nd;
pub mod ppp;
pub mod radius;
pub mod time;

/// Types generated from `schema/*.proto`: the versioned encoding of
/// replicated protocol state.
pub mod pb {
    /// L2TP tunnel and session state (`schema/l2tp.proto`).
    #[allow(missing_debug_implementations, clippy::all)]
    pub mod l2tp {
        include!(concat!(env!("OUT_DIR"), "/lns.l2tp.rs"));
    }
    /// PPP link state (`schema/ppp.proto`).
    #[allow(missing_debug_implementations, clippy::all)]
    pub mod ppp {
        include!(concat!(env!("OUT_DIR"), "/lns.ppp.rs"));
    }
    /// IPv6 Neighbor Discovery state (`schema/nd.proto`).
    #[allow(missing_debug_implementations, clippy::all)]
    pub mod nd {
        include!(concat!(env!("OUT_DIR"), "/lns.nd.rs"));
    }
    /// DHCPv6 server bindings (`schema/dhcpv6.proto`).
    #[allow(missing_debug_implementations, clippy::all)]
    pub mod dhcpv6 {
        include!(concat!(env!("OUT_DIR"), "/lns.dhcpv6.rs"));
    }
    /// lnsd replicated commands and engine snapshots (`schema/lnsd.proto`).
    #[allow(missing_debug_implementations, clippy::all)]
    pub mod lnsd {
        include!(concat!(env!("OUT_DIR"), "/lns.lnsd.rs"));
    }
}
