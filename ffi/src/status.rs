//! Status codes: one per DESIGN §2 category, plus API-misuse codes.
//!
//! `xca_status` is a plain `uint32_t` in C, not a C enum: a status handed back from C
//! may hold any integer, and an out-of-range value of a Rust `enum` is undefined
//! behaviour. The values are fixed forever. They are declared, with every other surface's
//! copy of the vocabulary, in `core/src/error_table.rs`; the block below is generated from
//! it (`make generate`), and a retired code stays listed there so its number is never
//! reused.

use core::ffi::{c_char, CStr};

use xconnauth_core::ErrorKind;

/// The result of every fallible `xca_` call: `XCA_OK` (0), a category (1-99: a rejected
/// token, or `XCA_KEYS_UNAVAILABLE`, a remote verifier that has no keys yet), or an
/// API-misuse code (100 and up). Values are fixed and never reused. `xca_status_name()`
/// gives the stable code string.
pub type xca_status = u32;

// BEGIN generated: c-statuses (tools/gen-errors from core/src/error_table.rs: do not edit, run make generate)
/// Success.
pub const XCA_OK: xca_status = 0;
/// Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
/// wrong `Bearer` scheme.
pub const XCA_MALFORMED: xca_status = 1;
/// A segment is not canonical unpadded base64url.
pub const XCA_BAD_BASE64: xca_status = 2;
/// The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
/// JSON type.
pub const XCA_BAD_JSON: xca_status = 3;
/// The token is longer than the policy's `max_token_bytes`, or one of its JSON
/// objects is beyond the size limits.
pub const XCA_TOO_LARGE: xca_status = 4;
/// The header carries `crit`, `b64` or `cty`.
pub const XCA_UNSUPPORTED_HEADER: xca_status = 5;
/// `alg` is missing, `none`, HMAC, or not in the policy's `algorithms`.
pub const XCA_UNSUPPORTED_ALG: xca_status = 6;
/// No usable signing key matches the token (the signal to refetch the JWKS).
pub const XCA_UNKNOWN_KID: xca_status = 7;
/// The selected key is too small, too large, or has a bad exponent.
pub const XCA_WEAK_KEY: xca_status = 8;
/// The signature does not verify.
pub const XCA_BAD_SIGNATURE: xca_status = 9;
/// A claim the policy requires is absent.
pub const XCA_MISSING_CLAIM: xca_status = 10;
/// `now >= exp + leeway`.
pub const XCA_EXPIRED: xca_status = 11;
/// `now < nbf - leeway`.
pub const XCA_NOT_YET_VALID: xca_status = 12;
/// `iat > now + leeway`.
pub const XCA_ISSUED_IN_FUTURE: xca_status = 13;
/// `iss` is not one of the trusted issuers (or the key belongs to another issuer).
pub const XCA_WRONG_ISSUER: xca_status = 14;
/// No `aud` value is an accepted audience.
pub const XCA_WRONG_AUDIENCE: xca_status = 15;
/// The `typ` claim is not the expected token type, or the header `typ` is not one of
/// the policy's `header_types`.
pub const XCA_WRONG_TYPE: xca_status = 16;
/// A required scope is not granted (HTTP 403).
pub const XCA_MISSING_SCOPE: xca_status = 17;
/// A required realm or client role is not granted (HTTP 403).
pub const XCA_MISSING_ROLE: xca_status = 18;
/// Not a token error: a verifier that fetches its keys from an issuer has no key
/// set yet that could judge this token (the issuer was unreachable since start).
/// HTTP 503: the client may retry; the token may well be fine.
pub const XCA_KEYS_UNAVAILABLE: xca_status = 19;

/// A required pointer argument is NULL.
pub const XCA_NULL_ARGUMENT: xca_status = 100;
/// The output buffer is too small; the needed length was written to the length output.
pub const XCA_BUFFER_TOO_SMALL: xca_status = 101;
/// The JWKS or the policy JSON is invalid (see `xca_last_error_message()`).
pub const XCA_INVALID_CONFIG: xca_status = 102;
/// A `const char *` argument is not UTF-8.
pub const XCA_INVALID_UTF8: xca_status = 103;
/// A Rust panic was caught at the API boundary (a bug in xconnauth: please report it).
pub const XCA_PANIC: xca_status = 104;
/// `now < 0` asked for the system clock, and the clock is before 1970.
pub const XCA_CLOCK_ERROR: xca_status = 105;
/// An argument is out of range: a length above `PTRDIFF_MAX`, or a status that is not
/// a token category where one is required.
pub const XCA_INVALID_ARGUMENT: xca_status = 106;

/// The one mapping from a core category to its status code.
///
/// `ErrorKind` is `#[non_exhaustive]`, so a wildcard arm is required; it cannot be
/// reached while this function and `ErrorKind` come from the same table, and the test
/// `every_kind_has_its_own_status` checks that.
pub(crate) fn map_error(kind: ErrorKind) -> xca_status {
    match kind {
        ErrorKind::Malformed => XCA_MALFORMED,
        ErrorKind::BadBase64 => XCA_BAD_BASE64,
        ErrorKind::BadJson => XCA_BAD_JSON,
        ErrorKind::TooLarge => XCA_TOO_LARGE,
        ErrorKind::UnsupportedHeader => XCA_UNSUPPORTED_HEADER,
        ErrorKind::UnsupportedAlg => XCA_UNSUPPORTED_ALG,
        ErrorKind::UnknownKid => XCA_UNKNOWN_KID,
        ErrorKind::WeakKey => XCA_WEAK_KEY,
        ErrorKind::BadSignature => XCA_BAD_SIGNATURE,
        ErrorKind::MissingClaim => XCA_MISSING_CLAIM,
        ErrorKind::Expired => XCA_EXPIRED,
        ErrorKind::NotYetValid => XCA_NOT_YET_VALID,
        ErrorKind::IssuedInFuture => XCA_ISSUED_IN_FUTURE,
        ErrorKind::WrongIssuer => XCA_WRONG_ISSUER,
        ErrorKind::WrongAudience => XCA_WRONG_AUDIENCE,
        ErrorKind::WrongType => XCA_WRONG_TYPE,
        ErrorKind::MissingScope => XCA_MISSING_SCOPE,
        ErrorKind::MissingRole => XCA_MISSING_ROLE,
        ErrorKind::KeysUnavailable => XCA_KEYS_UNAVAILABLE,
        // Still a rejection, never XCA_OK.
        _ => XCA_MALFORMED,
    }
}

/// The stable code string of a status; `"unknown"` for any other integer.
pub(crate) fn status_name(status: xca_status) -> &'static CStr {
    match status {
        XCA_OK => c"ok",
        XCA_MALFORMED => c"malformed",
        XCA_BAD_BASE64 => c"bad_base64",
        XCA_BAD_JSON => c"bad_json",
        XCA_TOO_LARGE => c"too_large",
        XCA_UNSUPPORTED_HEADER => c"unsupported_header",
        XCA_UNSUPPORTED_ALG => c"unsupported_alg",
        XCA_UNKNOWN_KID => c"unknown_kid",
        XCA_WEAK_KEY => c"weak_key",
        XCA_BAD_SIGNATURE => c"bad_signature",
        XCA_MISSING_CLAIM => c"missing_claim",
        XCA_EXPIRED => c"expired",
        XCA_NOT_YET_VALID => c"not_yet_valid",
        XCA_ISSUED_IN_FUTURE => c"issued_in_future",
        XCA_WRONG_ISSUER => c"wrong_issuer",
        XCA_WRONG_AUDIENCE => c"wrong_audience",
        XCA_WRONG_TYPE => c"wrong_type",
        XCA_MISSING_SCOPE => c"missing_scope",
        XCA_MISSING_ROLE => c"missing_role",
        XCA_KEYS_UNAVAILABLE => c"keys_unavailable",
        XCA_NULL_ARGUMENT => c"null_argument",
        XCA_BUFFER_TOO_SMALL => c"buffer_too_small",
        XCA_INVALID_CONFIG => c"invalid_config",
        XCA_INVALID_UTF8 => c"invalid_utf8",
        XCA_PANIC => c"panic",
        XCA_CLOCK_ERROR => c"clock_error",
        XCA_INVALID_ARGUMENT => c"invalid_argument",
        _ => c"unknown",
    }
}
// END generated: c-statuses

/// The core category of a status, if it is one.
pub(crate) fn kind_of(status: xca_status) -> Option<ErrorKind> {
    status_name(status)
        .to_str()
        .ok()
        .and_then(ErrorKind::from_code)
}

/// The stable code string of `status`: `"ok"`, `"expired"`, `"null_argument"`, ...,
/// or `"unknown"` for a value that is not a status. Accepts any integer. The string is
/// static and NUL-terminated; never NULL, never to be freed.
#[no_mangle]
pub extern "C" fn xca_status_name(status: xca_status) -> *const c_char {
    ffi_panic_boundary! {
        status_name(status).as_ptr()
    }
}

/// The HTTP status to answer a rejected token with: 403 for `XCA_MISSING_SCOPE` and
/// `XCA_MISSING_ROLE`, 503 for `XCA_KEYS_UNAVAILABLE`, 401 for the other categories, and
/// 0 for `XCA_OK`, the API-misuse codes and unknown values (those are not the client's
/// fault: answer them as an internal error).
#[no_mangle]
pub extern "C" fn xca_http_status(status: xca_status) -> u16 {
    ffi_panic_boundary! {
        kind_of(status).map_or(0, ErrorKind::http_status)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_status() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            let status = map_error(kind);
            // DESIGN §2 table order, starting at 1.
            assert_eq!(status as usize, i + 1, "{kind:?}");
            assert_eq!(status_name(status).to_str().unwrap(), kind.code());
            assert_eq!(kind_of(status), Some(kind));
        }
    }

    #[test]
    fn names_are_fixed_and_unknown_is_safe() {
        let misuse = [
            (100, "null_argument"),
            (101, "buffer_too_small"),
            (102, "invalid_config"),
            (103, "invalid_utf8"),
            (104, "panic"),
            (105, "clock_error"),
            (106, "invalid_argument"),
        ];
        for (status, name) in misuse {
            assert_eq!(status_name(status).to_str().unwrap(), name);
            assert_eq!(kind_of(status), None);
            assert_eq!(xca_http_status(status), 0);
        }
        assert_eq!(status_name(XCA_OK).to_str().unwrap(), "ok");
        // The first code after the last category is unknown: one past the table, whatever
        // its length (a new category moves it without editing this test).
        let next = u32::try_from(ErrorKind::ALL.len()).unwrap() + 1;
        for s in [next, 99, 107, 1000, u32::MAX] {
            assert_eq!(status_name(s).to_str().unwrap(), "unknown");
        }
        assert_eq!(xca_http_status(XCA_EXPIRED), 401);
        assert_eq!(xca_http_status(XCA_MISSING_ROLE), 403);
        assert_eq!(xca_http_status(XCA_KEYS_UNAVAILABLE), 503);
        assert_eq!(status_name(19).to_str().unwrap(), "keys_unavailable");
        assert_eq!(xca_http_status(XCA_OK), 0);
    }
}
