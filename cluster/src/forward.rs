//! Operator requests handed from one member to another (`Peer.Forward`).
//!
//! Contract:
//! - The body is opaque: lns-cluster authenticates and carries it, the
//!   application encodes and decodes it (lnsd: a management write a standby
//!   hands to the active member).
//! - The call runs on the same authenticated transport as the Raft stream:
//!   a `Hello` session under the cluster secret (and mutual TLS when
//!   configured), a proof on the call and on the answer.
//! - A member answers only once the application installed a handler with
//!   [`Member::serve_forwarded`](crate::Member::serve_forwarded); before
//!   that (or without one) the caller gets [`ForwardError::Refused`].
//! - Each call opens its own connection: forwarded requests are rare
//!   operator actions, never on a hot path. The whole call is bounded by
//!   [`FORWARD_TIMEOUT`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::auth::{AuthError, Sessions, Verified};
use crate::config::MemberId;
use crate::pb::{ForwardReply, ForwardRequest};
use crate::transport::{self, Credentials, LinkError, VERSION};

/// Longest a forwarded request may take, answer included (a planned
/// switchover drill waits up to 10 s on the active member).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest forwarded body, either way.
pub const MAX_FORWARD_BODY: usize = 1024 * 1024;

/// The application's answer to a forwarded body.
pub type ForwardFuture = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

/// What the application runs for each forwarded body (`from`, `body`).
pub type ForwardHandler = Arc<dyn Fn(MemberId, Vec<u8>) -> ForwardFuture + Send + Sync>;

/// Where the member's server finds the handler, installed once.
#[derive(Clone, Default)]
pub struct ForwardSlot(Arc<OnceLock<ForwardHandler>>);

impl ForwardSlot {
    /// Installs `handler`; `false` if one is already installed.
    pub fn set(&self, handler: ForwardHandler) -> bool {
        self.0.set(handler).is_ok()
    }

    /// The installed handler.
    pub fn get(&self) -> Option<ForwardHandler> {
        self.0.get().cloned()
    }
}

impl std::fmt::Debug for ForwardSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "installed"
        } else {
            "none"
        };
        f.debug_tuple("ForwardSlot").field(&state).finish()
    }
}

/// Why a forwarded request got no answer from the application.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The member could not be reached or did not prove the secret.
    #[error("cannot reach member {to} at {address}: {cause}")]
    Unreachable {
        to: MemberId,
        address: String,
        cause: String,
    },
    /// The member refused the call (no handler, bad version, too large).
    #[error("member {to} refused the forwarded request: {cause}")]
    Refused { to: MemberId, cause: String },
    /// No answer within [`FORWARD_TIMEOUT`].
    #[error("member {to} did not answer within {}s", FORWARD_TIMEOUT.as_secs())]
    TimedOut { to: MemberId },
}

/// Sends `body` to member `to` at `address` and returns its answer.
pub async fn forward(
    me: MemberId,
    to: MemberId,
    address: &str,
    credentials: &Credentials,
    body: Vec<u8>,
) -> Result<Vec<u8>, ForwardError> {
    match tokio::time::timeout(FORWARD_TIMEOUT, call(me, to, address, credentials, body)).await {
        Ok(r) => r,
        Err(_) => Err(ForwardError::TimedOut { to }),
    }
}

/// The server side of `Peer.Forward`, after the interceptor verified `call`.
pub(crate) async fn serve(
    me: MemberId,
    slot: &ForwardSlot,
    sessions: &Sessions,
    call: Verified,
    request: ForwardRequest,
) -> Result<Response<ForwardReply>, Status> {
    if request.from != call.from() {
        return Err(Status::permission_denied(
            "forwarded request claims another sender than its session",
        ));
    }
    if request.version != VERSION {
        return Err(Status::failed_precondition("unknown peer schema version"));
    }
    if request.to != me {
        return Err(Status::invalid_argument(
            "forwarded request addressed to another member",
        ));
    }
    if request.body.len() > MAX_FORWARD_BODY {
        return Err(Status::resource_exhausted("forwarded request too large"));
    }
    let Some(handler) = slot.get() else {
        return Err(Status::unavailable(
            "this member does not take forwarded requests (yet)",
        ));
    };
    let body = handler(request.from, request.body).await;
    let mut resp = Response::new(ForwardReply { body });
    sessions.acknowledge(&call, &mut resp);
    Ok(resp)
}

async fn call(
    me: MemberId,
    to: MemberId,
    address: &str,
    credentials: &Credentials,
    body: Vec<u8>,
) -> Result<Vec<u8>, ForwardError> {
    let unreachable = |cause: String| ForwardError::Unreachable {
        to,
        address: address.to_string(),
        cause,
    };
    let (mut client, mut session) = transport::open(me, to, address, credentials)
        .await
        .map_err(|e| match e {
            LinkError::Connect(c) => unreachable(transport::error_chain(&c)),
            LinkError::Auth(a) => unreachable(a.to_string()),
        })?;
    let mut req = Request::new(ForwardRequest {
        version: VERSION,
        from: me,
        to,
        body,
    });
    session.sign(&mut req, &credentials.secret);
    let resp = client.forward(req).await.map_err(|s| match s.code() {
        tonic::Code::Unavailable if s.message().contains("forwarded") => ForwardError::Refused {
            to,
            cause: s.message().to_string(),
        },
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
            unreachable(s.message().to_string())
        }
        _ => ForwardError::Refused {
            to,
            cause: s.message().to_string(),
        },
    })?;
    session
        .check_ack(&resp, &credentials.secret)
        .map_err(|e: AuthError| unreachable(e.to_string()))?;
    let body = resp.into_inner().body;
    if body.len() > MAX_FORWARD_BODY {
        return Err(ForwardError::Refused {
            to,
            cause: "answer too large".into(),
        });
    }
    Ok(body)
}
