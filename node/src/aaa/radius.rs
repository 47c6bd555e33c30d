//! The RADIUS side of the AAA task: builds Access-Requests from engine
//! queries (PAP with User-Password hiding, CHAP with CHAP-Password and
//! CHAP-Challenge, NAS-IP-Address / NAS-Identifier, NAS-Port,
//! NAS-Port-Type Virtual, Calling-/Called-Station-Id, Service-Type Framed,
//! Framed-Protocol PPP; Message-Authenticator added by the client) and
//! turns replies into grants (Framed-IP-Address, Framed-Pool,
//! Session-Timeout, Idle-Timeout, Class, MS DNS servers).
//!
//! Contract: owns one UDP socket and one `lns_proto::radius::Client`;
//! every submitted query ends in exactly one answer (Accept, Reject, or
//! Unavailable when every server timed out).

use super::AuthAnswer;
use crate::engine::{AddressGrant, AuthOutcome, AuthQuery, Grant, SessionKey};
use crate::system::{now, OsEntropy};
use lns_proto::ppp::AuthRequest;
use lns_proto::radius::{
    access_request, AccessParams, AddressAssignment, Authorization, Client, ClientConfig, Code,
    Credentials, Event, Handle, Nas, Password, Port,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// RADIUS configuration.
#[derive(Clone, Debug)]
pub struct RadiusSettings {
    /// Servers, timeouts, tries, dead time.
    pub client: ClientConfig,
    /// How we name ourselves.
    pub nas: Nas,
    /// Local address to send from.
    pub bind: Option<SocketAddr>,
}

/// The socket, the client machine and the queries in flight.
#[derive(Debug)]
pub struct RadiusTask {
    socket: UdpSocket,
    client: Client,
    nas: Nas,
    entropy: OsEntropy,
    in_flight: BTreeMap<Handle, (SessionKey, u64)>,
    /// Answers decided without a server (unencodable requests).
    failed: Vec<AuthAnswer>,
    /// Replies dropped for failing verification, as last reported in a log.
    unverified_reported: u64,
}

impl RadiusTask {
    /// Binds the socket.
    pub async fn start(s: RadiusSettings) -> std::io::Result<RadiusTask> {
        let v6 = s
            .client
            .auth_servers
            .first()
            .is_some_and(|srv| srv.addr.is_ipv6());
        let bind = s.bind.unwrap_or_else(|| {
            if v6 {
                "[::]:0".parse().expect("literal")
            } else {
                "0.0.0.0:0".parse().expect("literal")
            }
        });
        Ok(RadiusTask {
            socket: UdpSocket::bind(bind).await?,
            client: Client::new(s.client),
            nas: s.nas,
            entropy: OsEntropy::open()?,
            in_flight: BTreeMap::new(),
            failed: Vec::new(),
            unverified_reported: 0,
        })
    }

    /// New servers (SIGHUP); requests in flight carry on (see `Client::set_config`).
    pub fn reconfigure(&mut self, s: RadiusSettings) {
        self.nas = s.nas;
        self.client.set_config(now(), s.client, &mut self.entropy);
    }

    /// Sends an Access-Request for `q`.
    pub fn submit(&mut self, q: AuthQuery) {
        let credentials = match &q.proof {
            AuthRequest::Pap { password, .. } => Credentials::Pap(Password::new(password.clone())),
            AuthRequest::Chap {
                identifier,
                challenge,
                response,
                ..
            } => match <[u8; 16]>::try_from(response.as_slice()) {
                Ok(response) => Credentials::Chap {
                    ident: *identifier,
                    challenge: challenge.clone(),
                    response,
                },
                // RFC 1994 MD5 responses are 16 octets; anything else fails.
                Err(_) => return self.fail(q.session, q.request, AuthOutcome::Reject),
            },
        };
        let text =
            |v: &Option<Vec<u8>>| v.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        let params = AccessParams {
            user_name: String::from_utf8_lossy(q.user()).into_owned(),
            credentials,
            nas: self.nas.clone(),
            port: Port {
                nas_port: q.nas_port,
                nas_port_id: Some(format!(
                    "tunnel-{}/session-{}",
                    q.session.tunnel, q.session.session
                )),
                calling_station_id: text(&q.calling_station),
                called_station_id: text(&q.called_station),
            },
            state: None,
        };
        match self
            .client
            .send_access(now(), access_request(&params), &mut self.entropy)
        {
            Ok(h) => {
                self.in_flight.insert(h, (q.session, q.request));
            }
            Err(e) => {
                tracing::warn!(session = ?q.session, "Access-Request not encodable: {e}");
                self.fail(q.session, q.request, AuthOutcome::Reject);
            }
        }
    }

    /// Sends what is due, waits for a reply or a timer, and returns the
    /// answers that are ready (possibly none).
    pub async fn next_answer(&mut self) -> Vec<AuthAnswer> {
        self.flush().await;
        let mut ready = self.drain_events();
        if !ready.is_empty() {
            return ready;
        }
        let mut buf = [0u8; 4096];
        let deadline = self.client.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => {
                    let wait = d.saturating_since(now());
                    tokio::time::sleep(wait).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = self.socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    self.client.handle_datagram(now(), from, &buf[..n]);
                }
            }
            () = sleep => self.client.handle_timeout(now(), &mut self.entropy),
        }
        self.flush().await;
        ready.extend(self.drain_events());
        ready
    }

    /// Per-server statistics, for status views.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn fail(&mut self, session: SessionKey, request: u64, outcome: AuthOutcome) {
        self.failed.push(AuthAnswer {
            session,
            request,
            outcome,
        });
    }

    async fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.server).await {
                tracing::warn!(server = %t.server, "RADIUS send failed: {e}");
            }
        }
    }

    fn drain_events(&mut self) -> Vec<AuthAnswer> {
        let mut out = std::mem::take(&mut self.failed);
        while let Some(ev) = self.client.poll_event() {
            let (handle, outcome) = match ev {
                Event::Reply {
                    handle,
                    server,
                    packet,
                } => {
                    let outcome = match packet.code {
                        Code::AccessAccept => match Authorization::from_accept(&packet) {
                            Ok(a) => AuthOutcome::Accept(grant(&a)),
                            Err(e) => {
                                tracing::warn!(%server, "Access-Accept refused: {e}");
                                AuthOutcome::Reject
                            }
                        },
                        _ => AuthOutcome::Reject,
                    };
                    (handle, outcome)
                }
                Event::Timeout { handle } => {
                    let total = unverified_replies(&self.client);
                    match explain_timeout(total, &mut self.unverified_reported) {
                        NoAnswer::Unverified { dropped } => tracing::warn!(
                            dropped,
                            "RADIUS servers answered, but their replies failed verification \
                             (wrong shared secret, or no Message-Authenticator: see \
                             docs/RUNBOOK.md); the login is refused as unavailable"
                        ),
                        NoAnswer::Silence => tracing::warn!("no RADIUS server answered"),
                    }
                    (handle, AuthOutcome::Unavailable)
                }
            };
            if let Some((session, request)) = self.in_flight.remove(&handle) {
                out.push(AuthAnswer {
                    session,
                    request,
                    outcome,
                });
            }
        }
        out
    }
}

/// Why a login got no usable RADIUS answer, as the log tells the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoAnswer {
    /// Nothing came back in time.
    Silence,
    /// Replies came back but failed verification since the last report.
    Unverified {
        /// How many were dropped since the last report.
        dropped: u64,
    },
}

/// Compares the running total of unverified replies with what was already
/// reported, and moves the mark forward when there is something new to say.
fn explain_timeout(unverified_total: u64, reported: &mut u64) -> NoAnswer {
    if unverified_total > *reported {
        let dropped = unverified_total - *reported;
        *reported = unverified_total;
        NoAnswer::Unverified { dropped }
    } else {
        NoAnswer::Silence
    }
}

/// Replies from every server dropped because their Response Authenticator
/// or Message-Authenticator did not verify (RFC 2865 §3, RFC 3579 §3.2).
fn unverified_replies(client: &Client) -> u64 {
    client
        .all_stats()
        .map(|(_, stats)| stats.bad_authenticators)
        .sum()
}

/// What an Access-Accept grants (RFC 2865 §5.8 address policy; RFC 2548 DNS).
pub fn grant(a: &Authorization) -> Grant {
    let address = match a.address_assignment() {
        AddressAssignment::Fixed(ip) => AddressGrant::Fixed(ip),
        AddressAssignment::Unspecified
        | AddressAssignment::NasChooses
        | AddressAssignment::UserChooses => AddressGrant::Pool(a.framed_pool.clone()),
    };
    let mut grant = Grant {
        address,
        session_timeout: a.session_timeout.filter(|d| !d.is_zero()),
        idle_timeout: a.idle_timeout.filter(|d| !d.is_zero()),
        class: a.class.clone(),
        dns: [a.primary_dns, a.secondary_dns],
        ipv6: None,
        acct_interim_interval: a.acct_interim_interval.filter(|d| !d.is_zero()),
        authentic: lns_proto::radius::values::AcctAuthentic::Radius,
    };
    grant.set_ipv6(ipv6_grant(a));
    grant
}

/// The IPv6 part of an Access-Accept: Framed-IPv6-Prefix and
/// Framed-IPv6-Address (RFC 3162 §2.3, RFC 6911 §3.1) for the link,
/// Delegated-IPv6-Prefix (RFC 4818 §3) for IA_PD, Framed-Interface-Id
/// (RFC 3162 §2.2) and DNS-Server-IPv6-Address (RFC 6911 §3.2). Only the
/// first prefix of each kind is used.
pub fn ipv6_grant(a: &Authorization) -> crate::engine::Ipv6Grant {
    crate::engine::Ipv6Grant {
        framed_prefix: a.framed_ipv6_prefixes.first().map(|p| (p.addr, p.len)),
        delegated_prefix: a.delegated_ipv6_prefix.map(|p| (p.addr, p.len)),
        framed_address: a.framed_ipv6_addresses.first().copied(),
        interface_id: a.framed_interface_id,
        dns: a.ipv6_dns.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_attributes_of_an_accept_reach_the_grant() {
        use lns_proto::radius::{Attribute, Ipv6Prefix};
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().expect("literal");
        // RFC 3162 §2.2/§2.3, RFC 4818 §3, RFC 6911 §3.1/§3.2.
        let attrs = [
            Attribute::FramedIpv6Prefix(Ipv6Prefix {
                addr: v6("2001:db8:100:7::"),
                len: 64,
            }),
            Attribute::DelegatedIpv6Prefix(Ipv6Prefix {
                addr: v6("2001:db8:200:700::"),
                len: 56,
            }),
            Attribute::FramedIpv6Address(v6("2001:db8:100:7::42")),
            Attribute::FramedInterfaceId([0, 0, 0, 0, 0, 0, 0, 0x42]),
            Attribute::DnsServerIpv6Address(v6("2001:db8::53")),
            Attribute::DnsServerIpv6Address(v6("2001:db8::54")),
        ];
        let a = Authorization::from_attributes(&attrs).expect("acceptable");
        let g = grant(&a).ipv6().clone();
        assert_eq!(g.framed_prefix, Some((v6("2001:db8:100:7::"), 64)));
        assert_eq!(g.delegated_prefix, Some((v6("2001:db8:200:700::"), 56)));
        assert_eq!(g.framed_address, Some(v6("2001:db8:100:7::42")));
        assert_eq!(g.interface_id, Some([0, 0, 0, 0, 0, 0, 0, 0x42]));
        assert_eq!(g.dns, vec![v6("2001:db8::53"), v6("2001:db8::54")]);
    }

    #[test]
    fn a_timeout_names_unverified_replies_once_then_silence() {
        let mut reported = 0;
        assert_eq!(explain_timeout(0, &mut reported), NoAnswer::Silence);
        // FreeRADIUS 3.2.1 without the post-auth Message-Authenticator: every
        // Access-Accept is dropped (RFC 3579 §3.2) and the login times out.
        assert_eq!(
            explain_timeout(3, &mut reported),
            NoAnswer::Unverified { dropped: 3 }
        );
        assert_eq!(reported, 3);
        assert_eq!(explain_timeout(3, &mut reported), NoAnswer::Silence);
        assert_eq!(
            explain_timeout(5, &mut reported),
            NoAnswer::Unverified { dropped: 2 }
        );
    }
}
