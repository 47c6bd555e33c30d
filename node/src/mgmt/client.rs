//! Management API client (used by lnsctl and tests).
//!
//! Contract: connects over the Unix socket, or over TCP with a bearer token,
//! mutual TLS (a client certificate, the server checked against the given
//! CA for the host dialled), or both, and turns transport failures and gRPC statuses into messages that tell the
//! operator what to do next.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::UnixStream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Status};

use super::pb;
use super::pb::management_client::ManagementClient;

/// A connected management client.
pub type Client = ManagementClient<InterceptedService<Channel, BearerToken>>;

/// Where lnsctl connects.
#[derive(Debug, Clone)]
pub enum Target {
    /// The local Unix socket.
    Unix(PathBuf),
    /// A remote node over TCP (`host:port`), with its token and/or mutual TLS.
    Tcp {
        /// `host:port`.
        addr: String,
        /// Bearer token (empty: none).
        token: String,
        /// Mutual TLS: the CA that signed the server's certificate, our
        /// certificate and key.
        tls: Option<lns_cluster::TlsConfig>,
    },
}

/// Why the client could not talk to lnsd, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the target.
    #[error("cannot reach lnsd at {target}: {cause}; {hint}")]
    Unreachable {
        /// Socket path or address.
        target: String,
        /// Underlying error.
        cause: String,
        /// What to check.
        hint: &'static str,
    },
    /// The token cannot be sent as an HTTP header.
    #[error("the token contains characters that cannot be sent; use printable ASCII")]
    BadToken,
}

/// Adds `authorization: Bearer TOKEN` when a token is set.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Connects to lnsd.
pub async fn connect(target: &Target) -> Result<Client, ClientError> {
    match target {
        Target::Unix(path) => connect_unix(path).await,
        Target::Tcp { addr, token, tls } => connect_tcp(addr, token, tls.as_ref()).await,
    }
}

async fn connect_unix(path: &Path) -> Result<Client, ClientError> {
    let owned = path.to_path_buf();
    let unreachable = |cause: String| ClientError::Unreachable {
        target: path.display().to_string(),
        cause,
        hint: "is lnsd running? is the path right (--socket)? are you in the lnsd group?",
    };
    // The URI is required by the HTTP/2 layer but unused: the connector dials the socket.
    let endpoint =
        Endpoint::try_from("http://lnsd.invalid").map_err(|e| unreachable(e.to_string()))?;
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = owned.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .map_err(|e| unreachable(source_chain(&e)))?;
    Ok(ManagementClient::with_interceptor(
        channel,
        BearerToken(None),
    ))
}

async fn connect_tcp(
    addr: &str,
    token: &str,
    tls: Option<&lns_cluster::TlsConfig>,
) -> Result<Client, ClientError> {
    let value: Option<MetadataValue<Ascii>> = if token.is_empty() {
        None
    } else {
        Some(
            format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::BadToken)?,
        )
    };
    let unreachable = |cause: String| {
        ClientError::Unreachable {
        target: addr.to_string(),
        cause,
        hint: "is lnsd listening on TCP there (mgmt tcp_listen in its config)? is the address right (--addr)?",
    }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint =
        Endpoint::try_from(format!("{scheme}://{addr}")).map_err(|e| unreachable(e.to_string()))?;
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls.client())
            .map_err(|e| unreachable(source_chain(&e)))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| unreachable(source_chain(&e)))?;
    Ok(ManagementClient::with_interceptor(
        channel,
        BearerToken(value),
    ))
}

/// Explains a gRPC error status to an operator.
pub fn explain(status: &Status) -> String {
    match status.code() {
        tonic::Code::FailedPrecondition => match pb::NotActive::decode(status.details()) {
            Ok(not_active) if !not_active.active_address.is_empty() => format!(
                "this node is a standby and the command runs only on the active node \
                 (member {} at cluster address {}): run lnsctl on that node",
                not_active.active_node, not_active.active_address
            ),
            _ => format!("refused: {}", status.message()),
        },
        tonic::Code::Unauthenticated => status.message().to_string(),
        tonic::Code::NotFound => format!(
            "{} (list them with lnsctl sessions / lnsctl tunnels)",
            status.message()
        ),
        tonic::Code::Unavailable => format!(
            "lnsd is unavailable: {} (is it running and reachable?)",
            status.message()
        ),
        tonic::Code::Unimplemented => {
            "this lnsd does not implement that command; upgrade lnsd to match lnsctl".into()
        }
        _ => format!("lnsd said: {}", status.message()),
    }
}

fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
