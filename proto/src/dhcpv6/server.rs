//! The per-session DHCPv6 server of a PPP link (RFC 8415 §18.3), sans IO.
//!
//! Contract: [`Dhcpv6Server`] answers one subscriber's link. It is given the
//! session's /64 (IA_NA addresses are chosen inside it), an optional
//! delegated prefix (IA_PD), DNS servers and domains, and a server DUID that
//! is the same on every cluster node. `handle` takes a whole IPv6 packet and
//! either queues one whole IPv6/UDP reply (from our link-local address, port
//! 547, to the client's address and port) or says why the message was
//! ignored (RFC 8415 §16). Bindings are kept in a `BTreeMap` and expire at
//! wall-clock deadlines, so the same inputs (bytes, `now`, entropy) always
//! give the same replies and state; `to_pb` / `from_pb` replicate them.

use core::net::Ipv6Addr;
use std::collections::{BTreeMap, VecDeque};

use super::config::{AddressChoice, Dhcpv6Config, Dhcpv6ConfigError, RapidCommit};
use super::duid::Duid;
use super::message::{
    emit_udp_packet, parse_udp_packet, Dhcpv6Message, Dhcpv6Packet, MessageType, SERVER_PORT,
};
use super::option::{code, Dhcpv6Option, Ia, StatusCode};
use super::{Dhcpv6Error, Dhcpv6Ignored};
use crate::entropy::Entropy;
use crate::pb::dhcpv6 as pb;
use crate::time::Timestamp;
use core::time::Duration;

/// Bindings one session may hold (every client DUID and IA together).
pub const MAX_BINDINGS: usize = 16;
/// Declined addresses remembered per session (the oldest is forgotten
/// first), so a client declining in a loop cannot grow the replicated state.
pub const MAX_DECLINED: usize = 16;
/// Candidate addresses tried for one IA_NA before NoAddrsAvail: more than
/// the declined and leased addresses that can block candidates, so the
/// client always gets one.
const MAX_ADDRESS_ATTEMPTS: u32 = (MAX_DECLINED + MAX_BINDINGS + 8) as u32;

/// The kind of an identity association.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IaKind {
    /// IA_NA: one address from the session /64.
    Na,
    /// IA_PD: the delegated prefix.
    Pd,
}

/// What identifies a binding: client DUID (wire bytes), IA kind and IAID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindingKey {
    /// The client DUID's wire bytes.
    pub client: Vec<u8>,
    /// IA_NA or IA_PD.
    pub kind: IaKind,
    /// The IAID.
    pub iaid: u32,
}

/// A committed lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The address (IA_NA) or prefix (IA_PD).
    pub prefix: Ipv6Addr,
    /// 128 for an address, the delegated length for a prefix.
    pub prefix_len: u8,
    /// When the valid lifetime ends.
    pub expires: Timestamp,
}

/// The DHCPv6 server of one PPP session.
#[derive(Clone, Debug)]
pub struct Dhcpv6Server {
    config: Dhcpv6Config,
    link_local: Ipv6Addr,
    link_prefix: [u8; 8],
    delegated: Option<(Ipv6Addr, u8)>,
    bindings: BTreeMap<BindingKey, Binding>,
    /// Declined addresses, oldest first, at most [`MAX_DECLINED`].
    declined: VecDeque<Ipv6Addr>,
    transmit: VecDeque<Vec<u8>>,
}

/// Whether an exchange creates bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Assign {
    /// Advertise: say what would be assigned.
    Offer,
    /// Reply: assign and remember.
    Commit,
}

impl Dhcpv6Server {
    /// A server for a link whose link-local address is `link_local`, whose
    /// subscriber /64 is `link_prefix` (only its first 64 bits matter) and
    /// which may delegate `delegated` (prefix, length).
    pub fn new(
        config: Dhcpv6Config,
        link_local: Ipv6Addr,
        link_prefix: Ipv6Addr,
        delegated: Option<(Ipv6Addr, u8)>,
    ) -> Result<Self, Dhcpv6ConfigError> {
        config.validate()?;
        if let Some((_, len)) = delegated {
            if len > 128 {
                return Err(Dhcpv6ConfigError::DelegatedPrefixLength(len));
            }
        }
        let mut p = [0u8; 8];
        p.copy_from_slice(&link_prefix.octets()[..8]);
        Ok(Dhcpv6Server {
            config,
            link_local,
            link_prefix: p,
            delegated,
            bindings: BTreeMap::new(),
            declined: VecDeque::new(),
            transmit: VecDeque::new(),
        })
    }

    /// Handles one received IPv6 packet; on success a reply of the returned
    /// type is queued for [`Dhcpv6Server::poll_transmit`].
    pub fn handle(
        &mut self,
        now: Timestamp,
        packet: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<MessageType, Dhcpv6Ignored> {
        let udp = match parse_udp_packet(packet) {
            Ok(d) if d.dst_port == SERVER_PORT => d,
            Ok(_) | Err(Dhcpv6Error::NotUdp) => return Err(Dhcpv6Ignored::NotDhcp),
            Err(e) => return Err(Dhcpv6Ignored::Malformed(e)),
        };
        // RFC 8415 §13.1: a client sends from a unicast (link-local) address;
        // nothing could be answered to :: or a multicast source.
        if udp.src.is_unspecified() || udp.src.is_multicast() {
            return Err(Dhcpv6Ignored::BadSource);
        }
        let msg = match Dhcpv6Packet::parse_bytes(udp.payload).map_err(Dhcpv6Ignored::Malformed)? {
            Dhcpv6Packet::Message(m) => m,
            // RFC 8415 §19: relays are not expected on a PPP link.
            Dhcpv6Packet::Relay(_) => return Err(Dhcpv6Ignored::Relayed),
        };
        self.validate(&msg)?;
        let reply = self.answer(now, &msg, entropy)?;
        let reply_type = reply.msg_type;
        let mut payload = Vec::new();
        let mut packet = Vec::new();
        // RFC 8415 §18.3.10: unicast to the address and port the message came from.
        Dhcpv6Packet::Message(reply)
            .emit(&mut payload)
            .and_then(|()| {
                emit_udp_packet(
                    self.link_local,
                    udp.src,
                    SERVER_PORT,
                    udp.src_port,
                    &payload,
                    &mut packet,
                )
            })
            .map_err(Dhcpv6Ignored::ReplyTooLarge)?;
        self.transmit.push_back(packet);
        Ok(reply_type)
    }

    /// Drops bindings whose valid lifetime ended.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.bindings.retain(|_, b| b.expires > now);
    }

    /// When the next binding expires.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.bindings.values().map(|b| b.expires).min()
    }

    /// The next IPv6 packet to send on the link.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The committed bindings in key order.
    pub fn bindings(&self) -> impl Iterator<Item = (&BindingKey, &Binding)> {
        self.bindings.iter()
    }

    /// The replicated state.
    pub fn to_pb(&self) -> pb::Dhcpv6ServerState {
        pb::Dhcpv6ServerState {
            bindings: self
                .bindings
                .iter()
                .map(|(k, b)| pb::Dhcpv6Binding {
                    client_duid: k.client.clone(),
                    kind: match k.kind {
                        IaKind::Na => pb::IaKind::Na,
                        IaKind::Pd => pb::IaKind::Pd,
                    } as i32,
                    iaid: k.iaid,
                    prefix: b.prefix.octets().to_vec(),
                    prefix_len: u32::from(b.prefix_len),
                    expires_us: b.expires.unix_micros(),
                })
                .collect(),
            declined: self.declined.iter().map(|a| a.octets().to_vec()).collect(),
        }
    }

    /// Rebuilds a server from replicated state and its configuration.
    pub fn from_pb(
        config: Dhcpv6Config,
        link_local: Ipv6Addr,
        link_prefix: Ipv6Addr,
        delegated: Option<(Ipv6Addr, u8)>,
        state: &pb::Dhcpv6ServerState,
    ) -> Result<Self, Dhcpv6ConfigError> {
        let mut s = Dhcpv6Server::new(config, link_local, link_prefix, delegated)?;
        let addr = |b: &[u8]| -> Result<Ipv6Addr, Dhcpv6ConfigError> {
            let o: [u8; 16] = b.try_into().map_err(|_| Dhcpv6ConfigError::State)?;
            Ok(Ipv6Addr::from(o))
        };
        for b in &state.bindings {
            let kind = match pb::IaKind::try_from(b.kind) {
                Ok(pb::IaKind::Na) => IaKind::Na,
                Ok(pb::IaKind::Pd) => IaKind::Pd,
                Err(_) => return Err(Dhcpv6ConfigError::State),
            };
            s.bindings.insert(
                BindingKey {
                    client: b.client_duid.clone(),
                    kind,
                    iaid: b.iaid,
                },
                Binding {
                    prefix: addr(&b.prefix)?,
                    prefix_len: u8::try_from(b.prefix_len).map_err(|_| Dhcpv6ConfigError::State)?,
                    expires: Timestamp::from_unix_micros(b.expires_us),
                },
            );
        }
        for d in &state.declined {
            s.remember_declined(addr(d)?);
        }
        Ok(s)
    }

    /// RFC 8415 §16: which messages a server must discard.
    fn validate(&self, msg: &Dhcpv6Message) -> Result<(), Dhcpv6Ignored> {
        let client = msg.find(|o| match o {
            Dhcpv6Option::ClientId(d) => Some(d),
            _ => None,
        });
        let server = msg.find(|o| match o {
            Dhcpv6Option::ServerId(d) => Some(d),
            _ => None,
        });
        let ours = |s: &Duid| s.to_bytes() == self.config.server_duid.to_bytes();
        match msg.msg_type {
            // §16.2, §16.5, §16.7: Client Identifier required, no Server Identifier.
            MessageType::Solicit | MessageType::Confirm | MessageType::Rebind => {
                if client.is_none() {
                    return Err(Dhcpv6Ignored::MissingClientId);
                }
                if server.is_some() {
                    return Err(Dhcpv6Ignored::UnexpectedServerId);
                }
            }
            // §16.4, §16.6, §16.8, §16.9: both required, Server Identifier ours.
            MessageType::Request
            | MessageType::Renew
            | MessageType::Decline
            | MessageType::Release => {
                if client.is_none() {
                    return Err(Dhcpv6Ignored::MissingClientId);
                }
                match server {
                    None => return Err(Dhcpv6Ignored::MissingServerId),
                    Some(s) if !ours(s) => return Err(Dhcpv6Ignored::WrongServerId),
                    Some(_) => {}
                }
            }
            // §16.12: a Server Identifier, if any, must be ours; no IA options.
            MessageType::InformationRequest => {
                if server.is_some_and(|s| !ours(s)) {
                    return Err(Dhcpv6Ignored::WrongServerId);
                }
                let has_ia = msg.options.iter().any(|o| {
                    matches!(o, Dhcpv6Option::IaNa(_) | Dhcpv6Option::IaPd(_)) || o.code() == 0x0004
                    // IA_TA
                });
                if has_ia {
                    return Err(Dhcpv6Ignored::IaInInformationRequest);
                }
            }
            // §16.3, §16.10, §16.11: messages only servers send.
            t @ (MessageType::Advertise | MessageType::Reply | MessageType::Reconfigure) => {
                return Err(Dhcpv6Ignored::ServerMessage(t))
            }
            MessageType::RelayForw | MessageType::RelayRepl => return Err(Dhcpv6Ignored::Relayed),
            MessageType::Unknown(t) => return Err(Dhcpv6Ignored::UnknownType(t)),
        }
        Ok(())
    }

    /// Builds the reply to a validated message (RFC 8415 §18.3.1-§18.3.8).
    fn answer(
        &mut self,
        now: Timestamp,
        msg: &Dhcpv6Message,
        entropy: &mut dyn Entropy,
    ) -> Result<Dhcpv6Message, Dhcpv6Ignored> {
        let client = msg
            .find(|o| match o {
                Dhcpv6Option::ClientId(d) => Some(d.to_bytes()),
                _ => None,
            })
            .unwrap_or_default();
        let oro: Vec<u16> = msg
            .find(|o| match o {
                Dhcpv6Option::Oro(c) => Some(c.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let rapid = msg.options.contains(&Dhcpv6Option::RapidCommit);
        let mut options = vec![Dhcpv6Option::ServerId(self.config.server_duid.clone())];
        options.extend(
            msg.options
                .iter()
                .filter(|o| matches!(o, Dhcpv6Option::ClientId(_)))
                .take(1)
                .cloned(),
        );
        let ias = msg.options.iter().filter_map(|o| match o {
            Dhcpv6Option::IaNa(ia) => Some((IaKind::Na, ia)),
            Dhcpv6Option::IaPd(ia) => Some((IaKind::Pd, ia)),
            _ => None,
        });
        let reply_type = match msg.msg_type {
            // RFC 8415 §18.3.1: Advertise, or a committed Reply with Rapid Commit.
            MessageType::Solicit => {
                let (assign, ty) = match (rapid, self.config.rapid_commit) {
                    (true, RapidCommit::Allowed) => (Assign::Commit, MessageType::Reply),
                    _ => (Assign::Offer, MessageType::Advertise),
                };
                match assign {
                    Assign::Commit => options.push(Dhcpv6Option::RapidCommit),
                    // RFC 8415 §18.2.1: preference 255 lets the client send
                    // its Request at once; we are the only server on the link.
                    Assign::Offer => options.push(Dhcpv6Option::Preference(0xff)),
                }
                let mut any_ia = false;
                for (kind, ia) in ias {
                    any_ia = true;
                    let o = self.assign(now, &client, kind, ia, assign, entropy);
                    options.push(o);
                }
                if !any_ia {
                    options.push(status(StatusCode::NoAddrsAvail, "no IA requested"));
                }
                if oro.contains(&code::SOL_MAX_RT) {
                    options.extend(self.config.sol_max_rt.map(Dhcpv6Option::SolMaxRt));
                }
                ty
            }
            // RFC 8415 §18.3.2: assign and commit.
            MessageType::Request => {
                for (kind, ia) in ias {
                    let o = self.assign(now, &client, kind, ia, Assign::Commit, entropy);
                    options.push(o);
                }
                MessageType::Reply
            }
            // RFC 8415 §18.3.3: are the addresses on this link?
            MessageType::Confirm => {
                let addrs: Vec<Ipv6Addr> = ias
                    .filter(|(k, _)| *k == IaKind::Na)
                    .flat_map(|(_, ia)| ia_addresses(ia))
                    .map(|(a, _)| a)
                    .collect();
                if addrs.is_empty() {
                    return Err(Dhcpv6Ignored::NothingToConfirm);
                }
                options.push(if addrs.iter().all(|a| self.on_link(*a)) {
                    status(StatusCode::Success, "on link")
                } else {
                    status(StatusCode::NotOnLink, "not on link")
                });
                MessageType::Reply
            }
            // RFC 8415 §18.3.4 / §18.3.5: extend known bindings.
            MessageType::Renew | MessageType::Rebind => {
                for (kind, ia) in ias {
                    let o = self.extend(now, &client, kind, ia, msg.msg_type);
                    options.push(o);
                }
                MessageType::Reply
            }
            // RFC 8415 §18.3.7 / §18.3.8: drop bindings (and remember declines).
            MessageType::Release | MessageType::Decline => {
                for (kind, ia) in ias {
                    let key = key(&client, kind, ia.iaid);
                    match self.bindings.remove(&key) {
                        Some(b) => {
                            if msg.msg_type == MessageType::Decline && kind == IaKind::Na {
                                self.remember_declined(b.prefix);
                            }
                        }
                        None => options.push(ia_option(
                            kind,
                            ia.iaid,
                            0,
                            0,
                            vec![status(StatusCode::NoBinding, "no binding")],
                        )),
                    }
                }
                options.push(status(StatusCode::Success, "done"));
                MessageType::Reply
            }
            // RFC 8415 §18.3.6: configuration only.
            MessageType::InformationRequest => {
                if oro.contains(&code::INFORMATION_REFRESH_TIME) {
                    options.push(Dhcpv6Option::InformationRefreshTime(
                        self.config.information_refresh_time,
                    ));
                }
                MessageType::Reply
            }
            // validate() let only client messages through.
            other => return Err(Dhcpv6Ignored::ServerMessage(other)),
        };
        if oro.contains(&code::DNS_SERVERS) && !self.config.dns_servers.is_empty() {
            options.push(Dhcpv6Option::DnsServers(self.config.dns_servers.clone()));
        }
        if oro.contains(&code::DOMAIN_LIST) && !self.config.domains.is_empty() {
            options.push(Dhcpv6Option::DomainList(self.config.domains.clone()));
        }
        Ok(Dhcpv6Message {
            msg_type: reply_type,
            transaction_id: msg.transaction_id,
            options,
        })
    }

    /// The IA option answering `ia` in a Solicit or Request.
    fn assign(
        &mut self,
        now: Timestamp,
        client: &[u8],
        kind: IaKind,
        ia: &Ia,
        assign: Assign,
        entropy: &mut dyn Entropy,
    ) -> Dhcpv6Option {
        let key = key(client, kind, ia.iaid);
        let chosen = match self.bindings.get(&key) {
            Some(b) => Some((b.prefix, b.prefix_len)),
            None if self.bindings.len() >= MAX_BINDINGS => None,
            None => match kind {
                IaKind::Na => self.choose_address(client, ia, entropy).map(|a| (a, 128)),
                // One delegated prefix per session, to one IA_PD.
                IaKind::Pd => self
                    .delegated
                    .filter(|_| !self.bindings.keys().any(|k| k.kind == IaKind::Pd)),
            },
        };
        let Some((prefix, prefix_len)) = chosen else {
            let code = match kind {
                IaKind::Na => StatusCode::NoAddrsAvail,
                IaKind::Pd => StatusCode::NoPrefixAvail,
            };
            return ia_option(kind, ia.iaid, 0, 0, vec![status(code, "none available")]);
        };
        if assign == Assign::Commit {
            let expires = now + Duration::from_secs(u64::from(self.config.valid_lifetime));
            self.bindings.insert(
                key,
                Binding {
                    prefix,
                    prefix_len,
                    expires,
                },
            );
        }
        self.lease_option(kind, ia.iaid, prefix, prefix_len, Vec::new())
    }

    /// The IA option answering `ia` in a Renew or Rebind.
    fn extend(
        &mut self,
        now: Timestamp,
        client: &[u8],
        kind: IaKind,
        ia: &Ia,
        msg_type: MessageType,
    ) -> Dhcpv6Option {
        let key = key(client, kind, ia.iaid);
        let listed = ia_addresses(ia);
        let valid = self.config.valid_lifetime;
        match self.bindings.get_mut(&key) {
            Some(b) => {
                b.expires = now + Duration::from_secs(u64::from(valid));
                let (prefix, prefix_len) = (b.prefix, b.prefix_len);
                // RFC 8415 §18.3.4: anything else the client lists gets lifetime 0.
                let stale = listed
                    .into_iter()
                    .filter(|(a, _)| *a != prefix)
                    .map(|(a, len)| lease(kind, a, len, 0, 0))
                    .collect();
                self.lease_option(kind, ia.iaid, prefix, prefix_len, stale)
            }
            None => {
                // RFC 8415 §18.3.5: on Rebind, leases not appropriate for
                // this link are answered with lifetime 0.
                let wrong: Vec<Dhcpv6Option> = listed
                    .into_iter()
                    .filter(|(a, len)| !self.appropriate(kind, *a, *len))
                    .map(|(a, len)| lease(kind, a, len, 0, 0))
                    .collect();
                if msg_type == MessageType::Rebind && !wrong.is_empty() {
                    return ia_option(kind, ia.iaid, 0, 0, wrong);
                }
                // RFC 8415 §18.3.4 / §18.3.5: NoBinding for an unknown IA.
                ia_option(
                    kind,
                    ia.iaid,
                    0,
                    0,
                    vec![status(StatusCode::NoBinding, "no binding")],
                )
            }
        }
    }

    /// Picks a free, valid address of the /64 for an IA_NA.
    fn choose_address(
        &self,
        client: &[u8],
        ia: &Ia,
        entropy: &mut dyn Entropy,
    ) -> Option<Ipv6Addr> {
        // RFC 6911 §3.1: the address AAA assigned comes first.
        if let AddressChoice::Fixed(a) = self.config.address_choice {
            if self.usable(a) {
                return Some(a);
            }
        }
        // The client's hint next (RFC 8415 §18.3.1: the server may use it).
        if let Some((hint, _)) = ia_addresses(ia).into_iter().next() {
            if self.usable(hint) {
                return Some(hint);
            }
        }
        (0..MAX_ADDRESS_ATTEMPTS)
            .map(|attempt| {
                let iid = match self.config.address_choice {
                    AddressChoice::FromClientId | AddressChoice::Fixed(_) => fnv1a64(
                        client
                            .iter()
                            .copied()
                            .chain(ia.iaid.to_be_bytes())
                            .chain(attempt.to_be_bytes()),
                    ),
                    AddressChoice::FromEntropy => entropy.next_u64(),
                };
                let mut o = [0u8; 16];
                o[..8].copy_from_slice(&self.link_prefix);
                o[8..].copy_from_slice(&iid.to_be_bytes());
                Ipv6Addr::from(o)
            })
            .find(|a| self.usable(*a))
    }

    /// RFC 8415 §18.3.8: keep a declined address out of use (bounded).
    fn remember_declined(&mut self, a: Ipv6Addr) {
        if !self.declined.contains(&a) {
            if self.declined.len() == MAX_DECLINED {
                self.declined.pop_front();
            }
            self.declined.push_back(a);
        }
    }

    /// On link, not a reserved interface id, not declined, not leased.
    fn usable(&self, a: Ipv6Addr) -> bool {
        self.on_link(a)
            && !reserved_interface_id(a)
            && !self.declined.contains(&a)
            && !self
                .bindings
                .values()
                .any(|b| b.prefix_len == 128 && b.prefix == a)
    }

    fn on_link(&self, a: Ipv6Addr) -> bool {
        a.octets()[..8] == self.link_prefix
    }

    fn appropriate(&self, kind: IaKind, a: Ipv6Addr, len: u8) -> bool {
        match kind {
            IaKind::Na => self.on_link(a),
            IaKind::Pd => self.delegated == Some((a, len)),
        }
    }

    fn lease_option(
        &self,
        kind: IaKind,
        iaid: u32,
        prefix: Ipv6Addr,
        prefix_len: u8,
        mut extra: Vec<Dhcpv6Option>,
    ) -> Dhcpv6Option {
        let (pref, valid) = (self.config.preferred_lifetime, self.config.valid_lifetime);
        let mut options = vec![lease(kind, prefix, prefix_len, pref, valid)];
        options.append(&mut extra);
        // RFC 8415 §21.4: T1 0.5 and T2 0.8 times the preferred lifetime.
        let t1 = pref / 2;
        let t2 = (u64::from(pref) * 4 / 5) as u32;
        ia_option(kind, iaid, t1, t2, options)
    }
}

fn key(client: &[u8], kind: IaKind, iaid: u32) -> BindingKey {
    BindingKey {
        client: client.to_vec(),
        kind,
        iaid,
    }
}

fn status(code: StatusCode, message: &str) -> Dhcpv6Option {
    Dhcpv6Option::StatusCode {
        status: code,
        message: message.to_owned(),
    }
}

fn ia_option(
    kind: IaKind,
    iaid: u32,
    t1: u32,
    t2: u32,
    options: Vec<Dhcpv6Option>,
) -> Dhcpv6Option {
    let ia = Ia {
        iaid,
        t1,
        t2,
        options,
    };
    match kind {
        IaKind::Na => Dhcpv6Option::IaNa(ia),
        IaKind::Pd => Dhcpv6Option::IaPd(ia),
    }
}

fn lease(kind: IaKind, prefix: Ipv6Addr, prefix_len: u8, pref: u32, valid: u32) -> Dhcpv6Option {
    match kind {
        IaKind::Na => Dhcpv6Option::IaAddr {
            address: prefix,
            preferred_lifetime: pref,
            valid_lifetime: valid,
            options: Vec::new(),
        },
        IaKind::Pd => Dhcpv6Option::IaPrefix {
            preferred_lifetime: pref,
            valid_lifetime: valid,
            prefix_len,
            prefix,
            options: Vec::new(),
        },
    }
}

/// The addresses (IAADDR) or prefixes (IAPREFIX) a client listed in an IA.
fn ia_addresses(ia: &Ia) -> Vec<(Ipv6Addr, u8)> {
    ia.options
        .iter()
        .filter_map(|o| match o {
            Dhcpv6Option::IaAddr { address, .. } => Some((*address, 128)),
            Dhcpv6Option::IaPrefix {
                prefix, prefix_len, ..
            } => Some((*prefix, *prefix_len)),
            _ => None,
        })
        .collect()
}

/// RFC 5453 reserved interface identifiers: the subnet-router anycast (0),
/// the reserved subnet anycast range fdff:ffff:ffff:ff80-ffff, and the
/// 0200:5eff:fe00:0000/112 range.
fn reserved_interface_id(a: Ipv6Addr) -> bool {
    let o = a.octets();
    let iid = u64::from_be_bytes([o[8], o[9], o[10], o[11], o[12], o[13], o[14], o[15]]);
    iid == 0
        || (0xfdff_ffff_ffff_ff80..=0xfdff_ffff_ffff_ffff).contains(&iid)
        || iid >> 16 == 0x0200_5eff_fe00
}

/// FNV-1a (64-bit), used over the client DUID, the IAID and the attempt
/// number: a stable, platform-independent interface identifier.
fn fnv1a64(data: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_identifiers() {
        let a = |s: &str| s.parse::<Ipv6Addr>().expect("literal");
        assert!(reserved_interface_id(a("2001:db8::")));
        assert!(reserved_interface_id(a("2001:db8::fdff:ffff:ffff:ff80")));
        assert!(reserved_interface_id(a("2001:db8::200:5eff:fe00:5212")));
        assert!(!reserved_interface_id(a("2001:db8::1")));
    }

    #[test]
    fn fnv1a64_published_vectors() {
        // The FNV reference test vectors: "" and "a".
        assert_eq!(fnv1a64([]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(*b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
