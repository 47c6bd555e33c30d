//! The scheduling-policy check of a cluster member. Contract: a member
//! that starts under a realtime policy (SCHED_FIFO or SCHED_RR) logs a
//! warning naming the policy: the storage library (sled) busy-waits in a
//! few places, and a realtime thread spinning there never lets the thread
//! it waits for run (two livelocks seen on the test machine, RUNBOOK
//! "Cluster configuration and signals"). Read from `/proc/self/stat`, no
//! system call of our own.

/// Logs a warning when this process runs under a realtime policy.
pub fn warn_if_realtime() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    if let Some(policy) = realtime_policy(&stat) {
        tracing::warn!(
            policy,
            "cluster member started under a realtime scheduling policy: the storage library \
             busy-waits and can livelock; run cluster members under SCHED_OTHER (nice is safe)"
        );
    }
}

/// The realtime policy named by a `/proc/PID/stat` line, if any. The
/// policy is field 41 (proc(5)); the command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn realtime_policy(stat: &str) -> Option<&'static str> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3.
    match rest.split_whitespace().nth(41 - 3)? {
        "1" => Some("SCHED_FIFO"),
        "2" => Some("SCHED_RR"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::realtime_policy;

    /// A stat line with `policy` in field 41 and an awkward command name.
    fn stat(policy: u32) -> String {
        let mut fields: Vec<String> = (3..=52).map(|i| i.to_string()).collect();
        fields[41 - 3] = policy.to_string();
        format!("4242 (ln sd) x) {}", fields.join(" "))
    }

    #[test]
    fn fifo_and_rr_are_named_other_policies_are_not() {
        assert_eq!(realtime_policy(&stat(1)), Some("SCHED_FIFO"));
        assert_eq!(realtime_policy(&stat(2)), Some("SCHED_RR"));
        for p in [0, 3, 5] {
            assert_eq!(realtime_policy(&stat(p)), None, "policy {p}");
        }
        assert_eq!(realtime_policy("garbage"), None);
        assert_eq!(realtime_policy("1 (x) R 1 2"), None);
    }

    #[test]
    fn this_process_stat_parses() {
        let own = std::fs::read_to_string("/proc/self/stat").expect("procfs");
        let after = &own[own.rfind(')').expect("comm") + 1..];
        assert!(after.split_whitespace().nth(41 - 3).is_some());
    }
}
