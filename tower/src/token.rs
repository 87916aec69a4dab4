//! The verified token in the request extensions, and its axum extractor.

use std::convert::Infallible;
use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use xconnauth::VerifiedToken;

use crate::response::{Answers, AuthError};
use crate::Require;

/// A token that passed every check of the layer's policy, as [`AuthLayer`] stores it in
/// the request extensions. Cheap to clone (an `Arc`); dereferences to the core
/// [`VerifiedToken`] (claims, scopes, roles, raw payload JSON).
///
/// As an axum extractor, `AuthToken` rejects a request without one (401, for routes
/// behind an [`AuthLayer::optional`] layer); `Option<AuthToken>` never rejects.
///
/// ```
/// use xconnauth_tower::AuthToken;
/// async fn handler(token: AuthToken) -> Result<String, xconnauth_tower::AuthError> {
///     token.require(&xconnauth_tower::Require::new().scope("orders:write"))?;
///     Ok(format!("{:?}", token.claims().sub()))
/// }
/// async fn maybe(token: Option<AuthToken>) -> &'static str {
///     if token.is_some() { "signed in" } else { "anonymous" }
/// }
/// ```
///
/// [`AuthLayer`]: crate::AuthLayer
/// [`AuthLayer::optional`]: crate::AuthLayer::optional
#[derive(Clone, Debug)]
pub struct AuthToken {
    token: Arc<VerifiedToken>,
    answers: Arc<Answers>,
}

impl AuthToken {
    pub(crate) fn new(token: VerifiedToken, answers: Arc<Answers>) -> AuthToken {
        AuthToken {
            token: Arc::new(token),
            answers,
        }
    }

    /// The verified token, shared.
    #[must_use]
    pub fn shared(&self) -> Arc<VerifiedToken> {
        Arc::clone(&self.token)
    }

    /// Checks `req` against this token (inside a handler, for a decision that depends
    /// on the request); the error answers 403 like the [`Require`] layer.
    ///
    /// # Errors
    /// `missing_scope` or `missing_role`, naming the first missing one.
    pub fn require(&self, req: &Require) -> Result<(), AuthError> {
        req.check(&self.token)
            .map_err(|e| AuthError::new(e, Arc::clone(&self.answers)))
    }
}

impl Deref for AuthToken {
    type Target = VerifiedToken;

    fn deref(&self) -> &VerifiedToken {
        &self.token
    }
}

impl<S: Sync> FromRequestParts<S> for AuthToken {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthError> {
        if let Some(t) = parts.extensions.get::<AuthToken>() {
            return Ok(t.clone());
        }
        // Behind an optional layer the answers are configured; without any layer (a
        // wiring mistake) the default look still fails closed.
        let answers = parts
            .extensions
            .get::<Arc<Answers>>()
            .cloned()
            .unwrap_or_default();
        Err(AuthError::no_token(answers))
    }
}

impl<S: Sync> OptionalFromRequestParts<S> for AuthToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<AuthToken>().cloned())
    }
}
