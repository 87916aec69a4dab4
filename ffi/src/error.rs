//! Failures inside the library, and the per-thread "last error message" that lets a C
//! caller log why a call failed (`xca_last_error_message`).

use core::ffi::c_char;
use std::cell::RefCell;
use std::fmt::Write as _;

use crate::io::{OutBuf, TooSmall};
use crate::status::{
    map_error, status_name, xca_status, XCA_BUFFER_TOO_SMALL, XCA_INVALID_CONFIG, XCA_OK,
};

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

/// A failed verify, kept as data: its message is formatted only when
/// `xca_last_error_message` asks, so a rejected token costs no allocation.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    /// A token category (or `keys_unavailable`) from the core or the key engine.
    Token(xca_status, xconnauth_core::Error),
    /// The claims did not fit the caller's buffer (or a size query).
    TooSmall(TooSmall),
}

/// How a verify call failed: a message built already (API misuse, rare), or one
/// built only when asked.
#[derive(Debug)]
pub(crate) enum VerifyFailure {
    Built(Failure),
    Pending(Pending),
}

impl From<Failure> for VerifyFailure {
    fn from(f: Failure) -> Self {
        VerifyFailure::Built(f)
    }
}

impl From<xconnauth_core::Error> for VerifyFailure {
    fn from(err: xconnauth_core::Error) -> Self {
        VerifyFailure::Pending(Pending::Token(map_error(err.kind()), err))
    }
}

impl From<TooSmall> for VerifyFailure {
    fn from(small: TooSmall) -> Self {
        VerifyFailure::Pending(Pending::TooSmall(small))
    }
}

thread_local! {
    // Per thread, like errno: concurrent callers on other threads never overwrite it.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    // Newer than LAST_ERROR when set: every writer of one clears the other.
    static LAST_PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Records `"<code>: <message>"` as this thread's last error.
pub(crate) fn set_last_error(status: xca_status, message: &str) {
    clear_pending();
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

/// Records a verify failure whose message is built later, if ever.
fn set_pending(pending: Pending) {
    clear_text();
    let _ = LAST_PENDING.try_with(|slot| {
        if let Ok(mut p) = slot.try_borrow_mut() {
            *p = Some(pending);
        }
    });
}

fn clear_pending() {
    let _ = LAST_PENDING.try_with(|slot| {
        if let Ok(mut p) = slot.try_borrow_mut() {
            *p = None;
        }
    });
}

fn clear_text() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            // Keeps the capacity: the next message needs no allocation either.
            s.clear();
        }
    });
}

fn clear_last_error() {
    clear_text();
    clear_pending();
}

/// This thread's last error message, built now if it was kept as data.
fn last_error_text() -> String {
    let pending = LAST_PENDING
        .try_with(|slot| slot.try_borrow().ok().and_then(|p| p.clone()))
        .ok()
        .flatten();
    match pending {
        Some(Pending::Token(status, err)) => {
            let name = status_name(status).to_str().unwrap_or("unknown");
            format!("{name}: {}", err.detail())
        }
        Some(Pending::TooSmall(small)) => {
            let name = status_name(XCA_BUFFER_TOO_SMALL)
                .to_str()
                .unwrap_or("unknown");
            format!("{name}: {small}")
        }
        None => LAST_ERROR
            .try_with(|slot| slot.try_borrow().map(|s| s.clone()).unwrap_or_default())
            .unwrap_or_default(),
    }
}

/// A copy of this thread's last error message (for tests).
#[cfg(test)]
pub(crate) fn last_error() -> String {
    last_error_text()
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

/// [`finish`] for `xca_verify` / `xca_verify_header`: a failure is recorded without
/// formatting its message.
pub(crate) fn finish_verify(result: Result<(), VerifyFailure>) -> xca_status {
    match result {
        Ok(()) => {
            clear_last_error();
            XCA_OK
        }
        Err(VerifyFailure::Built(f)) => {
            set_last_error(f.status, &f.message);
            f.status
        }
        Err(VerifyFailure::Pending(pending)) => {
            let status = match &pending {
                Pending::Token(status, _) => *status,
                Pending::TooSmall(_) => XCA_BUFFER_TOO_SMALL,
            };
            set_pending(pending);
            status
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
        let message = last_error_text();
        match out.write_text(message.as_bytes()) {
            Ok(()) => XCA_OK,
            Err(f) => f.status,
        }
    }
}
