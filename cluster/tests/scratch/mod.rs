//! A scratch directory for the tests that write files (the sled store,
//! certificates): `lns-cluster-NAME-PID` under the temp dir, emptied when
//! made and removed on drop, even when the test fails.

use std::path::{Path, PathBuf};

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `lns-cluster-{name}-{pid}` under the temp dir, not created yet (a
    /// leftover of an earlier run is removed).
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lns-cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
