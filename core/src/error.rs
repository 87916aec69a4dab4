//! The shared error vocabulary (DESIGN §2) and configuration errors.

use alloc::string::String;
use core::fmt;

/// Why a token was rejected: exactly one category per failure (DESIGN §2).
///
/// The [`code`](ErrorKind::code) strings are API shared with the C, Python and CLI
/// surfaces and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
    /// wrong `Bearer` scheme.
    Malformed,
    /// A segment is not canonical unpadded base64url.
    BadBase64,
    /// The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
    /// JSON type.
    BadJson,
    /// The token exceeds the configured size limit.
    TooLarge,
    /// The header carries `crit`, `b64` or `cty`.
    UnsupportedHeader,
    /// `alg` is missing, `none`, HMAC, or not in the policy's allow-list.
    UnsupportedAlg,
    /// No usable signing key matches the token.
    UnknownKid,
    /// The selected key is too small, too large, or has a bad exponent.
    WeakKey,
    /// The signature does not verify.
    BadSignature,
    /// A claim the policy requires is absent.
    MissingClaim,
    /// `now >= exp + leeway`.
    Expired,
    /// `now < nbf - leeway`.
    NotYetValid,
    /// `iat > now + leeway`.
    IssuedInFuture,
    /// `iss` is not one of the trusted issuers (or the key belongs to another issuer).
    WrongIssuer,
    /// No `aud` value is an accepted audience.
    WrongAudience,
    /// The `typ` claim is not the expected token type.
    WrongType,
    /// A required scope is not granted.
    MissingScope,
    /// A required realm or client role is not granted.
    MissingRole,
    /// Not a token error: a verifier that fetches its keys from an issuer has no key
    /// set yet that could judge this token (the issuer was unreachable since start).
    /// HTTP 503: the client may retry; the token may well be fine.
    KeysUnavailable,
}

impl ErrorKind {
    /// Every category, in DESIGN §2 order.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::Malformed,
        ErrorKind::BadBase64,
        ErrorKind::BadJson,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedHeader,
        ErrorKind::UnsupportedAlg,
        ErrorKind::UnknownKid,
        ErrorKind::WeakKey,
        ErrorKind::BadSignature,
        ErrorKind::MissingClaim,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::IssuedInFuture,
        ErrorKind::WrongIssuer,
        ErrorKind::WrongAudience,
        ErrorKind::WrongType,
        ErrorKind::MissingScope,
        ErrorKind::MissingRole,
        // Appended, never inserted: the C status codes follow this order.
        ErrorKind::KeysUnavailable,
    ];

    /// The stable category string, e.g. `"expired"`.
    ///
    /// ```
    /// assert_eq!(xconnauth::ErrorKind::WrongAudience.code(), "wrong_audience");
    /// ```
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::BadBase64 => "bad_base64",
            ErrorKind::BadJson => "bad_json",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::UnsupportedHeader => "unsupported_header",
            ErrorKind::UnsupportedAlg => "unsupported_alg",
            ErrorKind::UnknownKid => "unknown_kid",
            ErrorKind::WeakKey => "weak_key",
            ErrorKind::BadSignature => "bad_signature",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::IssuedInFuture => "issued_in_future",
            ErrorKind::WrongIssuer => "wrong_issuer",
            ErrorKind::WrongAudience => "wrong_audience",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::MissingScope => "missing_scope",
            ErrorKind::MissingRole => "missing_role",
            ErrorKind::KeysUnavailable => "keys_unavailable",
        }
    }

    /// The category for a code string, if it is one.
    #[must_use]
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The HTTP status to answer with: 403 for scope and role failures (the token is
    /// fine but not enough), 503 for `keys_unavailable` (the server cannot judge the
    /// token now), 401 otherwise.
    ///
    /// ```
    /// assert_eq!(xconnauth::ErrorKind::KeysUnavailable.http_status(), 503);
    /// ```
    #[must_use]
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::MissingScope | ErrorKind::MissingRole => 403,
            ErrorKind::KeysUnavailable => 503,
            _ => 401,
        }
    }

    /// A short human title for problem responses.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "Malformed bearer token",
            ErrorKind::BadBase64 => "Token is not valid base64url",
            ErrorKind::BadJson => "Token JSON is invalid",
            ErrorKind::TooLarge => "Token too large",
            ErrorKind::UnsupportedHeader => "Unsupported token header",
            ErrorKind::UnsupportedAlg => "Unsupported signature algorithm",
            ErrorKind::UnknownKid => "Unknown signing key",
            ErrorKind::WeakKey => "Signing key too weak",
            ErrorKind::BadSignature => "Invalid token signature",
            ErrorKind::MissingClaim => "Required claim missing",
            ErrorKind::Expired => "Token expired",
            ErrorKind::NotYetValid => "Token not yet valid",
            ErrorKind::IssuedInFuture => "Token issued in the future",
            ErrorKind::WrongIssuer => "Untrusted token issuer",
            ErrorKind::WrongAudience => "Token not intended for this audience",
            ErrorKind::WrongType => "Wrong token type",
            ErrorKind::MissingScope => "Insufficient scope",
            ErrorKind::MissingRole => "Insufficient role",
            ErrorKind::KeysUnavailable => "Signing keys unavailable",
        }
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
        assert_eq!(ErrorKind::ALL.last(), Some(&ErrorKind::KeysUnavailable));
        assert!(ErrorKind::ALL
            .iter()
            .all(|k| (k.http_status() == 503) == (*k == ErrorKind::KeysUnavailable)));
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
