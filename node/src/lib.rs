//! # lns-node: the lnsd daemon and the lnsctl CLI
//!
//! Contract: wires `lns-proto` and `lns-cluster` to sockets, the TUN device,
//! RADIUS, the management API and metrics. The only crate that reads config
//! files and environment variables. The daemon is not built yet (issue
//! "lnsd on one node").
pub mod aaa;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dataplane;
pub mod engine;
pub mod system;
