//! # The canonical encoding of configuration values (encoding 1)
//!
//! Contract: a value is written as a flat, sorted map of `key = value`
//! text entries ([`Entries`]); reading the entries back gives the same
//! value ([`Canon::read`] of [`Canon::write`] is the identity for every type
//! here). The encoding is defined by this file, not by `Debug`, field order
//! or the Rust version, so two lnsd builds that hold the same effective
//! values write the same entries. The rules:
//!
//! - A struct field is the key `parent.field`; a list element `list.N`
//!   (with `list.len = N`); a pair `pair.0`, `pair.1`; `None` is the
//!   entry `key = ~` (a `Some` struct writes its fields under `key`).
//! - Scalars: integers in decimal, durations in microseconds (`1000000us`),
//!   booleans `true`/`false`, addresses in their standard text form,
//!   bytes in lower-case hex (`0x6c6e7364`, `0x` when empty), text with
//!   every byte outside `[A-Za-z0-9._-]` percent-encoded, enums by a name
//!   fixed here.
//! - A field added after encoding 1 is declared in the struct's `later`
//!   list with its default, written only when its value differs from that
//!   default and read as the default when absent: a new lnsd version that
//!   adds a setting left at its default does not change the entries (nor
//!   the digest), and an older version that finds a key it does not know
//!   refuses the entries ([`CanonError::Unknown`]) instead of ignoring a
//!   setting. A default, once published, never changes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// A value's canonical entries: key -> value text, in key order.
pub type Entries = BTreeMap<String, String>;

/// Entries that do not describe a value of the expected type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    /// A key this version requires is absent.
    #[error("{0}: missing")]
    Missing(String),
    /// A value that does not parse as its type.
    #[error("{key}: {value:?} is not valid here")]
    Invalid {
        /// The key.
        key: String,
        /// Its text.
        value: String,
    },
    /// A key this version does not know: written by a newer lnsd with a
    /// setting away from its default.
    #[error("{0}: unknown setting (written by a newer lnsd)")]
    Unknown(String),
}

/// A value with a canonical encoding.
pub trait Canon: Sized {
    /// Writes the entries of `self` under `key`.
    fn write(&self, key: &str, out: &mut Entries);
    /// Reads (and consumes) the entries under `key`.
    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError>;
}

/// The entries of `value` under `key`.
pub fn entries_of<T: Canon>(key: &str, value: &T) -> Entries {
    let mut out = Entries::new();
    value.write(key, &mut out);
    out
}

/// Entries being read: each key is consumed once; [`Reader::finish`]
/// refuses leftovers (keys this version does not know).
#[derive(Debug)]
pub struct Reader {
    left: Entries,
}

impl Reader {
    /// A reader of `entries`.
    pub fn new(entries: Entries) -> Reader {
        Reader { left: entries }
    }

    /// Takes the text of `key`.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.left.remove(key)
    }

    /// True when `key` or a key under it is present.
    pub fn has(&self, key: &str) -> bool {
        let prefix = format!("{key}.");
        self.left.contains_key(key)
            || self
                .left
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// Succeeds when every entry was read.
    pub fn finish(self) -> Result<(), CanonError> {
        match self.left.into_keys().next() {
            Some(k) => Err(CanonError::Unknown(k)),
            None => Ok(()),
        }
    }
}

/// `parent.child` (or `child` at the top).
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// A value written as one entry.
pub trait Scalar: Sized {
    /// Its text.
    fn text(&self) -> String;
    /// From its text.
    fn parse_text(s: &str) -> Option<Self>;
}

impl<T: Scalar> Canon for T {
    fn write(&self, key: &str, out: &mut Entries) {
        out.insert(key.to_owned(), self.text());
    }

    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError> {
        let value = from
            .take(key)
            .ok_or_else(|| CanonError::Missing(key.to_owned()))?;
        T::parse_text(&value).ok_or(CanonError::Invalid {
            key: key.to_owned(),
            value,
        })
    }
}

macro_rules! display_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn text(&self) -> String {
                self.to_string()
            }
            fn parse_text(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    )*};
}

display_scalar!(u8, u16, u32, u64, usize, bool, Ipv4Addr, Ipv6Addr, IpAddr, SocketAddr);

impl Scalar for Duration {
    fn text(&self) -> String {
        format!("{}us", self.as_micros())
    }
    fn parse_text(s: &str) -> Option<Self> {
        let us: u64 = s.strip_suffix("us")?.parse().ok()?;
        Some(Duration::from_micros(us))
    }
}

impl Scalar for Vec<u8> {
    fn text(&self) -> String {
        let mut s = String::with_capacity(2 + 2 * self.len());
        s.push_str("0x");
        for b in self {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
    fn parse_text(s: &str) -> Option<Self> {
        let hex = s.strip_prefix("0x")?.as_bytes();
        if hex.len() % 2 != 0 {
            return None;
        }
        hex.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
            .collect()
    }
}

impl Scalar for String {
    fn text(&self) -> String {
        let mut s = String::with_capacity(self.len());
        for b in self.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                s.push(char::from(b));
            } else {
                s.push_str(&format!("%{b:02x}"));
            }
        }
        s
    }
    fn parse_text(s: &str) -> Option<Self> {
        let mut out = Vec::with_capacity(s.len());
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            } else {
                out.push(b);
            }
        }
        String::from_utf8(out).ok()
    }
}

/// Marks the types that may be list elements (keeps `Vec<u8>` a scalar).
pub trait Element: Canon {}

impl<T: Element> Canon for Vec<T> {
    fn write(&self, key: &str, out: &mut Entries) {
        self.len().write(&join(key, "len"), out);
        for (i, v) in self.iter().enumerate() {
            v.write(&join(key, &i.to_string()), out);
        }
    }

    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError> {
        let len = usize::read(&join(key, "len"), from)?;
        (0..len)
            .map(|i| T::read(&join(key, &i.to_string()), from))
            .collect()
    }
}

impl<T: Canon> Canon for Option<T> {
    fn write(&self, key: &str, out: &mut Entries) {
        match self {
            None => {
                out.insert(key.to_owned(), "~".to_owned());
            }
            Some(v) => v.write(key, out),
        }
    }

    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError> {
        match from.take(key) {
            Some(t) if t == "~" => Ok(None),
            // A scalar `Some`: put it back for the inner read.
            Some(t) => {
                from.left.insert(key.to_owned(), t);
                T::read(key, from).map(Some)
            }
            None => T::read(key, from).map(Some),
        }
    }
}

impl<A: Canon, B: Canon> Canon for (A, B) {
    fn write(&self, key: &str, out: &mut Entries) {
        self.0.write(&join(key, "0"), out);
        self.1.write(&join(key, "1"), out);
    }

    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError> {
        Ok((
            A::read(&join(key, "0"), from)?,
            B::read(&join(key, "1"), from)?,
        ))
    }
}

impl<A: Canon, B: Canon> Element for (A, B) {}
impl Element for Ipv6Addr {}
impl Element for String {}

impl<T: Canon> Canon for [T; 2] {
    fn write(&self, key: &str, out: &mut Entries) {
        self[0].write(&join(key, "0"), out);
        self[1].write(&join(key, "1"), out);
    }

    fn read(key: &str, from: &mut Reader) -> Result<Self, CanonError> {
        Ok([
            T::read(&join(key, "0"), from)?,
            T::read(&join(key, "1"), from)?,
        ])
    }
}

/// Implements [`Canon`] for a struct with named fields: `fields` are
/// always written (encoding 1), `later` ones (added afterwards) only when
/// they differ from their default, `skip` ones are not encoded (read as
/// their `Default`).
macro_rules! canon_struct {
    ($ty:ident { $($field:ident),* $(,)? }
     $(later { $($lfield:ident = $default:expr),* $(,)? })?
     $(skip { $($sfield:ident),* $(,)? })?) => {
        impl $crate::replica::canon::Canon for $ty {
            fn write(&self, key: &str, out: &mut $crate::replica::canon::Entries) {
                use $crate::replica::canon::{join, Canon};
                $( Canon::write(&self.$field, &join(key, stringify!($field)), out); )*
                $($(
                    if self.$lfield != $default {
                        Canon::write(&self.$lfield, &join(key, stringify!($lfield)), out);
                    }
                )*)?
            }

            fn read(
                key: &str,
                from: &mut $crate::replica::canon::Reader,
            ) -> Result<Self, $crate::replica::canon::CanonError> {
                use $crate::replica::canon::{join, Canon};
                Ok($ty {
                    $( $field: Canon::read(&join(key, stringify!($field)), from)?, )*
                    $($(
                        $lfield: {
                            let k = join(key, stringify!($lfield));
                            if from.has(&k) { Canon::read(&k, from)? } else { $default }
                        },
                    )*)?
                    $($( $sfield: Default::default(), )*)?
                })
            }
        }
    };
}

/// Implements [`Scalar`] for a field-less enum with a fixed name per
/// variant.
macro_rules! canon_enum {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::replica::canon::Scalar for $ty {
            fn text(&self) -> String {
                match self {
                    $( $ty::$variant => $name, )*
                }
                .to_owned()
            }
            fn parse_text(s: &str) -> Option<Self> {
                match s {
                    $( $name => Some($ty::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use {canon_enum, canon_struct};

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Canon + PartialEq + std::fmt::Debug>(v: T) {
        let mut r = Reader::new(entries_of("k", &v));
        assert_eq!(T::read("k", &mut r).expect("reads back"), v);
        r.finish().expect("every entry read");
    }

    #[test]
    fn scalars_round_trip() {
        round_trip(0u8);
        round_trip(u64::MAX);
        round_trip(Duration::from_micros(1_500_001));
        round_trip(b"\x00\xffab".to_vec());
        round_trip(Vec::<u8>::new());
        round_trip("a b=c%\u{e9}".to_owned());
        round_trip(Some(Ipv4Addr::new(198, 18, 0, 1)));
        round_trip(None::<Ipv6Addr>);
        round_trip(vec![(
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 0, 9),
        )]);
        round_trip([Some(Ipv4Addr::new(198, 18, 0, 1)), None]);
    }

    #[test]
    fn the_text_is_fixed() {
        let e = entries_of("a", &(Duration::from_secs(1), b"lns".to_vec()));
        let text: Vec<String> = e.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(text, ["a.0=1000000us", "a.1=0x6c6e73"]);
        assert_eq!("x y/é".to_owned().text(), "x%20y%2f%c3%a9");
        assert_eq!(entries_of("n", &None::<u8>)["n"], "~");
    }

    #[test]
    fn bad_text_is_refused_with_its_key() {
        let mut e = Entries::new();
        e.insert("k".into(), "12x".into());
        assert_eq!(
            u32::read("k", &mut Reader::new(e)),
            Err(CanonError::Invalid {
                key: "k".into(),
                value: "12x".into()
            })
        );
        assert_eq!(
            u32::read("k", &mut Reader::new(Entries::new())),
            Err(CanonError::Missing("k".into()))
        );
        assert_eq!(Vec::<u8>::parse_text("0xabc"), None);
        assert_eq!(String::parse_text("%zz"), None);
    }

    // A struct as published in encoding 1, and the same struct after a
    // later lnsd version added a defaulted field.
    #[derive(Clone, Debug, PartialEq)]
    struct V1 {
        a: u32,
    }
    #[derive(Clone, Debug, PartialEq)]
    struct V2 {
        a: u32,
        b: Duration,
    }
    canon_struct!(V1 { a });
    canon_struct!(V2 { a } later { b = Duration::from_secs(5) });

    #[test]
    fn a_later_field_at_its_default_writes_nothing() {
        let old = entries_of("s", &V1 { a: 7 });
        let new = V2 {
            a: 7,
            b: Duration::from_secs(5),
        };
        assert_eq!(entries_of("s", &new), old);
        // The new version reads the old entries with the default.
        assert_eq!(V2::read("s", &mut Reader::new(old.clone())), Ok(new));
        // Away from its default, the old version refuses it by name.
        let changed = entries_of(
            "s",
            &V2 {
                a: 7,
                b: Duration::from_secs(6),
            },
        );
        let mut r = Reader::new(changed);
        assert_eq!(V1::read("s", &mut r), Ok(V1 { a: 7 }));
        assert_eq!(r.finish(), Err(CanonError::Unknown("s.b".into())));
    }
}
