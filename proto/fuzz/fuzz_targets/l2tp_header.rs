//! RFC 2661 §3.1 header view: never panics, never reads past the datagram,
//! and a parsed header re-emits to a header that parses back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::l2tp::header::{Header, HeaderView};

fuzz_target!(|data: &[u8]| {
    let Ok(view) = HeaderView::new_checked(data) else {
        return;
    };
    let _ = (view.kind(), view.tunnel_id(), view.session_id(), view.sequence(), view.offset_size());
    let payload = view.payload();
    assert!(view.payload_range().end <= data.len());
    let header = view.to_header();
    let mut out = Vec::new();
    header.emit(payload, &mut out);
    let (again, range) = Header::parse(&out).expect("our own header parses");
    assert_eq!(again, header);
    assert_eq!(&out[range], payload);
});
