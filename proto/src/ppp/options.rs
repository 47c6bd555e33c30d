//! Configuration options, the type-length-value list carried by
//! Configure-Request/Ack/Nak/Reject (RFC 1661 §6).
//!
//! Contract: [`OptionIter`] walks a list without copying and stops with an
//! error at the first option whose Length is below 2 or beyond the list; a
//! packet with such a list is malformed and silently discarded. Each control
//! protocol gives kinds their meaning in its own module.

/// What is wrong with an option list: the peer's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// An option header is cut short or its Length is wrong.
    #[error("peer sent a configuration option with a bad Length at offset {0}")]
    BadLength(usize),
}

/// A zero-copy view of one option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionView<'a> {
    /// The Type octet.
    pub kind: u8,
    /// The octets after Type and Length.
    pub data: &'a [u8],
}

impl OptionView<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> RawOption {
        RawOption {
            kind: self.kind,
            data: self.data.to_vec(),
        }
    }
}

/// Iterates over the options of a list.
#[derive(Clone, Debug)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> OptionIter<'a> {
    /// Iterates over `list`.
    pub fn new(list: &'a [u8]) -> Self {
        OptionIter {
            rest: list,
            offset: 0,
        }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<OptionView<'a>, OptionError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let bad = Err(OptionError::BadLength(self.offset));
        let len = match self.rest.get(1) {
            Some(&l) => usize::from(l),
            None => {
                self.rest = &[];
                return Some(bad);
            }
        };
        if len < 2 || len > self.rest.len() {
            self.rest = &[];
            return Some(bad);
        }
        let view = OptionView {
            kind: self.rest[0],
            data: &self.rest[2..len],
        };
        self.rest = &self.rest[len..];
        self.offset += len;
        Some(Ok(view))
    }
}

/// An owned option of any kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawOption {
    /// The Type octet.
    pub kind: u8,
    /// The option data (at most 253 octets are emitted).
    pub data: Vec<u8>,
}

impl RawOption {
    /// An option of `kind` with `data`.
    pub fn new(kind: u8, data: &[u8]) -> Self {
        RawOption {
            kind,
            data: data.to_vec(),
        }
    }

    /// Appends the option to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let data = &self.data[..self.data.len().min(253)];
        out.push(self.kind);
        out.push((data.len() + 2) as u8);
        out.extend_from_slice(data);
    }
}

/// Parses a whole option list.
pub fn parse_list(list: &[u8]) -> Result<Vec<RawOption>, OptionError> {
    OptionIter::new(list)
        .map(|o| o.map(|v| v.to_owned()))
        .collect()
}

/// Emits a whole option list.
pub fn emit_list(options: &[RawOption]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in options {
        o.emit(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pppd_lcp_request_options() {
        // pppd's LCP request (REFERENCE.md): ACCM 0, Magic-Number (RFC 1661 §6).
        let list = [
            0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78,
        ];
        let opts = parse_list(&list).expect("valid");
        assert_eq!(opts[0], RawOption::new(0x02, &[0, 0, 0, 0]));
        assert_eq!(opts[1], RawOption::new(0x05, &[0x12, 0x34, 0x56, 0x78]));
        assert_eq!(emit_list(&opts), list);
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(parse_list(&[0x01]), Err(OptionError::BadLength(0)));
        assert_eq!(
            parse_list(&[0x07, 0x02, 0x01, 0x01]),
            Err(OptionError::BadLength(2))
        );
        assert_eq!(
            parse_list(&[0x01, 0x05, 0x00]),
            Err(OptionError::BadLength(0))
        );
    }

    proptest! {
        #[test]
        fn parse_emit_round_trip(opts in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..20)), 0..8)) {
            let opts: Vec<RawOption> = opts.into_iter().map(|(kind, data)| RawOption { kind, data }).collect();
            prop_assert_eq!(parse_list(&emit_list(&opts)).expect("own output"), opts);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_list(&bytes);
        }
    }
}
