//! Differential: the pure-Rust and aws-lc backends must give the same verdict on
//! every input (DESIGN §8).
//!
//! Random signatures almost never get past the RSA public operation into padding
//! checks, where implementations really differ. So most inputs are crafted with the
//! sample's private key (public DEMO material): a valid signature's encoded message
//! `EM = sig^e mod n` is edited by the fuzzer, re-signed as `sig' = EM'^d mod n`, and
//! both backends judge `sig'`. That reaches every byte of PKCS#1 v1.5 and PSS decoding.
//!
//! Input: `[mode][alg][edits...]`.
//!   mode 0: 3-byte edits (position u16 BE, byte) applied to EM, then re-signed;
//!   mode 1: the same edits applied to the message instead (signature unchanged);
//!   mode 2: the rest is a whole token, verified by the sample verifier per backend
//!           (results compared by category, or by payload when valid);
//!   mode 3: the rest is `msg || sig` with sig the key's size, verified raw.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::{Algorithm, Backend};
use xconnauth_fuzz::backends::{crafted, fixtures, verifiers};
use xconnauth_fuzz::NOW;

fuzz_target!(|data: &[u8]| {
    let [mode, alg, rest @ ..] = data else {
        return;
    };
    let fx = fixtures();
    let alg = Algorithm::ALL[usize::from(*alg) % Algorithm::ALL.len()];
    let (msg, sig) = match mode % 4 {
        0 => crafted(fx, alg, rest, true),
        1 => crafted(fx, alg, rest, false),
        2 => {
            let results: Vec<_> = verifiers()
                .iter()
                .map(|(b, v)| {
                    let r = v.verify(rest, NOW);
                    (
                        *b,
                        r.map(|t| t.payload_json().to_owned()).map_err(|e| e.kind()),
                    )
                })
                .collect();
            for pair in results.windows(2) {
                assert_eq!(pair[0].1, pair[1].1, "{:?} vs {:?}", pair[0].0, pair[1].0);
            }
            return;
        }
        _ => {
            let size = fx.keys[0].size();
            if rest.len() < size {
                return;
            }
            let (m, s) = rest.split_at(rest.len() - size);
            (m.to_vec(), s.to_vec())
        }
    };
    let verdicts: Vec<(Backend, bool)> = fx
        .keys
        .iter()
        .map(|k| (k.backend(), xconnauth::dangerous::verify_signature(k, alg, &msg, &sig)))
        .collect();
    for pair in verdicts.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].1,
            "{alg}: {:?} says {}, {:?} says {}",
            pair[0].0, pair[0].1, pair[1].0, pair[1].1
        );
    }
    assert_eq!(fx.keys.len(), Backend::ALL.len());
});
