//! RADIUS (RFC 2865/2866/2869/3579/5176): wire format, crypto and the
//! sans-IO client machine that lnsd uses to authenticate and account PPP users.
//!
//! Contract: nothing here performs IO, reads a clock or draws randomness on
//! its own. Layers, bottom up:
//! - [`code`] and [`values`]: the open number spaces (packet codes, enumerated
//!   attribute values, Error-Cause).
//! - [`attribute`]: the typed attributes an LNS uses; unknown or malformed
//!   ones are kept raw so parsing never fails on a value it does not know.
//! - [`packet`]: the zero-copy [`PacketView`] and the owned [`Packet`] with
//!   `parse` and `emit`, with the RFC 2865 §3 length rules.
//! - [`crypto`]: [`Secret`], [`Password`], User-Password hiding, MD5
//!   authenticators, HMAC-MD5 Message-Authenticator, CHAP responses.
//! - [`signing`]: whole-packet signing of requests and verification of
//!   replies (and the reverse for the dynamic-authorization server side).
//! - [`client`]: the [`Client`] machine: identifiers, retransmission,
//!   failover, reply matching, statistics.
//! - [`dae`]: RFC 5176 Disconnect/CoA request checks and ACK/NAK builders.
//! - [`request`] and [`authorization`]: Access/Accounting-Request builders
//!   and the typed reading of an Access-Accept.

/// Declares an open number space: named variants plus `Unknown(n)`, with
/// lossless conversions both ways.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this implementation has no name for.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                match v {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                match v {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

pub mod attribute;
pub mod authorization;
pub mod client;
pub mod code;
pub mod crypto;
pub mod dae;
pub mod packet;
pub mod request;
pub mod signing;
pub mod values;

pub use attribute::{
    Attribute, AttributeType, ChapPassword, HiddenPassword, Ipv6Prefix, TaggedString, Vsa,
};

pub use authorization::{AddressAssignment, Authorization, AuthorizationError};
pub use client::{
    Client, ClientConfig, Event, Handle, ServerConfig, ServerStats, Service, Transmit,
};
pub use code::Code;
pub use crypto::{Password, Secret};
pub use packet::{EmitError, Packet, PacketView, ParseError};
pub use request::{
    access_request, accounting_nas_event, accounting_request, AccessParams, AccountingKind,
    AccountingParams, Counters, Credentials, Nas, NasEvent, Port, TunnelInfo,
};
pub use signing::{Request, VerifyError};
pub use values::{AcctStatusType, AcctTerminateCause, ErrorCause};
