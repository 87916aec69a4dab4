//! Arbitrary bytes as the configuration documents: JWKS, OIDC discovery, policy.
//! Invariants: nothing panics; a parsed key set is non-empty, and a key beyond the
//! modulus limits (kept so that selecting it gives weak_key) verifies nothing;
//! a discovery document matches its own issuer; applying a policy twice changes
//! nothing; whatever builds a verifier can verify (or reject) the sample token.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::{Algorithm, Discovery, KeySet, Policy, Verifier, MAX_MODULUS_BITS};
use xconnauth_fuzz::{sample_keys, sample_token, sample_verifier, NOW};

fuzz_target!(|data: &[u8]| {
    let keys = KeySet::from_jwks(data);
    if let Ok(keys) = &keys {
        assert!(!keys.is_empty());
        for k in keys.iter() {
            assert_eq!(k.size(), k.bits().div_ceil(8) as usize);
            if !(1..=MAX_MODULUS_BITS).contains(&k.bits()) {
                let sig = vec![1; k.size()];
                assert!(Algorithm::ALL.iter().all(|&a| !xconnauth::dangerous::verify_signature(k, a, b"x", &sig)));
            }
        }
        if let Ok(v) = sample_verifier().with_keys(keys.clone()) {
            let _ = v.verify(sample_token(), NOW);
        }
    }
    if let Ok(d) = Discovery::parse(data) {
        assert!(d.check_issuer(&d.issuer).is_ok());
    }
    if let Ok(p) = Policy::from_json(data) {
        let mut again = p.clone();
        again
            .apply_json(data)
            .expect("a policy that applied once applies again");
        assert_eq!(again, p, "apply_json is not idempotent");
        if p.validate().is_ok() {
            if let Ok(v) = Verifier::new(sample_keys().clone(), p) {
                let _ = v.verify(sample_token(), NOW);
            }
        }
    }
});
