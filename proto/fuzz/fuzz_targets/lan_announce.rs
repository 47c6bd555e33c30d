//! Fuzzes the LAN announcement decoders: Ethernet header, ARP packet and
//! Neighbor Advertisement (view, repr and whole-packet validation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lns_proto::ip::arp::{ArpPacket, ArpRepr};
use lns_proto::ip::ethernet::{EthernetFrame, EthernetRepr};
use lns_proto::nd::neighbor::{parse_na_packet, NeighborAdvertisement, NeighborAdvertisementView};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = EthernetFrame::new_checked(data) {
        let _ = EthernetRepr::parse(&f);
        if let Ok(a) = ArpPacket::new_checked(f.payload()) {
            let repr = ArpRepr::parse(&a);
            let mut out = Vec::new();
            repr.emit(&mut out);
            assert_eq!(&out[..], &f.payload()[..out.len()]);
        }
        let _ = parse_na_packet(f.payload());
    }
    if let Ok(v) = NeighborAdvertisementView::new_checked(data) {
        let _ = NeighborAdvertisement::parse(&v);
    }
    let _ = parse_na_packet(data);
});
