//! The C API called from Rust, with the example Keycloak realm. The C programs in
//! `tests/c/` cover the same ground through the real shared and static libraries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use core::ffi::{c_char, CStr};
use core::ptr;

use crate::*;

const NOW: i64 = 1_764_000_000;

fn example(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/keycloak/");
    std::fs::read(format!("{path}{name}")).expect("examples/keycloak is part of the repo")
}

fn token() -> Vec<u8> {
    let mut t = example("token.jwt");
    t.retain(|b| !b.is_ascii_whitespace());
    t
}

struct Handle(*mut xca_verifier);

impl Drop for Handle {
    fn drop(&mut self) {
        xca_verifier_free(self.0);
    }
}

fn new_verifier(policy: &[u8]) -> Result<Handle, xca_status> {
    let jwks = example("jwks.json");
    let mut v = ptr::null_mut();
    match xca_verifier_new(
        jwks.as_ptr(),
        jwks.len(),
        policy.as_ptr(),
        policy.len(),
        &mut v,
    ) {
        XCA_OK => Ok(Handle(v)),
        s => {
            assert!(v.is_null(), "out written on failure");
            Err(s)
        }
    }
}

fn example_verifier() -> Handle {
    new_verifier(&example("policy.json")).unwrap()
}

fn verify(v: &Handle, token: &[u8], now: i64) -> (xca_status, Option<String>) {
    let mut buf = vec![0u8; 8192];
    let mut len = usize::MAX;
    let s = xca_verify(
        v.0,
        token.as_ptr(),
        token.len(),
        now,
        buf.as_mut_ptr(),
        buf.len(),
        &mut len,
    );
    if s == XCA_OK {
        (s, Some(String::from_utf8(buf[..len].to_vec()).unwrap()))
    } else {
        assert_eq!(len, usize::MAX, "claims_len written on failure");
        (s, None)
    }
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 512];
    let mut len = 0;
    assert_eq!(
        xca_last_error_message(buf.as_mut_ptr(), buf.len(), &mut len),
        XCA_OK
    );
    // SAFETY: the call wrote a NUL-terminated string into `buf`.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(s.to_bytes().len(), len);
    s.to_str().unwrap().to_string()
}

fn name(status: xca_status) -> &'static str {
    // SAFETY: xca_status_name returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(xca_status_name(status)) }
        .to_str()
        .unwrap()
}

#[test]
fn verifies_the_example_token() {
    let v = example_verifier();
    let (s, claims) = verify(&v, &token(), NOW);
    assert_eq!(s, XCA_OK, "{}", last_error());
    assert!(claims.unwrap().contains("\"azp\":\"demo-client\""));
    assert_eq!(last_error(), "");

    let (s, _) = verify(&v, &token(), NOW + 100_000);
    assert_eq!(name(s), "expired");
    assert_eq!(last_error(), "expired: the token has expired");

    let mut tampered = example("tampered.jwt");
    tampered.retain(|b| !b.is_ascii_whitespace());
    assert_eq!(verify(&v, &tampered, NOW).0, XCA_BAD_SIGNATURE);
    assert_eq!(verify(&v, b"a.b", NOW).0, XCA_MALFORMED);
    assert_eq!(verify(&v, b"", NOW).0, XCA_MALFORMED);
    // The system clock is far past the example token's expiry.
    assert_eq!(verify(&v, &token(), -1).0, XCA_EXPIRED);
}

#[test]
fn size_query_and_verdict_only() {
    let v = example_verifier();
    let t = token();
    let mut len = 0;
    let s = xca_verify(v.0, t.as_ptr(), t.len(), NOW, ptr::null_mut(), 0, &mut len);
    assert_eq!(s, XCA_BUFFER_TOO_SMALL);
    let needed = len;
    assert!(needed > 100);
    let mut small = vec![0xAAu8; needed - 1];
    let mut len2 = 0;
    let s = xca_verify(
        v.0,
        t.as_ptr(),
        t.len(),
        NOW,
        small.as_mut_ptr(),
        small.len(),
        &mut len2,
    );
    assert_eq!((s, len2), (XCA_BUFFER_TOO_SMALL, needed));
    assert!(
        small.iter().all(|b| *b == 0xAA),
        "buffer written on failure"
    );
    let mut exact = vec![0u8; needed];
    let s = xca_verify(
        v.0,
        t.as_ptr(),
        t.len(),
        NOW,
        exact.as_mut_ptr(),
        exact.len(),
        &mut len2,
    );
    assert_eq!((s, len2), (XCA_OK, needed));
    // Verdict only.
    let s = xca_verify(
        v.0,
        t.as_ptr(),
        t.len(),
        NOW,
        ptr::null_mut(),
        0,
        ptr::null_mut(),
    );
    assert_eq!(s, XCA_OK);
    // An invalid token reports its category, not the buffer problem.
    let s = xca_verify(
        v.0,
        t.as_ptr(),
        t.len(),
        NOW + 100_000,
        ptr::null_mut(),
        0,
        &mut len,
    );
    assert_eq!(s, XCA_EXPIRED);
}

#[test]
fn null_and_garbage_arguments() {
    let v = example_verifier();
    let t = token();
    let mut buf = [0u8; 16];
    let mut len = 0;
    let null_v = ptr::null();
    assert_eq!(
        xca_verify(
            null_v,
            t.as_ptr(),
            t.len(),
            NOW,
            ptr::null_mut(),
            0,
            &mut len
        ),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verify(v.0, ptr::null(), 0, NOW, ptr::null_mut(), 0, &mut len),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verify(v.0, t.as_ptr(), t.len(), NOW, ptr::null_mut(), 5, &mut len),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verify(
            v.0,
            t.as_ptr(),
            t.len(),
            NOW,
            buf.as_mut_ptr(),
            buf.len(),
            ptr::null_mut()
        ),
        XCA_NULL_ARGUMENT
    );
    assert!(last_error().starts_with("null_argument: "));
    // A length no buffer can have is never read.
    assert_eq!(
        xca_verify(
            v.0,
            t.as_ptr(),
            usize::MAX,
            NOW,
            ptr::null_mut(),
            0,
            &mut len
        ),
        XCA_TOO_LARGE
    );
    let jwks = example("jwks.json");
    let policy = example("policy.json");
    let mut out = ptr::null_mut();
    assert_eq!(
        xca_verifier_new(ptr::null(), 0, policy.as_ptr(), policy.len(), &mut out),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verifier_new(jwks.as_ptr(), jwks.len(), ptr::null(), 0, &mut out),
        XCA_INVALID_CONFIG
    );
    assert_eq!(
        xca_verifier_new(jwks.as_ptr(), jwks.len(), ptr::null(), 3, &mut out),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verifier_new(
            jwks.as_ptr(),
            jwks.len(),
            policy.as_ptr(),
            policy.len(),
            ptr::null_mut()
        ),
        XCA_NULL_ARGUMENT
    );
    assert!(out.is_null());
    assert_eq!(
        xca_verifier_set_jwks(ptr::null_mut(), jwks.as_ptr(), jwks.len()),
        XCA_NULL_ARGUMENT
    );
    xca_verifier_free(ptr::null_mut());
}

#[test]
fn invalid_configuration() {
    for policy in [
        &br#"{"issuer":"x"}"#[..],
        br#"{}"#,
        br#"{"issuers":"x","algorithms":["HS256"]}"#,
        // DESIGN §4 floors.
        br#"{"issuers":"x","min_rsa_bits":16}"#,
        br#"{"issuers":"x","min_rsa_bits":2047}"#,
        br#"{"issuers":"x","max_rsa_bits":16385}"#,
        br#"{"issuers":"x","min_rsa_bits":4096,"max_rsa_bits":3072}"#,
        b"not json",
        b"",
    ] {
        assert_eq!(new_verifier(policy).err(), Some(XCA_INVALID_CONFIG));
        assert!(last_error().starts_with("invalid_config: policy"));
    }
    let policy = example("policy.json");
    let mut out = ptr::null_mut();
    let no_rsa = br#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#;
    assert_eq!(
        xca_verifier_new(
            no_rsa.as_ptr(),
            no_rsa.len(),
            policy.as_ptr(),
            policy.len(),
            &mut out
        ),
        XCA_INVALID_CONFIG
    );
    assert!(out.is_null());
}

#[test]
fn failed_swap_keeps_the_old_keys() {
    let v = example_verifier();
    let bad = b"{\"keys\":[]}";
    assert_eq!(
        xca_verifier_set_jwks(v.0, bad.as_ptr(), bad.len()),
        XCA_INVALID_CONFIG
    );
    assert_eq!(verify(&v, &token(), NOW).0, XCA_OK);
    let jwks = example("jwks.json");
    assert_eq!(
        xca_verifier_set_jwks(v.0, jwks.as_ptr(), jwks.len()),
        XCA_OK
    );
    assert_eq!(verify(&v, &token(), NOW).0, XCA_OK);
}

#[test]
fn authorization_header() {
    let v = example_verifier();
    let mut value = b"bearer  ".to_vec();
    value.extend(token());
    let mut len = 0;
    let s = xca_verify_header(
        v.0,
        value.as_ptr(),
        value.len(),
        NOW,
        ptr::null_mut(),
        0,
        &mut len,
    );
    assert_eq!(s, XCA_BUFFER_TOO_SMALL);
    for bad in [&b"Basic dXNlcjpwdw=="[..], b"Bearer", b"Bearer\t\xff.a.b"] {
        let s = xca_verify_header(
            v.0,
            bad.as_ptr(),
            bad.len(),
            NOW,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        );
        assert_eq!(s, XCA_MALFORMED);
    }
}

/// The bytes after `Bearer ` get exactly the verdict `xca_verify` gives them, also when
/// they are not UTF-8 (a lone 0xC3 was `malformed` here and `bad_base64` /
/// `bad_signature` through every other surface).
#[test]
fn authorization_header_judges_token_bytes_like_verify() {
    let v = example_verifier();
    let good = token();
    let dots: Vec<usize> = (0..good.len()).filter(|&i| good[i] == b'.').collect();
    let mut cases: Vec<Vec<u8>> =
        vec![b"\xc3.a.b".to_vec(), b"\xff".to_vec(), b"a.b.\xc3".to_vec()];
    // A lone 0xC3 in the header, the payload and the signature segment of a real token.
    for at in [
        dots[0] / 2,
        (dots[0] + dots[1]) / 2,
        (dots[1] + good.len()) / 2,
    ] {
        let mut t = good.clone();
        t[at] = 0xC3;
        cases.push(t);
    }
    for t in cases {
        let (direct, _) = verify(&v, &t, NOW);
        let mut value = b"Bearer ".to_vec();
        value.extend(&t);
        let mut buf = vec![0u8; 8192];
        let mut len = 0;
        let via_header = xca_verify_header(
            v.0,
            value.as_ptr(),
            value.len(),
            NOW,
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
        );
        assert_ne!(direct, XCA_OK);
        assert_eq!(name(via_header), name(direct), "token {t:?}");
    }
}

fn text(f: impl Fn(*mut c_char, usize, *mut usize) -> xca_status) -> (xca_status, String) {
    let mut len = 0;
    let s = f(ptr::null_mut(), 0, &mut len);
    if s != XCA_BUFFER_TOO_SMALL {
        return (s, String::new());
    }
    let mut buf = vec![1 as c_char; len + 1];
    let mut len2 = 0;
    assert_eq!(f(buf.as_mut_ptr(), len, &mut len2), XCA_BUFFER_TOO_SMALL);
    assert_eq!(len2, len);
    let s = f(buf.as_mut_ptr(), buf.len(), &mut len2);
    assert_eq!(len2, len);
    assert_eq!(buf[len], 0);
    let bytes: Vec<u8> = buf[..len].iter().map(|c| *c as u8).collect();
    (s, String::from_utf8(bytes).unwrap())
}

#[test]
fn http_answers() {
    let (s, v) = text(|o, c, l| xca_www_authenticate(XCA_EXPIRED, c"demo".as_ptr(), o, c, l));
    assert_eq!(s, XCA_OK);
    assert_eq!(
        v,
        r#"Bearer realm="demo", error="invalid_token", error_description="Token expired""#
    );
    let (s, v) = text(|o, c, l| xca_www_authenticate(XCA_MISSING_SCOPE, ptr::null(), o, c, l));
    assert_eq!(s, XCA_OK);
    assert!(v.contains("insufficient_scope"));
    let next = u32::try_from(xconnauth_core::ErrorKind::ALL.len()).unwrap() + 1;
    for bad in [XCA_OK, XCA_PANIC, next, 9999] {
        let (s, _) = text(|o, c, l| xca_www_authenticate(bad, ptr::null(), o, c, l));
        assert_eq!(s, XCA_INVALID_ARGUMENT);
    }
    // 503: a bare challenge (RFC 6750 has no error code for it), the reason in the body.
    let (s, v) =
        text(|o, c, l| xca_www_authenticate(XCA_KEYS_UNAVAILABLE, c"demo".as_ptr(), o, c, l));
    assert_eq!(s, XCA_OK);
    assert_eq!(v, r#"Bearer realm="demo""#);
    let (s, v) =
        text(|o, c, l| xca_problem_json(XCA_KEYS_UNAVAILABLE, ptr::null(), ptr::null(), o, c, l));
    assert_eq!(s, XCA_OK);
    assert!(v.contains(r#""status":503"#) && v.ends_with(r#""error":"keys_unavailable"}"#));
    assert_eq!(xca_http_status(XCA_KEYS_UNAVAILABLE), 503);
    let (s, v) = text(|o, c, l| {
        xca_problem_json(
            XCA_MISSING_ROLE,
            c"urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb".as_ptr(),
            c"/orders/\"1\"\n".as_ptr(),
            o,
            c,
            l,
        )
    });
    assert_eq!(s, XCA_OK);
    assert_eq!(
        v,
        r#"{"type":"urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb","title":"Insufficient role","status":403,"detail":"Insufficient role","instance":"/orders/\"1\"\n","error":"missing_role"}"#
    );
    // Escaping-heavy input: every byte becomes \u00XX.
    let nasty: Vec<u8> = (1u8..32).cycle().take(3000).chain([0]).collect();
    let (s, v) =
        text(|o, c, l| xca_problem_json(XCA_EXPIRED, ptr::null(), nasty.as_ptr().cast(), o, c, l));
    assert_eq!(s, XCA_OK);
    assert!(v.len() > 3000 * 2 && v.ends_with(r#""error":"expired"}"#));
    let (s, _) =
        text(|o, c, l| xca_problem_json(XCA_EXPIRED, c"\xff".as_ptr(), ptr::null(), o, c, l));
    assert_eq!(s, XCA_INVALID_UTF8);
    assert_eq!(xca_http_status(XCA_WRONG_AUDIENCE), 401);
}

#[test]
fn version_and_names() {
    // SAFETY: static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(xca_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(name(XCA_OK), "ok");
    assert_eq!(name(XCA_MISSING_ROLE), "missing_role");
    assert_eq!(name(12345), "unknown");
}

fn new_remote(policy: &[u8], options: Option<&[u8]>) -> Result<Handle, xca_status> {
    let mut v = ptr::null_mut();
    let (o, ol) = options.map_or((ptr::null(), 0), |o| (o.as_ptr(), o.len()));
    match xca_verifier_new_remote(policy.as_ptr(), policy.len(), o, ol, &mut v) {
        XCA_OK => Ok(Handle(v)),
        s => {
            assert!(v.is_null(), "out written on failure");
            Err(s)
        }
    }
}

fn status_json(v: &Handle) -> String {
    let (s, text) = text(|b, c, l| xca_verifier_status_json(v.0, b, c, l));
    assert_eq!(s, XCA_OK);
    text
}

#[test]
fn remote_verifier_down_at_start() {
    // Nothing listens on port 9 of loopback: the issuer is down.
    let policy = br#"{"issuers":"http://127.0.0.1:9/realms/demo"}"#;
    let v = new_remote(policy, Some(br#"{"timeout":0.5,"refresh_cooldown":60}"#)).unwrap();
    assert!(status_json(&v).contains(r#""fetch_count":0"#));
    let started = std::time::Instant::now();
    let (s, _) = verify(&v, &token(), 1_764_000_000);
    assert_eq!(name(s), "keys_unavailable");
    assert_eq!(xca_http_status(s), 503);
    assert!(
        last_error().starts_with("keys_unavailable: "),
        "{}",
        last_error()
    );
    assert_eq!(name(xca_verifier_refresh(v.0)), "keys_unavailable");
    assert!(last_error().contains("127.0.0.1:9"), "{}", last_error());
    // Two fetches at most, each within the 0.5 s deadline (plus wake-up slack).
    // Generous for a loaded 2-core CI machine; a missing deadline would take minutes.
    assert!(started.elapsed() < std::time::Duration::from_millis(3000));
    let status: serde_json::Value = serde_json::from_str(&status_json(&v)).unwrap();
    assert_eq!(status["remote"], true);
    let iss = &status["issuers"][0];
    assert_eq!(iss["issuer"], "http://127.0.0.1:9/realms/demo");
    assert!(iss["last_error"].is_string() && iss["last_success"].is_null());
    assert_eq!(iss["kids"], serde_json::json!([]));
    assert!(iss["fetch_count"].as_u64().unwrap() >= 1);
    // Header verification goes through the engine too.
    let header = [b"Bearer ".as_slice(), &token()].concat();
    let s = xca_verify_header(
        v.0,
        header.as_ptr(),
        header.len(),
        1_764_000_000,
        ptr::null_mut(),
        0,
        ptr::null_mut(),
    );
    assert_eq!(name(s), "keys_unavailable");
    // With fail_fast the constructor itself fails.
    let e = new_remote(policy, Some(br#"{"timeout":0.2,"fail_fast":true}"#)).err();
    assert_eq!(e.map(name), Some("keys_unavailable"));
}

#[test]
fn remote_verifier_arguments_and_misuse() {
    let policy = br#"{"issuers":"https://sso.example.com/realms/demo"}"#;
    let v = new_remote(policy, None).unwrap();
    let jwks = example("jwks.json");
    assert_eq!(
        xca_verifier_set_jwks(v.0, jwks.as_ptr(), jwks.len()),
        XCA_INVALID_ARGUMENT
    );
    assert!(
        last_error().contains("xca_verifier_refresh"),
        "{}",
        last_error()
    );
    for bad in [
        &br#"{"timeuot":1}"#[..],
        b"[]",
        b"not json",
        br#"{"timeout":-1}"#,
    ] {
        assert_eq!(
            new_remote(policy, Some(bad)).err(),
            Some(XCA_INVALID_CONFIG)
        );
    }
    assert_eq!(
        new_remote(br#"{"issuers":"http://sso.example.com/realms/demo"}"#, None).err(),
        Some(XCA_INVALID_CONFIG),
        "plain http off loopback"
    );
    assert_eq!(new_remote(b"{}", None).err(), Some(XCA_INVALID_CONFIG));
    let mut out = ptr::null_mut();
    assert_eq!(
        xca_verifier_new_remote(ptr::null(), 0, ptr::null(), 0, &mut out),
        XCA_INVALID_CONFIG
    );
    assert_eq!(
        xca_verifier_new_remote(policy.as_ptr(), policy.len(), ptr::null(), 1, &mut out),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verifier_new_remote(
            policy.as_ptr(),
            policy.len(),
            ptr::null(),
            0,
            ptr::null_mut()
        ),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(xca_verifier_refresh(ptr::null_mut()), XCA_NULL_ARGUMENT);
    let mut len = 0;
    assert_eq!(
        xca_verifier_status_json(ptr::null(), ptr::null_mut(), 0, &mut len),
        XCA_NULL_ARGUMENT
    );
    assert_eq!(
        xca_verifier_status_json(v.0, ptr::null_mut(), 0, ptr::null_mut()),
        XCA_NULL_ARGUMENT
    );
    // A local verifier: no refresh; its status says so.
    let local = example_verifier();
    assert_eq!(xca_verifier_refresh(local.0), XCA_INVALID_ARGUMENT);
    assert_eq!(status_json(&local), r#"{"issuers":[],"remote":false}"#);
    // A remote verifier's key sets are in its status, not in the skipped list.
    let mut len = 0;
    assert_eq!(
        xca_verifier_skipped_keys(v.0, ptr::null_mut(), 0, &mut len),
        XCA_INVALID_ARGUMENT
    );
}

fn skipped_keys(v: &Handle) -> String {
    let mut len = 0;
    assert_eq!(
        xca_verifier_skipped_keys(v.0, ptr::null_mut(), 0, &mut len),
        XCA_BUFFER_TOO_SMALL
    );
    let mut buf = vec![0u8; len + 1];
    let mut got = usize::MAX;
    assert_eq!(
        xca_verifier_skipped_keys(v.0, buf.as_mut_ptr(), buf.len(), &mut got),
        XCA_OK
    );
    assert_eq!((got, buf[len]), (len, 0), "length and NUL terminator");
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

/// Issue 17 / DESIGN §5: malformed entries are skipped with their reason, the rest of
/// the set stays usable, and the reasons are readable through the C API.
#[test]
fn malformed_jwks_entries_are_skipped_and_reported() {
    let v = example_verifier();
    let first = skipped_keys(&v);
    assert!(first.starts_with(r#"[{"index":0,"kid":"LdiL-7-yveTQa7g5h11UOGyNKj7NPspxeiWidbHA4n4","reason":"use is \"enc\", not sig"}"#), "{first}");
    assert!(first.contains(r#"{"index":2,"kid":"kBd7BLKZuZ957hvuqs7CaPH2udUOjwOubNv8Oxv2Ac8","reason":"kty is \"EC\", not RSA"}"#), "{first}");

    let jwks = String::from_utf8(example("jwks.json")).unwrap();
    let bad = concat!(
        r#"{"kty":"RSA","use":null,"kid":"u","n":"AQAB","e":"AQAB"},"#,
        r#"{"kty":"RSA","kid":7,"n":"AQAB","e":"AQAB"},"#,
        r#"{"kty":"RSA","kid":"pad","n":"AQAB==","e":"AQAB"},"#,
        r#"{"kty":"RSA","kid":"no-e","n":"AQAB"},"#,
        r#""not a key","#,
    );
    let mixed = jwks.replacen("[", &format!("[{bad}"), 1);
    assert_eq!(
        xca_verifier_set_jwks(v.0, mixed.as_ptr(), mixed.len()),
        XCA_OK,
        "{}",
        last_error()
    );
    assert_eq!(verify(&v, &token(), NOW).0, XCA_OK);
    let listed = skipped_keys(&v);
    for want in [
        r#"{"index":0,"kid":"u","reason":"\"use\" is a null, not a string"}"#,
        r#"{"index":1,"kid":null,"reason":"\"kid\" is a number, not a string"}"#,
        r#"{"index":2,"kid":"pad","reason":"\"n\" is not unpadded base64url"}"#,
        r#"{"index":3,"kid":"no-e","reason":"missing \"e\""}"#,
        r#"{"index":4,"kid":null,"reason":"the entry is a string, not an object"}"#,
    ] {
        assert!(listed.contains(want), "{want} not in {listed}");
    }
    // Only bad entries: the whole set is refused, and the old keys stay.
    let only_bad = format!("{{\"keys\":[{}]}}", bad.trim_end_matches(','));
    assert_eq!(
        xca_verifier_set_jwks(v.0, only_bad.as_ptr(), only_bad.len()),
        XCA_INVALID_CONFIG
    );
    assert!(last_error().contains("missing \"e\""), "{}", last_error());
    assert_eq!(skipped_keys(&v), listed);
    assert_eq!(
        xca_verifier_skipped_keys(ptr::null(), ptr::null_mut(), 0, ptr::null_mut()),
        XCA_NULL_ARGUMENT
    );
}
