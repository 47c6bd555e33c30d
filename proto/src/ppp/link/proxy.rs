//! Proxy LCP and proxy authentication (RFC 2661 §4.4.5, AVPs 26-33 of the
//! ICCN): the LAC already negotiated LCP and maybe ran PAP/CHAP with the
//! subscriber; the LNS may adopt that instead of starting over.
//!
//! Contract: an LCP negotiation is adopted only when every option the LAC
//! sent on our behalf is one we understand and would ask for (including an
//! authentication method of our configured order) and every option the
//! subscriber sent is one we would Ack; the proxied authentication is used
//! only when it matches the adopted method and is complete. Otherwise the
//! link renegotiates from scratch (RFC 2661 §4.4.5 allows both).

use super::{AuthRequest, AuthStatus, LinkCore, LinkEvent, PeerHeard, Phase, Side};
use crate::entropy::Entropy;
use crate::inline_bytes::InlineBytes;
use crate::ppp::fsm::{Negotiation, State, Verdict};
use crate::ppp::lcp::{AuthDemand, AuthMethod, LcpOption, MIN_PEER_MRU};
use crate::ppp::options::parse_list;
use crate::time::Timestamp;

/// The proxy AVPs of an ICCN, raw (the daemon maps L2TP AVPs onto it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyInfo {
    /// AVP 26 Initial Received LCP CONFREQ (options only).
    pub initial_received_confreq: Option<Vec<u8>>,
    /// AVP 27 Last Sent LCP CONFREQ (the LAC's, on our behalf).
    pub last_sent_confreq: Option<Vec<u8>>,
    /// AVP 28 Last Received LCP CONFREQ (the subscriber's).
    pub last_received_confreq: Option<Vec<u8>>,
    /// AVP 29 Proxy Authen Type (2 CHAP, 3 PAP, 4 none, ...).
    pub authen_type: Option<u16>,
    /// AVP 30 Proxy Authen Name.
    pub authen_name: Option<Vec<u8>>,
    /// AVP 31 Proxy Authen Challenge.
    pub authen_challenge: Option<Vec<u8>>,
    /// AVP 32 Proxy Authen ID (the low octet is the identifier).
    pub authen_id: Option<u16>,
    /// AVP 33 Proxy Authen Response (CHAP value or PAP password).
    pub authen_response: Option<Vec<u8>>,
}

/// RFC 2661 §4.4.5 Proxy Authen Type values.
const AUTHEN_CHAP: u16 = 2;
const AUTHEN_PAP: u16 = 3;

impl LinkCore {
    /// Adopts the proxied LCP (and authentication) if acceptable; returns
    /// false to make the caller renegotiate.
    pub(super) fn adopt_proxy(
        &mut self,
        now: Timestamp,
        proxy: &ProxyInfo,
        entropy: &mut dyn Entropy,
    ) -> bool {
        if self.side != Side::Lns {
            return false;
        }
        let (Some(sent), Some(received)) = (&proxy.last_sent_confreq, &proxy.last_received_confreq)
        else {
            return false;
        };
        let (Ok(sent_opts), Ok(received_opts)) = (parse_list(sent), parse_list(received)) else {
            return false;
        };
        let mut neg = self.lcp_neg.clone();
        neg.request_mru = None;
        neg.request_accm = None;
        neg.our_magic = 0;
        neg.demand = AuthDemand::NotAsked;
        for raw in &sent_opts {
            match LcpOption::parse(raw) {
                LcpOption::Mru(v) if v >= MIN_PEER_MRU => neg.request_mru = Some(v),
                LcpOption::Accm(v) => neg.request_accm = Some(v),
                LcpOption::MagicNumber(v) => neg.our_magic = v,
                LcpOption::AuthProtocol(_, _) => match AuthMethod::from_option_data(&raw.data) {
                    Some(m) if neg.auth_order.contains(&m) => neg.demand = AuthDemand::Asking(m),
                    _ => return false,
                },
                LcpOption::Pfc | LcpOption::Acfc => {}
                _ => return false,
            }
        }
        if !neg.auth_order.is_empty() && neg.demand == AuthDemand::NotAsked {
            return false; // we require authentication the LAC did not ask for
        }
        if neg
            .review(&received_opts, entropy)
            .iter()
            .any(|v| *v != Verdict::Ack)
        {
            return false;
        }
        neg.peer_acked(&received_opts);
        neg.loop_suspicions = 0;
        self.lcp_neg = neg;
        // RFC 2661 §4.4.5: LCP is in the Opened state as negotiated by the LAC.
        self.lcp.state = State::Opened;
        self.lcp.request = InlineBytes::from(&sent[..]);
        self.lcp.deadline = None;
        self.ipv6cp_neg.draw_if_unset(entropy);
        self.peer_heard = PeerHeard::Heard;
        self.phase = Phase::Authenticate;
        self.report_lcp_up(now);
        match proxied_auth(proxy, self.lcp_neg.demand) {
            Some((method, identifier, challenge, request)) => {
                self.auth.method = Some(method);
                self.auth.status = AuthStatus::Pending;
                self.auth.identifier = identifier;
                self.auth.challenge = challenge.into();
                self.auth.next_id = identifier.wrapping_add(1);
                self.auth.peer_name = match &request {
                    AuthRequest::Pap { name, .. } | AuthRequest::Chap { name, .. } => {
                        name.as_slice().into()
                    }
                };
                self.out.push_event(LinkEvent::AuthRequest(request));
            }
            None => self.start_auth(now, entropy),
        }
        true
    }
}

/// The proxied exchange as an [`AuthRequest`], when complete and matching
/// the adopted method.
fn proxied_auth(
    proxy: &ProxyInfo,
    demand: AuthDemand,
) -> Option<(AuthMethod, u8, Vec<u8>, AuthRequest)> {
    let name = proxy.authen_name.clone()?;
    let response = proxy.authen_response.clone()?;
    let identifier = proxy.authen_id.map_or(0, |id| (id & 0x00ff) as u8);
    match (proxy.authen_type?, demand) {
        (AUTHEN_PAP, AuthDemand::Asking(AuthMethod::Pap)) => Some((
            AuthMethod::Pap,
            identifier,
            Vec::new(),
            AuthRequest::Pap {
                name,
                password: response,
            },
        )),
        (AUTHEN_CHAP, AuthDemand::Asking(AuthMethod::ChapMd5)) => {
            let challenge = proxy.authen_challenge.clone()?;
            proxy.authen_id?;
            Some((
                AuthMethod::ChapMd5,
                identifier,
                challenge.clone(),
                AuthRequest::Chap {
                    name,
                    identifier,
                    challenge,
                    response,
                },
            ))
        }
        _ => None,
    }
}
