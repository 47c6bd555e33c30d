//! The tunnel addresses that move to the active node (FAILOVER.md, issue 6
//! item 4).
//!
//! Contract: [`Vip::claim`] adds every configured address to its interface
//! and announces it [`ANNOUNCEMENTS`] times, [`ANNOUNCE_SPACING`] apart,
//! on a packet socket (`pnet_datalink`, no unsafe code): a gratuitous ARP
//! for an IPv4 address (RFC 5227 §3 "ARP Announcement") and an
//! unsolicited Neighbor Advertisement with the Override flag and the
//! Target Link-Layer Address option for an IPv6 one (RFC 4861 §7.2.6).
//! Both frames are built by `lns_proto` (`ip::arp`, `nd::neighbor`). An
//! IPv6 address is added without duplicate address detection (`nodad`):
//! it moves from a node that gave it up, and must serve at once.
//! [`Vip::release`] removes the addresses at once. Addresses are managed
//! with iproute2's `ip` (present on every system lnsd targets); an address
//! already present (claim) or already gone (release) is not an error.
//!
//! Order: clones of a [`Vip`] share one lock, held over every `ip` command
//! and announcement, and a release voids every claim decided before it
//! ([`ClaimTicket`]): a claim spawned when the node became active cannot
//! add or announce the addresses after the release that followed it. A
//! planned transfer releases before the target may campaign
//! (`control::transfer`).
//!
//! [`Vip::guard`] ties the addresses to the life of lnsd: an
//! [`AddressGuard`] is a small `sh` child in its own process group that
//! waits for the end of a pipe lnsd holds, then removes every address. A
//! lnsd that is SIGKILLed, aborts or is killed by the OOM killer closes the
//! pipe as it dies, so its kernel stops answering ARP and Neighbor
//! Solicitations for an address the new active node now serves (a dead
//! node still answering a multicast NS won the core's neighbour entry and
//! black-holed IPv6 in the kill-active drill). The guard ignores SIGTERM,
//! SIGINT and SIGHUP: a service manager stopping lnsd gracefully must not
//! remove the addresses before lnsd hands over. A frozen (SIGSTOPped) lnsd
//! keeps its pipe open: that case is the lease fence's.

use crate::config::TunnelAddress;
use lns_proto::ip::arp::gratuitous_arp_frame;
use lns_proto::nd::neighbor::unsolicited_na_frame;
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Announcements (gratuitous ARP / unsolicited NA) sent per address on
/// claim.
pub const ANNOUNCEMENTS: usize = 3;
/// Time between two of them.
pub const ANNOUNCE_SPACING: Duration = Duration::from_millis(100);

/// The moving addresses of this node. Clones share one [`Holding`]: every
/// add, removal and announcement happens under its lock, so two tasks
/// never interleave their `ip` commands, and a claim decided before a
/// release ([`Vip::ticket`]) adds and announces nothing after it.
#[derive(Clone, Debug)]
pub struct Vip {
    addresses: Vec<TunnelAddress>,
    holding: Arc<Mutex<Holding>>,
}

/// A claim decided at one moment: [`Vip::claim`] adds nothing once a
/// [`Vip::release`] came after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimTicket(u64);

impl Vip {
    /// The addresses of `[[cluster.tunnel_addresses]]`.
    pub fn new(addresses: Vec<TunnelAddress>) -> Vip {
        Vip {
            addresses,
            holding: Arc::new(Mutex::new(Holding::default())),
        }
    }

    /// A ticket for a claim decided now (see [`ClaimTicket`]).
    pub fn ticket(&self) -> ClaimTicket {
        self.lock().ticket()
    }

    /// A ticket if `still` (run under the lock, so a release that follows
    /// what `still` saw comes after the ticket and voids it).
    pub fn ticket_if(&self, still: impl FnOnce() -> bool) -> Option<ClaimTicket> {
        let mut holding = self.lock();
        still().then(|| holding.ticket())
    }

    /// True when the last decision was to claim the addresses (added, or a
    /// claim on its way), false once released.
    pub fn claimed(&self) -> bool {
        matches!(self.lock().state, Held::Claiming | Held::Added)
    }

    /// Adds every address; returns the problems (the node still serves the
    /// addresses it could add).
    pub fn add_all(&self) -> Vec<String> {
        let mut holding = self.lock();
        holding.state = Held::Added;
        self.add_locked()
    }

    /// Starts the guard that removes every address when this process (or
    /// the returned guard) ends.
    pub fn guard(&self) -> std::io::Result<AddressGuard> {
        AddressGuard::start(&self.addresses)
    }

    /// Removes every address (errors are logged, never fatal). Returns once
    /// they are gone: from then on this node's kernel answers no ARP
    /// request or Neighbor Solicitation for them, and no earlier claim adds
    /// them back.
    pub fn release(&self) {
        let mut holding = self.lock();
        if !holding.release() {
            return;
        }
        for t in &self.addresses {
            match ip(&["addr", "del", &t.address.to_string(), "dev", &t.interface]) {
                Ok(()) => {
                    tracing::info!(address = %t.address, interface = %t.interface, "tunnel address released")
                }
                Err(e) if e.contains("Cannot assign") || e.contains("not found") => {}
                Err(e) => {
                    tracing::warn!(address = %t.address, "cannot remove the tunnel address: {e}")
                }
            }
        }
    }

    /// Adds the addresses, then announces each [`ANNOUNCEMENTS`] times,
    /// [`ANNOUNCE_SPACING`] apart (async: the caller keeps serving
    /// meanwhile); stops at once (or does nothing) if a release came after
    /// `ticket`.
    pub async fn claim(&self, ticket: ClaimTicket) {
        {
            let mut holding = self.lock();
            if !holding.claim(ticket) {
                tracing::info!("tunnel addresses released since this claim: not added");
                return;
            }
            for e in self.add_locked() {
                tracing::error!("tunnel address: {e}");
            }
        }
        for t in &self.addresses {
            tracing::info!(address = %t.address, interface = %t.interface, "tunnel address claimed");
        }
        for round in 0..ANNOUNCEMENTS {
            if round > 0 {
                tokio::time::sleep(ANNOUNCE_SPACING).await;
            }
            // Under the lock: an announcement never follows a release.
            let holding = self.lock();
            if !holding.current(ticket) {
                return;
            }
            for t in &self.addresses {
                if let Err(e) = announce(&t.interface, t.address.addr) {
                    tracing::warn!(address = %t.address.addr, interface = %t.interface, "announcement not sent: {e}");
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Holding> {
        // A panic while holding the lock leaves a valid Holding (plain
        // fields): go on with it.
        self.holding.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add_locked(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for t in &self.addresses {
            let prefix = t.address.to_string();
            let mut args = vec!["addr", "replace", &prefix, "dev", &t.interface];
            if t.address.addr.is_ipv6() {
                args.push("nodad");
            }
            let r = ip(&args);
            if let Err(e) = r {
                errors.push(format!("add {} to {}: {e}", t.address, t.interface));
            }
        }
        errors
    }
}

/// What was last done with the addresses, and how many releases so far.
#[derive(Debug, Default)]
struct Holding {
    state: Held,
    releases: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Nothing done yet: a node killed while active may have left them.
    #[default]
    Unknown,
    /// A claim was decided (a ticket given), not yet added.
    Claiming,
    Added,
    Removed,
}

impl Holding {
    fn ticket(&mut self) -> ClaimTicket {
        if self.state != Held::Added {
            self.state = Held::Claiming;
        }
        ClaimTicket(self.releases)
    }

    fn current(&self, ticket: ClaimTicket) -> bool {
        ticket.0 == self.releases
    }

    /// A claim may add the addresses: no release since its ticket.
    fn claim(&mut self, ticket: ClaimTicket) -> bool {
        let current = self.current(ticket);
        if current {
            self.state = Held::Added;
        }
        current
    }

    /// A release voids every ticket taken before it; true if the addresses
    /// must be removed (they are not known to be gone already).
    fn release(&mut self) -> bool {
        self.releases += 1;
        let remove = self.state != Held::Removed;
        self.state = Held::Removed;
        remove
    }
}

/// Removes the tunnel addresses when lnsd dies (see the module contract).
/// Dropping it closes the pipe: the addresses are removed then too.
#[derive(Debug)]
pub struct AddressGuard {
    child: Option<Child>,
    pipe: Option<ChildStdin>,
}

impl AddressGuard {
    fn start(addresses: &[TunnelAddress]) -> std::io::Result<AddressGuard> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(guard_script(addresses))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group: a signal to lnsd's group (Ctrl-C in
            // a terminal) does not reach it.
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take();
        // The guard says `ready` once it ignores the stop signals: a
        // SIGTERM sent to the service right after start-up must not kill
        // it first.
        let mut ready = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut ready)?;
        }
        if ready.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("the address guard did not start"));
        }
        tracing::debug!(pid = child.id(), "tunnel address guard started");
        Ok(AddressGuard {
            child: Some(child),
            pipe,
        })
    }

    /// The guard's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Closes the pipe (the guard removes the addresses and exits) and
    /// waits for it on a thread of its own, so no zombie is left behind.
    fn close(&mut self) {
        // Dropping our end is the whole signal (nothing is ever written).
        drop(self.pipe.take());
        if let Some(mut child) = self.child.take() {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

impl Drop for AddressGuard {
    fn drop(&mut self) {
        self.close();
    }
}

/// The guard's shell script: ignore the stop signals, say so, wait for the
/// pipe to close, remove each address. Interface names and prefixes come from the
/// validated config; they are single-quoted all the same.
fn guard_script(addresses: &[TunnelAddress]) -> String {
    let mut script = String::from("trap '' TERM INT HUP; echo ready; exec >/dev/null; cat;");
    for t in addresses {
        script.push_str(&format!(
            " ip addr del {} dev {};",
            quote(&t.address.to_string()),
            quote(&t.interface)
        ));
    }
    script.push_str(" exit 0");
    script
}

/// `s` single-quoted for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs `ip ARGS`; the error is its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Sends one announcement of `addr` on `interface`: a gratuitous ARP
/// (IPv4) or an unsolicited Neighbor Advertisement (IPv6).
fn announce(interface: &str, addr: IpAddr) -> Result<(), String> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| format!("no interface {interface}"))?;
    let mac = iface
        .mac
        .ok_or_else(|| format!("{interface} has no hardware address"))?
        .octets();
    let frame = announcement(mac, addr);
    let channel = pnet_datalink::channel(&iface, pnet_datalink::Config::default())
        .map_err(|e| format!("packet socket: {e}"))?;
    let pnet_datalink::Channel::Ethernet(mut tx, _rx) = channel else {
        return Err("not an Ethernet channel".into());
    };
    match tx.send_to(&frame, None) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("frame not sent".into()),
    }
}

/// The Ethernet frame announcing `addr` at `mac`.
pub fn announcement(mac: [u8; 6], addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => gratuitous_arp_frame(mac, a),
        IpAddr::V6(a) => unsolicited_na_frame(mac, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard removes exactly the configured addresses, each quoted for
    /// `sh` (a quote in a name cannot end the argument).
    #[test]
    fn the_guard_script_removes_each_address_quoted() {
        let t = |a: &str, len: u8, i: &str| TunnelAddress {
            address: crate::config::IpPrefix {
                addr: a.parse().expect("literal"),
                len,
            },
            interface: i.into(),
        };
        let script = guard_script(&[
            t("198.18.1.100", 24, "eth0"),
            t("2001:db8:1::100", 64, "a'b"),
        ]);
        assert_eq!(
            script,
            "trap '' TERM INT HUP; echo ready; exec >/dev/null; cat; \
             ip addr del '198.18.1.100/24' dev 'eth0'; \
             ip addr del '2001:db8:1::100/64' dev 'a'\\''b'; exit 0"
        );
    }

    /// The frames come from lns-proto: ARP (EtherType 0x0806, broadcast)
    /// for IPv4, an ICMPv6 NA (EtherType 0x86dd, to 33:33:00:00:00:01)
    /// for IPv6.
    #[test]
    fn each_family_gets_its_announcement() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
        let v4 = announcement(mac, "198.18.1.100".parse().expect("literal"));
        assert_eq!(&v4[..6], &[0xff; 6]);
        assert_eq!(&v4[12..14], &[0x08, 0x06]);
        let v6 = announcement(mac, "2001:db8:1::64".parse().expect("literal"));
        assert_eq!(&v6[..6], &[0x33, 0x33, 0, 0, 0, 0x01]);
        assert_eq!(&v6[12..14], &[0x86, 0xdd]);
        assert_eq!(v6[14 + 40], 0x88, "ICMPv6 Neighbor Advertisement");
    }

    /// A claim decided before a release adds nothing after it (a node
    /// that just lost the active role, or handed it over, must not get the
    /// address back from a claim still on its way).
    #[test]
    fn a_release_voids_the_claims_decided_before_it() {
        let mut h = Holding::default();
        assert!(h.release(), "an unknown state is cleaned up");
        let before = h.ticket();
        assert_eq!(h.state, Held::Claiming);
        assert!(h.release(), "a claim on its way: removed all the same");
        assert!(!h.claim(before), "a stale claim adds nothing");
        assert_eq!(h.state, Held::Removed);
        let after = h.ticket();
        assert!(h.claim(after));
        assert_eq!(h.state, Held::Added);
        assert!(h.current(after));
        assert!(h.release(), "held addresses are removed");
        assert!(!h.current(after), "no announcement after the release");
        assert!(!h.release(), "already removed: no second `ip addr del`");
    }
}
