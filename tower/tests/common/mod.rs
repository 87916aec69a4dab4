//! The workspace's test kit under the names these tests use.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub use xconnauth_testkit::server::{dead_issuer, Issuer};
pub use xconnauth_testkit::{jwks_of, Key, NOW};

pub fn now() -> u64 {
    NOW
}
