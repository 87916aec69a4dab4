//! The C ABI (libxconnauth) driven with hostile arguments, checked against the core.
//!
//! Input: `[selector][cap][rest...]`. Depending on the selector, `rest` is a token
//! (or an `Authorization` value) for the sample verifier, a JWKS for
//! `xca_verifier_new`/`xca_verifier_set_jwks`, a policy JSON, or realm/type/instance
//! strings for the HTTP helpers; `cap` picks the output buffer size (0, small, exact,
//! large). Invariants:
//! - every call returns a documented status, never `XCA_PANIC`;
//! - `xca_verify` agrees with the core's `Verifier::verify` on category and payload;
//! - outputs are written only on success: the bytes past `claims_len` and, on failure,
//!   the whole buffer keep their canary;
//! - `XCA_BUFFER_TOO_SMALL` reports a length that then succeeds.
#![no_main]
use std::ffi::{c_char, CStr, CString};
use std::ptr;

use libfuzzer_sys::fuzz_target;
use xconnauth_ffi as ffi;
use xconnauth_fuzz::{sample_verifier, SAMPLE_JWKS, SAMPLE_POLICY};

const CANARY: u8 = 0xA5;
const NOW: i64 = xconnauth_fuzz::NOW as i64;

struct Handle(*mut ffi::xca_verifier);
// The handle is documented thread-safe (libFuzzer runs one thread anyway).
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

fn sample_handle() -> *mut ffi::xca_verifier {
    static H: std::sync::OnceLock<Handle> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let mut out = ptr::null_mut();
        let st = {
            ffi::xca_verifier_new(
                SAMPLE_JWKS.as_ptr(),
                SAMPLE_JWKS.len(),
                SAMPLE_POLICY.as_ptr(),
                SAMPLE_POLICY.len(),
                &mut out,
            )
        };
        assert_eq!(st, ffi::XCA_OK);
        Handle(out)
    })
    .0
}

fn status_name(st: ffi::xca_status) -> String {
    // SAFETY: a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(ffi::xca_status_name(st)) }
        .to_string_lossy()
        .into_owned()
}

fn cap_for(sel: u8, needed: usize) -> usize {
    match sel % 4 {
        0 => 0,
        1 => needed.saturating_sub(1 + usize::from(sel >> 4)),
        2 => needed,
        _ => needed + usize::from(sel),
    }
}

/// Calls `xca_verify` (or `xca_verify_header`) with a canary-filled buffer of `cap`.
fn verify(header: bool, input: &[u8], cap: usize) -> (ffi::xca_status, Vec<u8>, usize) {
    let mut buf = vec![CANARY; cap];
    let mut len = usize::MAX;
    let out = if cap == 0 {
        ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    let f = if header {
        ffi::xca_verify_header
    } else {
        ffi::xca_verify
    };
    let st = f(
        sample_handle(),
        input.as_ptr(),
        input.len(),
        NOW,
        out,
        cap,
        &mut len,
    );
    (st, buf, len)
}

fn check_verify(header: bool, sel: u8, input: &[u8]) {
    let core = if header {
        // The bytes after "Bearer " are judged as xca_verify judges them, UTF-8 or not.
        sample_verifier()
            .verify_header_bytes(input, NOW as u64)
            .map_err(|e| e.kind())
    } else {
        sample_verifier()
            .verify(input, NOW as u64)
            .map_err(|e| e.kind())
    };
    let needed = core.as_ref().map_or(0, |t| t.payload_json().len());
    let cap = cap_for(sel, needed);
    let (st, buf, len) = verify(header, input, cap);
    assert_ne!(st, ffi::XCA_PANIC);
    match &core {
        Ok(t) if cap >= needed => {
            assert_eq!(st, ffi::XCA_OK);
            assert_eq!(len, needed);
            assert_eq!(&buf[..len], t.payload_json().as_bytes());
            assert!(
                buf[len..].iter().all(|&b| b == CANARY),
                "wrote past claims_len"
            );
        }
        Ok(_) => {
            assert_eq!(st, ffi::XCA_BUFFER_TOO_SMALL);
            assert_eq!(len, needed, "needed length");
            assert!(buf.iter().all(|&b| b == CANARY), "wrote on failure");
            let (st, _, len2) = verify(header, input, needed);
            assert_eq!(
                (st, len2),
                (ffi::XCA_OK, needed),
                "retry with the reported size"
            );
        }
        Err(kind) => {
            assert_eq!(
                status_name(st),
                kind.code(),
                "category differs from the core"
            );
            assert!(buf.iter().all(|&b| b == CANARY), "wrote on failure");
        }
    }
}

fn check_new(jwks: &[u8], policy: &[u8]) {
    let mut out = ptr::null_mut();
    let st = ffi::xca_verifier_new(
        jwks.as_ptr(),
        jwks.len(),
        policy.as_ptr(),
        policy.len(),
        &mut out,
    );
    let core = xconnauth::KeySet::from_jwks(jwks).is_ok()
        && xconnauth::Policy::from_json(policy).is_ok_and(|p| {
            xconnauth::KeySet::from_jwks(jwks).is_ok_and(|k| xconnauth::Verifier::new(k, p).is_ok())
        });
    assert_ne!(st, ffi::XCA_PANIC);
    if core {
        assert_eq!(st, ffi::XCA_OK);
        assert!(!out.is_null());
        // Swapping in the same JWKS must also work, and verify must not panic after.
        let st = ffi::xca_verifier_set_jwks(out, jwks.as_ptr(), jwks.len());
        assert_eq!(st, ffi::XCA_OK);
        let tok = xconnauth_fuzz::sample_token();
        let st = ffi::xca_verify(
            out,
            tok.as_ptr(),
            tok.len(),
            NOW,
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        );
        assert_ne!(st, ffi::XCA_PANIC);
        ffi::xca_verifier_free(out);
    } else {
        assert_eq!(st, ffi::XCA_INVALID_CONFIG, "{}", status_name(st));
        assert!(out.is_null(), "out written on failure");
    }
}

fn check_http(sel: u8, status: u32, text: &[u8]) {
    let (a, b) = text.split_at(text.len() / 2);
    let a = CString::new(a.to_vec()).ok();
    let b = CString::new(b.to_vec()).ok();
    let ptr_of = |c: &Option<CString>| c.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    for which in 0..2 {
        let call = |out: *mut c_char, cap: usize, len: &mut usize| -> u32 {
            {
                if which == 0 {
                    ffi::xca_www_authenticate(status, ptr_of(&a), out, cap, len)
                } else {
                    ffi::xca_problem_json(status, ptr_of(&a), ptr_of(&b), out, cap, len)
                }
            }
        };
        let mut needed = 0usize;
        let st = call(ptr::null_mut(), 0, &mut needed);
        assert_ne!(st, ffi::XCA_PANIC);
        if st != ffi::XCA_BUFFER_TOO_SMALL && st != ffi::XCA_OK {
            continue;
        }
        let cap = cap_for(sel, needed + 1);
        let mut buf = vec![CANARY as c_char; cap];
        let mut len = usize::MAX;
        let out = if cap == 0 {
            ptr::null_mut()
        } else {
            buf.as_mut_ptr()
        };
        let st = call(out, cap, &mut len);
        if cap > needed {
            assert_eq!(st, ffi::XCA_OK);
            assert_eq!(len, needed);
            assert_eq!(buf[len], 0, "NUL terminator");
            // SAFETY: NUL-terminated (checked just above).
            let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
            assert!(text.to_str().is_ok(), "output is UTF-8");
            if which == 1 {
                let v: serde_json::Value =
                    serde_json::from_slice(text.to_bytes()).expect("problem JSON parses");
                assert!(v.get("status").is_some());
            }
        } else {
            assert_eq!(st, ffi::XCA_BUFFER_TOO_SMALL);
            assert_eq!(len, needed);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, cap, rest @ ..] = data else {
        return;
    };
    match sel % 5 {
        0 => check_verify(false, *cap, rest),
        1 => check_verify(true, *cap, rest),
        2 => check_new(rest, SAMPLE_POLICY.as_bytes()),
        3 => check_new(SAMPLE_JWKS.as_bytes(), rest),
        _ => check_http(*cap, u32::from(sel / 5) % 24, rest),
    }
});
