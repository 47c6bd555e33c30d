//! Management API: the gRPC schema's generated types, the server that serves
//! a [`ManagementBackend`] (implemented by the daemon), the client lnsctl
//! uses, and live capture (filter, pcap writer, bounded tap).
//!
//! ```text
//!  lnsctl --(gRPC, Unix socket or TCP+token)--> server --> ManagementBackend (daemon)
//!  forwarding path --CaptureTap::offer (never blocks)--> CaptureReader --> server --> pcap chunks
//! ```
pub mod audit;
pub mod backend;
pub mod capture;
pub mod capture_names;
pub mod client;
pub mod cluster_backend;
pub mod cluster_ops;
pub mod ctl;
pub mod daemon_backend;
pub mod exposition;
pub mod forwarding;
pub mod json;
pub mod pcap;
pub mod peer_name;
pub mod promote_guard;
pub mod server;
pub mod tap;
pub mod taps;
pub mod views;

pub use backend::{
    BackendError, BackendResult, CaptureHandle, CaptureSpec, ManagementBackend, RequestedScope,
};

/// Types and stubs generated from `proto/schema/mgmt.proto`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]
pub mod pb {
    tonic::include_proto!("lnsd.mgmt.v1");
}
