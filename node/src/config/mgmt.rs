//! `[mgmt]`: where the management API (lnsctl) listens.
//!
//! Contract: the Unix socket is always served (default
//! [`crate::mgmt::server::DEFAULT_SOCKET_PATH`], mode 0600, its parent
//! directory created at start-up); a TCP listener exists only with `tcp` set
//! and then requires `token_file` (a bearer token, first line of the file,
//! relative to the config file), or mutual TLS (`tls_ca`, `tls_cert`,
//! `tls_key`: PEM files relative to the config file; a client certificate
//! signed by `tls_ca` is required), or both (then a client needs both).
//! [`check`] reports every problem naming the field;
//! [`MgmtConfig::server_config`] turns the section into what
//! [`crate::mgmt::server::bind`] takes.

use super::validate::FieldError;
use super::SecretString;
use crate::mgmt::server::{ServerConfig, ServerError, TcpConfig, DEFAULT_SOCKET_PATH};
use lns_cluster::TlsConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Mode of the management socket: root (the daemon's user) only.
pub const SOCKET_MODE: u32 = 0o600;

/// `[mgmt]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MgmtConfig {
    /// Unix socket path (absolute).
    pub socket: PathBuf,
    /// Optional TCP listener (needs `token_file`).
    pub tcp: Option<SocketAddr>,
    /// File holding the bearer token for `tcp` (first line), relative to
    /// the config file.
    pub token_file: Option<PathBuf>,
    /// The token read from `token_file` by [`MgmtConfig::resolve_token`].
    #[serde(skip)]
    pub token: Option<SecretString>,
    /// Mutual TLS on `tcp`: the CA that signs the clients' certificates
    /// (PEM). With `tls_cert` and `tls_key`: all three or none.
    pub tls_ca: Option<PathBuf>,
    /// The server's certificate chain (PEM), for the name or address
    /// clients dial.
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    pub tls_key: Option<PathBuf>,
}

impl Default for MgmtConfig {
    fn default() -> Self {
        MgmtConfig {
            socket: PathBuf::from(DEFAULT_SOCKET_PATH),
            tcp: None,
            token_file: None,
            token: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl MgmtConfig {
    /// Reads `token_file` (relative to `base`) into `token` and makes the
    /// `tls_*` paths relative to `base`.
    pub fn resolve_token(&mut self, base: &Path) -> std::io::Result<()> {
        for p in [&mut self.tls_ca, &mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(p) = &self.token_file {
            let text = std::fs::read_to_string(base.join(p))?;
            self.token = Some(SecretString::new(text.lines().next().unwrap_or("").trim()));
        }
        Ok(())
    }

    /// What the management server binds (call after validation; reads the
    /// `tls_*` files).
    pub fn server_config(&self) -> Result<ServerConfig, ServerError> {
        let tls = match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (Some(ca), Some(cert), Some(key)) => Some(
                TlsConfig::from_pem_files(ca, cert, key)
                    .map_err(|e| ServerError::Config(format!("mgmt.tls_*: {e}")))?,
            ),
            _ => None,
        };
        Ok(ServerConfig {
            socket_path: self.socket.clone(),
            socket_mode: SOCKET_MODE,
            tcp: self.tcp.map(|listen| TcpConfig {
                listen,
                token: self
                    .token
                    .as_ref()
                    .map(|t| t.expose().to_owned())
                    .unwrap_or_default(),
                tls,
            }),
        })
    }
}

/// Every rule of the `[mgmt]` section.
pub(super) fn check(m: &MgmtConfig) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut add = |path: &str, message: String| {
        errs.push(FieldError {
            path: path.into(),
            message,
        })
    };
    if !m.socket.is_absolute() {
        add(
            "mgmt.socket",
            format!(
                "{} is relative: give an absolute path such as {DEFAULT_SOCKET_PATH}",
                m.socket.display()
            ),
        );
    }
    if m.socket.file_name().is_none() {
        add("mgmt.socket", "must name a socket file".into());
    }
    let tls = [
        ("mgmt.tls_ca", &m.tls_ca),
        ("mgmt.tls_cert", &m.tls_cert),
        ("mgmt.tls_key", &m.tls_key),
    ];
    let tls_set = tls.iter().filter(|(_, p)| p.is_some()).count();
    if tls_set > 0 && tls_set < 3 {
        for (field, _) in tls.iter().filter(|(_, p)| p.is_none()) {
            add(
                field,
                "mgmt.tls_ca, mgmt.tls_cert and mgmt.tls_key go together: set all three or none"
                    .into(),
            );
        }
    }
    if tls_set > 0 && m.tcp.is_none() {
        add(
            "mgmt.tcp",
            "mgmt.tls_* only protect the TCP listener: set mgmt.tcp or remove them".into(),
        );
    }
    for (field, path) in tls {
        if let Some(path) = path.as_deref().filter(|p| p.is_absolute()) {
            match std::fs::read(path) {
                Ok(pem) if pem.windows(11).any(|w| w == b"-----BEGIN ") => {}
                Ok(_) => add(field, format!("{} is not a PEM file", path.display())),
                Err(e) => add(field, format!("cannot read {}: {e}", path.display())),
            }
        }
    }
    match (&m.tcp, &m.token_file) {
        (Some(_), None) if tls_set == 0 => add(
            "mgmt.token_file",
            "required when mgmt.tcp is set without mgmt.tls_*: the TCP listener only accepts \
             clients with the token or a client certificate"
                .into(),
        ),
        (None, Some(_)) => add(
            "mgmt.token_file",
            "only used with mgmt.tcp: remove it or set mgmt.tcp".into(),
        ),
        _ => {}
    }
    if let Some(addr) = m.tcp {
        if addr.port() == 0 {
            add(
                "mgmt.tcp",
                "needs a fixed port (1-65535): lnsctl --addr must know where to connect".into(),
            );
        }
    }
    if m.token_file.is_some() && m.token.as_ref().is_some_and(|t| t.expose().len() < 16) {
        add(
            "mgmt.token_file",
            "the token (first line) must be at least 16 characters".into(),
        );
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> MgmtConfig {
        toml::from_str(text).expect("valid [mgmt] body")
    }

    fn paths(m: &MgmtConfig) -> Vec<String> {
        check(m).into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn defaults_to_the_root_only_unix_socket() {
        let m = parse("");
        assert_eq!(m.socket, PathBuf::from("/run/lnsd/mgmt.sock"));
        assert!(check(&m).is_empty());
        let s = m.server_config().expect("no TLS files to read");
        assert_eq!(s.socket_mode, 0o600);
        assert!(s.tcp.is_none());
    }

    #[test]
    fn tcp_requires_a_token_file_and_a_token_file_requires_tcp() {
        assert_eq!(
            paths(&parse("tcp = \"127.0.0.1:7402\"")),
            ["mgmt.token_file"]
        );
        assert_eq!(
            paths(&parse("token_file = \"mgmt.token\"")),
            ["mgmt.token_file"]
        );
        assert_eq!(
            paths(&parse("tcp = \"127.0.0.1:0\"\ntoken_file = \"t\"")),
            ["mgmt.tcp"]
        );
    }

    #[test]
    fn relative_socket_and_short_token_are_named() {
        let mut m = parse("socket = \"mgmt.sock\"\ntcp = \"127.0.0.1:7402\"\ntoken_file = \"t\"");
        m.token = Some(SecretString::new("short"));
        assert_eq!(paths(&m), ["mgmt.socket", "mgmt.token_file"]);
    }

    #[test]
    fn tls_needs_all_three_files_and_tcp_and_replaces_the_token() {
        assert_eq!(
            paths(&parse(
                "tcp = \"127.0.0.1:7402\"\ntls_ca = \"/nonexistent/ca.pem\""
            )),
            ["mgmt.tls_cert", "mgmt.tls_key", "mgmt.tls_ca",]
        );
        let dir = std::env::temp_dir().join(format!("lnsd-mgmt-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        for f in ["ca.pem", "cert.pem"] {
            std::fs::write(dir.join(f), "-----BEGIN CERTIFICATE-----\nAA\n").expect("pem");
        }
        std::fs::write(dir.join("key.pem"), "not pem").expect("key");
        let body = "tls_ca = \"ca.pem\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"";
        let mut no_tcp = parse(body);
        no_tcp.resolve_token(&dir).expect("no token file");
        let mut with_tcp = parse(&format!("tcp = \"127.0.0.1:7402\"\n{body}"));
        with_tcp.resolve_token(&dir).expect("no token file");
        let (a, b) = (paths(&no_tcp), paths(&with_tcp));
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(a, ["mgmt.tcp", "mgmt.tls_key"]);
        // TCP with mutual TLS needs no token; the key that is not PEM is named.
        assert_eq!(b, ["mgmt.tls_key"]);
    }

    #[test]
    fn token_is_the_first_line_of_the_file_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("lnsd-mgmt-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        std::fs::write(dir.join("t"), "0123456789abcdef0123\nignored\n").expect("token");
        let mut m = parse("tcp = \"127.0.0.1:7402\"\ntoken_file = \"t\"");
        let read = m.resolve_token(&dir);
        std::fs::remove_dir_all(&dir).ok();
        read.expect("readable");
        assert!(check(&m).is_empty());
        let tcp = m
            .server_config()
            .expect("no TLS files to read")
            .tcp
            .expect("tcp configured");
        assert_eq!(tcp.token, "0123456789abcdef0123");
    }
}
