//! RFC 2661 §6 control messages: [`MessageType`], the owned [`Message`]
//! (Message Type + AVPs) and the per-type mandatory AVP check.
//!
//! Contract: [`Message::parse`] needs the Message Type AVP first (§4.4.1)
//! and otherwise accepts any AVP list; semantic checks are separate
//! ([`Message::missing_mandatory`], [`Message::unknown_mandatory`]) so the
//! tunnel can answer the RFC way (StopCCN or CDN). [`parse_control`] adds
//! the header; a ZLB has no message.

use super::avp::{emit_avps, parse_avps, Avp, AvpError, Criticality, EmitError, Visibility};
use super::avp_types::{attr, AvpValue, ResultCodeValue};
use super::header::{Header, HeaderError, HeaderView, Kind};
use super::result_code::open_enum;
use thiserror::Error;

open_enum! {
    /// Control message types (RFC 2661 §3.2).
    MessageType {
        /// Start-Control-Connection-Request.
        Sccrq = 0x0001,
        /// Start-Control-Connection-Reply.
        Sccrp = 0x0002,
        /// Start-Control-Connection-Connected.
        Scccn = 0x0003,
        /// Stop-Control-Connection-Notification.
        StopCcn = 0x0004,
        /// Hello (keepalive).
        Hello = 0x0006,
        /// Outgoing-Call-Request (refused: LAC-initiated calls only).
        Ocrq = 0x0007,
        /// Outgoing-Call-Reply.
        Ocrp = 0x0008,
        /// Outgoing-Call-Connected.
        Occn = 0x0009,
        /// Incoming-Call-Request.
        Icrq = 0x000a,
        /// Incoming-Call-Reply.
        Icrp = 0x000b,
        /// Incoming-Call-Connected.
        Iccn = 0x000c,
        /// Call-Disconnect-Notify.
        Cdn = 0x000e,
        /// WAN-Error-Notify.
        Wen = 0x000f,
        /// Set-Link-Info.
        Sli = 0x0010,
    }
}

/// Whether a message concerns the control connection or one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// SCCRQ, SCCRP, SCCCN, StopCCN, HELLO (and unknown types).
    Tunnel,
    /// OCRQ..SLI.
    Session,
}

impl MessageType {
    /// Tunnel- or session-scoped (RFC 2661 §3.2).
    pub fn scope(self) -> Scope {
        match self {
            MessageType::Ocrq
            | MessageType::Ocrp
            | MessageType::Occn
            | MessageType::Icrq
            | MessageType::Icrp
            | MessageType::Iccn
            | MessageType::Cdn
            | MessageType::Wen
            | MessageType::Sli => Scope::Session,
            _ => Scope::Tunnel,
        }
    }

    /// The AVPs every message of this type must carry besides Message Type (§6).
    pub fn mandatory_avps(self) -> &'static [u16] {
        use attr::*;
        match self {
            MessageType::Sccrq | MessageType::Sccrp => &[
                PROTOCOL_VERSION,
                HOST_NAME,
                FRAMING_CAPABILITIES,
                ASSIGNED_TUNNEL_ID,
            ],
            MessageType::StopCcn => &[ASSIGNED_TUNNEL_ID, RESULT_CODE],
            MessageType::Icrq => &[ASSIGNED_SESSION_ID, CALL_SERIAL_NUMBER],
            MessageType::Icrp | MessageType::Ocrp => &[ASSIGNED_SESSION_ID],
            MessageType::Iccn | MessageType::Occn => &[TX_CONNECT_SPEED, FRAMING_TYPE],
            MessageType::Cdn => &[RESULT_CODE, ASSIGNED_SESSION_ID],
            MessageType::Wen => &[CALL_ERRORS],
            MessageType::Sli => &[ACCM],
            MessageType::Ocrq => &[
                ASSIGNED_SESSION_ID,
                CALL_SERIAL_NUMBER,
                MINIMUM_BPS,
                MAXIMUM_BPS,
                BEARER_TYPE,
                FRAMING_TYPE,
                CALLED_NUMBER,
            ],
            _ => &[],
        }
    }
}

/// A control message that cannot be parsed. All are the sender's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MessageError {
    /// The header is unusable (drop the datagram).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A data message where a control message was expected.
    #[error("data message on the control path")]
    NotControl,
    /// The AVP list is malformed (Result 2 with [`AvpError::error_code`]).
    #[error(transparent)]
    Avp(#[from] AvpError),
    /// The first AVP is not a Message Type AVP (§4.4.1).
    #[error("first AVP is not Message Type")]
    NoMessageType,
}

/// An owned control message: the type and the AVPs after the Message Type AVP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Value of the first AVP.
    pub message_type: MessageType,
    /// M bit of the Message Type AVP (an unknown type with M set ends the tunnel).
    pub type_criticality: Criticality,
    /// Every other AVP in order.
    pub avps: Vec<Avp>,
}

impl Message {
    /// A message of `message_type` with the Message Type AVP marked mandatory.
    pub fn new(message_type: MessageType) -> Self {
        Message {
            message_type,
            type_criticality: Criticality::Mandatory,
            avps: Vec::new(),
        }
    }

    /// Appends a clear AVP (builder style).
    pub fn with(mut self, value: AvpValue) -> Self {
        self.avps.push(Avp::new(value));
        self
    }

    /// Parses a message body, unhiding with `secret` (§4.3).
    pub fn parse(body: &[u8], secret: Option<&[u8]>) -> Result<Message, MessageError> {
        let mut avps = parse_avps(body, secret)?;
        if avps.is_empty() {
            return Err(MessageError::NoMessageType);
        }
        let first = avps.remove(0);
        match (first.value, first.visibility) {
            (AvpValue::MessageType(t), Visibility::Clear) => Ok(Message {
                message_type: t,
                type_criticality: first.criticality,
                avps,
            }),
            _ => Err(MessageError::NoMessageType),
        }
    }

    /// Appends the body (all AVPs) to `out`.
    pub fn emit(&self, secret: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), EmitError> {
        let type_avp = Avp {
            criticality: self.type_criticality,
            visibility: Visibility::Clear,
            value: AvpValue::MessageType(self.message_type),
        };
        emit_avps(core::slice::from_ref(&type_avp), None, out)?;
        emit_avps(&self.avps, secret, out)
    }

    /// The first mandatory AVP for this type that is absent (§6).
    pub fn missing_mandatory(&self) -> Option<u16> {
        self.message_type
            .mandatory_avps()
            .iter()
            .copied()
            .find(|t| !self.avps.iter().any(|a| a.value.kind() == (0, *t)))
    }

    /// The first AVP we do not know that has the M bit set (§4.1).
    pub fn unknown_mandatory(&self) -> Option<(u16, u16)> {
        self.avps
            .iter()
            .find(|a| a.is_unknown_mandatory())
            .map(|a| a.value.kind())
    }

    /// The first value `f` selects.
    pub fn find<T>(&self, f: impl Fn(&AvpValue) -> Option<T>) -> Option<T> {
        self.avps.iter().find_map(|a| f(&a.value))
    }

    /// Assigned Tunnel ID AVP.
    pub fn assigned_tunnel_id(&self) -> Option<u16> {
        self.find(|v| match v {
            AvpValue::AssignedTunnelId(x) => Some(*x),
            _ => None,
        })
    }
    /// Assigned Session ID AVP.
    pub fn assigned_session_id(&self) -> Option<u16> {
        self.find(|v| match v {
            AvpValue::AssignedSessionId(x) => Some(*x),
            _ => None,
        })
    }
    /// Host Name AVP.
    pub fn host_name(&self) -> Option<&[u8]> {
        self.avps.iter().find_map(|a| match &a.value {
            AvpValue::HostName(x) => Some(x.as_slice()),
            _ => None,
        })
    }
    /// Vendor Name AVP (RFC 2661 §4.4.3).
    pub fn vendor_name(&self) -> Option<&[u8]> {
        self.avps.iter().find_map(|a| match &a.value {
            AvpValue::VendorName(x) => Some(x.as_slice()),
            _ => None,
        })
    }
    /// Challenge AVP.
    pub fn challenge(&self) -> Option<&[u8]> {
        self.avps.iter().find_map(|a| match &a.value {
            AvpValue::Challenge(x) => Some(x.as_slice()),
            _ => None,
        })
    }
    /// Challenge Response AVP.
    pub fn challenge_response(&self) -> Option<[u8; 16]> {
        self.find(|v| match v {
            AvpValue::ChallengeResponse(x) => Some(*x),
            _ => None,
        })
    }
    /// Receive Window Size AVP.
    pub fn receive_window_size(&self) -> Option<u16> {
        self.find(|v| match v {
            AvpValue::ReceiveWindowSize(x) => Some(*x),
            _ => None,
        })
    }
    /// Result Code AVP.
    pub fn result_code(&self) -> Option<&ResultCodeValue> {
        self.avps.iter().find_map(|a| match &a.value {
            AvpValue::ResultCode(x) => Some(x),
            _ => None,
        })
    }
    /// Protocol Version AVP.
    pub fn protocol_version(&self) -> Option<(u8, u8)> {
        self.find(|v| match v {
            AvpValue::ProtocolVersion { version, revision } => Some((*version, *revision)),
            _ => None,
        })
    }
}

/// Parses a control datagram: the header and, unless it is a ZLB, the message.
pub fn parse_control(
    datagram: &[u8],
    secret: Option<&[u8]>,
) -> Result<(Header, Option<Message>), MessageError> {
    let view = HeaderView::new_checked(datagram)?;
    if view.kind() != Kind::Control {
        return Err(MessageError::NotControl);
    }
    let header = view.to_header();
    if view.is_zlb() {
        return Ok((header, None));
    }
    Ok((header, Some(Message::parse(view.payload(), secret)?)))
}

/// Emits a whole control datagram.
pub fn emit_control(
    header: &Header,
    message: Option<&Message>,
    secret: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<(), EmitError> {
    let mut body = Vec::new();
    if let Some(m) = message {
        m.emit(secret, &mut body)?;
    }
    header.emit(&body, out);
    Ok(())
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
