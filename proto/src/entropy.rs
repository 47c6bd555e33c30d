//! Randomness as an input.
//!
//! Contract: the cores never touch a global RNG. Whatever needs random bytes
//! (tunnel and session ids, Random Vectors, Challenges, magic numbers, CHAP
//! challenges, interface identifiers) takes a `&mut dyn Entropy`. The daemon
//! passes the OS RNG on the active node and records what was drawn into the
//! replicated command (FAILOVER.md: "random values are chosen by the leader and
//! written into the log entry, never re-drawn on apply"); [`Replay`] feeds
//! those recorded bytes back on the followers. Tests use [`Seeded`].

/// A source of random bytes supplied by the caller.
pub trait Entropy {
    /// Fills `dst` entirely with random bytes.
    fn fill(&mut self, dst: &mut [u8]);

    /// A random `u16`.
    fn next_u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        self.fill(&mut b);
        u16::from_be_bytes(b)
    }

    /// A random `u32`.
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_be_bytes(b)
    }

    /// A random `u64`.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_be_bytes(b)
    }
}

/// A deterministic generator (SplitMix64) for tests and simulators: the same
/// seed always gives the same bytes. Not for production secrets.
#[derive(Clone, Debug)]
pub struct Seeded {
    state: u64,
}

impl Seeded {
    /// A generator whose output depends only on `seed`.
    pub const fn new(seed: u64) -> Self {
        Seeded { state: seed }
    }

    fn step(&mut self) -> u64 {
        // SplitMix64 (Steele, Lea, Flood 2014): public-domain constants.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Entropy for Seeded {
    fn fill(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.step().to_be_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Wraps another source and keeps a copy of every byte it hands out, so the
/// active node can write them into the replicated command.
#[derive(Debug)]
pub struct Recording<E> {
    inner: E,
    drawn: Vec<u8>,
}

impl<E: Entropy> Recording<E> {
    /// Records what `inner` produces.
    pub fn new(inner: E) -> Self {
        Recording {
            inner,
            drawn: Vec::new(),
        }
    }

    /// Takes the bytes drawn so far, leaving the record empty.
    pub fn take_drawn(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.drawn)
    }
}

impl<E: Entropy> Entropy for Recording<E> {
    fn fill(&mut self, dst: &mut [u8]) {
        self.inner.fill(dst);
        self.drawn.extend_from_slice(dst);
    }
}

/// Replays recorded bytes on a follower. If the machine asks for more than
/// was recorded (it diverged, which is a bug), it gets zeros and
/// [`Replay::exhausted`] turns true so the caller can report it.
#[derive(Debug)]
pub struct Replay<'a> {
    bytes: &'a [u8],
    exhausted: bool,
}

impl<'a> Replay<'a> {
    /// Replays `bytes` in order.
    pub fn new(bytes: &'a [u8]) -> Self {
        Replay {
            bytes,
            exhausted: false,
        }
    }

    /// True if more bytes were asked for than were recorded.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// Recorded bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

impl Entropy for Replay<'_> {
    fn fill(&mut self, dst: &mut [u8]) {
        let n = dst.len().min(self.bytes.len());
        dst[..n].copy_from_slice(&self.bytes[..n]);
        dst[n..].fill(0);
        if n < dst.len() {
            self.exhausted = true;
        }
        self.bytes = &self.bytes[n..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let (mut a, mut b, mut c) = (Seeded::new(7), Seeded::new(7), Seeded::new(8));
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut odd = [0u8; 11];
        a.fill(&mut odd);
        assert_ne!(odd, [0u8; 11]);
    }

    #[test]
    fn recording_then_replay_gives_the_same_values() {
        let mut rec = Recording::new(Seeded::new(42));
        let values = (rec.next_u16(), rec.next_u32(), rec.next_u64());
        let drawn = rec.take_drawn();
        assert_eq!(drawn.len(), 14);
        let mut replay = Replay::new(&drawn);
        assert_eq!(
            (replay.next_u16(), replay.next_u32(), replay.next_u64()),
            values
        );
        assert!(!replay.exhausted());
        assert_eq!(replay.remaining(), 0);
        assert_eq!(replay.next_u16(), 0);
        assert!(replay.exhausted());
    }
}
