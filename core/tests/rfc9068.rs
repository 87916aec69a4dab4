//! RFC 9068 access tokens (header `typ: at+jwt`, no `typ` claim): the `header_types`
//! option (DESIGN §4) checked at step 4, and the `missing_claim` message that names the
//! options to set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use xconnauth::{ErrorKind, KeySet, Policy, Verifier};

const DEMO: &str = "https://sso.example.com/realms/demo";
const NOW: u64 = 1_764_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn token(name: &str) -> String {
    let all: Json = serde_json::from_slice(&read("core/tests/data/rfc9068_tokens.json")).unwrap();
    all[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name}"))
        .to_string()
}

/// The one-line policy of docs/integrations/oidc-provider.md, as the issuer of the
/// sample tokens.
fn rfc9068_verifier() -> Verifier {
    let policy = Policy::from_json(
        br#"{"issuers":["https://sso.example.com/realms/demo"],"audiences":["https://api.example.com"],"token_type":null,"header_types":["at+jwt"]}"#,
    )
    .unwrap();
    Verifier::new(keys(), policy).unwrap()
}

fn keys() -> KeySet {
    KeySet::from_jwks(&read("examples/keycloak/jwks.json")).unwrap()
}

#[test]
fn header_types_accepts_the_media_type_in_any_spelling() {
    let v = rfc9068_verifier();
    for name in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/AT+jwt",
        "escaped",
        "escaped_application",
    ] {
        let ok = v.verify(token(name).as_bytes(), NOW);
        assert!(ok.is_ok(), "{name}: {:?}", ok.err());
    }
    let ok = v.verify(token("at+jwt").as_bytes(), NOW).unwrap();
    assert_eq!(ok.header().typ().unwrap().to_string(), "at+jwt");
    assert_eq!(
        ok.claims()
            .get("client_id")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
        "svc"
    );
}

#[test]
fn header_types_refuses_other_or_absent_types_as_wrong_type() {
    let v = rfc9068_verifier();
    for (name, message) in [
        (
            "JWT",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "escaped_JWT",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "text/at+jwt",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "at+jwt_suffix",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "typ_number",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "typ_null",
            "the header typ is not one of the policy's header_types",
        ),
        (
            "no_typ",
            "the header has no typ, and the policy's header_types requires one",
        ),
    ] {
        let e = v.verify(token(name).as_bytes(), NOW).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongType, "{name}");
        assert_eq!(e.message(), message, "{name}");
        assert_eq!(e.context(), Some("at+jwt"), "{name}");
        assert_eq!(e.http_status(), 401);
    }
    // The context lists every accepted type (policy text only, never token text).
    let mut p = v.policy().clone();
    p.header_types = Some(vec!["at+jwt".into(), "application/jwt".into()]);
    let both = Verifier::new(keys(), p).unwrap();
    let e = both.verify(token("no_typ").as_bytes(), NOW).unwrap_err();
    assert_eq!(e.context(), Some("at+jwt, application/jwt"));
    // `application/jwt` means `JWT` too.
    assert!(both.verify(token("JWT").as_bytes(), NOW).is_ok());
}

/// Step 4: the header `typ` is judged before the key and the signature, after `alg`
/// and `crit`.
#[test]
fn header_types_is_step_4() {
    let v = rfc9068_verifier();
    let jwt = token("JWT");
    let (head, sig) = jwt.rsplit_once('.').unwrap();
    // A broken signature and an unknown kid do not hide the wrong type...
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let bad_sig = format!("{head}.{flipped}{}", &sig[1..]);
    assert_eq!(
        v.verify(bad_sig.as_bytes(), NOW).unwrap_err().kind(),
        ErrorKind::WrongType
    );
    let mut p = v.policy().clone();
    p.header_types = None;
    let plain = Verifier::new(keys(), p).unwrap();
    assert_eq!(
        plain.verify(bad_sig.as_bytes(), NOW).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    let other_keys = KeySet::from_jwks(&read("benches/data/jwks-2048.json")).unwrap();
    let v_other = Verifier::new(other_keys, v.policy().clone()).unwrap();
    assert_eq!(
        v_other.verify(jwt.as_bytes(), NOW).unwrap_err().kind(),
        ErrorKind::WrongType
    );
    assert_eq!(
        v_other
            .verify(token("at+jwt").as_bytes(), NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownKid
    );
    // ...while `crit` (step 4, checked first) outranks it.
    assert_eq!(
        v.verify(token("at+jwt_crit").as_bytes(), NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::UnsupportedHeader
    );
}

/// Without `header_types` the header `typ` is not looked at (the default).
#[test]
fn header_types_off_by_default() {
    let mut p = Policy::new([DEMO]);
    p.token_type = None;
    assert_eq!(p.header_types, None);
    let v = Verifier::new(keys(), p).unwrap();
    for name in ["at+jwt", "JWT", "no_typ", "typ_number", "text/at+jwt"] {
        assert!(v.verify(token(name).as_bytes(), NOW).is_ok(), "{name}");
    }
}

/// The default policy (`token_type: "Bearer"`) refuses an RFC 9068 token and says which
/// options apply.
#[test]
fn missing_typ_claim_names_the_options() {
    let v = Verifier::new(keys(), Policy::new([DEMO])).unwrap();
    let e = v.verify(token("at+jwt").as_bytes(), NOW).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingClaim);
    assert_eq!(e.context(), Some("typ"));
    assert_eq!(
        e.to_string(),
        "missing_claim: the token has no typ claim; for RFC 9068 access tokens (header typ \
         at+jwt) set token_type to null and header_types to [\"at+jwt\"] (typ)"
    );
    // Other absent claims keep the plain message.
    let mut p = Policy::new([DEMO]);
    p.token_type = None;
    p.required_claims.push("azp".into());
    let e = Verifier::new(keys(), p)
        .unwrap()
        .verify(token("at+jwt").as_bytes(), NOW)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing_claim: a required claim is absent (azp)"
    );
}

#[test]
fn header_types_policy_json() {
    let p = Policy::from_json(br#"{"issuers":"i","header_types":"at+jwt"}"#).unwrap();
    assert_eq!(p.header_types, Some(vec!["at+jwt".to_string()]));
    let p = Policy::from_json(br#"{"issuers":"i","header_types":["at+jwt","JWT"]}"#).unwrap();
    assert_eq!(p.header_types.as_deref().map(<[String]>::len), Some(2));
    let p = Policy::from_json(br#"{"issuers":"i","header_types":null}"#).unwrap();
    assert_eq!(p.header_types, None);
    for bad in [
        &br#"{"issuers":"i","header_types":1}"#[..],
        br#"{"issuers":"i","header_types":[1]}"#,
        br#"{"issuers":"i","header_types":{}}"#,
    ] {
        assert!(Policy::from_json(bad).is_err());
    }
    for (bad, why) in [
        (
            &br#"{"issuers":"i","header_types":[]}"#[..],
            "header_types is empty",
        ),
        (br#"{"issuers":"i","header_types":[""]}"#, "empty value"),
        (
            br#"{"issuers":"i","header_types":["application/"]}"#,
            "empty value",
        ),
        (
            br#"{"issuers":"i","header_types":["at+jwt "]}"#,
            "whitespace",
        ),
    ] {
        let e = Policy::from_json(bad).unwrap().validate().unwrap_err();
        assert!(e.message().contains(why), "{e}");
    }
    assert!(xconnauth::OPTION_NAMES.contains(&"header_types"));
}
