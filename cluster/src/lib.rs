//! # lns-cluster: Raft replication of opaque commands
//!
//! Contract: replicates opaque byte commands through Raft and applies them
//! to a state machine supplied by the caller. Never names L2TP, PPP or
//! RADIUS. Not built yet: see issue "Raft replication library".
