//! Watches, during a drill, which lns namespaces hold the tunnel address:
//! a thread polls `ip -n NS addr` every [`POLL`] and records every change
//! and every poll at which two *live* nodes held it at once.
//!
//! Contract: [`AddressWatch::start`] spawns the thread; [`AddressWatch::finish`]
//! stops it and returns the [`Holdings`]. A holder is live when its lnsd
//! runs and is not stopped ([`Pids::liveness`]): the address a SIGKILLed or
//! SIGSTOPped lnsd could not remove stays in its namespace's kernel, which
//! is recorded (`lns-a(silent)`) but is not two *active* nodes. The thread
//! reads namespaces and /proc only; it never changes anything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::{Member, IFACE, LNS_MEMBERS, TUNNEL_ADDR};

/// How often the namespaces are polled.
pub const POLL: Duration = Duration::from_millis(50);

/// Whether a member's lnsd can act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running (not stopped).
    Live,
    /// Killed, exited or SIGSTOPped.
    Silent,
}

/// The PID of each member's current lnsd, shared between the bed (which
/// starts them) and the watch.
#[derive(Debug, Clone, Default)]
pub struct Pids(Arc<Mutex<BTreeMap<Member, u32>>>);

impl Pids {
    /// Records `member`'s new PID.
    pub fn set(&self, member: Member, pid: u32) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(member, pid);
        }
    }

    /// Whether `member`'s lnsd runs and is not stopped (/proc/PID/stat).
    pub fn liveness(&self, member: Member) -> Liveness {
        match self.state(member) {
            Some(Some('R' | 'S' | 'D' | 'I')) => Liveness::Live,
            _ => Liveness::Silent,
        }
    }

    /// Whether `member`'s lnsd has exited (no process, or a zombie): its
    /// file descriptors are closed, so its address guard has fired.
    pub fn exited(&self, member: Member) -> bool {
        matches!(self.state(member), Some(None | Some('Z' | 'X')))
    }

    /// `member`'s process state letter from /proc/PID/stat: `None` when
    /// no PID is known, `Some(None)` when the process is gone.
    fn state(&self, member: Member) -> Option<Option<char>> {
        let pid = self.0.lock().ok().and_then(|m| m.get(&member).copied())?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesised command name.
        Some(
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next()),
        )
    }
}

/// What the watch saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Each change of holders: (time since the watch started, holders).
    pub changes: Vec<(Duration, Vec<(Member, Liveness)>)>,
    /// Polls at which more than one live node held the address.
    pub double_polls: usize,
    /// Polls in total.
    pub polls: usize,
}

impl Holdings {
    /// Records one poll's holders at `at`.
    pub fn record(&mut self, at: Duration, holders: Vec<(Member, Liveness)>) {
        self.polls += 1;
        if holders.iter().filter(|(_, l)| *l == Liveness::Live).count() > 1 {
            self.double_polls += 1;
        }
        if self.changes.last().is_none_or(|(_, h)| *h != holders) {
            self.changes.push((at, holders));
        }
    }

    /// The changes as one readable line:
    /// `+0ms [lns-a] +20ms [lns-a(silent)] +812ms [lns-a(silent),lns-b]`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .changes
            .iter()
            .map(|(at, h)| {
                let names: Vec<String> = h
                    .iter()
                    .map(|(m, l)| match l {
                        Liveness::Live => m.role().to_string(),
                        Liveness::Silent => format!("{}(silent)", m.role()),
                    })
                    .collect();
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
    pub fn start(ns: impl Fn(Member) -> String, pids: Pids) -> AddressWatch {
        let names: Vec<(Member, String)> = LNS_MEMBERS.into_iter().map(|m| (m, ns(m))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Holdings::default()));
        let (s, h) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let holders: Vec<(Member, Liveness)> = names
                    .iter()
                    .filter(|(_, ns)| holds(ns))
                    .map(|(m, _)| (*m, pids.liveness(*m)))
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
        let (a, b) = (Member::LnsA, Member::LnsB);
        let (live, silent) = (Liveness::Live, Liveness::Silent);
        h.record(ms(0), vec![(a, live)]);
        h.record(ms(25), vec![(a, live)]);
        h.record(ms(50), vec![(a, silent)]);
        // A killed node's leftover address beside the new active: not two active.
        h.record(ms(75), vec![(a, silent), (b, live)]);
        h.record(ms(100), vec![(a, live), (b, live)]);
        h.record(ms(125), vec![(b, live)]);
        assert_eq!(h.polls, 6);
        assert_eq!(h.double_polls, 1);
        assert_eq!(h.changes.len(), 5);
        assert_eq!(
            h.describe(),
            "+0ms [lns-a] +50ms [lns-a(silent)] +75ms [lns-a(silent),lns-b] +100ms [lns-a,lns-b] +125ms [lns-b]"
        );
    }

    #[test]
    fn our_own_process_is_live_and_an_unknown_member_is_silent() {
        let pids = Pids::default();
        assert_eq!(pids.liveness(Member::LnsA), Liveness::Silent);
        pids.set(Member::LnsA, std::process::id());
        assert_eq!(pids.liveness(Member::LnsA), Liveness::Live);
    }
}
