//! The audit trail of management writes, under the log target [`TARGET`].
//!
//! Contract: every write the management server receives (session kill,
//! tunnel kill, transfer-leader, cluster add/promote/remove, drill
//! switchover) gives one line at info under [`TARGET`] on the node that
//! received it, and a write another member forwarded gives one more line
//! on the active member that ran it. Each line has `who` (the Unix socket
//! peer's uid and pid; the TCP peer's address and the credentials it
//! showed: which token, by a hash prefix, and the mTLS client
//! certificate's subject;
//! for a forwarded write, the forwarding member and the caller it served),
//! `what` (the call and its arguments) and `result` (`ok` with what it
//! did, or the error as the caller saw it). The token is never logged.
//!
//! The server runs each write inside [`as_caller`], so the forwarding
//! layer can read [`current_caller`] and carry the original caller to the
//! active member (`ForwardedWrite.origin`).

use std::future::Future;
use std::sync::Arc;

use tonic::Request;

use super::backend::BackendResult;
use super::pb;
use super::pb::forwarded_write::Call;
use super::peer_name::{subject, token_id};

/// The log target of audit lines (`RUST_LOG=lnsd::audit=info` keeps them).
pub const TARGET: &str = "lnsd::audit";

tokio::task_local! {
    static CALLER: Arc<str>;
}

/// Who sent `request`: `unix uid=U pid=P` (the Unix socket peer's
/// credentials), or `tcp ADDR (HOW)` where HOW names the credentials the
/// TCP client showed: `token sha256:1a2b3c4d` (a hash prefix, never the
/// token, `peer_name::token_id`), `mTLS CN=...` (the client certificate's
/// subject), both, or `unauthenticated`.
pub fn caller_of<T>(request: &Request<T>) -> String {
    use tonic::transport::server::{TcpConnectInfo, UdsConnectInfo};
    let ext = request.extensions();
    if let Some(uds) = ext.get::<UdsConnectInfo>() {
        return match uds.peer_cred {
            Some(c) => match c.pid() {
                Some(pid) => format!("unix uid={} pid={pid}", c.uid()),
                None => format!("unix uid={}", c.uid()),
            },
            None => "unix (peer unknown)".into(),
        };
    }
    let address = ext
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| request.remote_addr())
        .map_or_else(|| "?".to_owned(), |a| a.to_string());
    let token = super::server::bearer_token(request.metadata());
    let certs = request.peer_certs();
    let leaf = certs.as_deref().and_then(|c| c.first()).map(|c| c.as_ref());
    tcp_caller(&address, token, leaf)
}

/// `tcp ADDRESS (HOW)` for a client that sent `token` (the bearer token)
/// and showed the client certificate `leaf` (DER).
pub fn tcp_caller(address: &str, token: Option<&[u8]>, leaf: Option<&[u8]>) -> String {
    let mut how = Vec::new();
    if let Some(t) = token {
        how.push(format!("token {}", token_id(t)));
    }
    if let Some(der) = leaf {
        how.push(match subject(der) {
            Some(s) => format!("mTLS {s}"),
            None => "mTLS, subject unreadable".into(),
        });
    }
    if how.is_empty() {
        how.push("unauthenticated".into());
    }
    format!("tcp {address} ({})", how.join(", "))
}

/// Runs `write` with `who` as the caller [`current_caller`] reports.
pub async fn as_caller<F: Future>(who: &str, write: F) -> F::Output {
    CALLER.scope(Arc::from(who), write).await
}

/// The caller of the write being served, if any.
pub fn current_caller() -> Option<Arc<str>> {
    CALLER.try_with(Arc::clone).ok()
}

/// Logs one audit line; `done` says what a success did.
pub fn record<T>(who: &str, what: &str, result: &BackendResult<T>, done: impl Fn(&T) -> String) {
    match result {
        Ok(r) => tracing::info!(target: TARGET, who, what, result = %format!("ok: {}", done(r))),
        Err(e) => tracing::info!(target: TARGET, who, what, result = %format!("refused: {e}")),
    }
}

/// What a write outcome did, for [`record`].
pub fn outcome(o: &pb::WriteOutcome) -> String {
    let mut text = format!("affected={}", o.affected);
    if !o.forwarded_to.is_empty() {
        text.push_str(&format!(" forwarded_to={}", o.forwarded_to));
    }
    if !o.message.is_empty() {
        text.push_str(&format!(" ({})", o.message));
    }
    text
}

/// What a switchover drill did, for [`record`].
pub fn drill(d: &pb::DrillSwitchoverReply) -> String {
    let mut text = format!(
        "{} -> {} gap_ms={} sessions {} -> {}",
        d.from_node, d.to_node, d.gap_ms, d.sessions_before, d.sessions_after
    );
    if !d.forwarded_to.is_empty() {
        text.push_str(&format!(" forwarded_to={}", d.forwarded_to));
    }
    text
}

/// A write call and its arguments, in words.
pub fn describe(call: &Call) -> String {
    use pb::kill_sessions_request::Target;
    match call {
        Call::KillSessions(r) => {
            let target = match &r.target {
                Some(Target::SessionId(id)) => format!("session {id}"),
                Some(Target::User(u)) => format!("user {u:?}"),
                None => "nothing".into(),
            };
            match r.reason.as_str() {
                "" => format!("session kill {target}"),
                why => format!("session kill {target} reason={why:?}"),
            }
        }
        Call::KillTunnel(r) => format!("tunnel kill {}", r.tunnel_id),
        Call::TransferLeader(r) => match r.target_node.as_str() {
            "" => "cluster transfer-leader (best standby)".into(),
            node => format!("cluster transfer-leader {node}"),
        },
        Call::AddMember(c) => {
            let mut words = vec!["cluster add", c.node.as_str()];
            if c.learner {
                words.push("--learner");
            }
            if !c.address.is_empty() {
                words.push(c.address.as_str());
            }
            if c.force {
                words.push("--force");
            }
            words.join(" ")
        }
        Call::RemoveMember(c) => format!("cluster remove {}", c.node),
        Call::DrillSwitchover(r) => match r.target_node.as_str() {
            "" => "drill switchover (best standby)".into(),
            node => format!("drill switchover {node}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_described_with_their_arguments() {
        let kill = Call::KillSessions(pb::KillSessionsRequest {
            target: Some(pb::kill_sessions_request::Target::User("alice".into())),
            reason: String::new(),
        });
        assert_eq!(describe(&kill), "session kill user \"alice\"");
        let promote = Call::AddMember(pb::MemberChange {
            node: "n3".into(),
            force: true,
            ..Default::default()
        });
        assert_eq!(describe(&promote), "cluster add n3 --force");
        assert_eq!(
            describe(&Call::KillTunnel(pb::TunnelRef { tunnel_id: 7 })),
            "tunnel kill 7"
        );
    }

    #[test]
    fn a_unix_caller_is_named_by_its_credentials_and_a_tcp_one_by_its_address() {
        let mut request = Request::new(());
        assert_eq!(caller_of(&request), "tcp ? (unauthenticated)");
        request
            .metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().expect("ascii"));
        let who = caller_of(&request);
        assert_eq!(
            who, "tcp ? (token sha256:1ec1c26b)",
            "which token, by a hash prefix"
        );
        assert!(!who.contains("s3cret"), "the token is never logged");
    }

    #[test]
    fn a_tcp_caller_is_named_by_its_token_id_and_certificate_subject() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "noc-bob");
        let der = params.self_signed(&key).expect("cert").der().to_vec();
        assert_eq!(
            tcp_caller("198.18.9.1:50123", Some(b"s3cret"), Some(&der)),
            "tcp 198.18.9.1:50123 (token sha256:1ec1c26b, mTLS CN=noc-bob)"
        );
        assert_eq!(
            tcp_caller("198.18.9.1:50123", None, Some(&der[..10])),
            "tcp 198.18.9.1:50123 (mTLS, subject unreadable)"
        );
    }

    #[tokio::test]
    async fn the_caller_is_visible_inside_the_write_only() {
        assert_eq!(current_caller(), None);
        let seen = as_caller("unix uid=0 pid=1", async { current_caller() }).await;
        assert_eq!(seen.as_deref(), Some("unix uid=0 pid=1"));
        assert_eq!(current_caller(), None, "only inside the write");
    }
}
