//! The session routes lac-sim writes once its sessions are up
//! (`--routes-file`) and `blast` reads: enough to forge data messages for
//! a session from outside lac-sim.
//!
//! Contract: one line per established session,
//! `route local=ADDR:PORT lns=ADDR:PORT tunnel=N session=N ipv4=ADDR`,
//! where `tunnel` and `session` are the LNS's ids (what goes in the data
//! header the LAC sends) and `local` is the LAC socket the tunnel uses (the
//! LNS accepts data only from it). [`Route::parse`] refuses anything else.

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::{bail, Context, Result};

/// One established session as seen from the LAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The LAC's socket for this tunnel.
    pub local: SocketAddrV4,
    /// The LNS's control/data address.
    pub lns: SocketAddrV4,
    /// The LNS's tunnel id.
    pub tunnel: u16,
    /// The LNS's session id.
    pub session: u16,
    /// The subscriber's address (IPCP).
    pub ipv4: Ipv4Addr,
}

impl Route {
    /// The file line for this route (no newline).
    pub fn line(&self) -> String {
        format!(
            "route local={} lns={} tunnel={} session={} ipv4={}",
            self.local, self.lns, self.tunnel, self.session, self.ipv4
        )
    }

    /// Parses one line written by [`Route::line`].
    pub fn parse(line: &str) -> Result<Route> {
        let mut words = line.split_whitespace();
        if words.next() != Some("route") {
            bail!("not a route line: {line:?}");
        }
        let mut field = |key: &str| -> Result<&str> {
            words
                .next()
                .and_then(|w| w.strip_prefix(key)?.strip_prefix('='))
                .with_context(|| format!("no {key}= in {line:?}"))
        };
        let local = field("local")?.parse().context("local")?;
        let lns = field("lns")?.parse().context("lns")?;
        let tunnel = field("tunnel")?.parse().context("tunnel")?;
        let session = field("session")?.parse().context("session")?;
        let ipv4 = field("ipv4")?.parse().context("ipv4")?;
        if words.next().is_some() {
            bail!("trailing words in {line:?}");
        }
        Ok(Route {
            local,
            lns,
            tunnel,
            session,
            ipv4,
        })
    }
}

/// Every route in a routes file (blank lines ignored).
pub fn parse_all(text: &str) -> Result<Vec<Route>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(Route::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            local: "198.18.0.1:40001".parse().expect("literal"),
            lns: "198.18.0.2:1701".parse().expect("literal"),
            tunnel: 0x1234,
            session: 0x0007,
            ipv4: Ipv4Addr::new(198, 19, 0, 9),
        }
    }

    #[test]
    fn lines_round_trip() {
        let r = route();
        assert_eq!(
            r.line(),
            "route local=198.18.0.1:40001 lns=198.18.0.2:1701 tunnel=4660 session=7 ipv4=198.19.0.9"
        );
        assert_eq!(Route::parse(&r.line()).expect("parses"), r);
        let text = format!("{}\n\n{}\n", r.line(), r.line());
        assert_eq!(parse_all(&text).expect("parses"), vec![r, r]);
    }

    #[test]
    fn malformed_lines_are_refused() {
        let good = route().line();
        assert!(Route::parse(&good.replace("route ", "rout ")).is_err());
        assert!(Route::parse(&good.replace("tunnel=4660", "tunnel=70000")).is_err());
        assert!(Route::parse(&good.replace(" ipv4=198.19.0.9", "")).is_err());
        assert!(Route::parse(&format!("{good} extra")).is_err());
        assert!(parse_all("garbage\n").is_err());
    }
}
