"""Test-only RS256 token minting with the repository's public DEMO keys.

Pure Python (a tiny DER reader and ``pow``), so the tests need no crypto library. The
keys are the bench/demo keys committed under ``benches/data`` and ``examples/keycloak``;
they are public and must never be trusted anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Tuple

REPO = Path(__file__).resolve().parents[2]

# DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class RsaKey(NamedTuple):
    n: int
    e: int
    d: int
    p: int
    q: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def jwk(self, kid: str, **extra: Any) -> Dict[str, Any]:
        """The public JWK of this key."""
        jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(_octets(self.n)), "e": b64(_octets(self.e))}
        jwk.update(extra)
        return jwk


def _octets(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _tlv(der: bytes, pos: int) -> Tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> List[Tuple[int, int, int]]:
    out = []
    while start < end:
        tag, vs, ve = _tlv(der, start)
        out.append((tag, vs, ve))
        start = ve
    return out


def load_key(path: Path) -> RsaKey:
    """An RSA private key from a PKCS#8 PEM file."""
    lines = [l for l in path.read_text().splitlines() if l and not l.startswith("-----")]
    der = base64.b64decode("".join(lines))
    _, s, e = _tlv(der, 0)
    pkcs8 = _children(der, s, e)
    _, os_, oe = pkcs8[2]  # OCTET STRING holding RSAPrivateKey
    _, rs, re_ = _tlv(der, os_)
    ints = [int.from_bytes(der[vs:ve], "big") for _, vs, ve in _children(der, rs, re_)]
    _, n, e_, d, p, q = ints[:6]
    return RsaKey(n, e_, d, p, q)


def sign(key: RsaKey, signing_input: bytes) -> bytes:
    digest = hashlib.sha256(signing_input).digest()
    t = _SHA256_PREFIX + digest
    em = b"\x00\x01" + b"\xff" * (key.size - len(t) - 3) + b"\x00" + t
    m = int.from_bytes(em, "big")
    # CRT for speed.
    dp, dq = key.d % (key.p - 1), key.d % (key.q - 1)
    qinv = pow(key.q, -1, key.p)
    m1, m2 = pow(m, dp, key.p), pow(m, dq, key.q)
    s = m2 + key.q * ((qinv * (m1 - m2)) % key.p)
    return s.to_bytes(key.size, "big")


def mint(key: RsaKey, payload: Dict[str, Any], *, kid: str, header: Dict[str, Any] | None = None) -> str:
    """A compact RS256 JWS of ``payload``."""
    hdr: Dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": kid}
    if header:
        hdr.update(header)
    signing_input = (b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(payload).encode())).encode()
    return signing_input.decode() + "." + b64(sign(key, signing_input))


def jwks(*entries: Dict[str, Any]) -> str:
    return json.dumps({"keys": list(entries)})


def access_token_claims(issuer: str, *, now: int = 1_764_000_000, **extra: Any) -> Dict[str, Any]:
    """A Keycloak-style access token payload valid at ``now``."""
    claims: Dict[str, Any] = {
        "exp": now + 300,
        "iat": now - 10,
        "iss": issuer,
        "aud": ["orders-api", "account"],
        "sub": "f3e520a6-5ee5-5d34-8753-3cb8c63cbf3e",
        "typ": "Bearer",
        "azp": "web-portal",
        "scope": "openid profile orders:read",
        "realm_access": {"roles": ["user", "offline_access"]},
        "resource_access": {"orders-api": {"roles": ["orders:read"]}},
    }
    claims.update(extra)
    return claims


KEY_A = REPO / "benches" / "data" / "bench-rsa2048.pem"
KEY_B = REPO / "examples" / "keycloak" / "demo-signing-key.pem"
