//! `InlineBytes`: a byte string that keeps up to 22 bytes inside itself
//! and boxes only longer ones (issue 5, memory per session).
//!
//! Contract:
//! - Same size as a `Vec<u8>` (24 bytes on 64-bit targets), and
//!   `Option<InlineBytes>` too; no heap block for 22 bytes or fewer.
//! - Read through `Deref<Target = [u8]>`; built with `From` a slice, a
//!   `Vec<u8>` or an array. Equality, ordering and hashing are those of the
//!   bytes: the representation is canonical (22 bytes or fewer are always
//!   inline, the unused inline bytes always zero), so two values with the
//!   same bytes are the same value.
//! - Meant for the short strings an established session keeps for its
//!   life (a user name, a Calling Number, a Configure-Request's options):
//!   with glibc malloc each small heap block costs 32 bytes whatever it
//!   holds.
//! - Why not a crate: `smallvec::SmallVec<[u8; N]>` at the same 24 bytes
//!   keeps 16 bytes inline, not 22, and most user names and Calling
//!   Numbers fit in 22; this type is a two-variant enum with no unsafe code.

use core::fmt;
use core::ops::Deref;

/// Bytes kept inline up to this length.
pub const INLINE_CAPACITY: usize = 22;

/// A byte string kept inline when it is at most [`INLINE_CAPACITY`] long.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InlineBytes(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// `len` <= INLINE_CAPACITY; `bytes[len..]` are zero.
    Inline {
        len: u8,
        bytes: [u8; INLINE_CAPACITY],
    },
    /// Longer than INLINE_CAPACITY.
    Heap(Box<[u8]>),
}

impl InlineBytes {
    /// The empty string.
    pub const fn new() -> InlineBytes {
        InlineBytes(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_CAPACITY],
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// Whether the bytes live on the heap (longer than [`INLINE_CAPACITY`]).
    pub fn is_boxed(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }
}

impl Default for InlineBytes {
    fn default() -> Self {
        InlineBytes::new()
    }
}

impl Deref for InlineBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for InlineBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for InlineBytes {
    fn from(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAPACITY {
            let mut bytes = [0; INLINE_CAPACITY];
            bytes[..s.len()].copy_from_slice(s);
            // Fits: s.len() <= 22.
            let len = s.len() as u8;
            InlineBytes(Repr::Inline { len, bytes })
        } else {
            InlineBytes(Repr::Heap(Box::from(s)))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for InlineBytes {
    fn from(s: &[u8; N]) -> Self {
        InlineBytes::from(&s[..])
    }
}

impl From<Vec<u8>> for InlineBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAPACITY {
            InlineBytes::from(v.as_slice())
        } else {
            InlineBytes(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl From<&Vec<u8>> for InlineBytes {
    fn from(v: &Vec<u8>) -> Self {
        InlineBytes::from(v.as_slice())
    }
}

impl From<InlineBytes> for Vec<u8> {
    fn from(b: InlineBytes) -> Self {
        match b.0 {
            Repr::Inline { .. } => b.as_slice().to_vec(),
            Repr::Heap(h) => h.into_vec(),
        }
    }
}

impl PartialOrd for InlineBytes {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InlineBytes {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl PartialEq<[u8]> for InlineBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for InlineBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for InlineBytes {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for InlineBytes {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for InlineBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<InlineBytes> for Vec<u8> {
    fn eq(&self, other: &InlineBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<InlineBytes> for [u8] {
    fn eq(&self, other: &InlineBytes) -> bool {
        self == other.as_slice()
    }
}

impl fmt::Debug for InlineBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn as_small_as_a_vec_and_so_is_its_option() {
        assert_eq!(size_of::<InlineBytes>(), size_of::<Vec<u8>>());
        assert_eq!(size_of::<Option<InlineBytes>>(), size_of::<Vec<u8>>());
    }

    #[test]
    fn short_strings_stay_inline_and_long_ones_are_boxed() {
        let short = InlineBytes::from(&[0x61; INLINE_CAPACITY]);
        assert!(!short.is_boxed());
        assert_eq!(short.len(), INLINE_CAPACITY);
        let long = InlineBytes::from(vec![0x62; INLINE_CAPACITY + 1]);
        assert!(long.is_boxed());
        assert_eq!(long.len(), INLINE_CAPACITY + 1);
        assert_eq!(InlineBytes::new().len(), 0);
        assert_eq!(InlineBytes::default(), InlineBytes::from(&b""[..]));
    }

    proptest! {
        #[test]
        fn round_trips_and_compares_as_its_bytes(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            b in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let (x, y) = (InlineBytes::from(a.clone()), InlineBytes::from(b.as_slice()));
            prop_assert_eq!(x.as_slice(), a.as_slice());
            prop_assert_eq!(Vec::from(x.clone()), a.clone());
            prop_assert_eq!(x == y, a == b);
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.is_boxed(), a.len() > INLINE_CAPACITY);
        }
    }
}
