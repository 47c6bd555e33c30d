//! IPv6 for subscribers: per session, once IPV6CP opens, a /64 for the
//! link (RADIUS Framed-IPv6-Prefix, else the link pool), a delegated
//! prefix (RADIUS Delegated-IPv6-Prefix, else the delegation pool), a
//! [`RouterAdvertiser`] (RFC 4861) and a [`Dhcpv6Server`] (RFC 8415)
//! answering from our link-local address; both prefixes are published to
//! the data plane (downstream lookup, anti-spoof) and released when the
//! session ends.
//!
//! Contract: part of [`super::Engine`], same rules: no IO, no clock, no
//! hidden randomness, ordered maps only. IPv6 packets of a session reach
//! the engine as PPP frames of protocol 0x0057 in [`super::Input::PppFrame`]
//! (the data plane diverts link-scope destinations: RS to ff02::2, DHCPv6
//! to ff02::1:2); replies leave as [`super::Output::SendPpp`] frames of
//! protocol 0x0057. Messages that get no answer are counted by reason
//! ([`Engine::ipv6_ignored`], one of [`IGNORED_REASONS`], exported as
//! `lnsd_ipv6_ignored_total{reason}`) and logged at debug level, never
//! answered (RFC 4861 §6.1, RFC 8415 §16). Without [`Engine::enable_ipv6`] nothing
//! changes: IPV6CP still opens, no RA, no DHCPv6, no prefixes.

use super::types::{Level, Output, SessionKey};
use super::v6pool::{mask, PrefixPool, V6PoolError};
use super::Engine;
use crate::dataplane::SessionEntry;
use lns_proto::dhcpv6::{Dhcpv6Config, Dhcpv6Ignored, Dhcpv6Server};
use lns_proto::entropy::Entropy;
use lns_proto::ip::{IpProtocol, Ipv6Packet};
use lns_proto::nd::{link_local_address, RaConfig, RouterAdvertiser, RsIgnored};
use lns_proto::ppp::{Frame, Protocol};
use lns_proto::time::Timestamp;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// PPP protocol number of IPv6 datagrams (RFC 5072 §2).
pub const PPP_IPV6: u16 = 0x0057;

/// Every reason a subscriber's link-scope IPv6 message is ignored (the
/// closed set of `reason` values of `lnsd_ipv6_ignored_total`).
pub const IGNORED_REASONS: [&str; 19] = [
    "no IPv6 service on the session",
    "malformed IPv6",
    "icmpv6 not RS",
    "RS while not advertising",
    "invalid RS",
    "udp not dhcpv6",
    "other link-scope IPv6",
    "dhcpv6 bad source",
    "dhcpv6 malformed",
    "dhcpv6 server message",
    "dhcpv6 relayed",
    "dhcpv6 unknown type",
    "dhcpv6 missing client id",
    "dhcpv6 unexpected server id",
    "dhcpv6 missing server id",
    "dhcpv6 wrong server id",
    "dhcpv6 IA in information-request",
    "dhcpv6 nothing to confirm",
    "dhcpv6 reply too large",
];

/// The node's IPv6 settings (daemon configuration, the same on every node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Settings {
    /// Pool of link prefixes (/64s are carved out of it).
    pub link_pool: Option<(Ipv6Addr, u8)>,
    /// Pool of delegated prefixes.
    pub pd_pool: Option<(Ipv6Addr, u8)>,
    /// Length of the prefixes delegated from `pd_pool`.
    pub pd_length: u8,
    /// Give a user back its previous pool prefixes when still free.
    pub sticky: bool,
    /// Router Advertisement template: its single prefix entry gives the
    /// flags and lifetimes; the prefix itself is the session's /64.
    pub ra: RaConfig,
    /// DHCPv6 server template (DUID, DNS, domains, lifetimes).
    pub dhcpv6: Dhcpv6Config,
}

/// What AAA grants a session for IPv6 (RFC 3162, RFC 4818, RFC 6911).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipv6Grant {
    /// Framed-IPv6-Prefix: the link prefix (its first /64 is used).
    pub framed_prefix: Option<(Ipv6Addr, u8)>,
    /// Delegated-IPv6-Prefix: the prefix delegated by DHCPv6 IA_PD.
    pub delegated_prefix: Option<(Ipv6Addr, u8)>,
    /// Framed-IPv6-Address (RFC 6911): the IA_NA address; without
    /// Framed-IPv6-Prefix, its /64 is the link prefix.
    pub framed_address: Option<Ipv6Addr>,
    /// Framed-Interface-Id: the identifier IPV6CP Naks the subscriber to
    /// (RFC 3162 §2.2, RFC 5072 §4.1), so its link-local and SLAAC
    /// addresses use it.
    pub interface_id: Option<[u8; 8]>,
    /// DNS-Server-IPv6-Address values: override the configured servers in
    /// RA RDNSS and DHCPv6.
    pub dns: Vec<Ipv6Addr>,
}

impl Ipv6Grant {
    /// Nothing granted (the `Default`).
    pub const EMPTY: Ipv6Grant = Ipv6Grant {
        framed_prefix: None,
        delegated_prefix: None,
        framed_address: None,
        interface_id: None,
        dns: Vec::new(),
    };
}

/// Where a session prefix came from (pool prefixes go back at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixSource {
    /// Carved from a pool.
    Pool,
    /// Given by AAA.
    Aaa,
}

/// One session's IPv6 state.
#[derive(Clone, Debug)]
pub struct SessionIpv6 {
    /// The link /64 (SLAAC and IA_NA).
    pub link_prefix: Ipv6Addr,
    /// Where the /64 came from.
    pub link_source: PrefixSource,
    /// The delegated prefix and its length.
    pub delegated: Option<(Ipv6Addr, u8, PrefixSource)>,
    /// Our link-local address (fe80:: + our IPV6CP identifier).
    pub link_local: Ipv6Addr,
    /// DNS servers AAA gave (empty: the configured ones).
    pub dns: Vec<Ipv6Addr>,
    /// The RA sender.
    pub advertiser: RouterAdvertiser,
    /// The DHCPv6 server.
    pub dhcp: Dhcpv6Server,
}

impl SessionIpv6 {
    /// The prefixes routed to this session: the /64, then the delegated one.
    pub fn prefixes(&self) -> Vec<(Ipv6Addr, u8)> {
        let mut v = vec![(self.link_prefix, 64)];
        v.extend(self.delegated.map(|(p, l, _)| (p, l)));
        v
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        [self.advertiser.poll_timeout(), self.dhcp.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// The engine's IPv6 part: settings, prefix pools, per-session state and
/// the counts of ignored messages.
#[derive(Clone, Debug, Default)]
pub struct Ipv6State {
    pub(super) settings: Option<Ipv6Settings>,
    pub(super) link_pool: Option<PrefixPool>,
    pub(super) pd_pool: Option<PrefixPool>,
    pub(super) sessions: BTreeMap<SessionKey, SessionIpv6>,
    tally: BTreeMap<&'static str, u64>,
    ignored: BTreeMap<&'static str, u64>,
}

impl Engine {
    /// Turns on RA, DHCPv6 and prefix assignment for sessions whose IPV6CP
    /// opens from now on.
    pub fn enable_ipv6(&mut self, settings: Ipv6Settings) -> Result<(), V6PoolError> {
        let sticky = |p: PrefixPool| if settings.sticky { p.sticky() } else { p };
        let link_pool = settings
            .link_pool
            .map(|(p, l)| PrefixPool::new(p, l, 64).map(sticky))
            .transpose()?;
        let pd_pool = settings
            .pd_pool
            .map(|(p, l)| PrefixPool::new(p, l, settings.pd_length).map(sticky))
            .transpose()?;
        self.v6 = Ipv6State {
            settings: Some(settings),
            link_pool,
            pd_pool,
            ..Ipv6State::default()
        };
        Ok(())
    }

    /// One session's IPv6 state (prefixes for accounting, status views).
    pub fn session_ipv6(&self, key: SessionKey) -> Option<&SessionIpv6> {
        self.v6.sessions.get(&key)
    }

    /// The session's IPv6 prefixes (link /64, delegated), for accounting.
    pub fn ipv6_prefixes(&self, key: SessionKey) -> Vec<(Ipv6Addr, u8)> {
        self.v6
            .sessions
            .get(&key)
            .map(SessionIpv6::prefixes)
            .unwrap_or_default()
    }

    /// IPv6 messages received and not answered, by reason, plus the
    /// answers sent (`"ra solicited"`, `"dhcpv6 reply"`, ...).
    pub fn ipv6_tally(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.v6.tally.iter().map(|(k, v)| (*k, *v))
    }

    /// IPv6 messages received and ignored since the engine started, by
    /// reason (each one of [`IGNORED_REASONS`]; only reasons seen).
    pub fn ipv6_ignored(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.v6.ignored.iter().map(|(k, v)| (*k, *v))
    }

    /// Prefix pool usage: (link /64s in use, delegated prefixes in use).
    pub fn ipv6_pool_usage(&self) -> (usize, usize) {
        (
            self.v6.link_pool.as_ref().map_or(0, PrefixPool::used),
            self.v6.pd_pool.as_ref().map_or(0, PrefixPool::used),
        )
    }

    // ---- engine hooks ---------------------------------------------------

    /// IPV6CP opened (RFC 5072): prefixes, advertiser, DHCPv6 server, and
    /// the data plane learns the prefixes.
    pub(super) fn on_ipv6_up(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        local_id: u64,
        entropy: &mut dyn Entropy,
    ) {
        let Some(settings) = self.v6.settings.clone() else {
            return;
        };
        if self.v6.sessions.contains_key(&key) {
            return;
        }
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        let grant = s
            .grant
            .as_ref()
            .map(|g| g.ipv6().clone())
            .unwrap_or_default();
        let owner = (key.tunnel, key.session);
        let user = s.user_text();
        let name = s.user.clone();
        let mru = s.mru;
        let link = match self.link_prefix(&grant, owner, &name) {
            Ok(l) => l,
            Err(e) => {
                self.count("no link prefix");
                let text = format!("user {user:?}: no IPv6 link prefix: {e}");
                return self.notice(Level::Warn, Some(key), text);
            }
        };
        let delegated = match self.delegated_prefix(&grant, owner, &name) {
            Ok(d) => d,
            Err(e) => {
                self.count("no delegated prefix");
                let text = format!("user {user:?}: no delegated prefix: {e}");
                self.notice(Level::Warn, Some(key), text);
                None
            }
        };
        let link_local = link_local_address(local_id.to_be_bytes());
        let (ra, dhcp) = session_configs(&settings, link.0, &grant.dns, mru, grant.framed_address);
        let built = RouterAdvertiser::new(ra, link_local)
            .map_err(|e| e.to_string())
            .and_then(|a| {
                Dhcpv6Server::new(dhcp, link_local, link.0, delegated.map(|(p, l, _)| (p, l)))
                    .map(|d| (a, d))
                    .map_err(|e| e.to_string())
            });
        let (mut advertiser, dhcp) = match built {
            Ok(x) => x,
            Err(e) => {
                self.release_prefixes(owner, Some(link), delegated);
                let text = format!("IPv6 not started: {e}");
                return self.notice(Level::Warn, Some(key), text);
            }
        };
        // RFC 4861 §6.2.4: the first RA as soon as the link can carry it.
        advertiser.start(now, entropy);
        let v = SessionIpv6 {
            link_prefix: link.0,
            link_source: link.1,
            delegated,
            link_local,
            dns: grant.dns,
            advertiser,
            dhcp,
        };
        let text = format!(
            "user {user:?} IPv6 up: {}/64{}",
            v.link_prefix,
            v.delegated
                .map(|(p, l, _)| format!(", delegated {p}/{l}"))
                .unwrap_or_default()
        );
        self.v6.sessions.insert(key, v);
        self.notice(Level::Info, Some(key), text);
        self.republish(key);
        self.flush_ipv6(key);
    }

    /// IPV6CP left Opened: a final RA with router lifetime 0 (RFC 4861
    /// §6.2.5), prefixes released and withdrawn from the data plane.
    pub(super) fn on_ipv6_down(&mut self, now: Timestamp, key: SessionKey) {
        let Some(v) = self.v6.sessions.get_mut(&key) else {
            return;
        };
        v.advertiser.stop(now);
        self.flush_ipv6(key);
        self.ipv6_session_ended(key);
        self.republish(key);
    }

    /// The session is gone: its prefixes go back to the pools.
    pub(super) fn ipv6_session_ended(&mut self, key: SessionKey) {
        if let Some(v) = self.v6.sessions.remove(&key) {
            let owner = (key.tunnel, key.session);
            self.release_prefixes(owner, Some((v.link_prefix, v.link_source)), v.delegated);
        }
    }

    /// A PPP frame of the session: IPv6 ones go to the RA sender or the
    /// DHCPv6 server. Returns whether the frame was IPv6.
    pub(super) fn on_ipv6_frame(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        bytes: &[u8],
        entropy: &mut dyn Entropy,
    ) -> bool {
        let Ok(frame) = Frame::new_checked(bytes) else {
            return false;
        };
        if frame.protocol() != Protocol::Ipv6 {
            return false;
        }
        self.on_ipv6_packet(now, key, frame.payload(), entropy);
        true
    }

    /// When this session's RA or DHCPv6 timers are due next.
    pub(super) fn ipv6_deadline(&self, key: SessionKey) -> Option<Timestamp> {
        self.v6
            .sessions
            .get(&key)
            .and_then(SessionIpv6::next_deadline)
    }

    /// The earliest RA or DHCPv6 deadline of any session (by a scan: the
    /// tests' check of the timer index).
    #[cfg(test)]
    pub(super) fn ipv6_earliest(&self) -> Option<Timestamp> {
        self.v6
            .sessions
            .values()
            .filter_map(SessionIpv6::next_deadline)
            .min()
    }

    /// Runs the session's due RA and DHCPv6 timers.
    pub(super) fn ipv6_timeout(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        entropy: &mut dyn Entropy,
    ) {
        let Some(v) = self.v6.sessions.get_mut(&key) else {
            return;
        };
        if v.advertiser.poll_timeout().is_some_and(|t| t <= now) {
            v.advertiser.handle_timeout(now, entropy);
        }
        if v.dhcp.poll_timeout().is_some_and(|t| t <= now) {
            v.dhcp.handle_timeout(now);
        }
        self.flush_ipv6(key);
    }

    /// The session's prefixes added to its data-plane entry.
    pub(super) fn with_ipv6(&self, mut entry: SessionEntry) -> SessionEntry {
        let key = SessionKey {
            tunnel: entry.tunnel_id,
            session: entry.session_id,
        };
        entry.ipv6_prefixes = self.ipv6_prefixes(key);
        entry
    }

    // ---- helpers --------------------------------------------------------

    fn on_ipv6_packet(
        &mut self,
        now: Timestamp,
        key: SessionKey,
        packet: &[u8],
        entropy: &mut dyn Entropy,
    ) {
        let Some(v) = self.v6.sessions.get_mut(&key) else {
            return self.ignored(key, "no IPv6 service on the session", None);
        };
        let next = match Ipv6Packet::new_checked(packet) {
            Ok(p) => p.next_header(),
            Err(e) => return self.ignored(key, "malformed IPv6", Some(e.to_string())),
        };
        let outcome = match next {
            IpProtocol::Icmpv6 => match v.advertiser.handle_rs(now, packet, entropy) {
                Ok(()) => Ok("router solicitation"),
                // Neighbour solicitations, MLD reports, echo: nothing to do
                // on a point-to-point link without a data path to us.
                Err(RsIgnored::NotSolicitation) => Err(("icmpv6 not RS", None)),
                Err(RsIgnored::NotAdvertising) => Err(("RS while not advertising", None)),
                Err(RsIgnored::Invalid(e)) => Err(("invalid RS", Some(e.to_string()))),
            },
            IpProtocol::Udp => match v.dhcp.handle(now, packet, entropy) {
                Ok(_) => Ok("dhcpv6 answered"),
                Err(Dhcpv6Ignored::NotDhcp) => Err(("udp not dhcpv6", None)),
                Err(e) => Err((dhcp_reason(&e), Some(e.to_string()))),
            },
            _ => Err(("other link-scope IPv6", None)),
        };
        match outcome {
            Ok(what) => self.count(what),
            Err((why, detail)) => self.ignored(key, why, detail),
        }
        self.flush_ipv6(key);
        self.dirty.insert(key);
    }

    /// Queues the session's RA and DHCPv6 packets as PPP frames.
    fn flush_ipv6(&mut self, key: SessionKey) {
        let Some(v) = self.v6.sessions.get_mut(&key) else {
            return;
        };
        let mut packets = Vec::new();
        while let Some(p) = v.advertiser.poll_transmit() {
            packets.push(p);
        }
        while let Some(p) = v.dhcp.poll_transmit() {
            packets.push(p);
        }
        for p in packets {
            self.outputs.push_back(Output::SendPpp {
                session: key,
                frame: ppp_ipv6_frame(&p),
            });
        }
        self.dirty.insert(key);
    }

    /// Publishes the session again (its IPv6 prefixes changed).
    fn republish(&mut self, key: SessionKey) {
        if let Some(s) = self.sessions.get(&key) {
            let entry = self.with_ipv6(super::ppp_events::data_plane_entry(&self.endpoint, s));
            self.outputs.push_back(Output::SessionUp(entry));
        }
    }

    fn link_prefix(
        &mut self,
        grant: &Ipv6Grant,
        owner: super::pool::Owner,
        user: &[u8],
    ) -> Result<(Ipv6Addr, PrefixSource), V6PoolError> {
        let from_aaa = match (grant.framed_prefix, grant.framed_address) {
            // RFC 3162 §2.3: the prefix to advertise; SLAAC needs a /64.
            (Some((p, l)), _) if l <= 64 => Some(p),
            (_, Some(a)) => Some(a),
            _ => None,
        };
        if let Some(p) = from_aaa {
            let p = Ipv6Addr::from(mask(u128::from(p), 64));
            self.check_unshared(p, 64)?;
            if let Some(pool) = &mut self.v6.link_pool {
                pool.reserve(p, owner)?;
            }
            return Ok((p, PrefixSource::Aaa));
        }
        match &mut self.v6.link_pool {
            Some(pool) => pool
                .allocate_for(owner, user)
                .map(|p| (p, PrefixSource::Pool)),
            None => Err(V6PoolError::Exhausted("(no link_pool configured)".into())),
        }
    }

    fn delegated_prefix(
        &mut self,
        grant: &Ipv6Grant,
        owner: super::pool::Owner,
        user: &[u8],
    ) -> Result<Option<(Ipv6Addr, u8, PrefixSource)>, V6PoolError> {
        if let Some((p, l)) = grant.delegated_prefix {
            let p = Ipv6Addr::from(mask(u128::from(p), l));
            self.check_unshared(p, l)?;
            if let Some(pool) = &mut self.v6.pd_pool {
                if l == pool.prefix_len() {
                    pool.reserve(p, owner)?;
                }
            }
            return Ok(Some((p, l, PrefixSource::Aaa)));
        }
        match &mut self.v6.pd_pool {
            Some(pool) => {
                let len = pool.prefix_len();
                pool.allocate_for(owner, user)
                    .map(|p| Some((p, len, PrefixSource::Pool)))
            }
            None => Ok(None),
        }
    }

    /// An AAA prefix must be long enough and overlap no other session's
    /// prefix: no prefix is ever routed to two subscribers.
    fn check_unshared(&self, p: Ipv6Addr, len: u8) -> Result<(), V6PoolError> {
        if len < super::v6pool::MIN_AAA_PREFIX_LEN {
            return Err(V6PoolError::TooShort(format!("{p}/{len}")));
        }
        let overlaps = |(q, l): (Ipv6Addr, u8)| {
            let shorter = l.min(len);
            mask(u128::from(q), shorter) == mask(u128::from(p), shorter)
        };
        let taken = self
            .v6
            .sessions
            .values()
            .flat_map(SessionIpv6::prefixes)
            .any(overlaps);
        if taken {
            return Err(V6PoolError::InUse(format!("{p}/{len}")));
        }
        Ok(())
    }

    fn release_prefixes(
        &mut self,
        owner: super::pool::Owner,
        link: Option<(Ipv6Addr, PrefixSource)>,
        delegated: Option<(Ipv6Addr, u8, PrefixSource)>,
    ) {
        // Reserved AAA prefixes inside a pool are held like pool ones.
        if let (Some((p, _)), Some(pool)) = (link, &mut self.v6.link_pool) {
            pool.release(p, owner);
        }
        if let (Some((p, l, _)), Some(pool)) = (delegated, &mut self.v6.pd_pool) {
            if l == pool.prefix_len() {
                pool.release(p, owner);
            }
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.v6.tally.entry(what).or_default() += 1;
    }

    fn ignored(&mut self, key: SessionKey, why: &'static str, detail: Option<String>) {
        self.count(why);
        *self.v6.ignored.entry(why).or_default() += 1;
        let text = match detail {
            Some(d) => format!("IPv6 packet ignored: {why}: {d}"),
            None => format!("IPv6 packet ignored: {why}"),
        };
        self.notice(Level::Debug, Some(key), text);
    }
}

/// The RA and DHCPv6 configurations of a session whose /64 is `link`;
/// `dns` (from AAA), when not empty, replaces the configured servers; the
/// advertised MTU is at most the subscriber's MRU `mru` (RFC 4861 §4.6.4:
/// the link MTU; never below the IPv6 minimum 1280); `framed_address`
/// (RADIUS Framed-IPv6-Address, RFC 6911), when inside `link`, is the
/// IA_NA address.
pub(super) fn session_configs(
    settings: &Ipv6Settings,
    link: Ipv6Addr,
    dns: &[Ipv6Addr],
    mru: u16,
    framed_address: Option<Ipv6Addr>,
) -> (RaConfig, Dhcpv6Config) {
    let mut ra = settings.ra.clone();
    ra.mtu = ra.mtu.map(|m| m.min(u32::from(mru)).max(1280));
    for p in &mut ra.prefixes {
        p.prefix = link;
        p.prefix_len = 64;
    }
    let mut dhcp = settings.dhcpv6.clone();
    let on_link = |a: &Ipv6Addr| mask(u128::from(*a), 64) == mask(u128::from(link), 64);
    if let Some(a) = framed_address.filter(on_link) {
        dhcp.address_choice = lns_proto::dhcpv6::AddressChoice::Fixed(a);
    }
    if !dns.is_empty() {
        ra.dns_servers = dns.to_vec();
        dhcp.dns_servers = dns.to_vec();
    }
    (ra, dhcp)
}

/// A whole IPv6 packet as a PPP frame (address/control and protocol
/// uncompressed: RFC 1661 §6.5, §6.6 let a sender always use the full form).
pub fn ppp_ipv6_frame(packet: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(packet.len() + 4);
    f.extend_from_slice(&[0xff, 0x03]);
    f.extend_from_slice(&PPP_IPV6.to_be_bytes());
    f.extend_from_slice(packet);
    f
}

/// The tally key of an ignored DHCPv6 message.
fn dhcp_reason(e: &Dhcpv6Ignored) -> &'static str {
    match e {
        Dhcpv6Ignored::NotDhcp => "udp not dhcpv6",
        Dhcpv6Ignored::BadSource => "dhcpv6 bad source",
        Dhcpv6Ignored::Malformed(_) => "dhcpv6 malformed",
        Dhcpv6Ignored::ServerMessage(_) => "dhcpv6 server message",
        Dhcpv6Ignored::Relayed => "dhcpv6 relayed",
        Dhcpv6Ignored::UnknownType(_) => "dhcpv6 unknown type",
        Dhcpv6Ignored::MissingClientId => "dhcpv6 missing client id",
        Dhcpv6Ignored::UnexpectedServerId => "dhcpv6 unexpected server id",
        Dhcpv6Ignored::MissingServerId => "dhcpv6 missing server id",
        Dhcpv6Ignored::WrongServerId => "dhcpv6 wrong server id",
        Dhcpv6Ignored::IaInInformationRequest => "dhcpv6 IA in information-request",
        Dhcpv6Ignored::NothingToConfirm => "dhcpv6 nothing to confirm",
        Dhcpv6Ignored::ReplyTooLarge(_) => "dhcpv6 reply too large",
    }
}

#[cfg(test)]
#[path = "ipv6_tests.rs"]
mod tests;
