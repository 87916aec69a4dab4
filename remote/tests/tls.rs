//! https with a private CA through `ca_file`: a test CA and a `localhost` server
//! certificate are generated here and served with rustls on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::TcpListener;
use std::sync::Arc;

use common::{jwks, Key, Reply, Server, NOW};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use xconnauth::Policy;
use xconnauth_remote::{Options, RemoteError, RemoteVerifier};

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "xconnauth test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

#[test]
fn a_private_ca_is_trusted_through_ca_file() {
    let pki = pki();
    let k = Key::new("tls-1");
    let body = jwks(&[k.jwk()]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start_on(
        listener,
        move |_, _| Reply::Json(body.clone(), None),
        Some(pki.server),
    );
    let iss = format!("https://localhost:{port}/realms/demo");
    let certs = format!("https://localhost:{port}/certs");

    // Without the CA the server is not trusted (the system store does not know it).
    let o = Options::default().with_jwks_uri(&iss, &certs);
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), o).unwrap();
    let err = v.refresh().unwrap_err();
    assert!(matches!(err, RemoteError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(v.snapshot().is_none());

    let dir = std::env::temp_dir().join(format!("xconnauth-remote-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let o = Options::default()
        .with_jwks_uri(&iss, &certs)
        .with_ca_file(&ca_file);
    let v = RemoteVerifier::new(Policy::new([iss.as_str()]), o).unwrap();
    v.refresh().unwrap();
    assert!(v.verify(k.token(&iss).as_bytes(), NOW).is_ok());
    // The untrusted attempt never got past the handshake.
    assert_eq!(server.hits(), 1);

    // A ca_file that is not PEM is a configuration error at construction.
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let o = Options::default().with_ca_file(&bad);
    let err = RemoteVerifier::new(Policy::new([iss.as_str()]), o).unwrap_err();
    assert!(matches!(err, RemoteError::Config(_)), "{err}");
    let o = Options::default().with_ca_file(dir.join("missing.pem"));
    assert!(RemoteVerifier::new(Policy::new([iss.as_str()]), o).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
