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
//! - [`peers`]: FreeRADIUS, l2tpns ([`peers::L2tpnsBed`]) and lnsd
//!   ([`peers::LnsdBed`], same lac/lns/core bed) from generated configs.
//! - [`drill`]: failover drills: the two-LNS-plus-witness bed
//!   ([`drill::bed::ClusterBed`]), the rig that holds sessions through a
//!   fault ([`drill::run::Rig`]) and the `drill=...` line (docs/drills.md).
//! - [`load`] and [`bench`]: the forward benchmark's load generator
//!   (`blast`) and the ceiling search `bench forward` runs.
//! - Binaries: `lac-sim`, `reflector` (UDP echo), `bench` (lnsd vs
//!   l2tpns, cluster vs single), `blast` (paced sendmmsg load through
//!   established sessions), `sccrq-flood` (half-open tunnels from many
//!   ports), `drill`, `demo` (the cluster demo with a live failover).
//!
//! ## Driving lac-sim from a drill
//!
//! Start it with [`harness::Topology::spawn_in`] and no `--hold`: it holds
//! its sessions until SIGINT/SIGTERM. Its stderr says when to act:
//! `lac-sim: setup done ...`, then `lac-sim: holding Ns` every second,
//! `lac-sim: tunnel ID lost: REASON` if the LNS drops a tunnel, and which
//! tunnels left control messages unacknowledged at teardown. After the
//! signal it drains, sends CDN for every session then StopCCN, and prints
//! the `lac-sim tunnels=.. tunnels_lost=.. sessions_up=.. dropped=..
//! setup_p50_ms=.. losses=.. teardown=clean|unclean` line (and the JSON
//! report with `--json`). See `tests/l2tpns_interop.rs` for both uses.

pub mod bench;
pub mod drill;
pub mod harness;
pub mod lac;
pub mod load;
pub mod peers;
