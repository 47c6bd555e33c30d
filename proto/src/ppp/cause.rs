//! PPP disconnect causes for the L2TP CDN (RFC 3145 §3.1, the PPP
//! Disconnect Cause Code AVP, attribute 46).
//!
//! Contract: [`DisconnectCause`] is what the link reports when it goes down;
//! [`DisconnectCause::emit_avp_value`] gives the AVP value the daemon puts in
//! the CDN, and [`DisconnectCause::parse_avp_value`] reads one back.

/// RFC 3145 §3.1 Disconnect Code values, as an open enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DisconnectCode {
    /// 0: no information available.
    NoInformation,
    /// 1: administrative disconnect.
    Administrative,
    /// 2: LCP renegotiation at the LNS disabled.
    RenegotiationDisabled,
    /// 3: normal disconnection, LCP Terminate-Request sent.
    Normal,
    /// 4: compulsory encryption refused.
    EncryptionRefused,
    /// 5: FSM timeout (TO-).
    FsmTimeout,
    /// 6: no recognizable PPP packets received.
    NoPppPackets,
    /// 7: Magic-Number error; link possibly looped back.
    LoopedBack,
    /// 8: LCP Echo-Request timeout.
    EchoTimeout,
    /// 13: authentication timed out.
    AuthTimeout,
    /// 15: no acceptable authentication protocol.
    AuthProtocolRefused,
    /// 16: authentication failed.
    AuthFailed,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for DisconnectCode {
    fn from(n: u16) -> Self {
        match n {
            0 => DisconnectCode::NoInformation,
            1 => DisconnectCode::Administrative,
            2 => DisconnectCode::RenegotiationDisabled,
            3 => DisconnectCode::Normal,
            4 => DisconnectCode::EncryptionRefused,
            5 => DisconnectCode::FsmTimeout,
            6 => DisconnectCode::NoPppPackets,
            7 => DisconnectCode::LoopedBack,
            8 => DisconnectCode::EchoTimeout,
            13 => DisconnectCode::AuthTimeout,
            15 => DisconnectCode::AuthProtocolRefused,
            16 => DisconnectCode::AuthFailed,
            other => DisconnectCode::Unknown(other),
        }
    }
}

impl From<DisconnectCode> for u16 {
    fn from(c: DisconnectCode) -> u16 {
        match c {
            DisconnectCode::NoInformation => 0,
            DisconnectCode::Administrative => 1,
            DisconnectCode::RenegotiationDisabled => 2,
            DisconnectCode::Normal => 3,
            DisconnectCode::EncryptionRefused => 4,
            DisconnectCode::FsmTimeout => 5,
            DisconnectCode::NoPppPackets => 6,
            DisconnectCode::LoopedBack => 7,
            DisconnectCode::EchoTimeout => 8,
            DisconnectCode::AuthTimeout => 13,
            DisconnectCode::AuthProtocolRefused => 15,
            DisconnectCode::AuthFailed => 16,
            DisconnectCode::Unknown(n) => n,
        }
    }
}

/// RFC 3145 §3.1 Direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// 0: global, not tied to a side.
    Global,
    /// 1: at the peer (the subscriber).
    Peer,
    /// 2: local (this end).
    Local,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Direction {
    fn from(n: u8) -> Self {
        match n {
            0 => Direction::Global,
            1 => Direction::Peer,
            2 => Direction::Local,
            other => Direction::Unknown(other),
        }
    }
}

impl From<Direction> for u8 {
    fn from(d: Direction) -> u8 {
        match d {
            Direction::Global => 0,
            Direction::Peer => 1,
            Direction::Local => 2,
            Direction::Unknown(n) => n,
        }
    }
}

/// Why a link went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisconnectCause {
    /// Disconnect Code.
    pub code: DisconnectCode,
    /// Control Protocol Number the code relates to (0 for global codes).
    pub protocol: u16,
    /// Who initiated.
    pub direction: Direction,
    /// Human-readable message.
    pub message: String,
}

/// The AVP value is shorter than its 5 fixed octets: the sender's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("peer sent a PPP Disconnect Cause Code shorter than 5 octets")]
pub struct CauseTooShort;

impl DisconnectCause {
    /// A cause with no protocol and no message.
    pub fn new(code: DisconnectCode, direction: Direction) -> Self {
        DisconnectCause {
            code,
            protocol: 0,
            direction,
            message: String::new(),
        }
    }

    /// Sets the message.
    pub fn with_message(mut self, message: &str) -> Self {
        self.message = message.to_owned();
        self
    }

    /// Sets the control protocol number.
    pub fn with_protocol(mut self, protocol: u16) -> Self {
        self.protocol = protocol;
        self
    }

    /// RFC 3145 §3.1: Disconnect Code (2), Control Protocol Number (2),
    /// Direction (1), Message.
    pub fn emit_avp_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&u16::from(self.code).to_be_bytes());
        out.extend_from_slice(&self.protocol.to_be_bytes());
        out.push(u8::from(self.direction));
        out.extend_from_slice(self.message.as_bytes());
    }

    /// Parses an AVP value (a non-UTF-8 message is replaced lossily).
    pub fn parse_avp_value(v: &[u8]) -> Result<DisconnectCause, CauseTooShort> {
        if v.len() < 5 {
            return Err(CauseTooShort);
        }
        Ok(DisconnectCause {
            code: DisconnectCode::from(u16::from_be_bytes([v[0], v[1]])),
            protocol: u16::from_be_bytes([v[2], v[3]]),
            direction: Direction::from(v[4]),
            message: String::from_utf8_lossy(&v[5..]).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn echo_timeout_bytes() {
        // RFC 3145 §3.1: code 8, global, local direction.
        let c =
            DisconnectCause::new(DisconnectCode::EchoTimeout, Direction::Local).with_message("x");
        let mut v = Vec::new();
        c.emit_avp_value(&mut v);
        assert_eq!(v, [0x00, 0x08, 0x00, 0x00, 0x02, b'x']);
        assert_eq!(DisconnectCause::parse_avp_value(&v), Ok(c));
        assert_eq!(
            DisconnectCause::parse_avp_value(&[0, 1]),
            Err(CauseTooShort)
        );
    }

    proptest! {
        #[test]
        fn round_trip(code in any::<u16>(), protocol in any::<u16>(), dir in any::<u8>(), message in "[a-z ]{0,20}") {
            let c = DisconnectCause { code: DisconnectCode::from(code), protocol, direction: Direction::from(dir), message };
            let mut v = Vec::new();
            c.emit_avp_value(&mut v);
            prop_assert_eq!(DisconnectCause::parse_avp_value(&v).expect("own output"), c);
        }
    }
}
