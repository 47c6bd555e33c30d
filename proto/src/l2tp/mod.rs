//! RFC 2661 L2TPv2: wire formats and the sans-IO control-channel machines.
//!
//! Layers, bottom-up: [`header`] (§3.1), [`avp`] + [`avp_types`] (§4.1, §4.4),
//! [`hidden`] (§4.3), [`auth`] (§4.2), [`message`] (§6) and [`result_code`]
//! (§4.4.2); [`data`] builds and parses data message headers for the data
//! plane without allocating. [`reliable`] is the §5.8 control transport,
//! [`tunnel`] and [`session`] the §7 state machines for both sides, and
//! [`endpoint`] demultiplexes datagrams and is what the daemon drives.
//! [`state`] converts tunnels to and from the replicated protobuf encoding.

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
pub use event::{DropReason, Event, SessionDownReason, SessionRoute, Transmit, TunnelDownReason};
pub use result_code::{CdnResult, ErrorCode, StopCcnResult};
pub use session::{CallInfo, ProxyAuthType, ProxyInfo, Sequencing};
pub mod state;
