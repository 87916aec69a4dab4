//! An axum service that trusts a Keycloak realm: `/health` is public, `/me` needs a
//! valid token, `/orders` the `orders:read` scope, `/admin` the realm role `admin`.
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8180/realms/demo cargo run -p xconnauth-tower --example axum_app
//! ```
//!
//! docs/integrations/axum.md shows this file; tower/tests/docs.rs checks both agree and
//! serves `router` against a loopback issuer.

use axum::{routing::get, Json, Router};
use serde_json::{json, Value};
use xconnauth_tower::{AuthLayer, AuthToken, Options, Policy, Require, TokenVerifier};

/// The app: public routes outside the layer, protected ones inside it.
pub fn router(issuer: &str) -> Result<Router, xconnauth_tower::RemoteError> {
    // Discovery at <issuer>/.well-known/openid-configuration, keys cached and
    // refreshed by themselves (rotation, unknown kid, issuer down).
    let keys = TokenVerifier::remote(Policy::new([issuer]), Options::default())?;
    let protected = Router::new()
        .route("/me", get(me))
        .route(
            "/orders",
            get(orders).layer(Require::new().scope("orders:read")),
        )
        .route("/admin", get(me).layer(Require::new().realm_role("admin")))
        .layer(AuthLayer::new(keys).realm("demo"));
    Ok(Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(protected))
}

async fn me(token: AuthToken) -> Json<Value> {
    let claims = token.claims();
    Json(json!({
        "sub": claims.sub().map(|s| s.to_string()),
        "client": claims.azp().map(|s| s.to_string()),
        "scopes": claims.scopes().collect::<Vec<_>>(),
    }))
}

async fn orders(token: AuthToken) -> Json<Value> {
    let who = token.claims().azp().map(|s| s.to_string());
    Json(json!({ "orders": [], "for": who }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8180/realms/demo".into());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let app = router(&issuer)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}, trusting {issuer}");
    axum::serve(listener, app).await?;
    Ok(())
}
