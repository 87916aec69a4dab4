//! JSON shaped for worst cases beside typical JSON of the same size, for the linear-time
//! tests and the worst-case benches. `base` is the text of members every document starts
//! with (e.g. `"exp":2000000000,"iss":"..."`), without braces.

use std::fmt::Write as _;

use crate::b64url;

/// Names [`many_names`] never writes: members the documents' `base` may already hold.
const RESERVED: [&str; 12] = [
    "exp", "iss", "sub", "x", "keys", "typ", "aud", "iat", "nbf", "azp", "jti", "kid",
];

/// Distinct short member names: `a`, `b`, ..., `aa`, `ab`, ... (the most names per byte).
#[must_use]
pub fn name(mut i: usize) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    let mut s = String::new();
    loop {
        s.push(ALPHA[i % ALPHA.len()] as char);
        i /= ALPHA.len();
        if i == 0 {
            return s;
        }
        i -= 1;
    }
}

/// An object of `"name":0` members filling about `bytes` bytes, `base` first; at most
/// `per_object` names in one object, the rest in sibling objects of as many (each
/// sibling's own name also counts in the outer object).
#[must_use]
pub fn many_names(base: &str, bytes: usize, per_object: usize) -> String {
    let mut s = String::from("{");
    s.push_str(base);
    let (mut i, mut in_object, mut open) = (0, 4, false);
    while s.len() + 16 < bytes {
        let n = name(i);
        i += 1;
        if RESERVED.contains(&n.as_str()) {
            continue;
        }
        if in_object == per_object {
            if open {
                s.push('}');
            }
            write!(s, ",\"{n}\":{{").unwrap();
            (open, in_object) = (true, 0);
            continue;
        }
        let comma = if open && in_object == 0 { "" } else { "," };
        write!(s, "{comma}\"{n}\":0").unwrap();
        in_object += 1;
    }
    if open {
        s.push('}');
    }
    s.push('}');
    s
}

/// An object of about `bytes` bytes holding one long list of group paths (few names).
#[must_use]
pub fn few_names(base: &str, bytes: usize) -> String {
    let mut s = String::from("{");
    s.push_str(base);
    s.push_str(",\"groups\":[");
    let mut first = true;
    while s.len() + 40 < bytes {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str("\"/realm/group/some-team-name-0123\"");
    }
    s.push_str("]}");
    s
}

/// A Keycloak-like payload of about `bytes`: long lists of realm roles and groups.
#[must_use]
pub fn keycloak_like(base: &str, bytes: usize) -> String {
    let mut s = format!("{{{base},\"realm_access\":{{\"roles\":[\"offline_access\"");
    let mut i = 0;
    while s.len() + 80 < bytes / 2 {
        write!(s, ",\"role-{i:04}-of-this-realm\"").unwrap();
        i += 1;
    }
    s.push_str("]},\"groups\":[\"/top\"");
    while s.len() + 60 < bytes {
        write!(s, ",\"/dept-{i:04}/team-with-a-long-name\"").unwrap();
        i += 1;
    }
    s.push_str("]}");
    s
}

/// A discovery document's typical content at about `bytes`: a list of short strings
/// (`claims_supported` and the like).
#[must_use]
pub fn short_strings(base: &str, bytes: usize) -> String {
    let mut s = String::from("{");
    s.push_str(base);
    s.push_str(",\"claims_supported\":[\"sub\"");
    let mut i = 0;
    while s.len() + 20 < bytes {
        write!(s, ",\"claim_{i}\"").unwrap();
        i += 1;
    }
    s.push_str("]}");
    s
}

/// A JWKS of 2048-bit signing keys (distinct moduli) filling about `bytes` bytes.
#[must_use]
pub fn typical_jwks(bytes: usize) -> String {
    let mut s = String::from(r#"{"keys":["#);
    let mut i = 0u32;
    while s.len() + 600 < bytes {
        let mut n = [0xA5u8; 256];
        n[0] = 0xC1;
        n[1..5].copy_from_slice(&i.to_be_bytes());
        if i > 0 {
            s.push(',');
        }
        write!(
            s,
            r#"{{"kid":"k{i}","kty":"RSA","alg":"RS256","use":"sig","n":"{}","e":"AQAB","x5t":"abcdefghijklmnopqrstuvwxyz0"}}"#,
            b64url(&n)
        )
        .unwrap();
        i += 1;
    }
    s.push_str("]}");
    s
}

/// A discovery document for `issuer` whose other members are those of `object` (an
/// object's text, as the generators above write it).
#[must_use]
pub fn discovery_with(issuer: &str, object: &str) -> Vec<u8> {
    format!(
        r#"{{"issuer":"{issuer}","jwks_uri":"{issuer}/certs",{}"#,
        object.strip_prefix('{').unwrap_or(object)
    )
    .into_bytes()
}
