//! Writes on a standby are forwarded to the active node (issue 7 item 1).
//!
//! Contract: [`Forwarding`] wraps the node's own [`ManagementBackend`].
//! Reads (and captures) always run locally. A write (session kill, tunnel
//! kill, transfer-leader, cluster add/remove, drill switchover) runs
//! locally when this member is active; otherwise it is encoded as a
//! `pb::ForwardedWrite` and handed to the active member over the
//! authenticated cluster transport (lns-cluster `Peer.Forward`: the cluster
//! secret, mutual TLS when configured). The active member runs it on its
//! own backend and answers a `pb::ForwardedAnswer`; the standby returns that
//! answer with `forwarded_to` set to the active node's cluster address, or
//! the active node's refusal as the same [`BackendError`]. A forwarded
//! write is never forwarded again: a member that is not active (any more)
//! refuses it with `NotActive`, so two members can never bounce a request.
//! With no active node known the write fails with UNAVAILABLE saying to
//! retry once an election finished.

use std::future::Future;
use std::sync::Arc;

use lns_cluster::{Activity, ForwardError, ForwardHandler, Member, MemberId};
use prost::Message;

use super::backend::{BackendError, BackendResult, CaptureHandle, CaptureSpec, ManagementBackend};
use super::cluster_backend::AddressBook;
use super::pb;
use super::pb::forwarded_write::Call;

/// Version of `pb::ForwardedWrite` this build speaks.
pub const FORWARD_VERSION: u32 = 1;

/// The node's backend, forwarding writes to the active member when this
/// member is not active.
pub struct Forwarding<B> {
    inner: Arc<B>,
    member: Member,
    book: AddressBook,
}

impl<B> std::fmt::Debug for Forwarding<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarding")
            .field("me", &self.book.me)
            .finish_non_exhaustive()
    }
}

impl<B: ManagementBackend> Forwarding<B> {
    /// Wraps `inner` and installs, on `member`, the handler that runs the
    /// writes other members forward to this one.
    pub fn install(inner: B, member: Member, book: AddressBook) -> Forwarding<B> {
        let inner = Arc::new(inner);
        let serving = Arc::clone(&inner);
        let leadership = member.leadership();
        let handler_book = book.clone();
        let handler: ForwardHandler = Arc::new(move |from, body| {
            let serving = Arc::clone(&serving);
            let l = *leadership.borrow();
            let book = handler_book.clone();
            Box::pin(async move {
                let answer = if l.activity == Activity::Active {
                    answer_forwarded(serving.as_ref(), from, &body).await
                } else {
                    refusal(&not_active(l.leader, &book))
                };
                answer.encode_to_vec()
            })
        });
        if !member.serve_forwarded(handler) {
            tracing::warn!("a forwarding handler was already installed on this member");
        }
        Forwarding {
            inner,
            member,
            book,
        }
    }

    /// Runs `call` locally when active, else on the active member.
    async fn write<T, L, F>(&self, call: Call, local: L, unpack: F) -> BackendResult<T>
    where
        L: Future<Output = BackendResult<T>>,
        F: FnOnce(pb::forwarded_answer::Result, &str) -> Option<T>,
    {
        let l = *self.member.leadership().borrow();
        if l.activity == Activity::Active {
            return local.await;
        }
        let Some(leader) = l.leader.filter(|id| *id != self.book.me) else {
            return Err(BackendError::Unavailable(
                "no active node right now (election running): retry in a few seconds".into(),
            ));
        };
        let address = self.book.addresses.get(&leader).cloned().ok_or_else(|| {
            BackendError::Unavailable(format!(
                "the active node is member {leader}, whose cluster address is not in this \
                 node's [[cluster.members]]: run the command on member {leader}"
            ))
        })?;
        let body = pb::ForwardedWrite {
            version: FORWARD_VERSION,
            call: Some(call),
            origin: super::audit::current_caller()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        }
        .encode_to_vec();
        let reply = self
            .member
            .forward(leader, &address, body)
            .await
            .map_err(|e| forward_error(e, leader))?;
        let answer = pb::ForwardedAnswer::decode(reply.as_slice()).map_err(|_| {
            BackendError::Unavailable(format!(
                "member {leader} answered something this lnsd does not understand: \
                 run the same lnsd version on every member"
            ))
        })?;
        match answer.result {
            Some(pb::forwarded_answer::Result::Error(e)) => Err(backend_error(e)),
            Some(r) => unpack(r, &address).ok_or_else(|| {
                BackendError::Unavailable(format!("member {leader} answered another call"))
            }),
            None => Err(BackendError::Unavailable(format!(
                "member {leader} gave an empty answer"
            ))),
        }
    }

    async fn outcome<L>(&self, call: Call, local: L) -> BackendResult<pb::WriteOutcome>
    where
        L: Future<Output = BackendResult<pb::WriteOutcome>>,
    {
        self.write(call, local, |r, address| match r {
            pb::forwarded_answer::Result::Outcome(mut o) => {
                o.forwarded_to = address.to_string();
                Some(o)
            }
            _ => None,
        })
        .await
    }
}

/// Runs a forwarded write on the active member's own backend.
pub async fn answer_forwarded<B: ManagementBackend>(
    backend: &B,
    from: MemberId,
    body: &[u8],
) -> pb::ForwardedAnswer {
    use pb::forwarded_answer::Result as R;
    let write = match pb::ForwardedWrite::decode(body) {
        Ok(w) if w.version == FORWARD_VERSION => w,
        Ok(w) => {
            return refusal(&BackendError::InvalidArgument(format!(
                "forwarded request version {} is not {FORWARD_VERSION}: run the same lnsd \
                 version on every member",
                w.version
            )))
        }
        Err(_) => {
            return refusal(&BackendError::InvalidArgument(
                "undecodable forwarded request".into(),
            ))
        }
    };
    let Some(call) = write.call else {
        return refusal(&BackendError::InvalidArgument(
            "forwarded request names no call".into(),
        ));
    };
    let who = match write.origin.as_str() {
        "" => format!("member {from}"),
        origin => format!("member {from} for {origin}"),
    };
    let what = super::audit::describe(&call);
    tracing::debug!(
        from,
        call = call_name(&call),
        "running a write forwarded by a standby"
    );
    let result = match call {
        Call::KillSessions(r) => backend.kill_sessions(r).await.map(R::Outcome),
        Call::KillTunnel(r) => backend.kill_tunnel(r.tunnel_id).await.map(R::Outcome),
        Call::TransferLeader(r) => backend.transfer_leader(r).await.map(R::Outcome),
        Call::AddMember(r) => backend.add_member(r).await.map(R::Outcome),
        Call::RemoveMember(r) => backend.remove_member(r).await.map(R::Outcome),
        Call::DrillSwitchover(r) => backend.drill_switchover(r).await.map(R::Drill),
    };
    super::audit::record(&who, &what, &result, |r| match r {
        R::Outcome(o) => super::audit::outcome(o),
        R::Drill(d) => super::audit::drill(d),
        R::Error(e) => e.message.clone(),
    });
    match result {
        Ok(r) => pb::ForwardedAnswer { result: Some(r) },
        Err(e) => refusal(&e),
    }
}

impl<B: ManagementBackend> ManagementBackend for Forwarding<B> {
    async fn status(&self) -> BackendResult<pb::StatusReply> {
        self.inner.status().await
    }
    async fn list_sessions(&self, filter: pb::SessionFilter) -> BackendResult<pb::SessionList> {
        self.inner.list_sessions(filter).await
    }
    async fn show_session(&self, session_id: u32) -> BackendResult<pb::SessionDetail> {
        self.inner.show_session(session_id).await
    }
    async fn kill_sessions(
        &self,
        request: pb::KillSessionsRequest,
    ) -> BackendResult<pb::WriteOutcome> {
        let call = Call::KillSessions(request.clone());
        self.outcome(call, self.inner.kill_sessions(request)).await
    }
    async fn list_tunnels(&self) -> BackendResult<pb::TunnelList> {
        self.inner.list_tunnels().await
    }
    async fn show_tunnel(&self, tunnel_id: u32) -> BackendResult<pb::TunnelDetail> {
        self.inner.show_tunnel(tunnel_id).await
    }
    async fn kill_tunnel(&self, tunnel_id: u32) -> BackendResult<pb::WriteOutcome> {
        let call = Call::KillTunnel(pb::TunnelRef { tunnel_id });
        self.outcome(call, self.inner.kill_tunnel(tunnel_id)).await
    }
    async fn list_pools(&self) -> BackendResult<pb::PoolList> {
        self.inner.list_pools().await
    }
    async fn radius_status(&self) -> BackendResult<pb::RadiusStatusReply> {
        self.inner.radius_status().await
    }
    async fn cluster_status(&self) -> BackendResult<pb::ClusterStatusReply> {
        self.inner.cluster_status().await
    }
    async fn transfer_leader(
        &self,
        request: pb::TransferLeaderRequest,
    ) -> BackendResult<pb::WriteOutcome> {
        let call = Call::TransferLeader(request.clone());
        self.outcome(call, self.inner.transfer_leader(request))
            .await
    }
    async fn add_member(&self, change: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        let call = Call::AddMember(change.clone());
        self.outcome(call, self.inner.add_member(change)).await
    }
    async fn remove_member(&self, change: pb::MemberChange) -> BackendResult<pb::WriteOutcome> {
        let call = Call::RemoveMember(change.clone());
        self.outcome(call, self.inner.remove_member(change)).await
    }
    async fn drill_switchover(
        &self,
        request: pb::DrillSwitchoverRequest,
    ) -> BackendResult<pb::DrillSwitchoverReply> {
        let call = Call::DrillSwitchover(request.clone());
        self.write(
            call,
            self.inner.drill_switchover(request),
            |r, address| match r {
                pb::forwarded_answer::Result::Drill(mut d) => {
                    d.forwarded_to = address.to_string();
                    Some(d)
                }
                _ => None,
            },
        )
        .await
    }
    async fn counters(&self) -> BackendResult<pb::CountersReply> {
        self.inner.counters().await
    }
    async fn start_capture(&self, spec: CaptureSpec) -> BackendResult<CaptureHandle> {
        self.inner.start_capture(spec).await
    }
}

/// A backend error as the answer to a forwarded write.
pub fn refusal(e: &BackendError) -> pb::ForwardedAnswer {
    use pb::forwarded_error::Kind;
    let (kind, message, active_node, active_address) = match e {
        BackendError::NotFound(m) => (Kind::NotFound, m.clone(), "", ""),
        BackendError::InvalidArgument(m) => (Kind::InvalidArgument, m.clone(), "", ""),
        BackendError::Unavailable(m) => (Kind::Unavailable, m.clone(), "", ""),
        BackendError::Precondition(m) => (Kind::Precondition, m.clone(), "", ""),
        BackendError::NotActive {
            active_node,
            active_address,
        } => (
            Kind::NotActive,
            String::new(),
            active_node.as_str(),
            active_address.as_str(),
        ),
    };
    pb::ForwardedAnswer {
        result: Some(pb::forwarded_answer::Result::Error(pb::ForwardedError {
            kind: kind as i32,
            message,
            active_node: active_node.into(),
            active_address: active_address.into(),
        })),
    }
}

/// The backend error an active member's refusal stands for.
pub fn backend_error(e: pb::ForwardedError) -> BackendError {
    use pb::forwarded_error::Kind;
    match Kind::try_from(e.kind).unwrap_or(Kind::Unspecified) {
        Kind::NotFound => BackendError::NotFound(e.message),
        Kind::InvalidArgument => BackendError::InvalidArgument(e.message),
        Kind::Precondition => BackendError::Precondition(e.message),
        Kind::NotActive => BackendError::NotActive {
            active_node: e.active_node,
            active_address: e.active_address,
        },
        Kind::Unavailable | Kind::Unspecified => BackendError::Unavailable(e.message),
    }
}

fn not_active(leader: Option<MemberId>, book: &AddressBook) -> BackendError {
    match leader {
        Some(id) if id != book.me => BackendError::NotActive {
            active_node: id.to_string(),
            active_address: book.addresses.get(&id).cloned().unwrap_or_default(),
        },
        _ => BackendError::Unavailable(
            "the member this standby took for active is not active (election running): retry \
             in a few seconds"
                .into(),
        ),
    }
}

fn forward_error(e: ForwardError, leader: MemberId) -> BackendError {
    let hint = match e {
        ForwardError::Refused { .. } => "check that every member runs the same lnsd version",
        ForwardError::Unreachable { .. } | ForwardError::TimedOut { .. } => {
            "check `lnsctl cluster status`, then retry or run the command on the active node"
        }
    };
    BackendError::Unavailable(format!(
        "forwarding to the active node (member {leader}) failed: {e}; {hint}"
    ))
}

fn call_name(call: &Call) -> &'static str {
    match call {
        Call::KillSessions(_) => "session kill",
        Call::KillTunnel(_) => "tunnel kill",
        Call::TransferLeader(_) => "cluster transfer-leader",
        Call::AddMember(_) => "cluster add",
        Call::RemoveMember(_) => "cluster remove",
        Call::DrillSwitchover(_) => "drill switchover",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_survives_the_trip_to_the_standby() {
        let errors = [
            BackendError::NotFound("session 7".into()),
            BackendError::InvalidArgument("bad".into()),
            BackendError::Unavailable("busy".into()),
            BackendError::Precondition("membership change refused".into()),
            BackendError::NotActive {
                active_node: "2".into(),
                active_address: "198.18.0.2:7000".into(),
            },
        ];
        for e in errors {
            let answer = pb::ForwardedAnswer::decode(refusal(&e).encode_to_vec().as_slice())
                .expect("decodes");
            let Some(pb::forwarded_answer::Result::Error(fe)) = answer.result else {
                panic!("a refusal is an error answer: {answer:?}");
            };
            assert_eq!(backend_error(fe), e);
        }
    }

    #[test]
    fn a_refusal_from_an_unknown_kind_is_unavailable() {
        let e = backend_error(pb::ForwardedError {
            kind: 99,
            message: "newer lnsd".into(),
            ..Default::default()
        });
        assert_eq!(e, BackendError::Unavailable("newer lnsd".into()));
    }

    #[test]
    fn a_member_that_is_not_active_names_the_leader_or_says_to_retry() {
        let book = AddressBook {
            me: 1,
            addresses: [(2, "198.18.0.2:7000".to_string())].into_iter().collect(),
            ..AddressBook::default()
        };
        assert_eq!(
            not_active(Some(2), &book),
            BackendError::NotActive {
                active_node: "2".into(),
                active_address: "198.18.0.2:7000".into()
            }
        );
        assert!(matches!(
            not_active(Some(1), &book),
            BackendError::Unavailable(_)
        ));
        assert!(matches!(
            not_active(None, &book),
            BackendError::Unavailable(_)
        ));
    }
}
