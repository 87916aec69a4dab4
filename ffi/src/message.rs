//! `xca_last_error_message`: the C entry point that copies this thread's last error
//! (kept by error.rs) out through the shared output rules of io.rs. A module of its
//! own so that error.rs (used by io.rs) does not depend on io.rs.

use core::ffi::c_char;

use crate::error::last_error;
use crate::io::OutBuf;
use crate::status::{xca_status, XCA_OK};

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
        let message = last_error();
        match out.write_text(message.as_bytes()) {
            Ok(()) => XCA_OK,
            Err(f) => f.status,
        }
    }
}
