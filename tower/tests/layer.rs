//! The layer, the guards and the extractor through `tower::ServiceExt::oneshot`, against
//! a loopback issuer started by each test. `#[tokio::test]` runs a current_thread
//! runtime: one worker for every request, so a blocking wait would stall them all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use common::{dead_issuer, now, Issuer, Key, NOW};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use xconnauth_tower::{AuthLayer, AuthToken, Options, Policy, Require, TokenVerifier, Verifier};

async fn whoami(token: AuthToken) -> String {
    token
        .claims()
        .sub()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

async fn maybe(token: Option<AuthToken>) -> String {
    match token {
        Some(t) => format!(
            "user {}",
            t.claims().sub().map(|s| s.to_string()).unwrap_or_default()
        ),
        None => "anonymous".into(),
    }
}

fn options() -> Options {
    Options::default()
        .with_timeout(Duration::from_secs(5))
        .with_refresh_cooldown(Duration::from_millis(300))
}

fn remote(iss: &str) -> TokenVerifier {
    TokenVerifier::remote(Policy::new([iss]), options()).unwrap()
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/me", get(whoami))
        .route("/maybe", get(maybe))
        .route(
            "/write",
            get(whoami).layer(Require::new().scope("orders:write")),
        )
        .route(
            "/admin",
            get(whoami).layer(Require::new().realm_role("admin")),
        )
        .route(
            "/edit",
            get(whoami).layer(Require::new().client_role("orders-api", "editor")),
        )
        .layer(layer.clock(now))
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn problem(&self) -> Value {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn call(app: &Router, path: &str, auth: &[&str]) -> Answer {
    let mut req = Request::builder().uri(path);
    for a in auth {
        req = req.header(header::AUTHORIZATION, *a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (challenge, content_type) = {
        let header = |n| {
            resp.headers()
                .get(n)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        (
            header(header::WWW_AUTHENTICATE),
            header(header::CONTENT_TYPE),
        )
    };
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        challenge,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[tokio::test]
async fn valid_token_reaches_the_handler_through_discovery() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app = app(AuthLayer::new(remote(&iss.issuer)).realm("demo"));
    let t = bearer(&key.token_with(&iss.issuer, &json!({})));
    let a = call(&app, "/me", &[&t]).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    // Keys are cached: the second request fetches nothing.
    let a = call(&app, "/me", &[&t]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(iss.hits(), 1);
}

#[tokio::test]
async fn strict_mode_answers_401_with_challenge_and_problem() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app = app(AuthLayer::new(remote(&iss.issuer)).realm("demo"));

    // No credentials: the bare challenge (RFC 6750 §3.1), no error code.
    let a = call(&app, "/me", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="demo""#));
    let p = a.problem();
    assert_eq!(
        (p["status"].as_u64(), p["error"].as_str()),
        (Some(401), Some("malformed"))
    );
    assert_eq!(p["type"], "about:blank");

    let expired = key.token_with(&iss.issuer, &json!({"exp": NOW - 3600}));
    let a = call(&app, "/me", &[&bearer(&expired)]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge.as_deref(),
        Some(
            r#"Bearer realm="demo", error="invalid_token", error_description="the token has expired""#
        )
    );
    assert_eq!(a.problem()["error"], "expired");

    // A token signed by another key that claims our kid.
    let forged = Key::new("k1").token_with(&iss.issuer, &json!({}));
    let a = call(&app, "/me", &[&bearer(&forged)]).await;
    assert_eq!(
        (a.status, a.problem()["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );

    let a = call(&app, "/me", &["Basic dXNlcjpwdw=="]).await;
    assert_eq!(
        (a.status, a.problem()["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed"))
    );

    // Two Authorization headers, even both valid: refused, not guessed.
    let good = bearer(&key.token_with(&iss.issuer, &json!({})));
    let a = call(&app, "/me", &[&good, &good]).await;
    assert_eq!(
        (a.status, a.problem()["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed"))
    );
}

#[tokio::test]
async fn guards_answer_403_insufficient_scope() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app = app(AuthLayer::new(remote(&iss.issuer)));
    let plain = bearer(&key.token_with(&iss.issuer, &json!({"scope": "openid orders:read"})));
    let rich = bearer(&key.token_with(
        &iss.issuer,
        &json!({
            "scope": "openid orders:write",
            "realm_access": {"roles": ["admin"]},
            "resource_access": {"orders-api": {"roles": ["editor"]}},
        }),
    ));
    for (path, code, what) in [
        (
            "/write",
            "missing_scope",
            "a required scope is not granted (orders:write)",
        ),
        (
            "/admin",
            "missing_role",
            "a required realm role is not granted (admin)",
        ),
        (
            "/edit",
            "missing_role",
            "a required client role is not granted (orders-api/editor)",
        ),
    ] {
        let a = call(&app, path, &[&plain]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            a.challenge.clone().unwrap(),
            format!(r#"Bearer error="insufficient_scope", error_description="{what}""#)
        );
        let p = a.problem();
        assert_eq!(
            (p["error"].as_str(), p["detail"].as_str()),
            (Some(code), Some(what))
        );
        let a = call(&app, path, &[&rich]).await;
        assert_eq!(
            (a.status, a.body.as_str()),
            (StatusCode::OK, "user-1"),
            "{path}"
        );
    }
    // "orders:write" is a whole word, not a prefix.
    let near = bearer(&key.token_with(&iss.issuer, &json!({"scope": "orders:writer"})));
    assert_eq!(
        call(&app, "/write", &[&near]).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn policy_requirements_apply_to_every_route() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let mut policy = Policy::new([iss.issuer.as_str()]);
    policy.audiences = Some(vec!["orders-api".into()]);
    let v = TokenVerifier::remote(policy, options()).unwrap();
    let app = app(AuthLayer::new(v));
    let no_aud = bearer(&key.token_with(&iss.issuer, &json!({})));
    let a = call(&app, "/me", &[&no_aud]).await;
    assert_eq!(
        (a.status, a.problem()["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_claim"))
    );
    let ok = bearer(&key.token_with(&iss.issuer, &json!({"aud": ["account", "orders-api"]})));
    assert_eq!(call(&app, "/me", &[&ok]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn optional_mode_passes_only_requests_without_a_bearer_token() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app = app(AuthLayer::new(remote(&iss.issuer)).optional().realm("demo"));
    let a = call(&app, "/maybe", &[]).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "anonymous"));
    // Another scheme belongs to another middleware.
    let a = call(&app, "/maybe", &["Basic dXNlcjpwdw=="]).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "anonymous"));
    let good = bearer(&key.token_with(&iss.issuer, &json!({})));
    let a = call(&app, "/maybe", &[&good]).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user user-1"));

    // An invalid bearer token is not demoted to anonymous.
    let expired = key.token_with(&iss.issuer, &json!({"exp": NOW - 3600}));
    for bad in [bearer(&expired), "Bearer".into(), "bearer a.b.c".into()] {
        let a = call(&app, "/maybe", &[&bad]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(a.challenge.unwrap().contains("invalid_token"));
    }

    // Handlers and guards that need a token still answer 401, with the layer's realm.
    for path in ["/me", "/write"] {
        let a = call(&app, path, &[]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="demo""#));
        assert_eq!(a.problem()["error"], "malformed");
    }
}

#[tokio::test]
async fn problem_type_is_configurable() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app =
        app(AuthLayer::new(remote(&iss.issuer))
            .problem_type(xconnauth::http::I2_CONNECT_PROBLEM_TYPE));
    let a = call(&app, "/me", &["Bearer x.y.z"]).await;
    let p = a.problem();
    assert_eq!(p["type"], xconnauth::http::I2_CONNECT_PROBLEM_TYPE);
    assert_eq!(p["status"], 401);
    assert_ne!(
        p["title"], "Unauthorized",
        "a precise title with a specific type"
    );
}

#[tokio::test]
async fn issuer_down_answers_503_not_401() {
    let key = Key::new("k1");
    let iss = dead_issuer();
    let v = TokenVerifier::remote(
        Policy::new([iss.as_str()]),
        options().with_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    let app = app(AuthLayer::new(v).realm("demo"));
    let a = call(&app, "/me", &[&bearer(&key.token_with(&iss, &json!({})))]).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="demo""#));
    assert_eq!(a.problem()["error"], "keys_unavailable");
    // Without a token there is nothing to judge: still 401.
    assert_eq!(
        call(&app, "/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn static_keys_need_no_issuer() {
    let key = Key::new("k1");
    let iss = "https://sso.example.com/realms/demo";
    let keys = xconnauth::KeySet::from_jwks(&common::jwks_of(&[&key])).unwrap();
    let v = Verifier::new(keys, Policy::new([iss])).unwrap();
    let app = app(AuthLayer::new(v));
    let a = call(&app, "/me", &[&bearer(&key.token_with(iss, &json!({})))]).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    let other = Key::new("k2").token_with(iss, &json!({}));
    let a = call(&app, "/me", &[&bearer(&other)]).await;
    assert_eq!(a.problem()["error"], "unknown_kid");
}

#[tokio::test]
async fn extractor_without_layer_fails_closed() {
    let app: Router = Router::new().route("/me", get(whoami));
    let a = call(&app, "/me", &["Bearer a.b.c"]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotated_key_is_fetched_and_awaited() {
    let old = Key::new("old");
    let new = Key::new("new");
    let stray = Key::new("stray").token_with("unused", &json!({}));
    let iss = Issuer::start(&[&old]);
    let app = app(AuthLayer::new(remote(&iss.issuer)));
    let a = call(
        &app,
        "/me",
        &[&bearer(&old.token_with(&iss.issuer, &json!({})))],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    iss.set_keys(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(400)).await; // past the cooldown
    let a = call(
        &app,
        "/me",
        &[&bearer(&new.token_with(&iss.issuer, &json!({})))],
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    assert_eq!(iss.hits(), 2);
    // Within the cooldown a random kid costs no fetch.
    let a = call(&app, "/me", &[&bearer(&stray)]).await;
    assert_eq!(a.problem()["error"], "unknown_kid");
    assert_eq!(iss.hits(), 2);
}

/// A slow JWKS refresh (1.5 s) for a rotated key must not stall requests with known
/// keys on the same (single) runtime thread: were the refresh waited for inline, each
/// of them would take the whole 1.5 s.
#[tokio::test]
async fn slow_refresh_does_not_stall_other_requests() {
    let old = Key::new("old");
    let new = Key::new("new");
    let iss = Issuer::start(&[&old]);
    let app = app(AuthLayer::new(remote(&iss.issuer)));
    let known = bearer(&old.token_with(&iss.issuer, &json!({})));
    assert_eq!(call(&app, "/me", &[&known]).await.status, StatusCode::OK);

    iss.set_keys(&[&old, &new]);
    iss.set_jwks_delay(Duration::from_millis(1500));
    tokio::time::sleep(Duration::from_millis(400)).await; // past the cooldown

    let rotated = bearer(&new.token_with(&iss.issuer, &json!({})));
    let app2 = app.clone();
    let started = Instant::now();
    let slow = tokio::spawn(async move { call(&app2, "/me", &[&rotated]).await });
    // Let the slow request start its refresh.
    while iss.hits() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    for _ in 0..20 {
        assert_eq!(call(&app, "/me", &[&known]).await.status, StatusCode::OK);
    }
    let known_time = t.elapsed();
    assert!(!slow.is_finished(), "the refresh is still under way");
    assert!(
        known_time < Duration::from_millis(500),
        "20 requests with known keys took {known_time:?} during the refresh"
    );
    let a = slow.await.unwrap();
    let waited = started.elapsed();
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    assert!(waited >= Duration::from_millis(1400), "{waited:?}");
    eprintln!("20 known-key requests during a 1.5 s refresh: {known_time:?}; rotated-key request answered after {waited:?}");
}

/// Twenty requests carrying a rotated key at once, against a 1 s JWKS, with only two
/// allowed to wait on the blocking pool: one fetch, every request answered 200.
#[tokio::test]
async fn concurrent_rotated_requests_share_one_fetch() {
    let old = Key::new("old");
    let new = Key::new("new");
    let iss = Issuer::start(&[&old]);
    let app = app(AuthLayer::new(remote(&iss.issuer)).max_refresh_waits(2));
    let known = bearer(&old.token_with(&iss.issuer, &json!({})));
    assert_eq!(call(&app, "/me", &[&known]).await.status, StatusCode::OK);
    iss.set_keys(&[&old, &new]);
    iss.set_jwks_delay(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(400)).await; // past the cooldown

    let rotated = bearer(&new.token_with(&iss.issuer, &json!({})));
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, rotated) = (app.clone(), rotated.clone());
            tokio::spawn(async move { call(&app, "/me", &[&rotated]).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let took = started.elapsed();
    assert_eq!(iss.hits(), 2, "one fetch at start, one for the rotation");
    assert!(took < Duration::from_secs(3), "{took:?}");
}
