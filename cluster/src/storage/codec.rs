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
    let mut out = vec![0; 4];
    // Serialising an in-memory raft message cannot fail (no unknown required
    // fields in proto3 raft messages); an empty payload would fail `decode`.
    out.extend_from_slice(&m.write_to_bytes().unwrap_or_default());
    seal(out)
}

pub(super) fn decode<M: protobuf::Message>(v: &[u8], what: &str) -> Result<M, StoreError> {
    let damaged = |why: &str| StoreError::Damaged(format!("{what}: {why}"));
    let payload = unseal(v).map_err(damaged)?;
    M::parse_from_bytes(payload).map_err(|e| damaged(&format!("undecodable ({e})")))
}

/// `crc32 (LE) || (u32 BE length || protobuf entry)*`.
pub(super) fn encode_segment(ents: &[Entry]) -> Vec<u8> {
    let mut out = vec![0; 4];
    for e in ents {
        // Serialising an in-memory entry cannot fail (see `encode`).
        let b = e.write_to_bytes().unwrap_or_default();
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(&b);
    }
    seal(out)
}

pub(super) fn decode_segment(v: &[u8]) -> Result<Vec<Entry>, StoreError> {
    let damaged = |why: &str| StoreError::Damaged(format!("log segment: {why}"));
    let mut payload = unseal(v).map_err(damaged)?;
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

/// Writes the CRC-32 of `out[4..]` into the 4 bytes reserved at its start
/// (the payload is built in place: a segment is not copied a second time).
fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&out[4..]);
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The payload of a sealed value, or why it is damaged.
fn unseal(v: &[u8]) -> Result<&[u8], &'static str> {
    let Some((crc, payload)) = v.split_first_chunk::<4>() else {
        return Err("value truncated");
    };
    if u32::from_le_bytes(*crc) != crc32fast::hash(payload) {
        return Err("checksum mismatch");
    }
    Ok(payload)
}
