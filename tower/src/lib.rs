//! tower and axum middleware for xconnauth: verifies the `Authorization: Bearer` token
//! of each request, hands the verified token to handlers, guards routes by scope and
//! role, and answers rejected requests with RFC 6750 `WWW-Authenticate` and an RFC 7807
//! problem body (DESIGN §2, §7).
//!
//! - [`AuthLayer`]: verifies the token with a [`TokenVerifier`] (a Keycloak realm trusted
//!   through the key engine of `xconnauth-remote`, or a fixed key set) and stores an
//!   [`AuthToken`] in the request extensions. Strict by default (no valid token: 401);
//!   [`AuthLayer::optional`] lets requests without a bearer token through.
//! - [`AuthToken`]: the axum extractor (`AuthToken` or `Option<AuthToken>`).
//! - [`Require`]: a per-route guard layer for scopes, realm roles and client roles (403).
//! - [`AuthError`]: the rejection, an axum `IntoResponse`.
//!
//! Answers: 401 for a missing or invalid token, 403 for a valid token that lacks a
//! scope or role, 503 (`keys_unavailable`) while the issuer's keys have never been
//! fetched. The body is `application/problem+json` with the DESIGN §2 category in
//! `error`; its `type` URI is set with [`AuthLayer::problem_type`].
//!
//! No request waits on a runtime worker thread: with known keys the token is verified
//! inline (RSA verify, tens of µs of CPU); a token naming an unknown key waits for the
//! engine's single-flight refresh on tokio's blocking pool, asynchronously, so other
//! requests on the same worker go on meanwhile.
//!
//! ```
//! use axum::{routing::get, Router};
//! use xconnauth::{KeySet, Policy, Verifier};
//! use xconnauth_tower::{AuthLayer, AuthToken, Require};
//!
//! async fn me(token: AuthToken) -> String {
//!     format!("hello {}", token.claims().sub().map(|s| s.to_string()).unwrap_or_default())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jwks = std::fs::read("../examples/keycloak/jwks.json")?;
//! let policy = Policy::new(["https://sso.example.com/realms/demo"]);
//! let verifier = Verifier::new(KeySet::from_jwks(&jwks)?, policy)?;
//! let app: Router = Router::new()
//!     .route("/admin", get(me).layer(Require::new().realm_role("admin")))
//!     .route("/me", get(me))
//!     .layer(AuthLayer::new(verifier).realm("demo"));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod guard;
mod layer;
mod response;
mod token;
mod verify;

pub use guard::{Require, RequireFuture, RequireService};
pub use layer::{AuthLayer, AuthService};
pub use response::{AuthError, PROBLEM_JSON};
pub use token::AuthToken;
pub use verify::TokenVerifier;

/// Re-exported so users need not name the core and engine crates for common cases.
pub use xconnauth::{Error, ErrorKind, Policy, VerifiedToken, Verifier};
pub use xconnauth_remote::{Options, RemoteError, RemoteVerifier};
