//! A FreeRADIUS 3.2 server for a test, from a config written here
//! (REFERENCE.md "Running FreeRADIUS in a test").
//!
//! Contract: [`write_config`] writes a self-contained `radiusd.conf` and
//! `users` file into a directory: one client per NAS address and secret,
//! the `pap`, `chap` and `files` modules, auth and acct listeners on the
//! given address, a `detail` file for accounting. No Message-Authenticator
//! is required from or added for clients: l2tpns sends none. Users come
//! from a template so lac-sim and the server agree on them. [`spawn`] starts
//! `freeradius -f -d DIR` in a namespace and waits until it listens.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::harness::{wait_for_udp_port, Proc, Topology};
use crate::lac::user_name;

/// What the server knows.
#[derive(Debug, Clone)]
pub struct RadiusConfig {
    /// Address the listeners bind to.
    pub listen: IpAddr,
    /// Authentication port (accounting is the next one).
    pub auth_port: u16,
    /// NAS clients: address and shared secret.
    pub clients: Vec<(IpAddr, String)>,
    /// User name template (`{n}` = 1..=users).
    pub user_template: String,
    /// How many users.
    pub users: u32,
    /// Their password.
    pub password: String,
}

/// Writes `radiusd.conf`, `users` and the log/acct/run directories into `dir`.
pub fn write_config(dir: &Path, cfg: &RadiusConfig) -> Result<()> {
    for sub in ["log", "acct", "run"] {
        std::fs::create_dir_all(dir.join(sub)).context("create radius dirs")?;
    }
    let d = dir.display();
    let mut clients = String::new();
    for (i, (addr, secret)) in cfg.clients.iter().enumerate() {
        let _ = write!(
            clients,
            "client nas{i} {{\n  ipaddr = {addr}\n  secret = {secret}\n  require_message_authenticator = no\n}}\n"
        );
    }
    let (listen, auth, acct) = (cfg.listen, cfg.auth_port, cfg.auth_port + 1);
    let conf = format!(
        r#"prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {d}
sbindir = /usr/sbin
logdir = {d}/log
raddbdir = {d}
radacctdir = {d}/acct
name = freeradius
confdir = {d}
modconfdir = {d}
certdir = {d}
cadir = {d}
run_dir = {d}/run
db_dir = {d}
libdir = /usr/lib/freeradius
pidfile = {d}/run/radiusd.pid
dictdir = /usr/share/freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {{
  destination = files
  file = {d}/log/radius.log
  auth = no
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}}
{clients}thread pool {{
  start_servers = 4
  max_servers = 8
  min_spare_servers = 2
  max_spare_servers = 8
  max_requests_per_server = 0
}}
modules {{
  pap {{
  }}
  chap {{
  }}
  files {{
    filename = {d}/users
  }}
  detail {{
    filename = {d}/acct/detail
    permissions = 0600
    header = "%t"
  }}
}}
server default {{
  listen {{
    type = auth
    ipaddr = {listen}
    port = {auth}
  }}
  listen {{
    type = acct
    ipaddr = {listen}
    port = {acct}
  }}
  authorize {{
    chap
    files
    pap
  }}
  authenticate {{
    Auth-Type PAP {{
      pap
    }}
    Auth-Type CHAP {{
      chap
    }}
  }}
  preacct {{
  }}
  accounting {{
    detail
  }}
  post-auth {{
    # RFC 3579 §3.2 / BlastRADIUS: Access replies carry a
    # Message-Authenticator (the encoder computes it); lnsd requires one.
    update reply {{
      &Message-Authenticator := 0x00000000000000000000000000000000
    }}
  }}
}}
"#
    );
    std::fs::write(dir.join("radiusd.conf"), conf).context("write radiusd.conf")?;
    let mut users = String::new();
    for i in 0..cfg.users {
        let _ = write!(
            users,
            "{} Cleartext-Password := \"{}\"\n\tService-Type = Framed-User,\n\tFramed-Protocol = PPP\n",
            user_name(&cfg.user_template, i),
            cfg.password
        );
    }
    std::fs::write(dir.join("users"), users).context("write users")?;
    Ok(())
}

/// Starts FreeRADIUS in namespace `role` from a config in `<topology dir>/radius`
/// and waits until its auth port is bound.
pub fn spawn(topo: &Topology, role: &str, cfg: &RadiusConfig) -> Result<Proc> {
    let dir = topo.dir().join("radius");
    write_config(&dir, cfg)?;
    let proc = topo.spawn_in(
        role,
        "freeradius",
        Command::new("freeradius").arg("-f").arg("-d").arg(&dir),
    )?;
    wait_for_udp_port(&topo.ns(role), cfg.auth_port, Duration::from_secs(20))
        .with_context(|| format!("freeradius did not start:\n{}", proc.log()))?;
    Ok(proc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_follow_the_template_and_clients_have_no_message_authenticator() {
        let dir = std::env::temp_dir().join(format!("lns-radius-unit-{}", std::process::id()));
        let cfg = RadiusConfig {
            listen: "127.0.0.1".parse().expect("literal"),
            auth_port: 1812,
            clients: vec![("127.0.0.1".parse().expect("literal"), "k".into())],
            user_template: "sub{n}".into(),
            users: 3,
            password: "pw".into(),
        };
        write_config(&dir, &cfg).expect("write");
        let users = std::fs::read_to_string(dir.join("users")).expect("read");
        assert!(users.starts_with("sub1 Cleartext-Password := \"pw\"\n"));
        assert!(users.contains("\nsub3 Cleartext-Password"));
        assert!(!users.contains("sub4"));
        let conf = std::fs::read_to_string(dir.join("radiusd.conf")).expect("read");
        assert!(conf.contains("require_message_authenticator = no"));
        assert!(conf.contains("port = 1813"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
