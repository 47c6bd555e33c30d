//! What each task is built from: the engine's, the AAA task's and the data
//! plane's configuration derived from a validated [`Config`], and the list
//! of changes a SIGHUP cannot apply.
//!
//! Contract: pure functions of a validated config (except
//! [`Config::aaa_settings`], which reads the users file).

use super::{AuthMethodName, Config, SecondLogin, TunnelAuthPolicy};
use crate::aaa::{AaaSettings, RadiusSettings, Users};
use crate::dataplane::DataPlaneConfig;
use crate::engine::{EngineConfig, PoolSpec, SecondLoginPolicy};
use lns_proto::l2tp::{
    EndpointConfig, Hiding, Limits, PeerEntry, PeerSettings, PeerTable, Side, TransportConfig,
    TunnelAuth,
};
use lns_proto::ppp::fsm::FsmConfig;
use lns_proto::ppp::{AuthMethod, LinkConfig};
use lns_proto::radius::{ClientConfig, Nas, Secret, ServerConfig};
use std::net::IpAddr;
use std::time::Duration;

impl Config {
    /// The LAC table.
    pub fn peer_table(&self) -> PeerTable {
        let entries = self
            .lac
            .iter()
            .map(|l| PeerEntry {
                host_name: l.host_name.as_ref().map(|h| h.as_bytes().to_vec()),
                address: l.address,
                settings: PeerSettings {
                    secret: l.secret.as_ref().map(|s| s.expose().as_bytes().to_vec()),
                    auth: match l.tunnel_auth {
                        TunnelAuthPolicy::Required => TunnelAuth::Required,
                        TunnelAuthPolicy::Optional => TunnelAuth::NotRequired,
                    },
                    hiding: if l.hide_avps {
                        Hiding::Sensitive
                    } else {
                        Hiding::Off
                    },
                },
            })
            .collect();
        PeerTable {
            entries,
            default: self.limits.accept_unknown_lacs.then(PeerSettings::open),
        }
    }

    /// The pools.
    pub fn pool_specs(&self) -> Vec<PoolSpec> {
        self.pools
            .iter()
            .map(|p| PoolSpec {
                name: p.name.clone(),
                ranges: p.ranges.iter().map(|r| (r.start, r.end)).collect(),
                sticky: p.sticky,
            })
            .collect()
    }

    /// The engine's configuration.
    pub fn engine_config(&self) -> EngineConfig {
        let mut endpoint = EndpointConfig::new(Side::Lns, self.node.host_name.as_bytes());
        endpoint.local_host_names = self
            .listen
            .iter()
            .filter_map(|l| Some((l.address, l.host_name.as_ref()?.as_bytes().to_vec())))
            .collect();
        let t = &self.l2tp;
        endpoint.transport = TransportConfig {
            initial_timeout: Duration::from_millis(t.retransmit_initial_ms),
            max_timeout: Duration::from_millis(t.retransmit_max_ms),
            max_retransmits: t.max_retransmits,
            ack_delay: Duration::from_millis(t.ack_delay_ms),
            hello_interval: Duration::from_secs(t.hello_interval_secs),
            receive_window: t.receive_window,
        };
        endpoint.limits = Limits {
            max_tunnels: self.limits.max_tunnels,
            max_sessions_per_tunnel: self.limits.max_sessions_per_tunnel,
            max_half_open: self.limits.max_half_open,
        };
        endpoint.peers = self.peer_table();
        let p = &self.ppp;
        let mut link = LinkConfig::lns(p.ipcp_local);
        link.fsm = FsmConfig {
            restart: Duration::from_millis(p.restart_ms),
            max_configure: p.max_configure,
            max_failure: p.max_failure,
            max_terminate: p.max_terminate,
            ..FsmConfig::default()
        };
        link.mru = p.mru;
        link.max_peer_mru = p.max_peer_mru;
        link.auth_order = p
            .auth_order
            .iter()
            .map(|m| match m {
                AuthMethodName::Chap => AuthMethod::ChapMd5,
                AuthMethodName::Pap => AuthMethod::Pap,
            })
            .collect();
        link.echo_interval =
            (p.echo_interval_secs > 0).then(|| Duration::from_secs(p.echo_interval_secs));
        link.echo_max_failures = p.echo_failures;
        link.chap_name = p
            .chap_name
            .clone()
            .unwrap_or_else(|| self.node.host_name.clone())
            .into_bytes();
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        EngineConfig {
            endpoint,
            link,
            pools: self.pool_specs(),
            default_pool: self
                .aaa
                .default_pool
                .clone()
                .or_else(|| self.pools.first().map(|p| p.name.clone())),
            dns: [p.dns.first().copied(), p.dns.get(1).copied()],
            session_timeout: secs(p.session_timeout_secs),
            idle_timeout: secs(p.idle_timeout_secs),
            second_login: match p.second_login {
                SecondLogin::Allow => SecondLoginPolicy::Allow,
                SecondLogin::ReplaceOlder => SecondLoginPolicy::ReplaceOlder,
            },
            max_sessions: self.limits.max_sessions,
            setups_per_second_per_source: self.limits.setups_per_second_per_source,
            // validate() refuses an [ipv6] section whose settings do not build.
            ipv6: self.ipv6.as_ref().and_then(|v6| v6.settings().ok()),
            accounting: self.engine_accounting(),
        }
    }

    /// The AAA task's backends (reads the users file).
    pub fn aaa_settings(&self) -> anyhow::Result<AaaSettings> {
        let users = match &self.aaa.users_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("aaa.users_file {}: {e}", path.display()))?;
                Some(Users::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let radius = self.aaa.radius.as_ref().map(|r| RadiusSettings {
            client: ClientConfig {
                auth_servers: r
                    .servers
                    .iter()
                    .map(|s| ServerConfig {
                        addr: s.address,
                        secret: Secret::new(
                            s.secret.as_ref().map(|x| x.expose()).unwrap_or_default(),
                        ),
                        timeout: Duration::from_millis(s.timeout_ms),
                        tries: s.tries,
                    })
                    .collect(),
                acct_servers: Vec::new(),
                dead_time: Duration::from_secs(r.dead_time_secs),
            },
            nas: Nas {
                ipv4: self.node.nas_ip,
                ipv6: None,
                identifier: Some(self.node.host_name.clone()),
            },
            bind: r.bind,
        });
        Ok(AaaSettings { users, radius })
    }

    /// The data plane's configuration.
    pub fn data_plane_config(&self) -> DataPlaneConfig {
        let mut routes: Vec<(IpAddr, u8)> = Vec::new();
        for p in &self.pools {
            for r in &p.ranges {
                routes.extend(range_to_prefixes(u32::from(r.start), u32::from(r.end)));
            }
        }
        // The IPv6 pools are routed into the TUN device too.
        routes.extend(self.ipv6.iter().flat_map(|v| v.routes()));
        DataPlaneConfig {
            listen: self.listen.iter().map(|l| l.address).collect(),
            tun_name: self.tun.name.clone(),
            tun_mtu: self.tun.mtu,
            tun_ipv4: self.tun_ipv4(),
            tun_ipv6: self.ipv6.as_ref().and_then(|v| v.tun_address),
            routes,
            workers: self.tun.workers,
            control_queue: self.limits.control_queue,
            bind: if self.cluster.is_some() {
                crate::dataplane::BindMode::Freebind
            } else {
                crate::dataplane::BindMode::Local
            },
            socket_buffer: self.tun.socket_buffer,
        }
    }

    /// Settings that differ from `old` and need a restart (SIGHUP logs them).
    pub fn restart_needed(&self, old: &Config) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.node != old.node {
            v.push("node");
        }
        if self.listen != old.listen {
            v.push("listen");
        }
        if self.l2tp != old.l2tp {
            v.push("l2tp");
        }
        if self.ppp != old.ppp {
            v.push("ppp");
        }
        if self.tun != old.tun {
            v.push("tun");
        }
        if self.log != old.log {
            v.push("log");
        }
        if self.http != old.http {
            v.push("http");
        }
        if self.ipv6 != old.ipv6 {
            v.push("ipv6");
        }
        // The accounting task and the DAE sockets are set up at start.
        if self.aaa.accounting != old.aaa.accounting
            || self.accounting_servers() != old.accounting_servers()
        {
            v.push("aaa.accounting");
        }
        if self.dae != old.dae {
            v.push("dae");
        }
        if self.mgmt != old.mgmt {
            v.push("mgmt");
        }
        // accept_unknown_lacs is part of the LAC table, applied live.
        let live = |l: &super::LimitsConfig| super::LimitsConfig {
            accept_unknown_lacs: false,
            ..l.clone()
        };
        if live(&self.limits) != live(&old.limits) {
            v.push("limits");
        }
        v
    }

    /// TUN routes this config needs that `old` did not have (a pool added
    /// or grown on SIGHUP: the data plane set its routes at start).
    pub fn new_routes(&self, old: &Config) -> Vec<(IpAddr, u8)> {
        let before = old.data_plane_config().routes;
        self.data_plane_config()
            .routes
            .into_iter()
            .filter(|r| !before.contains(r))
            .collect()
    }
}

/// The CIDR prefixes covering an inclusive range (for TUN routes).
fn range_to_prefixes(mut start: u32, end: u32) -> Vec<(IpAddr, u8)> {
    let mut out = Vec::new();
    while start <= end {
        let mut len = 32u32;
        // Grow the block while it stays aligned and inside the range.
        while len > 0 {
            let size = 1u64 << (33 - len);
            let aligned = u64::from(start) % size == 0;
            if !aligned || u64::from(start) + size - 1 > u64::from(end) {
                break;
            }
            len -= 1;
        }
        out.push((IpAddr::from(start.to_be_bytes()), len as u8));
        let size = 1u64 << (32 - len);
        match u32::try_from(u64::from(start) + size) {
            Ok(next) => start = next,
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_covering_prefixes() {
        let p = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().expect("literal"));
        let v = range_to_prefixes(p("100.64.0.0"), p("100.64.0.255"));
        assert_eq!(v, vec![(IpAddr::from([100, 64, 0, 0]), 24)]);
        let v = range_to_prefixes(p("100.64.0.1"), p("100.64.0.6"));
        assert_eq!(
            v,
            vec![
                (IpAddr::from([100, 64, 0, 1]), 32),
                (IpAddr::from([100, 64, 0, 2]), 31),
                (IpAddr::from([100, 64, 0, 4]), 31),
                (IpAddr::from([100, 64, 0, 6]), 32),
            ]
        );
    }

    #[test]
    fn example_config_builds_every_task_config() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lnsd.toml");
        let c = Config::load(&path).expect("valid");
        let e = c.engine_config();
        assert_eq!(e.default_pool.as_deref(), Some("subscribers"));
        assert_eq!(e.endpoint.peers.entries.len(), 2);
        assert_eq!(e.endpoint.peers.default, None);
        assert_eq!(
            e.link.auth_order,
            vec![AuthMethod::ChapMd5, AuthMethod::Pap]
        );
        let a = c.aaa_settings().expect("users file readable");
        assert_eq!(a.users.map(|u| u.len()), Some(2));
        assert_eq!(a.radius.map(|r| r.client.auth_servers.len()), Some(2));
        let d = c.data_plane_config();
        assert_eq!(d.listen.len(), 2);
        assert!(d.routes.contains(&(IpAddr::from([100, 65, 0, 32]), 28)));
        assert!(d.routes.contains(&(IpAddr::from([100, 64, 0, 128]), 26)));
        let v6: std::net::Ipv6Addr = "2001:db8:100::".parse().expect("literal");
        assert!(d.routes.contains(&(IpAddr::V6(v6), 48)));
        let s = c.ipv6.as_ref().expect("[ipv6]").settings().expect("valid");
        assert_eq!((s.link_pool, s.pd_length), (Some((v6, 48)), 56));
        assert_eq!(s.ra.mtu, Some(1460));
    }

    #[test]
    fn reload_reports_restart_only_sections_and_new_routes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lnsd.toml");
        let old = Config::load(&path).expect("valid");
        let mut new = old.clone();
        new.limits.accept_unknown_lacs = true;
        new.lac.clear();
        assert_eq!(new.restart_needed(&old), Vec::<&str>::new());
        new.ppp.mru = 1400;
        new.tun.mtu = 1400;
        assert_eq!(new.restart_needed(&old), vec!["ppp", "tun"]);
        new.pools.push(crate::config::PoolConfig {
            name: "extra".into(),
            ranges: vec![crate::config::RangeConfig {
                start: "100.66.0.0".parse().expect("literal"),
                end: "100.66.0.255".parse().expect("literal"),
            }],
            sticky: false,
        });
        assert_eq!(
            new.new_routes(&old),
            vec![(IpAddr::from([100, 66, 0, 0]), 24)]
        );
    }
}
