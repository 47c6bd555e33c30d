//! # lns-node: the lnsd daemon and the lnsctl CLI
//!
//! Contract: wires `lns-proto` (and later `lns-cluster`) to sockets, the TUN
//! device, RADIUS and signals. The only crate that reads config files and
//! environment variables. The protocol state lives in one sans-IO
//! [`engine::Engine`], owned by one task (DESIGN.md D4):
//!
//! ```text
//!  LACs (UDP 1701)          TUN (subscribers' IP)         RADIUS servers
//!        |  ^                     |  ^                        |  ^
//!  +-----v--+---------------------v--+------+          +------v--+------+
//!  | data plane threads (dataplane::DataPlane)|          | AAA task (aaa) |
//!  |  classify, anti-spoof, TUN <-> L2TP data |          | users file,    |
//!  +---+-----------------------------^--------+          | RADIUS Client  |
//!      | ControlInput (bounded mpsc) |  send_control,    +--^---------+---+
//!      |   L2TP control, PPP control |  send_ppp,           |         |
//!      v                             |  upsert/remove_      | AaaCmd  | AuthAnswer
//!  +---+-----------------------------+--session---------+   | (bounded, both ways)
//!  | control task (control::run): the single owner      +---+         |
//!  |   Engine::apply(now, Input, OsEntropy)             <-------------+
//!  |   -> poll_output(): SendL2tp, SendPpp,             |
//!  |      Authenticate, SessionUp/Down, Log             |
//!  +---^------------------------------------------------+
//!      | ControlSignal (bounded): Shutdown, Reload, Admin, Query
//!  +---+--------------------------------+   +------------------------------------+
//!  | signal watcher (daemon): SIGTERM,  |   | mgmt server (lnsctl; Unix socket   |
//!  | SIGINT, SIGHUP (re-reads the file) |   | 0600, TCP + token): DaemonBackend  |
//!  +------------------------------------+   | sends Query/Admin (3 s bound) and  |
//!                                           | installs capture taps (mgmt::taps) |
//!                                           | offered to by the data plane and   |
//!                                           | the control task                   |
//!                                           +------------------------------------+
//!
//!  Observability (shared, no channel: atomics behind Arc<Metrics>):
//!  control task --Observer: events + 1 s samples--> +--------------------+
//!  AAA task -----RadiusReport: per-server stats---> | Arc<Metrics>       |
//!  data plane <--StatsReader, read at scrape time-- | (prometheus reg.)  |
//!                                                   +---------^----------+
//!  daemon: Readiness (starting -> active once the             | encode()
//!  data plane is up -> stopping on shutdown) ---+   +---------+----------+
//!                                               +-> | HTTP task ([http]) |
//!                    Prometheus, probes ----------> | /metrics /healthz  |
//!                                                   | /readyz            |
//!                                                   +--------------------+
//!
//!  Accounting and dynamic authorization (`[aaa.accounting]`, `[dae]`):
//!  control task --Output::Account records (bounded)--> accounting task
//!    <--record ids acknowledged (bounded)-- (aaa::accounting, RADIUS 1813)
//!  control task reads the data plane's per-session counters every
//!  counters_interval (and at session end) -> Input::Counters
//!  DAE tasks (dae, UDP 3799) --DaeRequest + oneshot answer--> control task
//! ```
//!
//! With `[ipv6]`, the data plane diverts the subscribers' link-scope IPv6
//! (RS to ff02::2, DHCPv6 to ff02::1:2) into a bounded channel; a small
//! forwarder task (daemon) hands each packet to the control task as a PPP
//! frame of protocol 0x0057 in `ControlInput::PppControl`, and the engine's
//! RA/DHCPv6 answers leave as `SendPpp` frames.
//!
//! With a `[cluster]` section (issue 6) the engine lives in the Raft
//! state machine instead ([`replica`], DESIGN.md D5):
//!
//! ```text
//!  data plane / AAA / signals --> control::cluster (active node only:
//!     batches inputs into a replica::Command) --propose--> lns_cluster::Member
//!  Member thread: apply(committed) -> SharedReplica (Engine) --ReplicaEvent-->
//!     control::cluster: active -> sends, AAA, logs; standby -> session table only
//!  leadership watch -> vip (tunnel addresses + gratuitous ARP), Rearm, /readyz
//! ```
//!
//! Modules: [`config`] (TOML, validation, conversion to each task's
//! settings), [`engine`] (sans IO: L2TP endpoint, PPP links, pools,
//! sessions), [`aaa`], [`control`], [`daemon`] (starts everything),
//! [`dataplane`], [`system`] (wall clock, OS RNG), [`metrics`] (every
//! `lnsd_*` series), [`dae`] (RFC 5176 Disconnect/CoA server) and [`http`] (`/metrics`, `/healthz`, `/readyz`, its
//! own task when the config has an `[http]` section).
pub mod aaa;
pub mod arena;
pub mod config;
pub mod control;
pub mod dae;
pub mod daemon;
pub mod dataplane;
pub mod engine;
pub mod http;
pub mod metrics;
pub mod mgmt;
pub mod replica;
pub mod system;
pub mod vip;
