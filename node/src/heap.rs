//! Giving freed heap back to the operating system after a burst of session
//! setups or teardowns.
//!
//! Contract: a setup burst allocates and frees a lot of short-lived memory
//! (RADIUS requests, L2TP/PPP negotiation buffers, queue slots, the data
//! plane's copy-on-write table shards) between the long-lived per-session
//! records. glibc's malloc keeps that freed memory in its arenas, resident,
//! so the RSS an operator sees after the burst is higher than what the
//! sessions hold. [`Trimmer`] decides when to hand it back: once at least
//! [`MIN_CHURN`] sessions came up or went down since the last trim and a
//! whole check interval (the control task's stats tick, 1 s) passed with
//! none, i.e. when the burst is over; [`release_free_heap`] then calls
//! glibc's `malloc_trim(0)`, which returns every whole free page of every
//! arena (`madvise(MADV_DONTNEED)`), not only the top of the main heap.
//! It costs a walk of the free lists (milliseconds for a heap of some
//! hundred MiB), at most once per quiet second after a burst: never on the
//! per-packet path, never while sessions are being set up.
//!
//! Nothing is preallocated or hidden: the RSS after a trim is what the
//! live sessions hold plus malloc's own bookkeeping.

/// Session changes (up or down) since the last trim that make a trim
/// worthwhile: a few sessions free little.
pub const MIN_CHURN: u64 = 256;

/// When to trim: counts session changes, answers on each periodic check.
#[derive(Debug, Default)]
pub struct Trimmer {
    /// Changes since the last trim.
    since_trim: u64,
    /// `since_trim` at the previous check.
    at_last_check: u64,
}

impl Trimmer {
    /// A trimmer that has seen nothing.
    pub fn new() -> Trimmer {
        Trimmer::default()
    }

    /// Counts `n` sessions that came up or went down.
    pub fn note_churn(&mut self, n: u64) {
        self.since_trim = self.since_trim.saturating_add(n);
    }

    /// The periodic check: whether to trim now (the burst is over). A
    /// `true` answer resets the count.
    pub fn check(&mut self) -> bool {
        let quiet = self.since_trim == self.at_last_check;
        if quiet && self.since_trim >= MIN_CHURN {
            self.since_trim = 0;
            self.at_last_check = 0;
            return true;
        }
        self.at_last_check = self.since_trim;
        false
    }
}

/// Returns the free pages of every malloc arena to the operating system
/// (glibc `malloc_trim(0)`); whether memory was released. A no-op on other
/// C libraries.
pub fn release_free_heap() -> bool {
    trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: malloc_trim takes a plain integer, touches only malloc's own
    // state under malloc's own locks, and is safe to call from any thread
    // at any time (glibc malloc_trim(3)).
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_a_burst_is_over_and_not_during_it() {
        let mut t = Trimmer::new();
        t.note_churn(200);
        assert!(!t.check(), "still setting up");
        t.note_churn(200);
        assert!(!t.check(), "still setting up");
        // A quiet interval after 400 changes: trim, once.
        assert!(t.check());
        assert!(!t.check());
        assert!(!t.check());
    }

    #[test]
    fn a_few_changes_do_not_trim() {
        let mut t = Trimmer::new();
        t.note_churn(MIN_CHURN - 1);
        assert!(!t.check());
        assert!(!t.check());
        t.note_churn(1);
        assert!(!t.check(), "the change just counted");
        assert!(t.check());
    }

    #[test]
    fn trimming_a_heap_with_free_pages_does_not_disturb_live_data() {
        // Free a few MiB in small blocks around live ones, then trim: the
        // live blocks keep their contents.
        let mut live = Vec::new();
        let mut freed = Vec::new();
        for i in 0..20_000u32 {
            let b = vec![(i % 251) as u8; 200];
            if i % 64 == 0 {
                live.push(b);
            } else {
                freed.push(b);
            }
        }
        drop(freed);
        let released = release_free_heap();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(
                released,
                "runs of 63 freed 200-byte blocks hold whole pages"
            );
        }
        for (k, b) in live.iter().enumerate() {
            let i = (k * 64) as u32;
            assert!(b.iter().all(|&x| x == (i % 251) as u8));
        }
    }
}
