//! PPP framing (RFC 1661 §2): the view, the repr, the classifier; whatever
//! parses must re-emit to a frame that parses to the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ppp::{classify, Compression, Frame, FrameRepr};

fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    if let Ok(f) = Frame::new_checked(data) {
        let _ = (f.protocol(), f.payload(), f.address_control());
    }
    if let Ok(repr) = FrameRepr::parse(data) {
        let mut out = Vec::new();
        repr.emit(Compression::default(), &mut out);
        assert_eq!(FrameRepr::parse(&out).ok(), Some(repr));
    }
});
