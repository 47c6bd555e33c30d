//! The drills' accounting check: FreeRADIUS `detail` files parsed, and the
//! records of every session judged against issue 9's promise (FAILOVER.md
//! promise 4): never a missing Start or Stop, never a duplicated Start.
//!
//! Contract: [`parse_detail`] reads the text FreeRADIUS 3 writes (a date
//! line, then one tab-indented `Attribute = value` per line, a blank line
//! between records) into [`Record`]s. [`check`] takes them and the users
//! whose sessions lac-sim had up (every one of which has ended by then) and
//! returns an [`AcctCheck`]:
//! - per Acct-Session-Id: exactly one Start and exactly one Stop (a missing
//!   one counts in `lost`, an extra one in `dup_start` / `dup_stop`);
//! - per user lac-sim had up: a Start (none at all: its Start and its Stop
//!   count as lost);
//! - one Acct-Session-Id per user (stable across the failover) and one
//!   user per Acct-Session-Id (unique per session);
//! - ordered by Acct-Session-Time, the octet and packet counters never go
//!   back and no Interim outlives the Stop;
//! - exactly one Accounting-On, before any Start (a failover must not send
//!   another), and no Accounting-Off (the cluster is still running when the
//!   check runs).
//!
//! A retransmission is not a duplicate: a Start or Stop the old active node
//! sent, whose acknowledgement it did not commit before it died, is sent
//! again by the new one as the same record, every attribute equal but the
//! per-transmission ones ([`TRANSMISSION_KEYS`]: Acct-Delay-Time, which
//! grows with the wait, RFC 2866 §5.2, and what the server adds on
//! receipt). Such copies are counted in `resent`; two Starts (or Stops) of
//! one session that differ in anything else (an Event-Timestamp, an
//! address, a counter) are a duplicate.
//!
//! Duplicated Interim-Updates are allowed (the issue forbids only a
//! duplicated Start and a missing Start or Stop); they are counted for the
//! notes. Everything is ordered (BTreeMap) so the notes are stable.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::lac::{user_name, Status};

/// One accounting record: attribute name -> value (quotes removed).
pub type Record = BTreeMap<String, String>;

/// Parses a FreeRADIUS `detail` file.
pub fn parse_detail(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cur = Record::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            // The date line that opens a record.
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some((k, v)) = line.trim().split_once(" = ") {
            cur.insert(k.to_string(), v.trim_matches('"').to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The users of `template` whose sessions got an address (IPCP opened:
/// lnsd sent, or owes, their Start), whatever became of them since.
pub fn users_up(status: &Status, template: &str) -> BTreeSet<String> {
    status
        .sessions()
        .filter(|s| s.ipv4.is_some())
        .map(|s| user_name(template, s.index))
        .collect()
}

/// Reads `detail` until every user of `users` has a Stop and every
/// Acct-Session-Id with a Start has one too (the records were received,
/// so the server acknowledges them), or `timeout` passed; returns the
/// records as they stand then.
pub fn wait_for_stops(detail: &Path, users: &BTreeSet<String>, timeout: Duration) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(detail).unwrap_or_default();
        let records = parse_detail(&text);
        if all_stopped(&records, users) || Instant::now() >= deadline {
            return records;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether every user and every started session has a Stop.
fn all_stopped(records: &[Record], users: &BTreeSet<String>) -> bool {
    let stopped_ids: BTreeSet<&str> = records
        .iter()
        .filter(|r| status(r) == "Stop")
        .filter_map(|r| r.get("Acct-Session-Id").map(String::as_str))
        .collect();
    let stopped_users: BTreeSet<&str> = records
        .iter()
        .filter(|r| status(r) == "Stop")
        .filter_map(|r| r.get("User-Name").map(String::as_str))
        .collect();
    records
        .iter()
        .filter(|r| status(r) == "Start")
        .filter_map(|r| r.get("Acct-Session-Id"))
        .all(|id| stopped_ids.contains(id.as_str()))
        && users.iter().all(|u| stopped_users.contains(u.as_str()))
}

/// The verdict on the records of a drill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcctCheck {
    /// Sessions (Acct-Session-Ids) seen.
    pub sessions: usize,
    /// Missing Starts plus missing Stops.
    pub lost: usize,
    /// Starts beyond the first, summed over sessions.
    pub dup_start: usize,
    /// Stops beyond the first, summed over sessions.
    pub dup_stop: usize,
    /// Starts and Stops received again as retransmissions of the same
    /// record (see the module doc); allowed.
    pub resent: usize,
    /// Interim-Updates received twice (same Session-Time); allowed.
    pub dup_interim: usize,
    /// Accounting-On records.
    pub accounting_on: usize,
    /// Accounting-Off records.
    pub accounting_off: usize,
    /// Every broken rule, one line each (the notes of a failed drill).
    pub problems: Vec<String>,
}

impl AcctCheck {
    /// Whether every rule held.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Judges `records` (in arrival order) for the sessions of `users_up`, all
/// of which have ended.
pub fn check(records: &[Record], users_up: &BTreeSet<String>) -> AcctCheck {
    let mut c = AcctCheck::default();
    let mut by_id: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    let mut first_start: Option<usize> = None;
    for (i, r) in records.iter().enumerate() {
        match status(r) {
            "Accounting-On" => {
                c.accounting_on += 1;
                if first_start.is_some() {
                    c.problems.push(
                        "an Accounting-On after a Start (it tells the server every session ended)"
                            .into(),
                    );
                }
            }
            "Accounting-Off" => {
                c.accounting_off += 1;
                c.problems
                    .push("an Accounting-Off while the cluster is running".into());
            }
            s @ ("Start" | "Interim-Update" | "Stop") => {
                if s == "Start" && first_start.is_none() {
                    first_start = Some(i);
                }
                match r.get("Acct-Session-Id") {
                    Some(id) => by_id.entry(id.as_str()).or_default().push(r),
                    None => c.problems.push(format!("a {s} without Acct-Session-Id")),
                }
            }
            other => c
                .problems
                .push(format!("a record with Acct-Status-Type {other:?}")),
        }
    }
    match c.accounting_on {
        0 => c.problems.push("no Accounting-On".into()),
        1 => {}
        n => c.problems.push(format!("{n} Accounting-On records")),
    }
    c.sessions = by_id.len();
    let mut ids_of_user: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, recs) in &by_id {
        session(id, recs, &mut c);
        let users: BTreeSet<&str> = recs
            .iter()
            .filter_map(|r| r.get("User-Name").map(String::as_str))
            .collect();
        if users.len() > 1 {
            c.problems.push(format!(
                "Acct-Session-Id {id} names {} users: {users:?}",
                users.len()
            ));
        }
        for u in users {
            ids_of_user.entry(u).or_default().insert(id);
        }
    }
    for (user, ids) in &ids_of_user {
        if ids.len() > 1 {
            c.problems.push(format!(
                "{user} has {} Acct-Session-Ids {ids:?} (it must not change)",
                ids.len()
            ));
        }
    }
    for user in users_up {
        // A user with records but no Start is counted per Acct-Session-Id.
        if !ids_of_user.contains_key(user.as_str()) {
            // No record at all: its Start and its Stop are lost.
            c.lost += 2;
            c.problems
                .push(format!("{user} was up but has no accounting record"));
        }
    }
    c
}

/// The checks of one Acct-Session-Id.
fn session(id: &str, recs: &[&Record], c: &mut AcctCheck) {
    // Distinct records per status; the copies beyond them are resends.
    let count = |s: &str| {
        let all: Vec<&&Record> = recs.iter().filter(|r| status(r) == s).collect();
        let distinct: BTreeSet<Vec<(&String, &String)>> = all.iter().map(|r| content(r)).collect();
        (distinct.len(), all.len() - distinct.len())
    };
    let ((starts, resent_starts), (stops, resent_stops)) = (count("Start"), count("Stop"));
    c.resent += resent_starts + resent_stops;
    if starts == 0 {
        c.lost += 1;
        c.problems.push(format!("Acct-Session-Id {id}: no Start"));
    }
    if starts > 1 {
        c.dup_start += starts - 1;
        c.problems
            .push(format!("Acct-Session-Id {id}: {starts} Starts"));
    }
    if stops == 0 {
        c.lost += 1;
        c.problems.push(format!("Acct-Session-Id {id}: no Stop"));
    }
    if stops > 1 {
        c.dup_stop += stops - 1;
        c.problems
            .push(format!("Acct-Session-Id {id}: {stops} Stops"));
    }
    // By Session-Time (Start first, Stop last at equal times): counters
    // never go back.
    let mut ordered: Vec<(u64, u8, Counters)> = recs
        .iter()
        .map(|r| {
            let rank = match status(r) {
                "Start" => 0,
                "Interim-Update" => 1,
                _ => 2,
            };
            (num(r, "Acct-Session-Time"), rank, Counters::of(r))
        })
        .collect();
    ordered.sort();
    let mut seen_interims = BTreeSet::new();
    for (t, rank, _) in &ordered {
        if *rank == 1 && !seen_interims.insert(*t) {
            c.dup_interim += 1;
        }
    }
    for w in ordered.windows(2) {
        let ((t0, _, a), (t1, _, b)) = (&w[0], &w[1]);
        if !a.le(b) {
            c.problems.push(format!(
                "Acct-Session-Id {id}: counters went back between Session-Time {t0} ({a:?}) and {t1} ({b:?})"
            ));
            break;
        }
    }
    let stop_time = recs
        .iter()
        .filter(|r| status(r) == "Stop")
        .map(|r| num(r, "Acct-Session-Time"))
        .min();
    let last_interim = recs
        .iter()
        .filter(|r| status(r) == "Interim-Update")
        .map(|r| num(r, "Acct-Session-Time"))
        .max();
    if let (Some(stop), Some(interim)) = (stop_time, last_interim) {
        if interim > stop {
            c.problems.push(format!(
                "Acct-Session-Id {id}: an Interim at Session-Time {interim} after the Stop at {stop}"
            ));
        }
    }
}

/// What a server adds to a record on receipt, and what changes between two
/// transmissions of one record (Acct-Delay-Time, RFC 2866 §5.2).
pub const TRANSMISSION_KEYS: [&str; 9] = [
    "Acct-Delay-Time",
    "Message-Authenticator",
    "Timestamp",
    "Packet-Src-IP-Address",
    "Packet-Src-Port",
    "Packet-Dst-IP-Address",
    "Packet-Dst-Port",
    "Packet-Original-Timestamp",
    "Packet-Transmit-Timestamp",
];

/// A record's attributes but [`TRANSMISSION_KEYS`]: equal for every
/// transmission of one record.
fn content(r: &Record) -> Vec<(&String, &String)> {
    r.iter()
        .filter(|(k, _)| !TRANSMISSION_KEYS.contains(&k.as_str()))
        .collect()
}

/// A record's 64-bit counters (RFC 2869 §5.1: Gigawords are the high word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Counters {
    input_octets: u64,
    output_octets: u64,
    input_packets: u64,
    output_packets: u64,
}

impl Counters {
    fn of(r: &Record) -> Counters {
        Counters {
            input_octets: (num(r, "Acct-Input-Gigawords") << 32) + num(r, "Acct-Input-Octets"),
            output_octets: (num(r, "Acct-Output-Gigawords") << 32) + num(r, "Acct-Output-Octets"),
            input_packets: num(r, "Acct-Input-Packets"),
            output_packets: num(r, "Acct-Output-Packets"),
        }
    }

    /// Field by field.
    fn le(&self, other: &Counters) -> bool {
        self.input_octets <= other.input_octets
            && self.output_octets <= other.output_octets
            && self.input_packets <= other.input_packets
            && self.output_packets <= other.output_packets
    }
}

fn status(r: &Record) -> &str {
    r.get("Acct-Status-Type").map_or("", String::as_str)
}

fn num(r: &Record, k: &str) -> u64 {
    r.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as FreeRADIUS 3.2 writes it.
    fn rec(status: &str, id: &str, user: &str, time: u64, octets: u64) -> String {
        format!(
            "Tue Nov 24 09:00:{time:02} 2026\n\tAcct-Status-Type = {status}\n\tAcct-Session-Id = \"{id}\"\n\tUser-Name = \"{user}\"\n\tAcct-Session-Time = {time}\n\tAcct-Input-Octets = {octets}\n\tAcct-Output-Octets = {octets}\n\tAcct-Input-Gigawords = 0\n\tAcct-Input-Packets = {p}\n\tAcct-Output-Packets = {p}\n\tNAS-IP-Address = 198.18.1.11\n\tTimestamp = 1795510800\n\n",
            p = octets / 100
        )
    }

    fn on() -> String {
        "Tue Nov 24 08:59:00 2026\n\tAcct-Status-Type = Accounting-On\n\tNAS-IP-Address = 198.18.1.11\n\tTimestamp = 1795510740\n\n".into()
    }

    fn users(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn good() -> String {
        [
            on(),
            rec("Start", "aa01", "drill1", 0, 0),
            rec("Start", "aa02", "drill2", 0, 0),
            rec("Interim-Update", "aa01", "drill1", 10, 1000),
            rec("Interim-Update", "aa02", "drill2", 10, 900),
            // A resend across the failover: allowed, counted.
            rec("Interim-Update", "aa01", "drill1", 10, 1000),
            rec("Interim-Update", "aa01", "drill1", 20, 2000),
            rec("Stop", "aa01", "drill1", 25, 2500),
            rec("Stop", "aa02", "drill2", 25, 1200),
        ]
        .concat()
    }

    #[test]
    fn waiting_ends_when_every_start_and_every_user_has_a_stop() {
        let r = parse_detail(&good());
        assert!(all_stopped(&r, &users(&["drill1", "drill2"])));
        assert!(!all_stopped(&r, &users(&["drill1", "drill3"])));
        let no_stop: Vec<Record> = r
            .iter()
            .filter(|x| !(status(x) == "Stop" && x["Acct-Session-Id"] == "aa02"))
            .cloned()
            .collect();
        assert!(!all_stopped(&no_stop, &users(&["drill1"])));
    }

    #[test]
    fn the_detail_format_parses_into_records() {
        let r = parse_detail(&good());
        assert_eq!(r.len(), 9);
        assert_eq!(r[0]["Acct-Status-Type"], "Accounting-On");
        assert_eq!(r[1]["Acct-Session-Id"], "aa01");
        assert_eq!(r[1]["User-Name"], "drill1");
        assert_eq!(r[3]["Acct-Input-Octets"], "1000");
        assert_eq!(r[8]["Acct-Status-Type"], "Stop");
    }

    #[test]
    fn a_complete_history_passes_with_a_duplicated_interim() {
        let c = check(&parse_detail(&good()), &users(&["drill1", "drill2"]));
        assert!(c.passed(), "{c:?}");
        assert_eq!(c.sessions, 2);
        assert_eq!((c.lost, c.dup_start, c.dup_stop), (0, 0, 0));
        assert_eq!(c.dup_interim, 1);
        assert_eq!(c.accounting_on, 1);
    }

    #[test]
    fn a_start_retransmitted_with_its_delay_grown_is_not_a_duplicate() {
        let first = rec("Start", "aa02", "drill2", 0, 0);
        // The new active node's copy: only Acct-Delay-Time, the server's
        // Timestamp and the Message-Authenticator differ.
        let again = first.replace(
            "\tTimestamp = 1795510800\n",
            "\tAcct-Delay-Time = 2\n\tMessage-Authenticator = 0x01\n\tTimestamp = 1795510802\n",
        );
        let c = check(
            &parse_detail(&(good() + &again)),
            &users(&["drill1", "drill2"]),
        );
        assert!(c.passed(), "{c:?}");
        assert_eq!((c.dup_start, c.resent), (0, 1));
    }

    #[test]
    fn a_duplicated_start_fails() {
        // A second Start that is another record (another Event-Timestamp).
        let text = good()
            + &rec("Start", "aa02", "drill2", 0, 0).replace(
                "\tTimestamp",
                "\tEvent-Timestamp = \"Nov 24 2026 09:00:03 UTC\"\n\tTimestamp",
            );
        let c = check(&parse_detail(&text), &users(&["drill1", "drill2"]));
        assert!(!c.passed());
        assert_eq!(c.dup_start, 1);
        assert_eq!(c.lost, 0);
    }

    #[test]
    fn a_missing_stop_fails() {
        let text: String = good()
            .split_inclusive("\n\n")
            .filter(|r| !(r.contains("= Stop") && r.contains("aa02")))
            .collect();
        let c = check(&parse_detail(&text), &users(&["drill1", "drill2"]));
        assert!(!c.passed());
        assert_eq!(c.lost, 1);
        assert!(c.problems.iter().any(|p| p.contains("aa02: no Stop")));
    }

    #[test]
    fn a_missing_start_and_a_session_without_records_fail() {
        let text: String = good()
            .split_inclusive("\n\n")
            .filter(|r| !(r.contains("= Start") && r.contains("aa01")))
            .collect();
        let c = check(
            &parse_detail(&text),
            &users(&["drill1", "drill2", "drill3"]),
        );
        // aa01's Start, and drill3's Start and Stop.
        assert_eq!(c.lost, 3);
        assert!(c.problems.iter().any(|p| p.contains("drill3")));
    }

    #[test]
    fn a_changed_session_id_and_a_shared_one_fail() {
        let text =
            good() + &rec("Start", "bb01", "drill1", 0, 0) + &rec("Stop", "bb01", "drill1", 3, 10);
        let c = check(&parse_detail(&text), &users(&["drill1", "drill2"]));
        assert!(c.problems.iter().any(|p| p.contains("2 Acct-Session-Ids")));
        let shared = rec("Start", "cc01", "drill5", 0, 0) + &rec("Stop", "cc01", "drill6", 3, 10);
        let c = check(&parse_detail(&shared), &users(&[]));
        assert!(c.problems.iter().any(|p| p.contains("names 2 users")));
    }

    #[test]
    fn counters_that_go_back_fail() {
        let text = rec("Start", "aa01", "drill1", 0, 0)
            + &rec("Interim-Update", "aa01", "drill1", 10, 5000)
            + &rec("Stop", "aa01", "drill1", 20, 4000);
        let c = check(&parse_detail(&text), &users(&["drill1"]));
        assert!(!c.passed());
        assert!(c.problems.iter().any(|p| p.contains("went back")));
        // The Gigawords count: 1 GiW + 10 is more than 4 000 000 000.
        let mut big = rec("Stop", "aa01", "drill1", 30, 10);
        big = big.replace("Acct-Input-Gigawords = 0", "Acct-Input-Gigawords = 1");
        let r = parse_detail(&big);
        assert_eq!(Counters::of(&r[0]).input_octets, (1 << 32) + 10);
    }

    #[test]
    fn accounting_on_after_a_start_and_any_off_fail() {
        let text = good() + &on();
        let c = check(&parse_detail(&text), &users(&["drill1", "drill2"]));
        assert!(c.problems.iter().any(|p| p.contains("after a Start")));
        let off = good()
            + "Tue Nov 24 09:01:00 2026\n\tAcct-Status-Type = Accounting-Off\n\tTimestamp = 1795510860\n\n";
        let c = check(&parse_detail(&off), &users(&["drill1", "drill2"]));
        assert_eq!(c.accounting_off, 1);
        assert!(!c.passed());
        let none = good().replacen(&on(), "", 1);
        let c = check(&parse_detail(&none), &users(&["drill1", "drill2"]));
        assert_eq!(c.problems, ["no Accounting-On"]);
    }
}
