//! Fixtures for the `backends` differential target: the demo key for every backend, a
//! valid signature per algorithm, and raw RSA with the demo private key.

use std::sync::OnceLock;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use rsa::hazmat::rsa_encrypt;
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
    /// The demo private key in aws-lc, for raw signing (`EM^d mod n`). Mode 0 signs
    /// once per input; rsa's constant-time private operation held the target to ~155
    /// executions/s (ASan), aws-lc's ~6,900/s (no sanitizer), like the other targets.
    signer: RawSigner,
    /// Per algorithm (`Algorithm::ALL` order): signing input, its valid signature, and
    /// that signature's encoded message `sig^e mod n` (computed once).
    valid: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

/// An aws-lc `EVP_PKEY` holding the demo private key.
struct RawSigner {
    pkey: *mut aws_lc_sys::EVP_PKEY,
}

// The key is never changed after parsing; aws-lc's RSA private operation is safe to
// call from several threads on one key.
unsafe impl Send for RawSigner {}
unsafe impl Sync for RawSigner {}

impl RawSigner {
    fn from_pkcs8(der: &[u8]) -> RawSigner {
        let mut p = der.as_ptr();
        let len = std::os::raw::c_long::try_from(der.len()).expect("key length");
        // SAFETY: `p` points to `len` readable bytes; a NULL result is checked.
        let pkey = unsafe { aws_lc_sys::d2i_AutoPrivateKey(std::ptr::null_mut(), &mut p, len) };
        assert!(!pkey.is_null(), "aws-lc parses the demo key");
        RawSigner { pkey }
    }

    /// `m^d mod n` for `m` of the modulus' size, or `None` when `m >= n`.
    fn sign_raw(&self, m: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; m.len()];
        let mut out_len = 0usize;
        // SAFETY: the key lives as long as `self`; `out` has room for `m.len()` bytes,
        // the modulus' size, which is what a raw RSA operation writes.
        let ok = unsafe {
            let rsa = aws_lc_sys::EVP_PKEY_get0_RSA(self.pkey);
            !rsa.is_null()
                && aws_lc_sys::RSA_decrypt(
                    rsa,
                    &mut out_len,
                    out.as_mut_ptr(),
                    out.len(),
                    m.as_ptr(),
                    m.len(),
                    aws_lc_sys::RSA_NO_PADDING,
                ) == 1
        };
        if !ok {
            // aws-lc keeps a queue of errors per thread: empty it for the next input.
            unsafe { aws_lc_sys::ERR_clear_error() };
            return None;
        }
        out.truncate(out_len);
        Some(out)
    }
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
        let valid: Vec<(Vec<u8>, Vec<u8>)> = Algorithm::ALL
            .iter()
            .map(|alg| {
                let t = tokens[alg.name()].as_str().expect("a token per algorithm");
                let (input, sig) = t.rsplit_once('.').expect("three segments");
                let sig = Base64UrlUnpadded::decode_vec(sig).expect("signature base64url");
                (input.as_bytes().to_vec(), sig)
            })
            .collect();
        let precision = private.n().bits_precision();
        let valid = valid
            .into_iter()
            .map(|(input, sig): (Vec<u8>, Vec<u8>)| {
                let s =
                    BoxedUint::from_be_slice(&sig, precision).expect("signature fits the modulus");
                let em = rsa_encrypt(&private.to_public_key(), &s).expect("public op");
                let em = em.to_be_bytes().to_vec();
                // to_be_bytes is the precision's width; keep the modulus' octets.
                let em = em[em.len() - sig.len()..].to_vec();
                (input, sig, em)
            })
            .collect();
        let f = Fixtures {
            keys,
            signer: RawSigner::from_pkcs8(&der),
            valid,
        };
        for (alg, (msg, sig, em)) in Algorithm::ALL.iter().zip(&f.valid) {
            assert_eq!(
                f.signer.sign_raw(em).as_ref(),
                Some(sig),
                "{alg}: aws-lc signs EM back to the signature"
            );
            for k in &f.keys {
                assert!(
                    xconnauth::dangerous::verify_signature(k, *alg, msg, sig),
                    "{alg} fixture must verify"
                );
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
    let (mut msg, sig, em) = f.valid[index].clone();
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
    let mut em = em;
    for e in edits.chunks_exact(3) {
        let pos = usize::from(u16::from_be_bytes([e[0], e[1]])) % em.len();
        em[pos] = e[2];
    }
    // EM' >= n has no signature: leave the valid one, which must still agree.
    match f.signer.sign_raw(&em) {
        Some(signed) if signed.len() == sig.len() => (msg, signed),
        _ => (msg, sig),
    }
}
