//! The key engine against scripted loopback servers (issue 16 deliverable 7).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{discovery, free_port, junk_token, jwks, Key, Reply, Server, NOW};
use xconnauth::{ErrorKind, Policy};
use xconnauth_remote::{Options, RemoteError, RemoteVerifier};

const REALM: &str = "/realms/demo";

/// Two RSA keys shared by the tests (generation costs ~0.1 s each).
fn keys() -> &'static [Key; 3] {
    static KEYS: OnceLock<[Key; 3]> = OnceLock::new();
    KEYS.get_or_init(|| [Key::new("k1"), Key::new("k2"), Key::new("k3")])
}

/// A verifier for `issuer` whose JWKS is at `jwks_url` (no discovery).
fn verifier(issuer: &str, jwks_url: &str, options: Options) -> RemoteVerifier {
    let options = options.with_jwks_uri(issuer, jwks_url);
    RemoteVerifier::new(Policy::new([issuer]), options).unwrap()
}

fn kind(r: Result<xconnauth::VerifiedToken, xconnauth::Error>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

#[test]
fn a_trickling_server_is_cut_off_at_the_deadline() {
    let k = &keys()[0];
    let body = jwks(&[k.jwk()]);
    let server =
        Server::start(move |_, _| Reply::Trickle(body.clone(), Duration::from_millis(500)));
    let iss = server.url(REALM);
    let timeout = Duration::from_millis(1500);
    let v = verifier(
        &iss,
        &server.url("/certs"),
        Options::default().with_timeout(timeout),
    );
    let start = Instant::now();
    let err = v.refresh().unwrap_err();
    let took = start.elapsed();
    let over = took.saturating_sub(timeout);
    println!(
        "trickle: refresh gave up after {} ms (deadline {} ms, +{} ms)",
        took.as_millis(),
        timeout.as_millis(),
        over.as_millis()
    );
    assert!(took >= timeout - Duration::from_millis(100), "{took:?}");
    assert!(
        over < Duration::from_millis(300),
        "deadline overshot by {over:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    // Verify answers keys_unavailable at once (within cooldown), never hangs.
    let start = Instant::now();
    assert_eq!(
        kind(v.verify(k.token(&iss).as_bytes(), NOW)),
        Some(ErrorKind::KeysUnavailable)
    );
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn concurrent_unknown_kids_share_one_fetch() {
    let [k1, k2, _] = keys();
    let first = jwks(&[k1.jwk()]);
    let both = jwks(&[k1.jwk(), k2.jwk()]);
    let server = Server::start(move |_, n| {
        if n == 0 {
            Reply::Json(first.clone(), None)
        } else {
            Reply::Slow(Duration::from_secs(3), both.clone())
        }
    });
    let iss = server.url(REALM);
    // No cooldown: the refresh below may follow the first fetch at once.
    let o = Options::default().with_refresh_cooldown(Duration::ZERO);
    let v = verifier(&iss, &server.url("/certs"), o);
    v.refresh().unwrap();
    let token = k2.token(&iss);
    let start = Instant::now();
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let v = v.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                let ok = v.verify(token.as_bytes(), NOW).is_ok();
                (ok, t.elapsed())
            })
        })
        .collect();
    // Meanwhile a known kid is answered without waiting for the slow refresh.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok());
    let known = t.elapsed();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let slowest = results.iter().map(|r| r.1).max().unwrap();
    println!(
        "single flight: 20 callers, {} fetches after the first, slowest caller {} ms, known kid during the refresh {} us",
        server.hits() - 1,
        slowest.as_millis(),
        known.as_micros()
    );
    assert!(results.iter().all(|r| r.0), "every caller sees the new key");
    assert_eq!(server.hits(), 2, "one initial fetch and one refresh");
    assert!(slowest < Duration::from_millis(5100), "{slowest:?}");
    assert!(start.elapsed() < Duration::from_secs(6));
    assert!(known < Duration::from_millis(200), "{known:?}");
}

/// Serves `good` first, then whatever `bad` says.
fn keeps_last_good(name: &str, bad: Arc<dyn Fn() -> Reply + Send + Sync>, policy_rs256: bool) {
    let k1 = &keys()[0];
    let good = jwks(&[k1.jwk()]);
    let bad2 = Arc::clone(&bad);
    let server = Server::start(move |_, n| {
        if n == 0 {
            Reply::Json(good.clone(), None)
        } else {
            bad2()
        }
    });
    let iss = server.url(REALM);
    let mut policy = Policy::new([iss.as_str()]);
    if !policy_rs256 {
        policy.algorithms = vec![xconnauth::Algorithm::RS256, xconnauth::Algorithm::PS256];
    }
    let options = Options::default()
        .with_jwks_uri(&iss, server.url("/certs"))
        .with_refresh_cooldown(Duration::ZERO);
    let v = RemoteVerifier::new(policy, options).unwrap();
    v.refresh().unwrap();
    let before = v.snapshot().unwrap();
    let err = v.refresh().unwrap_err();
    assert!(matches!(err, RemoteError::Fetch { .. }), "{name}: {err}");
    assert!(
        Arc::ptr_eq(&before, &v.snapshot().unwrap()),
        "{name}: keys replaced"
    );
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok(), "{name}");
    let st = &v.status()[0];
    assert_eq!(st.kids, ["k1"], "{name}");
    assert!(
        st.last_error.is_some() && st.last_success.is_some(),
        "{name}"
    );
    // An unknown kid tries again (cooldown 0), fails the same way, keeps the keys.
    let hits = server.hits();
    assert_eq!(
        kind(v.verify(keys()[1].token(&iss).as_bytes(), NOW)),
        Some(ErrorKind::UnknownKid),
        "{name}"
    );
    assert!(server.hits() > hits, "{name}");
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok(), "{name}");
    println!("last good kept after: {name}: {err}");
}

#[test]
fn an_unusable_or_failing_refresh_keeps_the_last_good_keys() {
    let k2 = &keys()[1];
    let mut rs512 = k2.jwk();
    rs512["alg"] = "RS512".into();
    let mut enc = k2.jwk();
    enc["use"] = "enc".into();
    let mut small = k2.jwk();
    // A 512-bit modulus (odd, top bit set): parsed, but below min_rsa_bits.
    let mut n = vec![0xc5u8; 64];
    n[63] = 0x01;
    small["n"] = xconnauth_testkit::b64url(&n).into();
    let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("EC only", jwks(&[ec])),
        ("enc only", jwks(&[enc])),
        ("RS512 only under RS256", jwks(&[rs512])),
        ("512-bit only", jwks(&[small])),
        ("garbage", b"<html>oops</html>".to_vec()),
        ("no keys", b"{\"keys\":[]}".to_vec()),
    ];
    for (name, body) in cases {
        let body = Arc::new(body);
        keeps_last_good(
            name,
            Arc::new(move || Reply::Json((*body).clone(), None)),
            true,
        );
    }
    keeps_last_good("HTTP 500", Arc::new(|| Reply::Status(500)), true);
    keeps_last_good("HTTP 404", Arc::new(|| Reply::Status(404)), true);
    let big = Arc::new(vec![b' '; (1 << 20) + 1]);
    keeps_last_good(
        "too big",
        Arc::new(move || Reply::Json((*big).clone(), None)),
        true,
    );
    // RS512-only is still refused when the policy allows RS256 and PS256, not RS512.
    let mut rs512 = keys()[1].jwk();
    rs512["alg"] = "RS512".into();
    let body = Arc::new(jwks(&[rs512]));
    keeps_last_good(
        "RS512 under RS256+PS256",
        Arc::new(move || Reply::Json((*body).clone(), None)),
        false,
    );
}

#[test]
fn verifying_threads_see_no_wrong_verdict_while_keys_rotate() {
    let [k1, k2, k3] = keys();
    let a = jwks(&[k1.jwk(), k2.jwk()]);
    let b = jwks(&[k1.jwk(), k3.jwk()]);
    let server = Server::start(move |_, n| {
        Reply::Json(if n % 2 == 0 { a.clone() } else { b.clone() }, None)
    });
    let iss = server.url(REALM);
    let v = verifier(
        &iss,
        &server.url("/certs"),
        Options::default().with_non_blocking(true),
    );
    v.refresh().unwrap();
    let good = k1.token(&iss);
    let mut forged = good.clone();
    forged.truncate(forged.len() - 8);
    forged.push_str("AAAAAAAA");
    let stop = Arc::new(AtomicBool::new(false));
    let wrong = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (v, good, forged) = (v.clone(), good.clone(), forged.clone());
            let (stop, wrong, checks) =
                (Arc::clone(&stop), Arc::clone(&wrong), Arc::clone(&checks));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if v.verify(good.as_bytes(), NOW).is_err() {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    if kind(v.verify(forged.as_bytes(), NOW)) != Some(ErrorKind::BadSignature) {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    checks.fetch_add(2, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    let mut seen_k2 = 0;
    for _ in 0..1000 {
        v.refresh().unwrap();
        if v.status()[0].kids.contains(&"k2".to_string()) {
            seen_k2 += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    println!(
        "rotation: 1000 swaps in {} ms, {} verdicts, {} wrong",
        start.elapsed().as_millis(),
        checks.load(Ordering::Relaxed),
        wrong.load(Ordering::Relaxed)
    );
    assert_eq!(wrong.load(Ordering::Relaxed), 0);
    assert_eq!(seen_k2, 500, "the sets alternated");
    assert!(checks.load(Ordering::Relaxed) > 100);
}

#[test]
fn random_kids_cause_at_most_one_fetch_per_cooldown() {
    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let server = Server::start(move |_, _| Reply::Json(body.clone(), None));
    let iss = server.url(REALM);
    let cooldown = Duration::from_millis(10);
    let v = verifier(
        &iss,
        &server.url("/certs"),
        Options::default().with_refresh_cooldown(cooldown),
    );
    v.refresh().unwrap();
    let tokens: Vec<String> = (0..10_000u32)
        .map(|i| junk_token(&iss, &format!("kid-{:08x}", i.wrapping_mul(2_654_435_761))))
        .collect();
    let start = Instant::now();
    for t in &tokens {
        assert_eq!(
            kind(v.verify(t.as_bytes(), NOW)),
            Some(ErrorKind::UnknownKid)
        );
    }
    let took = start.elapsed();
    let fetches = server.hits() - 1;
    let allowed = 1 + (took.as_millis() / cooldown.as_millis()) as usize;
    println!("random kids: 10000 unknown kids in {} ms caused {fetches} fetches (cooldown {} ms, at most {allowed})", took.as_millis(), cooldown.as_millis());
    assert!(fetches <= allowed, "{fetches} > {allowed}");
    assert!(
        fetches >= 1,
        "the cooldowns that passed allowed some fetches"
    );
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok());
}

#[test]
fn two_realms_with_the_same_kid_each_verify_through_discovery() {
    let [ka, kb, _] = keys();
    // Both realms publish their own key under the kid "same".
    let jwk = |k: &Key| {
        let mut j = k.jwk();
        j["kid"] = "same".into();
        j
    };
    let (ja, jb) = (jwks(&[jwk(ka)]), jwks(&[jwk(kb)]));
    let addr: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&addr);
    let server = Server::start(move |path, _| {
        let base = base.lock().unwrap().clone();
        match path {
            "/realms/a/.well-known/openid-configuration" => Reply::Json(
                discovery(
                    &format!("{base}/realms/a"),
                    &format!("{base}/realms/a/certs"),
                ),
                None,
            ),
            "/realms/b/.well-known/openid-configuration" => Reply::Json(
                discovery(
                    &format!("{base}/realms/b"),
                    &format!("{base}/realms/b/certs"),
                ),
                None,
            ),
            "/realms/a/certs" => Reply::Json(ja.clone(), Some("max-age=600")),
            "/realms/b/certs" => Reply::Json(jb.clone(), None),
            _ => Reply::Status(404),
        }
    });
    *addr.lock().unwrap() = server.url("");
    let (a, b) = (server.url("/realms/a"), server.url("/realms/b"));
    let v = RemoteVerifier::new(Policy::new([a.as_str(), b.as_str()]), Options::default()).unwrap();
    let ta = ka.token_with_kid(&a, "same");
    let tb = kb.token_with_kid(&b, "same");
    assert!(v.verify(ta.as_bytes(), NOW).is_ok());
    assert!(v.verify(tb.as_bytes(), NOW).is_ok());
    // Realm B's claim signed with realm A's key: never valid.
    let forged = ka.token_with_kid(&b, "same");
    assert_eq!(
        kind(v.verify(forged.as_bytes(), NOW)),
        Some(ErrorKind::WrongIssuer)
    );
    let st = v.status();
    assert_eq!(
        st[0].jwks_uri.as_deref(),
        Some(format!("{a}/certs").as_str())
    );
    assert_eq!(st[0].kids, ["same"]);
    // max-age=600 for realm a, the 300 s default for realm b.
    let life = |i: usize| {
        st[i]
            .expires_at
            .unwrap()
            .duration_since(st[i].last_success.unwrap())
            .unwrap()
    };
    assert_eq!(life(0), Duration::from_secs(600));
    assert_eq!(life(1), Duration::from_secs(300));
}

#[test]
fn a_trailing_slash_issuer_is_discovered_and_compared_exactly() {
    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let addr: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&addr);
    let server = Server::start(move |path, _| {
        let base = base.lock().unwrap().clone();
        match path {
            "/realms/s/.well-known/openid-configuration" => Reply::Json(
                discovery(
                    &format!("{base}/realms/s/"),
                    &format!("{base}/realms/s/certs"),
                ),
                None,
            ),
            "/realms/x/.well-known/openid-configuration" => Reply::Json(
                discovery(
                    &format!("{base}/realms/other"),
                    &format!("{base}/realms/s/certs"),
                ),
                None,
            ),
            "/realms/s/certs" => Reply::Json(body.clone(), None),
            _ => Reply::Status(404),
        }
    });
    *addr.lock().unwrap() = server.url("");
    let slash = server.url("/realms/s/");
    let v = RemoteVerifier::new(Policy::new([slash.as_str()]), Options::default()).unwrap();
    v.refresh().unwrap();
    assert!(v.verify(k1.token(&slash).as_bytes(), NOW).is_ok());
    // A discovery document naming another issuer is refused.
    let x = server.url("/realms/x");
    let v = RemoteVerifier::new(Policy::new([x.as_str()]), Options::default()).unwrap();
    let err = v.refresh().unwrap_err().to_string();
    assert!(err.contains("is not the configured"), "{err}");
}

#[test]
fn a_transient_failure_is_retried_once_inside_the_deadline() {
    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let server = Server::start(move |_, n| match n {
        0 | 2 | 3 => Reply::Status(503),
        _ => Reply::Json(body.clone(), None),
    });
    let iss = server.url(REALM);
    let o = Options::default().with_refresh_cooldown(Duration::ZERO);
    let v = verifier(&iss, &server.url("/certs"), o);
    let start = Instant::now();
    v.refresh().unwrap();
    assert_eq!(server.hits(), 2, "one retry");
    assert!(start.elapsed() < Duration::from_millis(1000));
    // Twice in a row: one retry only, then the attempt fails (keys kept).
    let err = v.refresh().unwrap_err().to_string();
    assert!(err.contains("HTTP status 503 (after one retry)"), "{err}");
    assert_eq!(server.hits(), 4);
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok());
}

/// Realm B shares a kid with realm A but is down: its token fails against A's key,
/// which must not be a 401 while B's own keys are unknown.
#[test]
fn a_shared_kid_of_a_realm_without_keys_is_keys_unavailable_then_verifies() {
    let [ka, kb, _] = keys();
    let jwk = |k: &Key| {
        let mut j = k.jwk();
        j["kid"] = "same".into();
        j
    };
    let (ja, jb) = (jwks(&[jwk(ka)]), jwks(&[jwk(kb)]));
    let b_up = Arc::new(AtomicBool::new(false));
    let up = Arc::clone(&b_up);
    let server = Server::start(move |path, _| match path {
        "/a/certs" => Reply::Json(ja.clone(), None),
        "/b/certs" if up.load(Ordering::SeqCst) => Reply::Json(jb.clone(), None),
        _ => Reply::Status(500),
    });
    let (a, b) = (server.url("/realms/a"), server.url("/realms/b"));
    let o = Options::default()
        .with_timeout(Duration::from_secs(2))
        .with_refresh_cooldown(Duration::ZERO)
        .with_jwks_uri(&a, server.url("/a/certs"))
        .with_jwks_uri(&b, server.url("/b/certs"));
    let v = RemoteVerifier::new(Policy::new([a.as_str(), b.as_str()]), o).unwrap();
    assert!(v.refresh().is_err(), "realm b is down");
    assert!(v
        .verify(ka.token_with_kid(&a, "same").as_bytes(), NOW)
        .is_ok());
    let tb = kb.token_with_kid(&b, "same");
    assert_eq!(
        kind(v.verify(tb.as_bytes(), NOW)),
        Some(ErrorKind::KeysUnavailable)
    );
    b_up.store(true, Ordering::SeqCst);
    assert!(v.verify(tb.as_bytes(), NOW).is_ok());
    // With every realm's keys held, a forgery under the shared kid is a 401 again.
    let forged = ka.token_with_kid(&b, "same");
    assert_eq!(
        kind(v.verify(forged.as_bytes(), NOW)),
        Some(ErrorKind::WrongIssuer)
    );
    let mut bad = tb.into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(kind(v.verify(&bad, NOW)), Some(ErrorKind::BadSignature));
}

#[test]
fn a_realm_that_is_down_does_not_hold_up_one_that_answers() {
    let [k1, k2, _] = keys();
    let first = jwks(&[k1.jwk()]);
    let both = jwks(&[k1.jwk(), k2.jwk()]);
    let server = Server::start(move |_, n| {
        Reply::Json(if n == 0 { first.clone() } else { both.clone() }, None)
    });
    // Realm "down" trickles: each of its attempts takes the whole deadline.
    let slow = Server::start(|_, _| Reply::Trickle(vec![b' '; 100], Duration::from_millis(500)));
    let (up, down) = (server.url("/realms/up"), slow.url("/realms/down"));
    let o = Options::default()
        .with_timeout(Duration::from_secs(2))
        .with_refresh_cooldown(Duration::ZERO)
        .with_jwks_uri(&up, server.url("/certs"))
        .with_jwks_uri(&down, slow.url("/certs"));
    let v = RemoteVerifier::new(Policy::new([up.as_str(), down.as_str()]), o).unwrap();
    assert!(v.refresh().is_err(), "realm down has no keys");
    assert!(v.verify(k1.token(&up).as_bytes(), NOW).is_ok());
    let t = Instant::now();
    assert!(v.verify(k2.token(&up).as_bytes(), NOW).is_ok());
    let took = t.elapsed();
    assert!(took < Duration::from_millis(500), "{took:?}");
    // A kid nobody has, while realm "down" has no keys: keys_unavailable after the wait.
    let t = Instant::now();
    let err = v
        .verify(junk_token(&up, "nobody").as_bytes(), NOW)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(
        t.elapsed() < Duration::from_millis(2300),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn redirects_are_refused() {
    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let addr: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&addr);
    let server = Server::start(move |path, _| match path {
        "/certs" => Reply::Redirect(format!("{}/real", base.lock().unwrap())),
        _ => Reply::Json(body.clone(), None),
    });
    *addr.lock().unwrap() = server.url("");
    let iss = server.url(REALM);
    let v = verifier(&iss, &server.url("/certs"), Options::default());
    let err = v.refresh().unwrap_err().to_string();
    assert!(err.contains("HTTP 302 redirect refused"), "{err}");
    assert_eq!(server.hits(), 1, "the redirect was not followed");
    assert!(v.snapshot().is_none());
}

#[test]
fn urls_break_the_rules_at_construction_or_fetch() {
    let cfg = |issuer: &str, jwks: Option<&str>| {
        let mut o = Options::default();
        if let Some(j) = jwks {
            o = o.with_jwks_uri(issuer, j);
        }
        RemoteVerifier::new(Policy::new([issuer]), o)
    };
    for (iss, jwks) in [
        ("http://foo.localhost/realms/a", None),
        ("http://sso.example.com/realms/a", None),
        (
            "https://sso.example.com/realms/a",
            Some("http://sso.example.com/certs"),
        ),
        (
            "https://sso.example.com/realms/a",
            Some("http://foo.localhost:8080/certs"),
        ),
        ("ftp://sso.example.com/realms/a", None),
    ] {
        let err = cfg(iss, jwks).unwrap_err();
        assert!(
            matches!(err, RemoteError::Config(_)),
            "{iss} {jwks:?}: {err}"
        );
    }
    assert!(cfg(
        "https://sso.example.com/realms/a",
        Some("https://sso.example.com/certs")
    )
    .is_ok());
    // A jwks_uri for an untrusted issuer.
    let o = Options::default().with_jwks_uri("https://evil", "https://evil/certs");
    assert!(RemoteVerifier::new(Policy::new(["https://sso.example.com/realms/a"]), o).is_err());
    // A discovered jwks_uri in plain http to a non-loopback host is never fetched.
    let addr: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&addr);
    let server = Server::start(move |_, _| {
        let base = base.lock().unwrap().clone();
        Reply::Json(
            discovery(&format!("{base}/realms/a"), "http://jwks.example.com/certs"),
            None,
        )
    });
    *addr.lock().unwrap() = server.url("");
    let iss = server.url("/realms/a");
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), Options::default()).unwrap();
    let err = v.refresh().unwrap_err().to_string();
    assert!(
        err.contains("plain http is allowed only to a loopback"),
        "{err}"
    );
}

#[test]
fn issuer_down_at_start_is_keys_unavailable_until_it_comes_up() {
    let k1 = &keys()[0];
    let port = free_port();
    let iss = format!("http://127.0.0.1:{port}{REALM}");
    let options = Options::default()
        .with_timeout(Duration::from_millis(800))
        .with_refresh_cooldown(Duration::from_millis(200));
    let v = verifier(&iss, &format!("http://127.0.0.1:{port}/certs"), options);
    let token = k1.token(&iss);
    let start = Instant::now();
    let err = v.verify(token.as_bytes(), NOW).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.http_status(), 503);
    assert!(start.elapsed() < Duration::from_millis(1000));
    let st = &v.status()[0];
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains("/certs")),
        "{st:?}"
    );
    assert!(st.fetch_count >= 1 && st.kids.is_empty());
    // The issuer comes up; after the cooldown the next verify fetches and succeeds.
    let body = jwks(&[k1.jwk()]);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let _server = Server::start_on(listener, move |_, _| Reply::Json(body.clone(), None), None);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(v.verify(token.as_bytes(), NOW).is_ok());
    assert!(v.status()[0].last_error.is_none());
}

#[test]
fn fail_fast_fetches_in_new() {
    let port = free_port();
    let iss = format!("http://127.0.0.1:{port}{REALM}");
    let o = Options::default()
        .with_fail_fast(true)
        .with_timeout(Duration::from_millis(500))
        .with_jwks_uri(&iss, format!("http://127.0.0.1:{port}/certs"));
    let err = RemoteVerifier::new(Policy::new([iss.as_str()]), o).unwrap_err();
    assert!(matches!(err, RemoteError::Fetch { .. }), "{err}");

    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let server = Server::start(move |_, _| Reply::Json(body.clone(), None));
    let iss = server.url(REALM);
    let o = Options::default().with_fail_fast(true);
    let v = verifier(&iss, &server.url("/certs"), o);
    assert!(
        v.snapshot().is_some(),
        "keys are there before the first verify"
    );
    assert_eq!(server.hits(), 1);
}

#[test]
fn non_blocking_answers_at_once_and_the_next_request_sees_the_key() {
    let [k1, k2, _] = keys();
    let first = jwks(&[k1.jwk()]);
    let both = jwks(&[k1.jwk(), k2.jwk()]);
    let server = Server::start(move |_, n| {
        if n == 0 {
            Reply::Json(first.clone(), None)
        } else {
            Reply::Slow(Duration::from_millis(700), both.clone())
        }
    });
    let iss = server.url(REALM);
    let v = verifier(
        &iss,
        &server.url("/certs"),
        Options::default()
            .with_non_blocking(true)
            .with_refresh_cooldown(Duration::from_millis(300)),
    );
    v.refresh().unwrap();
    // Within the cooldown that follows the end of the first fetch: no new fetch.
    assert_eq!(
        kind(v.verify(k2.token(&iss).as_bytes(), NOW)),
        Some(ErrorKind::UnknownKid)
    );
    assert_eq!(server.hits(), 1);
    std::thread::sleep(Duration::from_millis(350));
    let t = Instant::now();
    assert_eq!(
        kind(v.verify(k2.token(&iss).as_bytes(), NOW)),
        Some(ErrorKind::UnknownKid)
    );
    let at_once = t.elapsed();
    assert!(at_once < Duration::from_millis(100), "{at_once:?}");
    std::thread::sleep(Duration::from_millis(1200));
    assert!(v.verify(k2.token(&iss).as_bytes(), NOW).is_ok());
    assert_eq!(server.hits(), 2);
}

#[test]
fn options_from_json_drive_the_engine() {
    let k1 = &keys()[0];
    let body = jwks(&[k1.jwk()]);
    let server = Server::start(move |_, _| Reply::Json(body.clone(), Some("no-store")));
    let iss = server.url(REALM);
    let json = format!(
        r#"{{"timeout": 1.5, "min_ttl": 2, "max_ttl": 10, "fail_fast": true,
            "jwks_uris": {{"{iss}": "{}"}}}}"#,
        server.url("/certs")
    );
    let o = Options::from_json(json.as_bytes()).unwrap();
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), o).unwrap();
    let st = &v.status()[0];
    let life = st
        .expires_at
        .unwrap()
        .duration_since(st.last_success.unwrap())
        .unwrap();
    assert_eq!(life, Duration::from_secs(2), "no-store gets min_ttl");
    // Refresh ahead of expiry in the background (at 4/5 of the 2 s lifetime).
    std::thread::sleep(Duration::from_millis(2000));
    assert!(server.hits() >= 2, "background refresh");
    assert!(v.verify(k1.token(&iss).as_bytes(), NOW).is_ok());
}
