//! HTTP answers for a rejected token: the RFC 6750 `WWW-Authenticate` value and an
//! RFC 7807 problem body. Both write into caller storage, so no_std servers can use them.

use core::fmt::{self, Write};
use serde::Serialize;

use crate::error::Error;

/// The problem `type` URI used by i2 Connect connectors.
pub const I2_CONNECT_PROBLEM_TYPE: &str = "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb";

/// Longest human `detail` text (messages are fixed strings plus a short policy name).
type Detail = heapless::String<192>;

/// An RFC 7807 ProblemDetails object for a rejected token.
///
/// ```
/// use xconnauth::{Error, ErrorKind, http::ProblemDetails};
/// let err = Error::new(ErrorKind::Expired, "the token has expired");
/// let p = ProblemDetails::new(&err).with_type(xconnauth::http::I2_CONNECT_PROBLEM_TYPE);
/// let mut buf = [0u8; 512];
/// let n = p.write_json(&mut buf).unwrap();
/// let json = core::str::from_utf8(&buf[..n]).unwrap();
/// assert!(json.starts_with(r#"{"type":"urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb","title":"Token expired","status":401"#));
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct ProblemDetails<'a> {
    /// Problem type URI; `about:blank` unless configured.
    #[serde(rename = "type")]
    pub type_uri: &'a str,
    /// Short summary.
    pub title: &'a str,
    /// HTTP status (401, 403, or 503 for `keys_unavailable`).
    pub status: u16,
    /// Human explanation; never holds token content.
    pub detail: Detail,
    /// URI of this occurrence, if the caller has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<&'a str>,
    /// The DESIGN §2 category, so clients can branch without parsing text.
    pub error: &'static str,
}

impl<'a> ProblemDetails<'a> {
    /// The problem for `err`, with type `about:blank` and the HTTP status phrase as title
    /// (RFC 7807 §4.2).
    #[must_use]
    pub fn new(err: &Error) -> ProblemDetails<'a> {
        let mut detail = Detail::new();
        // A detail that does not fit is cut at a character boundary; the category and
        // title still say what happened.
        let _ = err.write_detail(&mut Truncating(&mut detail));
        ProblemDetails {
            type_uri: "about:blank",
            title: match err.http_status() {
                403 => "Forbidden",
                503 => "Service Unavailable",
                _ => "Unauthorized",
            },
            status: err.http_status(),
            detail,
            instance: None,
            error: err.code(),
        }
    }

    /// Uses a specific problem type URI; the title then names the precise problem.
    #[must_use]
    pub fn with_type(mut self, type_uri: &'a str) -> Self {
        if type_uri != "about:blank" {
            if let Some(kind) = crate::ErrorKind::from_code(self.error) {
                self.title = kind.title();
            }
        }
        self.type_uri = type_uri;
        self
    }

    /// Adds the `instance` URI.
    #[must_use]
    pub fn with_instance(mut self, instance: &'a str) -> Self {
        self.instance = Some(instance);
        self
    }

    /// Writes the JSON body into `out`, returning its length.
    ///
    /// # Errors
    /// `out` is too small.
    pub fn write_json(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        serde_json_core::to_slice(self, out).map_err(|_| BufferTooSmall)
    }

    /// The JSON body as a `String`.
    #[must_use]
    pub fn to_json(&self) -> alloc::string::String {
        // Escaping turns one byte into at most six (`\u001f`): size for the worst case.
        let strings = self.type_uri.len()
            + self.title.len()
            + self.detail.len()
            + self.instance.map_or(0, str::len)
            + self.error.len();
        let mut buf = alloc::vec![0u8; 128 + 6 * strings];
        let n = self.write_json(&mut buf).unwrap_or(0);
        buf.truncate(n);
        alloc::string::String::from_utf8(buf).unwrap_or_default()
    }
}

/// The caller's buffer cannot hold the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall;

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output buffer too small")
    }
}

struct Truncating<'s, const N: usize>(&'s mut heapless::String<N>);

impl<const N: usize> Write for Truncating<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            self.0.push(c).map_err(|_| fmt::Error)?;
        }
        Ok(())
    }
}

/// Writes the RFC 6750 §3 `WWW-Authenticate` value for `err`:
/// `Bearer realm="…", error="invalid_token", error_description="…"`, or
/// `error="insufficient_scope"` for 403 answers.
///
/// For `keys_unavailable` (a 503 answer) the value is the bare challenge, `Bearer` or
/// `Bearer realm="…"`: RFC 6750 defines no error code for "the server cannot judge the
/// token now", `invalid_token` would tell the client to drop a token that may be fine,
/// and OAuth's `temporarily_unavailable` belongs to the authorization endpoint
/// (RFC 6749 §4.1.2.1), not to resource servers. The reason travels in the 503
/// ProblemDetails body instead.
///
/// ```
/// use xconnauth::{Error, ErrorKind, http::www_authenticate};
/// let mut v = String::new();
/// let err = Error::new(ErrorKind::KeysUnavailable, "no keys yet");
/// www_authenticate(&err, Some("demo"), &mut v).unwrap();
/// assert_eq!(v, r#"Bearer realm="demo""#);
/// ```
///
/// ```
/// use xconnauth::{Error, ErrorKind, http::www_authenticate};
/// let mut v = String::new();
/// let err = Error::new(ErrorKind::MissingScope, "a required scope is not granted");
/// www_authenticate(&err, Some("demo"), &mut v).unwrap();
/// assert_eq!(v, r#"Bearer realm="demo", error="insufficient_scope", error_description="a required scope is not granted""#);
/// ```
///
/// # Errors
/// Only those of `out`.
pub fn www_authenticate(err: &Error, realm: Option<&str>, out: &mut dyn Write) -> fmt::Result {
    let Some(code) = err.kind().rfc6750_error() else {
        out.write_str("Bearer")?;
        if let Some(realm) = realm {
            out.write_str(" realm=")?;
            quoted(realm.chars(), out)?;
        }
        return Ok(());
    };
    out.write_str("Bearer ")?;
    if let Some(realm) = realm {
        out.write_str("realm=")?;
        quoted(realm.chars(), out)?;
        out.write_str(", ")?;
    }
    write!(out, "error=\"{code}\", error_description=")?;
    let mut detail = Detail::new();
    let _ = err.write_detail(&mut Truncating(&mut detail));
    // RFC 6750 §3: error_description is limited to printable ASCII without `"` and `\`.
    quoted(
        detail
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '?'
                }
            })
            .map(|c| match c {
                '"' | '\\' => '\'',
                c => c,
            }),
        out,
    )
}

fn quoted(chars: impl Iterator<Item = char>, out: &mut dyn Write) -> fmt::Result {
    out.write_char('"')?;
    for c in chars {
        if c == '"' || c == '\\' {
            out.write_char('\\')?;
        }
        // Header values cannot carry control characters.
        out.write_char(if c.is_control() { '?' } else { c })?;
    }
    out.write_char('"')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use alloc::string::String;

    #[test]
    fn problem_json_is_escaped_and_bounded() {
        let err = Error::new(
            ErrorKind::MissingRole,
            "a required realm role is not granted",
        )
        .with_context("we\"ird\\role\n");
        let p = ProblemDetails::new(&err).with_instance("/orders/\"1\"");
        let worst = "\u{1}".repeat(3000);
        let q = ProblemDetails::new(&err)
            .with_instance(&worst)
            .with_type(&worst);
        let v: serde_json::Value = serde_json::from_str(&q.to_json()).unwrap();
        assert_eq!(v["instance"].as_str().map(str::len), Some(3000));
        let json = p.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["status"], 403);
        assert_eq!(v["title"], "Forbidden");
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["error"], "missing_role");
        assert_eq!(v["instance"], "/orders/\"1\"");
        assert_eq!(
            v["detail"],
            "a required realm role is not granted (we\"ird\\role\n)"
        );
        let mut small = [0u8; 10];
        assert_eq!(p.write_json(&mut small), Err(BufferTooSmall));
    }

    #[test]
    fn www_authenticate_values() {
        let mut v = String::new();
        let err = Error::new(ErrorKind::Expired, "the token has expired");
        www_authenticate(&err, None, &mut v).unwrap();
        assert_eq!(
            v,
            r#"Bearer error="invalid_token", error_description="the token has expired""#
        );
        let mut v = String::new();
        let err = Error::new(ErrorKind::MissingScope, "x").with_context("ü\"");
        www_authenticate(&err, Some("a\"b"), &mut v).unwrap();
        assert_eq!(
            v,
            r#"Bearer realm="a\"b", error="insufficient_scope", error_description="x (?')""#
        );
        let err = Error::new(ErrorKind::KeysUnavailable, "no keys yet");
        let mut v = String::new();
        www_authenticate(&err, None, &mut v).unwrap();
        assert_eq!(v, "Bearer");
        let p: serde_json::Value =
            serde_json::from_str(&ProblemDetails::new(&err).to_json()).unwrap();
        assert_eq!(p["status"], 503);
        assert_eq!(p["title"], "Service Unavailable");
        assert_eq!(p["error"], "keys_unavailable");
    }
}
