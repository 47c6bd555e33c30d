//! Readings the benchmarks take from /proc: a process's CPU time and an
//! interface's receive counter inside a namespace.
//!
//! Contract: [`cpu_ticks`] is utime + stime of the whole process (every
//! thread) from `/proc/PID/stat`, in clock ticks ([`ticks_per_second`]);
//! [`rx_packets`] reads `/proc/PID/net/dev`, which shows the network
//! namespace of PID, so any process living in a namespace gives that
//! namespace's counters without entering it. Parsers are separate and
//! tested on captured text.

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
}
