//! Network namespaces, veth links, addresses and routes for one test,
//! removed by a Drop guard however the test ends.
//!
//! Contract: every namespace is named `lns-<pid>-<n>-<role>` (`n` counts
//! topologies built by this process), so parallel tests and parallel test
//! processes never clash. Veth pairs are created directly inside their
//! namespaces, so interface names need only be unique per namespace.
//! Addresses must come from 198.18.0.0/15 or 2001:db8::/32 (checked).
//! [`Topology::drop`] deletes the namespaces; processes started with
//! [`Topology::spawn_in`] are killed by their own guards, which should be
//! declared after the topology so that they drop first. Namespaces left by
//! a test process that died without unwinding (SIGKILL) are removed by the
//! next build, recognised by their name and the absence of their PID.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context, Result};

use super::process::Proc;

static TOPOLOGIES: AtomicU32 = AtomicU32::new(0);

/// A description of namespaces and links, built with [`TopologyBuilder::build`].
#[derive(Debug, Default)]
pub struct TopologyBuilder {
    namespaces: Vec<String>,
    links: Vec<Link>,
    routes: Vec<(String, String, String)>,
    sysctls: Vec<(String, String, String)>,
}

#[derive(Debug)]
struct Link {
    a: String,
    a_if: String,
    a_addrs: Vec<String>,
    b: String,
    b_if: String,
    b_addrs: Vec<String>,
}

/// A built topology. Dropping it deletes its namespaces and scratch directory.
#[derive(Debug)]
pub struct Topology {
    tag: String,
    roles: Vec<String>,
    dir: PathBuf,
}

impl TopologyBuilder {
    /// Adds a namespace for `role` (e.g. "lac", "lns", "core").
    pub fn namespace(mut self, role: &str) -> Self {
        self.namespaces.push(role.to_string());
        self
    }

    /// A veth pair between namespaces `a` and `b`: interface `a_if` in `a`
    /// with addresses `a_addrs` (CIDR), `b_if` in `b` with `b_addrs`.
    pub fn veth(
        mut self,
        (a, a_if, a_addrs): (&str, &str, &[&str]),
        (b, b_if, b_addrs): (&str, &str, &[&str]),
    ) -> Self {
        self.links.push(Link {
            a: a.to_string(),
            a_if: a_if.to_string(),
            a_addrs: a_addrs.iter().map(|s| s.to_string()).collect(),
            b: b.to_string(),
            b_if: b_if.to_string(),
            b_addrs: b_addrs.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// A route in `ns` to `prefix` via `gateway`.
    pub fn route(mut self, ns: &str, prefix: &str, gateway: &str) -> Self {
        self.routes
            .push((ns.to_string(), prefix.to_string(), gateway.to_string()));
        self
    }

    /// A sysctl in `ns` (e.g. `net.ipv4.ip_forward`, `1`).
    pub fn sysctl(mut self, ns: &str, key: &str, value: &str) -> Self {
        self.sysctls
            .push((ns.to_string(), key.to_string(), value.to_string()));
        self
    }

    /// Creates everything; on any failure, what was created is removed.
    pub fn build(self) -> Result<Topology> {
        remove_stale_namespaces();
        let n = TOPOLOGIES.fetch_add(1, Ordering::SeqCst);
        let tag = format!("lns-{}-{}", std::process::id(), n);
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let mut topo = Topology {
            tag,
            roles: Vec::new(),
            dir,
        };
        for role in &self.namespaces {
            let name = topo.ns(role);
            ip(&["netns", "add", &name])?;
            topo.roles.push(role.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
        }
        for (ns, key, value) in &self.sysctls {
            topo.run_in(
                ns,
                Command::new("sysctl")
                    .arg("-qw")
                    .arg(format!("{key}={value}")),
            )?;
        }
        for l in &self.links {
            let (na, nb) = (topo.ns(&l.a), topo.ns(&l.b));
            ip(&[
                "link", "add", &l.a_if, "netns", &na, "type", "veth", "peer", "name", &l.b_if,
                "netns", &nb,
            ])?;
            for (ns, ifname, addrs) in [(&na, &l.a_if, &l.a_addrs), (&nb, &l.b_if, &l.b_addrs)] {
                for a in addrs {
                    check_test_prefix(a)?;
                    if a.contains(':') {
                        ip(&["-n", ns, "addr", "add", a, "dev", ifname, "nodad"])?;
                    } else {
                        ip(&["-n", ns, "addr", "add", a, "dev", ifname])?;
                    }
                }
                ip(&["-n", ns, "link", "set", ifname, "up"])?;
            }
        }
        for (ns, prefix, gw) in &self.routes {
            check_test_prefix(prefix)?;
            let name = topo.ns(ns);
            let family = if prefix.contains(':') { "-6" } else { "-4" };
            ip(&[family, "-n", &name, "route", "add", prefix, "via", gw])?;
        }
        Ok(topo)
    }
}

impl Topology {
    /// Starts a description.
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }

    /// The unique tag (`lns-<pid>-<n>`) of this topology.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The full namespace name for `role`.
    pub fn ns(&self, role: &str) -> String {
        format!("{}-{}", self.tag, role)
    }

    /// A scratch directory removed with the topology (configs, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `program` wrapped to run inside namespace `role` (`ip netns exec`,
    /// which execs, so the child's PID is the program's).
    pub fn command_in(&self, role: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(role)]).arg(program);
        c
    }

    /// Runs `cmd` inside `role` to completion; fails on a non-zero exit.
    pub fn run_in(&self, role: &str, cmd: &mut Command) -> Result<Output> {
        let mut wrapped = self.wrap(role, cmd);
        let out = wrapped
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {wrapped:?}"))?;
        if !out.status.success() {
            bail!(
                "{wrapped:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }

    /// Starts `cmd` inside `role`, its stdout and stderr going to
    /// `<dir>/<log_name>.log`; the guard kills it by PID when dropped.
    pub fn spawn_in(&self, role: &str, log_name: &str, cmd: &mut Command) -> Result<Proc> {
        let wrapped = self.wrap(role, cmd);
        Proc::spawn(wrapped, self.dir.join(format!("{log_name}.log")))
    }

    fn wrap(&self, role: &str, cmd: &Command) -> Command {
        let mut c = self.command_in(role, cmd.get_program());
        c.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = cmd.get_current_dir() {
            c.current_dir(d);
        }
        c
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for role in self.roles.iter().rev() {
            let _ = ip(&["netns", "del", &format!("{}-{}", self.tag, role)]);
        }
        if std::env::var_os("LNS_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Deletes `lns-<pid>-<n>-<role>` namespaces whose creating process is
/// gone (a test killed with SIGKILL cannot run its Drop guards).
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if let Some(pid) = stale_owner(name) {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = ip(&["netns", "del", name]);
            }
        }
    }
}

/// The creating PID of a namespace named by [`Topology`], if it is one.
fn stale_owner(name: &str) -> Option<u32> {
    let mut parts = name.strip_prefix("lns-")?.splitn(3, '-');
    let pid = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u32>().ok()?;
    parts.next().filter(|role| !role.is_empty())?;
    Some(pid)
}

/// Refuses any address outside the documentation/benchmark ranges.
fn check_test_prefix(cidr: &str) -> Result<()> {
    let addr = cidr.split('/').next().unwrap_or(cidr);
    let ip: IpAddr = addr
        .parse()
        .with_context(|| format!("bad address {cidr}"))?;
    let ok = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 198 && (o[1] & 0xfe) == 18
        }
        IpAddr::V6(v6) => v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8,
    };
    if !ok {
        bail!("{cidr} is outside 198.18.0.0/15 and 2001:db8::/32");
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("run ip")?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_namespace_names_have_an_owner() {
        assert_eq!(stale_owner("lns-1234-0-lac"), Some(1234));
        assert_eq!(stale_owner("lns-1234-17-core"), Some(1234));
        assert_eq!(stale_owner("lnsd-e2e-1234"), None);
        assert_eq!(stale_owner("lns-abc-0-lac"), None);
        assert_eq!(stale_owner("lns-1234-x-lac"), None);
        assert_eq!(stale_owner("lns-1234-0-"), None);
    }

    #[test]
    fn only_test_prefixes_are_accepted() {
        assert!(check_test_prefix("198.18.0.1/24").is_ok());
        assert!(check_test_prefix("198.19.255.1/24").is_ok());
        assert!(check_test_prefix("2001:db8:1::1/64").is_ok());
        assert!(check_test_prefix("198.20.0.1/24").is_err());
        assert!(check_test_prefix("192.0.2.1/24").is_err());
        assert!(check_test_prefix("2001:db9::1/64").is_err());
    }
}
