//! Test support shared by proto's integration tests: a pcap writer that wraps
//! L2TP datagrams in IPv4/UDP, and a tshark check that fails on malformed
//! packets or expert errors. Include with `mod support;`.
#![allow(dead_code)]

pub mod pcap;
pub mod tshark;
