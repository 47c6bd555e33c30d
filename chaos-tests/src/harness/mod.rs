//! The namespace harness every black-box test and drill uses.
//!
//! Contract: [`Topology`] builds namespaces, veth links, addresses and
//! routes under a per-test unique tag and removes them on drop, panics
//! included; [`Proc`] owns a child started inside a namespace and kills
//! it by PID on drop. [`require_root`] lets a test skip with a clear
//! message when it cannot create namespaces.

pub mod process;
pub mod topology;

pub use process::{
    send_signal, sibling_binary, wait_for_file_line, wait_for_file_size, wait_for_udp_port, Proc,
    Signal,
};
pub use topology::{Topology, TopologyBuilder};

/// Whether the tests may create namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Effective uid 0.
    Root,
    /// Anything else.
    Unprivileged,
}

/// The effective uid's privilege, read from `/proc/self/status`.
pub fn privilege() -> Privilege {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u32>().ok());
    if euid == Some(0) {
        Privilege::Root
    } else {
        Privilege::Unprivileged
    }
}

/// `Root`, or prints `SKIPPED: needs root (<test>)` and returns `Unprivileged`.
pub fn require_root(test: &str) -> Privilege {
    let p = privilege();
    if p == Privilege::Unprivileged {
        eprintln!("SKIPPED: needs root ({test}: network namespaces)");
    }
    p
}

/// Whether `program` is found in PATH or the sbin directories.
pub fn have_program(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/local/sbin".into()])
        .any(|d: std::path::PathBuf| d.join(program).is_file())
}
