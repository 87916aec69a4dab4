//! RSA public keys and JWKS key sets (DESIGN §5).

use alloc::{format, string::String, vec, vec::Vec};
use base64ct::{Base64UrlUnpadded, Encoding};
use core::fmt;
use rsa::{pkcs1v15::Pkcs1v15Sign, pss::Pss, BoxedUint, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::alg::Algorithm;
use crate::error::ConfigError;
use crate::json::{Object, Value};

/// Largest modulus a key set will hold. Bigger keys are refused when the set is built,
/// before any costly precomputation; the policy's `max_rsa_bits` is checked per token.
pub const MAX_MODULUS_BITS: u32 = 16384;

/// The RSA implementation that checks signatures (DESIGN §8).
///
/// Both give the same verdict on every input (the corpus, Wycheproof and a
/// differential fuzz target hold them to it); they differ in speed and in what they
/// need to build.
///
/// ```
/// use xconnauth::Backend;
/// // The default is the fastest backend compiled in.
/// assert!(Backend::ALL.contains(&Backend::default()));
/// assert_eq!(Backend::RustCrypto.name(), "rust-crypto");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Pure Rust (`rsa` + `sha2`): no_std, no C toolchain, what embedded builds use.
    RustCrypto,
    /// aws-lc-rs (feature `aws-lc`): about 3x faster RSA on x86_64 and aarch64. Keys
    /// outside its parameter sets (moduli below 1024 bits, below 2048 for RS384/PS*,
    /// above 8192) are verified by the pure-Rust code instead.
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Backend {
    /// Every backend compiled into this build.
    pub const ALL: &'static [Backend] = &[
        Backend::RustCrypto,
        #[cfg(feature = "aws-lc")]
        Backend::AwsLc,
    ];

    /// A stable name: `"rust-crypto"` or `"aws-lc"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Backend::RustCrypto => "rust-crypto",
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc",
        }
    }
}

impl Default for Backend {
    /// aws-lc when the feature is on, pure Rust otherwise.
    fn default() -> Backend {
        #[cfg(feature = "aws-lc")]
        return Backend::AwsLc;
        #[cfg(not(feature = "aws-lc"))]
        return Backend::RustCrypto;
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One RSA signing key from a JWKS, with its arithmetic precomputed.
#[derive(Clone)]
pub struct RsaKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    bits: u32,
    exponent_ok: bool,
    backend: Backend,
    // None only when the modulus is unusable for arithmetic (even): such a key is
    // reported as `weak_key` when selected and never verifies anything. Built for
    // every backend: it is the validity check both share, and aws-lc's fallback.
    key: Option<RsaPublicKey>,
    #[cfg(feature = "aws-lc")]
    fast: Option<crate::fast::AwsLcKey>,
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("bits", &self.bits)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl RsaKey {
    /// Builds a key from big-endian modulus and exponent octets (leading zeros allowed).
    ///
    /// A key that can never pass the strength rules (DESIGN §2 `weak_key`: a zero,
    /// small or oversized modulus, an even one, `e` zero, even, below 65537 or above
    /// 2^33) is still built, without any arithmetic: it never verifies anything, and a
    /// token that selects it gets `weak_key` rather than `unknown_kid`, while the other
    /// keys of its set keep working. Only keys inside
    /// [`MAX_MODULUS_BITS`] with an odd `e` in `3..2^33` get their Montgomery
    /// parameters precomputed (those below the policy's limits too, so that
    /// [`dangerous::verify_signature`](crate::dangerous::verify_signature) works for
    /// callers with their own rules).
    ///
    /// ```
    /// use xconnauth::RsaKey;
    /// let n = [0xff; 256]; // odd, 2048 bits
    /// let key = RsaKey::from_components(&n, &[1, 0, 2], Some("even-e"), None).unwrap();
    /// assert!(!key.exponent_ok());
    /// assert_eq!(key.bits(), 2048);
    /// ```
    ///
    /// # Errors
    /// None at present: every key is represented, the unusable ones as described.
    /// The `Result` leaves room for checks that must refuse a whole key set.
    pub fn from_components(
        n: &[u8],
        e: &[u8],
        kid: Option<&str>,
        alg: Option<Algorithm>,
    ) -> Result<RsaKey, ConfigError> {
        RsaKey::from_components_with(n, e, kid, alg, Backend::default())
    }

    /// [`from_components`](Self::from_components) with an explicit [`Backend`].
    ///
    /// # Errors
    /// As [`from_components`](Self::from_components); the backend never changes which
    /// keys are usable.
    pub fn from_components_with(
        n: &[u8],
        e: &[u8],
        kid: Option<&str>,
        alg: Option<Algorithm>,
        backend: Backend,
    ) -> Result<RsaKey, ConfigError> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = bit_len(n);
        // RFC 8017 allows any e; above 2^33 verification becomes a denial-of-service
        // vector (the rsa crate refuses those too). Checked on the length before the
        // value is read, so any exponent fits the u64.
        let e_val = if bit_len(e) > 33 {
            None
        } else {
            Some(e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
        };
        let exponent_ok = e_val.is_some_and(|e| e >= 65537 && e % 2 == 1);
        let n_odd = n.last().is_some_and(|b| b & 1 == 1);
        let arithmetic =
            n_odd && bits <= MAX_MODULUS_BITS && e_val.is_some_and(|e| e >= 3 && e % 2 == 1);
        // The rsa crate's own checks (e < n, ...) only refuse keys far below any
        // min_rsa_bits; such a key stays unusable instead of failing its set.
        let key = if arithmetic {
            let precision = bits.div_ceil(64) * 64;
            BoxedUint::from_be_slice(n, precision)
                .ok()
                .zip(BoxedUint::from_be_slice(e, 64).ok())
                .and_then(|(n_big, e_big)| {
                    RsaPublicKey::new_with_size_limits(n_big, e_big, 1..=MAX_MODULUS_BITS as usize)
                        .ok()
                })
        } else {
            None
        };
        #[cfg(feature = "aws-lc")]
        let fast = match backend {
            Backend::AwsLc if key.is_some() => Some(crate::fast::AwsLcKey::new(n, e, bits)),
            _ => None,
        };
        Ok(RsaKey {
            kid: kid.map(String::from),
            alg,
            bits,
            exponent_ok,
            backend,
            key,
            #[cfg(feature = "aws-lc")]
            fast,
        })
    }

    /// The backend this key was built for.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The backend that actually checks `alg` signatures with this key: the one it was
    /// built for, or [`Backend::RustCrypto`] where aws-lc has no parameter set for the
    /// key's size.
    #[must_use]
    pub fn backend_for(&self, alg: Algorithm) -> Backend {
        #[cfg(feature = "aws-lc")]
        if self.fast.as_ref().is_some_and(|k| k.covers(alg)) {
            return Backend::AwsLc;
        }
        let _ = alg;
        Backend::RustCrypto
    }

    /// The key id, if the JWK had one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the JWK is restricted to, if it named one.
    #[must_use]
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Modulus size in bits (2047 for a 2047-bit modulus, even though it takes 256 octets).
    #[must_use]
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Modulus length in octets: the exact length every signature must have.
    #[must_use]
    pub fn size(&self) -> usize {
        self.bits.div_ceil(8) as usize
    }

    /// True when `e` is odd and at least 65537.
    #[must_use]
    pub fn exponent_ok(&self) -> bool {
        self.exponent_ok
    }

    /// True when this key passes the size and exponent rules of the given limits.
    pub(crate) fn strong_enough(&self, min_bits: u32, max_bits: u32) -> bool {
        self.key.is_some() && self.exponent_ok && self.bits >= min_bits && self.bits <= max_bits
    }

    /// Verifies `sig` over `msg` with `alg`. The signature must be exactly
    /// [`size`](Self::size) octets and, for PKCS#1 v1.5, carry the exact DER
    /// DigestInfo (with NULL); PSS uses the hash length as salt length (RFC 7518 §3.5).
    /// (Public as [`crate::dangerous::verify_signature`].)
    #[must_use]
    pub(crate) fn verify(&self, alg: Algorithm, msg: &[u8], sig: &[u8]) -> bool {
        let Some(key) = &self.key else {
            return false;
        };
        if sig.len() != self.size() {
            return false;
        }
        #[cfg(feature = "aws-lc")]
        if let Some(verdict) = self.fast.as_ref().and_then(|k| k.verify(alg, msg, sig)) {
            return verdict;
        }
        let ok = match alg {
            Algorithm::RS256 => {
                key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
            }
            Algorithm::RS384 => {
                key.verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(msg), sig)
            }
            Algorithm::RS512 => {
                key.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(msg), sig)
            }
            Algorithm::PS256 => key.verify(Pss::<Sha256>::new(), &Sha256::digest(msg), sig),
            Algorithm::PS384 => key.verify(Pss::<Sha384>::new(), &Sha384::digest(msg), sig),
            Algorithm::PS512 => key.verify(Pss::<Sha512>::new(), &Sha512::digest(msg), sig),
        };
        ok.is_ok()
    }

    /// May this key verify a token with header `alg` under the allowed `algorithms`?
    pub(crate) fn usable_for(&self, alg: Algorithm) -> bool {
        self.alg.is_none_or(|a| a == alg)
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

fn bit_len(be: &[u8]) -> u32 {
    match be.first() {
        None => 0,
        Some(&top) => {
            let rest = u32::try_from(be.len() - 1).unwrap_or(u32::MAX / 16);
            rest.saturating_mul(8)
                .saturating_add(8 - top.leading_zeros())
        }
    }
}

/// A trusted set of RSA signing keys, parsed once from a JWKS document.
///
/// Only entries with `kty` `RSA`, `use` absent or `sig`, `key_ops` absent or containing
/// `verify`, and `alg` absent or one of [`Algorithm`] are kept; others (EC keys,
/// `use: enc`, RSA-OAEP) are skipped. `x5c`, `x5t` and the like are ignored.
///
/// ```
/// let jwks = r#"{"keys":[
///   {"kty":"EC","crv":"P-256","x":"AA","y":"AA","use":"sig"},
///   {"kty":"RSA","use":"enc","alg":"RSA-OAEP","kid":"e","n":"sXch","e":"AQAB"},
///   {"kty":"RSA","use":"sig","alg":"RS256","kid":"k1","e":"AQAB",
///    "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}
/// ]}"#;
/// let keys = xconnauth::KeySet::from_jwks(jwks.as_bytes()).unwrap();
/// assert_eq!(keys.len(), 1);
/// assert_eq!(keys.iter().next().unwrap().kid(), Some("k1"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<RsaKey>,
    skipped: Vec<SkippedKey>,
}

/// A JWKS entry that is not in a [`KeySet`], and why (diagnostics: DESIGN §5 skips
/// unusable and malformed entries instead of refusing the whole document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position of the entry in the `keys` array.
    pub index: usize,
    /// The entry's `kid`, when it has a string one.
    pub kid: Option<String>,
    /// Why it was skipped, e.g. `kty is not RSA` or `"n" is not unpadded base64url`.
    pub reason: String,
}

/// Largest JWKS document accepted (Keycloak realms publish a few KB).
pub const MAX_JWKS_BYTES: usize = 1 << 20;

impl KeySet {
    /// Parses a JWKS document (`{"keys":[...]}`). Entries that are not usable RSA
    /// signing keys (other key types, `use: enc`, other algorithms) or are malformed
    /// (not an object, a non-string member, a bad `n` or `e`) are skipped and listed
    /// in [`skipped`](Self::skipped) with their reason; one bad entry does not spoil
    /// the set.
    ///
    /// ```
    /// let jwks = br#"{"keys":[{"kty":"RSA","kid":7,"n":"AQAB","e":"AQAB"},"nope",
    ///   {"kty":"EC","kid":"ec"},
    ///   {"kty":"RSA","kid":"k1","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}]}"#;
    /// let keys = xconnauth::KeySet::from_jwks(jwks).unwrap();
    /// assert_eq!(keys.len(), 1);
    /// let skipped: Vec<_> = keys.skipped().iter().map(|s| (s.index, s.kid.as_deref())).collect();
    /// assert_eq!(skipped, [(0, None), (1, None), (2, Some("ec"))]);
    /// assert_eq!(keys.skipped()[0].reason, "\"kid\" is a number, not a string");
    /// ```
    ///
    /// # Errors
    /// The document is not strict JSON, is too large, has no `keys` array, or no
    /// usable key remains (the message names the first skipped entries' reasons).
    pub fn from_jwks(jwks: &[u8]) -> Result<KeySet, ConfigError> {
        KeySet::from_jwks_with(jwks, Backend::default())
    }

    /// [`from_jwks`](Self::from_jwks) with an explicit [`Backend`].
    ///
    /// ```
    /// # let jwks = std::fs::read("../examples/keycloak/jwks.json").unwrap();
    /// use xconnauth::{Backend, KeySet};
    /// for &backend in Backend::ALL {
    ///     let keys = KeySet::from_jwks_with(&jwks, backend).unwrap();
    ///     assert!(keys.iter().all(|k| k.backend() == backend));
    /// }
    /// ```
    ///
    /// # Errors
    /// As [`from_jwks`](Self::from_jwks): the backend never changes which documents
    /// are accepted.
    pub fn from_jwks_with(jwks: &[u8], backend: Backend) -> Result<KeySet, ConfigError> {
        if jwks.len() > MAX_JWKS_BYTES {
            return Err(ConfigError::new(format!(
                "JWKS is {} bytes, more than the {MAX_JWKS_BYTES} accepted",
                jwks.len()
            )));
        }
        let doc =
            Object::parse(jwks).map_err(|e| ConfigError::new(format!("JWKS {}", e.message())))?;
        let Some(Value::Array(list)) = doc.get("keys") else {
            return Err(ConfigError::new("JWKS has no \"keys\" array"));
        };
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, entry) in list.iter().enumerate() {
            let Value::Object(jwk) = entry else {
                skipped.push(SkippedKey {
                    index,
                    kid: None,
                    reason: format!("the entry is a {}, not an object", entry.type_name()),
                });
                continue;
            };
            match parse_jwk(&jwk, backend) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey {
                    index,
                    kid: match jwk.get("kid") {
                        Some(Value::String(k)) => Some(String::from_iter(k.chars())),
                        _ => None,
                    },
                    reason,
                }),
            }
        }
        if keys.is_empty() {
            let mut message = String::from(
                "JWKS has no usable RSA signing key (kty RSA, use sig or absent, alg RS*/PS* or absent)",
            );
            for s in skipped.iter().take(5) {
                let label = s
                    .kid
                    .as_deref()
                    .map_or_else(|| format!("#{}", s.index), |k| format!("\"{k}\""));
                message.push_str(&format!("; key {label}: {}", s.reason));
            }
            return Err(ConfigError::new(message));
        }
        Ok(KeySet { keys, skipped })
    }

    /// The entries of the JWKS that are not in this set, in document order, with the
    /// reason for each (empty for a set built with [`from_keys`](Self::from_keys)).
    #[must_use]
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// A key set from keys built by hand.
    #[must_use]
    pub fn from_keys(keys: Vec<RsaKey>) -> KeySet {
        KeySet {
            keys,
            skipped: Vec::new(),
        }
    }

    /// Number of usable keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &RsaKey> {
        self.keys.iter()
    }

    /// The keys that could verify some token under `policy`: restricted to no `alg` or
    /// to an allowed one, and inside `min_rsa_bits..=max_rsa_bits` with a good exponent.
    /// A fetched set with none of them must not replace a working one (a 512-bit-only or
    /// RS512-only set under an RS256 policy would turn every valid token into a
    /// rejection).
    ///
    /// ```
    /// # let jwks = std::fs::read("../examples/keycloak/jwks.json").unwrap();
    /// use xconnauth::{Algorithm, KeySet, Policy};
    /// let keys = KeySet::from_jwks(&jwks)?;
    /// let mut policy = Policy::new(["https://sso.example.com/realms/demo"]);
    /// assert_eq!(keys.usable_under(&policy).count(), 1);
    /// policy.algorithms = vec![Algorithm::RS512];
    /// assert_eq!(keys.usable_under(&policy).count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn usable_under<'s>(
        &'s self,
        policy: &'s crate::Policy,
    ) -> impl Iterator<Item = &'s RsaKey> {
        self.keys.iter().filter(|k| {
            k.alg().is_none_or(|a| policy.algorithms.contains(&a))
                && k.strong_enough(policy.min_rsa_bits, policy.max_rsa_bits)
        })
    }
}

/// A string member, absent, or the reason the entry is skipped.
fn opt_str<'a>(jwk: &Object<'a>, name: &str) -> Result<Option<crate::json::JsonStr<'a>>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "\"{name}\" is a {}, not a string",
            other.type_name()
        )),
    }
}

/// The entry as a usable RSA signing key, or why it is skipped.
fn parse_jwk(jwk: &Object<'_>, backend: Backend) -> Result<RsaKey, String> {
    // Every member the verifier reads is checked first, so a malformed entry is
    // reported as malformed whatever its other members say.
    let kty = opt_str(jwk, "kty")?;
    let use_ = opt_str(jwk, "use")?;
    let alg = opt_str(jwk, "alg")?;
    let kid = opt_str(jwk, "kid")?.map(|k| String::from_iter(k.chars()));
    let (n, e) = (opt_str(jwk, "n")?, opt_str(jwk, "e")?);
    if !kty.is_some_and(|k| k.eq_str("RSA")) {
        return Err(match kty {
            Some(k) => format!("kty is \"{k}\", not RSA"),
            None => String::from("no \"kty\""),
        });
    }
    if let Some(u) = use_.filter(|u| !u.eq_str("sig")) {
        return Err(format!("use is \"{u}\", not sig"));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let Value::Array(ops) = ops else {
            return Err(String::from("\"key_ops\" is not an array"));
        };
        if !ops
            .iter()
            .any(|o| o.as_str().is_some_and(|s| s.eq_str("verify")))
        {
            return Err(String::from("key_ops has no \"verify\""));
        }
    }
    let alg = match alg {
        None => None,
        Some(a) => match Algorithm::ALL.into_iter().find(|x| a.eq_str(x.name())) {
            Some(x) => Some(x),
            // RSA-OAEP, RS1, ...: not a key we may verify with.
            None => {
                return Err(format!(
                    "alg is \"{a}\", not a supported signature algorithm"
                ))
            }
        },
    };
    let n = decode_component(n, "n")?;
    let e = decode_component(e, "e")?;
    RsaKey::from_components_with(&n, &e, kid.as_deref(), alg, backend)
        .map_err(|err| String::from(err.message()))
}

fn decode_component(
    value: Option<crate::json::JsonStr<'_>>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let Some(value) = value else {
        return Err(format!("missing \"{name}\""));
    };
    let text = String::from_iter(value.chars());
    let mut out = vec![0u8; text.len() / 4 * 3 + 3];
    let len = Base64UrlUnpadded::decode(&text, &mut out)
        .map_err(|_| format!("\"{name}\" is not unpadded base64url"))?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The two members of an OIDC discovery document the verifier needs
/// (`<issuer>/.well-known/openid-configuration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer identifier; must equal the configured issuer exactly.
    pub issuer: String,
    /// Where the realm publishes its JWKS.
    pub jwks_uri: String,
}

impl Discovery {
    /// Parses a discovery document.
    ///
    /// ```
    /// let d = xconnauth::Discovery::parse(br#"{"issuer":"https:\/\/kc\/realms\/a",
    ///     "jwks_uri":"https://kc/realms/a/protocol/openid-connect/certs"}"#).unwrap();
    /// assert_eq!(d.issuer, "https://kc/realms/a");
    /// assert!(d.check_issuer("https://kc/realms/a").is_ok());
    /// assert!(d.check_issuer("https://kc/realms/a/").is_err());
    /// ```
    ///
    /// # Errors
    /// Not strict JSON, or `issuer` / `jwks_uri` missing or not strings.
    pub fn parse(doc: &[u8]) -> Result<Discovery, ConfigError> {
        if doc.len() > MAX_JWKS_BYTES {
            return Err(ConfigError::new("discovery document is too large"));
        }
        let obj = Object::parse(doc)
            .map_err(|e| ConfigError::new(format!("discovery document {}", e.message())))?;
        let get = |name: &str| -> Result<String, ConfigError> {
            match obj.get(name) {
                Some(Value::String(s)) => Ok(String::from_iter(s.chars())),
                _ => Err(ConfigError::new(format!(
                    "discovery document has no string \"{name}\""
                ))),
            }
        };
        Ok(Discovery {
            issuer: get("issuer")?,
            jwks_uri: get("jwks_uri")?,
        })
    }

    /// Checks that the discovered issuer is exactly the configured one (OIDC Discovery
    /// §4.3): a mismatch means the document is for another realm or was tampered with.
    ///
    /// # Errors
    /// The issuers differ.
    pub fn check_issuer(&self, expected: &str) -> Result<(), ConfigError> {
        if self.issuer == expected {
            Ok(())
        } else {
            Err(ConfigError::new(format!(
                "discovered issuer \"{}\" is not the configured \"{expected}\"",
                self.issuer
            )))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x7f, 0]), 15);
        assert_eq!(bit_len(strip_zeros(&[0, 0, 0x80])), 8);
    }

    #[test]
    fn jwks_errors_are_config_errors() {
        for bad in [
            &b"[]"[..],
            b"{}",
            b"{\"keys\":{}}",
            b"{\"keys\":[]}",
            b"{\"keys\":[1]}",
            b"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}",
            b"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQ==\",\"e\":\"AQAB\"}]}",
            b"{\"keys\":[{\"kty\":\"RSA\",\"kid\":7,\"n\":\"AQ\",\"e\":\"AQAB\"}]}",
            b"{\"keys\":[{\"kty\":\"EC\"}]}",
            b"{\"keys\":[],\"keys\":[]}",
        ] {
            assert!(
                KeySet::from_jwks(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// Issue 17 / DESIGN §5: each malformed entry beside a usable key is skipped with
    /// its reason instead of refusing the set.
    #[test]
    fn a_bad_entry_beside_a_good_one_is_skipped() {
        let mut n = [0xA5u8; 256];
        n[0] = 0xC1;
        let n = Base64UrlUnpadded::encode_string(&n);
        let good = format!(r#"{{"kty":"RSA","kid":"good","n":"{n}","e":"AQAB"}}"#);
        for (bad, kid, reason) in [
            (
                String::from("1"),
                None,
                "the entry is a number, not an object",
            ),
            (
                String::from(r#"{"kty":"RSA","use":null}"#),
                None,
                "\"use\" is a null, not a string",
            ),
            (
                format!(r#"{{"kty":"RSA","kid":7,"n":"{n}","e":"AQAB"}}"#),
                None,
                "\"kid\" is a number, not a string",
            ),
            (
                format!(r#"{{"kty":"RSA","kid":"p","n":"{n}=","e":"AQAB"}}"#),
                Some("p"),
                "\"n\" is not unpadded base64url",
            ),
            (
                format!(r#"{{"kty":"RSA","kid":"m","n":"{n}"}}"#),
                Some("m"),
                "missing \"e\"",
            ),
            (
                String::from(r#"{"kty":"EC","kid":"ec"}"#),
                Some("ec"),
                "kty is \"EC\", not RSA",
            ),
            (
                String::from(r#"{"kty":"RSA","use":"enc","kid":"x"}"#),
                Some("x"),
                "use is \"enc\", not sig",
            ),
        ] {
            let doc = format!(r#"{{"keys":[{bad},{good}]}}"#);
            let keys = KeySet::from_jwks(doc.as_bytes()).unwrap();
            assert_eq!(keys.len(), 1, "{bad}");
            assert_eq!(
                keys.skipped(),
                [SkippedKey {
                    index: 0,
                    kid: kid.map(String::from),
                    reason: String::from(reason)
                }],
                "{bad}"
            );
            let alone = format!(r#"{{"keys":[{bad}]}}"#);
            let err = KeySet::from_jwks(alone.as_bytes()).unwrap_err();
            assert!(err.message().contains(reason), "{}", err.message());
        }
    }
}
