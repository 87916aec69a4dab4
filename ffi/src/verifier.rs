//! The verifier handle: build (from a JWKS, or from issuers whose keys the engine
//! fetches), verify (from many threads), swap or refresh keys, report status, free.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use xconnauth_core::{KeySet, Policy, Verifier};
use xconnauth_remote::swap::KeySwap;
use xconnauth_remote::{Options, RemoteError, RemoteVerifier};

use crate::error::{finish, finish_verify, Failure, VerifyFailure};
use crate::io::{input, OutBuf};
use crate::status::{
    xca_status, XCA_CLOCK_ERROR, XCA_INVALID_ARGUMENT, XCA_INVALID_CONFIG, XCA_KEYS_UNAVAILABLE,
    XCA_NULL_ARGUMENT, XCA_TOO_LARGE,
};

/// A verifier: trusted keys plus a policy. Opaque; create with `xca_verifier_new()`
/// (keys from a JWKS the caller supplies) or `xca_verifier_new_remote()` (keys fetched
/// from the issuers), release with `xca_verifier_free()`.
///
/// Thread safety: any number of threads may call `xca_verify()` /
/// `xca_verify_header()` on one handle at the same time, also while another thread
/// calls `xca_verifier_set_jwks()` or `xca_verifier_refresh()` on it. Only
/// `xca_verifier_free()` needs exclusive access: no other call on the handle may be
/// running or start after it.
pub struct xca_verifier {
    keys: Keys,
}

enum Keys {
    // Readers load the keys without a lock and verify on them, so a slow RSA verify
    // never blocks a key swap and a swap never blocks verification (KeySwap, shared
    // with Python and the engine).
    Local(KeySwap<LocalKeys>),
    // The engine owns the keys (and swaps them the same way inside).
    Remote(RemoteVerifier),
}

/// The keys of a verifier from `xca_verifier_new()`, swapped as one.
struct LocalKeys {
    verifier: Verifier,
    /// The JWKS entries the keys were built without, as a JSON array (see
    /// `xca_verifier_skipped_keys`): it always describes the set in use.
    skipped: Arc<str>,
}

impl LocalKeys {
    fn new(
        keys: KeySet,
        build: impl FnOnce(KeySet) -> Result<Verifier, xconnauth_core::ConfigError>,
    ) -> Result<LocalKeys, Failure> {
        let skipped = skipped_json(&keys);
        Ok(LocalKeys {
            verifier: build(keys)?,
            skipped,
        })
    }
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
    /// Runs `verify` on the current core verifier (a remote one refreshes its keys on an
    /// unknown kid and runs it again). `load()` takes a guard in this thread's own
    /// arc-swap slot, not a count on the shared Arc: verifying threads write no shared
    /// cache line.
    fn verify_with<R>(
        &self,
        mut verify: impl FnMut(&Verifier) -> Result<R, xconnauth_core::Error>,
    ) -> Result<R, xconnauth_core::Error> {
        match &self.keys {
            Keys::Local(current) => verify(&current.load().verifier),
            Keys::Remote(remote) => remote.verify_with(verify),
        }
    }

    fn max_token_bytes(&self) -> usize {
        match &self.keys {
            Keys::Local(current) => current.load().verifier.policy().max_token_bytes,
            Keys::Remote(remote) => remote.policy().max_token_bytes,
        }
    }
}

/// Tokens up to this size decode into a buffer on the stack (Keycloak access tokens
/// are 1-3 KB); longer ones, up to `max_token_bytes`, into one kept per thread.
const STACK_SCRATCH: usize = 4096;

thread_local! {
    // Grows to the longest token (at most max_token_bytes) verified on the thread.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on `len` bytes of scratch room without a per-call allocation.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    if len <= STACK_SCRATCH {
        let mut stack = [0u8; STACK_SCRATCH];
        return f(stack.get_mut(..len).unwrap_or_default());
    }
    // Taken out while in use, so a nested call (none today) would get its own.
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let result = f(buf.get_mut(..len).unwrap_or_default());
    let _ = SCRATCH.try_with(|slot| slot.set(buf));
    result
}

impl From<RemoteError> for Failure {
    fn from(err: RemoteError) -> Self {
        match err {
            RemoteError::Config(e) => e.into(),
            // Not a configuration mistake: the issuer could not deliver usable keys
            // (down, slow, redirecting, an unusable set). The same answer a verify
            // gives while it has no keys: HTTP 503.
            other => Failure::new(XCA_KEYS_UNAVAILABLE, other.to_string()),
        }
    }
}

/// `now` from C: a non-negative value is used as is; a negative one asks for the clock.
fn resolve_now(now: i64) -> Result<u64, Failure> {
    if let Ok(t) = u64::try_from(now) {
        return Ok(t);
    }
    // A clock before 1970 is `None`, never time 0 (when no token expires): fail closed.
    xconnauth_core::now()
        .ok_or_else(|| Failure::new(XCA_CLOCK_ERROR, "the system clock is before 1970"))
}

/// The handle behind a `const xca_verifier *`.
///
/// # Safety
/// A non-NULL `v` must come from `xca_verifier_new` or `xca_verifier_new_remote` and
/// not have been freed, and stay so for `'a`.
unsafe fn handle<'a>(v: *const xca_verifier) -> Result<&'a xca_verifier, Failure> {
    // SAFETY: the caller guarantees a non-NULL `v` is a live handle; only shared
    // references are ever made from it (all mutation goes through KeySwap or the
    // engine's own synchronisation).
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
///   (16384), `header_types` (null: not checked; the accepted header `typ` values,
///   case-insensitive, `application/` implied: RFC 9068 access tokens take
///   `"token_type":null,"header_types":["at+jwt"]`; another header `typ` is
///   `XCA_WRONG_TYPE`), `cache_entries` (0: off; up to 262144 verified tokens kept, at
///   most 8 KiB each on average; a repeated token skips the signature, its `exp`, `nbf`
///   and `iat` are judged at every call's `now`; `xca_verifier_set_jwks()` empties it;
///   failures are never kept). Absent options keep their defaults; unknown names, wrong types, or a
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
            let local = LocalKeys::new(keys, |keys| Verifier::new(keys, policy))?;
            let handle = Box::new(xca_verifier {
                keys: Keys::Local(KeySwap::new(Arc::new(local))),
            });
            // SAFETY: `out` is non-NULL (checked above) and the caller guarantees it is
            // writable. Ownership of the box passes to the caller.
            unsafe { out.write_unaligned(Box::into_raw(handle)) };
            Ok(())
        })())
    }
}

/// Creates a verifier that finds and refreshes its keys itself: for each issuer in the
/// policy's `issuers`, OIDC discovery at `<issuer>/.well-known/openid-configuration`
/// (the discovered `issuer` must equal it byte for byte), then its `jwks_uri`.
///
/// - `policy_json`, `policy_len`: the policy, exactly as for `xca_verifier_new()`.
/// - `options_json`, `options_len`: the engine options as one JSON object, or NULL with
///   0 for the defaults. Names (durations in seconds, fractions allowed), with
///   defaults: `timeout` (5: one overall deadline per fetch, connect + headers + body,
///   retry included; discovery and JWKS share it), `max_bytes` (1048576), `default_ttl`
///   (300, when the response has no `Cache-Control: max-age`), `min_ttl` (60),
///   `max_ttl` (86400), `refresh_cooldown` (10: after an attempt ends, no fetch starts
///   for an unknown kid for this long), `ca_file` (null: a PEM bundle added to the
///   system trust store), `fail_fast` (false: fetch every issuer now and fail if one
///   fails), `non_blocking` (false: for event-loop hosts, an unknown kid starts a
///   refresh and answers at once instead of waiting), `jwks_uris` (`{"<issuer>":
///   "<url>"}`: skip discovery). Unknown names or wrong types are
///   `XCA_INVALID_CONFIG`.
/// - `out`: receives the new handle on success (untouched on failure).
///
/// Every URL must be `https`, except literal loopback (`127.0.0.0/8`, `[::1]`,
/// `localhost`) which may be plain `http`; redirects are refused; a response above
/// `max_bytes` is refused. Nothing is fetched here unless `fail_fast` is set: the
/// first `xca_verify()` (or `xca_verifier_refresh()`) starts the engine. Fetches run
/// on the library's own threads, one per issuer, started on first need (also in a
/// child after `fork()`, so a verifier may be created before forking workers).
///
/// `xca_verify()` on this verifier: with the token's key known, no I/O and no lock.
/// An unknown kid asks for one refresh per issuer (at most one in flight, none during
/// the cooldown counted from the end of the last attempt) and waits for it, at most
/// `timeout` (plus a few ms), then verifies once more; during the cooldown it answers
/// `XCA_UNKNOWN_KID` at once. While an issuer has no keys yet (down since start) an
/// unmatched token is `XCA_KEYS_UNAVAILABLE` (HTTP 503, never 401). A failed refresh,
/// or a set with no key usable under the policy, keeps the last good keys.
///
/// Returns `XCA_OK`, `XCA_NULL_ARGUMENT`, `XCA_INVALID_CONFIG` (policy, options, a URL
/// against the rules, an unreadable `ca_file`), `XCA_KEYS_UNAVAILABLE` (`fail_fast`
/// and a fetch failed), `XCA_INVALID_ARGUMENT` or `XCA_PANIC`; details in
/// `xca_last_error_message()`.
#[no_mangle]
pub extern "C" fn xca_verifier_new_remote(
    policy_json: *const u8,
    policy_len: usize,
    options_json: *const u8,
    options_len: usize,
    out: *mut *mut xca_verifier,
) -> xca_status {
    ffi_panic_boundary! {
        finish((|| {
            if policy_json.is_null() && policy_len == 0 {
                return Err(Failure::new(
                    XCA_INVALID_CONFIG,
                    "policy_json is NULL: a policy with at least \"issuers\" is required",
                ));
            }
            // SAFETY: the caller guarantees `policy_json` is NULL or valid for
            // `policy_len` reads.
            let policy_json = unsafe { input(policy_json, policy_len, "policy_json") }?;
            let options_json = if options_json.is_null() && options_len == 0 {
                None
            } else {
                // SAFETY: the caller guarantees `options_json` is NULL or valid for
                // `options_len` reads.
                Some(unsafe { input(options_json, options_len, "options_json") }?)
            };
            if out.is_null() {
                return Err(Failure::new(XCA_NULL_ARGUMENT, "out is NULL"));
            }
            let policy = Policy::from_json(policy_json)?;
            let options = match options_json {
                Some(json) => Options::from_json(json)?,
                None => Options::default(),
            };
            let remote = RemoteVerifier::new(policy, options)?;
            let handle = Box::new(xca_verifier {
                keys: Keys::Remote(remote),
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
/// A verifier from `xca_verifier_new_remote()` fetches its own keys: this call refuses
/// it with `XCA_INVALID_ARGUMENT` and changes nothing (use `xca_verifier_refresh()`).
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
            // now, so no `&mut` may exist; KeySwap provides the mutation.
            // SAFETY: the caller guarantees `v` is NULL or a live handle.
            let handle = unsafe { handle(v.cast_const()) }?;
            // SAFETY: the caller guarantees `jwks` is NULL or valid for `jwks_len` reads.
            let jwks = unsafe { input(jwks, jwks_len, "jwks") }?;
            let Keys::Local(current) = &handle.keys else {
                return Err(Failure::new(
                    XCA_INVALID_ARGUMENT,
                    "this verifier fetches its keys from its issuers \
                     (xca_verifier_new_remote): use xca_verifier_refresh()",
                ));
            };
            let keys = KeySet::from_jwks(jwks)?;
            let next = LocalKeys::new(keys, |keys| current.load().verifier.with_keys(keys))?;
            // The old verifier is dropped by the last reader still using it.
            current.store(Arc::new(next));
            Ok(())
        })())
    }
}

/// Fetches the keys of every issuer of a remote verifier now, ignoring the cooldown (a
/// fetch already under way is waited for, not duplicated). Waits at most the
/// `timeout` option (plus a few ms). Safe while other threads verify.
///
/// Returns `XCA_OK` when every issuer's keys were fetched and accepted;
/// `XCA_KEYS_UNAVAILABLE` when one failed or did not finish in time (the last good
/// keys stay in use; the message names the issuer and the reason);
/// `XCA_INVALID_ARGUMENT` for a verifier from `xca_verifier_new()` (its keys come
/// from `xca_verifier_set_jwks()`); `XCA_NULL_ARGUMENT` or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_verifier_refresh(v: *mut xca_verifier) -> xca_status {
    ffi_panic_boundary! {
        finish((|| {
            // SAFETY: the caller guarantees `v` is NULL or a live handle.
            let handle = unsafe { handle(v.cast_const()) }?;
            let Keys::Remote(remote) = &handle.keys else {
                return Err(Failure::new(
                    XCA_INVALID_ARGUMENT,
                    "this verifier has no issuers to fetch from (xca_verifier_new): \
                     use xca_verifier_set_jwks()",
                ));
            };
            Ok(remote.refresh()?)
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
/// A verifier from `xca_verifier_new_remote()` keeps one key set per issuer, refreshed
/// by itself: its key ids and fetch errors are in `xca_verifier_status_json()`, and
/// this call refuses it with `XCA_INVALID_ARGUMENT`.
///
/// Returns `XCA_OK`, `XCA_NULL_ARGUMENT`, `XCA_BUFFER_TOO_SMALL`, `XCA_INVALID_ARGUMENT`
/// or `XCA_PANIC`.
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
            let Keys::Local(current) = &handle.keys else {
                return Err(Failure::new(
                    XCA_INVALID_ARGUMENT,
                    "this verifier fetches its keys from its issuers \
                     (xca_verifier_new_remote): see xca_verifier_status_json()",
                ));
            };
            let json = Arc::clone(&current.load().skipped);
            buf.write_text(json.as_bytes())
        })())
    }
}

/// The body of `xca_verify` and `xca_verify_header`: checks every pointer, resolves
/// the clock, verifies against a snapshot of the current keys (so a concurrent swap
/// is never seen half-done), and writes the payload only on success.
///
/// Allocates nothing (beyond what a thread's first call sets up, and the crypto
/// library's own work inside the signature check): the token decodes into scratch room
/// ([`with_scratch`]), the payload is copied from there into the caller's buffer, and a
/// failure is kept as data until `xca_last_error_message` asks for its text.
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
    token_of: fn(&[u8]) -> Result<&[u8], xconnauth_core::Error>,
) -> Result<(), VerifyFailure> {
    // SAFETY: forwarded from the caller.
    let v = unsafe { handle(v) }?;
    // SAFETY: forwarded from the caller.
    let data = match unsafe { input(data, data_len, what) } {
        // A length no buffer can have is, above all, beyond max_token_bytes: answer
        // as verify would, without touching the memory.
        Err(f) if !data.is_null() => return Err(Failure::new(XCA_TOO_LARGE, f.message).into()),
        other => other?,
    };
    // SAFETY: forwarded from the caller.
    let out = unsafe { OutBuf::new(claims_out, claims_cap, claims_len, true) }?;
    let now = resolve_now(now)?;
    let token = token_of(data)?;
    // An oversized token gets no scratch room: verify_into refuses it (`too_large`)
    // before it looks at the buffer, so the room stays bounded by the policy.
    let room = if token.len() <= v.max_token_bytes() {
        token.len()
    } else {
        0
    };
    with_scratch(room, |buf| {
        // Where in `buf` the payload was decoded. verify_into may run twice (a remote
        // verifier's refresh), so the span is taken from its last, successful answer.
        let span = v.verify_with(|core| {
            let base = buf.as_ptr() as usize;
            let payload = core.verify_into(token, now, buf)?.payload_json();
            Ok((payload.as_ptr() as usize - base, payload.len()))
        })?;
        let payload = buf
            .get(span.0..span.0.saturating_add(span.1))
            .unwrap_or_default();
        Ok(out.write_bytes(payload)?)
    })
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
/// On a verifier from `xca_verifier_new_remote()` an unknown kid refreshes the keys
/// first (see there): the call may then wait, at most the engine's `timeout`.
///
/// Returns `XCA_OK`, one token category (1-18: the first failed check, always in the
/// order size, segments, header, `alg`/`crit`, key, signature, payload, claims),
/// `XCA_KEYS_UNAVAILABLE` (remote verifiers only: no keys yet), `XCA_BUFFER_TOO_SMALL`, `XCA_NULL_ARGUMENT`, `XCA_CLOCK_ERROR`,
/// `XCA_INVALID_ARGUMENT` or `XCA_PANIC`. On failure `xca_last_error_message()` holds
/// a human message (it never echoes token content). Thread-safe.
///
/// Allocates nothing in any of the three ways to call, beyond the crypto library's
/// own work inside the signature check (aws-lc: 25 small allocations per RSA verify),
/// a thread's first call (its per-thread slots) and the first token above 4 KiB a
/// thread sees (a per-thread scratch buffer, at most `max_token_bytes`, kept for the
/// next ones); with a buffer, the claims are copied into it. A failure's message is formatted only when
/// `xca_last_error_message()` asks for it.
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
        finish_verify(unsafe {
            verify_entry(v, token, token_len, "token", now, claims_out, claims_cap, claims_len,
                |token| Ok(token))
        })
    }
}

/// Verifies an HTTP `Authorization` header value, `Bearer <token>` (RFC 6750 §2.1;
/// the scheme is case-insensitive, surrounding spaces and tabs are ignored). A missing
/// or other scheme (`Basic ...`) is `XCA_MALFORMED`. The token after the scheme is
/// judged exactly as `xca_verify()` judges it, byte for byte: a stray non-UTF-8 byte in
/// it gets the same category through every xconnauth surface.
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
        finish_verify(unsafe {
            verify_entry(v, authorization, authorization_len, "authorization", now,
                claims_out, claims_cap, claims_len, xconnauth_core::bearer_token_bytes)
        })
    }
}

/// Unix seconds, or JSON null.
fn unix(t: Option<SystemTime>) -> serde_json::Value {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(serde_json::Value::Null, |d| d.as_secs().into())
}

/// Writes the state of the verifier's keys as one JSON object (for health checks and
/// logs), NUL-terminated, with the output rules of `xca_last_error_message()`:
///
/// `{"remote":true,"issuers":[{"issuer":"...","jwks_uri":"..."|null,
/// "last_success":<unix s>|null,"last_error":"..."|null,"fetch_count":N,
/// "kids":["..."],"expires_at":<unix s>|null},...]}`, issuers in policy order
/// (`fetch_count` counts finished attempts, successful or not; `kids` are the key
/// ids in use, empty while the issuer has no keys). A verifier from
/// `xca_verifier_new()` gives `{"remote":false,"issuers":[]}`.
///
/// Returns `XCA_OK`, `XCA_BUFFER_TOO_SMALL` (needed length in `*len`),
/// `XCA_NULL_ARGUMENT` or `XCA_PANIC`. Does not change the last-error message.
#[no_mangle]
pub extern "C" fn xca_verifier_status_json(
    v: *const xca_verifier,
    buf: *mut core::ffi::c_char,
    cap: usize,
    len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        let result = (|| {
            // SAFETY: the caller guarantees `v` is NULL or a live handle.
            let handle = unsafe { handle(v) }?;
            // SAFETY: the caller guarantees `buf` is NULL or writable for `cap` bytes
            // and `len` NULL or a writable size_t.
            let out = unsafe { OutBuf::new(buf.cast(), cap, len, false) }?;
            let doc = match &handle.keys {
                // Keys in sorted order: the text is the same whether or not another
                // crate of the build turns on serde_json's `preserve_order`.
                Keys::Local(_) => serde_json::json!({"issuers": [], "remote": false}),
                Keys::Remote(remote) => {
                    let issuers: Vec<serde_json::Value> = remote
                        .status()
                        .into_iter()
                        .map(|s| {
                            serde_json::json!({
                                "expires_at": unix(s.expires_at),
                                "fetch_count": s.fetch_count,
                                "issuer": s.issuer,
                                "jwks_uri": s.jwks_uri,
                                "kids": s.kids,
                                "last_error": s.last_error,
                                "last_success": unix(s.last_success),
                            })
                        })
                        .collect();
                    serde_json::json!({"issuers": issuers, "remote": true})
                }
            };
            out.write_text(doc.to_string().as_bytes())
        })();
        match result {
            Ok(()) => crate::status::XCA_OK,
            Err(f) => f.status,
        }
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
        // in xca_verifier_new or xca_verifier_new_remote, is freed only once, and is no
        // longer used by any thread.
        drop(unsafe { Box::from_raw(v) });
    }
}
