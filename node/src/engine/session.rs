//! One session's replicated record: its PPP link, user, address, AAA
//! attributes, timers and accounting identity, plus the conversions between
//! the L2TP and PPP cores' types.
//!
//! Contract: plain data owned by the engine; no behaviour beyond small
//! derived values.

use super::accounting::Traffic;
use super::stored_grant::{CompactDuration, StoredGrant};
use super::types::SessionKey;
use lns_proto::inline_bytes::InlineBytes;
use lns_proto::l2tp::avp_types::DisconnectCause as L2tpCause;
use lns_proto::l2tp::{CallInfo, CdnResult, ErrorCode};
use lns_proto::ppp::{DisconnectCause, DisconnectCode, Link, ProxyInfo};
use lns_proto::time::Timestamp;
use std::net::Ipv4Addr;

/// Where authentication stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthPhase {
    /// No request from the subscriber yet.
    Waiting,
    /// Asked AAA with this request number.
    Pending(u64),
    /// Accepted.
    Accepted,
    /// Refused.
    Rejected,
}

/// Whether the session is ending, and the CDN codes to use when it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Running.
    No,
    /// Ending; the CDN carries these codes.
    With(CdnResult, ErrorCode),
}

/// The Calling and Called Number AVPs of a call (RFC 2661 §4.4.5), for
/// RADIUS Calling-/Called-Station-Id, accounting and the management API.
/// Both numbers in one `InlineBytes` (calling then called), inline while
/// they fit in 22 bytes together: 32 bytes in every session and no heap
/// block for the usual numbers (48 with one `InlineBytes` each).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Stations {
    numbers: InlineBytes,
    /// Where the called number starts in `numbers`.
    split: u16,
    /// `CALLING` and `CALLED`: which numbers the call had.
    present: u8,
}

const CALLING: u8 = 0x01;
const CALLED: u8 = 0x02;

impl Stations {
    /// The two numbers of `call`.
    pub fn of(call: &CallInfo) -> Stations {
        Stations::new(
            call.calling_number.as_deref(),
            call.called_number.as_deref(),
        )
    }

    /// From the Calling and Called Numbers. A calling number longer than
    /// an AVP can carry (RFC 2661 §4.1: 1 017 bytes) is cut at 65 535.
    pub fn new(calling: Option<&[u8]>, called: Option<&[u8]>) -> Stations {
        let first = calling.unwrap_or_default();
        let first = &first[..first.len().min(usize::from(u16::MAX))];
        let mut numbers = Vec::with_capacity(first.len() + called.map_or(0, <[u8]>::len));
        numbers.extend_from_slice(first);
        numbers.extend_from_slice(called.unwrap_or_default());
        let present = calling.map_or(0, |_| CALLING) | called.map_or(0, |_| CALLED);
        Stations {
            numbers: numbers.as_slice().into(),
            split: u16::try_from(first.len()).unwrap_or(u16::MAX),
            present,
        }
    }

    /// Calling Number (the subscriber's line).
    pub fn calling(&self) -> Option<&[u8]> {
        (self.present & CALLING != 0).then(|| &self.numbers[..usize::from(self.split)])
    }

    /// Called Number.
    pub fn called(&self) -> Option<&[u8]> {
        (self.present & CALLED != 0).then(|| &self.numbers[usize::from(self.split)..])
    }

    /// Calling Number as an owned value (RADIUS and accounting records).
    pub fn calling_vec(&self) -> Option<Vec<u8>> {
        self.calling().map(<[u8]>::to_vec)
    }

    /// Called Number as an owned value.
    pub fn called_vec(&self) -> Option<Vec<u8>> {
        self.called().map(<[u8]>::to_vec)
    }
}

impl std::fmt::Debug for Stations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stations")
            .field("calling", &self.calling())
            .field("called", &self.called())
            .finish()
    }
}

/// Acct-Session-Id (RFC 2866 §5.5) of a session: 8 bytes drawn from
/// entropy, written as 16 lowercase hex digits everywhere it leaves the
/// engine (accounting, snapshots, logs). Kept as the bytes: 8 bytes inline
/// instead of a `String` (24 inline and a heap block) in every session.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcctSessionId([u8; 8]);

impl AcctSessionId {
    /// From the 8 drawn bytes.
    pub const fn from_bytes(b: [u8; 8]) -> AcctSessionId {
        AcctSessionId(b)
    }

    /// From its text form (16 hex digits, as [`Display`](std::fmt::Display)
    /// writes it); `None` for anything else.
    pub fn parse(text: &str) -> Option<AcctSessionId> {
        let t = text.as_bytes();
        if t.len() != 16 || !t.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u64::from_str_radix(text, 16)
            .ok()
            .map(|v| AcctSessionId(v.to_be_bytes()))
    }
}

impl std::fmt::Display for AcctSessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", u64::from_be_bytes(self.0))
    }
}

impl std::fmt::Debug for AcctSessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl PartialEq<str> for AcctSessionId {
    /// Compares with the text form (a DAE request's Acct-Session-Id).
    fn eq(&self, other: &str) -> bool {
        // Display writes lowercase digits: an uppercase form is another id.
        !other.bytes().any(|b| b.is_ascii_uppercase()) && AcctSessionId::parse(other) == Some(*self)
    }
}

/// One session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Its key.
    pub key: SessionKey,
    /// The peer's session id (goes in the data headers we send). The rest
    /// of the route is the tunnel's ([`super::route_of`]): 2 bytes here
    /// instead of a 68-byte copy of the tunnel's addresses per session.
    pub peer_session_id: u16,
    /// Calling/Called Number from the ICRQ: all the engine keeps of the
    /// call (the L2TP core's session holds the whole `CallInfo`).
    pub stations: Stations,
    /// The PPP link.
    pub link: Link,
    /// Authentication state.
    pub auth: AuthPhase,
    /// User name (once the subscriber gave one), inline up to 22 bytes.
    pub user: InlineBytes,
    /// What AAA granted (kept compact: [`StoredGrant::grant`] gives it back).
    pub grant: Option<StoredGrant>,
    /// The subscriber's IPv4 address once assigned.
    pub ipv4: Option<Ipv4Addr>,
    /// Acct-Session-Id (drawn from entropy at creation).
    pub acct_session_id: AcctSessionId,
    /// When the L2TP session came up.
    pub started: Timestamp,
    /// When authentication was accepted (orders logins of one user).
    pub authenticated_at: Option<Timestamp>,
    /// Last traffic from the subscriber (idle timeout).
    pub last_traffic: Timestamp,
    /// Session-Timeout deadline.
    pub session_deadline: Option<Timestamp>,
    /// Idle-Timeout.
    pub idle_timeout: CompactDuration,
    /// The peer's MRU once LCP is up.
    pub mru: u16,
    /// Ending or not.
    pub ending: Ending,
    /// Published to the data plane.
    pub published: bool,
    /// Traffic counters as last replicated.
    pub counters: Traffic,
    /// The instant of this session's entry in the engine's timer index
    /// (derived state: rebuilt on restore, not in snapshots).
    pub indexed_at: Option<Timestamp>,
}

impl Session {
    /// The idle deadline, if an idle timeout applies and IPCP is up.
    pub fn idle_deadline(&self) -> Option<Timestamp> {
        match (self.idle_timeout.get(), self.ipv4) {
            (Some(t), Some(_)) if self.ending == Ending::No => Some(self.last_traffic + t),
            _ => None,
        }
    }

    /// The earliest instant this session has work.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let own = if self.ending == Ending::No {
            [self.session_deadline, self.idle_deadline()]
                .into_iter()
                .flatten()
                .min()
        } else {
            None
        };
        [own, self.link.poll_timeout()].into_iter().flatten().min()
    }

    /// The user name as text (lossy), for logs and accounting.
    pub fn user_text(&self) -> String {
        String::from_utf8_lossy(&self.user).into_owned()
    }
}

/// The RFC 3145 cause as the L2TP core's AVP value.
pub fn l2tp_cause(c: &DisconnectCause) -> L2tpCause {
    L2tpCause {
        code: u16::from(c.code),
        protocol: c.protocol,
        direction: u8::from(c.direction),
        message: c.message.as_bytes().to_vec(),
    }
}

/// The CDN Result/Error codes for a link that went down with `cause`
/// (RFC 2661 §4.4.2): loss of keepalive is "lost carrier", an
/// administrative end is "administrative", the rest "general error" with
/// the RFC 3145 cause carrying the detail.
pub fn cdn_codes(cause: &DisconnectCause) -> (CdnResult, ErrorCode) {
    match cause.code {
        DisconnectCode::EchoTimeout | DisconnectCode::NoPppPackets => {
            (CdnResult::LostCarrier, ErrorCode::NoError)
        }
        DisconnectCode::Administrative => (CdnResult::Administrative, ErrorCode::NoError),
        _ => (CdnResult::GeneralError, ErrorCode::NoError),
    }
}

/// The ICCN proxy AVPs as the PPP core takes them.
pub fn ppp_proxy(call: &CallInfo) -> Option<ProxyInfo> {
    let p = call.proxy.as_deref()?;
    if p.last_sent_lcp_confreq.is_none() && p.authen_type.is_none() {
        return None;
    }
    Some(ProxyInfo {
        initial_received_confreq: p.initial_received_lcp_confreq.as_deref().map(lcp_options),
        last_sent_confreq: p.last_sent_lcp_confreq.as_deref().map(lcp_options),
        last_received_confreq: p.last_received_lcp_confreq.as_deref().map(lcp_options),
        authen_type: p.authen_type.map(u16::from),
        authen_name: p.authen_name.clone(),
        authen_challenge: p.authen_challenge.clone(),
        authen_id: p.authen_id.map(u16::from),
        authen_response: p.authen_response.clone(),
    })
}

/// The options of a proxied LCP Configure-Request. RFC 2661 §4.4.5 says
/// the AVP starts at the first option; some LACs send the whole LCP packet
/// (Code 1, Identifier, Length): that header is removed when its Length
/// matches the value exactly.
pub fn lcp_options(avp: &[u8]) -> Vec<u8> {
    match avp {
        [0x01, _, hi, lo, options @ ..]
            if usize::from(u16::from_be_bytes([*hi, *lo])) == avp.len() =>
        {
            options.to_vec()
        }
        _ => avp.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_lcp_avp_with_a_packet_header_is_reduced_to_its_options() {
        // Code 1, Id 1, Length 9, then Auth-Protocol CHAP MD5 (RFC 1994 §3).
        let whole = [0x01, 0x01, 0x00, 0x09, 0x03, 0x05, 0xc2, 0x23, 0x05];
        assert_eq!(lcp_options(&whole), vec![0x03, 0x05, 0xc2, 0x23, 0x05]);
        // Already options only (an MRU option 1500 first): unchanged.
        let options = [0x01, 0x04, 0x05, 0xdc, 0x05, 0x06, 1, 2, 3, 4];
        assert_eq!(lcp_options(&options), options.to_vec());
    }

    #[test]
    fn causes_map_to_cdn_codes() {
        let c = |code| DisconnectCause::new(code, lns_proto::ppp::Direction::Local);
        assert_eq!(
            cdn_codes(&c(DisconnectCode::EchoTimeout)).0,
            CdnResult::LostCarrier
        );
        assert_eq!(
            cdn_codes(&c(DisconnectCode::Administrative)).0,
            CdnResult::Administrative
        );
        assert_eq!(
            cdn_codes(&c(DisconnectCode::AuthFailed)).0,
            CdnResult::GeneralError
        );
        let l = l2tp_cause(
            &c(DisconnectCode::AuthFailed)
                .with_protocol(0xc023)
                .with_message("no"),
        );
        assert_eq!(
            (l.code, l.protocol, l.direction, l.message),
            (16, 0xc023, 2, b"no".to_vec())
        );
    }

    #[test]
    fn acct_session_id_reads_and_writes_the_16_hex_digits_lnsd_always_wrote() {
        // The text every snapshot and accounting record carried as a String.
        let bytes = [0x00, 0x11, 0x22, 0x33, 0xa4, 0xb5, 0xc6, 0xd7];
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let id = AcctSessionId::from_bytes(bytes);
        assert_eq!(id.to_string(), text);
        assert_eq!(AcctSessionId::parse(&text), Some(id));
        assert!(id == *text.as_str());
        assert!(id != *text.to_uppercase().as_str());
        assert_eq!(AcctSessionId::parse("0011"), None);
        assert_eq!(AcctSessionId::parse("00112233a4b5c6dz"), None);
        assert_eq!(AcctSessionId::parse("+0112233a4b5c6d7"), None);
    }

    #[test]
    fn stations_keep_both_numbers_and_which_were_given() {
        // RFC 2661 §4.4.5: either AVP may be absent, or present and empty.
        let s = Stations::new(Some(b"0123456789"), Some(b"lns"));
        assert_eq!(
            (s.calling(), s.called()),
            (Some(&b"0123456789"[..]), Some(&b"lns"[..]))
        );
        assert!(!s.numbers.is_boxed(), "usual numbers stay inline");
        let s = Stations::new(None, Some(b""));
        assert_eq!((s.calling(), s.called()), (None, Some(&b""[..])));
        let s = Stations::new(Some(b""), None);
        assert_eq!((s.calling(), s.called()), (Some(&b""[..]), None));
        let long = [b'7'; 40];
        let s = Stations::new(Some(&long), Some(b"called"));
        assert_eq!(
            (s.calling(), s.called()),
            (Some(&long[..]), Some(&b"called"[..]))
        );
        assert_eq!(Stations::new(None, None), Stations::default());
        assert_eq!(std::mem::size_of::<Stations>(), 32);
    }
}
