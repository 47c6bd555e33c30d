//! RFC 1661 PPP: framing, the negotiation automaton, LCP, PAP, CHAP, IPCP,
//! IPV6CP and the session link driver, for both sides (LNS and subscriber).
//!
//! Contract: everything here is deterministic and does no IO. The
//! [`Link`] driver takes frames, timeouts and the caller's decisions as
//! inputs and yields frames to send and [`LinkEvent`]s; its whole state
//! serializes to `pb::ppp::LinkState` and restores exactly.
//!
//! Layers, bottom up:
//! - [`frame`] and [`protocol`]: framing inside L2TP data messages and the
//!   data-plane classifier [`classify`];
//! - [`packet`] and [`options`]: the control-packet format;
//! - [`fsm`]: the RFC 1661 §4 automaton, one table for LCP, IPCP, IPV6CP;
//! - [`lcp`], [`ipcp`], [`ipv6cp`]: what each protocol asks and accepts;
//!   [`pap`] and [`chap`]: the authentication packets;
//! - [`link`]: phases, authentication, keepalive, proxy LCP, both sides;
//! - [`state`]: snapshot, restore and timer re-arming after a failover;
//! - [`cause`]: RFC 3145 disconnect causes for the CDN.
//!
//! Typical LNS use: `Link::new(Side::Lns, cfg)`, `open` (or
//! `open_with_proxy`) after ICCN, then feed `handle_frame` with every
//! non-IP frame of the session and `handle_timeout` at `poll_timeout`,
//! drain `poll_transmit` into L2TP data messages and act on `poll_event`
//! (RADIUS for `AuthRequest`, the pool for `Ipv4AddressRequest`, a CDN for
//! `LinkDown`).

pub mod cause;
pub mod chap;
pub mod frame;
pub mod fsm;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod link;
pub mod options;
pub mod packet;
pub mod pap;
pub mod protocol;
pub mod state;

pub use cause::{Direction, DisconnectCause, DisconnectCode};
pub use frame::{emit_frame, Compression, FieldCompression, Frame, FrameError, FrameRepr};
pub use lcp::AuthMethod;
pub use link::{
    AuthRequest, Credentials, Link, LinkConfig, LinkEvent, Phase, ProxyInfo, RestoreError, Side,
};
pub use protocol::{classify, Protocol};
