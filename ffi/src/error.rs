//! Failures inside the library, and the per-thread "last error message" that lets a C
//! caller log why a call failed (`xca_last_error_message`).

use core::ffi::c_char;
use std::cell::RefCell;
use std::fmt::Write as _;

use crate::io::OutBuf;
use crate::status::{map_error, status_name, xca_status, XCA_INVALID_CONFIG, XCA_OK};

/// A failed call: the status to return and a human message for the last-error slot.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: xca_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: xca_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<xconnauth_core::Error> for Failure {
    fn from(err: xconnauth_core::Error) -> Self {
        // Core messages are fixed strings plus a policy-supplied name: they never
        // contain token bytes, claim values or key material.
        Failure::new(map_error(err.kind()), err.detail().to_string())
    }
}

impl From<xconnauth_core::ConfigError> for Failure {
    fn from(err: xconnauth_core::ConfigError) -> Self {
        Failure::new(XCA_INVALID_CONFIG, err.message())
    }
}

thread_local! {
    // Per thread, like errno: concurrent callers on other threads never overwrite it.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `"<code>: <message>"` as this thread's last error.
pub(crate) fn set_last_error(status: xca_status, message: &str) {
    // try_with: during thread teardown the slot may already be gone; a lost message is
    // better than a panic outside any boundary.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            s.clear();
            let name = status_name(status).to_str().unwrap_or("unknown");
            let _ = write!(s, "{name}: {message}");
        }
    });
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            s.clear();
        }
    });
}

/// A copy of this thread's last error message (for tests).
#[cfg(test)]
pub(crate) fn last_error() -> String {
    LAST_ERROR
        .try_with(|slot| slot.borrow().clone())
        .unwrap_or_default()
}

/// Ends a call that does work (new, set_jwks, verify): success clears this thread's
/// last error, a failure records it.
pub(crate) fn finish(result: Result<(), Failure>) -> xca_status {
    match result {
        Ok(()) => {
            clear_last_error();
            XCA_OK
        }
        Err(f) => {
            set_last_error(f.status, &f.message);
            f.status
        }
    }
}

/// Copies the message of the last failed `xca_verifier_new`, `xca_verifier_set_jwks`,
/// `xca_verify` or `xca_verify_header` call made **on this thread** into `buf`, as
/// NUL-terminated UTF-8 text such as `"expired: the token has expired"`. It is empty
/// when the last such call succeeded. Messages never contain token data. This call and
/// the other helpers (`xca_status_name`, `xca_www_authenticate`, `xca_problem_json`,
/// ...) do not change it.
///
/// Output rules (shared by every text output of this library): `*len` receives the
/// text length **without** the NUL; the call needs `cap >= *len + 1`. When `cap` is
/// too small it returns `XCA_BUFFER_TOO_SMALL`, writes the needed text length to
/// `*len` and leaves `buf` untouched. `buf` may be NULL when `cap` is 0 (a size query).
/// `len` must not be NULL.
#[no_mangle]
pub extern "C" fn xca_last_error_message(
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> xca_status {
    ffi_panic_boundary! {
        // SAFETY: the caller guarantees `buf` is NULL or writable for `cap` bytes and
        // `len` is NULL or a writable size_t (the header contract above).
        let out = match unsafe { OutBuf::new(buf.cast(), cap, len, false) } {
            Ok(out) => out,
            Err(f) => return f.status,
        };
        let message = LAST_ERROR
            .try_with(|slot| slot.try_borrow().map(|s| s.clone()).unwrap_or_default())
            .unwrap_or_default();
        match out.write_text(message.as_bytes()) {
            Ok(()) => XCA_OK,
            Err(f) => f.status,
        }
    }
}
