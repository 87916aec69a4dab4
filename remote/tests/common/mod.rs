//! Loopback HTTP(S) servers with scripted behaviour, and token signing, for the engine
//! tests. Every server listens on 127.0.0.1 only and lives as long as the test process.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64ct::{Base64UrlUnpadded, Encoding};

pub const NOW: u64 = 1_764_000_000;

/// What the server answers.
pub enum Reply {
    /// 200 with a JSON body and an optional Cache-Control.
    Json(Vec<u8>, Option<&'static str>),
    /// A bare status.
    Status(u16),
    /// 302 to this location.
    Redirect(String),
    /// 200 whose body comes one byte every `every`.
    Trickle(Vec<u8>, Duration),
    /// 200 after `delay`.
    Slow(Duration, Vec<u8>),
}

type Handler = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A scripted server; `hits` counts requests.
pub struct Server {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `handler(path, n)` answers the n-th request (0-based).
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), handler, None)
    }

    pub fn start_on(
        listener: TcpListener,
        handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let counter = Arc::clone(&counter);
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    match tls {
                        None => serve(stream, &*handler, &counter),
                        Some(cfg) => {
                            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &*handler, &counter);
                        }
                    }
                });
            }
        });
        Server { addr, hits }
    }
}

fn serve(mut s: impl Read + Write, handler: &Handler, counter: &AtomicUsize) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
        if req.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    let _ = match handler(&path, n) {
        Reply::Json(body, cc) => {
            let extra = cc
                .map(|c| format!("Cache-Control: {c}\r\n"))
                .unwrap_or_default();
            s.write_all(head("200 OK", body.len(), &extra).as_bytes())
                .and_then(|()| s.write_all(&body))
        }
        Reply::Status(code) => s.write_all(head(&format!("{code} X"), 0, "").as_bytes()),
        Reply::Redirect(to) => {
            s.write_all(head("302 Found", 0, &format!("Location: {to}\r\n")).as_bytes())
        }
        Reply::Trickle(body, every) => {
            let mut r = s.write_all(head("200 OK", body.len(), "").as_bytes());
            for b in body {
                if r.is_err() {
                    break;
                }
                let _ = s.flush();
                std::thread::sleep(every);
                r = s.write_all(&[b]);
            }
            r
        }
        Reply::Slow(delay, body) => {
            std::thread::sleep(delay);
            s.write_all(head("200 OK", body.len(), "").as_bytes())
                .and_then(|()| s.write_all(&body))
        }
    };
    let _ = s.flush();
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts on `addr` (a server started in another thread).
pub fn wait_listening(addr: SocketAddr) {
    for _ in 0..100 {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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

    /// The JWK of the public key.
    pub fn jwk(&self) -> serde_json::Value {
        let public = self.pair.public_key();
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": Base64UrlUnpadded::encode_string(public.modulus().big_endian_without_leading_zero()),
            "e": Base64UrlUnpadded::encode_string(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A token for `iss`, valid at [`NOW`], with this key's kid.
    pub fn token(&self, iss: &str) -> String {
        self.token_with_kid(iss, &self.kid)
    }

    pub fn token_with_kid(&self, iss: &str, kid: &str) -> String {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let claims = serde_json::json!({
            "iss": iss, "sub": "user-1", "typ": "Bearer", "exp": NOW + 3600, "iat": NOW - 10,
        });
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

/// `{"keys":[...]}` of these JWKs.
pub fn jwks(keys: &[serde_json::Value]) -> Vec<u8> {
    serde_json::json!({ "keys": keys }).to_string().into_bytes()
}

/// A token whose kid is `kid` and whose signature is junk: rejected before any RSA work
/// when the kid is unknown.
pub fn junk_token(iss: &str, kid: &str) -> String {
    let header = serde_json::json!({"alg": "RS256", "kid": kid});
    let claims = serde_json::json!({"iss": iss, "exp": NOW + 3600, "typ": "Bearer"});
    format!(
        "{}.{}.{}",
        Base64UrlUnpadded::encode_string(header.to_string().as_bytes()),
        Base64UrlUnpadded::encode_string(claims.to_string().as_bytes()),
        Base64UrlUnpadded::encode_string(&[7u8; 256])
    )
}

/// A discovery document.
pub fn discovery(issuer: &str, jwks_uri: &str) -> Vec<u8> {
    serde_json::json!({"issuer": issuer, "jwks_uri": jwks_uri})
        .to_string()
        .into_bytes()
}
