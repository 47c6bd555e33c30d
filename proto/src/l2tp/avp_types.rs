//! Typed AVP values: every RFC 2661 AVP (0-39), RFC 3145's PPP Disconnect
//! Cause Code (46) and RFC 4951's failover AVPs (76-79, parsed for logging;
//! L2TPv2 layout: 16-bit ids, a 2-octet reserved field before the ids of 77-79,
//! a 2-octet flags field (C, D bits) before the 32-bit Recovery Time of 76).
//!
//! Contract: [`AvpValue::decode`] maps an IETF (vendor 0) attribute type and
//! its clear value bytes to a typed value; a known type with a wrong value
//! length is [`ValueError`]; any other type or vendor is kept raw as
//! [`AvpValue::Unknown`]. [`AvpValue::encode`] writes the value bytes
//! (reserved fields as zero), so `decode(encode(v)) == v`.

use super::message::MessageType;
use thiserror::Error;

/// IETF attribute type numbers (RFC 2661 §4.4, RFC 3145, RFC 4951).
#[allow(missing_docs)]
pub mod attr {
    pub const MESSAGE_TYPE: u16 = 0x00;
    pub const RESULT_CODE: u16 = 0x01;
    pub const PROTOCOL_VERSION: u16 = 0x02;
    pub const FRAMING_CAPABILITIES: u16 = 0x03;
    pub const BEARER_CAPABILITIES: u16 = 0x04;
    pub const TIE_BREAKER: u16 = 0x05;
    pub const FIRMWARE_REVISION: u16 = 0x06;
    pub const HOST_NAME: u16 = 0x07;
    pub const VENDOR_NAME: u16 = 0x08;
    pub const ASSIGNED_TUNNEL_ID: u16 = 0x09;
    pub const RECEIVE_WINDOW_SIZE: u16 = 0x0a;
    pub const CHALLENGE: u16 = 0x0b;
    pub const Q931_CAUSE: u16 = 0x0c;
    pub const CHALLENGE_RESPONSE: u16 = 0x0d;
    pub const ASSIGNED_SESSION_ID: u16 = 0x0e;
    pub const CALL_SERIAL_NUMBER: u16 = 0x0f;
    pub const MINIMUM_BPS: u16 = 0x10;
    pub const MAXIMUM_BPS: u16 = 0x11;
    pub const BEARER_TYPE: u16 = 0x12;
    pub const FRAMING_TYPE: u16 = 0x13;
    pub const CALLED_NUMBER: u16 = 0x15;
    pub const CALLING_NUMBER: u16 = 0x16;
    pub const SUB_ADDRESS: u16 = 0x17;
    pub const TX_CONNECT_SPEED: u16 = 0x18;
    pub const PHYSICAL_CHANNEL_ID: u16 = 0x19;
    pub const INITIAL_RECEIVED_LCP_CONFREQ: u16 = 0x1a;
    pub const LAST_SENT_LCP_CONFREQ: u16 = 0x1b;
    pub const LAST_RECEIVED_LCP_CONFREQ: u16 = 0x1c;
    pub const PROXY_AUTHEN_TYPE: u16 = 0x1d;
    pub const PROXY_AUTHEN_NAME: u16 = 0x1e;
    pub const PROXY_AUTHEN_CHALLENGE: u16 = 0x1f;
    pub const PROXY_AUTHEN_ID: u16 = 0x20;
    pub const PROXY_AUTHEN_RESPONSE: u16 = 0x21;
    pub const CALL_ERRORS: u16 = 0x22;
    pub const ACCM: u16 = 0x23;
    pub const RANDOM_VECTOR: u16 = 0x24;
    pub const PRIVATE_GROUP_ID: u16 = 0x25;
    pub const RX_CONNECT_SPEED: u16 = 0x26;
    pub const SEQUENCING_REQUIRED: u16 = 0x27;
    pub const PPP_DISCONNECT_CAUSE: u16 = 0x2e;
    pub const FAILOVER_CAPABILITY: u16 = 0x4c;
    pub const TUNNEL_RECOVERY: u16 = 0x4d;
    pub const SUGGESTED_CONTROL_SEQUENCE: u16 = 0x4e;
    pub const FAILOVER_SESSION_STATE: u16 = 0x4f;
}

/// A known AVP whose value does not have the length its type requires.
/// The sender's fault; answered with Result 2 / Error 2 "Length is wrong".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("AVP type {attr_type} has a value of invalid length {len}")]
pub struct ValueError {
    /// Attribute type.
    pub attr_type: u16,
    /// Value length received.
    pub len: usize,
}

/// Result Code AVP (RFC 2661 §4.4.2): result, optional error and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCodeValue {
    /// Result code (meaning depends on StopCCN or CDN).
    pub result: u16,
    /// Error code, present when `result` is "general error" or a message follows.
    pub error: Option<u16>,
    /// Optional human-readable message (only with an error code).
    pub message: Vec<u8>,
}

/// Call Errors AVP (RFC 2661 §4.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct CallErrors {
    pub crc_errors: u32,
    pub framing_errors: u32,
    pub hardware_overruns: u32,
    pub buffer_overruns: u32,
    pub timeout_errors: u32,
    pub alignment_errors: u32,
}

/// PPP Disconnect Cause Code AVP (RFC 3145 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectCause {
    /// Disconnect code (RFC 3145 §3.1 table).
    pub code: u16,
    /// PPP control protocol number concerned, 0 if none.
    pub protocol: u16,
    /// Direction: 0 global, 1 at peer, 2 at local.
    pub direction: u8,
    /// Optional text.
    pub message: Vec<u8>,
}

/// Typed value of one AVP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AvpValue {
    MessageType(MessageType),
    ResultCode(ResultCodeValue),
    ProtocolVersion {
        version: u8,
        revision: u8,
    },
    FramingCapabilities(u32),
    BearerCapabilities(u32),
    TieBreaker([u8; 8]),
    FirmwareRevision(u16),
    HostName(Vec<u8>),
    VendorName(Vec<u8>),
    AssignedTunnelId(u16),
    ReceiveWindowSize(u16),
    Challenge(Vec<u8>),
    Q931Cause {
        cause: u16,
        message: u8,
        advisory: Vec<u8>,
    },
    ChallengeResponse([u8; 16]),
    AssignedSessionId(u16),
    CallSerialNumber(u32),
    MinimumBps(u32),
    MaximumBps(u32),
    BearerType(u32),
    FramingType(u32),
    CalledNumber(Vec<u8>),
    CallingNumber(Vec<u8>),
    SubAddress(Vec<u8>),
    TxConnectSpeed(u32),
    PhysicalChannelId(u32),
    InitialReceivedLcpConfReq(Vec<u8>),
    LastSentLcpConfReq(Vec<u8>),
    LastReceivedLcpConfReq(Vec<u8>),
    ProxyAuthenType(u16),
    ProxyAuthenName(Vec<u8>),
    ProxyAuthenChallenge(Vec<u8>),
    ProxyAuthenId(u8),
    ProxyAuthenResponse(Vec<u8>),
    CallErrors(CallErrors),
    Accm {
        send: u32,
        recv: u32,
    },
    RandomVector(Vec<u8>),
    PrivateGroupId(Vec<u8>),
    RxConnectSpeed(u32),
    SequencingRequired,
    PppDisconnectCause(DisconnectCause),
    /// RFC 4951 §5.1: flags (C, D bits) and recovery time in ms.
    FailoverCapability {
        flags: u16,
        recovery_time: u32,
    },
    /// RFC 4951 §5.2.
    TunnelRecovery {
        recover_tunnel: u16,
        recover_remote_tunnel: u16,
    },
    /// RFC 4951 §5.3.
    SuggestedControlSequence {
        ns: u16,
        nr: u16,
    },
    /// RFC 4951 §5.4.
    FailoverSessionState {
        sender_session: u16,
        receiver_session: u16,
    },
    /// Any other attribute or vendor, kept raw.
    Unknown {
        vendor_id: u16,
        attr_type: u16,
        value: Vec<u8>,
    },
}

impl AvpValue {
    /// Decodes the clear value of attribute (`vendor_id`, `attr_type`).
    pub fn decode(vendor_id: u16, attr_type: u16, v: &[u8]) -> Result<AvpValue, ValueError> {
        use attr::*;
        use AvpValue as A;
        if vendor_id != 0 {
            return Ok(A::Unknown {
                vendor_id,
                attr_type,
                value: v.to_vec(),
            });
        }
        let bad = || ValueError {
            attr_type,
            len: v.len(),
        };
        let u16_at = |i: usize| u16::from_be_bytes([v[i], v[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
        let exact = |n: usize| if v.len() == n { Ok(()) } else { Err(bad()) };
        Ok(match attr_type {
            MESSAGE_TYPE => {
                exact(2)?;
                A::MessageType(MessageType::from(u16_at(0)))
            }
            RESULT_CODE => match v.len() {
                2 => A::ResultCode(ResultCodeValue {
                    result: u16_at(0),
                    error: None,
                    message: Vec::new(),
                }),
                n if n >= 4 => A::ResultCode(ResultCodeValue {
                    result: u16_at(0),
                    error: Some(u16_at(2)),
                    message: v[4..].to_vec(),
                }),
                _ => return Err(bad()),
            },
            PROTOCOL_VERSION => {
                exact(2)?;
                A::ProtocolVersion {
                    version: v[0],
                    revision: v[1],
                }
            }
            FRAMING_CAPABILITIES => {
                exact(4)?;
                A::FramingCapabilities(u32_at(0))
            }
            BEARER_CAPABILITIES => {
                exact(4)?;
                A::BearerCapabilities(u32_at(0))
            }
            TIE_BREAKER => A::TieBreaker(v.try_into().map_err(|_| bad())?),
            FIRMWARE_REVISION => {
                exact(2)?;
                A::FirmwareRevision(u16_at(0))
            }
            HOST_NAME if !v.is_empty() => A::HostName(v.to_vec()),
            VENDOR_NAME => A::VendorName(v.to_vec()),
            ASSIGNED_TUNNEL_ID => {
                exact(2)?;
                A::AssignedTunnelId(u16_at(0))
            }
            RECEIVE_WINDOW_SIZE => {
                exact(2)?;
                A::ReceiveWindowSize(u16_at(0))
            }
            CHALLENGE if !v.is_empty() => A::Challenge(v.to_vec()),
            Q931_CAUSE if v.len() >= 3 => A::Q931Cause {
                cause: u16_at(0),
                message: v[2],
                advisory: v[3..].to_vec(),
            },
            CHALLENGE_RESPONSE => A::ChallengeResponse(v.try_into().map_err(|_| bad())?),
            ASSIGNED_SESSION_ID => {
                exact(2)?;
                A::AssignedSessionId(u16_at(0))
            }
            CALL_SERIAL_NUMBER => {
                exact(4)?;
                A::CallSerialNumber(u32_at(0))
            }
            MINIMUM_BPS => {
                exact(4)?;
                A::MinimumBps(u32_at(0))
            }
            MAXIMUM_BPS => {
                exact(4)?;
                A::MaximumBps(u32_at(0))
            }
            BEARER_TYPE => {
                exact(4)?;
                A::BearerType(u32_at(0))
            }
            FRAMING_TYPE => {
                exact(4)?;
                A::FramingType(u32_at(0))
            }
            CALLED_NUMBER => A::CalledNumber(v.to_vec()),
            CALLING_NUMBER => A::CallingNumber(v.to_vec()),
            SUB_ADDRESS => A::SubAddress(v.to_vec()),
            TX_CONNECT_SPEED => {
                exact(4)?;
                A::TxConnectSpeed(u32_at(0))
            }
            PHYSICAL_CHANNEL_ID => {
                exact(4)?;
                A::PhysicalChannelId(u32_at(0))
            }
            INITIAL_RECEIVED_LCP_CONFREQ => A::InitialReceivedLcpConfReq(v.to_vec()),
            LAST_SENT_LCP_CONFREQ => A::LastSentLcpConfReq(v.to_vec()),
            LAST_RECEIVED_LCP_CONFREQ => A::LastReceivedLcpConfReq(v.to_vec()),
            PROXY_AUTHEN_TYPE => {
                exact(2)?;
                A::ProxyAuthenType(u16_at(0))
            }
            PROXY_AUTHEN_NAME => A::ProxyAuthenName(v.to_vec()),
            PROXY_AUTHEN_CHALLENGE => A::ProxyAuthenChallenge(v.to_vec()),
            PROXY_AUTHEN_ID => {
                exact(2)?;
                A::ProxyAuthenId(v[1])
            }
            PROXY_AUTHEN_RESPONSE => A::ProxyAuthenResponse(v.to_vec()),
            CALL_ERRORS => {
                exact(26)?;
                A::CallErrors(CallErrors {
                    crc_errors: u32_at(2),
                    framing_errors: u32_at(6),
                    hardware_overruns: u32_at(10),
                    buffer_overruns: u32_at(14),
                    timeout_errors: u32_at(18),
                    alignment_errors: u32_at(22),
                })
            }
            ACCM => {
                exact(10)?;
                A::Accm {
                    send: u32_at(2),
                    recv: u32_at(6),
                }
            }
            RANDOM_VECTOR if !v.is_empty() => A::RandomVector(v.to_vec()),
            PRIVATE_GROUP_ID => A::PrivateGroupId(v.to_vec()),
            RX_CONNECT_SPEED => {
                exact(4)?;
                A::RxConnectSpeed(u32_at(0))
            }
            SEQUENCING_REQUIRED => {
                exact(0)?;
                A::SequencingRequired
            }
            PPP_DISCONNECT_CAUSE if v.len() >= 5 => A::PppDisconnectCause(DisconnectCause {
                code: u16_at(0),
                protocol: u16_at(2),
                direction: v[4],
                message: v[5..].to_vec(),
            }),
            FAILOVER_CAPABILITY => {
                exact(6)?;
                A::FailoverCapability {
                    flags: u16_at(0),
                    recovery_time: u32_at(2),
                }
            }
            TUNNEL_RECOVERY => {
                exact(6)?;
                A::TunnelRecovery {
                    recover_tunnel: u16_at(2),
                    recover_remote_tunnel: u16_at(4),
                }
            }
            SUGGESTED_CONTROL_SEQUENCE => {
                exact(6)?;
                A::SuggestedControlSequence {
                    ns: u16_at(2),
                    nr: u16_at(4),
                }
            }
            FAILOVER_SESSION_STATE => {
                exact(6)?;
                A::FailoverSessionState {
                    sender_session: u16_at(2),
                    receiver_session: u16_at(4),
                }
            }
            HOST_NAME | CHALLENGE | Q931_CAUSE | RANDOM_VECTOR | PPP_DISCONNECT_CAUSE => {
                return Err(bad())
            }
            _ => A::Unknown {
                vendor_id,
                attr_type,
                value: v.to_vec(),
            },
        })
    }

    /// (vendor id, attribute type) of this value.
    pub fn kind(&self) -> (u16, u16) {
        use attr::*;
        use AvpValue as A;
        let t = match self {
            A::MessageType(_) => MESSAGE_TYPE,
            A::ResultCode(_) => RESULT_CODE,
            A::ProtocolVersion { .. } => PROTOCOL_VERSION,
            A::FramingCapabilities(_) => FRAMING_CAPABILITIES,
            A::BearerCapabilities(_) => BEARER_CAPABILITIES,
            A::TieBreaker(_) => TIE_BREAKER,
            A::FirmwareRevision(_) => FIRMWARE_REVISION,
            A::HostName(_) => HOST_NAME,
            A::VendorName(_) => VENDOR_NAME,
            A::AssignedTunnelId(_) => ASSIGNED_TUNNEL_ID,
            A::ReceiveWindowSize(_) => RECEIVE_WINDOW_SIZE,
            A::Challenge(_) => CHALLENGE,
            A::Q931Cause { .. } => Q931_CAUSE,
            A::ChallengeResponse(_) => CHALLENGE_RESPONSE,
            A::AssignedSessionId(_) => ASSIGNED_SESSION_ID,
            A::CallSerialNumber(_) => CALL_SERIAL_NUMBER,
            A::MinimumBps(_) => MINIMUM_BPS,
            A::MaximumBps(_) => MAXIMUM_BPS,
            A::BearerType(_) => BEARER_TYPE,
            A::FramingType(_) => FRAMING_TYPE,
            A::CalledNumber(_) => CALLED_NUMBER,
            A::CallingNumber(_) => CALLING_NUMBER,
            A::SubAddress(_) => SUB_ADDRESS,
            A::TxConnectSpeed(_) => TX_CONNECT_SPEED,
            A::PhysicalChannelId(_) => PHYSICAL_CHANNEL_ID,
            A::InitialReceivedLcpConfReq(_) => INITIAL_RECEIVED_LCP_CONFREQ,
            A::LastSentLcpConfReq(_) => LAST_SENT_LCP_CONFREQ,
            A::LastReceivedLcpConfReq(_) => LAST_RECEIVED_LCP_CONFREQ,
            A::ProxyAuthenType(_) => PROXY_AUTHEN_TYPE,
            A::ProxyAuthenName(_) => PROXY_AUTHEN_NAME,
            A::ProxyAuthenChallenge(_) => PROXY_AUTHEN_CHALLENGE,
            A::ProxyAuthenId(_) => PROXY_AUTHEN_ID,
            A::ProxyAuthenResponse(_) => PROXY_AUTHEN_RESPONSE,
            A::CallErrors(_) => CALL_ERRORS,
            A::Accm { .. } => ACCM,
            A::RandomVector(_) => RANDOM_VECTOR,
            A::PrivateGroupId(_) => PRIVATE_GROUP_ID,
            A::RxConnectSpeed(_) => RX_CONNECT_SPEED,
            A::SequencingRequired => SEQUENCING_REQUIRED,
            A::PppDisconnectCause(_) => PPP_DISCONNECT_CAUSE,
            A::FailoverCapability { .. } => FAILOVER_CAPABILITY,
            A::TunnelRecovery { .. } => TUNNEL_RECOVERY,
            A::SuggestedControlSequence { .. } => SUGGESTED_CONTROL_SEQUENCE,
            A::FailoverSessionState { .. } => FAILOVER_SESSION_STATE,
            A::Unknown {
                vendor_id,
                attr_type,
                ..
            } => return (*vendor_id, *attr_type),
        };
        (0, t)
    }

    /// Appends the clear value bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use AvpValue as A;
        let p16 = |out: &mut Vec<u8>, x: u16| out.extend_from_slice(&x.to_be_bytes());
        let p32 = |out: &mut Vec<u8>, x: u32| out.extend_from_slice(&x.to_be_bytes());
        match self {
            A::MessageType(t) => p16(out, u16::from(*t)),
            A::ResultCode(r) => {
                p16(out, r.result);
                if let Some(e) = r.error {
                    p16(out, e);
                    out.extend_from_slice(&r.message);
                }
            }
            A::ProtocolVersion { version, revision } => {
                out.extend_from_slice(&[*version, *revision])
            }
            A::FramingCapabilities(x)
            | A::BearerCapabilities(x)
            | A::CallSerialNumber(x)
            | A::MinimumBps(x)
            | A::MaximumBps(x)
            | A::BearerType(x)
            | A::FramingType(x)
            | A::TxConnectSpeed(x)
            | A::PhysicalChannelId(x)
            | A::RxConnectSpeed(x) => p32(out, *x),
            A::TieBreaker(b) => out.extend_from_slice(b),
            A::FirmwareRevision(x)
            | A::AssignedTunnelId(x)
            | A::ReceiveWindowSize(x)
            | A::AssignedSessionId(x)
            | A::ProxyAuthenType(x) => p16(out, *x),
            A::HostName(b)
            | A::VendorName(b)
            | A::Challenge(b)
            | A::CalledNumber(b)
            | A::CallingNumber(b)
            | A::SubAddress(b)
            | A::InitialReceivedLcpConfReq(b)
            | A::LastSentLcpConfReq(b)
            | A::LastReceivedLcpConfReq(b)
            | A::ProxyAuthenName(b)
            | A::ProxyAuthenChallenge(b)
            | A::ProxyAuthenResponse(b)
            | A::RandomVector(b)
            | A::PrivateGroupId(b) => out.extend_from_slice(b),
            A::Q931Cause {
                cause,
                message,
                advisory,
            } => {
                p16(out, *cause);
                out.push(*message);
                out.extend_from_slice(advisory);
            }
            A::ChallengeResponse(b) => out.extend_from_slice(b),
            A::ProxyAuthenId(id) => out.extend_from_slice(&[0x00, *id]),
            A::CallErrors(c) => {
                p16(out, 0);
                for x in [
                    c.crc_errors,
                    c.framing_errors,
                    c.hardware_overruns,
                    c.buffer_overruns,
                    c.timeout_errors,
                    c.alignment_errors,
                ] {
                    p32(out, x);
                }
            }
            A::Accm { send, recv } => {
                p16(out, 0);
                p32(out, *send);
                p32(out, *recv);
            }
            A::SequencingRequired => {}
            A::PppDisconnectCause(c) => {
                p16(out, c.code);
                p16(out, c.protocol);
                out.push(c.direction);
                out.extend_from_slice(&c.message);
            }
            A::FailoverCapability {
                flags,
                recovery_time,
            } => {
                p16(out, *flags);
                p32(out, *recovery_time);
            }
            A::TunnelRecovery {
                recover_tunnel: a,
                recover_remote_tunnel: b,
            }
            | A::SuggestedControlSequence { ns: a, nr: b }
            | A::FailoverSessionState {
                sender_session: a,
                receiver_session: b,
            } => {
                p16(out, 0);
                p16(out, *a);
                p16(out, *b);
            }
            A::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }

    /// The M bit this implementation sets when it sends this AVP (RFC 2661 §4.4).
    pub fn default_criticality(&self) -> super::avp::Criticality {
        use super::avp::Criticality;
        use AvpValue as A;
        match self {
            A::FirmwareRevision(_)
            | A::VendorName(_)
            | A::PhysicalChannelId(_)
            | A::InitialReceivedLcpConfReq(_)
            | A::LastSentLcpConfReq(_)
            | A::LastReceivedLcpConfReq(_)
            | A::ProxyAuthenType(_)
            | A::ProxyAuthenName(_)
            | A::ProxyAuthenChallenge(_)
            | A::ProxyAuthenId(_)
            | A::ProxyAuthenResponse(_)
            | A::PrivateGroupId(_)
            | A::RxConnectSpeed(_)
            | A::PppDisconnectCause(_)
            // RFC 4951 §5.1, §5.3, §5.4: M bit 0. Tunnel Recovery (§5.2) is
            // mandatory so that a peer without failover refuses a recovery SCCRQ.
            | A::FailoverCapability { .. }
            | A::SuggestedControlSequence { .. }
            | A::FailoverSessionState { .. }
            | A::Unknown { .. } => Criticality::Optional,
            _ => Criticality::Mandatory,
        }
    }
}

#[cfg(test)]
mod rfc4951_tests {
    use super::*;
    use crate::l2tp::avp::Criticality;

    // RFC 4951 §5.2: the Tunnel Recovery AVP is sent with the M bit set; the
    // other failover AVPs (§5.1, §5.3, §5.4) with M clear.
    #[test]
    fn failover_avp_m_bits() {
        let recovery = AvpValue::TunnelRecovery {
            recover_tunnel: 0x0102,
            recover_remote_tunnel: 0x0304,
        };
        assert_eq!(recovery.default_criticality(), Criticality::Mandatory);
        let mut v = Vec::new();
        recovery.encode(&mut v);
        assert_eq!(v, [0x00, 0x00, 0x01, 0x02, 0x03, 0x04]);
        for optional in [
            AvpValue::FailoverCapability {
                flags: 0x0001,
                recovery_time: 0x0000_1388,
            },
            AvpValue::SuggestedControlSequence { ns: 1, nr: 2 },
            AvpValue::FailoverSessionState {
                sender_session: 1,
                receiver_session: 2,
            },
        ] {
            assert_eq!(optional.default_criticality(), Criticality::Optional);
        }
    }
}
