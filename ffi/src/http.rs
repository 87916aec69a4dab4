//! HTTP answers for a rejected token, from its status code (core's `xconnauth::http`).

use core::ffi::c_char;

use xconnauth_core::http::{www_authenticate, ProblemDetails};
use xconnauth_core::{Error, ErrorKind};

use crate::error::Failure;
use crate::io::{optional_str, OutBuf};
use crate::status::{kind_of, xca_status, XCA_INVALID_ARGUMENT, XCA_OK};

/// The core error for a token category. The C API passes only the status, so the
/// message is the category's fixed title: it cannot carry token data.
fn error_for(status: xca_status) -> Result<Error, Failure> {
    let kind: ErrorKind = kind_of(status).ok_or_else(|| {
        Failure::new(
            XCA_INVALID_ARGUMENT,
            "the status is not a verify category (1-19)",
        )
    })?;
    Ok(Error::new(kind, kind.title()))
}

fn status_of(result: Result<(), Failure>) -> xca_status {
    // The helpers leave the last-error message alone: it still explains the verify
    // call whose answer is being built.
    result.map_or_else(|f| f.status, |()| XCA_OK)
}

/// Writes the RFC 6750 §3 `WWW-Authenticate` header value for a rejected token, e.g.
/// `Bearer realm="demo", error="invalid_token", error_description="Token expired"`
/// (`error="insufficient_scope"` for `XCA_MISSING_SCOPE` / `XCA_MISSING_ROLE`).
///
/// - `status`: a verify category (1-19); anything else is `XCA_INVALID_ARGUMENT`.
/// - `realm`: NUL-terminated UTF-8, or NULL to leave the realm out.
/// - `out`, `cap`, `len`: NUL-terminated text output, as for `xca_last_error_message()`
///   (`XCA_BUFFER_TOO_SMALL` gives the needed length without the NUL; `out` may be NULL
///   when `cap` is 0).
///
/// Returns `XCA_OK`, `XCA_BUFFER_TOO_SMALL`, `XCA_NULL_ARGUMENT`, `XCA_INVALID_UTF8`,
/// `XCA_INVALID_ARGUMENT` or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_www_authenticate(
    status: xca_status,
    realm: *const c_char,
    out: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        status_of((|| {
            // SAFETY: the caller guarantees `out` is NULL or writable for `cap` bytes and
            // `len` is NULL or a writable size_t.
            let out = unsafe { OutBuf::new(out.cast(), cap, len, false) }?;
            // SAFETY: the caller guarantees `realm` is NULL or a NUL-terminated string.
            let realm = unsafe { optional_str(realm, "realm") }?;
            let err = error_for(status)?;
            let mut value = String::new();
            www_authenticate(&err, realm, &mut value)
                .map_err(|_| Failure::new(XCA_INVALID_ARGUMENT, "cannot format the header"))?;
            out.write_text(value.as_bytes())
        })())
    }
}

/// Writes an RFC 7807 ProblemDetails JSON body for a rejected token:
/// `{"type":...,"title":...,"status":401|403|503,"detail":...,"instance":...,"error":"<code>"}`.
///
/// - `status`: a verify category (1-19); anything else is `XCA_INVALID_ARGUMENT`.
/// - `type_uri`: NUL-terminated UTF-8, or NULL for `about:blank` (then `title` is the
///   HTTP reason phrase; with a specific type, e.g. i2 Connect's
///   `urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb`, it names the problem).
/// - `instance`: NUL-terminated UTF-8, or NULL to leave it out.
/// - `out`, `cap`, `len`: NUL-terminated text output, as for `xca_last_error_message()`.
///
/// Returns `XCA_OK`, `XCA_BUFFER_TOO_SMALL`, `XCA_NULL_ARGUMENT`, `XCA_INVALID_UTF8`,
/// `XCA_INVALID_ARGUMENT` or `XCA_PANIC`.
#[no_mangle]
pub extern "C" fn xca_problem_json(
    status: xca_status,
    type_uri: *const c_char,
    instance: *const c_char,
    out: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        status_of((|| {
            // SAFETY: the caller guarantees `out` is NULL or writable for `cap` bytes and
            // `len` is NULL or a writable size_t.
            let out = unsafe { OutBuf::new(out.cast(), cap, len, false) }?;
            // SAFETY: the caller guarantees `type_uri` is NULL or a NUL-terminated string.
            let type_uri = unsafe { optional_str(type_uri, "type_uri") }?;
            // SAFETY: the caller guarantees `instance` is NULL or a NUL-terminated string.
            let instance = unsafe { optional_str(instance, "instance") }?;
            let err = error_for(status)?;
            let mut problem = ProblemDetails::new(&err);
            if let Some(t) = type_uri {
                problem = problem.with_type(t);
            }
            if let Some(i) = instance {
                problem = problem.with_instance(i);
            }
            // Not `to_json()`: its buffer estimate can be too small for strings that
            // need escaping, and it then returns "". JSON escaping makes a byte at most
            // 6 bytes (\u001f); the fixed members need far less than 1024.
            let bound = type_uri.map_or(0, str::len)
                .saturating_add(instance.map_or(0, str::len))
                .saturating_add(problem.detail.len())
                .saturating_add(problem.title.len())
                .saturating_mul(6)
                .saturating_add(1024);
            let mut buf = vec![0u8; bound];
            let n = problem
                .write_json(&mut buf)
                .map_err(|_| Failure::new(XCA_INVALID_ARGUMENT, "cannot format the problem"))?;
            out.write_text(buf.get(..n).unwrap_or_default())
        })())
    }
}
