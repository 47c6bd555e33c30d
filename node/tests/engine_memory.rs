//! Heap bytes per established session in the sans-IO engine (issue 5,
//! `memory` benchmark), counted by a global allocator: fast, deterministic,
//! no namespaces.
//!
//! A LAC (`lns_proto::l2tp`, Side::Lac) and one pppd-like subscriber per
//! call (`lns_proto::ppp`, Side::Subscriber) bring N sessions up through
//! `Engine::apply`; each subscriber is dropped once its session is up (the
//! engine keeps no reference to it). The LAC is dropped at the end, so the
//! bytes still live are the engine's (plus the data-plane table built from
//! its `SessionUp` entries, counted apart). The figure printed is what the
//! allocator was asked for (no malloc headers or slack: those are what the
//! allocation count is for), so it is exact and the same on every run.
//!
//! One test per file: the allocator is process-wide and tests run in
//! parallel threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use lns_node::dataplane::table::{SessionSlot, SessionTable};
use lns_node::dataplane::SessionEntry;
use lns_node::engine::{
    AccountingConfig, AccountingMode, AuthOutcome, Engine, EngineConfig, Grant, Input, Output,
    PoolSpec, SecondLoginPolicy, Session, SessionKey, Stations, StoredGrant,
};
use lns_proto::entropy::Seeded;
use lns_proto::l2tp::{CallInfo, Endpoint, EndpointConfig, Event, PeerSettings, Side as L2tpSide};
use lns_proto::ppp::{AuthMethod, Link, LinkConfig, Side};
use lns_proto::time::Timestamp;

/// Counts live heap bytes and live allocations.
struct Counting;

static BYTES: AtomicI64 = AtomicI64::new(0);
static BLOCKS: AtomicI64 = AtomicI64::new(0);
/// Live blocks by requested size, in 8-byte steps (the last slot: larger).
static BY_SIZE: [AtomicI64; SIZE_SLOTS] = [const { AtomicI64::new(0) }; SIZE_SLOTS];
const SIZE_SLOTS: usize = 129;

fn size_slot(size: usize) -> usize {
    size.div_ceil(8).min(SIZE_SLOTS - 1)
}

// The workspace denies unsafe code; a global allocator cannot be written
// without it, and this one only forwards to the system allocator (a test
// binary of its own, never linked into lnsd).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        BY_SIZE[size_slot(layout.size())].fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        BY_SIZE[size_slot(layout.size())].fetch_sub(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        BY_SIZE[size_slot(layout.size())].fetch_sub(1, Ordering::Relaxed);
        BY_SIZE[size_slot(new_size)].fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn by_size() -> Vec<i64> {
    BY_SIZE.iter().map(|c| c.load(Ordering::Relaxed)).collect()
}

/// Prints the live blocks per session by requested size (8-byte steps)
/// that appeared between `before` and now: where the allocations go.
fn print_blocks(before: &[i64]) {
    for (slot, (now, was)) in by_size().iter().zip(before).enumerate() {
        let per = (now - was) as f64 / SESSIONS as f64;
        if per.abs() >= 0.05 {
            let upto = if slot == SIZE_SLOTS - 1 {
                "larger".to_string()
            } else {
                format!("<= {}", slot * 8)
            };
            println!("blocks of {upto} bytes: {per:.2} per session");
        }
    }
}

fn live() -> (i64, i64) {
    (
        BYTES.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
    )
}

const LNS: &str = "198.18.0.1:1701";
const SESSIONS: usize = 2_000;
const TUNNELS: usize = 4;
/// Engine heap bytes per established session allowed (exact counts: the
/// same on every run): 679 since session 7 (791 as counted before it, with
/// the test's own buffer; 1 119 in session 6, 1 410 in session 5, 1 622
/// in session 4), with ~5 % headroom for new per-session state.
const ENGINE_CEILING: f64 = 715.0;
/// Engine heap blocks per established session allowed: 2.6 since session
/// 6 (12.6 in session 5): the boxed `Session`, the L2TP call's boxed
/// `CallInfo` and the maps' nodes. With glibc every small block costs 32 bytes of
/// RSS whatever it holds, so a new per-session `Vec`/`String`/`Box` must
/// show here.
const ENGINE_BLOCKS_CEILING: f64 = 3.0;
/// Data-plane table bytes per session allowed: 178 since session 7 (the
/// slot with its counters and without the tunnel's addresses, two hash
/// entries; 265 before), with ~5 % headroom.
const TABLE_CEILING: f64 = 188.0;
/// Data-plane table blocks per session allowed: 1.2 (the slot, the maps'
/// growth; the counters were a second block until session 7).
const TABLE_BLOCKS_CEILING: f64 = 1.5;

fn config(ipv4_sessions: usize) -> EngineConfig {
    let mut link = LinkConfig::lns(Ipv4Addr::new(198, 18, 255, 254));
    link.echo_interval = Some(Duration::from_secs(10));
    let last = 0x6440_0000u32 + ipv4_sessions as u32 + 10;
    EngineConfig {
        endpoint: EndpointConfig::new(L2tpSide::Lns, b"lns1"),
        link,
        pools: vec![PoolSpec {
            name: "p".into(),
            ranges: vec![(Ipv4Addr::new(100, 64, 0, 1), Ipv4Addr::from(last))],
            sticky: false,
        }],
        default_pool: Some("p".into()),
        dns: [Some(Ipv4Addr::new(198, 18, 0, 53)), None],
        session_timeout: None,
        idle_timeout: None,
        second_login: SecondLoginPolicy::Allow,
        max_sessions: ipv4_sessions * 2,
        setups_per_second_per_source: 1_000,
        ipv6: None,
        // As lnsd runs without an `[aaa.accounting]` section (the bench).
        accounting: AccountingConfig {
            mode: AccountingMode::Off,
            interim_interval: None,
            max_queued: 100,
        },
    }
}

/// The LAC, the engine and the subscriber being dialled.
struct Bed {
    now: Timestamp,
    e: Seeded,
    engine: Engine,
    lac: Endpoint,
    up: Vec<SessionEntry>,
    /// The engine's key of the last call the LAC saw come up.
    lac_up: Option<SessionKey>,
    /// PPP frames the engine sent before their subscriber existed.
    held: Vec<(SessionKey, Vec<u8>)>,
}

impl Bed {
    /// Moves datagrams and frames between the three until nothing moves.
    fn pump(&mut self, mut sub: Option<(SessionKey, &mut Link)>) {
        if let Some((key, link)) = sub.as_mut() {
            let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|(k, _)| k == key);
            self.held = others;
            for (_, frame) in mine {
                link.handle_frame(self.now, &frame, &mut self.e);
            }
        }
        loop {
            let mut moved = false;
            while let Some(o) = self.engine.poll_output() {
                moved = true;
                match o {
                    Output::SendL2tp(t) => {
                        self.lac
                            .handle_datagram(self.now, t.peer, t.local, &t.payload, &mut self.e)
                    }
                    Output::SendPpp { session, frame } => match sub.as_mut() {
                        Some((key, link)) if *key == session => {
                            link.handle_frame(self.now, &frame, &mut self.e);
                        }
                        _ => self.held.push((session, frame)),
                    },
                    Output::Authenticate(q) => self.engine.apply(
                        self.now,
                        Input::AuthResult {
                            session: q.session,
                            request: q.request,
                            outcome: AuthOutcome::Accept(Grant::default_pool()),
                        },
                        &mut self.e,
                    ),
                    // Published once at the ICCN (no address yet), then
                    // again with the address once IPCP is up.
                    Output::SessionUp(entry) if entry.ipv4.is_some() => self.up.push(entry),
                    _ => {}
                }
            }
            while let Some(t) = self.lac.poll_transmit() {
                moved = true;
                self.engine.apply(
                    self.now,
                    Input::L2tpDatagram {
                        local: t.peer,
                        peer: t.local,
                        bytes: t.payload,
                    },
                    &mut self.e,
                );
            }
            while let Some(ev) = self.lac.poll_event() {
                moved = true;
                if let Event::SessionUp { route, .. } = ev {
                    self.lac_up = Some(SessionKey {
                        tunnel: route.peer_tunnel_id,
                        session: route.peer_session_id,
                    });
                }
            }
            if let Some((key, link)) = sub.as_mut() {
                while let Some(f) = link.poll_transmit() {
                    moved = true;
                    self.engine.apply(
                        self.now,
                        Input::PppFrame {
                            session: *key,
                            bytes: f,
                        },
                        &mut self.e,
                    );
                }
                while link.poll_event().is_some() {}
            }
            if !moved {
                return;
            }
        }
    }
}

/// Brings `n` sessions up over `tunnels` tunnels; returns the bed with the
/// LAC still alive.
/// `up` collects the published entries: allocated by the caller before
/// it takes its baseline, so its buffer is not counted as the engine's.
fn bring_up(config: EngineConfig, n: usize, tunnels: usize, up: Vec<SessionEntry>) -> Bed {
    let mut bed = Bed {
        now: Timestamp::from_unix_millis(1_700_000_000_000),
        e: Seeded::new(5),
        engine: Engine::new(config),
        lac: Endpoint::new(EndpointConfig::new(L2tpSide::Lac, b"lac1")),
        up,
        lac_up: None,
        held: Vec::new(),
    };
    let lns: SocketAddr = LNS.parse().expect("literal");
    let mut ids = Vec::new();
    for t in 0..tunnels {
        let lac: SocketAddr = SocketAddr::from(([198, 18, 1, 1], 10_000 + t as u16));
        let id = bed
            .lac
            .open_tunnel(bed.now, lac, lns, PeerSettings::open(), &mut bed.e)
            .expect("open tunnel");
        bed.pump(None);
        ids.push(id);
    }
    for i in 0..n {
        let call = CallInfo {
            calling_number: Some(format!("{i:010}").into_bytes().into()),
            called_number: Some(b"lns".into()),
            ..CallInfo::default()
        };
        let before = bed.up.len();
        bed.lac
            .open_session(bed.now, ids[i % tunnels], call, &mut bed.e)
            .expect("call");
        // The ICCN brings the engine's session into being; its key is the
        // LAC's view of the LNS's ids.
        bed.pump(None);
        let key = bed.lac_up.take().expect("the LAC session is up");
        let mut cfg = LinkConfig::subscriber(format!("u{i}").as_bytes(), b"pw");
        cfg.auth_order = vec![AuthMethod::Pap];
        let mut link = Link::new(Side::Subscriber, cfg);
        link.open(bed.now, &mut bed.e);
        bed.pump(Some((key, &mut link)));
        assert_eq!(bed.up.len(), before + 1, "session {i} came up");
        bed.now = bed.now + Duration::from_millis(1);
    }
    bed
}

/// Inline sizes of the per-session structures (x86_64), printed for
/// docs/benchmarks.md.
fn print_sizes() {
    use lns_node::engine::Traffic;
    use lns_proto::l2tp::{session::Session as L2tpSession, ProxyInfo, SessionRoute};
    use lns_proto::ppp::{
        fsm::Automaton, ipcp::IpcpNegotiation, ipv6cp::Ipv6cpNegotiation, lcp::LcpNegotiation,
        link::AuthState, DisconnectCause, LinkEvent,
    };
    use std::mem::size_of;
    let rows: [(&str, usize); 19] = [
        ("engine Session", size_of::<Session>()),
        ("  ppp Link", size_of::<Link>()),
        ("    fsm Automaton (x3)", size_of::<Automaton>()),
        ("    LcpNegotiation", size_of::<LcpNegotiation>()),
        ("    IpcpNegotiation", size_of::<IpcpNegotiation>()),
        ("    Ipv6cpNegotiation", size_of::<Ipv6cpNegotiation>()),
        ("    AuthState", size_of::<AuthState>()),
        (
            "    Option<DisconnectCause>",
            size_of::<Option<DisconnectCause>>(),
        ),
        ("  Option<StoredGrant>", size_of::<Option<StoredGrant>>()),
        (
            "    (Option<Grant>, as AAA gives it)",
            size_of::<Option<Grant>>(),
        ),
        ("  SessionRoute", size_of::<SessionRoute>()),
        ("  Stations", size_of::<Stations>()),
        ("  Traffic", size_of::<Traffic>()),
        ("l2tp Session", size_of::<L2tpSession>()),
        ("  CallInfo", size_of::<CallInfo>()),
        ("  ProxyInfo (boxed, when sent)", size_of::<ProxyInfo>()),
        ("data-plane SessionEntry", size_of::<SessionEntry>()),
        ("data-plane SessionSlot", size_of::<SessionSlot>()),
        ("ppp LinkEvent (queue slot)", size_of::<LinkEvent>()),
    ];
    for (name, bytes) in rows {
        println!("size_of {name}: {bytes}");
    }
}

#[test]
fn engine_heap_per_established_session_stays_under_its_ceiling() {
    print_sizes();
    // Until session 7 this buffer (112 bytes per session) was allocated
    // after the baseline: counted in the engine's figure and, freed when
    // the table consumed it, taken off the table's.
    let up = Vec::with_capacity(SESSIONS);
    let (base_bytes, base_blocks) = live();
    let base_sizes = by_size();
    let bed = bring_up(config(SESSIONS), SESSIONS, TUNNELS, up);
    let Bed {
        engine, lac, up, ..
    } = bed;
    drop(lac);
    let (engine_bytes, engine_blocks) = live();
    print_blocks(&base_sizes);
    let table = SessionTable::new().with_upserts(up.iter().cloned());
    let (all_bytes, all_blocks) = live();
    let per = |v: i64, base: i64| (v - base) as f64 / SESSIONS as f64;
    let engine_per = per(engine_bytes, base_bytes);
    println!(
        "engine: {:.0} bytes and {:.1} allocations per session; data-plane table: {:.0} bytes and {:.1} allocations per session",
        engine_per,
        per(engine_blocks, base_blocks),
        per(all_bytes, engine_bytes),
        per(all_blocks, engine_blocks),
    );
    // Where the engine's bytes go: clones have the same shape.
    let (b0, _) = live();
    let endpoint = engine.endpoint().clone();
    let (b1, _) = live();
    let sessions: Vec<Session> = engine.sessions().cloned().collect();
    let (b2, _) = live();
    let links: Vec<Link> = engine.sessions().map(|s| s.link.clone()).collect();
    let (b3, _) = live();
    println!(
        "of which: L2TP endpoint {:.0}, engine sessions {:.0} (Session {} inline, Link {} inline, links' heap {:.0}), the rest {:.0}",
        per(b1, b0),
        per(b2, b1),
        std::mem::size_of::<Session>(),
        std::mem::size_of::<Link>(),
        per(b3, b2) - std::mem::size_of::<Link>() as f64,
        engine_per - per(b2, b0),
    );
    drop((endpoint, sessions, links));
    assert_eq!(engine.sessions().count(), SESSIONS);
    assert_eq!(table.len(), SESSIONS);
    // A ceiling, not the 1 KiB target (not reached yet, see
    // docs/benchmarks.md): 2 525 bytes when first written, 1 622 once the
    // engine kept only the Calling/Called Number and the PPP queues were
    // freed when drained, 1 410 with one-word optional deadlines, the
    // boxed IPv6 grant, the 8-byte Acct-Session-Id and no `deadline_of`
    // map, 1 119 with short strings inline (`InlineBytes`), one boxed
    // link outbox, no route copy and the L2TP `CallInfo` boxed, 791 with a
    // settled link's compact record, the `StoredGrant` and both station
    // numbers in one `InlineBytes`, a one-word idle timeout and the
    // rare call AVPs boxed (679
    // without the test's own buffer); a
    // link that no longer settles (its full state boxed: +424), a second
    // `CallInfo` copy, kept queue buffers, an inline (unboxed) session map,
    // a `LinkConfig` copy per link or a route copy per session each go
    // over it.
    assert!(
        engine_per < ENGINE_CEILING,
        "{engine_per:.0} bytes per session"
    );
    let blocks_per = per(engine_blocks, base_blocks);
    assert!(
        blocks_per < ENGINE_BLOCKS_CEILING,
        "{blocks_per:.1} heap blocks per session"
    );
    let table_per = per(all_bytes, engine_bytes);
    assert!(
        table_per < TABLE_CEILING,
        "{table_per:.0} table bytes per session"
    );
    let table_blocks = per(all_blocks, engine_blocks);
    assert!(
        table_blocks < TABLE_BLOCKS_CEILING,
        "{table_blocks:.1} table blocks per session"
    );
}
