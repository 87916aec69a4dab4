//! The workspace's test kit (loopback servers, signing keys) under the names these tests use.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub use xconnauth_testkit::server::{free_port, wait_listening, Reply, Server};
pub use xconnauth_testkit::{discovery, junk_token, jwks, Key, NOW};
