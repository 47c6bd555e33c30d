//! Mutual authentication of members with the shared cluster secret.
//!
//! Contract: the secret never crosses the network; each side proves that it
//! knows it with HMAC-SHA256 over fresh nonces, and each side checks the
//! other's proof before trusting anything it says.
//!
//! ```text
//!   caller (from)                                 server (to)
//!   Hello{from, to, client_nonce} ─────────────▶  picks server_nonce (= session id)
//!                                  ◀─────────────  HelloReply{server_nonce,
//!                                                    HMAC(K, "hello"|from|to|cn|sn)}
//!   checks the server's proof (refuses an impostor)
//!   every call: session, seq (strictly increasing),
//!     HMAC(K, "call"|from|to|session|seq) ───────▶  checks session, seq > last, proof
//!                                  ◀─────────────  response metadata:
//!                                                    HMAC(K, "ack"|from|to|session|seq)
//!   checks the ack (refuses an answer not from a member)
//! ```
//!
//! - Replays are refused: a call proof is bound to a session the server
//!   issued (its own random nonce) and to a sequence number that must grow.
//! - The server keeps at most [`MAX_SESSIONS`] sessions (least recently used
//!   evicted): a flood of `Hello` calls can only force reconnects.
//! - Without TLS nothing is encrypted and the bodies are not covered by the
//!   proofs: an attacker *on the path* could still tamper. Use mTLS
//!   ([`crate::tls`]) when the peer network is not trusted; the secret then
//!   still authenticates both ends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status};

use crate::config::MemberId;
use crate::pb::peer_auth_client::PeerAuthClient;
use crate::pb::{HelloReply, HelloRequest};

/// Nonce length (client nonce and session id), bytes.
pub const NONCE_LEN: usize = 32;
/// Sessions a server remembers at once.
pub const MAX_SESSIONS: usize = 256;

const SESSION_HEADER: &str = "x-lns-cluster-session";
const SEQ_HEADER: &str = "x-lns-cluster-seq";
const PROOF_HEADER: &str = "x-lns-cluster-proof";
const ACK_HEADER: &str = "x-lns-cluster-ack";
const LABEL_HELLO: &[u8] = b"lns-cluster v1 hello";
const LABEL_CALL: &[u8] = b"lns-cluster v1 call";
const LABEL_ACK: &[u8] = b"lns-cluster v1 ack";

/// The shared cluster secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret; refuses one shorter than 16 bytes or not printable
    /// ASCII without spaces (it is typed into config files).
    pub fn new(s: impl Into<String>) -> Result<Self, SecretError> {
        let s = s.into();
        if s.len() < 16 {
            return Err(SecretError::TooShort);
        }
        if !s.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(SecretError::NotPrintable);
        }
        Ok(Secret(s))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.0.as_bytes())
    }

    fn tag(&self, label: &[u8], parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key());
        ctx.update(label);
        for p in parts {
            // Length-prefixed so that no two part lists share an encoding.
            ctx.update(&(p.len() as u32).to_be_bytes());
            ctx.update(p);
        }
        ctx.sign()
    }

    /// Constant-time check of `proof` against the tag of `label || parts`.
    fn verify(&self, label: &[u8], parts: &[&[u8]], proof: &[u8]) -> bool {
        let expected = self.tag(label, parts);
        let expected = expected.as_ref();
        // Constant time in the content; the length is not secret.
        expected.len() == proof.len()
            && expected
                .iter()
                .zip(proof)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A secret the transport cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("cluster secret must be at least 16 bytes")]
    TooShort,
    #[error("cluster secret must be printable ASCII without spaces")]
    NotPrintable,
}

/// Why the caller does not trust a peer (or could not ask it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("peer refused the hello: {0}")]
    HelloRefused(String),
    #[error("peer {0} does not know the cluster secret (bad server proof): refusing it")]
    ServerProof(MemberId),
    #[error("peer {0} answered without a valid acknowledgement proof: refusing it")]
    BadAck(MemberId),
    #[error("no randomness for a nonce")]
    Random,
}

/// Caller side: an authenticated session with one server.
#[derive(Debug, Clone)]
pub struct Session {
    me: MemberId,
    to: MemberId,
    id: [u8; NONCE_LEN],
    seq: u64,
}

impl Session {
    /// Opens a session with `to` over `channel`: sends a fresh nonce and
    /// refuses the server unless it proves it knows `secret`.
    pub async fn open(
        channel: tonic::transport::Channel,
        me: MemberId,
        to: MemberId,
        secret: &Secret,
    ) -> Result<Session, AuthError> {
        let client_nonce = nonce()?;
        let reply = PeerAuthClient::new(channel)
            .hello(HelloRequest {
                version: crate::transport::VERSION,
                from: me,
                to,
                client_nonce: client_nonce.to_vec(),
            })
            .await
            .map_err(|s| AuthError::HelloRefused(s.message().to_owned()))?
            .into_inner();
        let id: [u8; NONCE_LEN] = reply
            .server_nonce
            .as_slice()
            .try_into()
            .map_err(|_| AuthError::ServerProof(to))?;
        let parts = hello_parts(me, to, &client_nonce, &id);
        if !secret.verify(LABEL_HELLO, &parts.each(), &reply.server_proof) {
            return Err(AuthError::ServerProof(to));
        }
        Ok(Session { me, to, id, seq: 0 })
    }

    /// Adds the next sequence number and its proof to a request.
    pub fn sign<T>(&mut self, req: &mut Request<T>, secret: &Secret) {
        self.seq += 1;
        let parts = call_parts(self.me, self.to, &self.id, self.seq);
        let proof = secret.tag(LABEL_CALL, &parts.each());
        let md = req.metadata_mut();
        insert_hex(md, SESSION_HEADER, &self.id);
        insert_hex(md, PROOF_HEADER, proof.as_ref());
        if let Ok(v) = MetadataValue::try_from(self.seq.to_string()) {
            md.insert(SEQ_HEADER, v);
        }
    }

    /// Checks the server's acknowledgement of the last signed call.
    pub fn check_ack<T>(&self, resp: &Response<T>, secret: &Secret) -> Result<(), AuthError> {
        let parts = call_parts(self.me, self.to, &self.id, self.seq);
        match hex_header(resp.metadata(), ACK_HEADER) {
            Some(ack) if secret.verify(LABEL_ACK, &parts.each(), &ack) => Ok(()),
            _ => Err(AuthError::BadAck(self.to)),
        }
    }
}

/// Server side: the sessions this member issued.
#[derive(Debug)]
pub struct Sessions {
    me: MemberId,
    secret: Secret,
    rng: SystemRandom,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    /// Bumped on every use: orders sessions for eviction.
    clock: u64,
    map: BTreeMap<[u8; NONCE_LEN], Issued>,
}

#[derive(Debug, Clone, Copy)]
struct Issued {
    from: MemberId,
    last_seq: u64,
    used: u64,
}

/// A call that passed [`Sessions::check`]: what the acknowledgement covers.
/// The server's interceptor stores it in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    from: MemberId,
    id: [u8; NONCE_LEN],
    seq: u64,
}

impl Verified {
    /// The member the session was opened by.
    pub fn from(&self) -> MemberId {
        self.from
    }
}

impl Sessions {
    pub fn new(me: MemberId, secret: Secret) -> Self {
        Sessions {
            me,
            secret,
            rng: SystemRandom::new(),
            open: Mutex::new(Open::default()),
        }
    }

    /// Answers a hello: a new session and the proof that we know the secret.
    pub fn hello(&self, req: &HelloRequest) -> Result<HelloReply, Status> {
        if req.version != crate::transport::VERSION {
            return Err(Status::failed_precondition("unknown peer schema version"));
        }
        if req.to != self.me {
            return Err(Status::invalid_argument(
                "hello addressed to another member",
            ));
        }
        if req.client_nonce.len() != NONCE_LEN {
            return Err(Status::invalid_argument("bad client nonce"));
        }
        let mut id = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut id)
            .map_err(|_| Status::internal("no randomness"))?;
        let parts = hello_parts(req.from, self.me, &req.client_nonce, &id);
        let proof = self.secret.tag(LABEL_HELLO, &parts.each());
        let mut open = self.lock();
        if open.map.len() >= MAX_SESSIONS {
            if let Some(oldest) = open.map.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| *k) {
                open.map.remove(&oldest);
            }
        }
        open.clock += 1;
        let used = open.clock;
        open.map.insert(
            id,
            Issued {
                from: req.from,
                last_seq: 0,
                used,
            },
        );
        Ok(HelloReply {
            server_nonce: id.to_vec(),
            server_proof: proof.as_ref().to_vec(),
        })
    }

    /// Checks a call's session, sequence number and proof.
    pub fn check(&self, md: &MetadataMap) -> Result<Verified, Status> {
        let refuse = |why: &str| Status::unauthenticated(format!("cluster authentication: {why}"));
        let id: [u8; NONCE_LEN] = hex_header(md, SESSION_HEADER)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| refuse("missing session"))?;
        let seq: u64 = md
            .get(SEQ_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| refuse("missing sequence number"))?;
        let proof = hex_header(md, PROOF_HEADER).ok_or_else(|| refuse("missing proof"))?;
        let mut open = self.lock();
        open.clock += 1;
        let used = open.clock;
        let issued = open
            .map
            .get_mut(&id)
            .ok_or_else(|| refuse("unknown session (say hello again)"))?;
        let parts = call_parts(issued.from, self.me, &id, seq);
        if !self.secret.verify(LABEL_CALL, &parts.each(), &proof) {
            return Err(refuse("bad proof (wrong cluster secret?)"));
        }
        if seq <= issued.last_seq {
            return Err(refuse("replayed sequence number"));
        }
        issued.last_seq = seq;
        issued.used = used;
        Ok(Verified {
            from: issued.from,
            id,
            seq,
        })
    }

    /// Adds the acknowledgement proof of `call` to a response.
    pub fn acknowledge<T>(&self, call: &Verified, resp: &mut Response<T>) {
        let parts = call_parts(call.from, self.me, &call.id, call.seq);
        let ack = self.secret.tag(LABEL_ACK, &parts.each());
        insert_hex(resp.metadata_mut(), ACK_HEADER, ack.as_ref());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The byte strings a proof covers (owned, so ids can be borrowed).
struct Parts(Vec<Vec<u8>>);

impl Parts {
    fn each(&self) -> Vec<&[u8]> {
        self.0.iter().map(Vec::as_slice).collect()
    }
}

fn hello_parts(from: MemberId, to: MemberId, client_nonce: &[u8], id: &[u8]) -> Parts {
    Parts(vec![
        from.to_be_bytes().to_vec(),
        to.to_be_bytes().to_vec(),
        client_nonce.to_vec(),
        id.to_vec(),
    ])
}

fn call_parts(from: MemberId, to: MemberId, id: &[u8], seq: u64) -> Parts {
    Parts(vec![
        from.to_be_bytes().to_vec(),
        to.to_be_bytes().to_vec(),
        id.to_vec(),
        seq.to_be_bytes().to_vec(),
    ])
}

fn nonce() -> Result<[u8; NONCE_LEN], AuthError> {
    let mut n = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut n)
        .map_err(|_| AuthError::Random)?;
    Ok(n)
}

fn insert_hex(md: &mut MetadataMap, key: &'static str, bytes: &[u8]) {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Ok(v) = MetadataValue::try_from(hex) {
        md.insert(key, v);
    }
}

fn hex_header(md: &MetadataMap, key: &str) -> Option<Vec<u8>> {
    let s = md.get(key)?.to_str().ok()?;
    if s.len() % 2 != 0 || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s).expect("valid secret")
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = secret("0123456789abcdef-very-secret");
        assert!(!format!("{s:?}").contains("secret"));
    }

    #[test]
    fn short_or_unprintable_secrets_are_refused() {
        assert_eq!(Secret::new("short").err(), Some(SecretError::TooShort));
        assert_eq!(
            Secret::new("0123456789 abcdef").err(),
            Some(SecretError::NotPrintable)
        );
    }

    #[test]
    fn proofs_depend_on_the_secret_and_every_part() {
        let a = secret("0123456789abcdef");
        let b = secret("0123456789abcdeF");
        let parts = call_parts(1, 2, &[7; NONCE_LEN], 5);
        let tag = a.tag(LABEL_CALL, &parts.each());
        assert!(a.verify(LABEL_CALL, &parts.each(), tag.as_ref()));
        assert!(!b.verify(LABEL_CALL, &parts.each(), tag.as_ref()));
        assert!(!a.verify(LABEL_ACK, &parts.each(), tag.as_ref()));
        let other = call_parts(1, 2, &[7; NONCE_LEN], 6);
        assert!(!a.verify(LABEL_CALL, &other.each(), tag.as_ref()));
        let swapped = call_parts(2, 1, &[7; NONCE_LEN], 5);
        assert!(!a.verify(LABEL_CALL, &swapped.each(), tag.as_ref()));
    }

    fn signed(session: &mut Session, s: &Secret) -> MetadataMap {
        let mut req = Request::new(());
        session.sign(&mut req, s);
        req.metadata().clone()
    }

    fn opened(server: &Sessions, s: &Secret) -> Session {
        let cn = [3u8; NONCE_LEN];
        let reply = server
            .hello(&HelloRequest {
                version: crate::transport::VERSION,
                from: 1,
                to: 2,
                client_nonce: cn.to_vec(),
            })
            .expect("hello");
        let id: [u8; NONCE_LEN] = reply.server_nonce.as_slice().try_into().expect("len");
        assert!(s.verify(
            LABEL_HELLO,
            &hello_parts(1, 2, &cn, &id).each(),
            &reply.server_proof
        ));
        Session {
            me: 1,
            to: 2,
            id,
            seq: 0,
        }
    }

    #[test]
    fn server_accepts_each_signed_call_once_and_acknowledges_it() {
        let s = secret("cluster-secret-0123");
        let server = Sessions::new(2, s.clone());
        let mut session = opened(&server, &s);
        let md = signed(&mut session, &s);
        let call = server.check(&md).expect("a good call passes");
        assert_eq!(call.from(), 1);
        let mut resp = Response::new(());
        server.acknowledge(&call, &mut resp);
        assert_eq!(session.check_ack(&resp, &s), Ok(()));
        // The same metadata again: a replay.
        let e = server.check(&md).expect_err("replay refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert!(server.check(&signed(&mut session, &s)).is_ok());
    }

    #[test]
    fn server_refuses_a_caller_with_the_wrong_secret() {
        let s = secret("cluster-secret-0123");
        let server = Sessions::new(2, s.clone());
        let mut session = opened(&server, &s);
        let md = signed(&mut session, &secret("cluster-secret-9999"));
        let e = server.check(&md).expect_err("wrong secret refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert!(server.check(&MetadataMap::new()).is_err(), "no proof");
    }

    #[test]
    fn caller_refuses_an_ack_made_with_another_secret() {
        let s = secret("cluster-secret-0123");
        let impostor = Sessions::new(2, secret("cluster-secret-9999"));
        let mut session = opened(&Sessions::new(2, s.clone()), &s);
        let _ = signed(&mut session, &s);
        let mut resp = Response::new(());
        let forged = Verified {
            from: 1,
            id: session.id,
            seq: 1,
        };
        impostor.acknowledge(&forged, &mut resp);
        assert_eq!(session.check_ack(&resp, &s), Err(AuthError::BadAck(2)));
        assert_eq!(
            session.check_ack(&Response::new(()), &s),
            Err(AuthError::BadAck(2))
        );
    }

    #[test]
    fn sessions_are_bounded() {
        let s = secret("cluster-secret-0123");
        let server = Sessions::new(2, s.clone());
        let first = opened(&server, &s);
        for _ in 0..MAX_SESSIONS {
            opened(&server, &s);
        }
        assert_eq!(server.lock().map.len(), MAX_SESSIONS);
        let mut first = first;
        assert!(
            server.check(&signed(&mut first, &s)).is_err(),
            "the oldest session was evicted"
        );
    }

    #[test]
    fn hex_round_trip_and_garbage() {
        let mut md = MetadataMap::new();
        insert_hex(&mut md, SESSION_HEADER, &[0x00, 0xab, 0xff]);
        assert_eq!(
            hex_header(&md, SESSION_HEADER),
            Some(vec![0x00, 0xab, 0xff])
        );
        md.insert(SESSION_HEADER, MetadataValue::from_static("zz"));
        assert_eq!(hex_header(&md, SESSION_HEADER), None);
        md.insert(SESSION_HEADER, MetadataValue::from_static("abc"));
        assert_eq!(hex_header(&md, SESSION_HEADER), None);
    }
}
