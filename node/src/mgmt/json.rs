//! Serde helpers that print the management API's enum-typed fields (i32 in
//! prost) by name in `lnsctl --json`, e.g. `"role": "ROLE_ACTIVE"`; unknown
//! numbers print as numbers.

use serde::Serializer;

use super::pb;

/// `Role` by name.
pub fn role<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
    match pb::Role::try_from(*value) {
        Ok(v) => s.serialize_str(v.as_str_name()),
        Err(_) => s.serialize_i32(*value),
    }
}

/// `ReplyOrigin` by name.
pub fn origin<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
    match pb::ReplyOrigin::try_from(*value) {
        Ok(v) => s.serialize_str(v.as_str_name()),
        Err(_) => s.serialize_i32(*value),
    }
}

/// `SessionState` by name.
pub fn session_state<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
    match pb::SessionState::try_from(*value) {
        Ok(v) => s.serialize_str(v.as_str_name()),
        Err(_) => s.serialize_i32(*value),
    }
}

/// Repeated `CaptureKind` by name.
pub fn capture_kinds<S: Serializer>(values: &[i32], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(values.len()))?;
    for value in values {
        match pb::CaptureKind::try_from(*value) {
            Ok(v) => seq.serialize_element(v.as_str_name())?,
            Err(_) => seq.serialize_element(value)?,
        }
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_print_by_name_in_json() {
        let reply = pb::StatusReply {
            role: pb::Role::Standby as i32,
            origin: 42,
            ..Default::default()
        };
        let json = serde_json::to_value(&reply).expect("serialisable");
        assert_eq!(json["role"], "ROLE_STANDBY");
        assert_eq!(json["origin"], 42);
    }
}
