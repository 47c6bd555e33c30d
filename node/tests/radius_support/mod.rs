//! A throw-away FreeRADIUS for tests: writes a minimal config (clients,
//! pap/chap/files, Message-Authenticator added in post-auth because
//! FreeRADIUS 3.2.1 omits it) and the given `users` text, runs
//! `freeradius -f` and kills it on drop.
#![allow(dead_code)]

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

pub const SECRET: &str = "s3cr3t-lnsd";

pub struct FreeRadius {
    child: Child,
    dir: PathBuf,
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub fn freeradius_binary() -> Option<PathBuf> {
    ["/usr/sbin/freeradius", "/usr/local/sbin/freeradius"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral port");
    s.local_addr().expect("local addr").port()
}

pub fn write_config(dir: &Path, auth_port: u16, acct_port: u16, users: &str) {
    let d = dir.display();
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
max_requests = 1024
hostname_lookups = no
log {{
  destination = files
  file = {d}/log/radius.log
  auth = yes
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}}
client lnsd {{
  ipaddr = 127.0.0.1
  secret = {SECRET}
  require_message_authenticator = yes
}}
thread pool {{
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
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
    ipaddr = 127.0.0.1
    port = {auth_port}
  }}
  listen {{
    type = acct
    ipaddr = 127.0.0.1
    port = {acct_port}
  }}
  authorize {{
    Autz-Type Status-Server {{
      update reply {{
        Message-Authenticator := 0x00
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
    update reply {{
      Message-Authenticator := 0x00
    }}
    Post-Auth-Type REJECT {{
      update reply {{
        Message-Authenticator := 0x00
      }}
    }}
  }}
}}
"#
    );

    for sub in ["log", "run", "acct"] {
        fs::create_dir_all(dir.join(sub)).expect("create config subdirectory");
    }
    fs::write(dir.join("radiusd.conf"), conf).expect("write radiusd.conf");
    fs::write(dir.join("users"), users).expect("write users");
}

pub fn start(bin: &Path, users: &str) -> (FreeRadius, SocketAddr) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("lnsd-aaa-{}-{nanos}", std::process::id()));
    let (auth_port, acct_port) = (free_udp_port(), free_udp_port());
    write_config(&dir, auth_port, acct_port, users);
    let log = fs::File::create(dir.join("stdout.log")).expect("create log");
    let child = Command::new(bin)
        .args(["-f", "-l", "stdout", "-d"])
        .arg(&dir)
        .stdout(Stdio::from(log.try_clone().expect("dup log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn freeradius");
    (
        FreeRadius { child, dir },
        SocketAddr::from((Ipv4Addr::LOCALHOST, auth_port)),
    )
}
