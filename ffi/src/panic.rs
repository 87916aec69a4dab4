//! The panic boundary: no Rust panic ever unwinds into C (that would abort the host
//! process, or worse). Every exported function body runs inside `ffi_panic_boundary!`.

use core::ffi::c_char;

use crate::error::set_last_error;
use crate::status::{xca_status, XCA_PANIC};

/// What an exported function returns when its body panicked.
pub(crate) trait PanicDefault {
    fn on_panic() -> Self;
}

impl PanicDefault for xca_status {
    fn on_panic() -> Self {
        set_last_error(XCA_PANIC, "internal error: a Rust panic was caught");
        XCA_PANIC
    }
}

impl PanicDefault for u16 {
    fn on_panic() -> Self {
        0
    }
}

impl PanicDefault for () {
    fn on_panic() -> Self {}
}

impl PanicDefault for *const c_char {
    // The string-returning calls promise never to return NULL.
    fn on_panic() -> Self {
        c"panic".as_ptr()
    }
}

/// Runs the body under `catch_unwind`; a panic becomes the return type's
/// [`PanicDefault`]. `return` inside the body returns from the body, as in a closure.
macro_rules! ffi_panic_boundary {
    ( $($tt:tt)* ) => {
        // AssertUnwindSafe: after a panic nothing observes the body's state again; the
        // only shared state (a verifier's key set) is swapped whole, never left
        // half-updated by code that can panic.
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($tt)* })) {
            Ok(ret) => ret,
            Err(_) => $crate::panic::PanicDefault::on_panic(),
        }
    };
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use crate::status::XCA_OK;

    fn boom(fail: bool) -> xca_status {
        ffi_panic_boundary! {
            if fail {
                panic!("test panic");
            }
            XCA_OK
        }
    }

    #[test]
    fn panics_become_status() {
        assert_eq!(boom(false), XCA_OK);
        assert_eq!(boom(true), XCA_PANIC);
        assert!(crate::error::last_error().contains("panic"));
    }
}
