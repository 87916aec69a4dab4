//! Issue 17 item 1: no input up to the size limits costs more than a small constant
//! factor over a typical input of the same size. Duplicate-name detection used to rescan
//! an object's earlier names, so one object with many distinct names was quadratic.
//!
//! Timings are compared within one run (best of several rounds, so a busy machine
//! slows both sides); the bound is generous, the old code was hundreds of times off.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use xconnauth::dangerous::decode_unverified;
use xconnauth::{Discovery, ErrorKind, KeySet, MAX_JWKS_BYTES, MAX_OBJECT_NAMES};
use xconnauth_testkit::b64url;
use xconnauth_testkit::hostile::{
    discovery_with, few_names, many_names, short_strings, typical_jwks,
};

/// Worst over typical may not exceed this (the old code: 3,800x for a 16 KB token,
/// minutes for a 1 MiB document). Measured after the fix, release build: about 7-11x
/// for the token (the per-name cost of any JSON reader against long strings), 0.1x
/// for a JWKS (typical keys cost RSA set-up) and 5-15x for a discovery document; a
/// debug build on a busy machine doubles the ratios, hence the margin.
const BOUND: f64 = 60.0;

/// The same names in objects of at most 100 members (never the exact check) against
/// one object with all of them: what the duplicate check itself adds.
const CHECK_BOUND: f64 = 8.0;

fn best_of(rounds: u32, mut f: impl FnMut()) -> Duration {
    f();
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn token(payload: &str) -> String {
    let header = br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#;
    format!(
        "{}.{}.{}",
        b64url(header),
        b64url(payload.as_bytes()),
        b64url(&[7u8; 256])
    )
}

const CLAIMS: &str = r#""exp":2000000000,"iss":"https://kc/realms/a","sub":"u""#;

#[test]
fn a_16kb_token_with_many_names_costs_about_what_a_typical_one_does() {
    // 16 KB of token is ~12 KB of payload.
    let worst = token(&many_names(CLAIMS, 11_800, MAX_OBJECT_NAMES));
    let typical = token(&few_names(CLAIMS, 11_800));
    assert!(worst.len() <= 16384 && typical.len() <= 16384);
    assert!(worst.len() * 10 > typical.len() * 9);
    let mut buf = vec![0u8; worst.len().max(typical.len())];
    let mut run = |t: &str| {
        let u = decode_unverified(t.as_bytes(), &mut buf).unwrap();
        black_box(u.claims().unwrap());
    };
    run(&worst);
    let w = best_of(30, || run(&worst));
    let t = best_of(30, || run(&typical));
    let ratio = w.as_secs_f64() / t.as_secs_f64();
    println!("16 KB token: worst {w:?}, typical {t:?}, ratio {ratio:.2}");
    assert!(ratio < BOUND, "worst {w:?} vs typical {t:?}");

    let spread = token(&many_names(CLAIMS, 11_800, 100));
    let s = best_of(30, || run(&spread));
    let ratio = w.as_secs_f64() / s.as_secs_f64();
    println!("16 KB token: worst {w:?}, same names in small objects {s:?}, ratio {ratio:.2}");
    assert!(ratio < CHECK_BOUND, "worst {w:?} vs spread {s:?}");
}

fn jwks(extra: &str) -> String {
    let mut n = [0xA5u8; 256];
    n[0] = 0xC1;
    format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"k","use":"sig","alg":"RS256","n":"{}","e":"AQAB"}}]{extra}}}"#,
        b64url(&n)
    )
}

fn ratio_of(what: &str, bound: f64, worst: &[u8], other: &[u8], parse: impl Fn(&[u8])) {
    let w = best_of(5, || parse(worst));
    let t = best_of(5, || parse(other));
    let ratio = w.as_secs_f64() / t.as_secs_f64();
    println!("1 MiB {what}: worst {w:?}, other {t:?}, ratio {ratio:.2}");
    assert!(ratio < bound, "{what}: worst {w:?} vs {t:?}");
}

#[test]
fn a_1mib_jwks_or_discovery_document_with_many_names_stays_linear() {
    let limit = MAX_JWKS_BYTES - 64;
    let keyset = |doc: &[u8]| {
        black_box(KeySet::from_jwks(doc).map_err(|e| e.to_string()).unwrap());
    };
    // One member holding the most distinct names a document of that size can.
    let worst = jwks(&format!(
        r#","extra":{}"#,
        many_names(r#""x":0"#, limit - 400, usize::MAX)
    ));
    let spread = jwks(&format!(
        r#","extra":{}"#,
        many_names(r#""x":0"#, limit - 400, 100)
    ));
    assert!(worst.len() <= MAX_JWKS_BYTES && spread.len() <= MAX_JWKS_BYTES);
    let typical = typical_jwks(limit);
    let (worst, spread, typical) = (worst.as_bytes(), spread.as_bytes(), typical.as_bytes());
    ratio_of("JWKS vs typical", BOUND, worst, typical, keyset);
    ratio_of("JWKS vs small objects", CHECK_BOUND, worst, spread, keyset);

    let disco = |body: &str| discovery_with("https://kc/realms/a", body);
    let parse = |doc: &[u8]| {
        black_box(Discovery::parse(doc).unwrap());
    };
    let worst = disco(&many_names(r#""x":0"#, limit - 100, usize::MAX));
    let spread = disco(&many_names(r#""x":0"#, limit - 100, 100));
    let typical = disco(&short_strings(r#""x":0"#, limit - 100));
    ratio_of("discovery vs typical", BOUND, &worst, &typical, parse);
    ratio_of(
        "discovery vs small objects",
        CHECK_BOUND,
        &worst,
        &spread,
        parse,
    );
}

#[test]
fn a_token_object_beyond_the_member_cap_is_too_large_not_truncated() {
    let object = |n: usize| {
        let mut s = String::from("{");
        s.push_str(CLAIMS);
        for i in 3..n {
            write!(s, ",\"m{i}\":0").unwrap();
        }
        s.push('}');
        s
    };
    let mut buf = vec![0u8; 32768];
    let at_cap = token(&object(MAX_OBJECT_NAMES));
    let u = decode_unverified(at_cap.as_bytes(), &mut buf).unwrap();
    assert!(u.claims().unwrap().get("m1023").is_some());
    let over = token(&object(MAX_OBJECT_NAMES + 1));
    let e = decode_unverified(over.as_bytes(), &mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e:?}");
    // Duplicates past the first names are still found, after unescaping.
    let dup = token(&object(MAX_OBJECT_NAMES - 1).replace("}", r#","m\u0031000":1}"#));
    let e = decode_unverified(dup.as_bytes(), &mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadJson, "{e:?}");
}
