"""Regenerates rfc9068_tokens.json (dev tool; needs `cryptography`): RFC 9068 access
tokens as oidc-provider, Auth0 or Okta issue them (header `typ: at+jwt`, `client_id`, no
`typ` claim, a bare-origin `iss`), and header `typ` variants for the `header_types` option.

Signed RS256 (deterministic) with the public DEMO key of examples/keycloak (never trust it
anywhere).
"""
import base64
import json
import pathlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent.parent


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(header_json: str, claims: dict) -> str:
    h = b64(header_json.encode())
    p = b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = demo.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{h}.{p}.{b64(sig)}"


demo = serialization.load_pem_private_key(
    (ROOT / "examples/keycloak/demo-signing-key.pem").read_bytes(), password=None)
demo_kid = json.loads((ROOT / "examples/keycloak/jwks.json").read_text())["keys"][1]["kid"]

iss = "https://sso.example.com/realms/demo"
claims = {"iss": iss, "aud": "https://api.example.com", "client_id": "svc", "sub": "svc",
          "jti": "j1", "scope": "api:read", "iat": 1763999940, "exp": 1764003540}
variants = {
    "at+jwt": {"typ": "at+jwt"},
    "application/at+jwt": {"typ": "application/at+jwt"},
    "AT+JWT": {"typ": "AT+JWT"},
    "Application/AT+jwt": {"typ": "Application/AT+jwt"},
    "JWT": {"typ": "JWT"},
    "no_typ": {},
    "typ_number": {"typ": 1},
    "typ_null": {"typ": None},
    "text/at+jwt": {"typ": "text/at+jwt"},
    "at+jwt_suffix": {"typ": "at+jwtx"},
    # `crit` outranks the typ check (both are step 4; crit comes first).
    "at+jwt_crit": {"typ": "at+jwt", "crit": ["exp"]},
}
out = {}
for name, extra in variants.items():
    header = {"alg": "RS256", "kid": demo_kid, **extra}
    out[name] = sign(json.dumps(header, separators=(",", ":")), claims)
# Escapes: `at\u002bjwt` is `at+jwt`, written the way some JSON encoders write `+`.
out["escaped"] = sign(f'{{"alg":"RS256","kid":"{demo_kid}","typ":"at\\u002bjwt"}}', claims)
out["escaped_application"] = sign(
    f'{{"alg":"RS256","kid":"{demo_kid}","typ":"\\u0061pplication/AT\\u002BJWT"}}', claims)
out["escaped_JWT"] = sign(f'{{"alg":"RS256","kid":"{demo_kid}","typ":"J\\u0057T"}}', claims)
(HERE / "rfc9068_tokens.json").write_text(json.dumps(out, indent=1) + "\n")
print("wrote", len(out), "tokens")
