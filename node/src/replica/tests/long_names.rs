//! Issue 5 kept short strings inline (`InlineBytes`, up to 22 bytes) and
//! boxes longer ones: a session whose user name is longer than that is
//! snapshotted and restored exactly like a short one.

use super::*;

#[test]
fn long_and_short_user_names_restore_exactly() {
    let long = "a-subscriber-name-longer-than-22@example.net";
    let mut d = Driver::new();
    let a = d.dial(long);
    let b = d.dial("bob");
    d.advance(Duration::from_secs(5));
    let user = |r: &Replica, k: SessionKey| r.engine().session(k).map(|s| s.user.to_vec());
    assert_eq!(user(&d.replica, a), Some(long.as_bytes().to_vec()));
    assert!(d.replica.engine().session(a).expect("a").user.is_boxed());
    assert!(!d.replica.engine().session(b).expect("b").user.is_boxed());
    let snapshot = d.replica.snapshot_bytes();
    let mut restored = Replica::new(config(), None);
    restored
        .restore_bytes(d.log.len() as u64, &snapshot)
        .expect("restores");
    assert_eq!(restored.snapshot_bytes(), snapshot, "restore is exact");
    for k in [a, b] {
        let (was, now) = (
            d.replica.engine().session(k).expect("live"),
            restored.engine().session(k).expect("restored"),
        );
        assert_eq!(now.link, was.link, "{k}: the PPP link restored equal");
        assert_eq!(
            (&now.user, &now.stations, now.peer_session_id),
            (&was.user, &was.stations, was.peer_session_id),
            "{k}"
        );
    }
    assert_eq!(user(&restored, a), Some(long.as_bytes().to_vec()));
}
