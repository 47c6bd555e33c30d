//! # lns-chaos-tests: test LAC, namespace harness and benchmarks
//!
//! Contract: drives LNS implementations (Debian's l2tpns today, `lnsd`
//! when it exists) as separate processes over real sockets in network
//! namespaces (198.18.0.0/15, 2001:db8::/32 only). Uses `lns-proto` for
//! the LAC and subscriber sides of the test LAC.
//!
//! - [`harness`]: [`harness::Topology`] (namespaces, veths, routes, a Drop
//!   guard) and [`harness::Proc`] (children killed by PID).
//! - [`lac`]: lac-sim's engine ([`lac::run`]) and its report.
//! - [`peers`]: FreeRADIUS and l2tpns started from generated configs.
//! - Binaries: `lac-sim`, `reflector` (UDP echo), `bench`.

pub mod harness;
pub mod lac;
pub mod peers;
