//! RFC 2661 §3.1 data messages for the data plane, without allocation.
//!
//! Contract: [`write_data_header`] writes the header for a (tunnel, session)
//! into the caller's buffer and returns its length; [`parse_data`] validates
//! a datagram and returns ids, Ns/Nr and the PPP payload's byte range. Both
//! only borrow; the caller owns every buffer.

use super::header::{Header, HeaderError, HeaderView, Kind, LengthField, Priority, Sequence};
use core::ops::Range;
use thiserror::Error;

/// Which optional header fields a data message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOptions {
    /// L bit.
    pub length: LengthField,
    /// S bit with these Ns/Nr.
    pub sequence: Option<Sequence>,
    /// O bit with this many zero pad bytes.
    pub offset_size: Option<u16>,
    /// P bit.
    pub priority: Priority,
}

impl DataOptions {
    /// The smallest header (no L, S, O, P bits): 6 bytes.
    pub const MINIMAL: DataOptions = DataOptions {
        length: LengthField::Absent,
        sequence: None,
        offset_size: None,
        priority: Priority::Normal,
    };
}

/// Why a data datagram was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DataError {
    /// The header is malformed (sender's fault; drop).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A control message: hand it to the endpoint instead.
    #[error("control message on the data path")]
    Control,
    /// The caller's buffer cannot hold the header, or the total exceeds 65535.
    #[error("buffer too small for the data header")]
    BufferTooSmall,
}

/// What the data plane needs from a received data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataInfo {
    /// Our tunnel id.
    pub tunnel_id: u16,
    /// Our session id.
    pub session_id: u16,
    /// Ns/Nr if the sender set the S bit.
    pub sequence: Option<Sequence>,
    /// Where the PPP frame lies in the datagram.
    pub payload: Range<usize>,
}

/// Writes a data header for the peer's (`tunnel_id`, `session_id`) at the
/// start of `buf`, for a PPP payload of `payload_len` bytes that the caller
/// places right after it. Returns the header length.
pub fn write_data_header(
    buf: &mut [u8],
    tunnel_id: u16,
    session_id: u16,
    options: DataOptions,
    payload_len: usize,
) -> Result<usize, DataError> {
    let header = Header {
        kind: Kind::Data,
        length: options.length,
        tunnel_id,
        session_id,
        sequence: options.sequence,
        offset_size: options.offset_size,
        priority: options.priority,
    };
    header
        .emit_into(buf, payload_len)
        .ok_or(DataError::BufferTooSmall)
}

/// The header length [`write_data_header`] will write for `options`.
pub fn data_header_len(options: DataOptions) -> usize {
    Header {
        kind: Kind::Data,
        length: options.length,
        tunnel_id: 0,
        session_id: 0,
        sequence: options.sequence,
        offset_size: options.offset_size,
        priority: options.priority,
    }
    .buffer_len()
}

/// Parses a data message (RFC 2661 §3.1); trailing bytes after Length are excluded.
pub fn parse_data(datagram: &[u8]) -> Result<DataInfo, DataError> {
    let view = HeaderView::new_checked(datagram)?;
    if view.kind() == Kind::Control {
        return Err(DataError::Control);
    }
    Ok(DataInfo {
        tunnel_id: view.tunnel_id(),
        session_id: view.session_id(),
        sequence: view.sequence(),
        payload: view.payload_range(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minimal_header_vector() {
        // §3.1: no optional fields: flags 0x0002, tunnel, session.
        let mut buf = [0u8; 16];
        let n = write_data_header(&mut buf, 0x0001, 0x0002, DataOptions::MINIMAL, 4).expect("fits");
        assert_eq!(&buf[..n], &[0x00, 0x02, 0x00, 0x01, 0x00, 0x02]);
        buf[n..n + 4].copy_from_slice(&[0xff, 0x03, 0xc0, 0x21]);
        let info = parse_data(&buf[..n + 4]).expect("valid");
        assert_eq!((info.tunnel_id, info.session_id), (1, 2));
        assert_eq!(&buf[info.payload], &[0xff, 0x03, 0xc0, 0x21]);
    }

    #[test]
    fn full_header_vector() {
        let opts = DataOptions {
            length: LengthField::Present,
            sequence: Some(Sequence { ns: 5, nr: 0 }),
            offset_size: Some(1),
            priority: Priority::High,
        };
        let mut buf = [0u8; 32];
        let n = write_data_header(&mut buf, 7, 8, opts, 2).expect("fits");
        assert_eq!(n, data_header_len(opts));
        assert_eq!(
            &buf[..n],
            &[
                0x4b, 0x02, 0x00, 0x11, 0x00, 0x07, 0x00, 0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
                0x00
            ]
        );
        assert_eq!(
            write_data_header(&mut [0u8; 4], 7, 8, opts, 2),
            Err(DataError::BufferTooSmall)
        );
        let mut ctl = [0u8; 12];
        ctl[..2].copy_from_slice(&[0xc8, 0x02]);
        ctl[3] = 12;
        assert_eq!(parse_data(&ctl), Err(DataError::Control));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(info) = parse_data(&bytes) {
                prop_assert!(info.payload.end <= bytes.len());
            }
        }
    }
}
