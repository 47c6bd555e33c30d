//! LCP, IPCP and IPV6CP packets and options (RFC 1661 §5-6, RFC 1332,
//! RFC 5072): the packet view and repr, the option list, and the typed
//! options of each protocol.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ppp::ipcp::IpcpOption;
use lns_proto::ppp::ipv6cp::Ipv6cpOption;
use lns_proto::ppp::lcp::LcpOption;
use lns_proto::ppp::options::{emit_list, parse_list};
use lns_proto::ppp::packet::{Packet, PacketRepr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (p.code(), p.identifier(), p.data(), p.bytes());
    }
    if let Ok(repr) = PacketRepr::parse(data) {
        assert_eq!(PacketRepr::parse(&repr.to_bytes()).ok(), Some(repr.clone()));
        if let Ok(opts) = parse_list(&repr.data) {
            assert_eq!(parse_list(&emit_list(&opts)).ok(), Some(opts.clone()));
            for o in &opts {
                assert_eq!(&LcpOption::parse(o).to_raw(), o);
                assert_eq!(&IpcpOption::parse(o).to_raw(), o);
                assert_eq!(&Ipv6cpOption::parse(o).to_raw(), o);
            }
        }
    }
});
