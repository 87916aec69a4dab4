//! What the layer costs on top of a bare verify: the bundled Keycloak sample token
//! (examples/keycloak) through (a) `Verifier::verify_header`, (b) an axum router
//! without the layer, (c) the same router behind `AuthLayer` with static keys, (d) behind
//! `AuthLayer` with a `RemoteVerifier` whose keys are loaded (the lock-free snapshot
//! path), and (e) with a `Require` guard added. Timed loops on a current_thread runtime.
//!
//! ```sh
//! cargo bench -p xconnauth-tower --bench overhead
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use xconnauth::{KeySet, Policy, Verifier};
use xconnauth_tower::{AuthLayer, AuthToken, Options, Require, TokenVerifier};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/keycloak/");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLE}{name}")).unwrap()
}

fn now() -> u64 {
    String::from_utf8(read("now.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Serves the sample JWKS on loopback for the remote variant.
fn jwks_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    let body = read("jwks.json");
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(&body));
        }
    });
    url
}

async fn ok(_t: Option<AuthToken>) -> &'static str {
    "ok"
}

fn per_call(start: Instant, n: u32) -> Duration {
    start.elapsed() / n
}

async fn through(app: &Router, value: &str, n: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let req = Request::builder()
            .uri("/x")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    per_call(start, n)
}

fn main() {
    // `cargo bench -- --test` (CI smoke): a few iterations only.
    let n: u32 = if std::env::args().any(|a| a == "--test") {
        20
    } else {
        20_000
    };
    let policy = Policy::from_json(&read("policy.json")).unwrap();
    let keys = KeySet::from_jwks(&read("jwks.json")).unwrap();
    let verifier = Verifier::new(keys, policy.clone()).unwrap();
    let token = String::from_utf8(read("token.jwt")).unwrap();
    let value = format!("Bearer {}", token.trim());
    static NOW: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    NOW.get_or_init(now);
    let clock = || *NOW.get().unwrap_or(&0);

    let options = Options::default().with_jwks_uri(&policy.issuers[0], jwks_server());
    let remote = TokenVerifier::remote(policy.clone(), options).unwrap();
    if let TokenVerifier::Remote(r) = &remote {
        r.refresh().unwrap();
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let plain: Router = Router::new().route("/x", get(ok));
        let with_static = plain
            .clone()
            .layer(AuthLayer::new(verifier.clone()).clock(clock));
        let with_remote = plain.clone().layer(AuthLayer::new(remote).clock(clock));
        let guarded: Router = Router::new()
            .route(
                "/x",
                get(ok).layer(Require::new().scope("spark").realm_role("offline_access")),
            )
            .layer(AuthLayer::new(verifier.clone()).clock(clock));
        // `XCA_BENCH_ONLY=<variant> XCA_BENCH_N=<n>`: that variant alone, n calls, for
        // instruction counts under `valgrind --tool=callgrind` (two n, then the
        // difference per call: wall time is meaningless on a loaded machine).
        if let Ok(only) = std::env::var("XCA_BENCH_ONLY") {
            let k: u32 = std::env::var("XCA_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
            match only.as_str() {
                "bare" => {
                    for _ in 0..k {
                        verifier.verify_header(&value, clock()).unwrap();
                    }
                }
                "router" => drop(through(&plain, &value, k).await),
                "static" => drop(through(&with_static, &value, k).await),
                "remote" => drop(through(&with_remote, &value, k).await),
                "guard" => drop(through(&guarded, &value, k).await),
                other => panic!("unknown variant {other}"),
            }
            return;
        }
        // Rounds interleave the variants and the fastest round of each counts: the
        // machine is shared, and noise only ever adds time.
        let rounds = 50;
        let m = (n / rounds).max(1);
        let mut best = [Duration::MAX; 5];
        for _ in 0..rounds {
            let start = Instant::now();
            for _ in 0..m {
                verifier.verify_header(&value, clock()).unwrap();
            }
            let times = [
                per_call(start, m),
                through(&plain, &value, m).await,
                through(&with_static, &value, m).await,
                through(&with_remote, &value, m).await,
                through(&guarded, &value, m).await,
            ];
            for (b, t) in best.iter_mut().zip(times) {
                *b = (*b).min(t);
            }
        }
        let [bare, router, stat, rem, guard] = best;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "backend {}, {rounds} rounds of {m} calls, fastest round, per call:",
            xconnauth::Backend::default().name()
        );
        println!("  bare Verifier::verify_header          {:8.2} µs", us(bare));
        println!("  axum router, no layer                 {:8.2} µs", us(router));
        println!("  router + AuthLayer (static keys)      {:8.2} µs", us(stat));
        println!("  router + AuthLayer (remote, snapshot) {:8.2} µs", us(rem));
        println!("  router + AuthLayer + Require guard    {:8.2} µs", us(guard));
        println!(
            "  layer overhead beyond verify + router: static {:+.2} µs, remote {:+.2} µs; guard {:+.2} µs",
            us(stat) - us(router) - us(bare),
            us(rem) - us(router) - us(bare),
            us(guard) - us(stat),
        );
    });
}
