#!/usr/bin/env python3
"""Regenerate the bundled Keycloak demo data and the benchmark fixtures.

This is a developer tool, not part of xconnauth itself. It writes:

* ``examples/keycloak/``: a Keycloak-shaped realm JWKS, an OpenID discovery
  document, a verification policy and a few sample access tokens (valid,
  tampered, expired) signed with a DEMO key.
* ``benches/data/``: one RS256 key, JWKS and token per RSA size
  (2048/3072/4096) for the benchmarks.

Determinism: every claim, header, kid, certificate field and file layout is
fixed, and RS256 (PKCS#1 v1.5) signatures are deterministic, so re-running
reproduces byte-identical files as long as the keys are unchanged.  Keys are
generated fresh only when their private-key PEM file does not exist yet;
existing ``*.pem`` files are always reused, so re-running never rotates keys.
Delete a PEM file to force a new key.

All private keys written here are PUBLIC DEMO KEYS.  They are committed to a
public repository and must never be trusted by anything.

Requirements: Python 3.9+ and the ``cryptography`` package.

Usage (from the repository root)::

    python3 examples/keycloak/make_samples.py
"""

import base64
import datetime
import hashlib
import json
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent          # examples/keycloak
ROOT = HERE.parent.parent                       # repository root
BENCH = ROOT / "benches" / "data"

ISSUER = "https://sso.example.com/realms/demo"
NOW = 1764000000
IAT = NOW - 60                                  # 1763999940
EXP = IAT + 3600                                # 1764003540
AUTH_TIME = IAT - 40
DAY = 86400
BENCH_EXP = 4102444800                          # 2100-01-01T00:00:00Z

POLICY = {
    "issuers": [ISSUER],
    "audiences": ["product-factory"],
    "algorithms": ["RS256"],
    "leeway": 30,
    "token_type": "Bearer",
    "required_scopes": ["openid", "spark"],
    "required_realm_roles": [],
    "required_client_roles": {"product-factory": ["reader"]},
    "required_claims": ["exp", "sub"],
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def b64u(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def uint_b64u(n: int) -> str:
    """Big-endian, minimal length (no leading zero octet), unpadded base64url."""
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def load_or_create_key(path: Path, make, check):
    """Reuse the private key at ``path`` if present, otherwise create it."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not check(key):
            sys.exit(f"error: {path} exists but is not the expected key type/size; "
                     "delete it to regenerate")
        print(f"reusing   {path.relative_to(ROOT)}")
        return key
    key = make()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    print(f"generated {path.relative_to(ROOT)}")
    return key


def rsa_key(path: Path, bits: int) -> rsa.RSAPrivateKey:
    return load_or_create_key(
        path,
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=bits),
        lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == bits,
    )


def ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    return load_or_create_key(
        path,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda k: isinstance(k, ec.EllipticCurvePrivateKey)
        and isinstance(k.curve, ec.SECP256R1),
    )


def keycloak_kid(public_key) -> str:
    """Keycloak's kid: base64url(SHA-256(SubjectPublicKeyInfo DER)), 43 chars."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64u(hashlib.sha256(spki).digest())


def self_signed_cert(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Keycloak-style realm certificate (CN=<realm>, 10 years).

    Serial and validity are fixed/derived from the key, and RSA PKCS#1 v1.5
    signatures are deterministic, so the certificate is stable for a given key.
    """
    pub = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "demo")])
    serial = int.from_bytes(
        hashlib.sha256(pub.public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)).digest()[:8],
        "big",
    ) >> 1 or 1
    not_before = datetime.datetime(2025, 11, 1, tzinfo=datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pub)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_before.replace(year=2035))
        .sign(key, hashes.SHA256())
    )


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, alg: str, use: str, with_cert: bool) -> dict:
    nums = key.public_key().public_numbers()
    jwk = {"kid": kid, "kty": "RSA", "alg": alg, "use": use,
           "n": uint_b64u(nums.n), "e": uint_b64u(nums.e)}
    if with_cert:
        der = self_signed_cert(key).public_bytes(serialization.Encoding.DER)
        jwk["x5c"] = [base64.b64encode(der).decode("ascii")]   # standard base64
        jwk["x5t"] = b64u(hashlib.sha1(der).digest())
        jwk["x5t#S256"] = b64u(hashlib.sha256(der).digest())
    return jwk


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict:
    nums = key.public_key().public_numbers()
    return {"kid": kid, "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256",
            "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big"))}


def keycloak_header(kid: str) -> bytes:
    # Keycloak's JWSBuilder writes the header by hand, with " : " separators.
    return ('{"alg" : "RS256","typ" : "JWT","kid" : "%s"}' % kid).encode("utf-8")


def sign_rs256(key: rsa.RSAPrivateKey, kid: str, claims: dict) -> str:
    signing_input = (b64u(keycloak_header(kid)) + "." + b64u(compact(claims))).encode("ascii")
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode("ascii") + "." + b64u(sig)


def compact(claims: dict) -> bytes:
    return json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def access_token_claims(iat: int, exp: int, auth_time: int) -> dict:
    """A realistic Keycloak 2x access token, claims in Keycloak's order."""
    return {
        "exp": exp,
        "iat": iat,
        "auth_time": auth_time,
        "jti": "5f1c2d7e-8a43-4b6f-9c1e-2d3a4b5c6d7e",
        "iss": ISSUER,
        "aud": ["product-factory", "account"],
        "sub": "0b9e6c1a-3f2d-4e8b-a7c5-9d1e2f3a4b5c",
        "typ": "Bearer",
        "azp": "demo-client",
        "sid": "c7a9e3b1-6d24-4f85-b0e2-71c3d9a84f56",
        "acr": "1",
        "allowed-origins": ["https://app.example.com"],
        "realm_access": {"roles": ["offline_access", "uma_authorization",
                                   "default-roles-demo", "spark-user"]},
        "resource_access": {
            "product-factory": {"roles": ["reader", "writer"]},
            "account": {"roles": ["manage-account", "view-profile"]},
        },
        "scope": "openid offline_access spark profile",
        "email_verified": True,
        "name": "Demo User",
        "preferred_username": "demo.user",
        "given_name": "Demo",
        "family_name": "User",
        "email": "demo.user@example.com",
    }


def openid_configuration() -> dict:
    oidc = ISSUER + "/protocol/openid-connect"
    algs = ["PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256",
            "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"]
    return {
        "issuer": ISSUER,
        "authorization_endpoint": oidc + "/auth",
        "token_endpoint": oidc + "/token",
        "introspection_endpoint": oidc + "/token/introspect",
        "userinfo_endpoint": oidc + "/userinfo",
        "end_session_endpoint": oidc + "/logout",
        "jwks_uri": oidc + "/certs",
        "check_session_iframe": oidc + "/login-status-iframe.html",
        "revocation_endpoint": oidc + "/revoke",
        "device_authorization_endpoint": oidc + "/auth/device",
        "frontchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "grant_types_supported": [
            "authorization_code", "implicit", "refresh_token", "password",
            "client_credentials", "urn:openid:params:grant-type:ciba",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "response_types_supported": [
            "code", "none", "id_token", "token", "id_token token", "code id_token",
            "code token", "code id_token token",
        ],
        "response_modes_supported": [
            "query", "fragment", "form_post", "query.jwt", "fragment.jwt",
            "form_post.jwt", "jwt",
        ],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "id_token_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"],
        "id_token_encryption_enc_values_supported": [
            "A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384",
            "A256CBC-HS512",
        ],
        "userinfo_signing_alg_values_supported": algs + ["none"],
        "introspection_endpoint_auth_methods_supported": [
            "private_key_jwt", "client_secret_basic", "client_secret_post",
            "tls_client_auth", "client_secret_jwt",
        ],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt", "client_secret_basic", "client_secret_post",
            "tls_client_auth", "client_secret_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "claims_supported": [
            "aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
            "preferred_username", "email", "acr",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "scopes_supported": [
            "openid", "offline_access", "profile", "email", "address", "phone",
            "roles", "web-origins", "acr", "basic", "microprofile-jwt", "spark",
        ],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": True,
    }


# --------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------

def make_examples() -> None:
    sig = rsa_key(HERE / "demo-signing-key.pem", 2048)
    enc = rsa_key(HERE / "demo-encryption-key.pem", 2048)
    es = ec_key(HERE / "demo-ec-signing-key.pem")

    sig_kid = keycloak_kid(sig.public_key())
    jwks = {"keys": [
        rsa_jwk(enc, keycloak_kid(enc.public_key()), "RSA-OAEP", "enc", with_cert=True),
        rsa_jwk(sig, sig_kid, "RS256", "sig", with_cert=True),
        ec_jwk(es, keycloak_kid(es.public_key())),
    ]}
    write_json(HERE / "jwks.json", jwks)

    claims = access_token_claims(IAT, EXP, AUTH_TIME)
    token = sign_rs256(sig, sig_kid, claims)
    write_text(HERE / "token.jwt", token)

    # Tampered: escalate a realm role, re-encode the payload, keep the signature.
    h, _, s = token.split(".")
    tampered_payload = compact(claims).replace(b'"spark-user"', b'"spark-admin"')
    assert tampered_payload != compact(claims)
    write_text(HERE / "tampered.jwt", ".".join([h, b64u(tampered_payload), s]))

    # Expired: validly signed, everything one day earlier (auth_time included
    # so that auth_time <= iat still holds).
    expired = access_token_claims(IAT - DAY, EXP - DAY, AUTH_TIME - DAY)
    write_text(HERE / "expired.jwt", sign_rs256(sig, sig_kid, expired))

    write_json(HERE / "policy.json", POLICY)
    write_json(HERE / "openid-configuration.json", openid_configuration())
    write_text(HERE / "now.txt", str(NOW))


def make_bench() -> None:
    BENCH.mkdir(parents=True, exist_ok=True)
    for bits in (2048, 3072, 4096):
        key = rsa_key(BENCH / f"bench-rsa{bits}.pem", bits)
        kid = f"bench-{bits}"
        write_json(BENCH / f"jwks-{bits}.json",
                   {"keys": [rsa_jwk(key, kid, "RS256", "sig", with_cert=False)]})
        claims = access_token_claims(IAT, BENCH_EXP, AUTH_TIME)
        write_text(BENCH / f"token-{bits}.jwt", sign_rs256(key, kid, claims))


# --------------------------------------------------------------------------
# independent self-check (uses only the public JWKS, not the private keys)
# --------------------------------------------------------------------------

def verify_with_jwks(token: str, jwks: dict) -> bool:
    h, p, s = token.split(".")
    header = json.loads(b64u_decode(h))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    n_raw, e_raw = b64u_decode(jwk["n"]), b64u_decode(jwk["e"])
    assert n_raw[0] != 0 and e_raw[0] != 0, "leading zero octet"
    assert "=" not in jwk["n"] + jwk["e"], "padding"
    pub = rsa.RSAPublicNumbers(int.from_bytes(e_raw, "big"),
                               int.from_bytes(n_raw, "big")).public_key()
    if "x5c" in jwk:
        der = base64.b64decode(jwk["x5c"][0])
        cert = x509.load_der_x509_certificate(der)
        assert cert.public_key().public_numbers() == pub.public_numbers()
        assert jwk["x5t"] == b64u(hashlib.sha1(der).digest())
        assert jwk["x5t#S256"] == b64u(hashlib.sha256(der).digest())
    try:
        pub.verify(b64u_decode(s), f"{h}.{p}".encode("ascii"),
                   padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def self_check() -> None:
    jwks = json.loads((HERE / "jwks.json").read_text())
    assert [k["alg"] for k in jwks["keys"]] == ["RSA-OAEP", "RS256", "ES256"]
    assert all(len(k["kid"]) == 43 for k in jwks["keys"])
    print("\nself-check:")
    cases = [(HERE / name, jwks, want) for name, want in
             (("token.jwt", True), ("expired.jwt", True), ("tampered.jwt", False))]
    for bits in (2048, 3072, 4096):
        cases.append((BENCH / f"token-{bits}.jwt",
                      json.loads((BENCH / f"jwks-{bits}.json").read_text()), True))
    ok = True
    for path, keys, want in cases:
        raw = path.read_bytes()
        assert not raw.endswith(b"\n"), f"{path} has a trailing newline"
        got = verify_with_jwks(raw.decode("ascii"), keys)
        status = "ok" if got == want else "FAIL"
        ok &= got == want
        print(f"  {status:4} {str(path.relative_to(ROOT)):34} {len(raw):5} bytes  "
              f"signature {'valid' if got else 'invalid'} (expected "
              f"{'valid' if want else 'invalid'})")
    size = (HERE / "token.jwt").stat().st_size
    assert 1300 <= size <= 1600, f"token.jwt is {size} bytes"
    if not ok:
        sys.exit("self-check FAILED")
    print("self-check passed")


if __name__ == "__main__":
    make_examples()
    make_bench()
    self_check()
