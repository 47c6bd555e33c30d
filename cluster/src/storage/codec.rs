//! The byte formats of what the store keeps in sled: every value is
//! `crc32 (LE) || payload`, and a log segment's payload is a sequence of
//! length-prefixed entries.
//!
//! Contract: `encode`/`decode` frame one protobuf message; `encode_segment`/
//! `decode_segment` frame the entries of one append (see `segments`). A
//! decoder never panics: a short value, a checksum mismatch or an
//! undecodable message is a [`StoreError::Damaged`] naming what was read.

use protobuf::Message as _;
use raft::eraftpb::Entry;

use super::StoreError;

/// `crc32 (LE) || protobuf bytes`.
pub(super) fn encode<M: protobuf::Message>(m: &M) -> Vec<u8> {
    // Serialising an in-memory raft message cannot fail (no unknown required
    // fields in proto3 raft messages); an empty payload would fail `decode`.
    let payload = m.write_to_bytes().unwrap_or_default();
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

pub(super) fn decode<M: protobuf::Message>(v: &[u8], what: &str) -> Result<M, StoreError> {
    if v.len() < 4 {
        return Err(StoreError::Damaged(format!("{what}: value truncated")));
    }
    let (crc, payload) = v.split_at(4);
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(crc);
    if u32::from_le_bytes(crc_bytes) != crc32fast::hash(payload) {
        return Err(StoreError::Damaged(format!("{what}: checksum mismatch")));
    }
    M::parse_from_bytes(payload)
        .map_err(|e| StoreError::Damaged(format!("{what}: undecodable ({e})")))
}

/// `crc32 (LE) || (u32 BE length || protobuf entry)*`.
pub(super) fn encode_segment(ents: &[Entry]) -> Vec<u8> {
    let mut payload = Vec::new();
    for e in ents {
        // Serialising an in-memory entry cannot fail (see `encode`).
        let b = e.write_to_bytes().unwrap_or_default();
        payload.extend_from_slice(&(b.len() as u32).to_be_bytes());
        payload.extend_from_slice(&b);
    }
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

pub(super) fn decode_segment(v: &[u8]) -> Result<Vec<Entry>, StoreError> {
    let damaged = |why: &str| StoreError::Damaged(format!("log segment: {why}"));
    if v.len() < 4 {
        return Err(damaged("value truncated"));
    }
    let (crc, mut payload) = v.split_at(4);
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(crc);
    if u32::from_le_bytes(crc_bytes) != crc32fast::hash(payload) {
        return Err(damaged("checksum mismatch"));
    }
    let mut out = Vec::new();
    while !payload.is_empty() {
        let len_bytes: [u8; 4] = payload
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| damaged("length truncated"))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let body = payload
            .get(4..4 + len)
            .ok_or_else(|| damaged("entry truncated"))?;
        out.push(Entry::parse_from_bytes(body).map_err(|_| damaged("undecodable entry"))?);
        payload = &payload[4 + len..];
    }
    Ok(out)
}
