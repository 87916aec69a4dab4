//! Arbitrary bytes as a token, through every entry point that takes one.
//! Invariants: nothing panics; verify and verify_into agree; a token that verifies
//! also decodes unverified; verify_header(s) is verify(bearer_token(s)).
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::http::{www_authenticate, ProblemDetails};
use xconnauth_fuzz::{sample_verifier, NOW};

fuzz_target!(|data: &[u8]| {
    let v = sample_verifier();
    let verified = v.verify(data, NOW);
    let mut buf = vec![0u8; data.len()];
    let into = v.verify_into(data, NOW, &mut buf).map(|_| ());
    assert_eq!(
        verified.as_ref().map(|_| ()).map_err(|e| e.kind()),
        into.map_err(|e| e.kind())
    );

    let mut dbuf = vec![0u8; data.len()];
    let unverified = xconnauth::decode_unverified(data, &mut dbuf);
    if let Ok(u) = &unverified {
        let _ = u.claims();
    }
    match &verified {
        Ok(t) => {
            assert!(
                unverified.is_ok(),
                "verify accepted what decode_unverified rejects"
            );
            // The owned token re-reads exactly what was verified.
            assert!(xconnauth::parse_object(t.payload_json().as_bytes()).is_some());
            assert!(t.claims().exp().is_some() && t.claims().iss().is_some());
            let _ = t.header().kid();
        }
        Err(e) => {
            let _ = ProblemDetails::new(e)
                .with_type(xconnauth::http::I2_CONNECT_PROBLEM_TYPE)
                .to_json();
            let _ = www_authenticate(e, Some("demo"), &mut String::new());
        }
    }

    let text = String::from_utf8_lossy(data);
    let by_header = v
        .verify_header(&text, NOW)
        .map(|_| ())
        .map_err(|e| e.kind());
    match xconnauth::bearer_token(&text) {
        Ok(token) => {
            assert!(!token.is_empty() && text.contains(token));
            let direct = v
                .verify(token.as_bytes(), NOW)
                .map(|_| ())
                .map_err(|e| e.kind());
            assert_eq!(
                by_header, direct,
                "verify_header differs from verify(bearer_token)"
            );
        }
        Err(e) => assert_eq!(by_header, Err(e.kind())),
    }
});
