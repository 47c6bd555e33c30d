//! A FreeRADIUS 3.2 server for a test, from a config written here
//! (REFERENCE.md "Running FreeRADIUS in a test"). The one generator of
//! FreeRADIUS test configs in the workspace: the beds, node's AAA and lnsd
//! tests and the RADIUS client interop test all use it.
//!
//! Contract: [`write_config`] writes a self-contained `radiusd.conf` and
//! `users` file into a directory: one client per NAS address and secret,
//! the `pap`, `chap` and `files` modules, auth and acct (auth + 1)
//! listeners on the given address, a `detail` file for accounting. Users
//! come from a template so lac-sim and the server agree on them, plus any
//! literal entries a test needs ([`ServerOptions::extra_users`]). Whether
//! clients must sign their requests is a [`ClientSigning`] (l2tpns sends no
//! Message-Authenticator; lnsd does). FreeRADIUS 3.2.1 puts no
//! Message-Authenticator in its replies unless told to: the config adds one
//! to every Access reply (post-auth, rejects, and Status-Server), as the
//! BlastRADIUS advisories tell operators to; lnsd drops replies without
//! one (RFC 3579 §3.2). [`spawn`] starts `freeradius -f -d DIR` in a
//! namespace and waits until it listens; [`LocalRadius`] runs one in the
//! caller's namespace for tests without a topology.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A `users` entry (for [`ServerOptions::extra_users`]): alice, password
/// `wonderland`, with every reply attribute lnsd and proto's
/// `Authorization` read (address, timeouts, Class, IPv6 prefixes, DNS).
pub const ALICE: &str = r#"alice Cleartext-Password := "wonderland"
	Service-Type = Framed-User,
	Framed-Protocol = PPP,
	Framed-IP-Address = 198.18.64.7,
	Session-Timeout = 3600,
	Acct-Interim-Interval = 300,
	Class = "plan-gold",
	Framed-IPv6-Prefix = "2001:db8:1:2::/64",
	Delegated-IPv6-Prefix = "2001:db8:100::/56",
	Framed-IPv6-Address = 2001:db8:1:2::99,
	Framed-Interface-Id = 0211:22ff:fe33:4455,
	MS-Primary-DNS-Server = 192.0.2.53,
	MS-Secondary-DNS-Server = 192.0.2.54,
	DNS-Server-IPv6-Address = 2001:db8::53
"#;

/// Whether the server requires a Message-Authenticator in requests
/// (`require_message_authenticator`, RFC 3579 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientSigning {
    /// Requests without one are accepted (l2tpns sends none).
    #[default]
    Optional,
    /// Requests without one are dropped.
    Required,
}

/// What a test adds to the generated server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Whether clients must sign their requests.
    pub client_signing: ClientSigning,
    /// `users` entries in FreeRADIUS syntax appended after the templated
    /// users (reply attributes a test checks).
    pub extra_users: String,
}

/// Writes `radiusd.conf`, `users` and the log/acct/run directories into `dir`.
pub fn write_config(dir: &Path, cfg: &RadiusConfig) -> Result<()> {
    write_config_with(dir, cfg, &ServerOptions::default())
}

/// [`write_config`] with the test's [`ServerOptions`].
pub fn write_config_with(dir: &Path, cfg: &RadiusConfig, options: &ServerOptions) -> Result<()> {
    for sub in ["log", "acct", "run"] {
        std::fs::create_dir_all(dir.join(sub)).context("create radius dirs")?;
    }
    let d = dir.display();
    let signing = match options.client_signing {
        ClientSigning::Optional => "no",
        ClientSigning::Required => "yes",
    };
    let mut clients = String::new();
    for (i, (addr, secret)) in cfg.clients.iter().enumerate() {
        let _ = write!(
            clients,
            "client nas{i} {{\n  ipaddr = {addr}\n  secret = {secret}\n  require_message_authenticator = {signing}\n}}\n"
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
  always ok {{
    rcode = ok
  }}
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
    Autz-Type Status-Server {{
      update reply {{
        &Message-Authenticator := 0x00000000000000000000000000000000
      }}
      ok
    }}
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
    Post-Auth-Type REJECT {{
      update reply {{
        &Message-Authenticator := 0x00000000000000000000000000000000
      }}
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
    users.push_str(&options.extra_users);
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

/// A FreeRADIUS in the caller's network namespace (the loopback, usually),
/// for tests without a [`Topology`]: its config in a fresh temporary
/// directory. Dropping it kills the server by PID, then removes the
/// directory.
#[derive(Debug)]
pub struct LocalRadius {
    proc: Option<Proc>,
    dir: PathBuf,
    auth: SocketAddr,
}

impl LocalRadius {
    /// Writes the config and starts `bin -f -l stdout -d DIR` (the caller
    /// retries its first requests, or waits, until the server listens).
    pub fn start(bin: &Path, cfg: &RadiusConfig, options: &ServerOptions) -> Result<LocalRadius> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("lns-radius-{}-{nanos}", std::process::id()));
        write_config_with(&dir, cfg, options)?;
        let mut cmd = Command::new(bin);
        cmd.args(["-f", "-l", "stdout", "-d"]).arg(&dir);
        let proc = Proc::spawn(cmd, dir.join("stdout.log"))?;
        Ok(LocalRadius {
            proc: Some(proc),
            dir,
            auth: SocketAddr::new(cfg.listen, cfg.auth_port),
        })
    }

    /// On 127.0.0.1 (free ports) for one client, 127.0.0.1 with `secret`,
    /// which must sign its requests; `users` are literal `users` entries.
    pub fn loopback(bin: &Path, secret: &str, users: &str) -> Result<LocalRadius> {
        let localhost = IpAddr::from([127, 0, 0, 1]);
        let cfg = RadiusConfig {
            listen: localhost,
            auth_port: free_port_pair(localhost)?,
            clients: vec![(localhost, secret.into())],
            user_template: String::new(),
            users: 0,
            password: String::new(),
        };
        let options = ServerOptions {
            client_signing: ClientSigning::Required,
            extra_users: users.into(),
        };
        LocalRadius::start(bin, &cfg, &options)
    }

    /// The authentication listener.
    pub fn auth(&self) -> SocketAddr {
        self.auth
    }

    /// The accounting listener (the next port).
    pub fn acct(&self) -> SocketAddr {
        SocketAddr::new(self.auth.ip(), self.auth.port() + 1)
    }

    /// Its configuration directory (the `acct/detail` file is there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LocalRadius {
    fn drop(&mut self) {
        drop(self.proc.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The FreeRADIUS binary (`freeradius` on the PATH or in the sbin
/// directories), `None` when it is not installed.
pub fn freeradius_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("freeradius"))
        .find(|p| p.is_file())
}

/// A free UDP port on `ip`, whatever the kernel hands out.
pub fn free_udp_port(ip: IpAddr) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map_or(0, |a| a.port())
}

/// An authentication port on `ip` whose next port (accounting) is free too.
pub fn free_port_pair(ip: IpAddr) -> Result<u16> {
    for _ in 0..64 {
        let Ok(auth) = UdpSocket::bind((ip, 0)) else {
            continue;
        };
        let port = auth.local_addr().context("local address")?.port();
        if port < u16::MAX && UdpSocket::bind((ip, port + 1)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no two consecutive free UDP ports on {ip}")
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

    #[test]
    fn options_require_signed_requests_and_add_literal_users() {
        let dir = std::env::temp_dir().join(format!("lns-radius-opts-{}", std::process::id()));
        let cfg = RadiusConfig {
            listen: "127.0.0.1".parse().expect("literal"),
            auth_port: 1812,
            clients: vec![("127.0.0.1".parse().expect("literal"), "k".into())],
            user_template: "sub{n}".into(),
            users: 0,
            password: "pw".into(),
        };
        let options = ServerOptions {
            client_signing: ClientSigning::Required,
            extra_users: "carol Cleartext-Password := \"c\"\n".into(),
        };
        write_config_with(&dir, &cfg, &options).expect("write");
        let users = std::fs::read_to_string(dir.join("users")).expect("read");
        assert_eq!(users, "carol Cleartext-Password := \"c\"\n");
        let conf = std::fs::read_to_string(dir.join("radiusd.conf")).expect("read");
        assert!(conf.contains("require_message_authenticator = yes"));
        assert!(conf.contains("Post-Auth-Type REJECT"));
        // FreeRADIUS itself accepts it (`-C`: check the config and exit).
        if let Some(bin) = freeradius_binary() {
            let out = Command::new(bin)
                .arg("-C")
                .arg("-d")
                .arg(&dir)
                .output()
                .expect("freeradius runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
