//! `xca_verify` / `xca_verify_header` allocate nothing from Rust code: every case of
//! the dev corpus (valid, expired, bad signature, malformed, too large, ...) through
//! both calls, as verdict only, as a size query and into a buffer, counted by a global
//! allocator that sees every Rust allocation of the calling thread.
//!
//! The crypto library's (aws-lc's) own C allocations do not pass through Rust's
//! allocator and are not counted here; `ffi/tests/c/test_alloc.c` counts `malloc` itself
//! and tells the two apart.
//!
//! Each verifier is used once before counting: a thread's first call sets up its
//! arc-swap slot and the destructors of the library's thread-local slots (once per
//! thread, never again).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use xconnauth::{
    xca_last_error_message, xca_status_name, xca_verifier, xca_verifier_free, xca_verifier_new,
    xca_verify, xca_verify_header, XCA_BUFFER_TOO_SMALL, XCA_OK,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Only the thread under test counts (the test harness allocates on its own threads).
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; counting touches no
// memory the allocator hands out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Rust allocations made by `f` on this thread.
fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (ALLOCATIONS.load(Ordering::Relaxed) - before, r)
}

fn name(status: u32) -> String {
    // SAFETY: xca_status_name returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(xca_status_name(status)) }
        .to_string_lossy()
        .into_owned()
}

fn last_error() -> String {
    let mut buf = vec![0u8; 1024];
    let mut len = 0usize;
    let s = xca_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut len);
    assert_eq!(s, XCA_OK);
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

type VerifyFn =
    extern "C" fn(*const xca_verifier, *const u8, usize, i64, *mut u8, usize, *mut usize) -> u32;

/// The three ways to call: verdict only, size query, a buffer large enough.
fn calls(f: VerifyFn, v: *const xca_verifier, data: &[u8], now: i64, buf: &mut [u8]) -> [u32; 3] {
    let mut need = 0usize;
    let mut got = 0usize;
    [
        f(
            v,
            data.as_ptr(),
            data.len(),
            now,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        ),
        f(
            v,
            data.as_ptr(),
            data.len(),
            now,
            std::ptr::null_mut(),
            0,
            &mut need,
        ),
        f(
            v,
            data.as_ptr(),
            data.len(),
            now,
            buf.as_mut_ptr(),
            buf.len(),
            &mut got,
        ),
    ]
}

#[test]
fn verify_allocates_nothing_in_rust() {
    let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev");
    let mut cases = 0;
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    let mut buf = vec![0u8; 1 << 17];
    for file in ["cases.jsonl", "wycheproof_jwt.jsonl"] {
        let text = std::fs::read_to_string(dev.join(file)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let case_name = case["name"].as_str().unwrap();
            let jwks = std::fs::read(dev.join(case["jwks_ref"].as_str().unwrap())).unwrap();
            let policy = case["options"].to_string();
            let want = match &case["expect"] {
                serde_json::Value::String(s) => s.clone(),
                e => e["error"].as_str().unwrap().to_string(),
            };
            let token = case["token"].as_str().unwrap().as_bytes().to_vec();
            let header = [b"Bearer ".as_slice(), &token].concat();
            let now = case["now"].as_i64().unwrap();
            let mut v: *mut xca_verifier = std::ptr::null_mut();
            let s = xca_verifier_new(
                jwks.as_ptr(),
                jwks.len(),
                policy.as_ptr(),
                policy.len(),
                &mut v,
            );
            assert_eq!(s, XCA_OK, "{case_name}: xca_verifier_new");

            // Warm-up: the thread's one-time setup, outside the count.
            calls(xca_verify, v, &token, now, &mut buf);
            let (n, got) = count(|| calls(xca_verify, v, &token, now, &mut buf));
            assert_eq!(n, 0, "{case_name}: xca_verify allocated {n} times in Rust");
            let (n, hgot) = count(|| calls(xca_verify_header, v, &header, now, &mut buf));
            assert_eq!(
                n, 0,
                "{case_name}: xca_verify_header allocated {n} times in Rust"
            );

            // The counted calls gave the corpus verdict (a test that measured early
            // refusals only would prove nothing).
            let expect = if want == "ok" {
                [XCA_OK, XCA_BUFFER_TOO_SMALL, XCA_OK].map(name)
            } else {
                [want.clone(), want.clone(), want.clone()]
            };
            assert_eq!(got.map(name), expect, "{case_name}: xca_verify");
            let has_space = token.iter().any(u8::is_ascii_whitespace);
            if !has_space && !token.is_empty() {
                assert_eq!(hgot.map(name), expect, "{case_name}: xca_verify_header");
            }
            // The message, built only now, is the one the category asks for.
            if want != "ok" {
                let (_, verdict) = count(|| {
                    xca_verify(
                        v,
                        token.as_ptr(),
                        token.len(),
                        now,
                        std::ptr::null_mut(),
                        0,
                        std::ptr::null_mut(),
                    )
                });
                assert_eq!(name(verdict), want);
                let msg = last_error();
                assert!(msg.starts_with(&format!("{want}: ")), "{case_name}: {msg}");
            }
            *verdicts.entry(want).or_default() += 1;
            xca_verifier_free(v);
            cases += 1;
        }
    }
    assert!(cases >= 390, "the dev corpus has {cases} cases");
    for kind in [
        "ok",
        "expired",
        "bad_signature",
        "malformed",
        "too_large",
        "bad_json",
    ] {
        assert!(
            verdicts.contains_key(kind),
            "no {kind} case in the corpus: {verdicts:?}"
        );
    }
}

#[test]
fn size_query_and_copy_allocate_nothing() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/keycloak");
    let jwks = std::fs::read(examples.join("jwks.json")).unwrap();
    let policy = std::fs::read(examples.join("policy.json")).unwrap();
    let token = std::fs::read_to_string(examples.join("token.jwt")).unwrap();
    let token = token.trim().as_bytes();
    let mut v: *mut xca_verifier = std::ptr::null_mut();
    assert_eq!(
        xca_verifier_new(
            jwks.as_ptr(),
            jwks.len(),
            policy.as_ptr(),
            policy.len(),
            &mut v
        ),
        XCA_OK
    );
    let now = 1_764_000_000;
    let mut need = 0usize;
    let mut small = [0u8; 16];
    let mut len = 0usize;
    xca_verify(
        v,
        token.as_ptr(),
        token.len(),
        now,
        small.as_mut_ptr(),
        small.len(),
        &mut len,
    );
    let (n, s) = count(|| {
        xca_verify(
            v,
            token.as_ptr(),
            token.len(),
            now,
            std::ptr::null_mut(),
            0,
            &mut need,
        )
    });
    assert_eq!((n, s), (0, XCA_BUFFER_TOO_SMALL));
    let (n, s) = count(|| {
        xca_verify(
            v,
            token.as_ptr(),
            token.len(),
            now,
            small.as_mut_ptr(),
            small.len(),
            &mut len,
        )
    });
    assert_eq!((n, s, len), (0, XCA_BUFFER_TOO_SMALL, need));
    // The message of a too-small buffer is the one the text outputs give.
    assert_eq!(
        last_error(),
        format!("buffer_too_small: the output needs {need} bytes, the buffer holds 16")
    );
    let mut buf = vec![0u8; need];
    let (n, s) = count(|| {
        xca_verify(
            v,
            token.as_ptr(),
            token.len(),
            now,
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
        )
    });
    assert_eq!((n, s, len), (0, XCA_OK, need));
    assert!(buf.starts_with(b"{") && buf.ends_with(b"}"));
    assert_eq!(last_error(), "");
    xca_verifier_free(v);
}
