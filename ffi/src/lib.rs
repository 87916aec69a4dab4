//! `libxconnauth`: the C ABI of [`xconnauth`], a strict verifier for Keycloak-issued JWT
//! bearer tokens. The C header is `include/xconnauth.h`, generated from this crate by
//! cbindgen (`make -C ffi header`; `tests/header.rs` fails when it is stale).
//!
//! Conventions (after rustls-ffi):
//! - every name starts with `xca_`; handles are opaque (`xca_verifier`), created by
//!   `*_new` and released by `*_free` (NULL is a no-op);
//! - every fallible call returns an `xca_status` (fixed values, never reused) and writes
//!   its outputs only on success (the one exception: `XCA_BUFFER_TOO_SMALL` writes the
//!   needed length);
//! - inputs are `const` pointers with a length, outputs come last, each buffer is
//!   followed by its capacity and a length output;
//! - every pointer is NULL-checked (`XCA_NULL_ARGUMENT`) and every body runs inside a
//!   panic boundary (`XCA_PANIC`): the library never unwinds into or aborts the host;
//! - `xca_last_error_message()` gives a human message for the last failure on the
//!   calling thread.
#![allow(non_camel_case_types)]
// Exported functions take raw pointers from C and are not `unsafe fn`: C has no such
// notion, and each dereference is checked and justified inside.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use core::ffi::c_char;

#[macro_use]
mod panic;

// Declaration order is the order of the functions in the generated header (the blank
// lines keep rustfmt from sorting them): codes, verifier, messages, HTTP answers.
mod status;

mod verifier;

mod error;

mod message;

mod http;

mod io;

pub use http::{xca_problem_json, xca_www_authenticate};
pub use message::xca_last_error_message;
pub use status::*;
pub use verifier::{
    xca_verifier, xca_verifier_free, xca_verifier_new, xca_verifier_new_remote,
    xca_verifier_refresh, xca_verifier_set_jwks, xca_verifier_skipped_keys,
    xca_verifier_status_json, xca_verify, xca_verify_header,
};

/// The library version, e.g. `"0.1.0"`: static, NUL-terminated, never NULL. The ELF
/// soname carries its major number (`libxconnauth.so.0`).
#[no_mangle]
pub extern "C" fn xca_version() -> *const c_char {
    ffi_panic_boundary! {
        const VERSION: &core::ffi::CStr =
            match core::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
                Ok(v) => v,
                Err(_) => c"unknown",
            };
        VERSION.as_ptr()
    }
}

#[cfg(test)]
mod tests;
