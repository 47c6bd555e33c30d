//! Watches, during a drill, which lns namespaces hold the tunnel address:
//! a thread polls `ip -n NS addr` every [`POLL`] and records every change
//! and every poll at which two nodes held it at once.
//!
//! Contract: [`AddressWatch::start`] spawns the thread; [`AddressWatch::finish`]
//! stops it and returns the [`Holdings`]. The thread reads namespaces only;
//! it never changes anything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::{Member, IFACE, LNS_MEMBERS, TUNNEL_ADDR};

/// How often the namespaces are polled.
pub const POLL: Duration = Duration::from_millis(25);

/// What the watch saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Each change of holders: (time since the watch started, holders).
    pub changes: Vec<(Duration, Vec<Member>)>,
    /// Polls at which more than one node held the address.
    pub double_polls: usize,
    /// Polls in total.
    pub polls: usize,
}

impl Holdings {
    /// Records one poll's holders at `at`.
    pub fn record(&mut self, at: Duration, holders: Vec<Member>) {
        self.polls += 1;
        if holders.len() > 1 {
            self.double_polls += 1;
        }
        if self.changes.last().is_none_or(|(_, h)| *h != holders) {
            self.changes.push((at, holders));
        }
    }

    /// The changes as one readable line: `+0ms [lns-a] +812ms [] +830ms [lns-b]`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .changes
            .iter()
            .map(|(at, h)| {
                let names: Vec<&str> = h.iter().map(|m| m.role()).collect();
                format!("+{}ms [{}]", at.as_millis(), names.join(","))
            })
            .collect();
        parts.join(" ")
    }
}

/// The polling thread.
#[derive(Debug)]
pub struct AddressWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Holdings>>,
    thread: Option<JoinHandle<()>>,
}

impl AddressWatch {
    /// Starts polling the lns namespaces `ns(member)`.
    pub fn start(ns: impl Fn(Member) -> String) -> AddressWatch {
        let names: Vec<(Member, String)> = LNS_MEMBERS.into_iter().map(|m| (m, ns(m))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Holdings::default()));
        let (s, h) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let holders: Vec<Member> = names
                    .iter()
                    .filter(|(_, ns)| holds(ns))
                    .map(|(m, _)| *m)
                    .collect();
                if let Ok(mut h) = h.lock() {
                    h.record(started.elapsed(), holders);
                }
                std::thread::sleep(POLL);
            }
        });
        AddressWatch {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// What was seen so far.
    pub fn snapshot(&self) -> Holdings {
        self.seen.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Stops the thread and returns what it saw.
    pub fn finish(mut self) -> Holdings {
        self.halt();
        self.snapshot()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AddressWatch {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Whether namespace `ns` has the tunnel address on its bridge interface.
pub(crate) fn holds(ns: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-o", "-4", "addr", "show", "dev", IFACE])
        .output();
    let needle = format!(" {TUNNEL_ADDR}/");
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_changes_and_double_holding() {
        let mut h = Holdings::default();
        let ms = Duration::from_millis;
        h.record(ms(0), vec![Member::LnsA]);
        h.record(ms(25), vec![Member::LnsA]);
        h.record(ms(50), vec![]);
        h.record(ms(75), vec![Member::LnsA, Member::LnsB]);
        h.record(ms(100), vec![Member::LnsB]);
        assert_eq!(h.polls, 5);
        assert_eq!(h.double_polls, 1);
        assert_eq!(h.changes.len(), 4);
        assert_eq!(
            h.describe(),
            "+0ms [lns-a] +50ms [] +75ms [lns-a,lns-b] +100ms [lns-b]"
        );
    }
}
