//! The TUN device: creation, addresses, MTU, routes for the pools.
//!
//! Contract: [`open`] creates the device (tun-rs, layer 3, no packet
//! information header, one queue per worker), puts the LNS addresses on it, sets its MTU, brings
//! it up, routes every configured pool into it and returns it in
//! non-blocking mode (the downstream worker waits with `poll` and a timeout,
//! so shutdown is bounded). It also sets `accept_local=1` on the device: the
//! ICMP errors the data plane writes into the TUN carry the LNS address as
//! source, which Linux otherwise drops as a martian. The device disappears
//! when the last handle is dropped (not persistent), and its routes with it.
//!
//! The transmit queue length follows the socket buffer
//! ([`super::DataPlaneConfig::socket_buffer`]).
//!
//! Routes are added with `ip route replace` (iproute2): simple and
//! auditable; a netlink client is a later improvement.

use std::io;
use std::net::IpAddr;
use std::process::Command;

use tun_rs::{DeviceBuilder, SyncDevice};

use super::DataPlaneConfig;

/// Why the TUN device could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TunError {
    /// Creating or configuring the device failed (not root? no /dev/net/tun?).
    #[error("creating TUN device {name}: {source}")]
    Create {
        /// The requested device name.
        name: String,
        /// The system error.
        source: io::Error,
    },
    /// A pool route could not be installed.
    #[error("route {prefix}/{len} into {name}: {detail}")]
    Route {
        /// The pool prefix.
        prefix: IpAddr,
        /// Its length.
        len: u8,
        /// The device.
        name: String,
        /// What `ip` said.
        detail: String,
    },
}

/// Creates and configures the TUN device of `config`, with `queues`
/// queues (IFF_MULTI_QUEUE when more than one: the kernel spreads the
/// packets it sends into the device over the queues by flow).
pub fn open(config: &DataPlaneConfig, queues: usize) -> Result<Vec<SyncDevice>, TunError> {
    let name = config.tun_name.clone();
    let create = |source| TunError::Create {
        name: name.clone(),
        source,
    };
    let mut builder = DeviceBuilder::new()
        .name(&config.tun_name)
        .mtu(config.tun_mtu)
        .ipv4(config.tun_ipv4, 32u8, None)
        .packet_information(false)
        .multi_queue(queues > 1)
        .tx_queue_len(tx_queue_len(config.socket_buffer))
        .enable(true);
    if let Some(v6) = config.tun_ipv6 {
        builder = builder.ipv6(v6, 128u8);
    }
    let first = builder.build_sync().map_err(create)?;
    let mut devices = Vec::with_capacity(queues);
    for _ in 1..queues {
        devices.push(first.try_clone().map_err(create)?);
    }
    devices.insert(0, first);
    for d in &devices {
        d.set_nonblocking(true).map_err(create)?;
    }
    // Best effort: without it only the IPv4 ICMP errors are lost.
    if let Err(e) = std::fs::write(
        format!("/proc/sys/net/ipv4/conf/{}/accept_local", config.tun_name),
        "1",
    ) {
        tracing::warn!(device = %config.tun_name, error = %e, "cannot set accept_local");
    }
    for &(prefix, len) in &config.routes {
        add_route(&config.tun_name, prefix, len)?;
    }
    Ok(devices)
}

/// The TUN device's transmit queue (packets the kernel routes into the
/// device wait there for a downstream worker): one packet per 2 KiB of the
/// socket buffer, so both absorb bursts of the same length; at least the
/// usual 1 000 (tun's own default is 500).
fn tx_queue_len(socket_buffer: usize) -> u32 {
    u32::try_from(socket_buffer / 2048)
        .unwrap_or(u32::MAX)
        .max(1_000)
}

/// `ip route replace PREFIX/LEN dev NAME` (IPv4 or IPv6).
pub(crate) fn add_route(name: &str, prefix: IpAddr, len: u8) -> Result<(), TunError> {
    route(name, "replace", prefix, len)
}

/// `ip route del PREFIX/LEN dev NAME` (a session's own route, when its last
/// user ended). An already absent route is not an error.
pub(crate) fn del_route(name: &str, prefix: IpAddr, len: u8) -> Result<(), TunError> {
    match route(name, "del", prefix, len) {
        Err(TunError::Route { detail, .. }) if detail.contains("No such process") => Ok(()),
        other => other,
    }
}

/// Runs `ip -4|-6 route VERB PREFIX/LEN dev NAME`.
fn route(name: &str, verb: &str, prefix: IpAddr, len: u8) -> Result<(), TunError> {
    let family = match prefix {
        IpAddr::V4(_) => "-4",
        IpAddr::V6(_) => "-6",
    };
    let output = Command::new("ip")
        .args([family, "route", verb])
        .arg(format!("{prefix}/{len}"))
        .args(["dev", name])
        .output();
    let detail = match output {
        Ok(o) if o.status.success() => return Ok(()),
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        Err(e) => e.to_string(),
    };
    Err(TunError::Route {
        prefix,
        len,
        name: name.to_owned(),
        detail,
    })
}
