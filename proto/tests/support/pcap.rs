//! Minimal pcap (libpcap 2.4) writers. [`PcapWriter`] uses LINKTYPE_IPV4
//! (228): every record is an IPv4 header + UDP header + the payload we
//! emitted, so Wireshark decodes UDP/1701 as L2TP and, inside data messages,
//! PPP. [`RawIpPcapWriter`] uses LINKTYPE_RAW (101): every record is a whole
//! IPv4 or IPv6 packet as we emitted it.

use std::net::{Ipv4Addr, SocketAddrV4};

/// Collects UDP datagrams and renders them as a pcap file.
#[derive(Debug, Default)]
pub struct PcapWriter {
    buf: Vec<u8>,
    ip_id: u16,
}

const LINKTYPE_IPV4: u32 = 228;

impl PcapWriter {
    pub fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        buf.extend_from_slice(&2u16.to_le_bytes()); // version major
        buf.extend_from_slice(&4u16.to_le_bytes()); // version minor
        buf.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        buf.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        buf.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
        buf.extend_from_slice(&LINKTYPE_IPV4.to_le_bytes());
        PcapWriter { buf, ip_id: 1 }
    }

    /// Appends one UDP datagram `src -> dst` carrying `payload`, at `ts_us`
    /// microseconds since the epoch.
    pub fn udp(&mut self, ts_us: u64, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) {
        let total = 20 + 8 + payload.len();
        let total16 = u16::try_from(total).expect("test datagrams fit in 64 KiB");
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total16.to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        ip[6] = 0x40; // DF
        ip[8] = 64; // TTL
        ip[9] = 17; // UDP
        ip[12..16].copy_from_slice(&src.ip().octets());
        ip[16..20].copy_from_slice(&dst.ip().octets());
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let mut udp = [0u8; 8];
        udp[0..2].copy_from_slice(&src.port().to_be_bytes());
        udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
        udp[4..6].copy_from_slice(&(total16 - 20).to_be_bytes());
        let csum = udp_checksum(*src.ip(), *dst.ip(), &udp, payload);
        udp[6..8].copy_from_slice(&csum.to_be_bytes());

        let rec_len = u32::try_from(total).expect("fits");
        push_record_header(&mut self.buf, ts_us, rec_len);
        self.buf.extend_from_slice(&ip);
        self.buf.extend_from_slice(&udp);
        self.buf.extend_from_slice(payload);
    }

    /// The pcap file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Writes the capture to `path`.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, &self.buf)
    }
}

const LINKTYPE_RAW: u32 = 101;

/// Collects whole IPv4/IPv6 packets and renders them as a pcap file.
#[derive(Debug)]
pub struct RawIpPcapWriter {
    buf: Vec<u8>,
}

impl Default for RawIpPcapWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl RawIpPcapWriter {
    pub fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&65_535u32.to_le_bytes());
        buf.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        RawIpPcapWriter { buf }
    }

    /// Appends one raw IP packet at `ts_us` microseconds since the epoch.
    pub fn packet(&mut self, ts_us: u64, packet: &[u8]) {
        let len = u32::try_from(packet.len()).expect("test packets fit in 4 GiB");
        push_record_header(&mut self.buf, ts_us, len);
        self.buf.extend_from_slice(packet);
    }

    /// Writes the capture to `path`.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, &self.buf)
    }
}

fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        acc += u32::from(word);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn checksum(data: &[u8]) -> u16 {
    fold(sum16(0, data))
}

fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8; 8], payload: &[u8]) -> u16 {
    let len = u16::try_from(8 + payload.len()).expect("fits");
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.octets());
    pseudo[4..8].copy_from_slice(&dst.octets());
    pseudo[9] = 17;
    pseudo[10..12].copy_from_slice(&len.to_be_bytes());
    let mut acc = sum16(0, &pseudo);
    acc = sum16(acc, &udp[..6]);
    // payload may have odd length: sum16 pads the final byte with zero
    acc = sum16(acc, payload);
    match fold(acc) {
        0 => 0xffff,
        c => c,
    }
}

/// A pcap record header: the time (`ts_us` µs since the epoch, seconds
/// saturating) and the captured and original lengths, both `len`.
fn push_record_header(buf: &mut Vec<u8>, ts_us: u64, len: u32) {
    let secs = u32::try_from(ts_us / 1_000_000).unwrap_or(u32::MAX);
    buf.extend_from_slice(&secs.to_le_bytes());
    buf.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
}
