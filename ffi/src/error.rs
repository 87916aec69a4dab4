//! Failures inside the library, and the per-thread "last error message" that lets a C
//! caller log why a call failed (read through `xca_last_error_message`, message.rs).

use std::cell::RefCell;
use std::fmt::Write as _;

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

/// A copy of this thread's last error message (empty when none, or while the slot is
/// unavailable during thread teardown).
pub(crate) fn last_error() -> String {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|s| s.clone()).unwrap_or_default())
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
