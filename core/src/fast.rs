//! The aws-lc-rs backend (feature `aws-lc`, DESIGN §8).
//!
//! aws-lc-rs binds each parsed key to one algorithm *and* a modulus-size range, so a
//! key holds one parsed form per [`Algorithm`]. Where aws-lc-rs has no parameter set
//! for the key's size (below 1024/2048 bits or above 8192) or refuses the
//! components, that slot stays empty and the key falls back to the pure-Rust
//! arithmetic, so both backends accept exactly the same keys and tokens.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};

use crate::alg::Algorithm;

/// One parsed aws-lc key per algorithm, indexed like [`Algorithm::ALL`].
#[derive(Clone, Default)]
pub(crate) struct AwsLcKey {
    parsed: [Option<ParsedPublicKey>; 6],
}

impl AwsLcKey {
    /// Parses `n`/`e` (big-endian, no leading zeros) for every algorithm whose
    /// aws-lc parameter set admits a `bits`-bit modulus.
    pub(crate) fn new(n: &[u8], e: &[u8], bits: u32) -> AwsLcKey {
        let components = RsaPublicKeyComponents { n, e };
        let mut key = AwsLcKey::default();
        for (slot, alg) in key.parsed.iter_mut().zip(Algorithm::ALL) {
            *slot = parameters(alg)
                .iter()
                .find(|p| (p.min_modulus_len()..=p.max_modulus_len()).contains(&bits))
                .and_then(|p| components.to_parsed_public_key(p).ok());
        }
        key
    }

    /// True when this backend verifies `alg` for this key.
    pub(crate) fn covers(&self, alg: Algorithm) -> bool {
        Algorithm::ALL
            .iter()
            .position(|a| *a == alg)
            .and_then(|i| self.parsed.get(i))
            .is_some_and(Option::is_some)
    }

    /// `Some(verdict)` when this backend covers `alg` for this key, `None` when the
    /// caller must fall back to the pure-Rust key.
    pub(crate) fn verify(&self, alg: Algorithm, msg: &[u8], sig: &[u8]) -> Option<bool> {
        let index = Algorithm::ALL.iter().position(|a| *a == alg)?;
        let key = self.parsed.get(index)?.as_ref()?;
        Some(key.verify_sig(msg, sig).is_ok())
    }
}

/// The aws-lc parameter sets that implement `alg` exactly as RFC 7518 defines it
/// (PKCS#1 v1.5 with the DER DigestInfo; PSS with MGF1 of the same hash and a salt
/// as long as the hash), in order of preference.
fn parameters(alg: Algorithm) -> &'static [&'static RsaParameters] {
    match alg {
        // The "legacy" sets differ only in admitting 1024..2048-bit moduli, which the
        // policy's min_rsa_bits may allow.
        Algorithm::RS256 => &[
            &signature::RSA_PKCS1_2048_8192_SHA256,
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        ],
        Algorithm::RS384 => &[&signature::RSA_PKCS1_2048_8192_SHA384],
        Algorithm::RS512 => &[
            &signature::RSA_PKCS1_2048_8192_SHA512,
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        ],
        Algorithm::PS256 => &[&signature::RSA_PSS_2048_8192_SHA256],
        Algorithm::PS384 => &[&signature::RSA_PSS_2048_8192_SHA384],
        Algorithm::PS512 => &[&signature::RSA_PSS_2048_8192_SHA512],
    }
}
