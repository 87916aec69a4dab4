//! The answer to a rejected request: status, `WWW-Authenticate`, problem body.

use std::fmt;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use xconnauth::http::{www_authenticate, ProblemDetails};
use xconnauth::{Error, ErrorKind};

/// The media type of RFC 7807 problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How answers look; shared by the layer, the guards and the extractor of one app
/// (the layer puts it into the request extensions).
#[derive(Clone, Debug, Default)]
pub(crate) struct Answers {
    /// Problem `type` URI; `None`: `about:blank`.
    pub(crate) type_uri: Option<String>,
    /// `realm` of the `WWW-Authenticate` challenge.
    pub(crate) realm: Option<String>,
}

/// A rejected request: 401, 403 or 503 with `WWW-Authenticate` and an
/// `application/problem+json` body. Returned by the [`AuthToken`](crate::AuthToken)
/// extractor and by [`AuthToken::require`](crate::AuthToken::require), and sent by the
/// layers; an axum handler can return it with `?`.
///
/// ```
/// use axum::response::IntoResponse;
/// use xconnauth::{Error, ErrorKind};
/// let resp = xconnauth_tower::AuthError::from(
///     Error::new(ErrorKind::Expired, "the token has expired"),
/// ).into_response();
/// assert_eq!(resp.status(), 401);
/// assert_eq!(resp.headers()["content-type"], "application/problem+json");
/// assert_eq!(
///     resp.headers()["www-authenticate"],
///     r#"Bearer error="invalid_token", error_description="the token has expired""#,
/// );
/// ```
#[derive(Clone, Debug)]
pub struct AuthError {
    error: Error,
    /// The request carried no credentials (RFC 6750 §3.1: the challenge then names no
    /// error).
    no_token: bool,
    answers: Arc<Answers>,
}

impl AuthError {
    pub(crate) fn new(error: Error, answers: Arc<Answers>) -> AuthError {
        AuthError {
            error,
            no_token: false,
            answers,
        }
    }

    pub(crate) fn no_token(answers: Arc<Answers>) -> AuthError {
        AuthError {
            error: Error::new(
                ErrorKind::Malformed,
                "the request has no Authorization: Bearer token",
            ),
            no_token: true,
            answers,
        }
    }

    /// The DESIGN §2 error (category, message).
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// 401, 403 or 503.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.http_status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    /// The `WWW-Authenticate` value.
    #[must_use]
    pub fn challenge(&self) -> String {
        let mut v = String::new();
        let realm = self.answers.realm.as_deref();
        if self.no_token {
            // The bare challenge, `Bearer realm="…"`, is what core writes for an error
            // that names no RFC 6750 code (the 503 one); reuse its quoting.
            let bare = Error::new(ErrorKind::KeysUnavailable, "");
            let _ = www_authenticate(&bare, realm, &mut v);
        } else {
            let _ = www_authenticate(&self.error, realm, &mut v);
        }
        v
    }

    /// The RFC 7807 body.
    #[must_use]
    pub fn problem_json(&self) -> String {
        let p = ProblemDetails::new(&self.error);
        match self.answers.type_uri.as_deref() {
            Some(t) => p.with_type(t).to_json(),
            None => p.to_json(),
        }
    }
}

impl From<Error> for AuthError {
    /// An answer with the default look (`about:blank`, no realm).
    fn from(error: Error) -> Self {
        AuthError::new(error, Arc::default())
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for AuthError {}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.problem_json()));
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        // Core keeps the value printable (control characters become `?`); bytes of a
        // non-ASCII realm are legal obs-text. Should it still not fit, the bare scheme
        // keeps the answer a valid challenge.
        let challenge = HeaderValue::from_bytes(self.challenge().as_bytes())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        h.insert(WWW_AUTHENTICATE, challenge);
        h.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // An answer about one caller's credentials is not for shared caches.
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}
