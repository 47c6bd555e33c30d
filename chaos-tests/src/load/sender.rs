//! The paced, batched sender behind `blast`.
//!
//! Contract: [`send_paced`] cycles through prebuilt datagrams, handing
//! [`BATCH`] at a time to one sendmmsg call, and keeps the total sent
//! within one batch of `rate` x elapsed time ([`Pacer`]); it never
//! allocates in its loop. It returns what it sent and how long it took, so
//! the caller can tell "the generator kept up" from "the generator was the
//! limit". Send errors (ENOBUFS from a full queue) are counted, not fatal.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrIn};

/// Datagrams per sendmmsg call.
pub const BATCH: usize = 64;

/// What one run sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sent {
    /// Datagrams the kernel accepted.
    pub packets: u64,
    /// Calls or datagrams refused (ENOBUFS, EAGAIN...).
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Sent {
    /// Datagrams per second over the run.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.packets as f64 / s
        } else {
            0.0
        }
    }
}

/// How many datagrams may go now to stay on a constant rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacer {
    rate: f64,
}

impl Pacer {
    /// A pacer for `rate` datagrams per second (at least 1).
    pub fn new(rate: f64) -> Pacer {
        Pacer {
            rate: if rate.is_finite() { rate.max(1.0) } else { 1.0 },
        }
    }

    /// With `sent` datagrams out after `elapsed`, how many may go now
    /// (at most [`BATCH`]); when none, how long until one may.
    pub fn allowance(&self, sent: u64, elapsed: Duration) -> Result<usize, Duration> {
        let due = (self.rate * elapsed.as_secs_f64()) as u64 + 1;
        if sent < due {
            return Ok(usize::try_from(due - sent).unwrap_or(BATCH).min(BATCH));
        }
        let ahead = (sent + 1 - due) as f64 / self.rate;
        Err(Duration::from_secs_f64(ahead.min(0.001)))
    }
}

/// Sends `datagrams` (destination, bytes) in a cycle on `fd` at `rate`
/// per second for `duration`.
pub fn send_paced(
    fd: BorrowedFd<'_>,
    datagrams: &[(SockaddrIn, Vec<u8>)],
    rate: f64,
    duration: Duration,
) -> Sent {
    let mut headers: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(BATCH, None);
    let pacer = Pacer::new(rate);
    let started = Instant::now();
    let (mut packets, mut errors, mut next) = (0u64, 0u64, 0usize);
    if datagrams.is_empty() {
        return Sent {
            packets,
            errors,
            elapsed: Duration::ZERO,
        };
    }
    loop {
        let elapsed = started.elapsed();
        if elapsed >= duration {
            break;
        }
        let n = match pacer.allowance(packets, elapsed) {
            Ok(n) => n,
            Err(wait) => {
                std::thread::sleep(wait);
                continue;
            }
        };
        let mut slices: [[IoSlice<'_>; 1]; BATCH] = [[IoSlice::new(&[])]; BATCH];
        let mut addrs: [Option<SockaddrIn>; BATCH] = [None; BATCH];
        for k in 0..n {
            let (to, bytes) = &datagrams[next];
            slices[k] = [IoSlice::new(bytes)];
            addrs[k] = Some(*to);
            next = (next + 1) % datagrams.len();
        }
        let no_cmsgs: [ControlMessage<'_>; 0] = [];
        match sendmmsg(
            fd.as_raw_fd(),
            &mut headers,
            slices[..n].iter(),
            &addrs[..n],
            no_cmsgs,
            MsgFlags::empty(),
        ) {
            Ok(results) => {
                let done = results.count();
                packets += done as u64;
                if done < n {
                    errors += 1;
                }
            }
            Err(_) => {
                errors += 1;
                // A full queue: give the kernel a moment.
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
    Sent {
        packets,
        errors,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_allows_what_is_due_and_waits_when_ahead() {
        let p = Pacer::new(1000.0);
        // At t=0 one datagram is due.
        assert_eq!(p.allowance(0, Duration::ZERO), Ok(1));
        // 10 ms in, 11 are due.
        assert_eq!(p.allowance(0, Duration::from_millis(10)), Ok(11));
        assert_eq!(p.allowance(5, Duration::from_millis(10)), Ok(6));
        // Far behind: one batch at most.
        assert_eq!(p.allowance(0, Duration::from_secs(1)), Ok(BATCH));
        // Ahead by 4 datagrams at 1000/s: wait 1 ms at most.
        let wait = p
            .allowance(15, Duration::from_millis(10))
            .expect_err("ahead");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(1));
        assert!(Pacer::new(f64::NAN).allowance(0, Duration::ZERO).is_ok());
    }

    #[test]
    fn sent_rate_is_packets_over_time() {
        let s = Sent {
            packets: 500,
            errors: 0,
            elapsed: Duration::from_millis(250),
        };
        assert!((s.rate() - 2000.0).abs() < 1e-9);
        let none = Sent {
            elapsed: Duration::ZERO,
            ..s
        };
        assert_eq!(none.rate(), 0.0);
    }
}
