//! Per-route guards: scopes, realm roles, client roles.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::Request;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use xconnauth::{Error, ErrorKind, VerifiedToken};

use crate::response::{Answers, AuthError};
use crate::AuthToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a route requires of the verified token, all-of: scopes (whole words of the
/// `scope` claim), realm roles (`realm_access.roles`), client roles
/// (`resource_access.<client>.roles`). A `tower` layer: put it on a route or a router
/// *inside* an [`AuthLayer`](crate::AuthLayer). A request with a token that lacks one
/// is answered 403 (`missing_scope` / `missing_role`, RFC 6750 `insufficient_scope`);
/// a request without a token (behind an optional layer) 401.
///
/// The same checks as the policy's `required_scopes` / `required_realm_roles` /
/// `required_client_roles`, for routes that need more than the whole app.
///
/// ```
/// use xconnauth_tower::Require;
/// let writers = Require::new().scope("orders:write").client_role("orders-api", "editor");
/// let admins = Require::new().realm_roles(["admin", "auditor"]);
/// # let _ = (writers, admins);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Require {
    scopes: Vec<String>,
    realm_roles: Vec<String>,
    client_roles: Vec<(String, String)>,
}

impl Require {
    /// Requires nothing yet (only a verified token).
    #[must_use]
    pub fn new() -> Require {
        Require::default()
    }

    /// Requires a scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Requires every one of these scopes.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = impl Into<String>>>(mut self, scopes: I) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Requires a realm role.
    #[must_use]
    pub fn realm_role(mut self, role: impl Into<String>) -> Self {
        self.realm_roles.push(role.into());
        self
    }

    /// Requires every one of these realm roles.
    #[must_use]
    pub fn realm_roles<I: IntoIterator<Item = impl Into<String>>>(mut self, roles: I) -> Self {
        self.realm_roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Requires a role of `client` (a Keycloak client id).
    #[must_use]
    pub fn client_role(mut self, client: impl Into<String>, role: impl Into<String>) -> Self {
        self.client_roles.push((client.into(), role.into()));
        self
    }

    /// Checks a verified token, in DESIGN §3 order (scopes, realm roles, client roles).
    ///
    /// # Errors
    /// `missing_scope` or `missing_role`, naming the first missing one.
    pub fn check(&self, token: &VerifiedToken) -> Result<(), Error> {
        let c = token.claims();
        if let Some(s) = self.scopes.iter().find(|s| !c.has_scope(s)) {
            return Err(
                Error::new(ErrorKind::MissingScope, "a required scope is not granted")
                    .with_context(s),
            );
        }
        if let Some(r) = self.realm_roles.iter().find(|r| !c.has_realm_role(r)) {
            return Err(Error::new(
                ErrorKind::MissingRole,
                "a required realm role is not granted",
            )
            .with_context(r));
        }
        if let Some((client, role)) = self
            .client_roles
            .iter()
            .find(|(client, role)| !c.has_client_role(client, role))
        {
            return Err(Error::new(
                ErrorKind::MissingRole,
                "a required client role is not granted",
            )
            .with_context(&format!("{client}/{role}")));
        }
        Ok(())
    }

    fn judge<B>(&self, req: &Request<B>) -> Result<(), AuthError> {
        match req.extensions().get::<AuthToken>() {
            Some(token) => token.require(self),
            None => {
                let answers = req
                    .extensions()
                    .get::<Arc<Answers>>()
                    .cloned()
                    .unwrap_or_default();
                Err(AuthError::no_token(answers))
            }
        }
    }
}

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> RequireService<S> {
        RequireService {
            inner,
            require: Arc::new(self.clone()),
        }
    }
}

/// The service of the [`Require`] layer.
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    require: Arc<Require>,
}

impl<S, B, ResBody> Service<Request<B>> for RequireService<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequireFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // Judged before calling: the inner service was made ready by poll_ready and is
        // simply not called on a rejection.
        match self.require.judge(&req) {
            Ok(()) => RequireFuture::Inner {
                fut: self.inner.call(req),
            },
            Err(e) => RequireFuture::Rejected {
                answer: Some(e.into_response()),
            },
        }
    }
}

pin_project! {
    /// The future of [`RequireService`]: the inner service's answer, or the refusal.
    #[project = Proj]
    #[allow(missing_docs)]
    pub enum RequireFuture<F> {
        Inner { #[pin] fut: F },
        Rejected { answer: Option<Response> },
    }
}

impl<F, ResBody, E> Future for RequireFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Proj::Inner { fut } => fut.poll(cx).map(|r| r.map(|r| r.map(Body::new))),
            // Polled again after completion (a caller bug): an empty answer, no panic.
            Proj::Rejected { answer } => Poll::Ready(Ok(answer.take().unwrap_or_default())),
        }
    }
}
