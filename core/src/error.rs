//! The shared error vocabulary (DESIGN §2) and configuration errors.

use alloc::string::String;
use core::fmt;

/// Expands the category table (`error_table.rs`) into `ErrorKind` and its methods.
///
/// `c_status` and `when` are for the other surfaces (tools/gen-errors); core needs
/// neither.
macro_rules! categories {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident {
            code: $code:literal,
            c_status: $c_status:literal,
            http: $http:literal,
            rfc6750: $rfc6750:expr,
            title: $title:literal,
            when: $when:literal $(,)?
        }
    )+) => {
        /// Why a token was rejected: exactly one category per failure (DESIGN §2).
        ///
        /// The [`code`](ErrorKind::code) strings are API shared with the C, Python and CLI
        /// surfaces and never change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorKind {
            /// Every category, in DESIGN §2 order (the order of the C status codes: new
            /// categories are appended, never inserted).
            pub const ALL: [ErrorKind; CATEGORY_COUNT] = [$(ErrorKind::$variant),+];

            /// The stable category string, e.g. `"expired"`.
            ///
            /// ```
            /// assert_eq!(xconnauth::ErrorKind::WrongAudience.code(), "wrong_audience");
            /// ```
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $code,)+
                }
            }

            /// The HTTP status to answer with: 403 for scope and role failures (the token
            /// is fine but not enough), 503 for `keys_unavailable` (the server cannot
            /// judge the token now), 401 otherwise.
            ///
            /// ```
            /// assert_eq!(xconnauth::ErrorKind::KeysUnavailable.http_status(), 503);
            /// ```
            #[must_use]
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorKind::$variant => $http,)+
                }
            }

            /// The RFC 6750 §3.1 `error` of the `WWW-Authenticate` challenge:
            /// `invalid_token`, `insufficient_scope` for the 403 categories, and `None` for
            /// `keys_unavailable` (a bare challenge: RFC 6750 has no code for "cannot judge
            /// now").
            ///
            /// ```
            /// use xconnauth::ErrorKind;
            /// assert_eq!(ErrorKind::Expired.rfc6750_error(), Some("invalid_token"));
            /// assert_eq!(ErrorKind::MissingRole.rfc6750_error(), Some("insufficient_scope"));
            /// assert_eq!(ErrorKind::KeysUnavailable.rfc6750_error(), None);
            /// ```
            #[must_use]
            pub const fn rfc6750_error(self) -> Option<&'static str> {
                match self {
                    $(ErrorKind::$variant => $rfc6750,)+
                }
            }

            /// A short human title for problem responses.
            #[must_use]
            pub const fn title(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $title,)+
                }
            }
        }

        /// How many categories there are.
        const CATEGORY_COUNT: usize = [$($code),+].len();
    };
}

/// Core ignores the C API's own statuses; tools/gen-errors reads them.
macro_rules! c_api_statuses {
    ($($table:tt)*) => {};
}

include!("error_table.rs");

impl ErrorKind {
    /// The category for a code string, if it is one.
    #[must_use]
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Extra context for a message: a name taken from the *policy* (a claim, scope, role or
/// client), never from the token, so messages cannot echo attacker data or secrets.
pub(crate) type Context = heapless::String<64>;

/// A rejected token: the category plus a human message.
///
/// Messages never contain token bytes, claim values or key material.
///
/// ```
/// use xconnauth::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::Expired, "the token has expired");
/// assert_eq!(e.code(), "expired");
/// assert_eq!(e.http_status(), 401);
/// assert_eq!(e.to_string(), "expired: the token has expired");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: &'static str,
    context: Context,
}

impl Error {
    /// An error of `kind` with a fixed message.
    #[must_use]
    pub fn new(kind: ErrorKind, message: &'static str) -> Self {
        Error {
            kind,
            message,
            context: Context::new(),
        }
    }

    /// Adds a name to the message, shortened with `…` beyond 64 bytes. Pass only
    /// policy-supplied names (a claim, scope, role), never token content.
    #[must_use]
    pub fn with_context(mut self, name: &str) -> Self {
        self.context.clear();
        for c in name.chars() {
            if self.context.len() + c.len_utf8() > self.context.capacity() - 3 {
                let _ = self.context.push('…');
                break;
            }
            let _ = self.context.push(c);
        }
        self
    }

    /// The category.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable category string (DESIGN §2).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// 401 or 403.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The fixed part of the human message.
    #[must_use]
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The policy name the message is about (a claim, scope, role), if any.
    #[must_use]
    pub fn context(&self) -> Option<&str> {
        if self.context.is_empty() {
            None
        } else {
            Some(&self.context)
        }
    }

    /// The human message without the category prefix (what `Display` prints after
    /// `"<code>: "`).
    ///
    /// ```
    /// use xconnauth::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Expired, "the token has expired");
    /// assert_eq!(e.detail().to_string(), "the token has expired");
    /// ```
    #[must_use]
    pub fn detail(&self) -> Detail<'_> {
        Detail(self)
    }

    /// Writes the human message without the category prefix.
    pub(crate) fn write_detail(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        f.write_str(self.message)?;
        if let Some(c) = self.context() {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind.code())?;
        self.write_detail(f)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// The human message of an [`Error`], without its category; see [`Error::detail`].
#[derive(Clone, Copy, Debug)]
pub struct Detail<'e>(&'e Error);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_detail(f)
    }
}

/// A problem with the verifier's configuration (key set, policy, discovery document):
/// the caller's mistake, not the token's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    /// A configuration error with this message (for layers that validate their own
    /// options the same way).
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }

    /// The human message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
        assert_eq!(ErrorKind::from_code("ok"), None);
        let statuses: usize = ErrorKind::ALL
            .iter()
            .filter(|k| k.http_status() == 403)
            .count();
        assert_eq!(statuses, 2);
        // A 503 is never the token's fault: only a category saying so may carry it.
        assert!(ErrorKind::ALL
            .iter()
            .filter(|k| k.http_status() == 503)
            .all(|k| k.rfc6750_error().is_none()));
    }

    #[test]
    fn the_table_keeps_every_value() {
        // The values before the table existed, written out: they are API (the C codes
        // follow this order), so a slip in error_table.rs must fail here. New categories
        // are appended after them.
        let expected = [
            ("malformed", 401, "Malformed bearer token"),
            ("bad_base64", 401, "Token is not valid base64url"),
            ("bad_json", 401, "Token JSON is invalid"),
            ("too_large", 401, "Token too large"),
            ("unsupported_header", 401, "Unsupported token header"),
            ("unsupported_alg", 401, "Unsupported signature algorithm"),
            ("unknown_kid", 401, "Unknown signing key"),
            ("weak_key", 401, "Signing key too weak"),
            ("bad_signature", 401, "Invalid token signature"),
            ("missing_claim", 401, "Required claim missing"),
            ("expired", 401, "Token expired"),
            ("not_yet_valid", 401, "Token not yet valid"),
            ("issued_in_future", 401, "Token issued in the future"),
            ("wrong_issuer", 401, "Untrusted token issuer"),
            (
                "wrong_audience",
                401,
                "Token not intended for this audience",
            ),
            ("wrong_type", 401, "Wrong token type"),
            ("missing_scope", 403, "Insufficient scope"),
            ("missing_role", 403, "Insufficient role"),
            ("keys_unavailable", 503, "Signing keys unavailable"),
        ];
        assert!(ErrorKind::ALL.len() >= expected.len());
        for (kind, (code, http, title)) in ErrorKind::ALL.into_iter().zip(expected) {
            assert_eq!(
                (kind.code(), kind.http_status(), kind.title()),
                (code, http, title)
            );
            let rfc6750 = match http {
                403 => Some("insufficient_scope"),
                503 => None,
                _ => Some("invalid_token"),
            };
            assert_eq!(kind.rfc6750_error(), rfc6750, "{kind:?}");
        }
        assert_eq!(ErrorKind::IssuedInFuture.code(), "issued_in_future");
        assert_eq!(format!("{:?}", ErrorKind::IssuedInFuture), "IssuedInFuture");
    }

    #[test]
    fn context_is_bounded() {
        let long = "r".repeat(500);
        let e = Error::new(ErrorKind::MissingRole, "role missing").with_context(&long);
        let c = e.context().unwrap_or_default();
        assert!(c.len() <= 64 && c.ends_with('…'));
        let e = Error::new(ErrorKind::MissingRole, "role missing").with_context("admin");
        assert_eq!(e.to_string(), "missing_role: role missing (admin)");
    }
}
