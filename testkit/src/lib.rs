//! Test support for the xconnauth workspace, written once for every crate's tests and
//! benches (never a dependency of library code, never published):
//! - [`Key`]: RSA-2048 signing keys generated at run time, their JWKs and signed tokens;
//! - [`server`]: scripted HTTP(S) servers and a Keycloak-like issuer, on 127.0.0.1 only;
//! - [`hostile`]: JSON shaped to hit worst cases (many distinct names) beside typical
//!   documents of the same size.
//!
//! Test code: a failure to set up a fixture panics, which fails the test that asked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod hostile;
pub mod server;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value};

/// The instant the fixtures are valid at (2025-11-24T16:00:00Z), in unix seconds.
pub const NOW: u64 = 1_764_000_000;

/// Unpadded base64url, as JWS segments are written.
#[must_use]
pub fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An RSA-2048 signing key with its `kid`.
pub struct Key {
    /// The `kid` its JWK and tokens carry.
    pub kid: String,
    pair: KeyPair,
}

impl Key {
    /// A fresh key (generation takes tens of milliseconds).
    #[must_use]
    pub fn new(kid: &str) -> Key {
        Key {
            kid: kid.to_string(),
            pair: KeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    /// The JWK of the public key (`use` `sig`, `alg` `RS256`).
    #[must_use]
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": b64url(public.modulus().big_endian_without_leading_zero()),
            "e": b64url(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A token for `iss`, valid at [`NOW`], with this key's kid.
    #[must_use]
    pub fn token(&self, iss: &str) -> String {
        self.token_with_kid(iss, &self.kid)
    }

    /// [`Key::token`] naming another `kid` in its header (signed by this key all the same).
    #[must_use]
    pub fn token_with_kid(&self, iss: &str, kid: &str) -> String {
        self.sign_claims(kid, &base_claims(iss))
    }

    /// A Keycloak-shaped access token for `iss` (`azp` set) with the members of `extra`
    /// added or replaced.
    #[must_use]
    pub fn token_with(&self, iss: &str, extra: &Value) -> String {
        let mut claims = base_claims(iss);
        claims["azp"] = json!("orders-ui");
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        self.sign_claims(&self.kid, &claims)
    }

    /// Signs `payload` (any text) under a header naming `kid`, RS256.
    #[must_use]
    pub fn sign_payload(&self, kid: &str, payload: &[u8]) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(payload)
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", b64url(&sig))
    }

    fn sign_claims(&self, kid: &str, claims: &Value) -> String {
        self.sign_payload(kid, claims.to_string().as_bytes())
    }
}

fn base_claims(iss: &str) -> Value {
    json!({
        "iss": iss, "sub": "user-1", "typ": "Bearer", "exp": NOW + 3600, "iat": NOW - 10,
    })
}

/// `{"keys":[...]}` of these JWKs.
#[must_use]
pub fn jwks(keys: &[Value]) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

/// `{"keys":[...]}` of these keys' JWKs.
#[must_use]
pub fn jwks_of(keys: &[&Key]) -> Vec<u8> {
    jwks(&keys.iter().map(|k| k.jwk()).collect::<Vec<_>>())
}

/// A token whose kid is `kid` and whose signature is junk: rejected before any RSA work
/// when the kid is unknown.
#[must_use]
pub fn junk_token(iss: &str, kid: &str) -> String {
    let header = json!({"alg": "RS256", "kid": kid});
    let claims = json!({"iss": iss, "exp": NOW + 3600, "typ": "Bearer"});
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(&[7u8; 256])
    )
}

/// A discovery document.
#[must_use]
pub fn discovery(issuer: &str, jwks_uri: &str) -> Vec<u8> {
    json!({"issuer": issuer, "jwks_uri": jwks_uri})
        .to_string()
        .into_bytes()
}
