//! The files beside the database: the guard file's floor and the atomic
//! write of a small file (the guard, the snapshot).
//!
//! Contract: [`Guard::render`] and [`Guard::read`] are each other's inverse
//! (`lns-cluster-guard-v1 <term> <vote> <commit> <crc32>`); a guard file
//! that is unreadable, malformed or fails its checksum is
//! [`StoreError::Damaged`]. [`write_file`] replaces a file atomically: a
//! temporary file, its fsync, a rename, the directory's fsync (the fsyncs
//! only with [`Fsync::Always`]).

use std::path::Path;

use raft::eraftpb::HardState;

use super::{StoreError, GUARD_FILE};
use crate::config::Fsync;

/// The floor recorded in the guard file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Guard {
    pub(super) term: u64,
    pub(super) vote: u64,
    pub(super) commit: u64,
}

impl Guard {
    pub(super) fn of(hs: &HardState) -> Guard {
        Guard {
            term: hs.term,
            vote: hs.vote,
            commit: hs.commit,
        }
    }

    /// `lns-cluster-guard-v1 <term> <vote> <commit> <crc32 of the first four fields>`
    pub(super) fn render(&self) -> String {
        let body = format!(
            "lns-cluster-guard-v1 {} {} {}",
            self.term, self.vote, self.commit
        );
        let crc = crc32fast::hash(body.as_bytes());
        format!("{body} {crc:08x}\n")
    }

    pub(super) fn read(dir: &Path) -> Result<Guard, StoreError> {
        let text = std::fs::read_to_string(dir.join(GUARD_FILE))
            .map_err(|e| StoreError::Damaged(format!("guard file unreadable: {e}")))?;
        let bad = || StoreError::Damaged("guard file malformed".into());
        let line = text.trim_end();
        let (body, crc) = line.rsplit_once(' ').ok_or_else(bad)?;
        if u32::from_str_radix(crc, 16).ok() != Some(crc32fast::hash(body.as_bytes())) {
            return Err(StoreError::Damaged("guard file checksum mismatch".into()));
        }
        let mut it = body.split(' ');
        if it.next() != Some("lns-cluster-guard-v1") {
            return Err(bad());
        }
        let mut num = || {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(bad)
        };
        Ok(Guard {
            term: num()?,
            vote: num()?,
            commit: num()?,
        })
    }
}

/// Temp file, fsync, rename, fsync of the directory.
pub(super) fn write_file(
    dir: &Path,
    fsync: Fsync,
    name: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    use std::io::Write as _;
    let io = |e: std::io::Error| StoreError::Damaged(format!("cannot write {name}: {e}"));
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    if fsync == Fsync::Always {
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, dir.join(name)).map_err(io)?;
    if fsync == Fsync::Always {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}
