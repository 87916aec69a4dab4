//! The authentication layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Request};
use tokio::sync::Semaphore;
use tower_layer::Layer;
use tower_service::Service;
use xconnauth::{Error, ErrorKind};

use crate::response::{Answers, AuthError};
use crate::verify::{verify, TokenVerifier};
use crate::AuthToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Default bound on requests waiting on the blocking pool for a key refresh at once.
const DEFAULT_REFRESH_WAITS: usize = 32;

/// A `tower` layer that verifies the `Authorization: Bearer` token of every request
/// and stores an [`AuthToken`] in its extensions (and the answer settings, so that
/// [`Require`](crate::Require) and the extractor answer alike).
///
/// Strict by default: a request without a valid token gets 401 (or 403 when the
/// policy's own scope/role requirements fail, 503 while the issuer's keys have never
/// been fetched) and never reaches the service. With [`optional`](Self::optional):
///
/// | request | strict | optional |
/// |---|---|---|
/// | no `Authorization` header | 401 | passes, no `AuthToken` |
/// | another scheme (`Basic …`) | 401 `malformed` | passes, no `AuthToken` |
/// | `Bearer` + valid token | passes with `AuthToken` | passes with `AuthToken` |
/// | `Bearer` + invalid token (expired, forged, wrong issuer, …) | 401 | **401** |
/// | valid token lacking a policy scope/role | 403 | **403** |
/// | keys never fetched (`keys_unavailable`) | 503 | **503** |
/// | several `Authorization` headers | 401 `malformed` | **401 `malformed`** |
///
/// An invalid bearer token is rejected in optional mode too (fail closed): a caller that
/// presents credentials asked to be treated as that principal, and demoting a forged,
/// expired or wrong-realm token to "anonymous" would hide the failure from the caller
/// (whose client should refresh its token on 401) and from the logs, and would let a
/// handler's anonymous branch serve a request made with a token we refused. Routes
/// that want anonymous access get it by sending no token.
///
/// Scopes and roles per route: [`Require`](crate::Require) inside this layer.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

#[derive(Clone, Debug)]
struct Shared {
    keys: TokenVerifier,
    optional: bool,
    answers: Arc<Answers>,
    clock: fn() -> u64,
    waits: Arc<Semaphore>,
}

/// The system clock; a clock before 1970 makes every token expired (fail closed).
fn system_now() -> u64 {
    xconnauth::now().unwrap_or(u64::MAX)
}

impl AuthLayer {
    /// A strict layer verifying with `keys` (a [`Verifier`](xconnauth::Verifier), a
    /// [`RemoteVerifier`](xconnauth_remote::RemoteVerifier) or a [`TokenVerifier`]).
    #[must_use]
    pub fn new(keys: impl Into<TokenVerifier>) -> AuthLayer {
        AuthLayer {
            shared: Arc::new(Shared {
                keys: keys.into(),
                optional: false,
                answers: Arc::default(),
                clock: system_now,
                waits: Arc::new(Semaphore::new(DEFAULT_REFRESH_WAITS)),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        // Builder calls come before the layer is cloned into services; should it
        // already be shared, the edit applies to a copy.
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// Optional authentication (passthrough): requests without a bearer token reach
    /// the service without an [`AuthToken`]; an invalid bearer token is still
    /// rejected (see the table above).
    #[must_use]
    pub fn optional(self) -> Self {
        self.edit(|s| s.optional = true)
    }

    /// The problem `type` URI of answers (default `about:blank`; then the title is the
    /// HTTP status phrase, else the precise problem, RFC 7807 §4.2), e.g.
    /// [`xconnauth::http::I2_CONNECT_PROBLEM_TYPE`].
    #[must_use]
    pub fn problem_type(self, uri: impl Into<String>) -> Self {
        let uri = uri.into();
        self.edit(|s| Arc::make_mut(&mut s.answers).type_uri = Some(uri))
    }

    /// The `realm` of the `WWW-Authenticate` challenge.
    #[must_use]
    pub fn realm(self, realm: impl Into<String>) -> Self {
        let realm = realm.into();
        self.edit(|s| Arc::make_mut(&mut s.answers).realm = Some(realm))
    }

    /// How many requests may wait on tokio's blocking pool for a key refresh at once
    /// (default 32, at least 1); more wait asynchronously for a turn. A wait lasts at
    /// most the engine's fetch deadline.
    #[must_use]
    pub fn max_refresh_waits(self, n: usize) -> Self {
        self.edit(|s| s.waits = Arc::new(Semaphore::new(n.max(1))))
    }

    /// The clock, unix seconds (default: the system clock). For tests and replay.
    #[must_use]
    pub fn clock(self, now: fn() -> u64) -> Self {
        self.edit(|s| s.clock = now)
    }

    /// The keys.
    #[must_use]
    pub fn verifier(&self) -> &TokenVerifier {
        &self.shared.keys
    }
}

impl Shared {
    /// `Ok(None)`: pass without a token (optional mode only).
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<AuthToken>, AuthError> {
        let reject = |e: Error| AuthError::new(e, Arc::clone(&self.answers));
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return if self.optional {
                Ok(None)
            } else {
                Err(AuthError::no_token(Arc::clone(&self.answers)))
            };
        };
        if values.next().is_some() {
            // Which one would a proxy or the handler look at? Refuse to guess.
            return Err(reject(Error::new(
                ErrorKind::Malformed,
                "the request has several Authorization headers",
            )));
        }
        let value = value.as_bytes();
        if self.optional && !is_bearer(value) {
            return Ok(None);
        }
        let now = (self.clock)();
        match verify(&self.keys, &self.waits, value, now).await {
            Ok(token) => Ok(Some(AuthToken::new(token, Arc::clone(&self.answers)))),
            Err(e) => Err(reject(e)),
        }
    }
}

/// The scheme of an `Authorization` value is `Bearer` (case-insensitive, RFC 9110
/// §11.1), whatever follows.
fn is_bearer(value: &[u8]) -> bool {
    let value = value.trim_ascii_start();
    let scheme = value.split(|&c| c == b' ').next().unwrap_or_default();
    scheme.eq_ignore_ascii_case(b"Bearer")
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, ResBody> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The service made ready by poll_ready is the one to call; a fresh clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            match shared.authenticate(req.headers()).await {
                Ok(token) => {
                    let ext = req.extensions_mut();
                    ext.insert(Arc::clone(&shared.answers));
                    if let Some(token) = token {
                        ext.insert(token);
                    }
                }
                Err(e) => return Ok(e.into_response()),
            }
            inner.call(req).await.map(|r| r.map(Body::new))
        })
    }
}
