//! A child after `fork()` that only ever verifies on [`RemoteVerifier::snapshot`] (an
//! event loop verifying inline with the keys it holds) still gets the background
//! refresh: the snapshot starts the child's worker once a refresh is due, so a key
//! the issuer rotates in is picked up (and one it removes stops being trusted). Its
//! own test binary, so the process forks with as few threads as possible.
#![cfg(unix)]
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::{jwks, Key, Reply, Server, NOW};
use xconnauth::Policy;
use xconnauth_remote::{Options, RemoteVerifier};

#[test]
fn a_child_verifying_on_snapshots_keeps_refreshing() {
    let (k1, k2) = (Key::new("k1"), Key::new("k2"));
    let (first, second) = (jwks(&[k1.jwk()]), jwks(&[k2.jwk()]));
    // A short lifetime, so a background refresh falls due within the test.
    let server = Server::start(move |_, n| {
        let body = if n == 0 {
            first.clone()
        } else {
            second.clone()
        };
        Reply::Json(body, Some("max-age=1"))
    });
    let iss = server.url("/realms/demo");
    let options = Options::default()
        .with_fail_fast(true)
        .with_min_ttl(Duration::from_millis(200))
        .with_timeout(Duration::from_millis(500))
        .with_jwks_uri(&iss, server.url("/certs"));
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), options).unwrap();
    let (t1, t2) = (k1.token(&iss), k2.token(&iss));
    // SAFETY: the child only verifies (its allocator and the engine's locks are not held
    // by the parent's idle threads) and leaves with _exit, running no parent cleanup.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: plain libc calls in the child.
        unsafe { libc::alarm(10) };
        let start = Instant::now();
        let mut code = 1;
        while start.elapsed() < Duration::from_secs(6) {
            let snap = v.snapshot().unwrap();
            if snap.verify(t2.as_bytes(), NOW).is_ok() {
                // The rotated-out key is no longer trusted.
                code = if snap.verify(t1.as_bytes(), NOW).is_err() {
                    0
                } else {
                    3
                };
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child killed: {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child never refreshed through snapshots"
    );
}
