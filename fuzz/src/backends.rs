//! Fixtures for the `backends` differential target: the demo key for every backend, a
//! valid signature per algorithm, and raw RSA with the demo private key.

use std::sync::OnceLock;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use rsa::hazmat::{rsa_decrypt, rsa_encrypt};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, RsaPrivateKey};
use xconnauth::{Algorithm, Backend, KeySet, Policy, RsaKey, Verifier};

use crate::{SAMPLE_JWKS, SAMPLE_POLICY};

const PRIVATE_PEM: &str = include_str!("../../examples/keycloak/demo-signing-key.pem");
/// Tokens of every algorithm signed by the demo key (core/tests/data/make_tokens.py).
const TOKENS: &str = include_str!("../../core/tests/data/tokens.json");

/// Everything the target needs, built once.
pub struct Fixtures {
    /// The demo public key, once per backend (`Backend::ALL` order).
    pub keys: Vec<RsaKey>,
    private: RsaPrivateKey,
    /// Per algorithm (`Algorithm::ALL` order): signing input and its valid signature.
    valid: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The fixtures.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let der: String = PRIVATE_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = Base64::decode_vec(&der).expect("demo key PEM is base64");
        let private = RsaPrivateKey::from_pkcs8_der(&der).expect("demo key is PKCS#8 RSA");
        let n = private.n().to_be_bytes();
        let e = private.e().to_be_bytes();
        let keys = Backend::ALL
            .iter()
            .map(|&b| RsaKey::from_components_with(&n, &e, None, None, b).expect("demo key"))
            .collect();
        let tokens: serde_json::Value = serde_json::from_str(TOKENS).expect("tokens.json");
        let valid = Algorithm::ALL
            .iter()
            .map(|alg| {
                let t = tokens[alg.name()].as_str().expect("a token per algorithm");
                let (input, sig) = t.rsplit_once('.').expect("three segments");
                let sig = Base64UrlUnpadded::decode_vec(sig).expect("signature base64url");
                (input.as_bytes().to_vec(), sig)
            })
            .collect();
        let f = Fixtures {
            keys,
            private,
            valid,
        };
        for (alg, (msg, sig)) in Algorithm::ALL.iter().zip(&f.valid) {
            for k in &f.keys {
                assert!(xconnauth::dangerous::verify_signature(k, *alg, msg, sig), "{alg} fixture must verify");
            }
        }
        f
    })
}

/// The sample verifier, once per backend.
pub fn verifiers() -> &'static [(Backend, Verifier)] {
    static V: OnceLock<Vec<(Backend, Verifier)>> = OnceLock::new();
    V.get_or_init(|| {
        Backend::ALL
            .iter()
            .map(|&b| {
                let keys = KeySet::from_jwks_with(SAMPLE_JWKS.as_bytes(), b).expect("sample JWKS");
                let policy = Policy::from_json(SAMPLE_POLICY.as_bytes()).expect("sample policy");
                (b, Verifier::new(keys, policy).expect("sample verifier"))
            })
            .collect()
    })
}

/// The valid `(message, signature)` for `alg`, with `edits` (3 bytes each: position
/// u16 BE modulo the length, new byte) applied to the encoded message and re-signed
/// (`on_em`), or to the message.
pub fn crafted(f: &Fixtures, alg: Algorithm, edits: &[u8], on_em: bool) -> (Vec<u8>, Vec<u8>) {
    let index = Algorithm::ALL.iter().position(|a| *a == alg).unwrap_or(0);
    let (mut msg, sig) = f.valid[index].clone();
    if !on_em {
        for e in edits.chunks_exact(3) {
            if msg.is_empty() {
                break;
            }
            let pos = usize::from(u16::from_be_bytes([e[0], e[1]])) % msg.len();
            msg[pos] = e[2];
        }
        return (msg, sig);
    }
    let precision = f.private.n().bits_precision();
    let size = sig.len();
    let s = BoxedUint::from_be_slice(&sig, precision).expect("signature fits the modulus");
    let em = rsa_encrypt(&f.private.to_public_key(), &s).expect("public op");
    let mut em = em.to_be_bytes().to_vec();
    // to_be_bytes is the precision's width; keep the modulus' octets.
    let mut em = em.split_off(em.len() - size);
    for e in edits.chunks_exact(3) {
        let pos = usize::from(u16::from_be_bytes([e[0], e[1]])) % em.len();
        em[pos] = e[2];
    }
    let m = BoxedUint::from_be_slice(&em, precision).expect("EM fits the precision");
    // EM' >= n has no signature: leave the valid one, which must still agree.
    let Ok(signed) = rsa_decrypt::<NoRng>(None, &f.private, &m) else {
        return (msg, sig);
    };
    let signed = signed.to_be_bytes().to_vec();
    let signed = signed[signed.len() - size..].to_vec();
    (msg, signed)
}

/// `rsa_decrypt` takes an optional blinding RNG; raw signing with the demo key needs
/// none, and this type is never called.
pub enum NoRng {}

impl rand_core::TryRng for NoRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        match *self {}
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        match *self {}
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
        match *self {}
    }
}

impl rand_core::TryCryptoRng for NoRng {}
