//! # AAA: the local users file and RADIUS, as one tokio task
//!
//! Contract: the control task sends [`AaaCommand`]s (an [`AuthQuery`] from
//! the engine, or new settings on SIGHUP) through a bounded channel; the
//! task answers every query exactly once with an [`AuthAnswer`] (which the
//! control task feeds to the engine as `Input::AuthResult`). The users file
//! is asked first; users it does not list go to RADIUS if configured, else
//! are rejected. RADIUS runs the sans-IO `lns_proto::radius::Client` over a
//! tokio `UdpSocket` (retransmission, failover, Message-Authenticator and
//! Response Authenticator checks are the client's). No password or secret
//! is ever logged.

pub mod accounting;
pub mod board;
pub mod radius;
pub mod report;
pub mod users;

pub use radius::{RadiusSettings, RadiusTask};
pub use users::{Users, UsersError};

use crate::engine::{AuthOutcome, AuthQuery, SessionKey};
use crate::metrics::Metrics;
use report::RadiusReport;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the AAA task is told.
#[derive(Debug)]
pub enum AaaCommand {
    /// Authenticate this PAP/CHAP exchange.
    Authenticate(AuthQuery),
    /// New users file and RADIUS servers (SIGHUP).
    Reload(AaaSettings),
}

/// The verdict for one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthAnswer {
    /// The session.
    pub session: SessionKey,
    /// The query's request number.
    pub request: u64,
    /// The verdict.
    pub outcome: AuthOutcome,
}

/// Backends in force.
#[derive(Clone, Debug, Default)]
pub struct AaaSettings {
    /// The users file, if configured.
    pub users: Option<Users>,
    /// RADIUS, if configured.
    pub radius: Option<RadiusSettings>,
}

/// Starts the AAA task; answers go to `answers`.
pub fn spawn(
    settings: AaaSettings,
    answers: mpsc::Sender<AuthAnswer>,
    queue: usize,
) -> (mpsc::Sender<AaaCommand>, tokio::task::JoinHandle<()>) {
    spawn_observed(settings, answers, queue, None)
}

/// [`spawn`], reporting RADIUS statistics to `metrics` (per configured
/// server: requests, timeouts, latency).
pub fn spawn_observed(
    settings: AaaSettings,
    answers: mpsc::Sender<AuthAnswer>,
    queue: usize,
    metrics: Option<Arc<Metrics>>,
) -> (mpsc::Sender<AaaCommand>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue);
    let task = tokio::spawn(run(settings, rx, answers, metrics));
    (tx, task)
}

/// Creates the zero series of every configured RADIUS server.
fn announce_servers(settings: &AaaSettings, metrics: Option<&Metrics>) {
    if let (Some(m), Some(r)) = (metrics, &settings.radius) {
        for s in &r.client.auth_servers {
            m.radius_server(&s.addr.to_string());
        }
    }
}

async fn run(
    settings: AaaSettings,
    mut commands: mpsc::Receiver<AaaCommand>,
    answers: mpsc::Sender<AuthAnswer>,
    metrics: Option<Arc<Metrics>>,
) {
    announce_servers(&settings, metrics.as_deref());
    let mut report = RadiusReport::default();
    let mut users = settings.users;
    let mut radius = match settings.radius {
        Some(r) => RadiusTask::start(r)
            .await
            .map_err(|e| {
                tracing::error!("RADIUS disabled: cannot open its socket: {e}");
            })
            .ok(),
        None => None,
    };
    loop {
        if let (Some(r), Some(m)) = (&radius, &metrics) {
            report.report(r.client(), m);
        }
        let command = match &mut radius {
            Some(r) => tokio::select! {
                c = commands.recv() => c,
                done = r.next_answer() => {
                    for a in done {
                        if answers.send(a).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            },
            None => commands.recv().await,
        };
        let Some(command) = command else {
            return; // The control task is gone.
        };
        match command {
            AaaCommand::Reload(s) => {
                announce_servers(&s, metrics.as_deref());
                users = s.users;
                match (s.radius, &mut radius) {
                    (Some(new), Some(r)) => r.reconfigure(new),
                    (Some(new), None) => radius = RadiusTask::start(new).await.ok(),
                    (None, _) => radius = None,
                }
                tracing::info!("AAA reloaded");
            }
            AaaCommand::Authenticate(q) => {
                let local = users.as_ref().and_then(|u| u.check(&q.proof));
                let outcome = match (local, &mut radius) {
                    (Some(o), _) => Some(o),
                    (None, Some(r)) => {
                        r.submit(q.clone());
                        None
                    }
                    (None, None) => Some(AuthOutcome::Reject),
                };
                if let Some(outcome) = outcome {
                    let a = AuthAnswer {
                        session: q.session,
                        request: q.request,
                        outcome,
                    };
                    if answers.send(a).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
