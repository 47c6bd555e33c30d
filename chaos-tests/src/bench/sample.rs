//! Readings the benchmarks take from /proc: a process's CPU time and an
//! interface's receive counter inside a namespace.
//!
//! Contract: [`cpu_ticks`] is utime + stime of the whole process (every
//! thread) from `/proc/PID/stat`, in clock ticks ([`ticks_per_second`]);
//! [`rx_packets`] reads `/proc/PID/net/dev`, which shows the network
//! namespace of PID, so any process living in a namespace gives that
//! namespace's counters without entering it. [`drops`] reads, for the
//! namespace of a process, where packets can be lost on their way through
//! it: transmit drops of its interfaces (a TUN device whose queue is full
//! counts there), its UDP receive/send buffer errors (`/proc/PID/net/snmp`)
//! and the machine's per-CPU backlog drops (`/proc/net/softnet_stat`).
//! Parsers are separate and tested on captured text.

use anyhow::{Context, Result};

/// utime + stime of `pid` in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    parse_stat_cpu(&text).with_context(|| format!("parse /proc/{pid}/stat: {text}"))
}

/// Packets received by `ifname` in the network namespace of `pid`.
pub fn rx_packets(pid: u32, ifname: &str) -> Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .with_context(|| format!("read /proc/{pid}/net/dev"))?;
    parse_net_dev_rx(&text, ifname).with_context(|| format!("no {ifname} in:\n{text}"))
}

/// Loss counters of one namespace (see the module contract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Transmit drops summed over the namespace's interfaces.
    pub tx_dropped: u64,
    /// UDP `RcvbufErrors` (a socket's receive buffer was full).
    pub udp_rcvbuf: u64,
    /// UDP `SndbufErrors` (a send found the socket buffer full).
    pub udp_sndbuf: u64,
    /// softnet_stat `dropped` summed over the CPUs (backlog full).
    pub backlog: u64,
}

impl Drops {
    /// What grew between `earlier` and `self`.
    pub fn since(&self, earlier: &Drops) -> Drops {
        Drops {
            tx_dropped: self.tx_dropped.saturating_sub(earlier.tx_dropped),
            udp_rcvbuf: self.udp_rcvbuf.saturating_sub(earlier.udp_rcvbuf),
            udp_sndbuf: self.udp_sndbuf.saturating_sub(earlier.udp_sndbuf),
            backlog: self.backlog.saturating_sub(earlier.backlog),
        }
    }
}

impl std::fmt::Display for Drops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tx-dropped {} udp-rcvbuf {} udp-sndbuf {} backlog {}",
            self.tx_dropped, self.udp_rcvbuf, self.udp_sndbuf, self.backlog
        )
    }
}

/// The loss counters of the network namespace of `pid`.
pub fn drops(pid: u32) -> Result<Drops> {
    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .with_context(|| format!("read /proc/{pid}/net/dev"))?;
    let snmp = std::fs::read_to_string(format!("/proc/{pid}/net/snmp"))
        .with_context(|| format!("read /proc/{pid}/net/snmp"))?;
    let softnet =
        std::fs::read_to_string("/proc/net/softnet_stat").context("read /proc/net/softnet_stat")?;
    Ok(Drops {
        tx_dropped: parse_net_dev_tx_dropped(&dev),
        udp_rcvbuf: parse_snmp_udp(&snmp, "RcvbufErrors").unwrap_or(0),
        udp_sndbuf: parse_snmp_udp(&snmp, "SndbufErrors").unwrap_or(0),
        backlog: parse_softnet_dropped(&softnet),
    })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when that fails).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t: &u64| t > 0)
        .unwrap_or(100)
}

/// utime (field 14) + stime (field 15) of a `/proc/PID/stat` line. The
/// command name (field 2) may hold spaces and parentheses: fields are
/// counted after its last `)`.
pub fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The receive packet count of `ifname` in `/proc/net/dev` text.
pub fn parse_net_dev_rx(text: &str, ifname: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (name, counters) = l.split_once(':')?;
        if name.trim() != ifname {
            return None;
        }
        // Receive: bytes packets errs drop ...
        counters.split_whitespace().nth(1)?.parse().ok()
    })
}

/// Transmit drops (the 12th counter) summed over every interface of
/// `/proc/net/dev` text.
pub fn parse_net_dev_tx_dropped(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| {
            let (_, counters) = l.split_once(':')?;
            // Receive: 8 counters, then transmit: bytes packets errs drop.
            counters.split_whitespace().nth(11)?.parse::<u64>().ok()
        })
        .sum()
}

/// The `Udp:` counter `field` of `/proc/net/snmp` text (a header line of
/// names, then a line of values).
pub fn parse_snmp_udp(text: &str, field: &str) -> Option<u64> {
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let names = udp.next()?;
    let values = udp.next()?;
    let at = names.split_whitespace().position(|n| n == field)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// The `dropped` column (the second, hexadecimal) of
/// `/proc/net/softnet_stat`, summed over the CPUs.
pub fn parse_softnet_dropped(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_skips_a_command_name_with_spaces() {
        let stat = "4242 (l2tpns (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    700 55 0 0 20 0 1 0 123456 35000000 2300 18446744073709551615";
        assert_eq!(parse_stat_cpu(stat), Some(755));
        assert_eq!(parse_stat_cpu("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat_cpu("no parenthesis"), None);
    }

    #[test]
    fn net_dev_rx_packets_by_interface() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n\
to-lns: 9876543  123456    0    7    0     0          0         0     1024      12    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev_rx(text, "to-lns"), Some(123_456));
        assert_eq!(parse_net_dev_rx(text, "lo"), Some(0));
        assert_eq!(parse_net_dev_rx(text, "to-core"), None);
    }

    #[test]
    fn loss_counters_are_read_from_captured_text() {
        let dev = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n  \
lns0:       0       0    0    0    0     0          0         0   640000   10000    0  4442    0     0       0          0\n\
to-lac: 9876543  123456    0    7    0     0          0         0     1024      12    0    3    0     0       0          0\n";
        assert_eq!(parse_net_dev_tx_dropped(dev), 4445);
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n\
Udp: 100 0 12 90 10 2 0 0 0\n\
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n\
UdpLite: 0 0 0 0 7 7 0 0 0\n";
        assert_eq!(parse_snmp_udp(snmp, "RcvbufErrors"), Some(10));
        assert_eq!(parse_snmp_udp(snmp, "SndbufErrors"), Some(2));
        assert_eq!(parse_snmp_udp(snmp, "Nope"), None);
        let softnet = "0e68cf8c 00000000 00000006\n0b159609 0000001a 0000000b\n";
        assert_eq!(parse_softnet_dropped(softnet), 0x1a);
        let before = Drops {
            tx_dropped: 5,
            udp_rcvbuf: 1,
            udp_sndbuf: 0,
            backlog: 9,
        };
        let after = Drops {
            tx_dropped: 4447,
            ..before
        };
        assert_eq!(
            after.since(&before),
            Drops {
                tx_dropped: 4442,
                ..Drops::default()
            }
        );
    }
}
