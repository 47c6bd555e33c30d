//! RFC 1661 PPP: framing, negotiation automaton and the session link driver.
//!
//! Contract: everything here is deterministic and does no IO. The
//! [`link::Link`] driver takes frames, timeouts and the caller's decisions
//! as inputs and yields frames to send and [`link::LinkEvent`]s; its whole
//! state serializes to `pb::ppp::LinkState` and restores exactly.
//!
//! Layers, bottom up: [`frame`] and [`protocol`] (framing inside L2TP data
//! messages), [`packet`] and [`options`] (the control-packet format),
//! [`fsm`] (the §4 automaton), [`lcp`], [`pap`], [`chap`], [`ipcp`] and
//! [`ipv6cp`] (the protocols), [`link`] (phases, both sides) and [`state`]
//! (snapshot and restore). [`cause`] holds the RFC 3145 disconnect causes.

pub mod frame;
pub mod fsm;
pub mod options;
pub mod packet;
pub mod protocol;

pub use frame::{Compression, FieldCompression, Frame, FrameError, FrameRepr};
pub use protocol::{classify, Protocol};
pub mod cause;
pub mod chap;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod link;
pub mod pap;

pub use cause::{Direction, DisconnectCause, DisconnectCode};
pub use lcp::AuthMethod;
pub use link::{AuthRequest, Credentials, Link, LinkConfig, LinkEvent, Phase, ProxyInfo, Side};
pub mod state;
