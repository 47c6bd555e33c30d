//! # The operations HTTP endpoint: `/metrics`, `/healthz`, `/readyz`
//!
//! Contract:
//! - [`HttpServer::bind`] listens on the configured address (plain HTTP/1.1,
//!   no TLS: bind it to a management address or loopback);
//!   [`HttpServer::run`] serves until the `shutdown` future completes.
//! - Only `GET` of three paths is served: `/metrics` (the Prometheus text
//!   exposition of [`Metrics`]), `/healthz` (liveness: 200 while the process
//!   answers) and `/readyz` (readiness, from [`Readiness`]: 200 when the node
//!   can serve, 503 with the reason otherwise). Another method on those paths
//!   gets 405, any other path 404. Request bodies are never read.
//! - At most [`MAX_CONNECTIONS`] connections at once (more are closed at
//!   accept), and a client has [`HEADER_READ_TIMEOUT`] to send its request
//!   head, so a slow or hostile client cannot pin the daemon's memory.
//! - Built on hyper 1 + hyper-util directly (no framework): three fixed
//!   routes need no router, and hyper is already what tonic (the cluster
//!   transport) runs on, so it adds no new dependency tree.
//!
//! Wiring in the daemon:
//!
//! ```no_run
//! # async fn wire() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use lns_node::http::{DataPlaneState, HttpServer, LogState, Readiness, ServingRole};
//! use lns_node::metrics::{Metrics, NodeRole};
//!
//! let metrics = Arc::new(Metrics::for_this_build()?);
//! let readiness = Readiness::new();
//! let addr = "127.0.0.1:9701".parse()?; // from the config
//! let server = HttpServer::bind(addr, Arc::clone(&metrics), readiness.clone()).await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! tokio::spawn(server.run(async {
//!     let _ = stopped.await;
//! }));
//! // Later, as the node's situation changes:
//! readiness.set_log(LogState::CaughtUp);
//! readiness.set_role(ServingRole::Standby); // ready: standby, caught up
//! readiness.set_data_plane(DataPlaneState::Up);
//! readiness.set_role(ServingRole::Active); // ready: active, data plane up
//! metrics.observe_node_role(NodeRole::Active);
//! // On shutdown:
//! readiness.set_role(ServingRole::Stopping);
//! let _ = stop.send(());
//! # Ok(())
//! # }
//! ```
//!
//! Readiness semantics (what a load balancer or Kubernetes probe gets):
//!
//! | role     | condition              | /readyz |
//! | -------- | ---------------------- | ------- |
//! | starting | —                      | 503     |
//! | active   | data plane up          | 200     |
//! | active   | data plane down        | 503     |
//! | standby  | log caught up          | 200     |
//! | standby  | log behind             | 503     |
//! | witness  | log caught up          | 200     |
//! | witness  | log behind             | 503     |
//! | stopping | —                      | 503     |
//! | any      | configuration differs from the active node's | 503 |

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::metrics::{Metrics, EXPOSITION_CONTENT_TYPE};

/// Connections served at once; Prometheus and a couple of probes need ~3.
pub const MAX_CONNECTIONS: usize = 32;

/// Time a client has to send its request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the HTTP endpoint.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The configured address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
}

/// The LNS role as far as readiness is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServingRole {
    /// Not yet joined the cluster or replayed its log.
    Starting,
    /// Raft leader: holds the tunnel address and serves subscribers.
    Active,
    /// Hot standby.
    Standby,
    /// Raft voter only.
    Witness,
    /// Shutting down (draining).
    Stopping,
}

/// Whether the data plane (UDP sockets and TUN device) is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataPlaneState {
    /// Not started, or failed.
    Down,
    /// Sockets bound and TUN device up.
    Up,
}

/// Whether this node's applied log has caught up with the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogState {
    /// Applying a snapshot or a backlog; could not take over yet.
    Behind,
    /// Applied index within the daemon's threshold of the commit index.
    CaughtUp,
    /// This node's engine configuration differs from the active node's
    /// (`replica::fingerprint`): it cannot derive the same state from the
    /// log, so it must not serve or take over until it is fixed.
    Diverged,
}

/// What `/readyz` answers, with the reason shown in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 200.
    Ready(&'static str),
    /// 503.
    NotReady(&'static str),
}

/// The inputs of the readiness decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadinessState {
    /// The node's role.
    pub role: ServingRole,
    /// The data plane's state.
    pub data_plane: DataPlaneState,
    /// The replicated log's state on this node.
    pub log: LogState,
}

impl ReadinessState {
    /// The readiness decision (see the module table).
    pub fn verdict(&self) -> Verdict {
        match (self.role, self.data_plane, self.log) {
            (ServingRole::Starting, _, _) => Verdict::NotReady("starting"),
            (ServingRole::Stopping, _, _) => Verdict::NotReady("stopping"),
            (_, _, LogState::Diverged) => {
                Verdict::NotReady("configuration differs from the active node's")
            }
            (ServingRole::Active, DataPlaneState::Up, _) => Verdict::Ready("active, data plane up"),
            (ServingRole::Active, DataPlaneState::Down, _) => {
                Verdict::NotReady("active but the data plane is down")
            }
            (ServingRole::Standby, _, LogState::CaughtUp) => {
                Verdict::Ready("standby, caught up with the log")
            }
            (ServingRole::Standby, _, LogState::Behind) => {
                Verdict::NotReady("standby, catching up with the log")
            }
            (ServingRole::Witness, _, LogState::CaughtUp) => {
                Verdict::Ready("witness, caught up with the log")
            }
            (ServingRole::Witness, _, LogState::Behind) => {
                Verdict::NotReady("witness, catching up with the log")
            }
        }
    }
}

/// The readiness setters the daemon calls; cheap to clone, shared with the
/// HTTP server. Starts as (starting, data plane down, log behind).
#[derive(Clone, Debug)]
pub struct Readiness {
    state: Arc<Mutex<ReadinessState>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new()
    }
}

impl Readiness {
    /// A node that is starting.
    pub fn new() -> Readiness {
        Readiness {
            state: Arc::new(Mutex::new(ReadinessState {
                role: ServingRole::Starting,
                data_plane: DataPlaneState::Down,
                log: LogState::Behind,
            })),
        }
    }

    /// Sets the role.
    pub fn set_role(&self, role: ServingRole) {
        self.update(|s| s.role = role);
    }

    /// Sets the data plane's state.
    pub fn set_data_plane(&self, data_plane: DataPlaneState) {
        self.update(|s| s.data_plane = data_plane);
    }

    /// Sets the log's state.
    pub fn set_log(&self, log: LogState) {
        self.update(|s| s.log = log);
    }

    /// The current inputs.
    pub fn state(&self) -> ReadinessState {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current decision.
    pub fn verdict(&self) -> Verdict {
        self.state().verdict()
    }

    fn update(&self, f: impl FnOnce(&mut ReadinessState)) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s);
    }
}

/// The bound endpoint, ready to [`run`](HttpServer::run).
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port, see [`HttpServer::local_addr`]).
    pub async fn bind(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        readiness: Readiness,
    ) -> Result<HttpServer, HttpError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| HttpError::Bind { addr, source })?;
        Ok(HttpServer {
            listener,
            metrics,
            readiness,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes. Connections in progress finish on
    /// their own tasks (each answers one small response).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let state = Arc::new((self.metrics, self.readiness));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "http: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                tracing::warn!("http: too many connections, closing a new one");
                continue;
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = Arc::clone(&state);
                    async move {
                        let (metrics, readiness) = &*state;
                        Ok::<_, Infallible>(respond(
                            req.method(),
                            req.uri().path(),
                            metrics,
                            readiness,
                        ))
                    }
                });
                let served = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "http: connection ended with an error");
                }
                drop(permit);
            });
        }
    }
}

/// The answer to one request (pure apart from reading the metrics).
pub fn respond(
    method: &Method,
    path: &str,
    metrics: &Metrics,
    readiness: &Readiness,
) -> Response<Full<Bytes>> {
    let known = matches!(path, "/metrics" | "/healthz" | "/readyz");
    if !known {
        return text(StatusCode::NOT_FOUND, "not found\n".to_owned());
    }
    if method != Method::GET {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned());
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    match path {
        "/metrics" => match metrics.encode() {
            Ok(body) => {
                let mut r = text(StatusCode::OK, body);
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(EXPOSITION_CONTENT_TYPE),
                );
                r
            }
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        "/healthz" => text(StatusCode::OK, "ok\n".to_owned()),
        _ => match readiness.verdict() {
            Verdict::Ready(why) => text(StatusCode::OK, format!("ready: {why}\n")),
            Verdict::NotReady(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(role: ServingRole, data_plane: DataPlaneState, log: LogState) -> ReadinessState {
        ReadinessState {
            role,
            data_plane,
            log,
        }
    }

    #[test]
    fn readiness_table() {
        use DataPlaneState::{Down, Up};
        use LogState::{Behind, CaughtUp};
        use ServingRole::*;
        let ready = |s: ReadinessState| matches!(s.verdict(), Verdict::Ready(_));
        assert!(!ready(state(Starting, Up, CaughtUp)));
        assert!(!ready(state(Stopping, Up, CaughtUp)));
        assert!(ready(state(Active, Up, Behind)));
        assert!(!ready(state(Active, Down, CaughtUp)));
        assert!(ready(state(Standby, Down, CaughtUp)));
        assert!(!ready(state(Standby, Up, Behind)));
        assert!(ready(state(Witness, Down, CaughtUp)));
        assert!(!ready(state(Witness, Down, Behind)));
        for role in [Active, Standby, Witness] {
            assert_eq!(
                state(role, Up, LogState::Diverged).verdict(),
                Verdict::NotReady("configuration differs from the active node's")
            );
        }
    }

    #[test]
    fn readiness_setters_update_the_shared_state() {
        let r = Readiness::new();
        let seen_by_server = r.clone();
        assert_eq!(seen_by_server.verdict(), Verdict::NotReady("starting"));
        r.set_role(ServingRole::Active);
        r.set_data_plane(DataPlaneState::Up);
        assert_eq!(
            seen_by_server.verdict(),
            Verdict::Ready("active, data plane up")
        );
    }

    #[test]
    fn routes_methods_and_paths() {
        let m = Metrics::new("0", "test").expect("static definitions");
        let r = Readiness::new();
        assert_eq!(
            respond(&Method::GET, "/healthz", &m, &r).status(),
            StatusCode::OK
        );
        assert_eq!(
            respond(&Method::GET, "/readyz", &m, &r).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            respond(&Method::GET, "/", &m, &r).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            respond(&Method::GET, "/metrics/x", &m, &r).status(),
            StatusCode::NOT_FOUND
        );
        let post = respond(&Method::POST, "/metrics", &m, &r);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            post.headers().get(ALLOW),
            Some(&HeaderValue::from_static("GET"))
        );
        let ok = respond(&Method::GET, "/metrics", &m, &r);
        assert_eq!(
            ok.headers().get(CONTENT_TYPE),
            Some(&HeaderValue::from_static(EXPOSITION_CONTENT_TYPE))
        );
    }
}
