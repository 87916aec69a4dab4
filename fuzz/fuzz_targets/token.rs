//! Arbitrary bytes as a token, through every entry point that takes one.
//! Invariants: nothing panics; verify and verify_into agree; a token that verifies
//! also decodes unverified; verify_header(_bytes)(s) is verify(bearer_token(_bytes)(s));
//! on UTF-8 input bearer_token and bearer_token_bytes agree; the core's table-driven
//! base64url decoder accepts exactly what base64ct does, with the same bytes.
#![no_main]
use base64ct::{Base64UrlUnpadded, Encoding};
use libfuzzer_sys::fuzz_target;
use xconnauth::http::{www_authenticate, ProblemDetails};
use xconnauth::{Error, ErrorKind, VerifiedToken};
use xconnauth_fuzz::{sample_verifier, NOW};

fn kind<T>(r: Result<T, Error>) -> Result<(), ErrorKind> {
    r.map(|_| ()).map_err(|e| e.kind())
}

fuzz_target!(|data: &[u8]| {
    let v = sample_verifier();
    let verified: Result<VerifiedToken, Error> = v.verify(data, NOW);
    let mut buf = vec![0u8; data.len()];
    let into = kind(v.verify_into(data, NOW, &mut buf));
    assert_eq!(kind(verified.as_ref().map_err(Clone::clone)), into);

    let mut dbuf = vec![0u8; data.len()];
    let unverified = xconnauth::dangerous::decode_unverified(data, &mut dbuf);
    if let Ok(u) = &unverified {
        let _ = u.claims();
    }
    base64_agrees_with_base64ct(data, unverified.as_ref().map_err(|e| e.kind()));
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

    // Authorization header values, as text (lossy) and as raw bytes.
    let text = String::from_utf8_lossy(data);
    let by_header = kind(v.verify_header(&text, NOW));
    match xconnauth::bearer_token(&text) {
        Ok(token) => {
            assert!(!token.is_empty() && text.contains(token));
            let direct = kind(v.verify(token.as_bytes(), NOW));
            assert_eq!(
                by_header, direct,
                "verify_header differs from verify(bearer_token)"
            );
        }
        Err(e) => assert_eq!(by_header, Err(e.kind())),
    }
    let raw = xconnauth::bearer_token_bytes(data);
    let by_header_bytes = kind(v.verify_header_bytes(data, NOW));
    match &raw {
        Ok(token) => {
            assert!(!token.is_empty() && data.as_ptr_range().contains(&token.as_ptr()));
            let direct = kind(v.verify(token, NOW));
            assert_eq!(
                by_header_bytes, direct,
                "verify_header_bytes differs from verify(bearer_token_bytes)"
            );
        }
        Err(e) => assert_eq!(by_header_bytes, Err(e.kind())),
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let as_str = xconnauth::bearer_token(s)
            .map(str::as_bytes)
            .map_err(|e| e.kind());
        assert_eq!(
            as_str,
            raw.map_err(|e| e.kind()),
            "bearer_token and bearer_token_bytes differ"
        );
    }
});

/// `decode_unverified` decodes the header, parses it, then decodes the payload; with
/// base64ct as the reference, its outcome and bytes must be what base64ct predicts.
fn base64_agrees_with_base64ct(data: &[u8], got: Result<&xconnauth::dangerous::Unverified<'_>, ErrorKind>) {
    let parts: Vec<&[u8]> = data.split(|&b| b == b'.').collect();
    let [h, p, s] = parts[..] else { return };
    if h.is_empty()
        || p.is_empty()
        || s.is_empty()
        || data.iter().any(|b| b.is_ascii_whitespace() || *b == 0x0b)
    {
        return;
    }
    let reference = |seg: &[u8]| Base64UrlUnpadded::decode_vec(std::str::from_utf8(seg).ok()?).ok();
    let (h_ref, p_ref) = (reference(h), reference(p));
    match got {
        Ok(u) => {
            // The objects' text leaves out the JSON whitespace around them.
            let trim = |b: Option<Vec<u8>>| b.map(|b| b.trim_ascii().to_vec());
            assert_eq!(
                Some(u.header.as_json().as_bytes().to_vec()),
                trim(h_ref),
                "header bytes differ from base64ct"
            );
            assert_eq!(
                Some(u.payload.as_json().as_bytes().to_vec()),
                trim(p_ref),
                "payload bytes differ from base64ct"
            );
        }
        Err(ErrorKind::BadBase64) => assert!(
            h_ref.is_none() || p_ref.is_none(),
            "bad_base64 for segments base64ct decodes"
        ),
        Err(_) => assert!(
            h_ref.is_some(),
            "a header base64ct rejects got past base64 decoding"
        ),
    }
}
