//! DHCPv6 (RFC 8415) for PPP links: message and option formats, and the
//! sans-IO per-session [`Dhcpv6Server`] that hands out an IA_NA address from
//! the session's /64 and the delegated prefix by IA_PD.
//!
//! Contract: no IO, no clock, no global randomness. Parsing never panics and
//! checks every length; a message the server must not answer is reported as
//! a [`Dhcpv6Ignored`] (silently dropped on the wire, counted and logged by
//! the caller). Replies are whole IPv6/UDP packets with a valid checksum.

mod config;
mod duid;
mod message;
pub mod option;
mod server;

pub use config::{AddressChoice, Dhcpv6Config, Dhcpv6ConfigError, RapidCommit};
pub use duid::Duid;
pub use message::{
    emit_udp_packet, parse_udp_packet, Dhcpv6Message, Dhcpv6MessageView, Dhcpv6Packet, MessageType,
    RelayMessage, UdpDatagram, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, CLIENT_PORT, SERVER_PORT,
};
pub use option::{Dhcpv6Option, Dhcpv6OptionsView, Ia, StatusCode};
pub use server::{Binding, BindingKey, Dhcpv6Server, IaKind, MAX_BINDINGS, MAX_DECLINED};

use crate::ip::IpError;

/// Why bytes are not a valid DHCPv6 message (the client sent garbage).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Dhcpv6Error {
    /// The IPv6 packet is malformed.
    #[error("IPv6: {0}")]
    Ip(IpError),
    /// The packet does not carry UDP.
    #[error("not UDP")]
    NotUdp,
    /// UDP Length inconsistent with the packet.
    #[error("bad UDP length")]
    BadUdpLength,
    /// UDP checksum zero or wrong (RFC 8200 §8.1).
    #[error("bad UDP checksum")]
    BadUdpChecksum,
    /// Shorter than a fixed part.
    #[error("truncated")]
    Truncated,
    /// An option whose length does not fit its format or the message.
    #[error("bad length for option {0}")]
    BadOptionLength(u16),
    /// A DUID outside RFC 8415 §11.
    #[error("bad DUID")]
    BadDuid,
    /// A domain name that is not a valid uncompressed DNS name.
    #[error("bad domain name")]
    BadDomainName,
    /// A Status Code message that is not UTF-8 (RFC 8415 §21.13).
    #[error("status message is not UTF-8")]
    BadStatusMessage,
    /// Options nested deeper than [`option::MAX_NESTING`].
    #[error("options nested too deep")]
    TooDeep,
    /// A message too large for one UDP datagram (local).
    #[error("message too long")]
    TooLong,
}

/// Why the server sent nothing back (RFC 8415 §16 and §18.3), for counters
/// and logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Dhcpv6Ignored {
    /// Not UDP to port 547.
    #[error("not DHCPv6")]
    NotDhcp,
    /// From the unspecified or a multicast address: no one to answer.
    #[error("source address cannot be answered")]
    BadSource,
    /// The client sent a malformed packet.
    #[error("malformed: {0}")]
    Malformed(Dhcpv6Error),
    /// A message type only servers send (Advertise, Reply, Reconfigure).
    #[error("server message {0:?} received")]
    ServerMessage(MessageType),
    /// Relay messages are not expected on a PPP link.
    #[error("relay message on a PPP link")]
    Relayed,
    /// An unknown message type (RFC 8415 §16: discard).
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// No Client Identifier where RFC 8415 §16 requires one.
    #[error("missing Client Identifier")]
    MissingClientId,
    /// A Server Identifier in a Solicit, Confirm or Rebind.
    #[error("unexpected Server Identifier")]
    UnexpectedServerId,
    /// No Server Identifier where RFC 8415 §16 requires one.
    #[error("missing Server Identifier")]
    MissingServerId,
    /// Addressed to another server.
    #[error("Server Identifier is not ours")]
    WrongServerId,
    /// An Information-Request carrying an IA option (RFC 8415 §16.12).
    #[error("IA option in Information-Request")]
    IaInInformationRequest,
    /// A Confirm without addresses (RFC 8415 §18.3.3: no reply).
    #[error("Confirm without addresses")]
    NothingToConfirm,
    /// Our reply could not be encoded (a local configuration problem).
    #[error("reply not encodable: {0}")]
    ReplyTooLarge(Dhcpv6Error),
}
