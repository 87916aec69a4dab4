//! A loopback Keycloak-like issuer (discovery + JWKS) and token signing, for the layer
//! tests. The server listens on 127.0.0.1 only and lives as long as the test process.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64ct::{Base64UrlUnpadded, Encoding};

pub const NOW: u64 = 1_764_000_000;

pub fn now() -> u64 {
    NOW
}

/// An RSA signing key with its kid.
pub struct Key {
    pub kid: String,
    pair: KeyPair,
}

impl Key {
    pub fn new(kid: &str) -> Key {
        Key {
            kid: kid.to_string(),
            pair: KeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    pub fn jwk(&self) -> serde_json::Value {
        let public = self.pair.public_key();
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": Base64UrlUnpadded::encode_string(public.modulus().big_endian_without_leading_zero()),
            "e": Base64UrlUnpadded::encode_string(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A Keycloak-shaped access token for `iss` with extra claims merged in.
    pub fn token(&self, iss: &str, extra: serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let mut claims = serde_json::json!({
            "iss": iss, "sub": "user-1", "typ": "Bearer", "exp": NOW + 3600, "iat": NOW - 10,
            "azp": "orders-ui",
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        let input = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(header.to_string().as_bytes()),
            Base64UrlUnpadded::encode_string(claims.to_string().as_bytes())
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
        format!("{input}.{}", Base64UrlUnpadded::encode_string(&sig))
    }
}

pub fn jwks(keys: &[&Key]) -> Vec<u8> {
    let keys: Vec<_> = keys.iter().map(|k| k.jwk()).collect();
    serde_json::json!({ "keys": keys }).to_string().into_bytes()
}

/// What the issuer serves; change it while the server runs.
pub struct Issuer {
    pub issuer: String,
    pub jwks: Mutex<Vec<u8>>,
    /// Delay before the JWKS answer.
    pub jwks_delay: Mutex<Duration>,
    pub jwks_hits: AtomicUsize,
}

impl Issuer {
    /// Discovery at `<issuer>/.well-known/openid-configuration`, keys at
    /// `<issuer>/protocol/openid-connect/certs`, as Keycloak lays them out.
    pub fn start(keys: &[&Key]) -> Arc<Issuer> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}/realms/demo", listener.local_addr().unwrap());
        let state = Arc::new(Issuer {
            issuer,
            jwks: Mutex::new(jwks(keys)),
            jwks_delay: Mutex::new(Duration::ZERO),
            jwks_hits: AtomicUsize::new(0),
        });
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(stream, &st));
            }
        });
        state
    }

    pub fn set_keys(&self, keys: &[&Key]) {
        *self.jwks.lock().unwrap() = jwks(keys);
    }

    pub fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

fn serve(mut s: TcpStream, st: &Issuer) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    let base = st.issuer.split("/realms").next().unwrap_or_default();
    let certs = format!("{}/protocol/openid-connect/certs", st.issuer);
    let (status, body) = if path == "/realms/demo/.well-known/openid-configuration" {
        let doc = serde_json::json!({"issuer": st.issuer, "jwks_uri": certs});
        ("200 OK", doc.to_string().into_bytes())
    } else if format!("{base}{path}") == certs {
        st.jwks_hits.fetch_add(1, Ordering::SeqCst);
        let delay = *st.jwks_delay.lock().unwrap();
        std::thread::sleep(delay);
        ("200 OK", st.jwks.lock().unwrap().clone())
    } else {
        ("404 Not Found", Vec::new())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(&body));
    let _ = s.flush();
}

/// A loopback URL where nothing listens.
pub fn dead_issuer() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/realms/demo")
}
