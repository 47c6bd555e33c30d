//! A child process guard and the waits tests need around it.
//!
//! Contract: a [`Proc`] owns one child started by the harness; dropping it
//! sends SIGKILL to that PID only (never `pkill`/`killall`) and reaps it.
//! Its stdout and stderr go to a log file that [`Proc::wait_for_log`] and
//! [`wait_for_file_line`] poll. Each child gets its own process group, so
//! a child that signals its group cannot hit the test. Waits poll with a short interval and a
//! deadline, they never sleep for a fixed time.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How often waits re-check their condition.
const POLL: Duration = Duration::from_millis(50);

/// A signal to send to a child by PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT.
    Int,
    /// SIGTERM.
    Term,
    /// SIGQUIT (l2tpns's clean shutdown).
    Quit,
    /// SIGHUP (lnsd's reload).
    Hup,
    /// SIGKILL.
    Kill,
    /// SIGSTOP.
    Stop,
    /// SIGCONT.
    Cont,
    /// SIGUSR1 (lnsd's planned leadership transfer on the active node).
    Usr1,
}

/// A child process killed by PID when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Result<Proc> {
        let out = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone().context("dup log file")?;
        // Its own process group: l2tpns signals its whole process group
        // when it shuts down, which would otherwise kill the test itself.
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawn {cmd:?}"))?;
        Ok(Proc { child, log })
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file its output goes to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Sends `signal` to this child's PID.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        send_signal(self.pid(), signal)
    }

    /// Waits until the child's output contains `needle`; fails if it exits
    /// first or `timeout` passes.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "process exited ({status}) before logging {needle:?}; output:\n{}",
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                bail!("timeout waiting for {needle:?}; output:\n{}", self.log());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the child to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("timeout waiting for pid {} to exit", self.pid());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the child is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Sends `signal` to `pid` with kill(1).
pub fn send_signal(pid: u32, signal: Signal) -> Result<()> {
    let name = match signal {
        Signal::Int => "INT",
        Signal::Term => "TERM",
        Signal::Quit => "QUIT",
        Signal::Hup => "HUP",
        Signal::Kill => "KILL",
        Signal::Stop => "STOP",
        Signal::Cont => "CONT",
        Signal::Usr1 => "USR1",
    };
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .context("run kill")?;
    if !status.success() {
        bail!("kill -s {name} {pid} failed");
    }
    Ok(())
}

/// Waits until file `path` contains `needle`, up to `timeout`.
pub fn wait_for_file_line(path: &Path, needle: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if text.contains(needle) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "timeout waiting for {needle:?} in {}; it holds:\n{text}",
                path.display()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until a UDP socket is bound on `port` inside namespace `ns`
/// (checked with `ss -lun`), up to `timeout`.
pub fn wait_for_udp_port(ns: &str, port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let suffix = format!(":{port}");
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-Hlun"])
            .output()
            .context("run ss")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let bound = text.lines().any(|l| {
            l.split_whitespace()
                .nth(3)
                .is_some_and(|local| local.ends_with(&suffix))
        });
        if bound {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("timeout waiting for UDP port {port} in {ns}:\n{text}");
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until `path` holds at least `size` bytes (a capture's pcap
/// header); `None` on timeout.
pub fn wait_for_file_size(path: &Path, size: u64, timeout: Duration) -> Option<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::fs::metadata(path).is_ok_and(|m| m.len() >= size) {
            return Some(());
        }
        std::thread::sleep(POLL);
    }
    None
}

/// The binary `name` next to the running one (the chaos-tests binaries are
/// built together), or an error saying how to build it.
pub fn sibling_binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe().map_err(|e| anyhow::anyhow!("current exe: {e}"))?;
    let p = exe.with_file_name(name);
    anyhow::ensure!(
        p.is_file(),
        "{} not found (cargo build -p lns-chaos-tests --bins)",
        p.display()
    );
    Ok(p)
}
