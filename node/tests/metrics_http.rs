//! The operations endpoint over real TCP: `/healthz`, `/readyz` semantics as
//! the daemon flips the [`Readiness`] setters, 404/405, and shutdown.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use lns_node::http::{DataPlaneState, HttpServer, LogState, Readiness, ServingRole};
use lns_node::metrics::Metrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn start(readiness: Readiness) -> Running {
    let metrics = Arc::new(Metrics::new("0.1.0", "test").expect("static definitions"));
    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = HttpServer::bind(any_port, metrics, readiness)
        .await
        .expect("binds 127.0.0.1:0");
    let addr = server.local_addr().expect("bound");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

/// Sends one request and returns (status code, body).
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("writes");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (status, body.to_owned())
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs_whatever_the_role() {
    let running = start(Readiness::new()).await;
    assert_eq!(
        request(running.addr, "GET", "/healthz").await,
        (200, "ok\n".to_owned())
    );
    running.stop.send(()).expect("server waits for the signal");
    running.task.await.expect("server stops");
}

#[tokio::test]
async fn readyz_follows_the_readiness_the_daemon_sets() {
    let readiness = Readiness::new();
    let running = start(readiness.clone()).await;
    let ready = |r: (u16, String)| r;

    assert_eq!(
        ready(request(running.addr, "GET", "/readyz").await),
        (503, "not ready: starting\n".to_owned())
    );
    // A standby is ready once it has caught up with the log.
    readiness.set_role(ServingRole::Standby);
    assert_eq!(request(running.addr, "GET", "/readyz").await.0, 503);
    readiness.set_log(LogState::CaughtUp);
    assert_eq!(
        request(running.addr, "GET", "/readyz").await,
        (200, "ready: standby, caught up with the log\n".to_owned())
    );
    // Taking over: active but the data plane is not up yet.
    readiness.set_role(ServingRole::Active);
    assert_eq!(
        request(running.addr, "GET", "/readyz").await,
        (
            503,
            "not ready: active but the data plane is down\n".to_owned()
        )
    );
    readiness.set_data_plane(DataPlaneState::Up);
    assert_eq!(request(running.addr, "GET", "/readyz").await.0, 200);
    // Draining before exit.
    readiness.set_role(ServingRole::Stopping);
    assert_eq!(request(running.addr, "GET", "/readyz").await.0, 503);

    running.stop.send(()).expect("server waits for the signal");
    running.task.await.expect("server stops");
}

#[tokio::test]
async fn only_get_of_the_three_paths_is_served() {
    let running = start(Readiness::new()).await;
    for path in ["/", "/metrics/", "/debug", "/healthz?x", "/../metrics"] {
        let (status, _) = request(running.addr, "GET", path).await;
        // `/healthz?x` is `/healthz` with a query: served.
        let expected = if path == "/healthz?x" { 200 } else { 404 };
        assert_eq!(status, expected, "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "HEAD"] {
        let (status, _) = request(running.addr, method, "/metrics").await;
        assert_eq!(status, 405, "{method}");
    }
    assert_eq!(request(running.addr, "GET", "/metrics").await.0, 200);
    running.stop.send(()).expect("server waits for the signal");
    running.task.await.expect("server stops");
}

#[tokio::test]
async fn after_shutdown_the_port_refuses_connections() {
    let running = start(Readiness::new()).await;
    running.stop.send(()).expect("server waits for the signal");
    running.task.await.expect("server stops");
    assert!(TcpStream::connect(running.addr).await.is_err());
}
