//! docs/integrations/axum.md shows tower/examples/axum_app.rs verbatim; this checks the
//! two agree and serves the example's router against a loopback issuer, so the page's
//! snippet is compiled and exercised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/axum_app.rs"]
mod axum_app;
mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{Issuer, Key};
use serde_json::json;
use tower::ServiceExt;

const PAGE: &str = include_str!("../../docs/integrations/axum.md");
const EXAMPLE: &str = include_str!("../examples/axum_app.rs");

#[test]
fn page_shows_the_example_verbatim() {
    let marker = "<!-- snippet: tower/examples/axum_app.rs -->\n```rust\n";
    let start = PAGE.find(marker).expect("the snippet marker") + marker.len();
    // The fence that ends the block starts a line; the example's own rustdoc fences
    // follow `//! `.
    let len = PAGE[start..]
        .find("\n```\n")
        .expect("the end of the snippet")
        + 1;
    let snippet = &PAGE[start..start + len];
    assert!(
        snippet == EXAMPLE,
        "docs/integrations/axum.md and tower/examples/axum_app.rs differ: copy the file into the page"
    );
}

#[tokio::test]
async fn example_answers_200_401_403() {
    let key = Key::new("k1");
    let iss = Issuer::start(&[&key]);
    let app = axum_app::router(&iss.issuer).unwrap();
    let now = xconnauth::now().unwrap();
    let token = |scope: &str| {
        format!(
            "Bearer {}",
            key.token_with(
                &iss.issuer,
                &json!({"exp": now + 300, "iat": now, "scope": scope})
            )
        )
    };
    let call = |path: &str, auth: Option<String>| {
        let mut req = Request::builder().uri(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    assert_eq!(
        call("/health", None).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        call("/me", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = call("/me", Some(token("openid"))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let denied = call("/orders", Some(token("openid"))).await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let orders = call("/orders", Some(token("openid orders:read")))
        .await
        .unwrap();
    assert_eq!(orders.status(), StatusCode::OK);
}
