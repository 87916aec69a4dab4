//! A verifier created before `fork()` (an nginx master, say) works in the child: the
//! child has none of the parent's threads, and the engine starts its own there. Its
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

use std::time::Duration;

use common::{jwks, Key, Reply, Server, NOW};
use xconnauth::Policy;
use xconnauth_remote::{Options, RemoteVerifier};

#[test]
fn a_child_process_refreshes_with_its_own_thread() {
    let (k1, k2) = (Key::new("k1"), Key::new("k2"));
    let first = jwks(&[k1.jwk()]);
    let both = jwks(&[k1.jwk(), k2.jwk()]);
    let server = Server::start(move |_, n| {
        Reply::Json(if n == 0 { first.clone() } else { both.clone() }, None)
    });
    let iss = server.url("/realms/demo");
    let options = Options::default()
        .with_fail_fast(true)
        .with_refresh_cooldown(Duration::ZERO)
        .with_timeout(Duration::from_secs(3))
        .with_jwks_uri(&iss, server.url("/certs"));
    // fail_fast: the parent's worker thread exists and has fetched k1.
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), options).unwrap();
    let token = k2.token(&iss);
    // SAFETY: the child only verifies (its allocator and the engine's locks are not held
    // by the parent's idle threads) and leaves with _exit, running no parent cleanup.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: plain libc calls in the child.
        unsafe { libc::alarm(10) };
        let code = match v.verify(token.as_bytes(), NOW) {
            Ok(_) if v.status()[0].kids.len() == 2 => 0,
            Ok(_) => 3,
            Err(_) => 1,
        };
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child killed: {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child could not refresh");
    assert_eq!(
        server.hits(),
        2,
        "one fetch in the parent, one in the child"
    );
    // The parent never saw k2 (its keys are its own).
    assert_eq!(v.status()[0].kids, ["k1"]);
}
