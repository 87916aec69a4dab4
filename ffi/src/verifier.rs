//! The verifier handle: build, verify (from many threads), swap keys, free.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use xconnauth_core::{KeySet, Policy, Verifier};

use crate::error::{finish, Failure};
use crate::io::{input, OutBuf};
use crate::status::{
    xca_status, XCA_CLOCK_ERROR, XCA_INVALID_CONFIG, XCA_MALFORMED, XCA_NULL_ARGUMENT,
    XCA_TOO_LARGE,
};

/// A verifier: trusted keys plus a policy. Opaque; create with `xca_verifier_new()`,
/// release with `xca_verifier_free()`.
///
/// Thread safety: any number of threads may call `xca_verify()` /
/// `xca_verify_header()` on one handle at the same time, also while another thread
/// calls `xca_verifier_set_jwks()` on it. Only `xca_verifier_free()` needs exclusive
/// access: no other call on the handle may be running or start after it.
pub struct xca_verifier {
    // Readers clone the Arc under the read lock and verify without holding it, so a
    // slow RSA verify never blocks a key swap and a swap never blocks verification for
    // longer than a pointer copy. A swap replaces the Arc only once the new Verifier
    // is complete: readers see the old or the new key set, never a mix.
    current: RwLock<Arc<Verifier>>,
    /// The JWKS entries the current keys were built without, as a JSON array (see
    /// `xca_verifier_skipped_keys`); replaced together with the keys.
    skipped: RwLock<Arc<str>>,
}

/// `[{"index":N,"kid":"..."|null,"reason":"..."}, ...]` for `xca_verifier_skipped_keys`.
fn skipped_json(keys: &KeySet) -> Arc<str> {
    let quote = |s: &str| {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                // Controls, and the line separators JavaScript-style readers choke on.
                c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    let items: Vec<String> = keys
        .skipped()
        .iter()
        .map(|s| {
            format!(
                r#"{{"index":{},"kid":{},"reason":{}}}"#,
                s.index,
                s.kid.as_deref().map_or_else(|| String::from("null"), quote),
                quote(&s.reason)
            )
        })
        .collect();
    format!("[{}]", items.join(",")).into()
}

impl xca_verifier {
    fn snapshot(&self) -> Arc<Verifier> {
        // Poisoning needs a panic while the lock is held; nothing that can panic runs
        // under it, and the Arc inside is valid either way.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, next: Verifier, skipped: Arc<str>) {
        let next = Arc::new(next);
        let old = {
            let mut guard = self.current.write().unwrap_or_else(PoisonError::into_inner);
            // Under the keys' lock, so the list always describes a set that was current.
            *self.skipped.write().unwrap_or_else(PoisonError::into_inner) = skipped;
            std::mem::replace(&mut *guard, next)
        };
        // The old verifier is dropped here, outside the lock (or later, by the last
        // reader still using it).
        drop(old);
    }
}

/// `now` from C: a non-negative value is used as is; a negative one asks for the clock.
fn resolve_now(now: i64) -> Result<u64, Failure> {
    if let Ok(t) = u64::try_from(now) {
        return Ok(t);
    }
    // Not `xconnauth::now()`: it maps a clock before 1970 to 0, and at time 0 no token
    // is ever expired. A broken clock must fail closed.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Failure::new(XCA_CLOCK_ERROR, "the system clock is before 1970"))
}

/// The handle behind a `const xca_verifier *`.
///
/// # Safety
/// A non-NULL `v` must come from `xca_verifier_new` and not have been freed, and stay
/// so for `'a`.
unsafe fn handle<'a>(v: *const xca_verifier) -> Result<&'a xca_verifier, Failure> {
    // SAFETY: the caller guarantees a non-NULL `v` is a live handle; only shared
    // references are ever made from it (all mutation goes through the RwLock).
    unsafe { v.as_ref() }.ok_or_else(|| Failure::new(XCA_NULL_ARGUMENT, "the verifier is NULL"))
}

/// Creates a verifier from a JWKS document and a policy.
///
/// - `jwks`, `jwks_len`: the JWKS JSON (`{"keys":[...]}`) exactly as Keycloak serves it
///   at `<realm>/protocol/openid-connect/certs`. RSA signing keys are used, other keys
///   are skipped; a JWKS with no usable key is `XCA_INVALID_CONFIG`.
/// - `policy_json`, `policy_len`: the policy options as one JSON object, e.g.
///   `{"issuers":["https://sso.example.com/realms/demo"],"audiences":["orders-api"]}`.
///   Options (the same names in every xconnauth API), with defaults:
///   `issuers` (required: a string or array, exact match), `audiences` (null: not
///   checked; any-of), `algorithms` (`["RS256"]`; also RS384, RS512, PS256, PS384,
///   PS512), `leeway` (30 s), `token_type` (`"Bearer"`, the `typ` claim; null disables),
///   `required_scopes` (none; all-of), `required_realm_roles` (none; all-of),
///   `required_client_roles` (none; `{"client":["role",...]}`), `required_claims`
///   (`["exp"]`), `min_rsa_bits` / `max_rsa_bits` (2048 / 8192), `max_token_bytes`
///   (16384). Absent options keep their defaults; unknown names, wrong types, or a
///   missing `issuers` are `XCA_INVALID_CONFIG`. `policy_json == NULL` with `policy_len == 0`
///   is `XCA_INVALID_CONFIG` too (`issuers` is required).
/// - `out`: receives the new handle on success (untouched on failure). Free it with
///   `xca_verifier_free()`.
///
/// Returns `XCA_OK`, `XCA_NULL_ARGUMENT`, `XCA_INVALID_CONFIG` (details in
/// `xca_last_error_message()`), `XCA_INVALID_ARGUMENT` or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_verifier_new(
    jwks: *const u8,
    jwks_len: usize,
    policy_json: *const u8,
    policy_len: usize,
    out: *mut *mut xca_verifier,
) -> xca_status {
    ffi_panic_boundary! {
        finish((|| {
            // SAFETY: the caller guarantees `jwks` is NULL or valid for `jwks_len` reads.
            let jwks = unsafe { input(jwks, jwks_len, "jwks") }?;
            let policy_json = if policy_json.is_null() && policy_len == 0 {
                return Err(Failure::new(
                    XCA_INVALID_CONFIG,
                    "policy_json is NULL: a policy with at least \"issuers\" is required",
                ));
            } else {
                // SAFETY: the caller guarantees `policy_json` is NULL or valid for
                // `policy_len` reads.
                unsafe { input(policy_json, policy_len, "policy_json") }?
            };
            if out.is_null() {
                return Err(Failure::new(XCA_NULL_ARGUMENT, "out is NULL"));
            }
            let policy = Policy::from_json(policy_json)?;
            let keys = KeySet::from_jwks(jwks)?;
            let skipped = skipped_json(&keys);
            let verifier = Verifier::new(keys, policy)?;
            let handle = Box::new(xca_verifier {
                current: RwLock::new(Arc::new(verifier)),
                skipped: RwLock::new(skipped),
            });
            // SAFETY: `out` is non-NULL (checked above) and the caller guarantees it is
            // writable. Ownership of the box passes to the caller.
            unsafe { out.write_unaligned(Box::into_raw(handle)) };
            Ok(())
        })())
    }
}

/// Replaces the verifier's trusted keys with those of a new JWKS (key rotation),
/// keeping its policy.
///
/// The new key set is built completely first; on any error the old keys stay in use.
/// The swap is atomic and safe while other threads verify with the same handle: each
/// verification uses either the old or the new key set, never a mix, and none fails
/// because of the swap.
///
/// Returns `XCA_OK`, `XCA_NULL_ARGUMENT`, `XCA_INVALID_CONFIG`, `XCA_INVALID_ARGUMENT`
/// or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_verifier_set_jwks(
    v: *mut xca_verifier,
    jwks: *const u8,
    jwks_len: usize,
) -> xca_status {
    ffi_panic_boundary! {
        finish((|| {
            // A shared reference only: other threads may be verifying with `v` right
            // now, so no `&mut` may exist; the RwLock provides the mutation.
            // SAFETY: the caller guarantees `v` is NULL or a live handle.
            let handle = unsafe { handle(v.cast_const()) }?;
            // SAFETY: the caller guarantees `jwks` is NULL or valid for `jwks_len` reads.
            let jwks = unsafe { input(jwks, jwks_len, "jwks") }?;
            let keys = KeySet::from_jwks(jwks)?;
            let skipped = skipped_json(&keys);
            let next = handle.snapshot().with_keys(keys)?;
            handle.replace(next, skipped);
            Ok(())
        })())
    }
}

/// The entries of the JWKS behind the verifier's current keys that were skipped
/// (other key types, encryption keys, other algorithms, malformed entries), with the
/// reason for each: a JSON array of `{"index":N,"kid":"..." or null,"reason":"..."}`
/// in document order, `[]` when every entry is in use. For diagnostics: one bad entry
/// never refuses the whole JWKS, so this is where it shows.
///
/// Writes the array to `out` (NUL-terminated; `*out_len` excludes the NUL). When `cap`
/// is too small, returns `XCA_BUFFER_TOO_SMALL` with the needed length (without the
/// NUL) in `*out_len`; a NULL `out` with `cap == 0` asks for the length only.
///
/// Returns `XCA_OK`, `XCA_NULL_ARGUMENT`, `XCA_BUFFER_TOO_SMALL` or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_verifier_skipped_keys(
    v: *const xca_verifier,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        finish((|| {
            // SAFETY: the caller guarantees `v` is NULL or a live handle.
            let handle = unsafe { handle(v) }?;
            // SAFETY: the caller guarantees `out` is NULL or writable for `cap` bytes and
            // `out_len` NULL or writable.
            let buf = unsafe { OutBuf::new(out, cap, out_len, false) }?;
            let json = Arc::clone(&handle.skipped.read().unwrap_or_else(PoisonError::into_inner));
            buf.write_text(json.as_bytes())
        })())
    }
}

/// The body of `xca_verify` and `xca_verify_header`: checks every pointer, resolves
/// the clock, verifies against a snapshot of the current keys (so a concurrent swap
/// is never seen half-done), and writes the payload only on success.
///
/// # Safety
/// As the two entry points: `v` NULL or live, `data` NULL or valid for `data_len`
/// reads, `claims_out` NULL or writable for `claims_cap` bytes, `claims_len` NULL or
/// writable.
#[allow(clippy::too_many_arguments)]
unsafe fn verify_entry(
    v: *const xca_verifier,
    data: *const u8,
    data_len: usize,
    what: &'static str,
    now: i64,
    claims_out: *mut u8,
    claims_cap: usize,
    claims_len: *mut usize,
    run: impl FnOnce(&Verifier, &[u8], u64) -> Result<xconnauth_core::VerifiedToken, Failure>,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    let v = unsafe { handle(v) }?;
    // SAFETY: forwarded from the caller.
    let data = match unsafe { input(data, data_len, what) } {
        // A length no buffer can have is, above all, beyond max_token_bytes: answer
        // as verify would, without touching the memory.
        Err(f) if !data.is_null() => return Err(Failure::new(XCA_TOO_LARGE, f.message)),
        other => other?,
    };
    // SAFETY: forwarded from the caller.
    let out = unsafe { OutBuf::new(claims_out, claims_cap, claims_len, true) }?;
    let now = resolve_now(now)?;
    let verifier = v.snapshot();
    let token = run(&verifier, data, now)?;
    out.write_bytes(token.payload_json().as_bytes())
}

/// Verifies a compact JWS token (`header.payload.signature`, no `Bearer ` prefix).
///
/// - `token`, `token_len`: the token bytes (no NUL needed; NULL is
///   `XCA_NULL_ARGUMENT`).
/// - `now`: unix time in seconds; a negative value means the system clock.
/// - `claims_out`, `claims_cap`, `claims_len`: on `XCA_OK`, the decoded payload JSON
///   (exactly as signed, UTF-8, **not** NUL-terminated) is written to `claims_out` and
///   its length to `*claims_len`. Three ways to call:
///   1. a buffer: `claims_out` with `claims_cap` bytes and `claims_len`. If the token
///      is valid but the buffer is too small, the result is `XCA_BUFFER_TOO_SMALL`
///      with the needed length in `*claims_len` (and `claims_out` untouched);
///   2. a size query: `claims_out == NULL`, `claims_cap == 0`, `claims_len` non-NULL.
///      The token is fully verified; a valid one gives `XCA_BUFFER_TOO_SMALL` and the
///      needed length, an invalid one its category. Allocate and call again;
///   3. verdict only: `claims_out == NULL`, `claims_cap == 0`, `claims_len == NULL`.
///      A valid token gives `XCA_OK`; nothing is written.
///
///   `claims_out == NULL` with `claims_cap > 0`, or `claims_out` without `claims_len`,
///   is `XCA_NULL_ARGUMENT`.
///
/// Returns `XCA_OK`, one token category (1-18: the first failed check, always in the
/// order size, segments, header, `alg`/`crit`, key, signature, payload, claims),
/// `XCA_BUFFER_TOO_SMALL`, `XCA_NULL_ARGUMENT`, `XCA_CLOCK_ERROR`,
/// `XCA_INVALID_ARGUMENT` or `XCA_PANIC`. On failure `xca_last_error_message()` holds
/// a human message (it never echoes token content). Thread-safe.
#[no_mangle]
pub extern "C" fn xca_verify(
    v: *const xca_verifier,
    token: *const u8,
    token_len: usize,
    now: i64,
    claims_out: *mut u8,
    claims_cap: usize,
    claims_len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        // SAFETY: the caller guarantees the pointer contract of `verify_entry`.
        finish(unsafe {
            verify_entry(v, token, token_len, "token", now, claims_out, claims_cap, claims_len,
                |verifier, token, now| Ok(verifier.verify(token, now)?))
        })
    }
}

/// Verifies an HTTP `Authorization` header value, `Bearer <token>` (RFC 6750 §2.1;
/// the scheme is case-insensitive, surrounding spaces and tabs are ignored). A missing
/// or other scheme (`Basic ...`), or a value that is not UTF-8, is `XCA_MALFORMED`.
/// Everything else is exactly as `xca_verify()`.
#[no_mangle]
pub extern "C" fn xca_verify_header(
    v: *const xca_verifier,
    authorization: *const u8,
    authorization_len: usize,
    now: i64,
    claims_out: *mut u8,
    claims_cap: usize,
    claims_len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        // SAFETY: the caller guarantees the pointer contract of `verify_entry`.
        finish(unsafe {
            verify_entry(v, authorization, authorization_len, "authorization", now,
                claims_out, claims_cap, claims_len, |verifier, value, now| {
                    // RFC 6750 credentials are ASCII: a value that is not even UTF-8
                    // cannot be "Bearer <token>".
                    let value = std::str::from_utf8(value).map_err(|_| {
                        Failure::new(XCA_MALFORMED, "the Authorization value is not UTF-8")
                    })?;
                    Ok(verifier.verify_header(value, now)?)
                })
        })
    }
}

/// Frees a verifier. NULL is a no-op. Must be called exactly once per handle, after
/// every other call on it has returned.
#[no_mangle]
pub extern "C" fn xca_verifier_free(v: *mut xca_verifier) {
    ffi_panic_boundary! {
        if v.is_null() {
            return;
        }
        // SAFETY: `v` is non-NULL and, per the contract above, came from Box::into_raw
        // in xca_verifier_new, is freed only once, and is no longer used by any thread.
        drop(unsafe { Box::from_raw(v) });
    }
}
