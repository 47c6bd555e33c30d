//! Real peers started from generated configs: FreeRADIUS, lnsd and Debian's
//! l2tpns (with the lac/lns/core test bed around it).
//!
//! Contract: configs are written into the topology's scratch directory,
//! processes run inside the topology's namespaces and are killed by PID
//! when their guards drop.

pub mod freeradius;
pub mod l2tpns;

pub use l2tpns::{BedOptions, L2tpnsBed};
pub mod lnsd;
pub use lnsd::{LnsdBed, LnsdOptions};
