//! The local users file.
//!
//! Format (one user per line): `user password [ipv4]`, fields separated by
//! spaces or tabs; `#` starts a comment (whole line or after the fields);
//! blank lines are ignored. A user with an address always gets it; the
//! others get an address from the default pool. User names are compared
//! byte for byte; passwords cannot contain spaces or `#`.
//!
//! ```text
//! # name     password     [address]
//! alice      wonderland
//! bob        builder      100.64.9.9
//! ```
//!
//! Contract: [`Users::parse`] reports the first bad line by number;
//! [`Users::check`] answers a PAP or CHAP proof (`None`: user unknown, ask
//! the next backend). `Debug` never shows a password.

use crate::engine::{AddressGrant, AuthOutcome, Grant};
use lns_proto::ppp::chap::md5_response;
use lns_proto::ppp::AuthRequest;
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

/// A syntax error in the users file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("users file line {line}: {message}")]
pub struct UsersError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    password: Vec<u8>,
    ipv4: Option<Ipv4Addr>,
}

/// The parsed users file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Users {
    users: BTreeMap<Vec<u8>, Entry>,
}

impl Users {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Users, UsersError> {
        let mut users = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("");
            let fields: Vec<&str> = line.split_whitespace().collect();
            let err = |message: String| UsersError {
                line: i + 1,
                message,
            };
            let (name, password, ipv4) = match fields.as_slice() {
                [] => continue,
                [_] => return Err(err("a password is required after the user name".into())),
                [n, p] => (*n, *p, None),
                [n, p, a] => {
                    let a: Ipv4Addr = a
                        .parse()
                        .map_err(|_| err(format!("{a:?} is not an IPv4 address")))?;
                    (*n, *p, Some(a))
                }
                _ => return Err(err("expected `user password [ipv4]`".into())),
            };
            let entry = Entry {
                password: password.as_bytes().to_vec(),
                ipv4,
            };
            if users.insert(name.as_bytes().to_vec(), entry).is_some() {
                return Err(err(format!("user {name:?} is listed twice")));
            }
        }
        Ok(Users { users })
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file lists nobody.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks a PAP password or a CHAP response; `None` if the user is not
    /// in the file.
    pub fn check(&self, proof: &AuthRequest) -> Option<AuthOutcome> {
        let name = match proof {
            AuthRequest::Pap { name, .. } | AuthRequest::Chap { name, .. } => name,
        };
        let entry = self.users.get(name)?;
        let ok = match proof {
            AuthRequest::Pap { password, .. } => constant_time_eq(password, &entry.password),
            AuthRequest::Chap {
                identifier,
                challenge,
                response,
                ..
            } => constant_time_eq(
                response,
                &md5_response(*identifier, &entry.password, challenge),
            ),
        };
        Some(if ok {
            AuthOutcome::Accept(Grant {
                address: entry
                    .ipv4
                    .map_or(AddressGrant::Pool(None), AddressGrant::Fixed),
                ..Grant::default_pool()
            })
        } else {
            AuthOutcome::Reject
        })
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("count", &self.users.len())
            .finish()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# test users\nalice wonderland\n\nbob\tbuilder   100.64.9.9  # static\n";

    fn pap(name: &str, pw: &str) -> AuthRequest {
        AuthRequest::Pap {
            name: name.into(),
            password: pw.into(),
        }
    }

    #[test]
    fn parses_comments_blank_lines_and_static_addresses() {
        let u = Users::parse(FILE).expect("valid");
        assert_eq!(u.len(), 2);
        let Some(AuthOutcome::Accept(g)) = u.check(&pap("bob", "builder")) else {
            panic!("bob accepted");
        };
        assert_eq!(g.address, AddressGrant::Fixed(Ipv4Addr::new(100, 64, 9, 9)));
        let Some(AuthOutcome::Accept(g)) = u.check(&pap("alice", "wonderland")) else {
            panic!("alice accepted");
        };
        assert_eq!(g.address, AddressGrant::Pool(None));
    }

    #[test]
    fn wrong_password_is_rejected_and_unknown_user_is_not_ours() {
        let u = Users::parse(FILE).expect("valid");
        assert_eq!(
            u.check(&pap("alice", "wonderlanD")),
            Some(AuthOutcome::Reject)
        );
        assert_eq!(u.check(&pap("carol", "x")), None);
    }

    #[test]
    fn chap_response_is_checked_against_the_password() {
        let u = Users::parse(FILE).expect("valid");
        let challenge = vec![0x5a; 16];
        let good = AuthRequest::Chap {
            name: b"alice".to_vec(),
            identifier: 0x2a,
            challenge: challenge.clone(),
            response: md5_response(0x2a, b"wonderland", &challenge).to_vec(),
        };
        assert!(matches!(u.check(&good), Some(AuthOutcome::Accept(_))));
        let bad = AuthRequest::Chap {
            name: b"alice".to_vec(),
            identifier: 0x2b,
            challenge: challenge.clone(),
            response: md5_response(0x2a, b"wonderland", &challenge).to_vec(),
        };
        assert_eq!(u.check(&bad), Some(AuthOutcome::Reject));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Users::parse("alice pw\nbob\n").map(|_| ()),
            Err(UsersError {
                line: 2,
                message: "a password is required after the user name".into()
            })
        );
        assert_eq!(Users::parse("a b 300.1.1.1").map_err(|e| e.line), Err(1));
        assert_eq!(Users::parse("a b\na c").map_err(|e| e.line), Err(2));
    }

    #[test]
    fn debug_hides_passwords() {
        let u = Users::parse(FILE).expect("valid");
        assert!(!format!("{u:?}").contains("wonderland"));
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "(?s).{0,300}") {
            let _ = Users::parse(&text);
        }
    }
}
