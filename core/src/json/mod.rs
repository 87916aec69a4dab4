//! Strict, allocation-free RFC 8259 JSON for token headers, claims and key sets.
//!
//! serde-json-core is lax inside members it skips and does not unescape borrowed strings
//! (FINDINGS §3), which would let the claims we check differ from the claims a standard
//! parser reads. So every document is first run through [`validate_with`], a one-pass
//! iterative validator (grammar, UTF-8, escapes incl. surrogate pairs, duplicate member
//! names compared after unescaping, a depth limit that cannot exhaust a small stack).
//! Lookups afterwards walk the already-validated text through borrowed views
//! ([`Object`], [`Array`], [`JsonStr`], [`Number`]) and never allocate.
//!
//! Modules by responsibility: `lex` reads bytes, `validate` checks a document, `names`
//! finds duplicate member names, `string` and `number` are the scalar views, `view` the
//! container views; `tests` tests them together.

mod lex;
mod names;
mod number;
mod string;
#[cfg(test)]
mod tests;
mod validate;
mod view;

use core::cmp::Ordering;
use core::fmt;

use lex::*;
use names::*;

pub use names::MAX_OBJECT_NAMES;
pub(crate) use names::{Scratch, NAME_SLOTS};
pub use number::Number;
pub use string::JsonStr;
#[cfg(test)]
pub(crate) use validate::validate;
pub(crate) use validate::{validate_with, Shape};
pub use view::{Array, Object, Value};

/// Deepest nesting accepted. DESIGN §2 requires 32 to pass; the validator is iterative,
/// so the limit only bounds the small fixed state below, never the machine stack.
pub const MAX_DEPTH: usize = 64;

/// Why a document is not acceptable JSON. Every variant maps to `bad_json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not UTF-8 (including overlong forms and encoded surrogates).
    Utf8,
    /// Not RFC 8259 grammar.
    Syntax,
    /// A lone or reversed UTF-16 surrogate escape.
    Surrogate,
    /// The same member name twice in one object (after unescaping).
    Duplicate,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More member names than the caller allows.
    TooManyNames,
    /// One object of a token has more than [`MAX_OBJECT_NAMES`] members (`too_large`).
    TooManyMembers,
}

impl JsonError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            JsonError::Utf8 => "is not valid UTF-8",
            JsonError::Syntax => "is not valid JSON",
            JsonError::Surrogate => "contains an unpaired UTF-16 surrogate escape",
            JsonError::Duplicate => "has a duplicate member name",
            JsonError::TooDeep => "is nested too deeply",
            JsonError::TooManyNames => "has too many member names",
            JsonError::TooManyMembers => "has an object with more than 1024 members",
        }
    }
}
