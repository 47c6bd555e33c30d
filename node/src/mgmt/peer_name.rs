//! Who a TCP management client is, in words that are safe to log (the
//! audit trail, `mgmt::audit`).
//!
//! Contract: [`token_id`] names a bearer token by the first 8 hex digits
//! of its SHA-256 (`sha256:1a2b3c4d`): operators tell their tokens apart
//! (`printf %s "$TOKEN" | sha256sum | cut -c1-8`) and the log never holds
//! the token. [`subject`] renders the subject of a client certificate (DER)
//! as an RFC 4514 string (`CN=ops,O=FFDN`, the last RDN first), reading
//! only the DER it needs (X.509, RFC 5280 §4.1); anything unreadable gives
//! `None`, never a panic. Control characters, backslashes and commas in
//! values are escaped, so a certificate cannot forge a log line.

use ring::digest::{digest, SHA256};

/// The identifier of a bearer token: `sha256:` and the first 8 hex
/// digits of its SHA-256.
pub fn token_id(token: &[u8]) -> String {
    let d = digest(&SHA256, token);
    let hex: String = d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The subject of the DER certificate `cert`, RFC 4514 style, or `None`
/// if it cannot be read (or is empty).
pub fn subject(cert: &[u8]) -> Option<String> {
    // RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, ... }
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional (absent in v1 certificates).
    if let Some((0xa0, _, after)) = tlv(rest) {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, then subject.
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (name, _) = expect(rest, SEQUENCE)?;
    let mut rdns = Vec::new();
    let mut left = name;
    // Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF
    // AttributeTypeAndValue).
    while !left.is_empty() {
        let (set, after) = expect(left, SET)?;
        left = after;
        let mut parts = Vec::new();
        let mut atvs = set;
        while !atvs.is_empty() {
            let (atv, after) = expect(atvs, SEQUENCE)?;
            atvs = after;
            let (oid, value) = expect(atv, OID)?;
            let (tag, content, _) = tlv(value)?;
            parts.push(format!("{}={}", attribute(oid), text(tag, content)));
        }
        rdns.push(parts.join("+"));
    }
    // RFC 4514 §2.1: the last RDN of the sequence comes first.
    rdns.reverse();
    let s = rdns.join(",");
    (!s.is_empty()).then_some(s)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// One DER TLV (low tag numbers, definite lengths up to 4 bytes): (tag,
/// content, what follows).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// A TLV of tag `want`: (content, what follows).
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (tag, content, rest) if tag == want => Some((content, rest)),
        _ => None,
    }
}

/// The short name of an attribute type (RFC 4514 §3), or its dotted OID.
fn attribute(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID".into(),
        _ => dotted(oid),
    }
}

/// An OID in dotted form (X.690 §8.19).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A directory string's text, escaped; other types as `#` and hex (RFC
/// 4514 §2.4).
fn text(tag: u8, content: &[u8]) -> String {
    let decoded = match tag {
        // UTF8String, PrintableString, IA5String, VisibleString.
        0x0c | 0x13 | 0x16 | 0x1a => Some(String::from_utf8_lossy(content).into_owned()),
        // TeletexString, read as Latin-1 as most software does.
        0x14 => Some(content.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UTF-16BE.
        0x1e if content.len() % 2 == 0 => {
            let units = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    };
    match decoded {
        Some(s) => escape(&s),
        None => {
            let hex: String = content.iter().map(|b| format!("{b:02x}")).collect();
            format!("#{hex}")
        }
    }
}

/// Escapes what would change the meaning of the rendered name or of the
/// log line: `\`, `,`, `+`, `=`, `"` and control characters.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | ',' | '+' | '=' | '"' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(dn: &[(rcgen::DnType, &str)]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), *v);
        }
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn a_client_certificate_is_named_by_its_subject() {
        let der = cert_with(&[
            (rcgen::DnType::CountryName, "FR"),
            (rcgen::DnType::OrganizationName, "FFDN"),
            (rcgen::DnType::CommonName, "noc-alice"),
        ]);
        assert_eq!(subject(&der).as_deref(), Some("CN=noc-alice,O=FFDN,C=FR"));
    }

    #[test]
    fn a_subject_cannot_forge_a_log_line() {
        let der = cert_with(&[(rcgen::DnType::CommonName, "x\"\nINFO,who=root")]);
        assert_eq!(
            subject(&der).as_deref(),
            Some("CN=x\\\"\\0aINFO\\,who\\=root")
        );
    }

    #[test]
    fn unreadable_certificates_give_none_and_never_panic() {
        let der = cert_with(&[(rcgen::DnType::CommonName, "ops")]);
        for cut in 0..der.len() {
            // Any truncation: None or a name, never a panic.
            let _ = subject(&der[..cut]);
        }
        assert_eq!(subject(&[]), None);
        assert_eq!(subject(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(subject(&[0x1f, 0x00]), None);
    }

    /// Pinned: `printf %s s3cret | sha256sum | cut -c1-8` prints 1ec1c26b
    /// (the RUNBOOK tells operators to match their tokens so).
    #[test]
    fn a_token_is_named_by_a_hash_prefix_never_by_itself() {
        let id = token_id(b"s3cret");
        assert_eq!(id, "sha256:1ec1c26b");
        assert_ne!(id, token_id(b"s3cret2"), "tokens are told apart");
    }

    #[test]
    fn unknown_attributes_are_dotted_oids() {
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        assert_eq!(attribute(&[0x55, 0x04, 0x05]), "2.5.4.5");
    }
}
