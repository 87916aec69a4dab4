//! Verifier rules the shared corpus does not reach: every algorithm, multi-realm key
//! binding, rotation, `Authorization` parsing, discovery, HTTP answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use xconnauth::{
    http::{www_authenticate, ProblemDetails, I2_CONNECT_PROBLEM_TYPE},
    Algorithm, Backend, Discovery, ErrorKind, KeySet, Policy, RsaKey, Verifier,
};

const DEMO: &str = "https://sso.example.com/realms/demo";
const OTHER: &str = "https://sso.example.com/realms/other";
const NOW: u64 = 1_764_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn tokens() -> Json {
    serde_json::from_slice(&read("core/tests/data/tokens.json")).unwrap()
}

fn token(name: &str) -> String {
    tokens()[name].as_str().unwrap().to_string()
}

fn demo_keys() -> KeySet {
    KeySet::from_jwks(&read("examples/keycloak/jwks.json")).unwrap()
}

/// The demo realm's keys without their `alg` restriction.
fn demo_keys_any_alg() -> KeySet {
    demo_keys_any_alg_with(Backend::default())
}

fn demo_keys_any_alg_with(backend: Backend) -> KeySet {
    let mut jwks: Json = serde_json::from_slice(&read("examples/keycloak/jwks.json")).unwrap();
    for k in jwks["keys"].as_array_mut().unwrap() {
        k.as_object_mut().unwrap().remove("alg");
    }
    KeySet::from_jwks_with(&serde_json::to_vec(&jwks).unwrap(), backend).unwrap()
}

fn bench_keys() -> KeySet {
    KeySet::from_jwks(&read("benches/data/jwks-2048.json")).unwrap()
}

fn kind(r: Result<xconnauth::VerifiedToken, xconnauth::Error>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

#[test]
fn every_algorithm_verifies_only_when_allowed() {
    for alg in Algorithm::ALL {
        let t = token(alg.name());
        let mut p = Policy::new([DEMO]);
        p.algorithms = vec![alg];
        let v = Verifier::new(demo_keys_any_alg(), p).unwrap();
        let ok = v.verify(t.as_bytes(), NOW).unwrap();
        assert_eq!(ok.header().alg(), alg);
        assert_eq!(ok.claims().sub().unwrap().to_string(), "u1");

        // Allowed list without this algorithm.
        let mut p = Policy::new([DEMO]);
        p.algorithms = Algorithm::ALL.into_iter().filter(|a| *a != alg).collect();
        let v = Verifier::new(demo_keys_any_alg(), p).unwrap();
        assert_eq!(
            kind(v.verify(t.as_bytes(), NOW)),
            Some(ErrorKind::UnsupportedAlg),
            "{alg}"
        );
    }
}

/// Every backend verifies every algorithm, rejects a flipped bit, and really is the
/// one doing the work where it covers the key size.
#[test]
fn every_backend_verifies_every_algorithm() {
    for &backend in Backend::ALL {
        let keys = demo_keys_any_alg_with(backend);
        let key = keys.iter().next().unwrap();
        assert_eq!(key.backend(), backend);
        for alg in Algorithm::ALL {
            // 2048-bit demo key: inside every aws-lc parameter set.
            assert_eq!(key.backend_for(alg), backend, "{alg}");
            let mut p = Policy::new([DEMO]);
            p.algorithms = vec![alg];
            let v = Verifier::new(keys.clone(), p).unwrap();
            let t = token(alg.name());
            assert!(v.verify(t.as_bytes(), NOW).is_ok(), "{alg} [{backend}]");
            let (rest, sig) = t.rsplit_once('.').unwrap();
            let mut sig = sig.as_bytes().to_vec();
            sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
            let bad = format!("{rest}.{}", String::from_utf8(sig).unwrap());
            assert_eq!(
                kind(v.verify(bad.as_bytes(), NOW)),
                Some(ErrorKind::BadSignature),
                "{alg} [{backend}]"
            );
        }
    }
}

/// Sizes outside aws-lc's parameter sets fall back to the pure-Rust code, which still
/// verifies them (the policy decides whether such keys are acceptable).
#[test]
fn backend_falls_back_outside_aws_lc_sizes() {
    let n = [0xC5u8; 1152]; // 9216 bits, odd: above aws-lc's 8192
    let key = RsaKey::from_components_with(&n, &[1, 0, 1], None, None, Backend::default()).unwrap();
    for alg in Algorithm::ALL {
        assert_eq!(key.backend_for(alg), Backend::RustCrypto, "{alg}");
    }
    let n = [0xC5u8; 192]; // 1536 bits: aws-lc only for RS256/RS512 (legacy sets)
    let key = RsaKey::from_components_with(&n, &[1, 0, 1], None, None, Backend::default()).unwrap();
    assert_eq!(key.backend_for(Algorithm::PS256), Backend::RustCrypto);
    assert_eq!(key.backend_for(Algorithm::RS384), Backend::RustCrypto);
    assert_eq!(key.backend_for(Algorithm::RS256), Backend::default());
}

#[test]
fn key_alg_restricts_the_algorithm() {
    // The demo JWKS key says alg RS256: an RS512 token under its kid finds no usable key.
    let mut p = Policy::new([DEMO]);
    p.algorithms = vec![Algorithm::RS256, Algorithm::RS512];
    let v = Verifier::new(demo_keys(), p).unwrap();
    let err = v.verify(token("RS512").as_bytes(), NOW).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKid);
}

#[test]
fn multi_realm_keys_are_bound_to_their_issuer() {
    let p = Policy::new([DEMO, OTHER]);
    let v = Verifier::with_issuer_keys(
        p.clone(),
        [
            (DEMO.to_string(), demo_keys()),
            (OTHER.to_string(), bench_keys()),
        ],
    )
    .unwrap();
    assert!(v.verify(token("RS256").as_bytes(), NOW).is_ok());
    assert!(v.verify(token("other_realm").as_bytes(), NOW).is_ok());
    // Realm "other"'s key signing a token that claims realm "demo".
    let err = v
        .verify(token("other_key_claims_demo").as_bytes(), NOW)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongIssuer);

    // One shared key set serves both issuers.
    let all = KeySet::from_keys(
        demo_keys()
            .iter()
            .chain(bench_keys().iter())
            .cloned()
            .collect(),
    );
    let shared = Verifier::new(all, p.clone()).unwrap();
    assert!(shared
        .verify(token("other_key_claims_demo").as_bytes(), NOW)
        .is_ok());

    // Keys for an issuer the policy does not trust are a configuration error.
    assert!(Verifier::with_issuer_keys(p, [("https://evil".to_string(), demo_keys())]).is_err());
}

/// A JWKS holding `file`'s RS256 key twice: under its own kid and under `alias`.
fn keys_with_alias(file: &str, alias: &str) -> KeySet {
    let mut jwks: Json = serde_json::from_slice(&read(file)).unwrap();
    let keys = jwks["keys"].as_array_mut().unwrap();
    let mut copy = keys.iter().find(|k| k["alg"] == "RS256").unwrap().clone();
    copy["kid"] = Json::from(alias);
    keys.push(copy);
    KeySet::from_jwks(&serde_json::to_vec(&jwks).unwrap()).unwrap()
}

#[test]
fn realms_sharing_kids_each_verify_their_own_tokens() {
    let demo_kid = "axxZI6gTmiL25UHJqyv5Ng7l6jk40vgF6A0mbMYHaOU";
    // Both realms publish the kids "bench-2048" and the demo kid, with different keys.
    let demo = keys_with_alias("examples/keycloak/jwks.json", "bench-2048");
    let other = keys_with_alias("benches/data/jwks-2048.json", demo_kid);
    let p = Policy::new([DEMO, OTHER]);
    for order in [[DEMO, OTHER], [OTHER, DEMO]] {
        let sets = order.map(|iss| {
            let keys = if iss == DEMO { &demo } else { &other };
            (iss.to_string(), keys.clone())
        });
        let v = Verifier::with_issuer_keys(p.clone(), sets).unwrap();
        assert!(
            v.verify(token("RS256").as_bytes(), NOW).is_ok(),
            "{order:?}"
        );
        assert!(v.verify(token("other_realm").as_bytes(), NOW).is_ok());
        // Realm "other"'s key signing a token that claims realm "demo": the signature
        // names "other" as the owner, so the demo `iss` is refused.
        let err = v.verify(token("other_key_claims_demo").as_bytes(), NOW);
        assert_eq!(kind(err), Some(ErrorKind::WrongIssuer));
        // A signature no realm's candidate accepts.
        let mut forged = token("RS256");
        forged.truncate(forged.len() - 4);
        forged.push_str("AAAA");
        assert_eq!(
            kind(v.verify(forged.as_bytes(), NOW)),
            Some(ErrorKind::BadSignature)
        );
    }
    // Within one realm a kid naming two keys stays unknown_kid.
    let mut jwks: Json = serde_json::from_slice(&read("examples/keycloak/jwks.json")).unwrap();
    let keys = jwks["keys"].as_array_mut().unwrap();
    let twin = keys.iter().find(|k| k["alg"] == "RS256").unwrap().clone();
    keys.push(twin);
    let twice = KeySet::from_jwks(&serde_json::to_vec(&jwks).unwrap()).unwrap();
    let v = Verifier::with_issuer_keys(
        p.clone(),
        [(DEMO.to_string(), twice), (OTHER.to_string(), bench_keys())],
    )
    .unwrap();
    let err = v.verify(token("RS256").as_bytes(), NOW).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKid);
    assert_eq!(err.message(), "the kid names several keys");
    // A kid no realm has.
    let v = Verifier::with_issuer_keys(p, [(OTHER.to_string(), bench_keys())]).unwrap();
    assert_eq!(
        kind(v.verify(token("RS256").as_bytes(), NOW)),
        Some(ErrorKind::UnknownKid)
    );
}

#[test]
fn rotation_swaps_keys() {
    let v = Verifier::new(bench_keys(), Policy::new([DEMO])).unwrap();
    let t = token("RS256");
    assert_eq!(
        kind(v.verify(t.as_bytes(), NOW)),
        Some(ErrorKind::UnknownKid)
    );
    let rotated = v.with_keys(demo_keys()).unwrap();
    assert!(rotated.verify(t.as_bytes(), NOW).is_ok());
    assert_eq!(rotated.policy(), v.policy());
}

#[test]
fn authorization_header_values() {
    let v = Verifier::new(demo_keys(), Policy::new([DEMO])).unwrap();
    let t = token("RS256");
    for ok in [
        format!("Bearer {t}"),
        format!("bearer {t}"),
        format!("BEARER  {t} "),
        format!("\tBearer {t}"),
    ] {
        assert!(v.verify_header(&ok, NOW).is_ok(), "{ok:.20}");
    }
    for bad in [
        t.clone(),
        format!("Basic {t}"),
        format!("Bearer{t}"),
        "Bearer ".into(),
        String::new(),
        format!("Bearer {t} x"),
    ] {
        assert_eq!(
            kind(v.verify_header(&bad, NOW)),
            Some(ErrorKind::Malformed),
            "{bad:.20}"
        );
    }
}

#[test]
fn time_and_claims_rules() {
    let t = token("RS256");
    let p = Policy::new([DEMO]);
    let v = Verifier::new(demo_keys(), p.clone()).unwrap();
    // exp 1764003540, iat 1763999940, default leeway 30.
    assert!(v.verify(t.as_bytes(), 1_764_003_540 + 29).is_ok());
    assert_eq!(
        kind(v.verify(t.as_bytes(), 1_764_003_540 + 30)),
        Some(ErrorKind::Expired)
    );
    assert!(v.verify(t.as_bytes(), 1_763_999_940 - 30).is_ok());
    assert_eq!(
        kind(v.verify(t.as_bytes(), 1_763_999_940 - 31)),
        Some(ErrorKind::IssuedInFuture)
    );

    let check = |f: &dyn Fn(&mut Policy), want: Option<ErrorKind>| {
        let mut p = Policy::new([DEMO]);
        f(&mut p);
        let v = Verifier::new(demo_keys(), p).unwrap();
        assert_eq!(kind(v.verify(t.as_bytes(), NOW)), want);
    };
    check(
        &|p| p.required_claims.push("jti".into()),
        Some(ErrorKind::MissingClaim),
    );
    check(&|p| p.required_claims = vec![], None);
    check(
        &|p| p.audiences = Some(vec!["product-factory".into()]),
        None,
    );
    check(
        &|p| p.audiences = Some(vec!["product".into()]),
        Some(ErrorKind::WrongAudience),
    );
    check(
        &|p| p.audiences = Some(vec![]),
        Some(ErrorKind::WrongAudience),
    );
    check(
        &|p| p.token_type = Some("ID".into()),
        Some(ErrorKind::WrongType),
    );
    check(&|p| p.token_type = None, None);
    check(
        &|p| p.required_scopes = vec!["spark".into(), "openid".into()],
        None,
    );
    check(
        &|p| p.required_scopes = vec!["spar".into()],
        Some(ErrorKind::MissingScope),
    );
    check(
        &|p| p.required_realm_roles = vec!["admin".into()],
        Some(ErrorKind::MissingRole),
    );
    check(
        &|p| {
            p.required_client_roles
                .insert("product-factory".into(), vec!["reader".into()]);
        },
        Some(ErrorKind::MissingRole),
    );
    check(
        &|p| p.issuers = vec![format!("{DEMO}/")],
        Some(ErrorKind::WrongIssuer),
    );
    check(&|p| p.min_rsa_bits = 3072, Some(ErrorKind::WeakKey));
    check(&|p| p.max_token_bytes = 100, Some(ErrorKind::TooLarge));
}

#[test]
fn owned_and_borrowed_results_agree() {
    let v = Verifier::new(demo_keys_any_alg(), Policy::new([DEMO])).unwrap();
    let t = token("PS256");
    let mut p = Policy::new([DEMO]);
    p.algorithms = vec![Algorithm::PS256];
    let v2 = Verifier::new(demo_keys_any_alg(), p).unwrap();
    assert!(v.verify(t.as_bytes(), NOW).is_err());
    let owned = v2.verify(t.as_bytes(), NOW).unwrap();
    let mut buf = vec![0u8; t.len()];
    let borrowed = v2.verify_into(t.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!(owned.payload_json(), borrowed.payload_json());
    assert_eq!(owned.header_json(), borrowed.header_json());
    assert_eq!(owned.claims().exp(), Some(1_764_003_540));
    let claims: Json = serde_json::from_str(owned.payload_json()).unwrap();
    assert_eq!(claims["azp"], "demo-client");
    // A buffer too small is refused, not overrun.
    let mut small = vec![0u8; t.len() - 1];
    assert_eq!(
        v2.verify_into(t.as_bytes(), NOW, &mut small)
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
}

#[test]
fn keycloak_sample_realm() {
    let policy = Policy::from_json(&read("examples/keycloak/policy.json")).unwrap();
    let v = Verifier::new(demo_keys(), policy).unwrap();
    let now: u64 = String::from_utf8(read("examples/keycloak/now.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ok = v.verify(&read("examples/keycloak/token.jwt"), now).unwrap();
    let c = ok.claims();
    assert!(c.has_scope("offline_access"));
    assert!(c.has_client_role("product-factory", "writer"));
    assert!(c.has_realm_role("spark-user"));
    assert!(!c.has_realm_role("spark"));
    assert_eq!(ok.header().typ().unwrap().to_string(), "JWT");
    assert_eq!(
        c.scopes().collect::<Vec<_>>(),
        ["openid", "offline_access", "spark", "profile"]
    );
    assert_eq!(
        kind(v.verify(&read("examples/keycloak/tampered.jwt"), now)),
        Some(ErrorKind::BadSignature)
    );
    assert_eq!(
        kind(v.verify(&read("examples/keycloak/expired.jwt"), now)),
        Some(ErrorKind::Expired)
    );

    let d = Discovery::parse(&read("examples/keycloak/openid-configuration.json")).unwrap();
    d.check_issuer(DEMO).unwrap();
    assert!(d.jwks_uri.ends_with("/protocol/openid-connect/certs"));
    assert!(d.check_issuer(OTHER).is_err());
}

#[test]
fn http_answers() {
    let v = Verifier::new(demo_keys(), Policy::new([DEMO])).unwrap();
    let err = v
        .verify(&read("examples/keycloak/expired.jwt"), NOW)
        .unwrap_err();
    let json = ProblemDetails::new(&err)
        .with_type(I2_CONNECT_PROBLEM_TYPE)
        .with_instance("/acquire")
        .to_json();
    let p: Json = serde_json::from_str(&json).unwrap();
    assert_eq!(p["type"], I2_CONNECT_PROBLEM_TYPE);
    assert_eq!(p["status"], 401);
    assert_eq!(p["title"], "Token expired");
    assert_eq!(p["error"], "expired");
    assert_eq!(p["instance"], "/acquire");
    let mut h = String::new();
    www_authenticate(&err, Some("demo"), &mut h).unwrap();
    assert!(
        h.starts_with(r#"Bearer realm="demo", error="invalid_token""#),
        "{h}"
    );
}

/// A key no policy could accept (even or huge exponent, zero, tiny or oversized
/// modulus) stays in its set so that a token naming it gets `weak_key`, and never
/// takes the other keys down with it (DESIGN §2 `weak_key`, §5).
#[test]
fn unusable_keys_do_not_break_their_set() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let b64 = |b: &[u8]| Base64UrlUnpadded::encode_string(b);
    let mut jwks: Json = serde_json::from_slice(&read("examples/keycloak/jwks.json")).unwrap();
    let list = jwks["keys"].as_array_mut().unwrap();
    let good = list
        .iter()
        .find(|k| k["use"] == "sig" && k["kty"] == "RSA")
        .unwrap()
        .clone();
    let n = good["n"].as_str().unwrap().to_string();
    let mut oversized = vec![0xff; MAX_MODULUS_BYTES + 1];
    oversized[0] = 1;
    let weak = [
        ("even-e", n.clone(), b64(&[1, 0, 2])),
        ("zero-e", n.clone(), "AA".to_string()),
        ("e-above-2^33", n.clone(), b64(&[2, 0, 0, 0, 1])),
        ("huge-e", n.clone(), b64(&[0xff; 300])),
        ("zero-n", "AA".to_string(), "AQAB".to_string()),
        ("even-n", b64(&[0xfe; 256]), "AQAB".to_string()),
        ("e-not-below-n", "AQAB".to_string(), "AQAB".to_string()),
        ("oversized-n", b64(&oversized), "AQAB".to_string()),
    ];
    for (kid, n, e) in &weak {
        let mut k = good.clone();
        k["kid"] = (*kid).into();
        k["n"] = n.as_str().into();
        k["e"] = e.as_str().into();
        list.push(k);
    }
    let jwks = serde_json::to_vec(&jwks).unwrap();
    let policy = Policy::from_json(&read("examples/keycloak/policy.json")).unwrap();
    let token = String::from_utf8(read("examples/keycloak/token.jwt")).unwrap();
    let token = token.trim();
    let (header, rest) = token.split_once('.').unwrap();
    let mut header: Json =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(header).unwrap()).unwrap();
    for backend in Backend::ALL {
        let keys = KeySet::from_jwks_with(&jwks, *backend).unwrap();
        let v = Verifier::new(keys, policy.clone()).unwrap();
        assert!(v.verify(token.as_bytes(), NOW).is_ok(), "{backend}");
        for (kid, _, _) in &weak {
            header["kid"] = (*kid).into();
            let forged = format!("{}.{rest}", b64(&serde_json::to_vec(&header).unwrap()));
            assert_eq!(
                kind(v.verify(forged.as_bytes(), NOW)),
                Some(ErrorKind::WeakKey),
                "{kid} {backend}"
            );
        }
    }
    // The same keys built by hand: usable for nothing, reported as weak.
    for (kid, n, e) in &weak {
        let n = Base64UrlUnpadded::decode_vec(n).unwrap();
        let e = Base64UrlUnpadded::decode_vec(e).unwrap();
        let key = RsaKey::from_components(&n, &e, Some(kid), None).unwrap();
        let sig = vec![1; key.size()];
        assert!(
            !xconnauth::dangerous::verify_signature(&key, Algorithm::RS256, b"x", &sig),
            "{kid}"
        );
    }
}

const MAX_MODULUS_BYTES: usize = xconnauth::MAX_MODULUS_BITS as usize / 8;
