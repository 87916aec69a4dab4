//! Scripted HTTP(S) servers on 127.0.0.1, living as long as the test process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::{jwks_of, Key};

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
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered (or being answered) so far.
    pub hits: Arc<AtomicUsize>,
}

impl Server {
    /// `http://<addr><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests so far.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `handler(path, n)` answers the n-th request (0-based).
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), handler, None)
    }

    /// [`Server::start`] on a given listener, over TLS when `tls` is set.
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
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback issuer URL where nothing listens.
#[must_use]
pub fn dead_issuer() -> String {
    format!("http://127.0.0.1:{}/realms/demo", free_port())
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

/// A Keycloak-like issuer: discovery at `<issuer>/.well-known/openid-configuration`, keys
/// at `<issuer>/protocol/openid-connect/certs`; what it serves changes while it runs.
pub struct Issuer {
    /// `http://127.0.0.1:<port>/realms/demo`.
    pub issuer: String,
    jwks: Mutex<Vec<u8>>,
    jwks_delay: Mutex<Duration>,
    jwks_hits: AtomicUsize,
    _server: Server,
}

impl Issuer {
    /// Starts an issuer serving these keys.
    #[must_use]
    pub fn start(keys: &[&Key]) -> Arc<Issuer> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}/realms/demo", listener.local_addr().unwrap());
        let jwks = jwks_of(keys);
        Arc::new_cyclic(|me: &std::sync::Weak<Issuer>| {
            let me = me.clone();
            let server = Server::start_on(
                listener,
                move |path, _| {
                    let Some(st) = me.upgrade() else {
                        return Reply::Status(503);
                    };
                    st.answer(path)
                },
                None,
            );
            Issuer {
                issuer,
                jwks: Mutex::new(jwks),
                jwks_delay: Mutex::new(Duration::ZERO),
                jwks_hits: AtomicUsize::new(0),
                _server: server,
            }
        })
    }

    fn answer(&self, path: &str) -> Reply {
        let realm = self
            .issuer
            .find("/realms/")
            .map_or("", |at| &self.issuer[at..]);
        if path == format!("{realm}/.well-known/openid-configuration") {
            let certs = format!("{}/protocol/openid-connect/certs", self.issuer);
            let doc = json!({"issuer": self.issuer, "jwks_uri": certs});
            Reply::Json(doc.to_string().into_bytes(), None)
        } else if path == format!("{realm}/protocol/openid-connect/certs") {
            self.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let delay = *self.jwks_delay.lock().unwrap();
            Reply::Slow(delay, self.jwks.lock().unwrap().clone())
        } else {
            Reply::Status(404)
        }
    }

    /// Serves these keys from now on.
    pub fn set_keys(&self, keys: &[&Key]) {
        *self.jwks.lock().unwrap() = jwks_of(keys);
    }

    /// Delays every JWKS answer by `delay` from now on.
    pub fn set_jwks_delay(&self, delay: Duration) {
        *self.jwks_delay.lock().unwrap() = delay;
    }

    /// JWKS requests so far.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}
