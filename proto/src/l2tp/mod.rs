//! RFC 2661 L2TPv2: wire formats and the sans-IO control-channel machines.
//!
//! Layers, bottom-up: [`header`] (§3.1), [`avp`] + [`avp_types`] (§4.1, §4.4),
//! [`hidden`] (§4.3), [`auth`] (§5.1.1), [`message`] (§6) and [`result_code`]
//! (§4.4.2); [`data`] builds and parses data message headers for the data
//! plane without allocating. [`reliable`] is the §5.8 control transport,
//! [`tunnel`] and [`session`] the §7 state machines for both sides, and
//! [`endpoint`] demultiplexes datagrams and is what the daemon drives.
//! [`state`] converts tunnels to and from the replicated protobuf encoding.
//!
//! Driving an LNS (the daemon does this around its UDP socket; `now` and the
//! entropy come from the caller, so the same inputs give the same outputs):
//!
//! ```
//! use lns_proto::entropy::Seeded;
//! use lns_proto::l2tp::{Endpoint, EndpointConfig, Event, Side};
//! use lns_proto::time::Timestamp;
//!
//! let mut lns = Endpoint::new(EndpointConfig::new(Side::Lns, b"lns1"));
//! let mut lac = Endpoint::new(EndpointConfig::new(Side::Lac, b"lac1"));
//! let (lns_addr, lac_addr) = ("192.0.2.2:1701".parse().unwrap(), "192.0.2.1:1701".parse().unwrap());
//! let mut rng = Seeded::new(1);
//! let now = Timestamp::from_unix_millis(1_700_000_000_000);
//! let settings = lns_proto::l2tp::PeerSettings::open();
//! lac.open_tunnel(now, lac_addr, lns_addr, settings, &mut rng).unwrap();
//! // Shuttle datagrams both ways (a real daemon: send to t.peer from t.local).
//! loop {
//!     let mut moved = false;
//!     while let Some(t) = lac.poll_transmit() {
//!         lns.handle_datagram(now, t.peer, t.local, &t.payload, &mut rng);
//!         moved = true;
//!     }
//!     while let Some(t) = lns.poll_transmit() {
//!         lac.handle_datagram(now, t.peer, t.local, &t.payload, &mut rng);
//!         moved = true;
//!     }
//!     if !moved { break; }
//! }
//! assert!(matches!(lns.poll_event(), Some(Event::TunnelUp { .. })));
//! // Replicate what changed before emitting (FAILOVER.md): snapshot these.
//! for id in lns.take_changed() {
//!     let _state = lns.snapshot_tunnel(id);
//! }
//! // Then sleep until lns.poll_timeout() and call lns.handle_timeout(now, ..).
//! ```

pub mod auth;
pub mod avp;
pub mod avp_types;
pub mod config;
pub mod data;
pub mod endpoint;
pub mod event;
pub mod header;
pub mod hidden;
pub mod message;
pub mod reliable;
pub mod result_code;
pub mod session;
pub mod tunnel;

pub use config::{
    DeliveryReports, EndpointConfig, Hiding, Limits, PeerEntry, PeerSettings, PeerTable, Side,
    TransportConfig, TunnelAuth,
};
pub use endpoint::{CommandError, Endpoint};
pub use event::{
    Counters, DropReason, Event, SessionDownReason, SessionRoute, Transmit, TunnelDownReason,
};
pub use result_code::{CdnResult, ErrorCode, StopCcnResult};
pub use session::{CallInfo, ProxyAuthType, ProxyInfo, RareCallAvps, Sequencing};
pub mod state;
