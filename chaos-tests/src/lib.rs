//! # lns-chaos-tests: test LAC, failover drills and benchmarks
//!
//! Contract: drives `lnsd` as separate processes over real sockets in
//! network namespaces (198.18.0.0/15, 2001:db8::/32 only). May use
//! `lns-proto` for the LAC and subscriber sides. Not built yet.
