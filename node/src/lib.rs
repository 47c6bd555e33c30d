//! # lns-node: the lnsd daemon and the lnsctl CLI
//!
//! Contract: wires `lns-proto` and `lns-cluster` to sockets, the TUN device,
//! RADIUS, the management API and metrics. The only crate that reads config
//! files and environment variables. The daemon is not built yet (issue
//! "lnsd on one node").
pub mod dataplane;
pub mod http;
pub mod metrics;
pub mod mgmt;
