//! `[mgmt]`: where the management API (lnsctl) listens.
//!
//! Contract: the Unix socket is always served (default
//! [`crate::mgmt::server::DEFAULT_SOCKET_PATH`], mode 0600, its parent
//! directory created at start-up); a TCP listener exists only with `tcp` set
//! and then requires `token_file` (a bearer token, first line of the file,
//! relative to the config file). [`check`] reports every problem naming the
//! field; [`MgmtConfig::server_config`] turns the section into what
//! [`crate::mgmt::server::bind`] takes.

use super::validate::FieldError;
use super::SecretString;
use crate::mgmt::server::{ServerConfig, TcpConfig, DEFAULT_SOCKET_PATH};
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
}

impl Default for MgmtConfig {
    fn default() -> Self {
        MgmtConfig {
            socket: PathBuf::from(DEFAULT_SOCKET_PATH),
            tcp: None,
            token_file: None,
            token: None,
        }
    }
}

impl MgmtConfig {
    /// Reads `token_file` (relative to `base`) into `token`.
    pub fn resolve_token(&mut self, base: &Path) -> std::io::Result<()> {
        if let Some(p) = &self.token_file {
            let text = std::fs::read_to_string(base.join(p))?;
            self.token = Some(SecretString::new(text.lines().next().unwrap_or("").trim()));
        }
        Ok(())
    }

    /// What the management server binds (call after validation).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            socket_path: self.socket.clone(),
            socket_mode: SOCKET_MODE,
            tcp: self.tcp.map(|listen| TcpConfig {
                listen,
                token: self
                    .token
                    .as_ref()
                    .map(|t| t.expose().to_owned())
                    .unwrap_or_default(),
            }),
        }
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
    match (&m.tcp, &m.token_file) {
        (Some(_), None) => add(
            "mgmt.token_file",
            "required when mgmt.tcp is set: the TCP listener only accepts clients with the token"
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
        let s = m.server_config();
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
    fn token_is_the_first_line_of_the_file_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("lnsd-mgmt-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        std::fs::write(dir.join("t"), "0123456789abcdef0123\nignored\n").expect("token");
        let mut m = parse("tcp = \"127.0.0.1:7402\"\ntoken_file = \"t\"");
        let read = m.resolve_token(&dir);
        std::fs::remove_dir_all(&dir).ok();
        read.expect("readable");
        assert!(check(&m).is_empty());
        let tcp = m.server_config().tcp.expect("tcp configured");
        assert_eq!(tcp.token, "0123456789abcdef0123");
    }
}
