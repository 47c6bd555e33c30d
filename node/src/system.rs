//! The two things the engine never reads itself: the wall clock and the
//! OS random number generator. Contract: only the IO tasks call these; the
//! values they return are passed into the sans-IO cores as inputs.

use lns_proto::entropy::Entropy;
use lns_proto::time::Timestamp;
use std::fs::File;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock as a protocol [`Timestamp`] (the epoch if the clock is
/// before 1970).
pub fn now() -> Timestamp {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_micros(us)
}

/// The kernel RNG (`/dev/urandom`).
#[derive(Debug)]
pub struct OsEntropy {
    file: File,
}

impl OsEntropy {
    /// Opens `/dev/urandom`.
    pub fn open() -> std::io::Result<OsEntropy> {
        Ok(OsEntropy {
            file: File::open("/dev/urandom")?,
        })
    }
}

impl Entropy for OsEntropy {
    fn fill(&mut self, dst: &mut [u8]) {
        // /dev/urandom never blocks and never returns short reads for
        // small buffers once open; a failure here means the system is
        // unusable for a network daemon anyway.
        self.file
            .read_exact(dst)
            .expect("reading /dev/urandom does not fail once it is open");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_entropy_gives_different_bytes_each_time() {
        let mut e = OsEntropy::open().expect("/dev/urandom");
        let (a, b) = (e.next_u64(), e.next_u64());
        assert_ne!(a, b);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now() > Timestamp::from_unix_millis(1_577_836_800_000));
    }
}
