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
//!      | ControlSignal (bounded): Shutdown, Reload, Admin
//!  +---+-----------------------------+
//!  | signal watcher (daemon): SIGTERM, SIGINT, SIGHUP (re-reads the file)
//!  +---------------------------------+
//! ```
//!
//! Modules: [`config`] (TOML, validation, conversion to each task's
//! settings), [`engine`] (sans IO: L2TP endpoint, PPP links, pools,
//! sessions), [`aaa`], [`control`], [`daemon`] (starts everything),
//! [`dataplane`], [`system`] (wall clock, OS RNG), [`metrics`] and [`http`]
//! (`/metrics`, `/healthz`, `/readyz`; not wired into the daemon yet).
pub mod aaa;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dataplane;
pub mod engine;
pub mod http;
pub mod metrics;
pub mod system;
