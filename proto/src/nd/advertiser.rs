//! The per-link Router Advertisement sender (RFC 4861 §6.2), sans IO.
//!
//! Contract: [`RouterAdvertiser`] owns the RA timers of one PPP link. The
//! caller feeds it `start`, `handle_rs`, `handle_timeout` and `stop` with the
//! current time and an entropy source, drains whole IPv6 packets with
//! `poll_transmit` and arms one timer at `poll_timeout`. The same state,
//! inputs and entropy bytes always give the same packets and state. The
//! replicated part is [`RouterAdvertiser::to_pb`]; queued packets are not
//! replicated (a failover may lose one RA; the next one repairs that).

use core::net::Ipv6Addr;
use core::time::Duration;
use std::collections::VecDeque;

use super::message::{emit_nd_packet, parse_nd_packet, NdMessage, RouterAdvertisement};
use super::option::{encode_domain, NdOption, PrefixInformation};
use super::{NdError, ALL_NODES};
use crate::entropy::Entropy;
use crate::pb::nd as pb;
use crate::time::Timestamp;

/// RFC 4861 §10: at most this many initial RAs use the short interval.
pub const MAX_INITIAL_RTR_ADVERTISEMENTS: u32 = 3;
/// RFC 4861 §10: the interval cap for the initial RAs.
pub const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// RFC 4861 §10: the minimum gap between two RAs (we apply it to all RAs).
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §10: the largest random delay before answering an RS.
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);

/// RFC 4861 §6.2.1: the largest AdvDefaultLifetime (RFC 8319 raised it;
/// we keep the interoperable 9000 s).
const MAX_ROUTER_LIFETIME: u16 = 9000;

/// The advertising interface variables of RFC 4861 §6.2.1 for one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaConfig {
    /// MaxRtrAdvInterval: 4 s to 1800 s, default 600 s.
    pub max_interval: Duration,
    /// MinRtrAdvInterval: 3 s to 0.75 × max, default 0.33 × max.
    pub min_interval: Duration,
    /// AdvDefaultLifetime in seconds: 0 or max to 9000, default 3 × max.
    pub router_lifetime: u16,
    /// AdvCurHopLimit, default 64.
    pub cur_hop_limit: u8,
    /// AdvReachableTime in milliseconds (0: unspecified), at most 3 600 000.
    pub reachable_time: u32,
    /// AdvRetransTimer in milliseconds (0: unspecified).
    pub retrans_timer: u32,
    /// AdvManagedFlag (M): addresses by DHCPv6.
    pub managed: bool,
    /// AdvOtherConfigFlag (O): other configuration by DHCPv6.
    pub other_config: bool,
    /// AdvLinkMTU, sent when set (at least 1280).
    pub mtu: Option<u32>,
    /// AdvPrefixList.
    pub prefixes: Vec<PrefixInformation>,
    /// RDNSS servers (RFC 8106), sent when not empty.
    pub dns_servers: Vec<Ipv6Addr>,
    /// DNSSL domains (RFC 8106), sent when not empty.
    pub search_domains: Vec<String>,
    /// Lifetime of RDNSS and DNSSL in seconds (RFC 8106 §5.1: by default at
    /// least 3 × MaxRtrAdvInterval).
    pub dns_lifetime: u32,
}

/// Why an [`RaConfig`] is refused (an operator error, reported at start-up).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RaConfigError {
    /// RFC 4861 §6.2.1: MaxRtrAdvInterval must be within 4..=1800 s.
    #[error("MaxRtrAdvInterval must be within 4..=1800 s")]
    MaxInterval,
    /// RFC 4861 §6.2.1: MinRtrAdvInterval must be within 3 s..=0.75 × max.
    #[error("MinRtrAdvInterval must be within 3 s and 0.75 x MaxRtrAdvInterval")]
    MinInterval,
    /// RFC 4861 §6.2.1: AdvDefaultLifetime 0 or within max..=9000 s.
    #[error("router lifetime must be 0 or within MaxRtrAdvInterval..=9000 s")]
    RouterLifetime,
    /// RFC 4861 §6.2.1: AdvReachableTime at most 3 600 000 ms.
    #[error("reachable time above 3600000 ms")]
    ReachableTime,
    /// RFC 8200 §5: an IPv6 link MTU is at least 1280.
    #[error("MTU below 1280")]
    Mtu,
    /// A prefix longer than 128 bits or preferred above valid lifetime
    /// (RFC 4861 §4.6.2).
    #[error("bad prefix {0}")]
    Prefix(Ipv6Addr),
    /// A search domain that is not a valid DNS name.
    #[error("bad search domain {0:?}")]
    SearchDomain(String),
}

impl RaConfig {
    /// The RFC defaults with one on-link, autonomous /64 `prefix` and the
    /// default lifetimes of RFC 4861 §6.2.1 (valid 30 days, preferred 7 days).
    pub fn for_prefix(prefix: Ipv6Addr) -> Self {
        let max_interval = Duration::from_secs(600);
        RaConfig {
            max_interval,
            min_interval: Duration::from_secs(198),
            router_lifetime: 1800,
            cur_hop_limit: 64,
            reachable_time: 0,
            retrans_timer: 0,
            managed: false,
            other_config: false,
            mtu: None,
            prefixes: vec![PrefixInformation {
                prefix,
                prefix_len: 64,
                flags: PrefixInformation::ON_LINK | PrefixInformation::AUTONOMOUS,
                valid_lifetime: 2_592_000,
                preferred_lifetime: 604_800,
            }],
            dns_servers: Vec::new(),
            search_domains: Vec::new(),
            dns_lifetime: 1800,
        }
    }

    /// Sets MaxRtrAdvInterval and the values RFC 4861 §6.2.1 derives from
    /// it: MinRtrAdvInterval 0.33 × max (at least 3 s), AdvDefaultLifetime
    /// 3 × max (at most 9000 s), and the RDNSS/DNSSL lifetime 3 × max
    /// (RFC 8106 §5.1).
    pub fn with_max_interval(mut self, max: Duration) -> Self {
        self.max_interval = max;
        self.min_interval = (max * 33 / 100).max(Duration::from_secs(3));
        let three_max = max.as_secs().saturating_mul(3);
        self.router_lifetime = u16::try_from(three_max.min(u64::from(MAX_ROUTER_LIFETIME)))
            .unwrap_or(MAX_ROUTER_LIFETIME);
        self.dns_lifetime = u32::try_from(three_max).unwrap_or(u32::MAX);
        self
    }

    /// Checks every limit of RFC 4861 §6.2.1 and the option contents.
    pub fn validate(&self) -> Result<(), RaConfigError> {
        if self.max_interval < Duration::from_secs(4)
            || self.max_interval > Duration::from_secs(1800)
        {
            return Err(RaConfigError::MaxInterval);
        }
        if self.min_interval < Duration::from_secs(3)
            || self.min_interval * 4 > self.max_interval * 3
        {
            return Err(RaConfigError::MinInterval);
        }
        let lifetime = Duration::from_secs(u64::from(self.router_lifetime));
        if self.router_lifetime != 0
            && (lifetime < self.max_interval || self.router_lifetime > MAX_ROUTER_LIFETIME)
        {
            return Err(RaConfigError::RouterLifetime);
        }
        if self.reachable_time > 3_600_000 {
            return Err(RaConfigError::ReachableTime);
        }
        if self.mtu.is_some_and(|m| m < 1280) {
            return Err(RaConfigError::Mtu);
        }
        for p in &self.prefixes {
            if p.prefix_len > 128 || p.preferred_lifetime > p.valid_lifetime {
                return Err(RaConfigError::Prefix(p.prefix));
            }
        }
        for d in &self.search_domains {
            encode_domain(d, &mut Vec::new())
                .map_err(|_| RaConfigError::SearchDomain(d.clone()))?;
        }
        Ok(())
    }

    /// The Router Advertisement this configuration describes, with
    /// `router_lifetime` (0 in the final RA of RFC 4861 §6.2.5).
    pub fn advertisement(&self, router_lifetime: u16) -> RouterAdvertisement {
        let mut flags = 0;
        if self.managed {
            flags |= RouterAdvertisement::MANAGED;
        }
        if self.other_config {
            flags |= RouterAdvertisement::OTHER_CONFIG;
        }
        let mut options: Vec<NdOption> = Vec::new();
        options.extend(self.mtu.map(NdOption::Mtu));
        options.extend(
            self.prefixes
                .iter()
                .copied()
                .map(NdOption::PrefixInformation),
        );
        if !self.dns_servers.is_empty() {
            options.push(NdOption::Rdnss {
                lifetime: self.dns_lifetime,
                servers: self.dns_servers.clone(),
            });
        }
        if !self.search_domains.is_empty() {
            options.push(NdOption::Dnssl {
                lifetime: self.dns_lifetime,
                domains: self.search_domains.clone(),
            });
        }
        RouterAdvertisement {
            cur_hop_limit: self.cur_hop_limit,
            flags,
            router_lifetime,
            reachable_time: self.reachable_time,
            retrans_timer: self.retrans_timer,
            options,
        }
    }
}

/// Why a Router Solicitation got no answer (for counters and logs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RsIgnored {
    /// The packet failed the checks of RFC 4861 §6.1.1.
    #[error("invalid RS: {0}")]
    Invalid(NdError),
    /// A valid ND message that is not an RS (an RA from the subscriber).
    #[error("not a router solicitation")]
    NotSolicitation,
    /// The link is not advertising (before `start` or after `stop`).
    #[error("link not advertising")]
    NotAdvertising,
}

/// Why replicated advertiser state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RaStateError {
    /// Unknown phase number.
    #[error("unknown phase {0}")]
    Phase(i32),
    /// A solicited destination that is not 16 bytes.
    #[error("bad solicited destination")]
    Destination,
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] RaConfigError),
}

/// Where the link is in its advertising life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Advertising,
    Stopped,
}

/// A solicited RA waiting for its random delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Solicited {
    at: Timestamp,
    dst: Ipv6Addr,
}

/// The RA sender of one link.
#[derive(Clone, Debug)]
pub struct RouterAdvertiser {
    config: RaConfig,
    link_local: Ipv6Addr,
    phase: Phase,
    initial_sent: u32,
    next_unsolicited: Option<Timestamp>,
    solicited: Option<Solicited>,
    last_sent: Option<Timestamp>,
    transmit: VecDeque<Vec<u8>>,
}

impl RouterAdvertiser {
    /// An idle advertiser for a link whose link-local address (see
    /// [`super::link_local_address`]) is `link_local`.
    pub fn new(config: RaConfig, link_local: Ipv6Addr) -> Result<Self, RaConfigError> {
        config.validate()?;
        Ok(RouterAdvertiser {
            config,
            link_local,
            phase: Phase::Idle,
            initial_sent: 0,
            next_unsolicited: None,
            solicited: None,
            last_sent: None,
            transmit: VecDeque::new(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &RaConfig {
        &self.config
    }

    /// The link became an advertising interface (IPV6CP opened): send the
    /// first RA now and schedule the next ones. Does nothing if already
    /// started or once stopped (a renegotiated link gets a new advertiser).
    pub fn start(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        match self.phase {
            // RFC 4861 §6.2.4: an interface becoming advertising sends its
            // first RA at once, then up to MAX_INITIAL_RTR_ADVERTISEMENTS at
            // intervals capped by MAX_INITIAL_RTR_ADVERT_INTERVAL.
            Phase::Idle => {
                self.phase = Phase::Advertising;
                self.send_multicast(now, entropy);
            }
            Phase::Advertising | Phase::Stopped => {}
        }
    }

    /// Handles a received IPv6 packet that should be a Router Solicitation.
    pub fn handle_rs(
        &mut self,
        now: Timestamp,
        packet: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<(), RsIgnored> {
        let rx = parse_nd_packet(packet).map_err(RsIgnored::Invalid)?;
        if !matches!(rx.message, NdMessage::RouterSolicitation(_)) {
            return Err(RsIgnored::NotSolicitation);
        }
        if self.phase != Phase::Advertising {
            return Err(RsIgnored::NotAdvertising);
        }
        // RFC 4861 §6.2.6: reply to the soliciting address when it is
        // specified, else to all-nodes.
        let dst = if rx.src.is_unspecified() {
            ALL_NODES
        } else {
            rx.src
        };
        let delay = random_duration(entropy, Duration::ZERO, MAX_RA_DELAY_TIME);
        let mut at = now + delay;
        // RFC 4861 §6.2.6: a scheduled multicast RA due before the random
        // delay answers the solicitation.
        if self.next_unsolicited.is_some_and(|next| next <= at) {
            return Ok(());
        }
        // RFC 4861 §6.2.6: rate limit to one RA per MIN_DELAY_BETWEEN_RAS.
        if let Some(last) = self.last_sent {
            if now.saturating_since(last) < MIN_DELAY_BETWEEN_RAS {
                at = last + MIN_DELAY_BETWEEN_RAS + delay;
            }
        }
        self.solicited = Some(match self.solicited {
            None => Solicited { at, dst },
            // Already one pending: keep its time; two askers share ff02::1.
            Some(p) => Solicited {
                at: p.at.min(at),
                dst: if p.dst == dst { dst } else { ALL_NODES },
            },
        });
        Ok(())
    }

    /// Sends whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.phase != Phase::Advertising {
            return;
        }
        if self.next_unsolicited.is_some_and(|t| t <= now) {
            // RFC 4861 §6.2.4: the periodic unsolicited multicast RA; it
            // also answers a solicitation due at the same time.
            self.send_multicast(now, entropy);
        } else if let Some(s) = self.solicited.filter(|s| s.at <= now) {
            // RFC 4861 §6.2.6: the delayed answer to a solicitation.
            self.solicited = None;
            if s.dst == ALL_NODES {
                self.send_multicast(now, entropy);
            } else {
                self.queue_ra(s.dst, self.config.router_lifetime);
                self.last_sent = Some(now);
            }
        }
    }

    /// When `handle_timeout` must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match (self.next_unsolicited, self.solicited.map(|s| s.at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next IPv6 packet to send on the link.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The link stops advertising (session ending): one final RA with Router
    /// Lifetime 0 (RFC 4861 §6.2.5), then silence.
    pub fn stop(&mut self, now: Timestamp) {
        if self.phase == Phase::Advertising {
            self.queue_ra(ALL_NODES, 0);
            self.last_sent = Some(now);
        }
        self.phase = Phase::Stopped;
        self.next_unsolicited = None;
        self.solicited = None;
    }

    /// The replicated state (timers as wall-clock deadlines).
    pub fn to_pb(&self) -> pb::RouterAdvertiserState {
        pb::RouterAdvertiserState {
            phase: match self.phase {
                Phase::Idle => pb::Phase::Idle,
                Phase::Advertising => pb::Phase::Advertising,
                Phase::Stopped => pb::Phase::Stopped,
            } as i32,
            initial_sent: self.initial_sent,
            next_unsolicited_us: self.next_unsolicited.map(Timestamp::unix_micros),
            solicited_at_us: self.solicited.map(|s| s.at.unix_micros()),
            solicited_dst: self
                .solicited
                .map(|s| s.dst.octets().to_vec())
                .unwrap_or_default(),
            last_sent_us: self.last_sent.map(Timestamp::unix_micros),
        }
    }

    /// Rebuilds an advertiser from replicated state and its configuration.
    pub fn from_pb(
        config: RaConfig,
        link_local: Ipv6Addr,
        state: &pb::RouterAdvertiserState,
    ) -> Result<Self, RaStateError> {
        let mut ra = RouterAdvertiser::new(config, link_local)?;
        ra.phase = match pb::Phase::try_from(state.phase) {
            Ok(pb::Phase::Idle) => Phase::Idle,
            Ok(pb::Phase::Advertising) => Phase::Advertising,
            Ok(pb::Phase::Stopped) => Phase::Stopped,
            Err(_) => return Err(RaStateError::Phase(state.phase)),
        };
        ra.initial_sent = state.initial_sent;
        ra.next_unsolicited = state.next_unsolicited_us.map(Timestamp::from_unix_micros);
        ra.last_sent = state.last_sent_us.map(Timestamp::from_unix_micros);
        ra.solicited = match state.solicited_at_us {
            None => None,
            Some(at) => {
                let octets: [u8; 16] = state
                    .solicited_dst
                    .as_slice()
                    .try_into()
                    .map_err(|_| RaStateError::Destination)?;
                Some(Solicited {
                    at: Timestamp::from_unix_micros(at),
                    dst: Ipv6Addr::from(octets),
                })
            }
        };
        Ok(ra)
    }

    /// Sends a multicast RA now and restarts the unsolicited timer.
    fn send_multicast(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        self.queue_ra(ALL_NODES, self.config.router_lifetime);
        self.last_sent = Some(now);
        self.initial_sent = self.initial_sent.saturating_add(1);
        // A multicast RA answers any pending solicitation too.
        self.solicited = None;
        // RFC 4861 §6.2.4: next one after a uniform random interval in
        // [MinRtrAdvInterval, MaxRtrAdvInterval], capped for the first ones.
        let mut interval =
            random_duration(entropy, self.config.min_interval, self.config.max_interval);
        if self.initial_sent < MAX_INITIAL_RTR_ADVERTISEMENTS {
            interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
        }
        self.next_unsolicited = Some(now + interval);
    }

    fn queue_ra(&mut self, dst: Ipv6Addr, router_lifetime: u16) {
        let ra = NdMessage::RouterAdvertisement(self.config.advertisement(router_lifetime));
        let mut packet = Vec::new();
        match emit_nd_packet(self.link_local, dst, &ra, &mut packet) {
            Ok(()) => self.transmit.push_back(packet),
            // RaConfig::validate checked every domain name and the option
            // sizes are fixed, so emission cannot fail; never send half a packet.
            Err(_) => debug_assert!(false, "validated RA failed to emit"),
        }
    }
}

/// A uniformly distributed duration in `[min, max]` at microsecond grain.
fn random_duration(entropy: &mut dyn Entropy, min: Duration, max: Duration) -> Duration {
    let lo = u64::try_from(min.as_micros()).unwrap_or(u64::MAX);
    let hi = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(lo);
    let span = hi - lo;
    let r = match span.checked_add(1) {
        Some(n) => entropy.next_u64() % n,
        None => entropy.next_u64(),
    };
    Duration::from_micros(lo + r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Seeded;
    use crate::nd::message::{RouterSolicitation, ND_HOP_LIMIT};
    use crate::nd::ReceivedNd;

    fn ll(s: &str) -> Ipv6Addr {
        s.parse().expect("literal")
    }

    fn advertiser() -> RouterAdvertiser {
        let mut c = RaConfig::for_prefix(ll("2001:db8:1:2::"));
        c.dns_servers = vec![ll("2001:db8::53")];
        c.search_domains = vec!["example.net".into()];
        c.mtu = Some(1492);
        RouterAdvertiser::new(c, ll("fe80::1")).expect("valid config")
    }

    fn rs_from(src: Ipv6Addr) -> Vec<u8> {
        let mut p = Vec::new();
        emit_nd_packet(
            src,
            super::super::ALL_ROUTERS,
            &NdMessage::RouterSolicitation(RouterSolicitation::default()),
            &mut p,
        )
        .expect("valid");
        p
    }

    fn drain(ra: &mut RouterAdvertiser) -> Vec<ReceivedNd> {
        std::iter::from_fn(|| ra.poll_transmit())
            .map(|p| {
                assert_eq!(p[7], ND_HOP_LIMIT);
                parse_nd_packet(&p).expect("we emit valid RAs")
            })
            .collect()
    }

    fn lifetime(rx: &ReceivedNd) -> u16 {
        match &rx.message {
            NdMessage::RouterAdvertisement(ra) => ra.router_lifetime,
            other => panic!("not an RA: {other:?}"),
        }
    }

    #[test]
    fn config_limits_of_rfc4861_6_2_1() {
        let base = RaConfig::for_prefix(ll("2001:db8::"));
        assert_eq!(base.validate(), Ok(()));
        let mut c = base.clone();
        c.router_lifetime = 9001;
        assert_eq!(c.validate(), Err(RaConfigError::RouterLifetime));
        let mut c = base.clone();
        c.router_lifetime = 0;
        assert_eq!(c.validate(), Ok(()));
        let mut c = base.clone();
        c.max_interval = Duration::from_secs(3);
        assert_eq!(c.validate(), Err(RaConfigError::MaxInterval));
        let mut c = base.clone();
        c.min_interval = Duration::from_secs(451);
        assert_eq!(c.validate(), Err(RaConfigError::MinInterval));
        let mut c = base.clone();
        c.prefixes[0].preferred_lifetime = c.prefixes[0].valid_lifetime + 1;
        assert!(matches!(c.validate(), Err(RaConfigError::Prefix(_))));
        let mut c = base;
        c.search_domains = vec!["bad..name".into()];
        assert!(matches!(c.validate(), Err(RaConfigError::SearchDomain(_))));
    }

    #[test]
    fn derived_defaults_follow_max_interval() {
        let c = RaConfig::for_prefix(ll("2001:db8::")).with_max_interval(Duration::from_secs(60));
        assert_eq!(c.min_interval, Duration::from_millis(19_800));
        assert_eq!((c.router_lifetime, c.dns_lifetime), (180, 180));
        assert_eq!(c.validate(), Ok(()));
        let c = RaConfig::for_prefix(ll("2001:db8::")).with_max_interval(Duration::from_secs(4));
        assert_eq!(c.min_interval, Duration::from_secs(3));
        assert_eq!(c.validate(), Ok(()));
        // 3 x 1800 s is 5400 s, within the 9000 s router lifetime maximum.
        let c = RaConfig::for_prefix(ll("2001:db8::")).with_max_interval(Duration::from_secs(1800));
        assert_eq!(c.router_lifetime, 5400);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn initial_ras_use_the_short_interval_then_min_max() {
        // RFC 4861 §6.2.4: the first RA at once, the next
        // MAX_INITIAL_RTR_ADVERTISEMENTS - 1 within 16 s each.
        let mut ra = advertiser();
        let mut e = Seeded::new(1);
        let t0 = Timestamp::from_unix_millis(1_000_000);
        ra.start(t0, &mut e);
        let first = drain(&mut ra);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].dst, ALL_NODES);
        assert_eq!(first[0].src, ll("fe80::1"));
        assert_eq!(lifetime(&first[0]), 1800);
        let mut now = t0;
        for _ in 1..MAX_INITIAL_RTR_ADVERTISEMENTS {
            let next = ra.poll_timeout().expect("armed");
            assert!(next.saturating_since(now) <= MAX_INITIAL_RTR_ADVERT_INTERVAL);
            now = next;
            ra.handle_timeout(now, &mut e);
            assert_eq!(drain(&mut ra).len(), 1);
        }
        for _ in 0..5 {
            let next = ra.poll_timeout().expect("armed");
            let gap = next.saturating_since(now);
            assert!(gap >= Duration::from_secs(198) && gap <= Duration::from_secs(600));
            now = next;
            ra.handle_timeout(now, &mut e);
            assert_eq!(drain(&mut ra).len(), 1);
        }
    }

    #[test]
    fn solicitation_is_answered_after_a_random_delay_and_rate_limited() {
        let mut ra = advertiser();
        let mut e = Seeded::new(2);
        let t0 = Timestamp::from_unix_millis(5_000_000);
        ra.start(t0, &mut e);
        drain(&mut ra);
        // An RS 10 s later: answered within MAX_RA_DELAY_TIME, unicast.
        let t1 = t0 + Duration::from_secs(10);
        ra.handle_rs(t1, &rs_from(ll("fe80::2")), &mut e)
            .expect("valid RS");
        let due = ra.poll_timeout().expect("armed");
        assert!(due >= t1 && due <= t1 + MAX_RA_DELAY_TIME);
        ra.handle_timeout(due, &mut e);
        let sent = drain(&mut ra);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].dst, ll("fe80::2"));
        // A second RS right away waits for MIN_DELAY_BETWEEN_RAS.
        ra.handle_rs(due, &rs_from(ll("fe80::2")), &mut e)
            .expect("valid RS");
        let again = ra.poll_timeout().expect("armed");
        assert!(again >= due + MIN_DELAY_BETWEEN_RAS);
        ra.handle_timeout(again - Duration::from_millis(1), &mut e);
        assert!(drain(&mut ra).is_empty());
        ra.handle_timeout(again, &mut e);
        assert_eq!(drain(&mut ra).len(), 1);
    }

    #[test]
    fn rs_is_ignored_with_a_reason() {
        let mut ra = advertiser();
        let mut e = Seeded::new(3);
        let now = Timestamp::from_unix_millis(1);
        assert_eq!(
            ra.handle_rs(now, &rs_from(ll("fe80::2")), &mut e),
            Err(RsIgnored::NotAdvertising)
        );
        ra.start(now, &mut e);
        let mut bad = rs_from(ll("fe80::2"));
        bad[7] = 1;
        assert_eq!(
            ra.handle_rs(now, &bad, &mut e),
            Err(RsIgnored::Invalid(NdError::BadHopLimit(1)))
        );
        let own = ra.poll_transmit().expect("initial RA");
        assert_eq!(
            ra.handle_rs(now, &own, &mut e),
            Err(RsIgnored::NotSolicitation)
        );
    }

    #[test]
    fn stop_sends_a_final_ra_with_zero_lifetime() {
        // RFC 4861 §6.2.5.
        let mut ra = advertiser();
        let mut e = Seeded::new(4);
        let now = Timestamp::from_unix_millis(10);
        ra.start(now, &mut e);
        drain(&mut ra);
        ra.stop(now + Duration::from_secs(1));
        let sent = drain(&mut ra);
        assert_eq!(sent.len(), 1);
        assert_eq!(lifetime(&sent[0]), 0);
        assert_eq!(ra.poll_timeout(), None);
    }

    #[test]
    fn state_round_trips_through_protobuf_and_stays_deterministic() {
        let mut a = advertiser();
        let mut e = Seeded::new(5);
        let now = Timestamp::from_unix_millis(77_000);
        a.start(now, &mut e);
        a.handle_rs(
            now + Duration::from_secs(1),
            &rs_from(ll("fe80::9")),
            &mut e,
        )
        .expect("valid RS");
        let state = a.to_pb();
        let mut b =
            RouterAdvertiser::from_pb(a.config().clone(), ll("fe80::1"), &state).expect("valid");
        assert_eq!(b.to_pb(), state);
        assert_eq!(b.poll_timeout(), a.poll_timeout());
        let due = a.poll_timeout().expect("armed");
        let (mut ea, mut eb) = (Seeded::new(9), Seeded::new(9));
        a.handle_timeout(due, &mut ea);
        b.handle_timeout(due, &mut eb);
        drain(&mut a);
        assert_eq!(a.to_pb(), b.to_pb());
        assert_eq!(a.poll_transmit(), None);
        assert!(b.poll_transmit().is_some());
    }
}
