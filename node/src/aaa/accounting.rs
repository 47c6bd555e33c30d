//! # Sending accounting records (RFC 2866) and reporting their acks
//!
//! Contract: [`Sender`] is the sans-IO core: it takes the engine's
//! [`AccountingRecord`]s, turns each into an Accounting-Request (RFC 2866
//! §4.1: Acct-Status-Type, Acct-Session-Id, User-Name, NAS-IP-Address /
//! NAS-Identifier, NAS-Port, Class, Framed-IP-Address, IPv6 prefixes,
//! octets with Gigawords (RFC 2869 §5.1), packets, Session-Time,
//! Terminate-Cause, Event-Timestamp (RFC 2869 §5.3)) and sends it through
//! `lns_proto::radius::Client` and fails over along the server list. When
//! every server gave up, the record is tried again after a backoff
//! ([`backoff`]: 5 s doubling to 5 min): a record is never abandoned, only
//! acknowledged.
//!
//! Every transmission carries Acct-Delay-Time, the whole seconds since the
//! record's event (RFC 2866 §5.2), and the client retransmits with it
//! grown under a fresh Identifier. Everything else in the request comes
//! from the replicated record (committed before it is emitted), so a record
//! the old active node sent, whose acknowledgement it did not commit
//! before it died, is sent again by the new active node as the same
//! record: the same Acct-Session-Id, Event-Timestamp and attributes, with
//! only Acct-Delay-Time grown, and from the same (tunnel address, port)
//! when [`AccountingSettings::bind`] is one, so the servers know one NAS
//! and a collector can tell the copy from a second Start (RUNBOOK). Each
//! Accounting-Response becomes an ack ([`Sender::poll_ack`]) that the
//! control task feeds to the engine as `Input::AccountingAcked`. A record
//! already known (the same id sent again after a failover) is not doubled;
//! a newer Interim of a session replaces its older unacknowledged one.
//! Accounting-On and -Off (RFC 2866 §5.1) keep their order with the
//! sessions' records: nothing else goes out while an Accounting-On is
//! unacknowledged, and an Accounting-Off goes out last.
//!
//! [`spawn`] runs it as a tokio task over one UDP socket. A datagram the
//! kernel refuses (the tunnel address is not ours yet, right after this
//! node became active) is tried again every [`UNSENT_RETRY`]. Secrets never
//! reach a log (`Secret`'s `Debug` hides them).

use super::report::RadiusReport;
use crate::dataplane::BindMode;
use crate::engine::{AccountingRecord, RecordKind};
use crate::metrics::{Metrics, RadiusKind};
use crate::system::{now, OsEntropy};
use lns_proto::entropy::Entropy;
use lns_proto::radius::{
    accounting_nas_event, accounting_request, AccountingKind, AccountingParams, Attribute, Client,
    ClientConfig, Code, Counters, Event, Handle, Ipv6Prefix, Nas, NasEvent, Port, Request,
};
use lns_proto::time::Timestamp;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// First wait after every server gave up on a record.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
/// Longest wait between rounds.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often a datagram the kernel refused is tried again.
pub const UNSENT_RETRY: Duration = Duration::from_millis(100);
/// Refused datagrams kept for [`UNSENT_RETRY`] (the client retransmits
/// the same bytes anyway).
const UNSENT_MAX: usize = 4096;

/// Accounting configuration.
#[derive(Clone, Debug)]
pub struct AccountingSettings {
    /// Accounting servers (`acct_servers`), timeouts, tries, dead time.
    pub client: ClientConfig,
    /// How we name ourselves.
    pub nas: Nas,
    /// Local address to send from; in a cluster, a tunnel address and a
    /// fixed port, so that every node is the same client to the servers.
    pub bind: Option<SocketAddr>,
    /// [`BindMode::Freebind`] in a cluster: the tunnel address is bound
    /// before the node holds it (sends fail until it does).
    pub bind_mode: BindMode,
}

/// The wait before round `n` (1 = after the first round failed).
pub fn backoff(n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(16);
    BACKOFF_FIRST.saturating_mul(factor).min(BACKOFF_MAX)
}

/// The sans-IO sender.
#[derive(Debug)]
pub struct Sender {
    client: Client,
    nas: Nas,
    /// Records not acknowledged yet, by id.
    records: BTreeMap<u64, Pending>,
    in_flight: BTreeMap<Handle, u64>,
    acks: Vec<u64>,
}

#[derive(Debug)]
struct Pending {
    record: AccountingRecord,
    handle: Option<Handle>,
    /// Rounds that failed on every server.
    rounds: u32,
    /// When to try again (no handle).
    retry_at: Option<Timestamp>,
}

impl Sender {
    /// A sender with nothing to send.
    pub fn new(settings: &AccountingSettings) -> Sender {
        Sender {
            client: Client::new(settings.client.clone()),
            nas: settings.nas.clone(),
            records: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            acks: Vec::new(),
        }
    }

    /// Sends `record` (once: a record already held is left alone).
    pub fn submit(&mut self, now: Timestamp, record: AccountingRecord) {
        if self.records.contains_key(&record.id) {
            return;
        }
        if record.kind == RecordKind::Interim {
            let older: Vec<u64> = self
                .records
                .values()
                .filter(|p| {
                    p.record.kind == RecordKind::Interim
                        && p.record.acct_session_id == record.acct_session_id
                        && p.record.id < record.id
                })
                .map(|p| p.record.id)
                .collect();
            for id in older {
                if let Some(Pending {
                    handle: Some(h), ..
                }) = self.records.remove(&id)
                {
                    self.in_flight.remove(&h);
                    self.client.cancel(now, h);
                }
            }
        }
        let id = record.id;
        let go = self.startable(&record);
        self.records.insert(
            id,
            Pending {
                record,
                handle: None,
                rounds: 0,
                retry_at: None,
            },
        );
        if go {
            self.start(now, id);
        }
        // An Accounting-Off may have been waiting for nothing but this.
        self.release(now);
    }

    /// A datagram from a server.
    pub fn handle_datagram(&mut self, now: Timestamp, from: SocketAddr, bytes: &[u8]) {
        self.client.handle_datagram(now, from, bytes);
        self.drain(now);
        self.release(now);
    }

    /// Timers: the client's retransmissions and the backoff rounds.
    pub fn handle_timeout(&mut self, now: Timestamp, entropy: &mut dyn Entropy) {
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now, entropy);
        }
        self.drain(now);
        let due: Vec<u64> = self
            .records
            .iter()
            .filter(|(_, p)| p.handle.is_none() && p.retry_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if self
                .records
                .get(&id)
                .is_some_and(|p| self.startable(&p.record))
            {
                self.start(now, id);
            } else if let Some(p) = self.records.get_mut(&id) {
                p.retry_at = None; // held until `release`
            }
        }
        self.release(now);
    }

    /// The next instant [`Sender::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let retry = self.records.values().filter_map(|p| p.retry_at).min();
        [self.client.poll_timeout(), retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next datagram: (server, bytes).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.client.poll_transmit().map(|t| (t.server, t.payload))
    }

    /// Ids of records a server acknowledged since the last call.
    pub fn poll_acks(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.acks)
    }

    /// Records not acknowledged yet.
    pub fn pending(&self) -> usize {
        self.records.len()
    }

    /// Per-server statistics.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// RFC 2866 §5.1 order: a session's record waits while an
    /// Accounting-On is unacknowledged (the server would close what it
    /// opens), and an Accounting-Off waits until it is the last record.
    fn startable(&self, r: &AccountingRecord) -> bool {
        match r.kind {
            RecordKind::AccountingOn => true,
            RecordKind::AccountingOff => self
                .records
                .values()
                .all(|p| p.record.kind == RecordKind::AccountingOff),
            _ => !self
                .records
                .values()
                .any(|p| p.record.kind == RecordKind::AccountingOn),
        }
    }

    /// Starts the held records (neither in flight nor waiting for a
    /// backoff round) that may go now.
    fn release(&mut self, now: Timestamp) {
        let held: Vec<u64> = self
            .records
            .iter()
            .filter(|(_, p)| p.handle.is_none() && p.retry_at.is_none())
            .filter(|(_, p)| self.startable(&p.record))
            .map(|(id, _)| *id)
            .collect();
        for id in held {
            self.start(now, id);
        }
    }

    fn start(&mut self, now: Timestamp, id: u64) {
        let Some(p) = self.records.get_mut(&id) else {
            return;
        };
        p.retry_at = None;
        let request = request(&p.record, &self.nas, now);
        match self.client.send_accounting(now, request) {
            Ok(h) => {
                p.handle = Some(h);
                self.in_flight.insert(h, id);
            }
            Err(e) => {
                // Cannot happen with the attributes we build (each is far
                // below 253 octets); dropping is the only way out.
                tracing::error!(
                    record = id,
                    "Accounting-Request not encodable, dropped: {e}"
                );
                self.records.remove(&id);
            }
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Timestamp) {
        while let Some(ev) = self.client.poll_event() {
            match ev {
                Event::Reply { handle, packet, .. } => {
                    let Some(id) = self.in_flight.remove(&handle) else {
                        continue;
                    };
                    if packet.code == Code::AccountingResponse {
                        self.records.remove(&id);
                        self.acks.push(id);
                    }
                }
                Event::Timeout { handle } => {
                    let Some(id) = self.in_flight.remove(&handle) else {
                        continue;
                    };
                    if let Some(p) = self.records.get_mut(&id) {
                        p.handle = None;
                        p.rounds += 1;
                        let wait = backoff(p.rounds);
                        p.retry_at = Some(now + wait);
                        tracing::warn!(
                            record = id,
                            acct_session_id = %p.record.acct_session_id,
                            retry_in = ?wait,
                            "no accounting server answered; the record is kept and retried"
                        );
                    }
                }
            }
        }
    }
}

/// The Accounting-Request for `r` sent at `now` (Acct-Delay-Time counts
/// from the event, RFC 2866 §5.2).
pub fn request(r: &AccountingRecord, nas: &Nas, now: Timestamp) -> Request {
    let mut req = match r.kind {
        // RFC 2866 §5.1: NAS-wide, no session attributes.
        RecordKind::AccountingOn => {
            accounting_nas_event(NasEvent::On, nas, &r.acct_session_id, r.event_time)
        }
        RecordKind::AccountingOff => {
            accounting_nas_event(NasEvent::Off, nas, &r.acct_session_id, r.event_time)
        }
        RecordKind::Start => session_request(r, nas, AccountingKind::Start),
        RecordKind::Interim => session_request(r, nas, AccountingKind::Interim),
        RecordKind::Stop(c) => session_request(r, nas, AccountingKind::Stop(c)),
    };
    let delay = u32::try_from(now.saturating_since(r.event_time).as_secs()).unwrap_or(u32::MAX);
    for a in &mut req.attributes {
        if let Attribute::AcctDelayTime(d) = a {
            *d = delay;
        }
    }
    req
}

/// The Start, Interim-Update or Stop of a session (before Acct-Delay-Time).
fn session_request(r: &AccountingRecord, nas: &Nas, kind: AccountingKind) -> Request {
    let text = |v: &Option<Vec<u8>>| v.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    let prefix = |(a, l): (std::net::Ipv6Addr, u8)| Ipv6Prefix::new(a, l);
    let params = AccountingParams {
        kind,
        session_id: r.acct_session_id.clone(),
        user_name: r.user.clone(),
        nas: nas.clone(),
        port: Port {
            nas_port: r.nas_port,
            nas_port_id: Some(format!(
                "tunnel-{}/session-{}",
                r.session.tunnel, r.session.session
            )),
            calling_station_id: text(&r.calling_station),
            called_station_id: text(&r.called_station),
        },
        authentic: r.authentic,
        framed_ip: r.framed_ip,
        framed_ipv6_prefixes: r
            .framed_ipv6_prefixes
            .iter()
            .copied()
            .filter_map(prefix)
            .collect(),
        delegated_ipv6_prefix: r.delegated_ipv6_prefix.and_then(prefix),
        class: r.class.clone(),
        session_time: r.session_time,
        counters: Counters {
            input_octets: r.traffic.input_octets,
            output_octets: r.traffic.output_octets,
            input_packets: r.traffic.input_packets,
            output_packets: r.traffic.output_packets,
        },
        event_time: r.event_time,
        tunnel: None,
    };
    accounting_request(&params)
}

/// Starts the accounting task: records in, acknowledged record ids out;
/// per-server statistics to `metrics` (kind `accounting`) if given.
pub fn spawn(
    settings: AccountingSettings,
    acks: mpsc::Sender<u64>,
    queue: usize,
    metrics: Option<Arc<Metrics>>,
) -> (mpsc::Sender<AccountingRecord>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue);
    let task = tokio::spawn(async move {
        if let Err(e) = run(settings, rx, acks, metrics).await {
            tracing::error!("accounting disabled: {e}");
        }
    });
    (tx, task)
}

async fn run(
    settings: AccountingSettings,
    mut records: mpsc::Receiver<AccountingRecord>,
    acks: mpsc::Sender<u64>,
    metrics: Option<Arc<Metrics>>,
) -> std::io::Result<()> {
    let v6 = settings
        .client
        .acct_servers
        .first()
        .is_some_and(|s| s.addr.is_ipv6());
    let bind = settings.bind.unwrap_or_else(|| {
        if v6 {
            "[::]:0".parse().expect("literal")
        } else {
            "0.0.0.0:0".parse().expect("literal")
        }
    });
    let socket = match settings.bind {
        // A cluster's tunnel address, bound before this node holds it.
        Some(at) => {
            let s = crate::dataplane::socket::bind_with(at, settings.bind_mode)?;
            s.set_nonblocking(true)?;
            UdpSocket::from_std(s)?
        }
        None => UdpSocket::bind(bind).await?,
    };
    let mut unsent: VecDeque<(SocketAddr, Vec<u8>)> = VecDeque::new();
    // Whether the kernel refuses our datagrams (logged once per spell).
    let mut refused = false;
    let mut entropy = OsEntropy::open()?;
    let mut sender = Sender::new(&settings);
    let mut buf = [0u8; 4096];
    let mut report = RadiusReport::for_kind(RadiusKind::Accounting);
    if let Some(m) = &metrics {
        for s in &settings.client.acct_servers {
            m.radius_server(&s.addr.to_string());
        }
    }
    loop {
        if let Some(m) = &metrics {
            report.report(sender.client(), m);
        }
        let retry = std::mem::take(&mut unsent);
        let was_refused = refused;
        let fresh = std::iter::from_fn(|| sender.poll_transmit());
        for (to, bytes) in retry.into_iter().chain(fresh) {
            if let Err(e) = socket.send_to(&bytes, to).await {
                if !refused {
                    refused = true;
                    tracing::info!(server = %to, "accounting send failed, retried: {e}");
                }
                if unsent.len() == UNSENT_MAX {
                    unsent.pop_front();
                }
                unsent.push_back((to, bytes));
            }
        }
        if was_refused && unsent.is_empty() {
            refused = false;
            tracing::info!("accounting datagrams go out again");
        }
        for id in sender.poll_acks() {
            if acks.send(id).await.is_err() {
                return Ok(()); // The control task is gone.
            }
        }
        let deadline = if unsent.is_empty() {
            sender.poll_timeout()
        } else {
            let soon = now() + UNSENT_RETRY;
            Some(sender.poll_timeout().map_or(soon, |t| t.min(soon)))
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep(d.saturating_since(now())).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = records.recv() => match r {
                Some(record) => sender.submit(now(), record),
                None => return Ok(()),
            },
            r = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    sender.handle_datagram(now(), from, &buf[..n]);
                }
            }
            () = sleep => sender.handle_timeout(now(), &mut entropy),
        }
    }
}

/// Test support: the Accounting-Response a server with `secret` sends for
/// `request` bytes (RFC 2866 §3).
#[cfg(test)]
pub(crate) fn accounting_response(request: &[u8], secret: &str) -> Vec<u8> {
    use lns_proto::radius::signing::encode_reply;
    use lns_proto::radius::{Code, Packet, Secret};
    let req = Packet::parse(request).expect("our request parses");
    let reply = Packet {
        code: Code::AccountingResponse,
        identifier: req.identifier,
        authenticator: [0; 16],
        attributes: Vec::new(),
    };
    let mut out = Vec::new();
    encode_reply(&reply, &req.authenticator, &Secret::new(secret), &mut out).expect("small");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SessionKey, Traffic};
    use lns_proto::entropy::Seeded;
    use lns_proto::radius::values::AcctAuthentic;
    use lns_proto::radius::{AcctTerminateCause, Packet, Secret, ServerConfig};

    fn t0() -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000)
    }

    fn server(port: u16) -> ServerConfig {
        ServerConfig {
            addr: SocketAddr::from(([192, 0, 2, 10], port)),
            secret: Secret::new("acct-secret"),
            timeout: Duration::from_secs(3),
            tries: 2,
        }
    }

    fn settings() -> AccountingSettings {
        AccountingSettings {
            client: ClientConfig {
                auth_servers: Vec::new(),
                acct_servers: vec![server(1813), server(1814)],
                dead_time: Duration::ZERO,
            },
            nas: Nas {
                ipv4: Some([192, 0, 2, 2].into()),
                ipv6: None,
                identifier: Some("lns1".into()),
            },
            bind: None,
            bind_mode: BindMode::Local,
        }
    }

    fn record(id: u64, kind: RecordKind) -> AccountingRecord {
        AccountingRecord {
            id,
            kind,
            session: SessionKey {
                tunnel: 1,
                session: 2,
            },
            acct_session_id: "0011223344556677".into(),
            user: "alice".into(),
            class: vec![b"gold".to_vec()],
            framed_ip: Some([198, 18, 0, 9].into()),
            framed_ipv6_prefixes: vec![("2001:db8:1::".parse().expect("literal"), 64)],
            delegated_ipv6_prefix: None,
            nas_port: 0x0001_0002,
            authentic: AcctAuthentic::Radius,
            calling_station: Some(b"0123".to_vec()),
            called_station: None,
            traffic: Traffic {
                input_octets: 0x1_0000_0005,
                output_octets: 7,
                input_packets: 3,
                output_packets: 4,
            },
            session_time: Duration::from_secs(61),
            event_time: t0(),
        }
    }

    /// The Accounting-Response a server sends for `request` bytes.
    fn response(request: &[u8]) -> Vec<u8> {
        accounting_response(request, "acct-secret")
    }

    fn attr(packet: &[u8], pick: impl Fn(&Attribute) -> Option<u32>) -> Option<u32> {
        let p = Packet::parse(packet).expect("parses");
        p.attributes.iter().find_map(pick)
    }

    #[test]
    fn rfc2866_stop_carries_counters_with_gigawords_cause_and_class() {
        let r = request(
            &record(1, RecordKind::Stop(AcctTerminateCause::UserRequest)),
            &settings().nas,
            t0() + Duration::from_secs(4),
        );
        let has = |a: Attribute| r.attributes.contains(&a);
        assert!(has(Attribute::AcctStatusType(
            lns_proto::radius::AcctStatusType::Stop
        )));
        assert!(has(Attribute::AcctSessionId("0011223344556677".into())));
        // RFC 2869 §5.1: 0x1_0000_0005 = 1 Gigaword + 5 octets.
        assert!(has(Attribute::AcctInputOctets(5)));
        assert!(has(Attribute::AcctInputGigawords(1)));
        assert!(has(Attribute::AcctSessionTime(61)));
        assert!(has(Attribute::AcctTerminateCause(
            AcctTerminateCause::UserRequest
        )));
        assert!(has(Attribute::Class(b"gold".to_vec())));
        assert!(has(Attribute::NasIdentifier("lns1".into())));
        assert!(has(Attribute::FramedIpAddress([198, 18, 0, 9].into())));
        assert!(has(Attribute::EventTimestamp(1_700_000_000)));
        // RFC 2866 §5.2: sent 4 s after the event.
        assert!(has(Attribute::AcctDelayTime(4)));
        assert!(has(Attribute::AcctAuthentic(AcctAuthentic::Radius)));
        assert!(r
            .attributes
            .iter()
            .any(|a| matches!(a, Attribute::FramedIpv6Prefix(_))));
    }

    #[test]
    fn response_acks_the_record_and_a_repeat_is_not_sent_twice() {
        let mut s = Sender::new(&settings());
        s.submit(t0(), record(7, RecordKind::Start));
        s.submit(t0(), record(7, RecordKind::Start));
        let (to, bytes) = s.poll_transmit().expect("sent");
        assert!(s.poll_transmit().is_none(), "the same id is sent once");
        assert_eq!(to.port(), 1813);
        s.handle_datagram(t0(), to, &response(&bytes));
        assert_eq!(s.poll_acks(), vec![7]);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn retransmissions_grow_the_delay_fail_over_then_back_off_and_retry() {
        let mut s = Sender::new(&settings());
        let mut e = Seeded::new(3);
        s.submit(t0(), record(1, RecordKind::Start));
        let delay = |b: &[u8]| {
            attr(b, |a| match a {
                Attribute::AcctDelayTime(d) => Some(*d),
                _ => None,
            })
        };
        let (first, b1) = s.poll_transmit().expect("sent");
        assert_eq!(delay(&b1), Some(0));
        let mut now;
        let mut sent = vec![(first, delay(&b1))];
        // Two tries on each of the two servers.
        for _ in 0..3 {
            now = s.poll_timeout().expect("armed");
            s.handle_timeout(now, &mut e);
            let (to, b) = s.poll_transmit().expect("retransmitted");
            sent.push((to, delay(&b)));
        }
        assert_eq!(
            sent.iter().map(|(a, _)| a.port()).collect::<Vec<_>>(),
            vec![1813, 1813, 1814, 1814]
        );
        assert_eq!(sent[1].1, Some(3), "RFC 2866 §5.2: delay grows");
        // Every server gave up: backoff, then a new round from the first.
        now = s.poll_timeout().expect("armed");
        s.handle_timeout(now, &mut e);
        assert!(s.poll_transmit().is_none());
        let retry = s.poll_timeout().expect("backoff armed");
        assert_eq!(retry, now + BACKOFF_FIRST);
        s.handle_timeout(retry, &mut e);
        let (to, b) = s.poll_transmit().expect("new round");
        assert_eq!(to.port(), 1813);
        assert_eq!(delay(&b), Some(17));
        assert!(s.poll_acks().is_empty());
        assert_eq!(s.pending(), 1);
    }

    #[test]
    fn a_newer_interim_replaces_the_older_one() {
        let mut s = Sender::new(&settings());
        s.submit(t0(), record(1, RecordKind::Interim));
        s.submit(t0(), record(2, RecordKind::Interim));
        assert_eq!(s.pending(), 1);
        assert_eq!(backoff(1), BACKOFF_FIRST);
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    fn status(b: &[u8]) -> Option<lns_proto::radius::AcctStatusType> {
        Packet::parse(b)
            .expect("parses")
            .attributes
            .iter()
            .find_map(|a| match a {
                Attribute::AcctStatusType(t) => Some(*t),
                _ => None,
            })
    }

    #[test]
    fn rfc2866_5_1_accounting_on_goes_first_and_off_last() {
        use lns_proto::radius::AcctStatusType;
        let mut s = Sender::new(&settings());
        let mut on = record(1, RecordKind::AccountingOn);
        on.acct_session_id = "nas-00000000000000aa".into();
        s.submit(t0(), on);
        s.submit(t0(), record(2, RecordKind::Start));
        // The Start waits for the Accounting-On's answer.
        let (to, b) = s.poll_transmit().expect("on sent");
        assert_eq!(status(&b), Some(AcctStatusType::AccountingOn));
        let p = Packet::parse(&b).expect("parses");
        assert!(p
            .attributes
            .contains(&Attribute::AcctSessionId("nas-00000000000000aa".into())));
        assert!(!p
            .attributes
            .iter()
            .any(|a| matches!(a, Attribute::UserName(_))));
        assert!(s.poll_transmit().is_none(), "the Start is held");
        s.handle_datagram(t0(), to, &response(&b));
        let (to, start) = s.poll_transmit().expect("start released");
        assert_eq!(status(&start), Some(AcctStatusType::Start));
        // The Off waits for the Start's answer, then goes.
        s.submit(t0(), record(3, RecordKind::AccountingOff));
        assert!(s.poll_transmit().is_none(), "the Off is held");
        s.handle_datagram(t0(), to, &response(&start));
        let (to, off) = s.poll_transmit().expect("off released");
        assert_eq!(status(&off), Some(AcctStatusType::AccountingOff));
        s.handle_datagram(t0(), to, &response(&off));
        assert_eq!(s.poll_acks(), vec![1, 2, 3]);
        assert_eq!(s.pending(), 0);
    }
}
