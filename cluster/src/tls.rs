//! Optional mutual TLS (rustls, through tonic) on the peer transport.
//!
//! Contract: with a [`TlsConfig`], every member serves its peer endpoint
//! over TLS with its own certificate and *requires* a client certificate
//! signed by the cluster CA; as a caller it presents its certificate and
//! accepts a server only if the cluster CA signed the server's certificate
//! for the name it dials (the host of the peer's address, or
//! [`TlsConfig::server_name`] when every member shares one name). A member
//! whose certificate comes from another CA is refused in both directions.
//! The shared-secret authentication (`auth`) still runs inside the tunnel.
//! The private key is never logged (`Debug` redacts it).

use std::path::Path;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// PEM material of one member: the cluster CA, its certificate, its key.
#[derive(Clone)]
pub struct TlsConfig {
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// Name checked in the peers' certificates instead of the host of
    /// their address.
    pub server_name: Option<String>,
}

/// PEM material that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not PEM (no -----BEGIN line)")]
    NotPem(&'static str),
    #[error("the TLS configuration was refused: {0}")]
    Refused(String),
}

impl TlsConfig {
    /// From PEM bytes: the CA certificate(s), this member's certificate
    /// chain and its private key.
    pub fn from_pem(
        ca_pem: impl Into<Vec<u8>>,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Result<Self, TlsError> {
        let c = TlsConfig {
            ca_pem: ca_pem.into(),
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            server_name: None,
        };
        for (what, pem) in [
            ("the CA", &c.ca_pem),
            ("the certificate", &c.cert_pem),
            ("the key", &c.key_pem),
        ] {
            if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(TlsError::NotPem(what));
            }
        }
        Ok(c)
    }

    /// From PEM files (read once, at start).
    pub fn from_pem_files(ca: &Path, cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        TlsConfig::from_pem(read(ca)?, read(cert)?, read(key)?)
    }

    /// Checks every peer's certificate for `name` instead of its host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The server side: our identity, client certificates required.
    pub fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
            .client_auth_optional(false)
    }

    /// The caller side towards a peer: our identity, the cluster CA only.
    pub fn client(&self) -> ClientTlsConfig {
        let c = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem));
        match &self.server_name {
            Some(name) => c.domain_name(name.clone()),
            None => c,
        }
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_pem_bytes", &self.ca_pem.len())
            .field("cert_pem_bytes", &self.cert_pem.len())
            .field("key", &"<redacted>")
            .field("server_name", &self.server_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn non_pem_material_is_refused_naming_the_part() {
        assert!(matches!(
            TlsConfig::from_pem(PEM, b"garbage".to_vec(), PEM),
            Err(TlsError::NotPem("the certificate"))
        ));
        assert!(TlsConfig::from_pem(PEM, PEM, PEM).is_ok());
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = TlsConfig::from_pem_files(
            Path::new("/nonexistent/ca.pem"),
            Path::new("/nonexistent/c.pem"),
            Path::new("/nonexistent/k.pem"),
        )
        .expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn debug_redacts_the_key() {
        let key = b"-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";
        let c = TlsConfig::from_pem(PEM, PEM, key.to_vec()).expect("pem");
        assert!(!format!("{c:?}").contains("SECRETKEYBYTES"));
    }
}
