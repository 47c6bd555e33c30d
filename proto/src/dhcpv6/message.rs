//! DHCPv6 messages (RFC 8415 §8, §9) and their IPv6/UDP carriage.
//!
//! Contract: [`Dhcpv6MessageView::new_checked`] accepts a client/server
//! message of at least 4 octets or a relay message of at least 34; the owned
//! [`Dhcpv6Message`] / [`RelayMessage`] parse and emit the options.
//! [`parse_udp_packet`] checks the IPv6 packet, the UDP length and the
//! (mandatory, RFC 8200 §8.1) UDP checksum; [`emit_udp_packet`] writes a
//! whole IPv6/UDP packet with a correct checksum.

use core::net::Ipv6Addr;

use super::option::{emit_all, Dhcpv6Option};
use super::Dhcpv6Error;
use crate::ip::checksum::{udp_checksum_field, Accumulator};
use crate::ip::{IpProtocol, Ipv6Packet, Ipv6Repr, UpperLayer, IPV6_HEADER_LEN};

/// UDP port of DHCPv6 clients.
pub const CLIENT_PORT: u16 = 546;
/// UDP port of DHCPv6 servers and relays.
pub const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr =
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0x0001, 0x0002);

const UDP_HEADER_LEN: usize = 8;
/// The hop limit of our replies (link-local destination).
const REPLY_HOP_LIMIT: u8 = 64;

/// DHCPv6 message types (RFC 8415 §7.3), open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// 1.
    Solicit,
    /// 2.
    Advertise,
    /// 3.
    Request,
    /// 4.
    Confirm,
    /// 5.
    Renew,
    /// 6.
    Rebind,
    /// 7.
    Reply,
    /// 8.
    Release,
    /// 9.
    Decline,
    /// 10.
    Reconfigure,
    /// 11.
    InformationRequest,
    /// 12.
    RelayForw,
    /// 13.
    RelayRepl,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            1 => MessageType::Solicit,
            2 => MessageType::Advertise,
            3 => MessageType::Request,
            4 => MessageType::Confirm,
            5 => MessageType::Renew,
            6 => MessageType::Rebind,
            7 => MessageType::Reply,
            8 => MessageType::Release,
            9 => MessageType::Decline,
            10 => MessageType::Reconfigure,
            11 => MessageType::InformationRequest,
            12 => MessageType::RelayForw,
            13 => MessageType::RelayRepl,
            n => MessageType::Unknown(n),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::Solicit => 1,
            MessageType::Advertise => 2,
            MessageType::Request => 3,
            MessageType::Confirm => 4,
            MessageType::Renew => 5,
            MessageType::Rebind => 6,
            MessageType::Reply => 7,
            MessageType::Release => 8,
            MessageType::Decline => 9,
            MessageType::Reconfigure => 10,
            MessageType::InformationRequest => 11,
            MessageType::RelayForw => 12,
            MessageType::RelayRepl => 13,
            MessageType::Unknown(n) => n,
        }
    }
}

impl MessageType {
    /// True for Relay-Forw and Relay-Repl, which have the relay layout.
    pub fn is_relay(self) -> bool {
        matches!(self, MessageType::RelayForw | MessageType::RelayRepl)
    }
}

/// A checked view of a DHCPv6 message (the UDP payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dhcpv6MessageView<'a> {
    data: &'a [u8],
}

impl<'a> Dhcpv6MessageView<'a> {
    /// Checks the fixed part: 4 octets, or 34 for a relay message.
    pub fn new_checked(data: &'a [u8]) -> Result<Self, Dhcpv6Error> {
        let ty = MessageType::from(*data.first().ok_or(Dhcpv6Error::Truncated)?);
        let min = if ty.is_relay() { 34 } else { 4 };
        if data.len() < min {
            return Err(Dhcpv6Error::Truncated);
        }
        Ok(Dhcpv6MessageView { data })
    }
    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.data[0])
    }
    /// The 24-bit transaction id (0 for relay messages).
    pub fn transaction_id(&self) -> u32 {
        if self.msg_type().is_relay() {
            0
        } else {
            u32::from_be_bytes([0, self.data[1], self.data[2], self.data[3]])
        }
    }
    /// The option area.
    pub fn options(&self) -> &'a [u8] {
        if self.msg_type().is_relay() {
            &self.data[34..]
        } else {
            &self.data[4..]
        }
    }
}

/// A client/server message (RFC 8415 §8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dhcpv6Message {
    /// The message type (never a relay type).
    pub msg_type: MessageType,
    /// The 24-bit transaction id.
    pub transaction_id: u32,
    /// Options in order.
    pub options: Vec<Dhcpv6Option>,
}

/// A relay agent/server message (RFC 8415 §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayMessage {
    /// Relay-Forw or Relay-Repl.
    pub msg_type: MessageType,
    /// Relays traversed.
    pub hop_count: u8,
    /// Link of the client.
    pub link_address: Ipv6Addr,
    /// The client's or previous relay's address.
    pub peer_address: Ipv6Addr,
    /// Options (Relay Message, Interface-Id, ...).
    pub options: Vec<Dhcpv6Option>,
}

/// Either layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dhcpv6Packet {
    /// A client/server message.
    Message(Dhcpv6Message),
    /// A relay message.
    Relay(RelayMessage),
}

impl Dhcpv6Packet {
    /// Parses a checked view, options included.
    pub fn parse(view: &Dhcpv6MessageView<'_>) -> Result<Self, Dhcpv6Error> {
        let options = Dhcpv6Option::parse_all(view.options())?;
        let d = view.data;
        Ok(if view.msg_type().is_relay() {
            let mut link = [0u8; 16];
            link.copy_from_slice(&d[2..18]);
            let mut peer = [0u8; 16];
            peer.copy_from_slice(&d[18..34]);
            Dhcpv6Packet::Relay(RelayMessage {
                msg_type: view.msg_type(),
                hop_count: d[1],
                link_address: Ipv6Addr::from(link),
                peer_address: Ipv6Addr::from(peer),
                options,
            })
        } else {
            Dhcpv6Packet::Message(Dhcpv6Message {
                msg_type: view.msg_type(),
                transaction_id: view.transaction_id(),
                options,
            })
        })
    }

    /// Parses a DHCPv6 message (a UDP payload).
    pub fn parse_bytes(data: &[u8]) -> Result<Self, Dhcpv6Error> {
        Self::parse(&Dhcpv6MessageView::new_checked(data)?)
    }

    /// Appends the message.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Dhcpv6Error> {
        match self {
            Dhcpv6Packet::Message(m) => {
                let xid = m.transaction_id.to_be_bytes();
                out.extend_from_slice(&[u8::from(m.msg_type), xid[1], xid[2], xid[3]]);
                emit_all(&m.options, out)
            }
            Dhcpv6Packet::Relay(r) => {
                out.extend_from_slice(&[u8::from(r.msg_type), r.hop_count]);
                out.extend_from_slice(&r.link_address.octets());
                out.extend_from_slice(&r.peer_address.octets());
                emit_all(&r.options, out)
            }
        }
    }
}

impl Dhcpv6Message {
    /// The first option matching `pick`.
    pub fn find<'a, T>(&'a self, pick: impl Fn(&'a Dhcpv6Option) -> Option<T>) -> Option<T> {
        self.options.iter().find_map(pick)
    }
}

/// The addressing of a received UDP datagram and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination.
    pub dst: Ipv6Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// UDP payload.
    pub payload: &'a [u8],
}

/// Reads an IPv6/UDP packet, checking lengths and the UDP checksum.
pub fn parse_udp_packet(packet: &[u8]) -> Result<UdpDatagram<'_>, Dhcpv6Error> {
    let ip = Ipv6Packet::new_checked(packet).map_err(Dhcpv6Error::Ip)?;
    let offset = match ip.upper_layer().map_err(Dhcpv6Error::Ip)? {
        UpperLayer::At {
            protocol: IpProtocol::Udp,
            offset,
        } => offset,
        _ => return Err(Dhcpv6Error::NotUdp),
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    // The view checked that Payload Length fits the buffer.
    let seg = &packet[offset..ip.total_len()];
    if seg.len() < UDP_HEADER_LEN {
        return Err(Dhcpv6Error::Truncated);
    }
    let udp_len = usize::from(u16::from_be_bytes([seg[4], seg[5]]));
    if udp_len < UDP_HEADER_LEN || udp_len > seg.len() {
        return Err(Dhcpv6Error::BadUdpLength);
    }
    let seg = &seg[..udp_len];
    // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
    let checksum_ok = u16::from_be_bytes([seg[6], seg[7]]) != 0
        && Accumulator::new()
            .add_ipv6_pseudo_header(src, dst, u8::from(IpProtocol::Udp), udp_len as u32)
            .add_bytes(seg)
            .verifies();
    if !checksum_ok {
        return Err(Dhcpv6Error::BadUdpChecksum);
    }
    Ok(UdpDatagram {
        src,
        dst,
        src_port: u16::from_be_bytes([seg[0], seg[1]]),
        dst_port: u16::from_be_bytes([seg[2], seg[3]]),
        payload: &seg[UDP_HEADER_LEN..],
    })
}

/// Appends a whole IPv6/UDP packet carrying `payload`.
pub fn emit_udp_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Dhcpv6Error> {
    let udp_len = UDP_HEADER_LEN + payload.len();
    let udp_len16 = u16::try_from(udp_len).map_err(|_| Dhcpv6Error::TooLong)?;
    let start = out.len();
    out.resize(start + IPV6_HEADER_LEN, 0);
    Ipv6Repr {
        src,
        dst,
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit: REPLY_HOP_LIMIT,
    }
    .emit(&mut out[start..])
    .map_err(Dhcpv6Error::Ip)?;
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&udp_len16.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let seg = &mut out[start + IPV6_HEADER_LEN..];
    let sum = Accumulator::new()
        .add_ipv6_pseudo_header(src, dst, u8::from(IpProtocol::Udp), udp_len as u32)
        .add_bytes(seg)
        .checksum();
    seg[6..8].copy_from_slice(&udp_checksum_field(sum).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcpv6::duid::Duid;

    #[test]
    fn solicit_header_byte_vector() {
        // RFC 8415 §8: msg-type 1, transaction-id 0x123456, then options:
        // Elapsed Time 0.
        let wire = [0x01, 0x12, 0x34, 0x56, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00];
        let p = Dhcpv6Packet::parse_bytes(&wire).expect("valid");
        assert_eq!(
            p,
            Dhcpv6Packet::Message(Dhcpv6Message {
                msg_type: MessageType::Solicit,
                transaction_id: 0x12_3456,
                options: vec![Dhcpv6Option::ElapsedTime(0)],
            })
        );
        let mut out = Vec::new();
        p.emit(&mut out).expect("valid");
        assert_eq!(out, wire);
    }

    #[test]
    fn relay_forw_parses() {
        // RFC 8415 §9.1: type 12, hop count, link-address, peer-address.
        let mut wire = vec![12, 0];
        wire.extend_from_slice(&[0; 16]);
        wire.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        wire.extend_from_slice(&[0x00, 0x09, 0x00, 0x04, 0x01, 0x00, 0x00, 0x01]);
        match Dhcpv6Packet::parse_bytes(&wire).expect("valid") {
            Dhcpv6Packet::Relay(r) => {
                assert_eq!(r.peer_address, Ipv6Addr::LOCALHOST);
                assert_eq!(
                    r.options,
                    vec![Dhcpv6Option::RelayMessage(vec![1, 0, 0, 1])]
                );
            }
            other => panic!("not a relay message: {other:?}"),
        }
        assert_eq!(
            Dhcpv6Packet::parse_bytes(&wire[..20]),
            Err(Dhcpv6Error::Truncated)
        );
    }

    #[test]
    fn udp_round_trip_and_checksum() {
        let m = Dhcpv6Packet::Message(Dhcpv6Message {
            msg_type: MessageType::Reply,
            transaction_id: 1,
            options: vec![Dhcpv6Option::ServerId(Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![2, 0, 0, 0, 0, 1],
            })],
        });
        let mut payload = Vec::new();
        m.emit(&mut payload).expect("valid");
        let mut p = Vec::new();
        let (a, b) = ("fe80::1".parse().expect("l"), "fe80::2".parse().expect("l"));
        emit_udp_packet(a, b, SERVER_PORT, CLIENT_PORT, &payload, &mut p).expect("fits");
        let d = parse_udp_packet(&p).expect("valid");
        assert_eq!((d.src_port, d.dst_port), (547, 546));
        assert_eq!(Dhcpv6Packet::parse_bytes(d.payload), Ok(m));
        let mut bad = p.clone();
        *bad.last_mut().expect("non-empty") ^= 0xff;
        assert_eq!(parse_udp_packet(&bad), Err(Dhcpv6Error::BadUdpChecksum));
    }
}
