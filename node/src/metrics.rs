//! # Metrics: every `lnsd_*` series the daemon exports, in one place
//!
//! Contract:
//! - All metric names, help texts and label values live in this module and
//!   its children (`labels`, `dataplane`). Nothing else in the crate builds a
//!   metric name; the dashboard (`docs/grafana/lnsd-dashboard.json`) and the
//!   alert rules (`docs/prometheus/alerts.yml`) are tested against the
//!   exposition this module produces.
//! - Names start with `lnsd_`, counters end in `_total`, units are in the
//!   name (`_seconds`, `_bytes`, `_entries`).
//! - **No per-session or per-user labels**: the label values are closed sets
//!   (typed enums in [`labels`]) or configuration items (RADIUS server
//!   address, pool name, tunnel address, Raft peer id), so the number of
//!   series never grows with the number of subscribers.
//! - Every labelled series whose label values are known in advance is created
//!   at start with value 0, so `rate()` and `increase()` see the first event.
//! - Events are counted by the daemon as they happen (`*_total` methods);
//!   values it samples periodically are set with the `observe_*` methods; the
//!   data plane's atomics are read at scrape time by the collector registered
//!   with [`Metrics::register_data_plane`] (no copying on the packet path).
//! - Metrics are shared by `Arc<Metrics>`; every method takes `&self` and is
//!   cheap (atomics), so any task may call it.
//!
//! Who calls what (the daemon's wiring):
//!
//! | caller | calls |
//! | --- | --- |
//! | start-up | [`Metrics::for_this_build`], [`Metrics::radius_server`] per configured server, [`Metrics::observe_node_role`] |
//! | data plane start | [`Metrics::register_data_plane`] with a closure over its atomics |
//! | control task, on events | `session_established`, `session_setup_failed`, `tunnel_established`, `tunnel_setup_failed`, `authentication`, `control_retransmitted`, `control_dropped` |
//! | control task, every few seconds | [`Metrics::observe_sessions`], [`Metrics::observe_tunnels`], [`Metrics::observe_pool`] |
//! | RADIUS client | `radius_request_sent`, `radius_timeout`, `radius_answered` |
//! | Raft task, on each `Ready` with a soft state and periodically | [`Metrics::observe_raft`], and on the leader [`Metrics::observe_follower_lag`] |
//! | cluster member, every second | [`Metrics::observe_replication`] (snapshots installed, configuration mismatch) |
//! | takeover / step-down | [`Metrics::failover_completed`], [`Metrics::observe_tunnel_address`], [`Metrics::observe_node_role`] |

pub mod dataplane;
pub mod labels;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

pub use self::dataplane::{DataPlaneSnapshot, TrafficCounters};
pub use self::labels::{
    AddressHolding, AuthMethod, AuthOutcome, ControlDrop, FailoverKind, NodeRole, RadiusKind,
    RaftRole, SessionSetupFailure, TunnelSetupFailure,
};

/// The Content-Type of the text exposition format served on `/metrics`.
pub const EXPOSITION_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket bounds (seconds) of the RADIUS latency histogram: from a local
/// server on the same host (~1 ms) to the retransmit timeout (seconds).
pub const RADIUS_LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Errors building or encoding the registry. They are programming errors
/// (a duplicate name, an invalid help text), never caused by traffic.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The prometheus crate refused a metric definition or an encoding.
    #[error("metrics registry: {0}")]
    Registry(#[from] prometheus::Error),
}

/// Sessions in the replicated table, by PPP phase, as sampled by the daemon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// LCP not yet opened.
    pub negotiating: u64,
    /// LCP opened, PAP/CHAP/RADIUS in progress.
    pub authenticating: u64,
    /// Authenticated and at least one NCP (IPCP or IPV6CP) opened: carrying traffic.
    pub established: u64,
    /// Terminating (LCP Terminate, CDN sent, accounting stop pending).
    pub closing: u64,
}

/// Tunnels in the replicated table, by control-connection state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelCounts {
    /// SCCRQ received, SCCCN not yet received.
    pub establishing: u64,
    /// Control connection established.
    pub established: u64,
    /// StopCCN sent or received, waiting for the final ack.
    pub closing: u64,
}

/// The Raft status the daemon samples after every `Ready` that changes it
/// (and periodically).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftSample {
    /// Current term.
    pub term: u64,
    /// This node's role in the Raft group.
    pub role: RaftRole,
    /// Id of the leader this node knows of, 0 when none.
    pub leader_id: u64,
    /// Highest log index known committed.
    pub commit_index: u64,
    /// Highest log index applied to the local state machine.
    pub applied_index: u64,
}

/// The handles to every metric. Build one with [`Metrics::new`], share it
/// with `Arc`, serve it with [`crate::http`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sessions: IntGaugeVec,
    tunnels: IntGaugeVec,
    session_setups: IntCounter,
    session_setup_failures: IntCounterVec,
    tunnel_setups: IntCounter,
    tunnel_setup_failures: IntCounterVec,
    authentications: IntCounterVec,
    radius_requests: IntCounterVec,
    radius_timeouts: IntCounterVec,
    radius_duration: HistogramVec,
    control_retransmits: IntCounter,
    control_dropped: IntCounterVec,
    ipv6_ignored: IntCounterVec,
    pool_size: IntGaugeVec,
    pool_used: IntGaugeVec,
    raft_term: IntGauge,
    raft_role: IntGaugeVec,
    raft_leader_id: IntGauge,
    raft_commit_index: IntGauge,
    raft_applied_index: IntGauge,
    raft_apply_lag: IntGauge,
    raft_follower_lag: IntGaugeVec,
    raft_leader_changes: IntCounter,
    raft_snapshots_installed: IntCounter,
    config_mismatch: IntGaugeVec,
    active_refused: IntGauge,
    last_leader: Mutex<Option<u64>>,
    node_role: IntGaugeVec,
    failovers: IntCounterVec,
    last_failover_duration: Gauge,
    last_failover_timestamp: Gauge,
    tunnel_address_held: IntGaugeVec,
    build_info: IntGaugeVec,
    /// Not a metric: the RADIUS clients' own view of their servers, kept
    /// beside the RADIUS metrics they report with (`lnsctl radius`).
    radius_board: crate::aaa::board::RadiusBoard,
}

impl Metrics {
    /// Builds every metric, registers it and creates the series whose label
    /// values are known in advance. `version` and `commit` label
    /// `lnsd_build_info`.
    pub fn new(version: &str, commit: &str) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let m = Metrics {
            sessions: gauge_vec(
                &registry,
                "lnsd_sessions",
                "Sessions in this node's copy of the replicated table, by PPP phase. \
                 Every node reports the same table; filter on lnsd_node_role{role=\"active\"} \
                 to count each session once.",
                &["state"],
            )?,
            tunnels: gauge_vec(
                &registry,
                "lnsd_tunnels",
                "L2TP tunnels (control connections) in the replicated table, by state.",
                &["state"],
            )?,
            session_setups: counter(
                &registry,
                "lnsd_session_setups_total",
                "Sessions that reached the established state (authenticated, an NCP opened). \
                 Compare with lnsd_session_setup_failures_total for the success ratio.",
            )?,
            session_setup_failures: counter_vec(
                &registry,
                "lnsd_session_setup_failures_total",
                "Sessions that ended before reaching the established state, by the first cause.",
                &["reason"],
            )?,
            tunnel_setups: counter(
                &registry,
                "lnsd_tunnel_setups_total",
                "Tunnels whose control connection reached the established state (SCCCN accepted).",
            )?,
            tunnel_setup_failures: counter_vec(
                &registry,
                "lnsd_tunnel_setup_failures_total",
                "Tunnel establishments refused or abandoned, by cause.",
                &["reason"],
            )?,
            authentications: counter_vec(
                &registry,
                "lnsd_authentications_total",
                "Subscriber authentications decided, by PPP method and outcome. A jump in \
                 rejects with steady accepts usually means one misconfigured CPE retrying.",
                &["method", "outcome"],
            )?,
            radius_requests: counter_vec(
                &registry,
                "lnsd_radius_requests_total",
                "RADIUS requests sent (first transmissions and retries), per configured server \
                 and kind.",
                &["server", "kind"],
            )?,
            radius_timeouts: counter_vec(
                &registry,
                "lnsd_radius_timeouts_total",
                "RADIUS transmissions that got no answer before the retry timeout, per server \
                 and kind. The ratio to lnsd_radius_requests_total is the loss rate.",
                &["server", "kind"],
            )?,
            radius_duration: histogram_vec(
                &registry,
                "lnsd_radius_request_duration_seconds",
                "Time from sending a RADIUS request to its valid answer, per server and kind \
                 (answered requests only; timeouts are counted in lnsd_radius_timeouts_total).",
                &["server", "kind"],
                RADIUS_LATENCY_BUCKETS,
            )?,
            control_retransmits: counter(
                &registry,
                "lnsd_l2tp_control_retransmits_total",
                "L2TP control messages we retransmitted because the peer did not acknowledge \
                 them in time (RFC 2661 section 5.8). Steady growth means loss towards the LACs.",
            )?,
            control_dropped: counter_vec(
                &registry,
                "lnsd_l2tp_control_dropped_total",
                "L2TP control messages discarded by the control plane, by reason.",
                &["reason"],
            )?,
            ipv6_ignored: counter_vec(
                &registry,
                "lnsd_ipv6_ignored_total",
                "Link-scope IPv6 messages from subscribers (Router Solicitations, DHCPv6, other) \
                 ignored without an answer (RFC 4861 section 6.1, RFC 8415 section 16), by reason. \
                 Growth of one reason usually means one misbehaving CPE.",
                &["reason"],
            )?,
            pool_size: gauge_vec(
                &registry,
                "lnsd_pool_size",
                "Addresses (IPv4) or prefixes (IPv6) a configured pool can hand out.",
                &["pool"],
            )?,
            pool_used: gauge_vec(
                &registry,
                "lnsd_pool_used",
                "Addresses or prefixes of a pool currently allocated to sessions.",
                &["pool"],
            )?,
            raft_term: int_gauge(
                &registry,
                "lnsd_raft_term",
                "Current Raft term. It grows by one per election; a term rising without a \
                 leader change means elections that fail (flapping links, clock-less timers).",
            )?,
            raft_role: gauge_vec(
                &registry,
                "lnsd_raft_role",
                "1 for this node's current Raft role, 0 for the others.",
                &["role"],
            )?,
            raft_leader_id: int_gauge(
                &registry,
                "lnsd_raft_leader_id",
                "Raft id of the leader this node knows of, 0 when it knows none.",
            )?,
            raft_commit_index: int_gauge(
                &registry,
                "lnsd_raft_commit_index",
                "Highest Raft log index this node knows to be committed by a majority.",
            )?,
            raft_applied_index: int_gauge(
                &registry,
                "lnsd_raft_applied_index",
                "Highest Raft log index applied to this node's tables.",
            )?,
            raft_apply_lag: int_gauge(
                &registry,
                "lnsd_raft_apply_lag_entries",
                "Committed entries not yet applied here (commit index minus applied index). \
                 A standby with a large lag is not ready to take over.",
            )?,
            raft_follower_lag: gauge_vec(
                &registry,
                "lnsd_raft_follower_lag_entries",
                "Reported by the leader only: entries of its log each peer has not yet \
                 acknowledged (leader last index minus the peer's matched index).",
                &["peer"],
            )?,
            raft_leader_changes: counter(
                &registry,
                "lnsd_raft_leader_changes_total",
                "Times this node saw a new Raft leader replace the one it knew. An election \
                 that re-elects the same leader is not a change; the first leader seen after \
                 start is not counted.",
            )?,
            raft_snapshots_installed: counter(
                &registry,
                "lnsd_raft_snapshots_installed_total",
                "Snapshots this member installed from a leader after start-up: it was behind \
                 the leader's compacted log and caught up by snapshot, then by the log.",
            )?,
            config_mismatch: gauge_vec(
                &registry,
                "lnsd_config_mismatch",
                "1 for each engine configuration section (pools, lac, ppp, ...) that differs \
                 from the active node's: this member cannot derive the same state from the \
                 log, reports not ready and refuses to become active until it matches.",
                &["section"],
            )?,
            active_refused: int_gauge(
                &registry,
                "lnsd_active_refused",
                "1 while this member leads the Raft group but refuses to become active because \
                 its engine configuration differs from the log's: it keeps handing leadership \
                 to another lns member; if it stays 1, no member with the log's configuration \
                 is reachable and the cluster has no active node.",
            )?,
            last_leader: Mutex::new(None),
            node_role: gauge_vec(
                &registry,
                "lnsd_node_role",
                "1 for this node's LNS role: active (holds the tunnel address and serves), \
                 standby (hot copy ready to take over) or witness (Raft vote only). Exactly one \
                 node of a cluster reports active=1.",
                &["role"],
            )?,
            failovers: counter_vec(
                &registry,
                "lnsd_failovers_total",
                "Times this node became the active LNS, by kind: unplanned (the previous \
                 active node was lost) or planned (leadership transfer).",
                &["kind"],
            )?,
            last_failover_duration: gauge(
                &registry,
                "lnsd_last_failover_duration_seconds",
                "Duration of the last takeover by this node: from becoming Raft leader to \
                 forwarding traffic (lease wait, tunnel address added, data plane loaded).",
            )?,
            last_failover_timestamp: gauge(
                &registry,
                "lnsd_last_failover_timestamp_seconds",
                "Unix time at which this node last completed a takeover, 0 if never.",
            )?,
            tunnel_address_held: gauge_vec(
                &registry,
                "lnsd_tunnel_address_held",
                "1 when this node holds the configured tunnel address (the VIP the LACs talk \
                 to), 0 otherwise. Summed over the cluster it must be exactly 1 per address.",
                &["address"],
            )?,
            build_info: gauge_vec(
                &registry,
                "lnsd_build_info",
                "Always 1; the labels tell which lnsd build runs on the node.",
                &["version", "commit"],
            )?,
            radius_board: crate::aaa::board::RadiusBoard::new(),
            registry,
        };
        m.build_info.with_label_values(&[version, commit]).set(1);
        m.initialise_known_series();
        Ok(m)
    }

    /// The metrics of this binary: `lnsd_build_info` carries the crate
    /// version and the commit given at build time in `LNSD_BUILD_COMMIT`
    /// (`unknown` when unset).
    pub fn for_this_build() -> Result<Metrics, MetricsError> {
        Metrics::new(
            env!("CARGO_PKG_VERSION"),
            option_env!("LNSD_BUILD_COMMIT").unwrap_or("unknown"),
        )
    }

    /// The registry, to register further collectors (e.g. process metrics).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers the collector that reads the data plane's counters on each
    /// scrape. `snapshot` must be cheap (a few atomic loads). Call it once per
    /// data-plane instance; a restarted data plane restarts its counters at
    /// zero, which Prometheus treats as a counter reset.
    pub fn register_data_plane<F>(&self, snapshot: F) -> Result<(), MetricsError>
    where
        F: Fn() -> DataPlaneSnapshot + Send + Sync + 'static,
    {
        let collector = dataplane::DataPlaneCollector::new(Box::new(snapshot))?;
        self.registry.register(Box::new(collector))?;
        Ok(())
    }

    /// The text exposition of every registered metric (what `/metrics` serves).
    pub fn encode(&self) -> Result<String, MetricsError> {
        let families = self.registry.gather();
        let mut buf = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&families, &mut buf)?;
        // The text encoder only writes UTF-8 (names and help are ASCII,
        // label values are Rust strings).
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    // ----- events, counted as they happen -----

    /// A session reached the established state.
    pub fn session_established(&self) {
        self.session_setups.inc();
    }

    /// A session ended before being established.
    pub fn session_setup_failed(&self, reason: SessionSetupFailure) {
        self.session_setup_failures
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// A tunnel's control connection was established.
    pub fn tunnel_established(&self) {
        self.tunnel_setups.inc();
    }

    /// A tunnel establishment was refused or abandoned.
    pub fn tunnel_setup_failed(&self, reason: TunnelSetupFailure) {
        self.tunnel_setup_failures
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// A PAP or CHAP authentication was decided.
    pub fn authentication(&self, method: AuthMethod, outcome: AuthOutcome) {
        self.authentications
            .with_label_values(&[method.label(), outcome.label()])
            .inc();
    }

    /// The RADIUS clients' view of their servers (state, totals, latency),
    /// published by the AAA and accounting tasks with their reports.
    pub fn radius_board(&self) -> &crate::aaa::board::RadiusBoard {
        &self.radius_board
    }

    /// Creates the series of a configured RADIUS server (call at start and
    /// on reload), so its rates exist before its first request.
    pub fn radius_server(&self, server: &str) {
        for kind in RadiusKind::ALL {
            let labels = [server, kind.label()];
            self.radius_requests.with_label_values(&labels);
            self.radius_timeouts.with_label_values(&labels);
            self.radius_duration.with_label_values(&labels);
        }
    }

    /// A RADIUS request (or a retry of it) was sent to `server`.
    pub fn radius_request_sent(&self, server: &str, kind: RadiusKind) {
        self.radius_requests
            .with_label_values(&[server, kind.label()])
            .inc();
    }

    /// A RADIUS transmission to `server` timed out.
    pub fn radius_timeout(&self, server: &str, kind: RadiusKind) {
        self.radius_timeouts
            .with_label_values(&[server, kind.label()])
            .inc();
    }

    /// A valid RADIUS answer came from `server` after `latency`.
    pub fn radius_answered(&self, server: &str, kind: RadiusKind, latency: Duration) {
        self.radius_duration
            .with_label_values(&[server, kind.label()])
            .observe(latency.as_secs_f64());
    }

    /// We retransmitted `count` L2TP control messages.
    pub fn control_retransmitted(&self, count: u64) {
        self.control_retransmits.inc_by(count);
    }

    /// The control plane discarded an L2TP control message.
    pub fn control_dropped(&self, reason: ControlDrop) {
        self.control_dropped
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// `n` more subscriber IPv6 messages ignored for engine reason `reason`
    /// (one of [`crate::engine::ipv6::IGNORED_REASONS`]).
    pub fn ipv6_ignored(&self, reason: &str, n: u64) {
        self.ipv6_ignored
            .with_label_values(&[&ipv6_reason_label(reason)])
            .inc_by(n);
    }

    /// This node finished taking over as the active LNS; `duration` runs from
    /// becoming Raft leader to forwarding traffic, `at_unix_seconds` is the
    /// wall-clock time of completion.
    pub fn failover_completed(&self, kind: FailoverKind, duration: Duration, at_unix_seconds: f64) {
        self.failovers.with_label_values(&[kind.label()]).inc();
        self.last_failover_duration.set(duration.as_secs_f64());
        self.last_failover_timestamp.set(at_unix_seconds);
    }

    // ----- sampled values -----

    /// Sets the session gauges from the replicated table.
    pub fn observe_sessions(&self, counts: &SessionCounts) {
        let rows = [
            ("negotiating", counts.negotiating),
            ("authenticating", counts.authenticating),
            ("established", counts.established),
            ("closing", counts.closing),
        ];
        for (state, n) in rows {
            self.sessions.with_label_values(&[state]).set(saturate(n));
        }
    }

    /// Sets the tunnel gauges from the replicated table.
    pub fn observe_tunnels(&self, counts: &TunnelCounts) {
        let rows = [
            ("establishing", counts.establishing),
            ("established", counts.established),
            ("closing", counts.closing),
        ];
        for (state, n) in rows {
            self.tunnels.with_label_values(&[state]).set(saturate(n));
        }
    }

    /// Sets the size and use of the configured pool `pool`.
    pub fn observe_pool(&self, pool: &str, size: u64, used: u64) {
        self.pool_size
            .with_label_values(&[pool])
            .set(saturate(size));
        self.pool_used
            .with_label_values(&[pool])
            .set(saturate(used));
    }

    /// Sets the Raft gauges and counts a leader change when `sample` names a
    /// leader (non-zero) other than the last one known. Periods without a
    /// leader (id 0, during an election) are not changes by themselves. Call
    /// it at least on every `Ready` that carries a new soft state, so no
    /// change is missed.
    pub fn observe_raft(&self, sample: &RaftSample) {
        self.raft_term.set(saturate(sample.term));
        for role in RaftRole::ALL {
            let value = i64::from(role == sample.role);
            self.raft_role.with_label_values(&[role.label()]).set(value);
        }
        self.raft_leader_id.set(saturate(sample.leader_id));
        self.raft_commit_index.set(saturate(sample.commit_index));
        self.raft_applied_index.set(saturate(sample.applied_index));
        let lag = sample.commit_index.saturating_sub(sample.applied_index);
        self.raft_apply_lag.set(saturate(lag));
        if sample.role != RaftRole::Leader {
            self.raft_follower_lag.reset();
        }
        let mut last = self
            .last_leader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if sample.leader_id != 0 {
            if last.is_some_and(|previous| previous != sample.leader_id) {
                self.raft_leader_changes.inc();
            }
            *last = Some(sample.leader_id);
        }
    }

    /// Sets the snapshot-install counter to the replica's total (it only
    /// grows) and the configuration mismatch gauges: 1 for each section in
    /// `differing`, 0 for every other section of `known`.
    pub fn observe_replication(
        &self,
        snapshots_installed: u64,
        known: &[&str],
        differing: &[String],
    ) {
        let seen = self.raft_snapshots_installed.get();
        if snapshots_installed > seen {
            self.raft_snapshots_installed
                .inc_by(snapshots_installed - seen);
        }
        for section in known {
            let bad = differing.iter().any(|d| d == section);
            self.config_mismatch
                .with_label_values(&[section])
                .set(i64::from(bad));
        }
        for d in differing {
            self.config_mismatch.with_label_values(&[d]).set(1);
        }
    }

    /// On the leader: how many entries `peer` is behind the leader's log.
    pub fn observe_follower_lag(&self, peer: u64, lag_entries: u64) {
        self.raft_follower_lag
            .with_label_values(&[&peer.to_string()])
            .set(saturate(lag_entries));
    }

    /// Whether this member leads but refuses to serve (configuration
    /// mismatch).
    pub fn observe_active_refused(&self, refused: bool) {
        self.active_refused.set(i64::from(refused));
    }

    /// Sets this node's LNS role (one of the three series is 1).
    pub fn observe_node_role(&self, role: NodeRole) {
        for r in NodeRole::ALL {
            self.node_role
                .with_label_values(&[r.label()])
                .set(i64::from(r == role));
        }
    }

    /// Whether this node holds the tunnel address `address`.
    pub fn observe_tunnel_address(&self, address: IpAddr, holding: AddressHolding) {
        let value = match holding {
            AddressHolding::Held => 1,
            AddressHolding::Released => 0,
        };
        self.tunnel_address_held
            .with_label_values(&[&address.to_string()])
            .set(value);
    }

    fn initialise_known_series(&self) {
        for section in crate::replica::fingerprint::SECTIONS {
            self.config_mismatch.with_label_values(&[section]).set(0);
        }
        self.observe_sessions(&SessionCounts::default());
        self.observe_tunnels(&TunnelCounts::default());
        for reason in SessionSetupFailure::ALL {
            self.session_setup_failures
                .with_label_values(&[reason.label()]);
        }
        for reason in TunnelSetupFailure::ALL {
            self.tunnel_setup_failures
                .with_label_values(&[reason.label()]);
        }
        for method in AuthMethod::ALL {
            for outcome in AuthOutcome::ALL {
                self.authentications
                    .with_label_values(&[method.label(), outcome.label()]);
            }
        }
        for reason in ControlDrop::ALL {
            self.control_dropped.with_label_values(&[reason.label()]);
        }
        for kind in FailoverKind::ALL {
            self.failovers.with_label_values(&[kind.label()]);
        }
        for reason in crate::engine::ipv6::IGNORED_REASONS {
            self.ipv6_ignored
                .with_label_values(&[&ipv6_reason_label(reason)]);
        }
        for role in RaftRole::ALL {
            self.raft_role.with_label_values(&[role.label()]);
        }
        // A node starts as a standby until the daemon says otherwise: it
        // must never claim to be active before it is.
        self.observe_node_role(NodeRole::Standby);
    }
}

/// The label value of an engine reason: lower case, `_` for spaces and
/// dashes (`"dhcpv6 IA in information-request"` ->
/// `dhcpv6_ia_in_information_request`).
pub fn ipv6_reason_label(reason: &str) -> String {
    reason
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Gauges are i64; counts beyond i64::MAX (never reached) are clamped.
fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn register<C: Collector + Clone + 'static>(registry: &Registry, c: C) -> Result<C, MetricsError> {
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter(registry: &Registry, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
    register(registry, IntCounter::new(name, help)?)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    register(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn int_gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
    register(registry, IntGauge::new(name, help)?)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<Gauge, MetricsError> {
    register(registry, Gauge::new(name, help)?)
}

fn gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, MetricsError> {
    register(registry, IntGaugeVec::new(Opts::new(name, help), labels)?)
}

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> Result<HistogramVec, MetricsError> {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    register(registry, HistogramVec::new(opts, labels)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new("0.1.0", "abc123").expect("static metric definitions are valid")
    }

    fn sample_value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn ignored_ipv6_messages_are_counted_by_a_closed_reason_label() {
        let m = metrics();
        let series = "lnsd_ipv6_ignored_total{reason=\"dhcpv6_malformed\"}";
        assert_eq!(
            sample_value(&m.encode().expect("encodes"), series),
            Some(0.0)
        );
        m.ipv6_ignored("dhcpv6 malformed", 2);
        m.ipv6_ignored("dhcpv6 malformed", 1);
        let text = m.encode().expect("encodes");
        assert_eq!(sample_value(&text, series), Some(3.0));
        assert_eq!(
            sample_value(
                &text,
                "lnsd_ipv6_ignored_total{reason=\"dhcpv6_ia_in_information_request\"}"
            ),
            Some(0.0)
        );
        let series_count = text
            .lines()
            .filter(|l| l.starts_with("lnsd_ipv6_ignored_total{"))
            .count();
        assert_eq!(series_count, crate::engine::ipv6::IGNORED_REASONS.len());
    }

    #[test]
    fn known_label_values_exist_at_zero_before_any_event() {
        let text = metrics().encode().expect("encodes");
        assert_eq!(
            sample_value(
                &text,
                "lnsd_session_setup_failures_total{reason=\"auth_rejected\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            sample_value(&text, "lnsd_failovers_total{kind=\"unplanned\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample_value(&text, "lnsd_node_role{role=\"active\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample_value(&text, "lnsd_node_role{role=\"standby\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample_value(
                &text,
                "lnsd_build_info{commit=\"abc123\",version=\"0.1.0\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn leader_changes_count_new_leaders_not_elections() {
        let m = metrics();
        let mut s = RaftSample {
            term: 3,
            role: RaftRole::Follower,
            leader_id: 1,
            commit_index: 10,
            applied_index: 7,
        };
        m.observe_raft(&s);
        m.observe_raft(&s);
        assert_eq!(m.raft_leader_changes.get(), 0, "first leader seen");
        // An election that re-elects leader 1.
        s.leader_id = 0;
        m.observe_raft(&s);
        s.leader_id = 1;
        m.observe_raft(&s);
        assert_eq!(m.raft_leader_changes.get(), 0, "same leader again");
        // An election won by this node (2).
        s.leader_id = 0;
        m.observe_raft(&s);
        s.leader_id = 2;
        s.role = RaftRole::Leader;
        m.observe_raft(&s);
        assert_eq!(m.raft_leader_changes.get(), 1);
        assert_eq!(m.raft_apply_lag.get(), 3);
        assert_eq!(m.raft_role.with_label_values(&["leader"]).get(), 1);
        assert_eq!(m.raft_role.with_label_values(&["follower"]).get(), 0);
    }

    #[test]
    fn follower_lag_series_disappear_when_this_node_stops_leading() {
        let m = metrics();
        m.observe_follower_lag(2, 40);
        let text = m.encode().expect("encodes");
        assert_eq!(
            sample_value(&text, "lnsd_raft_follower_lag_entries{peer=\"2\"}"),
            Some(40.0)
        );
        m.observe_raft(&RaftSample {
            term: 4,
            role: RaftRole::Follower,
            leader_id: 3,
            commit_index: 0,
            applied_index: 0,
        });
        let text = m.encode().expect("encodes");
        assert!(!text.contains("lnsd_raft_follower_lag_entries{"));
    }

    #[test]
    fn failover_sets_the_last_duration_and_counts_the_kind() {
        let m = metrics();
        m.failover_completed(
            FailoverKind::Unplanned,
            Duration::from_millis(420),
            1_790_000_000.0,
        );
        let text = m.encode().expect("encodes");
        assert_eq!(
            sample_value(&text, "lnsd_failovers_total{kind=\"unplanned\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample_value(&text, "lnsd_last_failover_duration_seconds"),
            Some(0.42)
        );
    }

    #[test]
    fn gauges_clamp_counts_beyond_i64() {
        assert_eq!(saturate(u64::MAX), i64::MAX);
        assert_eq!(saturate(5), 5);
    }
}
