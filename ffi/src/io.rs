//! Turning C pointers into Rust values: the only place raw input pointers become
//! slices and output pointers are written.
//!
//! Each function here is `unsafe`: the C caller promises that a non-NULL pointer is
//! valid for the length it passes (the header states this for every parameter). Here
//! we check everything we *can* check: NULL, lengths a Rust slice cannot have, UTF-8.

use core::ffi::{c_char, CStr};
use core::ptr;

use crate::error::{Failure, TooSmall};
use crate::status::{
    XCA_BUFFER_TOO_SMALL, XCA_INVALID_ARGUMENT, XCA_INVALID_UTF8, XCA_NULL_ARGUMENT,
};

/// `len` bytes at `ptr`, borrowed for the duration of the call.
///
/// NULL is `null_argument` even with `len == 0`, so a forgotten pointer is reported
/// rather than silently read as empty input.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a`, and not written
/// during `'a`.
pub(crate) unsafe fn input<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::new(XCA_NULL_ARGUMENT, format!("{what} is NULL")));
    }
    // No real buffer is larger than isize::MAX bytes, and from_raw_parts requires it.
    if isize::try_from(len).is_err() {
        return Err(Failure::new(
            XCA_INVALID_ARGUMENT,
            format!("{what}_len is larger than PTRDIFF_MAX"),
        ));
    }
    // SAFETY: `ptr` is non-NULL; the caller guarantees it is valid for `len` reads
    // during 'a; `len <= isize::MAX` was checked above; u8 has alignment 1.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A NUL-terminated UTF-8 string, or `None` for NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn optional_str<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string that lives
    // for 'a.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(Some)
        .map_err(|_| Failure::new(XCA_INVALID_UTF8, format!("{what} is not UTF-8")))
}

/// A caller-provided output buffer plus its length output, validated before any work
/// is done so that argument errors are reported whatever the verdict would have been.
pub(crate) struct OutBuf {
    out: *mut u8,
    cap: usize,
    /// NULL only in discard mode.
    len: *mut usize,
}

impl OutBuf {
    /// Validates an output triple.
    ///
    /// * `out` may be NULL only when `cap == 0` (a size query: `buffer_too_small` with the
    ///   needed length).
    /// * `len` must be non-NULL, except that with `allow_discard` the triple
    ///   `(NULL, 0, NULL)` means "output not wanted" and every write succeeds.
    ///
    /// # Safety
    /// A non-NULL `out` must be valid for writes of `cap` bytes and a non-NULL `len` for
    /// one `size_t` write, until the returned value is dropped.
    pub(crate) unsafe fn new(
        out: *mut u8,
        cap: usize,
        len: *mut usize,
        allow_discard: bool,
    ) -> Result<OutBuf, Failure> {
        if out.is_null() && cap != 0 {
            return Err(Failure::new(
                XCA_NULL_ARGUMENT,
                "the output buffer is NULL but its capacity is not 0",
            ));
        }
        if len.is_null() && !(allow_discard && out.is_null()) {
            return Err(Failure::new(XCA_NULL_ARGUMENT, "the length output is NULL"));
        }
        Ok(OutBuf { out, cap, len })
    }

    /// Writes `data` followed by a NUL; `*len` excludes the NUL.
    pub(crate) fn write_text(self, data: &[u8]) -> Result<(), Failure> {
        self.write(data, true)
    }

    fn write(self, data: &[u8], nul: bool) -> Result<(), Failure> {
        self.write_or_size(data, nul)
            .map_err(|small| Failure::new(XCA_BUFFER_TOO_SMALL, small.to_string()))
    }

    /// Writes `data` exactly (no terminator); for the claims JSON. A `buffer_too_small`
    /// builds no message here: the verify path allocates nothing, also when the caller
    /// only asks for the size.
    pub(crate) fn write_bytes(self, data: &[u8]) -> Result<(), TooSmall> {
        self.write_or_size(data, false)
    }

    fn write_or_size(self, data: &[u8], nul: bool) -> Result<(), TooSmall> {
        if self.len.is_null() {
            // Discard mode (checked in `new`): the caller wants the verdict only.
            return Ok(());
        }
        let needed = data.len().saturating_add(usize::from(nul));
        if needed > self.cap {
            // SAFETY: `len` is non-NULL and writable (contract of `new`).
            unsafe { self.len.write_unaligned(data.len()) };
            return Err(TooSmall {
                needed,
                cap: self.cap,
            });
        }
        // `needed <= cap`, and cap > 0 implies `out` is non-NULL (checked in `new`);
        // needed == 0 writes nothing.
        if needed > 0 {
            // SAFETY: `out` is valid for `cap >= data.len()` writes (contract of `new`);
            // `data` is memory this library owns or a separate input, so the two do not
            // overlap.
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.out, data.len()) };
            if nul {
                // SAFETY: `data.len() + 1 == needed <= cap`, so the offset stays inside
                // the caller's buffer.
                let end = unsafe { self.out.add(data.len()) };
                // SAFETY: `end` is in bounds (above) and writable (contract of `new`).
                unsafe { end.write(0) };
            }
        }
        // SAFETY: as above, `len` is non-NULL and writable.
        unsafe { self.len.write_unaligned(data.len()) };
        Ok(())
    }
}
