//! Load generation for the `forward` benchmark: faster than lac-sim's
//! probes, outside lac-sim.
//!
//! Contract: lac-sim brings the sessions up and writes their routes
//! ([`routes`]); the `blast` binary builds one datagram per session
//! ([`packets`]) and sends them round-robin at a paced rate with sendmmsg
//! ([`sender`]). Upstream datagrams are whole IPv4 packets on a raw socket
//! in the `lac` namespace, forged from each tunnel's own LAC address and
//! port (the LNS accepts data only from there; lac-sim keeps that port
//! bound); downstream datagrams are plain UDP from the `core` namespace to
//! each subscriber's address. Nothing here receives: the benchmark counts
//! what the LNS delivered on the far veth's receive counter.

pub mod packets;
pub mod routes;
pub mod sender;

pub use routes::Route;
