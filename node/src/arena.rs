//! One glibc malloc arena for the daemon.
//!
//! Contract:
//! - glibc's malloc gives threads that allocate at the same time arenas of
//!   their own (up to eight per core), and each arena keeps its own free
//!   chunks. lnsd's per-session state is built by tasks that move between
//!   the runtime's worker threads, so it was spread over several arenas:
//!   `bench memory` measured 1 040 bytes of RSS per session with glibc's
//!   default and 995 with one arena (50 000 sessions). The packet path
//!   allocates nothing, so the single arena's lock is not on it.
//! - glibc reads `MALLOC_ARENA_MAX` once, before `main` runs, so
//!   [`use_one_arena`] re-executes the same binary with it set to 1: same
//!   process id, arguments and open descriptors, nothing started yet. An
//!   operator's own `MALLOC_ARENA_MAX` wins: when it is set (which includes
//!   the re-executed process) nothing happens.
//! - If the re-execution fails, the daemon goes on with glibc's default
//!   and says so on stderr (logging is not set up yet).

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;

/// The environment variable glibc reads.
pub const ARENA_VAR: &str = "MALLOC_ARENA_MAX";

/// Re-executes the running binary with `MALLOC_ARENA_MAX=1` unless the
/// variable is set already. Returns only when nothing was done or the
/// re-execution failed.
pub fn use_one_arena() {
    if !needs_reexec(std::env::var_os(ARENA_VAR).as_deref()) {
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return warn(&e),
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(ARENA_VAR, "1")
        .exec();
    warn(&err);
}

/// Whether the process must be re-executed, given the variable's value.
pub fn needs_reexec(current: Option<&OsStr>) -> bool {
    current.is_none()
}

fn warn(e: &std::io::Error) {
    eprintln!(
        "lnsd: cannot re-execute with {ARENA_VAR}=1 ({e}); going on with glibc's default arenas"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unset_variable_leads_to_a_reexecution() {
        assert!(needs_reexec(None));
        assert!(!needs_reexec(Some(OsStr::new("1"))));
        // An operator's own value is kept.
        assert!(!needs_reexec(Some(OsStr::new("4"))));
    }
}
