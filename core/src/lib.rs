//! # xconnauth
//!
//! Decide, fast and correctly, whether an OAuth2 bearer token issued by Keycloak may
//! pass. One verifier core, `#![no_std]` + `alloc`, shared by the CLI, the C library and
//! the Python package.
//!
//! The recipe (DESIGN §3, always in this order so error categories are predictable):
//! 1. size limit, 2. split into three segments, 3. decode and strictly parse the header,
//! 4. header policy (`alg` allow-list, no `crit`/`b64`/`cty`), 5. select exactly one key
//!    of the trusted JWKS (`kid`, `use`, `kty`, `alg`) and check its strength,
//! 6. verify the signature over the exact `header.payload` octets, 7. decode and strictly
//!    parse the payload, 8. claims: presence, `exp`, `nbf`, `iat`, `iss`, `aud`, `typ`,
//!    `scope`, roles.
//!
//! Nothing from the token is trusted before step 6 except what steps 1–5 need; `jku`,
//! `x5u`, `jwk` and `x5c` header members are ignored.
//!
//! ```
//! # let jwks = std::fs::read("../examples/keycloak/jwks.json").unwrap();
//! # let token = std::fs::read_to_string("../examples/keycloak/token.jwt").unwrap();
//! use xconnauth::{ErrorKind, KeySet, Policy, Verifier};
//!
//! let keys = KeySet::from_jwks(&jwks)?;
//! let mut policy = Policy::new(["https://sso.example.com/realms/demo"]);
//! policy.audiences = Some(vec!["product-factory".into()]);
//! policy.required_scopes = vec!["spark".into()];
//! let verifier = Verifier::new(keys, policy)?;
//!
//! let ok = verifier.verify_header(&format!("Bearer {token}"), 1_764_000_000)?;
//! assert_eq!(ok.claims().azp().unwrap().to_string(), "demo-client");
//!
//! let err = verifier.verify(token.as_bytes(), 1_764_100_000).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Expired);
//! assert_eq!(err.http_status(), 401);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | `std::error::Error` impls, [`now`] (system clock) |
//!
//! ## Memory
//! Splitting, base64url, JSON and claims checks allocate nothing and work on borrowed
//! slices ([`Verifier::verify_into`] takes the scratch buffer); only RSA arithmetic and
//! owned key sets allocate.
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod alg;
mod b64;
#[cfg(feature = "std")]
mod cache;
mod claims;
mod error;
#[cfg(feature = "aws-lc")]
mod fast;
pub mod http;
mod json;
mod keys;
mod policy;
mod swar;
#[cfg(test)]
mod testutil;
mod verifier;

pub use alg::Algorithm;
#[cfg(feature = "std")]
pub use cache::CacheUsage;
pub use claims::{Audience, Claims, Header};
pub use error::{ConfigError, Detail, Error, ErrorKind};
pub use json::{Array, JsonStr, Number, Object, Value, MAX_DEPTH, MAX_OBJECT_NAMES};
pub use keys::{Backend, Discovery, KeySet, RsaKey, SkippedKey, MAX_JWKS_BYTES, MAX_MODULUS_BITS};
pub use policy::{
    OptionError, OptionShape, OptionValue, Policy, ValueKind, CACHE_BYTES_PER_ENTRY,
    MAX_CACHE_ENTRIES, MAX_LEEWAY, MAX_TOKEN_BYTES_LIMIT, MIN_RSA_BITS_FLOOR, OPTION_NAMES,
};
pub use verifier::{
    bearer_token, bearer_token_bytes, Verified, VerifiedToken, Verifier, MAX_HEADER_NAMES,
};

pub mod dangerous {
    //! Operations that check **less** than [`Verifier`](crate::Verifier): decoding a
    //! token without verifying it, and a bare signature check without the header
    //! policy, key selection and claims. For display, debugging, tests and
    //! measurements; never use their results to let a request pass.
    //!
    //! ```
    //! # let token = std::fs::read_to_string("../examples/keycloak/token.jwt").unwrap();
    //! let token = token.trim().as_bytes();
    //! let mut buf = vec![0u8; token.len()];
    //! let u = xconnauth::dangerous::decode_unverified(token, &mut buf).unwrap();
    //! assert!(u.claims().unwrap().exp().is_some()); // read, NOT verified
    //! ```

    use crate::{Algorithm, RsaKey};

    pub use crate::verifier::{decode_unverified, Unverified};

    /// Verifies `signature` over `signing_input` with `key` and `alg`, and nothing
    /// else: no `alg` allow-list, no key strength check (see
    /// [`Policy::min_rsa_bits`](crate::Policy::min_rsa_bits)), no claims. The signature
    /// must be exactly [`RsaKey::size`] octets and, for PKCS#1 v1.5, carry the exact
    /// DER DigestInfo (with NULL); PSS uses the hash length as salt length (RFC 7518
    /// §3.5).
    #[must_use]
    pub fn verify_signature(
        key: &RsaKey,
        alg: Algorithm,
        signing_input: &[u8],
        signature: &[u8],
    ) -> bool {
        key.verify(alg, signing_input, signature)
    }
}

/// Fuzzing and measurement hook (feature `fuzzing`), not API: parses and validates
/// `json` as one strict RFC 8259 object (UTF-8, no duplicate
/// names, depth ≤ [`MAX_DEPTH`]) and returns a borrowed view of it.
///
/// ```
/// let o = xconnauth::parse_object(br#"{"a":[1,"x"]}"#).unwrap();
/// assert!(o.get("a").is_some());
/// assert!(xconnauth::parse_object(br#"{"a":1,"a":2}"#).is_none());
/// ```
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[must_use]
pub fn parse_object(json: &[u8]) -> Option<Object<'_>> {
    Object::parse(json).ok()
}

/// Fuzzing hook (feature `fuzzing`), not API: true when the verifier's one-pass reading of a payload's
/// claims (validation and claims in one walk) gives exactly what validating, then
/// walking the object, gives: the same claims or the same error.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[must_use]
pub fn __one_pass_claims_agree(payload: &[u8]) -> bool {
    let what = "the payload is not a JSON object";
    let one = Claims::parse_json(payload, what, &mut []);
    let two = Object::parse_limited(payload, usize::MAX, &mut [])
        .map_err(|e| claims::json_error(e, what))
        .and_then(Claims::parse);
    alloc::format!("{one:?}") == alloc::format!("{two:?}")
}

/// The current unix time in seconds from the system clock, or `None` when the clock
/// reads before 1970 (a broken clock must not become "time 0", when nothing expires).
///
/// ```
/// assert!(xconnauth::now().is_some_and(|t| t > 1_700_000_000));
/// ```
#[cfg(feature = "std")]
#[must_use]
pub fn now() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}
