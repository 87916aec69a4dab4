//! Failures inside the library, and the per-thread "last error message" that lets a C
//! caller log why a call failed (`xca_last_error_message`).

use std::cell::RefCell;
use std::fmt::Write as _;

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

/// A copy of this thread's last error message, built now if it was kept as data
/// (empty when none, or while the slot is unavailable during thread teardown).
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

/// An output that did not fit: what `xca_last_error_message` says about it. Kept as
/// data (no message is formatted unless asked for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooSmall {
    pub(crate) needed: usize,
    pub(crate) cap: usize,
}

impl core::fmt::Display for TooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the output needs {} bytes, the buffer holds {}",
            self.needed, self.cap
        )
    }
}
