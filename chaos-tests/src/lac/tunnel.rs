//! One tunnel of lac-sim: a task owning one UDP socket, one L2TP
//! [`Endpoint`] (LAC side) with one tunnel, and a subscriber PPP [`Link`]
//! per session.
//!
//! Contract: the task dials the tunnel, opens its sessions (paced by the
//! setup rate), runs each PPP link to IPCP/IPV6CP opened, sends probes in
//! [`Stage::Traffic`], and on [`Stage::Teardown`] sends a CDN for every
//! live session and then StopCCN, and returns its [`TunnelReport`]. It
//! reports on `setup_done` once every session is up or has failed. All
//! protocol work is the sans-IO cores'; this file only moves bytes and
//! reads the wall clock.
//!
//! Cost: a datagram costs O(log sessions) of the tunnel, never a pass over
//! every session: only the sessions touched since the last flush (`active`)
//! are pumped and flushed, the sessions' next deadlines are kept in an
//! ordered index (`timers`), the sessions whose PPP gate is still closed in
//! a set of their own, and the count of sessions still setting up is kept
//! as they resolve. Passes over every session remain only where the whole
//! tunnel changes (stage changes, tunnel loss, status snapshots, report).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::avp_types::DisconnectCause as L2tpCause;
use lns_proto::l2tp::data::{
    data_header_len, parse_data, write_data_header, DataError, DataOptions,
};
use lns_proto::l2tp::{
    CallInfo, CdnResult, Endpoint, EndpointConfig, ErrorCode, Event, Hiding, PeerSettings,
    SessionRoute, Side, StopCcnResult, TunnelAuth,
};
use lns_proto::ppp::frame::emit_frame;
use lns_proto::ppp::{AuthMethod, Compression, Frame, Link, LinkConfig, LinkEvent, Protocol};
use lns_proto::time::Timestamp;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::config::{AuthChoice, LacConfig};
use super::ipv6::V6Client;
use super::observe::{AckGap, DataGap};
use super::probe::{self, ProbeId};
use super::report::{SessionReport, TunnelReport};
use super::status::{SessionState, SessionStatus, TunnelStatus, V6Status};
use super::{wall_clock, SetupDone, Stage};
use crate::load::Route;

/// How long teardown waits for the LNS to acknowledge CDNs, then StopCCN:
/// this much, plus [`TEARDOWN_PER_SESSION`] for each session of the tunnel
/// (a busy LNS acknowledges a hundred CDNs slowly).
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);
/// See [`TEARDOWN_WAIT`].
const TEARDOWN_PER_SESSION: Duration = Duration::from_millis(50);

/// Runs tunnel number `index` (0-based) to completion, publishing its live
/// status on `status` (when the run writes a status file).
pub async fn run_tunnel(
    cfg: Arc<LacConfig>,
    index: u32,
    mut stage: watch::Receiver<Stage>,
    setup_done: mpsc::UnboundedSender<SetupDone>,
    status: Option<watch::Sender<TunnelStatus>>,
) -> Result<TunnelReport> {
    // Sends go straight to a nonblocking std socket: tokio's `try_send_to`
    // refuses to send before the first writable readiness event, which
    // lost each tunnel's first SCCRQ (a 1 s retransmission).
    let std_sock = std::net::UdpSocket::bind(SocketAddr::new(cfg.local, 0))
        .with_context(|| format!("bind {}", cfg.local))?;
    std_sock.set_nonblocking(true).context("nonblocking")?;
    let send = std_sock.try_clone().context("clone socket")?;
    let local = std_sock.local_addr().context("local address")?;
    let sock = UdpSocket::from_std(std_sock).context("register socket")?;
    let status_every = cfg.status.as_ref().map(|s| s.every);
    let mut d = Driver::new(cfg, index, local);
    d.dial(wall_clock())?;
    let mut buf = vec![0u8; 0x1_0000];
    let mut setup_reported = false;
    let mut next_status = wall_clock();
    loop {
        d.flush(&send);
        let now = wall_clock();
        d.observe_acks(now);
        if let (Some(tx), Some(every)) = (&status, status_every) {
            if now >= next_status {
                tx.send_replace(d.status(now));
                next_status = now + every;
            }
            d.status_due = Some(next_status);
        }
        if !setup_reported && d.setup_resolved() {
            setup_reported = true;
            let _ = setup_done.send(SetupDone {
                index,
                routes: d.routes(),
            });
        }
        if d.finished() {
            break;
        }
        let now = wall_clock();
        let wait = d.next_deadline(now).map(|t| t.saturating_since(now));
        let sleep = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let (n, from) = r.context("receive")?;
                d.on_datagram(wall_clock(), from, &buf[..n]);
                // Drain whatever else is already queued before timers run.
                while let Ok((n, from)) = sock.try_recv_from(&mut buf) {
                    d.on_datagram(wall_clock(), from, &buf[..n]);
                }
            }
            _ = sleep => d.on_timeout(wall_clock()),
            changed = stage.changed() => {
                let next = if changed.is_ok() { *stage.borrow_and_update() } else { Stage::Teardown };
                d.on_stage(wall_clock(), next);
            }
        }
    }
    Ok(d.report())
}

/// Where a session slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Not dialled yet.
    Pending,
    /// ICRQ sent, or PPP negotiating.
    Dialing,
    /// IPCP opened.
    Up,
    /// Gone (failed, dropped or torn down).
    Ended,
}

/// Whether a session's PPP frames may be sent yet (see `open_gates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// ICCN not acknowledged and nothing heard: frames wait in the link.
    Closed,
    /// Frames flow.
    Open,
}

#[derive(Debug)]
struct Slot {
    gate: Gate,
    report: SessionReport,
    state: SlotState,
    link: Option<Link>,
    route: Option<SessionRoute>,
    icrq_at: Option<Timestamp>,
    next_probe: Option<Timestamp>,
    seq: u64,
    /// The subscriber's IPv6 stack (with `reflector6`, once IPV6CP is open).
    v6: Option<V6Client>,
    /// Probe spacing (`None`: this session sends no probes).
    interval: Option<Duration>,
    gap: DataGap,
    /// This slot's entry in `Driver::timers`.
    due: Option<Timestamp>,
}

/// Where teardown stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Teardown {
    /// Not started.
    NotStarted,
    /// CDNs sent, waiting for their acknowledgement.
    Cdns { until: Timestamp },
    /// StopCCN sent, waiting for its acknowledgement.
    Stop { until: Timestamp },
    /// Over.
    Done,
}

#[derive(Debug)]
struct Driver {
    cfg: Arc<LacConfig>,
    local: SocketAddr,
    endpoint: Endpoint,
    entropy: Seeded,
    link_config: LinkConfig,
    tunnel: u16,
    up: bool,
    gone: bool,
    slots: Vec<Slot>,
    by_sid: BTreeMap<u16, usize>,
    next_open: usize,
    next_open_at: Option<Timestamp>,
    open_interval: Duration,
    stage: Stage,
    teardown: Teardown,
    clean: bool,
    lost: Option<String>,
    started: Timestamp,
    out: Vec<(SocketAddr, Vec<u8>)>,
    index: u32,
    acks: AckGap,
    /// When the next status is published (wakes the task).
    status_due: Option<Timestamp>,
    /// Slots touched since the last flush: their links may have events or
    /// frames queued, and their deadlines may have moved.
    active: BTreeSet<usize>,
    /// Each slot's next deadline (link, IPv6 client, probe), by time.
    timers: BTreeSet<(Timestamp, usize)>,
    /// Slots with a route whose PPP gate is still closed.
    closed: BTreeSet<usize>,
    /// Slots still `Pending` or `Dialing`.
    unresolved: usize,
}

impl Driver {
    fn new(cfg: Arc<LacConfig>, index: u32, local: SocketAddr) -> Driver {
        let mut ec = EndpointConfig::new(Side::Lac, format!("lac-sim-{index}").as_bytes());
        ec.vendor_name = b"lnsd lac-sim".to_vec();
        let timers = cfg.control;
        if let Some(d) = timers.hello_interval {
            ec.transport.hello_interval = d;
        }
        if let Some(d) = timers.retransmit_initial {
            ec.transport.initial_timeout = d;
        }
        if let Some(n) = timers.max_retransmits {
            ec.transport.max_retransmits = n;
        }
        let n = cfg.sessions_per_tunnel;
        let slots = (0..n)
            .map(|i| {
                let g = index * n + i;
                Slot {
                    report: SessionReport {
                        index: g,
                        user: cfg.user(g),
                        ..SessionReport::default()
                    },
                    state: SlotState::Pending,
                    gate: Gate::Closed,
                    link: None,
                    route: None,
                    icrq_at: None,
                    next_probe: None,
                    seq: 0,
                    v6: None,
                    interval: cfg.probe_interval(i),
                    gap: DataGap::default(),
                    due: None,
                }
            })
            .collect();
        let open_interval = cfg.setup_rate.map_or(Duration::ZERO, |r| {
            Duration::from_secs_f64(f64::from(cfg.tunnels) / r)
        });
        let mut link_config = LinkConfig::subscriber(b"", cfg.password.as_bytes());
        link_config.auth_order = match cfg.auth {
            AuthChoice::Pap => vec![AuthMethod::Pap],
            AuthChoice::Chap => vec![AuthMethod::ChapMd5],
        };
        let now = wall_clock();
        Driver {
            endpoint: Endpoint::new(ec),
            entropy: Seeded::new(now.unix_micros() ^ (u64::from(index) << 48)),
            cfg,
            local,
            link_config,
            tunnel: 0,
            up: false,
            gone: false,
            slots,
            by_sid: BTreeMap::new(),
            next_open: 0,
            next_open_at: None,
            open_interval,
            stage: Stage::Setup,
            teardown: Teardown::NotStarted,
            clean: false,
            lost: None,
            started: now,
            out: Vec::new(),
            index,
            acks: AckGap::default(),
            status_due: None,
            active: BTreeSet::new(),
            timers: BTreeSet::new(),
            closed: BTreeSet::new(),
            unresolved: n as usize,
        }
    }

    fn dial(&mut self, now: Timestamp) -> Result<()> {
        let settings = match &self.cfg.tunnel_secret {
            Some(s) => PeerSettings {
                secret: Some(s.as_bytes().to_vec()),
                auth: TunnelAuth::Required,
                hiding: Hiding::Off,
            },
            None => PeerSettings::open(),
        };
        self.tunnel = self
            .endpoint
            .open_tunnel(now, self.local, self.cfg.lns, settings, &mut self.entropy)
            .map_err(|e| anyhow::anyhow!("open tunnel: {e}"))?;
        Ok(())
    }

    /// Every session is up or failed, or setup timed out, or the tunnel is gone.
    fn setup_resolved(&self) -> bool {
        self.gone
            || self.unresolved == 0
            || wall_clock().saturating_since(self.started) >= self.cfg.setup_timeout
    }

    /// The established sessions (IPv4 up) as load-generator routes.
    fn routes(&self) -> Vec<Route> {
        let SocketAddr::V4(local) = self.local else {
            return Vec::new();
        };
        self.slots
            .iter()
            .filter(|s| s.state == SlotState::Up)
            .filter_map(|s| {
                let (route, ipv4) = (s.route?, s.report.ipv4?);
                let SocketAddr::V4(lns) = route.peer else {
                    return None;
                };
                Some(Route {
                    local,
                    lns,
                    tunnel: route.peer_tunnel_id,
                    session: route.peer_session_id,
                    ipv4,
                })
            })
            .collect()
    }

    fn finished(&self) -> bool {
        self.teardown == Teardown::Done
    }

    fn on_datagram(&mut self, now: Timestamp, from: SocketAddr, bytes: &[u8]) {
        match parse_data(bytes) {
            Ok(info) => {
                let Some(&i) = self.by_sid.get(&info.session_id) else {
                    return;
                };
                let Some(frame) = bytes.get(info.payload.clone()) else {
                    return;
                };
                self.on_frame(now, i, frame);
            }
            Err(DataError::Control) => {
                self.endpoint
                    .handle_datagram(now, self.local, from, bytes, &mut self.entropy);
            }
            Err(_) => {}
        }
        self.pump(now);
    }

    fn on_frame(&mut self, now: Timestamp, i: usize, frame: &[u8]) {
        self.active.insert(i);
        let slot = &mut self.slots[i];
        let Ok(f) = Frame::new_checked(frame) else {
            return;
        };
        if f.protocol() == Protocol::Ipv4 {
            if let Some(ip) = slot.report.ipv4 {
                if probe::parse_reply(f.payload(), ip)
                    .is_some_and(|id| id.session == slot.report.index)
                {
                    slot.report.received += 1;
                    slot.gap.echo(now);
                }
            }
            return;
        }
        if f.protocol() == Protocol::Ipv6 {
            if let Some(v6) = slot.v6.as_mut() {
                v6.handle(now, f.payload());
            }
            mark_up(&self.cfg, slot, now, self.stage, &mut self.unresolved);
            return;
        }
        if f.protocol() == Protocol::Ipcp && self.cfg.ipv6_only(slot.report.index) {
            return; // An IPv6-only subscriber does not speak IPCP.
        }
        if let Some(link) = slot.link.as_mut() {
            // The LNS speaks PPP only once it has the ICCN.
            slot.gate = Gate::Open;
            self.closed.remove(&i);
            link.handle_frame(now, frame, &mut self.entropy);
        }
    }

    fn on_timeout(&mut self, now: Timestamp) {
        self.endpoint.handle_timeout(now, &mut self.entropy);
        // Only the slots whose deadline has come (the index is by time).
        while let Some(&(at, i)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let slot = &mut self.slots[i];
            slot.due = None;
            if let Some(link) = slot.link.as_mut() {
                if link.poll_timeout().is_some_and(|t| t <= now) {
                    link.handle_timeout(now, &mut self.entropy);
                }
            }
            if let Some(v6) = slot.v6.as_mut() {
                v6.handle_timeout(now);
            }
            self.probe_due(now, i);
            self.active.insert(i);
        }
        self.open_due(now);
        self.teardown_step(now);
        self.pump(now);
    }

    fn on_stage(&mut self, now: Timestamp, stage: Stage) {
        self.stage = stage;
        if stage == Stage::Traffic {
            self.acks.reset(now);
            self.schedule_probes(now);
        }
        // Probe deadlines count only in Traffic: re-index every slot
        // (once per stage change).
        self.active.extend(0..self.slots.len());
        if stage == Stage::Teardown && self.teardown == Teardown::NotStarted {
            self.start_teardown(now);
        }
        self.pump(now);
    }

    fn next_deadline(&self, now: Timestamp) -> Option<Timestamp> {
        let mut d = self.endpoint.poll_timeout();
        let mut take = |t: Option<Timestamp>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        take(self.timers.first().map(|&(t, _)| t));
        take(self.next_open_at);
        take(self.status_due);
        match self.teardown {
            Teardown::Cdns { until } | Teardown::Stop { until } => {
                // Re-check acknowledgements soon; give up at `until`.
                take(Some(until.min(now + Duration::from_millis(20))));
            }
            Teardown::NotStarted | Teardown::Done => {}
        }
        if self.stage == Stage::Setup && !self.setup_resolved() {
            take(Some(self.started + self.cfg.setup_timeout));
        }
        d
    }

    /// Handles endpoint and link events until none is left.
    fn pump(&mut self, now: Timestamp) {
        loop {
            self.open_gates();
            let mut progressed = false;
            while let Some(ev) = self.endpoint.poll_event() {
                progressed = true;
                self.on_event(now, ev);
            }
            let touched: Vec<usize> = self.active.iter().copied().collect();
            for i in touched {
                while let Some(ev) = self.slots[i].link.as_mut().and_then(Link::poll_event) {
                    progressed = true;
                    self.on_link_event(now, i, ev);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_event(&mut self, now: Timestamp, ev: Event) {
        match ev {
            Event::TunnelUp { .. } => {
                self.up = true;
                self.next_open_at = Some(now);
                self.open_due(now);
            }
            Event::TunnelDown { reason, .. } => {
                self.gone = true;
                if self.teardown == Teardown::NotStarted {
                    let why = format!("{reason:?}");
                    eprintln!("lac-sim: tunnel {} lost: {why}", self.tunnel);
                    self.lost = Some(why);
                }
                for s in &mut self.slots {
                    if matches!(s.state, SlotState::Dialing | SlotState::Up) {
                        s.report.dropped_early = self.teardown == Teardown::NotStarted;
                        settle(s, SlotState::Ended, &mut self.unresolved);
                        s.link = None;
                    }
                }
                if self.teardown == Teardown::NotStarted {
                    self.teardown = Teardown::Done;
                }
            }
            Event::SessionUp { session, route, .. } => {
                let Some(&i) = self.by_sid.get(&session) else {
                    return;
                };
                let slot = &mut self.slots[i];
                slot.route = Some(route);
                let mut lc = self.link_config.clone();
                lc.credentials.user = slot.report.user.as_bytes().to_vec();
                let mut link = Link::new(lns_proto::ppp::Side::Subscriber, lc);
                link.open(now, &mut self.entropy);
                slot.link = Some(link);
                if slot.gate == Gate::Closed {
                    self.closed.insert(i);
                }
                self.active.insert(i);
            }
            Event::SessionDown { session, .. } => {
                if let Some(&i) = self.by_sid.get(&session) {
                    let s = &mut self.slots[i];
                    if s.state != SlotState::Ended {
                        s.report.dropped_early = self.teardown == Teardown::NotStarted;
                        settle(s, SlotState::Ended, &mut self.unresolved);
                        s.link = None;
                    }
                    self.closed.remove(&i);
                }
            }
            _ => {}
        }
    }

    fn on_link_event(&mut self, now: Timestamp, i: usize, ev: LinkEvent) {
        let slot = &mut self.slots[i];
        match ev {
            LinkEvent::Ipv4Up { local, .. } => {
                slot.report.ipv4 = Some(local);
                mark_up(&self.cfg, slot, now, self.stage, &mut self.unresolved);
            }
            LinkEvent::Ipv6Up { local_id, peer_id } => {
                slot.report.ipv6_ids = Some((local_id, peer_id));
                if self.cfg.reflector6.is_some() && slot.v6.is_none() {
                    let mut c = V6Client::start(slot.report.index, local_id, now);
                    if let Some(every) = self.cfg.v6_refresh {
                        // Spread the refreshes of all sessions over one interval.
                        let spread = self.slots.len().max(1) as u32;
                        let first = every + every * (i as u32 % spread) / spread;
                        c = c.with_refresh(every, first, now);
                    }
                    if self.cfg.v6_malformed {
                        c.send_malformed_dhcp();
                    }
                    self.slots[i].v6 = Some(c);
                }
            }
            LinkEvent::LinkDown { cause } => {
                slot.link = None;
                if slot.state != SlotState::Ended {
                    settle(slot, SlotState::Ended, &mut self.unresolved);
                    slot.report.dropped_early = self.teardown == Teardown::NotStarted;
                    let sid = slot.report.session;
                    let _ = self.endpoint.close_session(
                        now,
                        self.tunnel,
                        sid,
                        CdnResult::LostCarrier,
                        ErrorCode::NoError,
                        Some(cause_avp(&cause)),
                        &mut self.entropy,
                    );
                }
            }
            _ => {}
        }
    }

    /// Lets PPP frames out on sessions whose ICCN the LNS has acknowledged
    /// (or that already heard PPP from it). Sending LCP earlier races the
    /// ICCN when the control window is full: l2tpns drops a
    /// Configure-Request for a session it has no ICCN for, and the link then
    /// waits for a 3 s restart timer.
    fn open_gates(&mut self) {
        if self.closed.is_empty() {
            return;
        }
        let Some(t) = self.endpoint.tunnel(self.tunnel) else {
            return;
        };
        // The retransmission queue is bounded by the control window.
        let unacked: BTreeSet<u16> = t.reliable.queue.iter().map(|o| o.session_id).collect();
        let slots = &mut self.slots;
        let active = &mut self.active;
        self.closed.retain(|&i| {
            let s = &mut slots[i];
            let Some(route) = s.route else { return false };
            if s.gate == Gate::Open || !unacked.contains(&route.peer_session_id) {
                s.gate = Gate::Open;
                // Its frames waited in the link: flush them now.
                active.insert(i);
                return false;
            }
            true
        });
    }

    fn open_due(&mut self, now: Timestamp) {
        if !self.up || self.gone || self.stage == Stage::Teardown {
            self.next_open_at = None;
            return;
        }
        while let Some(at) = self.next_open_at {
            if at > now || self.next_open >= self.slots.len() {
                break;
            }
            let i = self.next_open;
            self.next_open += 1;
            let call = CallInfo {
                call_serial: self.slots[i].report.index,
                bearer_type: Some(0x0000_0002),
                tx_connect_speed: Some(100_000_000),
                rx_connect_speed: Some(100_000_000),
                framing_type: Some(0x0000_0001),
                ..CallInfo::default()
            };
            match self
                .endpoint
                .open_session(now, self.tunnel, call, &mut self.entropy)
            {
                Ok(sid) => {
                    let s = &mut self.slots[i];
                    s.report.session = sid;
                    s.report.tunnel = self.tunnel;
                    settle(s, SlotState::Dialing, &mut self.unresolved);
                    s.icrq_at = Some(now);
                    self.by_sid.insert(sid, i);
                }
                Err(_) => settle(&mut self.slots[i], SlotState::Ended, &mut self.unresolved),
            }
            self.next_open_at = Some(at + self.open_interval);
        }
        if self.next_open >= self.slots.len() {
            self.next_open_at = None;
        }
    }

    fn schedule_probes(&mut self, now: Timestamp) {
        let n = self.slots.len().max(1) as u32;
        for (k, s) in self.slots.iter_mut().enumerate() {
            let Some(interval) = s.interval else { continue };
            if s.state == SlotState::Up {
                // Spread first probes over one interval.
                s.next_probe = Some(now + interval * (k as u32) / n);
                s.gap.start(now);
            }
        }
    }

    /// Sends slot `i`'s probe if it is due.
    fn probe_due(&mut self, now: Timestamp, i: usize) {
        if self.stage != Stage::Traffic {
            return;
        }
        let Some(SocketAddr::V4(dst)) = self.cfg.reflector else {
            return;
        };
        let s = &mut self.slots[i];
        let (Some(at), Some(interval)) = (s.next_probe, s.interval) else {
            return;
        };
        if at > now || s.state != SlotState::Up {
            return;
        }
        // Catch up at most one interval late, never in a burst.
        s.next_probe = Some((at + interval).max(now));
        if let (Some(v6), Some(SocketAddr::V6(r6))) = (s.v6.as_mut(), self.cfg.reflector6) {
            v6.probe(r6);
        }
        let Some(ip) = s.report.ipv4 else { return };
        let mut packet = Vec::with_capacity(self.cfg.packet_size);
        let id = ProbeId {
            session: s.report.index,
            seq: s.seq,
        };
        probe::build(ip, dst, id, self.cfg.packet_size, &mut packet);
        s.seq += 1;
        s.report.sent += 1;
        if let Some(route) = s.route {
            let mut frame = Vec::with_capacity(packet.len() + 4);
            emit_frame(Protocol::Ipv4, &packet, Compression::default(), &mut frame);
            queue_data(&mut self.out, route, &frame);
        }
    }

    fn start_teardown(&mut self, now: Timestamp) {
        for s in &mut self.slots {
            if matches!(s.state, SlotState::Dialing | SlotState::Up) && s.report.session != 0 {
                settle(s, SlotState::Ended, &mut self.unresolved);
                s.link = None;
                let _ = self.endpoint.close_session(
                    now,
                    self.tunnel,
                    s.report.session,
                    CdnResult::Administrative,
                    ErrorCode::NoError,
                    None,
                    &mut self.entropy,
                );
            }
        }
        self.teardown = if self.gone {
            Teardown::Done
        } else if !self.up {
            // Never established: nothing to acknowledge; give up the attempt.
            let _ = self.endpoint.close_tunnel(
                now,
                self.tunnel,
                StopCcnResult::ClearConnection,
                &mut self.entropy,
            );
            Teardown::Done
        } else {
            Teardown::Cdns {
                until: now + TEARDOWN_WAIT + TEARDOWN_PER_SESSION * self.slots.len() as u32,
            }
        };
    }

    fn teardown_step(&mut self, now: Timestamp) {
        let acked = self
            .endpoint
            .tunnel(self.tunnel)
            .is_none_or(|t| t.reliable.queue.is_empty());
        let unacked = || {
            self.endpoint
                .tunnel(self.tunnel)
                .map_or_else(String::new, |t| {
                    let r = &t.reliable;
                    let head = r.queue.front().map_or_else(String::new, |o| {
                        format!(" (oldest Ns {} sent {} times)", o.ns, o.transmissions)
                    });
                    format!("{}{head}, our Nr {}", r.queue.len(), r.nr)
                })
        };
        match self.teardown {
            Teardown::Cdns { until } if acked || now >= until => {
                if !acked {
                    eprintln!(
                        "lac-sim: tunnel {}: {} control messages unacknowledged at StopCCN",
                        self.tunnel,
                        unacked()
                    );
                }
                let _ = self.endpoint.close_tunnel(
                    now,
                    self.tunnel,
                    StopCcnResult::ClearConnection,
                    &mut self.entropy,
                );
                self.clean = acked;
                self.teardown = Teardown::Stop {
                    until: now + TEARDOWN_WAIT,
                };
            }
            Teardown::Stop { until } if acked || now >= until => {
                if !acked {
                    eprintln!("lac-sim: tunnel {}: StopCCN unacknowledged", self.tunnel);
                }
                self.clean &= acked;
                self.teardown = Teardown::Done;
            }
            _ => {}
        }
    }

    /// Sends everything the cores queued.
    fn flush(&mut self, sock: &std::net::UdpSocket) {
        while let Some(t) = self.endpoint.poll_transmit() {
            let _ = sock.send_to(&t.payload, t.peer);
        }
        let touched = std::mem::take(&mut self.active);
        for &i in &touched {
            let s = &mut self.slots[i];
            let (Some(link), Some(route), Gate::Open) = (s.link.as_mut(), s.route, s.gate) else {
                continue;
            };
            let v6_only = self.cfg.ipv6_only(s.report.index);
            while let Some(frame) = link.poll_transmit() {
                let ipcp =
                    Frame::new_checked(&frame[..]).is_ok_and(|f| f.protocol() == Protocol::Ipcp);
                if !(v6_only && ipcp) {
                    queue_data(&mut self.out, route, &frame);
                }
            }
            while let Some(packet) = s.v6.as_mut().and_then(V6Client::poll_transmit) {
                let mut frame = Vec::with_capacity(packet.len() + 4);
                emit_frame(Protocol::Ipv6, &packet, Compression::default(), &mut frame);
                queue_data(&mut self.out, route, &frame);
            }
        }
        for (peer, d) in self.out.drain(..) {
            let _ = sock.send_to(&d, peer);
        }
        for i in touched {
            self.reindex(i);
        }
    }

    /// Puts slot `i`'s next deadline (link, IPv6 client, probe in Traffic)
    /// back in the timer index.
    fn reindex(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if let Some(old) = s.due.take() {
            self.timers.remove(&(old, i));
        }
        let probe = s.next_probe.filter(|_| self.stage == Stage::Traffic);
        let due = [
            s.link.as_ref().and_then(Link::poll_timeout),
            s.v6.as_ref().and_then(V6Client::poll_timeout),
            probe,
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = due {
            s.due = Some(at);
            self.timers.insert((at, i));
        }
    }

    /// Feeds the control-channel wait meter with the retransmission queue.
    fn observe_acks(&mut self, now: Timestamp) {
        if let Some(t) = self.endpoint.tunnel(self.tunnel) {
            self.acks.observe(
                now,
                t.reliable.queue.iter().map(|o| (o.ns, o.transmissions)),
            );
        }
    }

    /// The live status of this tunnel at `now`.
    fn status(&self, now: Timestamp) -> TunnelStatus {
        let ms = |t: Timestamp| t.unix_micros() / 1000;
        let sessions = self
            .slots
            .iter()
            .map(|s| SessionStatus {
                index: s.report.index,
                session: s.report.session,
                state: match s.state {
                    SlotState::Pending => SessionState::Pending,
                    SlotState::Dialing => SessionState::Dialing,
                    SlotState::Up => SessionState::Up,
                    SlotState::Ended => SessionState::Ended,
                },
                ipv4: s.report.ipv4,
                ended_by_lns: s.report.dropped_early,
                interval_ms: s.interval.map_or(0.0, |d| d.as_secs_f64() * 1e3),
                sent: s.report.sent,
                received: s.report.received,
                last_echo_ms: s.gap.last_echo().map(ms),
                max_gap_ms: s
                    .gap
                    .max_until(now)
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                v6: s.v6.as_ref().map(|v| V6Status::from(&v.outcome)),
            })
            .collect();
        TunnelStatus {
            index: self.index,
            tunnel: self.tunnel,
            up: self.up,
            lost: self.lost.clone(),
            max_ack_ms: u64::try_from(self.acks.max_until(now).as_millis()).unwrap_or(u64::MAX),
            sessions,
        }
    }

    fn report(self) -> TunnelReport {
        TunnelReport {
            tunnel: self.tunnel,
            up: self.up,
            clean_teardown: self.clean,
            lost: self.lost,
            sessions: self
                .slots
                .into_iter()
                .map(|s| SessionReport {
                    v6: s.v6.map(|v| v.outcome),
                    ..s.report
                })
                .collect(),
        }
    }
}

/// Marks a dialling session up once it has what it asked for: IPv4 (unless
/// IPv6-only) and, with an IPv6 reflector, SLAAC plus DHCPv6 IA_NA/IA_PD.
fn mark_up(cfg: &LacConfig, slot: &mut Slot, now: Timestamp, stage: Stage, unresolved: &mut usize) {
    if slot.state != SlotState::Dialing {
        return;
    }
    let v4 = slot.report.ipv4.is_some() || cfg.ipv6_only(slot.report.index);
    let v6 = cfg.reflector6.is_none() || slot.v6.as_ref().is_some_and(V6Client::ready);
    if v4 && v6 {
        slot.report.setup = slot.icrq_at.map(|t| now.saturating_since(t));
        settle(slot, SlotState::Up, unresolved);
        if stage == Stage::Traffic && slot.interval.is_some() {
            slot.next_probe = Some(now);
            slot.gap.start(now);
        }
    }
}

/// Moves `slot` to `to`, keeping the count of slots still setting up
/// (`Pending` or `Dialing`).
fn settle(slot: &mut Slot, to: SlotState, unresolved: &mut usize) {
    let open = |s: SlotState| matches!(s, SlotState::Pending | SlotState::Dialing);
    if open(slot.state) && !open(to) {
        *unresolved = unresolved.saturating_sub(1);
    }
    slot.state = to;
}

/// Queues one L2TP data datagram carrying `frame` for the session at `route`.
fn queue_data(out: &mut Vec<(SocketAddr, Vec<u8>)>, route: SessionRoute, frame: &[u8]) {
    let opts = DataOptions::MINIMAL;
    let hlen = data_header_len(opts);
    let mut d = vec![0u8; hlen];
    if write_data_header(
        &mut d,
        route.peer_tunnel_id,
        route.peer_session_id,
        opts,
        frame.len(),
    )
    .is_ok()
    {
        d.extend_from_slice(frame);
        out.push((route.peer, d));
    }
}

/// The RFC 3145 cause as the L2TP AVP value type.
fn cause_avp(cause: &lns_proto::ppp::DisconnectCause) -> L2tpCause {
    L2tpCause {
        code: u16::from(cause.code),
        protocol: cause.protocol,
        direction: u8::from(cause.direction),
        message: cause.message.as_bytes().to_vec(),
    }
}
