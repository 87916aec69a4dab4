// The error vocabulary, declared once (docs/contract.md, "Categories").
//
// This file is the only hand-written copy. `core/src/error.rs` builds `ErrorKind` and
// its methods from `categories!` below; `tools/gen-errors` reads both tables and writes
// every other surface: the C constants and names (`ffi/src/status.rs`, and through
// cbindgen `include/xconnauth.h`), the Python exception classes and exports, the .NET
// `Status` enum and the contract's tables. After an edit here run `make generate`;
// `make check-generated` (part of `make lint`) fails while a generated file is stale.
//
// Per category: the variant (also the Python class and the .NET enum member); the doc
// comment, one short meaning that every surface shows; `code`, the stable string;
// `c_status`, its `xca_status` number; `http`, the status to answer with (5xx: the
// server cannot judge the token now, so the Python class is a `JWKSError`, not an
// `InvalidToken`); `rfc6750`, the `error` of the `WWW-Authenticate` challenge (`None`:
// a bare challenge); `title`, the problem title; `when`, the precise rule for the docs.
//
// C status numbers are ABI: fixed forever, new rows appended with the next number, a
// retired number never given again.

categories! {
    /// Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
    /// wrong `Bearer` scheme.
    Malformed {
        code: "malformed",
        c_status: 1,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Malformed bearer token",
        when: "not three non-empty dot-separated segments; whitespace; a JWE (five segments); \
               `Bearer` scheme missing or wrong",
    }
    /// A segment is not canonical unpadded base64url.
    BadBase64 {
        code: "bad_base64",
        c_status: 2,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token is not valid base64url",
        when: "a segment is not canonical unpadded base64url: `=`, `+`, `/`, or non-zero \
               trailing bits",
    }
    /// The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
    /// JSON type.
    BadJson {
        code: "bad_json",
        c_status: 3,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token JSON is invalid",
        when: "header or payload is not a strict UTF-8 JSON object: duplicate names (after \
               unescaping), too deep, trailing bytes, NaN; a known claim of the wrong JSON type; \
               a date outside 0..=2^53",
    }
    /// The token is longer than the policy's `max_token_bytes`, or one of its JSON
    /// objects is beyond the size limits.
    TooLarge {
        code: "too_large",
        c_status: 4,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token too large",
        when: "token, segment or JSON beyond the configured limits",
    }
    /// The header carries `crit`, `b64` or `cty`.
    UnsupportedHeader {
        code: "unsupported_header",
        c_status: 5,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Unsupported token header",
        when: "`crit` present (whatever its value), `b64` present, `cty` present",
    }
    /// `alg` is missing, `none`, HMAC, or not in the policy's `algorithms`.
    UnsupportedAlg {
        code: "unsupported_alg",
        c_status: 6,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Unsupported signature algorithm",
        when: "`alg` absent, `none` in any spelling, any `HS*`, or not in the policy's \
               `algorithms`",
    }
    /// No usable signing key matches the token (the signal to refetch the JWKS).
    UnknownKid {
        code: "unknown_kid",
        c_status: 7,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Unknown signing key",
        when: "no usable signing key: the `kid` is not in the set, names an encryption key or \
               a key of the wrong `kty`/`alg`, or there is no `kid` and the set has more than \
               one candidate",
    }
    /// The selected key is too small, too large, or has a bad exponent.
    WeakKey {
        code: "weak_key",
        c_status: 8,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Signing key too weak",
        when: "the chosen key is smaller than `min_rsa_bits` or larger than `max_rsa_bits`, \
               or its exponent is even or below 65537",
    }
    /// The signature does not verify.
    BadSignature {
        code: "bad_signature",
        c_status: 9,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Invalid token signature",
        when: "the signature does not verify, including a signature of the wrong length",
    }
    /// A claim the policy requires is absent.
    MissingClaim {
        code: "missing_claim",
        c_status: 10,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Required claim missing",
        when: "a claim the policy needs is absent: always `exp` and `iss`; `aud` when \
               audiences are set; `typ` when a token type is set; every name in \
               `required_claims`",
    }
    /// `now >= exp + leeway`.
    Expired {
        code: "expired",
        c_status: 11,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token expired",
        when: "`now >= exp + leeway`",
    }
    /// `now < nbf - leeway`.
    NotYetValid {
        code: "not_yet_valid",
        c_status: 12,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token not yet valid",
        when: "`now < nbf - leeway`",
    }
    /// `iat > now + leeway`.
    IssuedInFuture {
        code: "issued_in_future",
        c_status: 13,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token issued in the future",
        when: "`iat > now + leeway`",
    }
    /// `iss` is not one of the trusted issuers (or the key belongs to another issuer).
    WrongIssuer {
        code: "wrong_issuer",
        c_status: 14,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Untrusted token issuer",
        when: "`iss` is not byte-for-byte one of the trusted issuers",
    }
    /// No `aud` value is an accepted audience.
    WrongAudience {
        code: "wrong_audience",
        c_status: 15,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Token not intended for this audience",
        when: "none of the `aud` values (a string or an array) is an accepted audience",
    }
    /// The `typ` claim is not the expected token type, or the header `typ` is not one of
    /// the policy's `header_types`.
    WrongType {
        code: "wrong_type",
        c_status: 16,
        http: 401,
        rfc6750: Some("invalid_token"),
        title: "Wrong token type",
        when: "the `typ` claim differs from the expected token type (`Bearer` for Keycloak \
               access tokens); or, when `header_types` is set, the header `typ` is absent or \
               not one of them (checked at step 4)",
    }
    /// A required scope is not granted (HTTP 403).
    MissingScope {
        code: "missing_scope",
        c_status: 17,
        http: 403,
        rfc6750: Some("insufficient_scope"),
        title: "Insufficient scope",
        when: "a required scope is not one of the space-separated words of `scope`",
    }
    /// A required realm or client role is not granted (HTTP 403).
    MissingRole {
        code: "missing_role",
        c_status: 18,
        http: 403,
        rfc6750: Some("insufficient_scope"),
        title: "Insufficient role",
        when: "a required realm role (`realm_access.roles`) or client role \
               (`resource_access.<client>.roles`) is absent",
    }
    /// Not a token error: a verifier that fetches its keys from an issuer has no key
    /// set yet that could judge this token (the issuer was unreachable since start).
    /// HTTP 503: the client may retry; the token may well be fine.
    KeysUnavailable {
        code: "keys_unavailable",
        c_status: 19,
        http: 503,
        // RFC 6750 has no error for "cannot judge now", `invalid_token` would make the
        // client drop a token that may be fine (see `http::www_authenticate`).
        rfc6750: None,
        title: "Signing keys unavailable",
        when: "a verifier that fetches its keys from its issuers found no key for the token \
               while some issuer has no key set yet (down since start): the token's key may \
               be there. Precisely: the token's `kid` matched no key, or matched only another \
               realm's key and the signature failed, while at least one trusted issuer has no \
               keys",
    }
}

// The C API's other statuses: success and API misuse, which no token can cause (core
// ignores this table). Names are the `xca_status_name` strings; the C constant is
// `XCA_` + the name upper-cased, the .NET member the name in PascalCase.
c_api_statuses! {
    /// Success.
    ok = 0,
    /// A required pointer argument is NULL.
    null_argument = 100,
    /// The output buffer is too small; the needed length was written to the length output.
    buffer_too_small = 101,
    /// The JWKS or the policy JSON is invalid (see `xca_last_error_message()`).
    invalid_config = 102,
    /// A `const char *` argument is not UTF-8.
    invalid_utf8 = 103,
    /// A Rust panic was caught at the API boundary (a bug in xconnauth: please report it).
    panic = 104,
    /// `now < 0` asked for the system clock, and the clock is before 1970.
    clock_error = 105,
    /// An argument is out of range: a length above `PTRDIFF_MAX`, or a status that is not
    /// a token category where one is required.
    invalid_argument = 106,
}
