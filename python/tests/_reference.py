"""An independent reference model of the verification rules, and a random case generator.

Written from the design contract (§2 categories, §3 order, §4 options, §5 keys) and
``tests/vectors/dev/README.md`` (the interpretation rules) only. It deliberately does
not look at or port the Rust implementation: it is the second opinion that
``test_reference.py`` compares the real package (and, through ``--write``, the C ABI) with.

Two halves:

* :func:`reference_verify` -- a slow, obvious verifier: strict base64url by re-encoding, a
  strict RFC 8259 parser (duplicates, surrogates, control characters, depth), textbook
  RSASSA-PKCS1-v1_5 / RSASSA-PSS verification with ``pow``, exact (``Decimal``) numeric
  dates, and the claim checks in the README's order.
* :func:`generate_cases` -- deterministic (seeded) cases: a valid Keycloak-like access token
  with random keys, kids, JWKS decoys, JSON styles and policy options, plus one (sometimes
  two, to probe the §3 order) defect drawn from the README's rule list. Every defect also
  declares the category it *intends*; the expected verdict stored in a case is the reference
  model's, and the test checks that both agree, so a bug in either half shows up.

Cases whose verdict the rules leave open are generated too, but flagged ``ambiguous`` with the
reason: the test does not assert them, it only reports how the implementation answered.

Keys: besides the two committed demo keys (slow two-prime signing, used for a few cases) the
generator makes *multi-prime* RSA keys at run time (16+ primes of ~64 bits, deterministic
from the seed). To a verifier they are ordinary public keys (n, e) of the exact bit length
asked for; the many small primes only make pure-Python signing cheap. Keys that only have to
be rejected before the signature is looked at (too big, even exponent) are random odd moduli.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
import re
import uuid
from pathlib import Path
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from _mint import KEY_A, KEY_B, load_key

# =============================================================================================
# base64url
# =============================================================================================

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_RE = re.compile(rb"[A-Za-z0-9_-]*")


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d_strict(seg: bytes) -> Optional[bytes]:
    """Decode a canonical unpadded base64url segment, or ``None`` (README step 3)."""
    if not _B64_RE.fullmatch(seg) or len(seg) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(seg + b"=" * (-len(seg) % 4))
    # Canonical = it is exactly what encoding the decoded bytes gives (no non-zero unused bits).
    return data if b64e(data).encode("ascii") == seg else None


# =============================================================================================
# Strict RFC 8259 JSON
# =============================================================================================


class JSONError(ValueError):
    pass


class JNum:
    """A JSON number, kept as its literal text (exact value via ``Decimal``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def exact(self) -> Decimal:
        return Decimal(self.text)

    def plain(self) -> Any:
        """What ``json.loads`` gives: an int for integer literals, else a float."""
        return int(self.text) if _INT_RE.fullmatch(self.text) else float(self.text)

    def __repr__(self) -> str:
        return f"JNum({self.text})"


_INT_RE = re.compile(r"-?[0-9]+")
_NUM_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_HEX = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_JSON_WS = " \t\n\r"
#: Depth at which the reference gives up. The README only fixes "<= 32 accepted, >= 500
#: rejected"; the generator never produces depths in between, so any value there is fine.
JSON_MAX_DEPTH = 256


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, why: str) -> None:
        raise JSONError(f"{why} at {self.i}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def ws(self) -> None:
        s, i = self.s, self.i
        while i < len(s) and s[i] in _JSON_WS:
            i += 1
        self.i = i

    def value(self, depth: int) -> Any:
        self.ws()
        c = self.peek()
        if c == "{":
            return self.obj(depth + 1)
        if c == "[":
            return self.arr(depth + 1)
        if c == '"':
            return self.string()
        for lit, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(lit, self.i):
                self.i += len(lit)
                return val
        m = _NUM_RE.match(self.s, self.i)
        if m:
            self.i = m.end()
            return JNum(m.group())
        self.fail("unexpected character")

    def obj(self, depth: int) -> Dict[str, Any]:
        if depth > JSON_MAX_DEPTH:
            self.fail("too deep")
        self.i += 1
        out: Dict[str, Any] = {}
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return out
        while True:
            self.ws()
            if self.peek() != '"':
                self.fail("member name expected")
            name = self.string()
            if name in out:
                self.fail("duplicate member name")
            self.ws()
            if self.peek() != ":":
                self.fail("':' expected")
            self.i += 1
            out[name] = self.value(depth)
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                self.i -= 1
                self.fail("',' or '}' expected")

    def arr(self, depth: int) -> List[Any]:
        if depth > JSON_MAX_DEPTH:
            self.fail("too deep")
        self.i += 1
        out: List[Any] = []
        self.ws()
        if self.peek() == "]":
            self.i += 1
            return out
        while True:
            out.append(self.value(depth))
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return out
            if c != ",":
                self.i -= 1
                self.fail("',' or ']' expected")

    def hex4(self, j: int) -> int:
        h = self.s[j : j + 4]
        if len(h) != 4 or any(ch not in _HEX for ch in h):
            self.i = j
            self.fail("bad \\u escape")
        return int(h, 16)

    def string(self) -> str:
        s, i = self.s, self.i + 1
        out: List[str] = []
        while True:
            if i >= len(s):
                self.fail("unterminated string")
            c = s[i]
            if c == '"':
                self.i = i + 1
                return "".join(out)
            if c == "\\":
                e = s[i + 1 : i + 2]
                if e in _SIMPLE_ESC and e:
                    out.append(_SIMPLE_ESC[e])
                    i += 2
                    continue
                if e == "u":
                    cp = self.hex4(i + 2)
                    i += 6
                    if 0xD800 <= cp <= 0xDBFF:
                        if s[i : i + 2] != "\\u":
                            self.fail("lone high surrogate")
                        lo = self.hex4(i + 2)
                        if not 0xDC00 <= lo <= 0xDFFF:
                            self.fail("high surrogate without low")
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    elif 0xDC00 <= cp <= 0xDFFF:
                        self.fail("lone low surrogate")
                    out.append(chr(cp))
                    continue
                self.i = i
                self.fail("bad escape")
            if ord(c) < 0x20:
                self.i = i
                self.fail("raw control character")
            out.append(c)
            i += 1


def parse_json(data: bytes) -> Any:
    """Strict RFC 8259 (UTF-8 only, no duplicates, no lone surrogates, bounded depth)."""
    try:
        text = data.decode("utf-8")  # Python's decoder rejects overlong forms, surrogates, > U+10FFFF
    except UnicodeDecodeError as exc:
        raise JSONError(f"not UTF-8: {exc}") from None
    p = _Parser(text)
    value = p.value(0)
    p.ws()
    if p.i != len(text):
        p.fail("trailing garbage")
    return value


def to_plain(v: Any) -> Any:
    """The parsed value as ``json.loads`` would give it."""
    if isinstance(v, dict):
        return {k: to_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    if isinstance(v, JNum):
        return v.plain()
    return v


# =============================================================================================
# RSA (PKCS#1 v1.5 and PSS, RFC 8017)
# =============================================================================================

_HASH = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
DIGEST_INFO = {
    "256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
SUPPORTED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


def hash_fn(alg: str) -> Any:
    return _HASH[alg[2:]]


def pkcs1_em(alg: str, msg: bytes, k: int) -> bytes:
    t = DIGEST_INFO[alg[2:]] + hash_fn(alg)(msg).digest()
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def _mgf1(seed: bytes, length: int, h: Any) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += h(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def pss_em(alg: str, msg: bytes, embits: int, salt: bytes) -> bytes:
    h = hash_fn(alg)
    hlen = h().digest_size
    emlen = (embits + 7) // 8
    mhash = h(msg).digest()
    H = h(b"\x00" * 8 + mhash + salt).digest()
    db = b"\x00" * (emlen - len(salt) - hlen - 2) + b"\x01" + salt
    masked = bytearray(a ^ b for a, b in zip(db, _mgf1(H, emlen - hlen - 1, h)))
    masked[0] &= 0xFF >> (8 * emlen - embits)
    return bytes(masked) + H + b"\xbc"


def pss_verify(alg: str, msg: bytes, em: bytes, embits: int) -> bool:
    """EMSA-PSS-VERIFY with MGF1 of the same hash and salt length = hash length (RFC 7518 3.5)."""
    h = hash_fn(alg)
    hlen = h().digest_size
    slen = hlen
    emlen = (embits + 7) // 8
    if len(em) != emlen or emlen < hlen + slen + 2 or em[-1] != 0xBC:
        return False
    masked, H = em[: emlen - hlen - 1], em[emlen - hlen - 1 : -1]
    top = 8 * emlen - embits
    if masked[0] & (0xFF << (8 - top)) & 0xFF:
        return False
    db = bytearray(a ^ b for a, b in zip(masked, _mgf1(H, emlen - hlen - 1, h)))
    db[0] &= 0xFF >> top
    ps_len = emlen - hlen - slen - 2
    if any(db[:ps_len]) or db[ps_len] != 1:
        return False
    salt = bytes(db[ps_len + 1 :])
    return hmac.compare_digest(h(b"\x00" * 8 + h(msg).digest() + salt).digest(), H)


def rsa_verify(alg: str, n: int, e: int, msg: bytes, sig: bytes) -> bool:
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:  # exactly k octets: no stripped or added leading zeros
        return False
    s = int.from_bytes(sig, "big")
    if s >= n:
        return False
    m = pow(s, e, n)
    if alg.startswith("RS"):
        return m.to_bytes(k, "big") == pkcs1_em(alg, msg, k)
    embits = n.bit_length() - 1
    emlen = (embits + 7) // 8
    if m >= 1 << (8 * emlen):
        return False
    return pss_verify(alg, msg, m.to_bytes(emlen, "big"), embits)


class Rsa:
    """An RSA key; ``primes`` (any number of them) make it a private key."""

    def __init__(self, n: int, e: int, primes: Sequence[int] = ()) -> None:
        self.n, self.e = n, e
        self.bits = n.bit_length()
        self.k = (self.bits + 7) // 8
        self.primes = list(primes)
        if self.primes:
            assert math.prod(self.primes) == n
            self._crt = [(p, pow(e, -1, p - 1), (n // p) * pow(n // p, -1, p) % n) for p in self.primes]

    @property
    def private(self) -> bool:
        return bool(self.primes)

    def raw_sign(self, m: int) -> int:
        assert 0 <= m < self.n and self.primes
        return sum(pow(m % p, d, p) * c for p, d, c in self._crt) % self.n

    def sign_em(self, em: bytes) -> bytes:
        assert len(em) == self.k
        return self.raw_sign(int.from_bytes(em, "big")).to_bytes(self.k, "big")

    def sign(self, alg: str, msg: bytes, rng: random.Random, salt: Optional[bytes] = None) -> bytes:
        if alg.startswith("RS"):
            return self.sign_em(pkcs1_em(alg, msg, self.k))
        embits = self.bits - 1
        emlen = (embits + 7) // 8
        if salt is None:
            salt = rng.randbytes(hash_fn(alg)().digest_size)
        em = pss_em(alg, msg, embits, salt)
        return self.sign_em(b"\x00" * (self.k - emlen) + em)

    def jwk_n(self) -> str:
        return b64e(self.n.to_bytes(self.k, "big"))

    def jwk_e(self) -> str:
        return b64e(self.e.to_bytes((self.e.bit_length() + 7) // 8, "big"))


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(16):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, e: int, rng: random.Random) -> int:
    while True:
        c = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if math.gcd(e, c - 1) == 1 and _is_probable_prime(c, rng):
            return c


def multiprime_key(bits: int, e: int, seed: int) -> Rsa:
    """A private RSA key with a modulus of exactly ``bits`` bits (deterministic)."""
    rng = random.Random(seed)
    count = max(4, bits // 64)
    while True:
        primes: List[int] = []
        while len(primes) < count - 1:
            p = _prime(bits // count, e, rng)
            if p not in primes:
                primes.append(p)
        rest = bits - math.prod(primes).bit_length()
        for _ in range(50):
            q = _prime(rest + rng.choice((0, 1)), e, rng)
            n = math.prod(primes) * q
            if n.bit_length() == bits and q not in primes:
                return Rsa(n, e, primes + [q])


def fake_public_key(bits: int, e: int, rng: random.Random) -> Rsa:
    """A random odd 'modulus' of exactly ``bits`` bits: only for keys that must be refused."""
    return Rsa(rng.getrandbits(bits) | (1 << (bits - 1)) | 1, e)


# =============================================================================================
# The reference verifier
# =============================================================================================

#: ASCII whitespace (Python's ``bytes.isspace``). SPACE/TAB/CR/LF are named by the README;
#: VT and FF are the "..." and are only used in cases flagged ambiguous.
_TOKEN_WS_RE = re.compile(rb"[ \t\n\r\x0b\x0c]")
TWO_53 = 2**53


class Verdict(Exception):
    def __init__(self, code: str, why: str = "") -> None:
        super().__init__(f"{code}: {why}")
        self.code = code
        self.why = why


def usable_key(entry: Dict[str, Any], algorithms: Sequence[str]) -> bool:
    """README step 5: kty RSA, use absent or sig, alg absent or in ``algorithms``."""
    return (
        entry.get("kty") == "RSA"
        and ("use" not in entry or entry["use"] == "sig")
        and ("alg" not in entry or entry["alg"] in algorithms)
    )


def _b64_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def select_key(header: Dict[str, Any], jwks: Dict[str, Any], algorithms: Sequence[str]) -> Dict[str, Any]:
    usable = [k for k in jwks["keys"] if usable_key(k, algorithms)]
    if "kid" in header:
        kid = header["kid"]
        found = [k for k in usable if isinstance(kid, str) and k.get("kid") == kid]
        if len(found) != 1:
            raise Verdict("unknown_kid", f"no usable key with kid {kid!r}")
        return found[0]
    if len(usable) != 1:
        raise Verdict("unknown_kid", f"no kid and {len(usable)} usable keys")
    return usable[0]


def _numeric_date(payload: Dict[str, Any], name: str) -> Optional[int]:
    if name not in payload:
        return None
    v = payload[name]
    if not isinstance(v, JNum):
        raise Verdict("bad_json", f"{name} is not a number")
    d = v.exact()
    if d < 0 or d > TWO_53:  # -0 is 0
        raise Verdict("bad_json", f"{name} outside 0..=2^53")
    return int(d.to_integral_value(rounding=ROUND_FLOOR))


def _reference(token: bytes, jwks: Dict[str, Any], o: Dict[str, Any], now: int) -> Dict[str, Any]:
    # 1. size
    if len(token) > o["max_token_bytes"]:
        raise Verdict("too_large", f"{len(token)} > {o['max_token_bytes']}")
    # 2. split
    if _TOKEN_WS_RE.search(token):
        raise Verdict("malformed", "whitespace")
    parts = token.split(b".")
    if len(parts) != 3 or not all(parts):
        raise Verdict("malformed", f"{len(parts)} segments")
    # 3. header
    header = _json_object_segment(parts[0], "header")
    # 4. header policy
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in o["algorithms"]:
        raise Verdict("unsupported_alg", repr(alg))
    for name in ("crit", "b64", "cty"):
        if name in header:
            raise Verdict("unsupported_header", name)
    # 5. key
    entry = select_key(header, jwks, o["algorithms"])
    n, e = _b64_int(entry["n"]), _b64_int(entry["e"])
    if not o["min_rsa_bits"] <= n.bit_length() <= o["max_rsa_bits"]:
        raise Verdict("weak_key", f"{n.bit_length()} bits")
    if e < 65537 or e % 2 == 0:
        raise Verdict("weak_key", f"e = {e}")
    # 6. signature
    sig = b64d_strict(parts[2])
    if sig is None:
        raise Verdict("bad_base64", "signature")
    if not rsa_verify(alg, n, e, parts[0] + b"." + parts[1], sig):
        raise Verdict("bad_signature", "")
    # 7. payload
    payload = _json_object_segment(parts[1], "payload")
    exp = _numeric_date(payload, "exp")
    nbf = _numeric_date(payload, "nbf")
    iat = _numeric_date(payload, "iat")
    if "iss" in payload and not isinstance(payload["iss"], str):
        raise Verdict("bad_json", "iss")
    if "aud" in payload:
        aud = payload["aud"]
        if not (isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))):
            raise Verdict("bad_json", "aud")
    # 8. claims
    required = list(o["required_claims"]) + ["exp", "iss"]
    if o["audiences"] is not None:
        required.append("aud")
    if o["token_type"] is not None:
        required.append("typ")
    for name in required:
        if name not in payload:
            raise Verdict("missing_claim", name)
    leeway = o["leeway"]
    assert exp is not None
    if now >= exp + leeway:
        raise Verdict("expired", "")
    if nbf is not None and now < nbf - leeway:
        raise Verdict("not_yet_valid", "")
    if iat is not None and iat > now + leeway:
        raise Verdict("issued_in_future", "")
    if payload["iss"] not in o["issuers"]:
        raise Verdict("wrong_issuer", "")
    if o["audiences"] is not None:
        aud = payload["aud"]
        auds = [aud] if isinstance(aud, str) else aud
        if not any(a in o["audiences"] for a in auds):
            raise Verdict("wrong_audience", "")
    if o["token_type"] is not None and payload["typ"] != o["token_type"]:
        raise Verdict("wrong_type", repr(payload["typ"]))
    if o["required_scopes"]:
        scope = payload.get("scope")
        words = scope.split(" ") if isinstance(scope, str) else []
        for s in o["required_scopes"]:
            if s not in words:
                raise Verdict("missing_scope", s)
    if o["required_realm_roles"]:
        roles = _roles(payload.get("realm_access"))
        for r in o["required_realm_roles"]:
            if r not in roles:
                raise Verdict("missing_role", r)
    for client, wanted in o["required_client_roles"].items():
        ra = payload.get("resource_access")
        roles = _roles(ra.get(client) if isinstance(ra, dict) else None)
        for r in wanted:
            if r not in roles:
                raise Verdict("missing_role", f"{client}:{r}")
    return to_plain(payload)


def _roles(access: Any) -> List[str]:
    roles = access.get("roles") if isinstance(access, dict) else None
    return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []


def _json_object_segment(segment: bytes, what: str) -> Dict[str, Any]:
    """Steps 3 and 7: a canonical base64url segment holding a strict JSON object."""
    raw = b64d_strict(segment)
    if raw is None:
        raise Verdict("bad_base64", what)
    try:
        value = parse_json(raw)
    except JSONError as exc:
        raise Verdict("bad_json", f"{what}: {exc}") from None
    if not isinstance(value, dict):
        raise Verdict("bad_json", f"{what} is not an object")
    return value


def reference_verify(token: Any, jwks: Dict[str, Any], options: Dict[str, Any], now: int) -> Tuple[str, Any]:
    """``("ok", claims)`` or ``(category, reason)``."""
    data = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    try:
        return "ok", _reference(data, jwks, options, now)
    except Verdict as v:
        return v.code, v.why


# =============================================================================================
# JSON writing with controllable style, escapes and raw (possibly invalid) pieces
# =============================================================================================


class Raw:
    """JSON text written verbatim as a value."""

    def __init__(self, text: str) -> None:
        self.text = text


class RawKey:
    """A member name written verbatim (may duplicate another after unescaping)."""

    def __init__(self, text: str) -> None:
        self.text = text


class RawBytes:
    """Bytes (possibly invalid UTF-8) written verbatim as a value."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class Style:
    def __init__(self, rng: random.Random, plain: bool = False) -> None:
        self.rng = random.Random(rng.random())
        r = rng.random()
        if plain or r < 0.6:
            self.item, self.colon, self.open, self.close = ",", ":", "", ""
        elif r < 0.75:
            self.item, self.colon, self.open, self.close = ", ", " : ", "", ""  # Keycloak-ish spaces
        elif r < 0.88:
            self.item, self.colon, self.open, self.close = ",\r\n  ", ": ", "\r\n  ", "\r\n"
        else:
            self.item, self.colon, self.open, self.close = "\t,\n", "\t:  ", " \n", "\t "
        self.escape = 0.0 if plain or rng.random() < 0.75 else rng.choice((0.05, 0.2, 0.6))
        self.ascii = not plain and rng.random() < 0.4
        self.slash = not plain and rng.random() < 0.2
        self.outer = "" if plain or rng.random() < 0.85 else rng.choice((" ", "\r\n", "\t", "\n \n"))


_SHORT_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _u(cp: int, rng: random.Random) -> str:
    h = f"{cp:04x}"
    return "\\u" + (h.upper() if rng.random() < 0.5 else h)


_PLAIN_STR = re.compile(r'[\x20\x21\x23-\x2e\x30-\x5b\x5d-\x7e]*')


def enc_str(s: str, st: Style) -> str:
    if st.escape == 0 and _PLAIN_STR.fullmatch(s):
        return '"' + s + '"'
    out = ['"']
    rng = st.rng
    for ch in s:
        cp = ord(ch)
        if ch in '"\\':
            out.append(_u(cp, rng) if rng.random() < st.escape else "\\" + ch)
        elif cp < 0x20:
            out.append(_SHORT_ESC[ch] if ch in _SHORT_ESC and rng.random() < 0.7 else _u(cp, rng))
        elif ch == "/" and st.slash:
            out.append("\\/")
        elif cp > 0x7E and (st.ascii or rng.random() < st.escape):
            if cp > 0xFFFF:
                v = cp - 0x10000
                out.append(_u(0xD800 + (v >> 10), rng) + _u(0xDC00 + (v & 0x3FF), rng))
            else:
                out.append(_u(cp, rng))
        elif rng.random() < st.escape:
            out.append(_u(cp, rng))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dumps(v: Any, st: Style, ph: Dict[str, bytes], top: bool = True) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, RawBytes):
        key = f"\ue000{len(ph)}\ue001"
        ph[key] = v.data
        return key
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return enc_str(v, st)
    if isinstance(v, list):
        inner = (st.item).join(dumps(x, st, ph, False) for x in v)
        text = "[" + inner + "]"
    elif isinstance(v, dict):
        members = []
        for k, x in v.items():
            name = k.text if isinstance(k, RawKey) else enc_str(k, st)
            members.append(name + st.colon + dumps(x, st, ph, False))
        text = "{" + (st.open + st.item.join(members) + st.close if members else "") + "}"
    else:
        raise TypeError(type(v))
    return st.outer + text + st.outer[::-1] if top else text


# =============================================================================================
# Case generator
# =============================================================================================

HOSTS = ["sso.example.com", "auth.acme.test", "keycloak.internal:8443", "id.example.org", "login.example.net"]
REALMS = ["demo", "master", "Acme", "prod-eu", "tenant_42", "M\u00fcller", "dev.realm"]
CLIENTS = ["orders-api", "account", "billing", "web-portal", "inventory-svc", "reports", "realm-management"]
REALM_ROLES = ["default-roles-demo", "offline_access", "uma_authorization", "user", "admin", "auditor",
               "orders:write", "Operator", "support-L2", "spark"]
CLIENT_ROLES = ["orders:read", "orders:write", "manage-account", "view-profile", "admin", "viewer", "export"]
SCOPES = ["openid", "profile", "email", "roles", "web-origins", "orders:read", "orders:write", "offline_access",
          "phone", "address", "sparkle", "microprofile-jwt", "acr", "basic"]
NAMES = ["Alice Example", "Zo\u00eb \u00dcnal", "\u5c71\u7530\u592a\u90ce", "Bj\u00f6rn \u00c5str\u00f6m",
         "O'Brien \"Bob\"", "Back\\slash", "Emoji \U0001F600 User", "Tab\tName", "Line\nBreak"]
EC_JWK = {"kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256",
          "x": "8ji4e05uicbmI7UcyYfGUW5GM-A3bBEsRFsaL2xg4_s", "y": "kg3MOYT6-FDpstl1K2RZg3giQADWsy-9uZMMaF5sA30"}

# Orders of the intended categories (DESIGN §3 / README steps), finer where a step has parts.
ORDER = {
    "too_large": 1.0, "malformed": 2.0, "hdr_base64": 3.0, "hdr_json": 3.1, "unsupported_alg": 4.0,
    "unsupported_header": 4.1, "unknown_kid": 5.0, "weak_key": 5.1, "sig_base64": 6.0, "bad_signature": 6.1,
    "pl_base64": 7.0, "pl_json": 7.1, "claim_type": 7.2, "missing_claim": 8.1, "expired": 8.2,
    "not_yet_valid": 8.3, "issued_in_future": 8.4, "wrong_issuer": 8.5, "wrong_audience": 8.6,
    "wrong_type": 8.7, "missing_scope": 8.8, "missing_role": 8.9,
}
CATEGORY = {"hdr_base64": "bad_base64", "hdr_json": "bad_json", "sig_base64": "bad_base64",
            "pl_base64": "bad_base64", "pl_json": "bad_json", "claim_type": "bad_json"}


class Part:
    """The header or the payload: an object, its style, and the defects applied to its text."""

    def __init__(self, obj: Dict[Any, Any], style: Style) -> None:
        self.obj = obj
        self.style = style
        self.replace: Optional[str] = None  # whole JSON text instead of the object
        self.text_fns: List[Callable[[str], str]] = []
        self.bytes_fns: List[Callable[[bytes], bytes]] = []
        self.seg_fn: Optional[Callable[[bytes], str]] = None

    def to_bytes(self) -> bytes:
        ph: Dict[str, bytes] = {}
        text = self.replace if self.replace is not None else dumps(self.obj, self.style, ph)
        for f in self.text_fns:
            text = f(text)
        data = text.encode("utf-8")
        for key, raw in ph.items():
            data = data.replace(key.encode("utf-8"), raw)
        for g in self.bytes_fns:
            data = g(data)
        return data

    def segment(self, data: bytes) -> str:
        return self.seg_fn(data) if self.seg_fn else b64e(data)


class Draft:
    """One case being built: a valid token plus the defects applied to it."""

    def __init__(self, world: "World", rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.intents: List[Tuple[float, str, str]] = []  # (order, intent, note)
        self.ambiguous: List[str] = []
        self.families: List[str] = []
        self.sign_fn: Optional[Callable[[bytes], bytes]] = None
        self.sig_fns: List[Callable[[bytes], bytes]] = []
        self.sig_seg_fn: Optional[Callable[[bytes], str]] = None
        self.token_fns: List[Callable[[str], str]] = []
        self.post_fns: List[Callable[[str], None]] = []
        self.replace_token: Optional[str] = None
        self.cached: Optional[Tuple[bytes, bytes, bytes]] = None  # precomputed (header, payload, sig)
        self.size_fixed = False  # a defect owns max_token_bytes
        self.sign_alg: Optional[str] = None  # the alg to sign with when the header's is written raw

    # -- bookkeeping --
    def intend(self, key: str, note: str = "") -> None:
        self.intents.append((ORDER[key], key, note))

    def ambiguous_because(self, why: str) -> None:
        self.ambiguous.append(why)

    def expected_intent(self) -> str:
        if not self.intents:
            return "ok"
        key = min(self.intents)[1]
        return CATEGORY.get(key, key)

    # -- building --
    def signing_alg(self) -> str:
        if self.sign_alg:
            return self.sign_alg
        alg = self.header.obj.get("alg")
        return alg if isinstance(alg, str) and alg in SUPPORTED_ALGS else "RS256"

    def build(self) -> str:
        if self.replace_token is not None:
            tok = self.replace_token
        else:
            if self.cached:
                hb, pb, sig = self.cached
                hs, ps = b64e(hb), b64e(pb)
            else:
                hb, pb = self.header.to_bytes(), self.payload.to_bytes()
                hs, ps = self.header.segment(hb), self.payload.segment(pb)
                si = (hs + "." + ps).encode("utf-8")
                sig = self.sign_fn(si) if self.sign_fn else self.signer.sign(self.signing_alg(), si, self.rng)
            for f in self.sig_fns:
                sig = f(sig)
            ss = self.sig_seg_fn(sig) if self.sig_seg_fn else b64e(sig)
            tok = hs + "." + ps + "." + ss
        for g in self.token_fns:
            tok = g(tok)
        for h in self.post_fns:
            h(tok)
        return tok


def new_kid(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return b64e(rng.randbytes(32))  # Keycloak: SHA-256 thumbprint-like, 43 chars
    if r < 0.8:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if r < 0.9:
        return "rsa-" + rng.choice(("sig", "key", "Rotation")) + f"-{rng.randint(1, 99)}"
    return "".join(rng.choice("aAbBkK19._~-") for _ in range(rng.randint(1, 12)))


def rsa_jwk(key: Rsa, kid: Optional[str], alg: Optional[str] = "RS256", use: Optional[str] = "sig",
            rng: Optional[random.Random] = None, kty: str = "RSA") -> Dict[str, Any]:
    entry: Dict[str, Any] = {}
    if kid is not None:
        entry["kid"] = kid
    entry["kty"] = kty
    if alg is not None:
        entry["alg"] = alg
    if use is not None:
        entry["use"] = use
    entry["n"] = key.jwk_n()
    entry["e"] = key.jwk_e()
    if rng is not None and rng.random() < 0.4:
        entry["x5c"] = [base64.b64encode(rng.randbytes(rng.randint(200, 700))).decode()]
        entry["x5t"] = b64e(rng.randbytes(20))
        entry["x5t#S256"] = b64e(rng.randbytes(32))
    return entry


class World:
    """Keys shared by all cases of one generation run."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed ^ 0x5EED)
        s = lambda: rng.getrandbits(32)  # noqa: E731
        demo_a, demo_b = load_key(KEY_A), load_key(KEY_B)
        self.demo = [Rsa(demo_a.n, demo_a.e, [demo_a.p, demo_a.q]), Rsa(demo_b.n, demo_b.e, [demo_b.p, demo_b.q])]
        self.k2048 = [multiprime_key(2048, 65537, s()) for _ in range(4)]
        self.attacker = multiprime_key(2048, 65537, s())
        self.sized = {b: multiprime_key(b, 65537, s()) for b in (1024, 1536, 2040, 2047, 2049, 2056, 3072, 4096, 8192)}
        self.odd_e = {e: multiprime_key(2048, e, s()) for e in (3, 17, 65535, 65539, 2**31 - 1)}
        self.huge_e = multiprime_key(2048, 2**64 + 13, s())


def _issuer(rng: random.Random) -> str:
    return f"https://{rng.choice(HOSTS)}{rng.choice(('/realms/', '/auth/realms/'))}{rng.choice(REALMS)}"


def _sample(rng: random.Random, pool: Sequence[str], lo: int, hi: int) -> List[str]:
    return rng.sample(list(pool), rng.randint(lo, min(hi, len(pool))))


def base_draft(world: World, rng: random.Random) -> Draft:
    dr = Draft(world, rng)
    # --- time ---
    r = rng.random()
    if r < 0.75:
        now = rng.randint(1_500_000_000, 2_100_000_000)
    elif r < 0.9:
        now = rng.randint(1_000_000, 4_000_000_000)
    else:
        now = rng.randint(4_000_000_000, 2**45)
    leeway = rng.choice((0, 0, 0, 1, 5, 30, 30, 60, 120, 300, 3600))
    dr.now = now
    # --- key ---
    r = rng.random()
    if r < 0.02:
        signer = rng.choice(world.demo)
    elif r < 0.85:
        signer = rng.choice(world.k2048)
    elif r < 0.88:
        signer = world.odd_e[rng.choice((65539, 2**31 - 1))]
    else:
        signer = world.sized[rng.choice((2049, 2056, 3072, 3072, 4096, 4096, 8192))]
    dr.signer = signer
    alg = "RS256" if rng.random() < 0.85 else rng.choice(SUPPORTED_ALGS[1:])
    algorithms = ["RS256"] if alg == "RS256" and rng.random() < 0.6 else sorted(
        set([alg] + _sample(rng, SUPPORTED_ALGS, 0, 3)), key=SUPPORTED_ALGS.index)
    dr.has_kid = rng.random() < 0.85
    kid = new_kid(rng)
    dr.kid = kid
    entry = rsa_jwk(signer, kid if (dr.has_kid or rng.random() < 0.5) else None,
                    alg=alg if rng.random() < 0.7 else None, use="sig" if rng.random() < 0.8 else None, rng=rng)
    dr.signer_entry = entry
    keys = [entry]
    kids = {kid}

    def fresh_kid() -> str:
        while True:
            k = new_kid(rng)
            if k not in kids:
                kids.add(k)
                return k

    for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
        d = rng.random()
        if d < 0.3:
            keys.append(rsa_jwk(rng.choice(world.k2048 + world.demo), fresh_kid(), "RSA-OAEP", "enc", rng))
        elif d < 0.5:
            keys.append(dict(EC_JWK, kid=fresh_kid()))
        elif d < 0.55:
            keys.append({"kid": fresh_kid(), "kty": "oct", "alg": "HS256", "k": b64e(rng.randbytes(32))})
        elif dr.has_kid:
            other = rng.choice([k for k in world.k2048 + world.demo if k is not signer] + [fake_public_key(2048, 65537, rng)])
            keys.append(rsa_jwk(other, fresh_kid(), rng.choice(("RS256", "RS256", None, "RS512", "PS256")),
                                rng.choice(("sig", "sig", None)), rng))
    rng.shuffle(keys)
    dr.jwks = {"keys": keys}
    dr.kids = kids
    # --- claims ---
    iss_list = list(dict.fromkeys(_issuer(rng) for _ in range(rng.randint(1, 3))))
    iss = rng.choice(iss_list)
    exp = now + rng.randint(1, 36_000)
    iat = max(0, now - rng.randint(0, 3600)) if rng.random() < 0.9 else now + rng.randint(0, leeway)
    auds = _sample(rng, CLIENTS, 0, 3)
    token_type: Optional[str] = "Bearer"
    r = rng.random()
    if r < 0.25:
        token_type = None
    elif r < 0.3:
        token_type = rng.choice(("ID", "Refresh", "Offline", "at+jwt"))
    typ = token_type if token_type is not None else rng.choice(("Bearer", "ID", None))
    scope_words = _sample(rng, SCOPES, 0, 6)
    realm_roles = _sample(rng, REALM_ROLES, 0, 6)
    if rng.random() < 0.05:
        realm_roles += [f"generated-role-{i}" for i in range(rng.randint(50, 150))]
    resource: Dict[str, Any] = {}
    for c in _sample(rng, CLIENTS, 0, 3):
        resource[c] = {"roles": _sample(rng, CLIENT_ROLES, 0, 4)}
    claims: Dict[Any, Any] = {}
    claims["exp"] = exp
    claims["iat"] = iat
    if rng.random() < 0.5:
        claims["auth_time"] = max(0, iat - rng.randint(0, 100))
    if rng.random() < 0.15:
        claims["nbf"] = max(0, now - rng.randint(0, 100)) if rng.random() < 0.8 else now + rng.randint(0, leeway)
    claims["jti"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    claims["iss"] = iss
    if auds:
        claims["aud"] = auds[0] if len(auds) == 1 and rng.random() < 0.6 else auds
    claims["sub"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if typ is not None:
        claims["typ"] = typ
    claims["azp"] = rng.choice(CLIENTS)
    if rng.random() < 0.7:
        claims["sid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    claims["acr"] = rng.choice(("1", "0", "silver"))
    if rng.random() < 0.5:
        claims["allowed-origins"] = ["https://web-portal.example.test"]
    if realm_roles or rng.random() < 0.5:
        claims["realm_access"] = {"roles": realm_roles}
    if resource:
        claims["resource_access"] = resource
    if scope_words or rng.random() < 0.3:
        claims["scope"] = " ".join(scope_words)
    if rng.random() < 0.6:
        claims["email_verified"] = rng.random() < 0.5
        claims["name"] = rng.choice(NAMES)
        claims["preferred_username"] = rng.choice(("alice", "bob", "j\u00fcrgen", "svc-account"))
        claims["email"] = rng.choice(("alice@example.com", "bob+tag@example.org"))
    if rng.random() < 0.1:
        claims["groups"] = [f"/org/team-{i}" for i in range(rng.randint(1, 60))]
    items = list(claims.items())
    if rng.random() < 0.3:
        rng.shuffle(items)
    dr.payload = Part(dict(items), Style(rng))
    hdr: Dict[Any, Any] = {"alg": alg}
    if rng.random() < 0.9:
        hdr["typ"] = "JWT"
    if dr.has_kid:
        hdr["kid"] = kid
    if rng.random() < 0.1:
        items2 = list(hdr.items())
        rng.shuffle(items2)
        hdr = dict(items2)
    dr.header = Part(hdr, Style(rng))
    # --- options ---
    if auds and rng.random() < 0.7:
        audiences: Optional[List[str]] = list(dict.fromkeys([rng.choice(auds)] + _sample(rng, CLIENTS, 0, 2)))
    else:
        audiences = None
    req_claims = ["exp"] if rng.random() < 0.95 else []
    present = [n for n in ("sub", "azp", "jti", "sid", "iat", "auth_time", "email", "acr", "typ", "iss", "aud", "nbf")
               if n in claims]
    if rng.random() < 0.4:
        req_claims += _sample(rng, present, 1, 3)
    bits_min, bits_max = 2048, 8192
    if rng.random() < 0.1:
        # The floor itself, written out: below 2048 is a configuration error, and a higher
        # minimum would make a later defect that swaps in a 2048-bit signer weak_key.
        bits_min = 2048
    if rng.random() < 0.1:
        bits_max = rng.randint(signer.bits, 16384)
    if signer.bits > bits_max:
        bits_max = signer.bits
    dr.options = {
        "issuers": iss_list,
        "audiences": audiences,
        "algorithms": algorithms,
        "leeway": leeway,
        "token_type": token_type,
        "required_scopes": _sample(rng, scope_words, 0, 3) if rng.random() < 0.5 else [],
        "required_realm_roles": _sample(rng, [r for r in realm_roles if r], 0, 2) if rng.random() < 0.4 else [],
        "required_client_roles": {c: _sample(rng, v["roles"], 0, 2) for c, v in resource.items() if rng.random() < 0.5},
        "required_claims": req_claims,
        "min_rsa_bits": bits_min,
        "max_rsa_bits": bits_max,
        "max_token_bytes": 16384,
    }
    if rng.random() < 0.1:

        def roomy(tok: str) -> None:
            if dr.size_fixed:
                return
            size = len(tok.encode("utf-8"))
            dr.options["max_token_bytes"] = rng.randint(size, max(size, 100_000))

        dr.post_fns.append(roomy)
    return dr


# ---------------------------------------------------------------------------------------------
# Defects. Each takes (draft, rng), edits it, records what it intends. `hooks` name what it
# touches, so two defects combined into one case never step on each other.
# ---------------------------------------------------------------------------------------------


class Defect:
    def __init__(self, fn: Callable[[Draft, random.Random], Optional[bool]], hooks: Sequence[str],
                 weight: float, solo: bool) -> None:
        self.fn, self.name, self.hooks, self.weight, self.solo = fn, fn.__name__, frozenset(hooks), weight, solo


DEFECTS: List[Defect] = []


def defect(*hooks: str, weight: float = 1.0, solo: bool = False) -> Callable[[Any], Any]:
    def wrap(fn: Any) -> Any:
        DEFECTS.append(Defect(fn, hooks, weight, solo))
        return fn

    return wrap


def _claims(dr: Draft) -> Dict[Any, Any]:
    return dr.payload.obj


# ---------------------------------------------------------------- 1. size


@defect("opt.max_token_bytes")
def size_exact_limit(dr: Draft, rng: random.Random) -> None:
    """Exactly max_token_bytes is allowed; one octet less is too_large."""
    over = rng.random() < 0.5

    def post(tok: str) -> None:
        size = len(tok.encode("utf-8"))
        dr.options["max_token_bytes"] = size - (rng.randint(1, min(40, size - 1)) if over else 0)
        if over:
            dr.intend("too_large")

    dr.post_fns.append(post)


@defect("opt.max_token_bytes", "token", solo=True, weight=0.5)
def size_garbage(dr: Draft, rng: random.Random) -> None:
    """Garbage beyond the limit is too_large before anything else is looked at."""
    n = rng.randint(2, 400)
    dr.replace_token = "".join(rng.choice("ab.=+/ \t\n\u00e9\u4e2d\x00{}\"") for _ in range(n))
    dr.options["max_token_bytes"] = rng.randint(1, len(dr.replace_token) - 1)
    dr.size_fixed = True
    dr.intend("too_large")


@defect("opt.max_token_bytes", "hdr.seg", weight=0.5)
def size_counts_octets(dr: Draft, rng: random.Random) -> None:
    """The limit is in octets: non-ASCII characters count as their UTF-8 length."""
    extra = rng.choice(("\u00e9", "\u4e2d", "\U0001F600")) * rng.randint(1, 5)
    at = rng.randint(0, 20)
    dr.header.seg_fn = lambda data: (lambda s: s[:at] + extra + s[at:])(b64e(data))
    mode = rng.random()

    def post(tok: str) -> None:
        chars, octets = len(tok), len(tok.encode("utf-8"))
        if mode < 0.6:
            dr.options["max_token_bytes"] = rng.randint(chars, octets - 1)
            dr.intend("too_large")
        else:
            dr.options["max_token_bytes"] = octets
            dr.intend("hdr_base64")

    dr.post_fns.append(post)


@defect("opt.max_token_bytes", "pl.claim.groups", weight=0.5)
def size_default_limit(dr: Draft, rng: random.Random) -> None:
    """Big tokens around the default 16384 limit (many groups, like real Keycloak tokens)."""
    _claims(dr)["groups"] = [f"/org/department-{i:04d}/team" for i in range(rng.randint(380, 520))]
    dr.options["max_token_bytes"] = 16384
    dr.size_fixed = True

    def post(tok: str) -> None:
        if len(tok.encode("utf-8")) > 16384:
            dr.intend("too_large")

    dr.post_fns.append(post)


# ---------------------------------------------------------------- 2. malformed


@defect("token")
def malformed_segments(dr: Draft, rng: random.Random) -> None:
    """Not exactly three non-empty dot-separated segments."""
    kind = rng.choice(("two", "four", "jwe", "six", "one", "empty", "dots", "trailing_dot", "leading_dot",
                       "empty_payload", "empty_signature", "empty_header", "double_dot_end"))

    def f(tok: str) -> str:
        h, p, s = tok.split(".")
        extra = b64e(rng.randbytes(rng.randint(1, 40)))
        return {
            "two": h + "." + p,
            "four": tok + "." + extra,
            "jwe": b64e(b'{"alg":"RSA-OAEP","enc":"A256GCM"}') + "." + ".".join(
                b64e(rng.randbytes(rng.randint(12, 256))) for _ in range(4)),
            "six": tok + "." + extra + "." + extra,
            "one": h + p + s,
            "empty": "",
            "dots": "." * rng.choice((1, 2, 3, 4)),
            "trailing_dot": tok + ".",
            "leading_dot": "." + tok,
            "empty_payload": h + ".." + s,
            "empty_signature": h + "." + p + ".",
            "empty_header": "." + p + "." + s,
            "double_dot_end": h + "." + p + ".." + s,
        }[kind]

    dr.token_fns.append(f)
    dr.intend("malformed", kind)


@defect("token")
def malformed_whitespace(dr: Draft, rng: random.Random) -> None:
    """Whitespace anywhere (including a Bearer prefix or a trailing newline) is malformed."""
    r = rng.random()
    ws = rng.choice((" ", "\t", "\n", "\r", "\r\n", "  "))
    if r < 0.15:
        dr.token_fns.append(lambda t: rng.choice(("Bearer ", "bearer ", "Bearer\t", "BEARER  ")) + t)
    elif r < 0.3:
        dr.token_fns.append(lambda t: t + ws)
    elif r < 0.4:
        dr.token_fns.append(lambda t: ws + t)
    elif r < 0.85:
        at = rng.random()
        dr.token_fns.append(lambda t: t[: int(len(t) * at)] + ws + t[int(len(t) * at) :])
    else:
        odd = rng.choice(("\x0b", "\x0c", "\u00a0", "\u2003", "\u3000", "\u2028", "\u0085"))
        at = rng.random()
        dr.token_fns.append(lambda t: t[: int(len(t) * at)] + odd + t[int(len(t) * at) :])
        dr.ambiguous_because(f"is {odd!r} whitespace (malformed) or a bad base64 character? README lists "
                             "'space, TAB, CR, LF, ...'")
    dr.intend("malformed", "whitespace")


# ---------------------------------------------------------------- 3./7. base64url


def _noncanonical(kind: str, data: bytes, rng: random.Random) -> str:
    if kind == "trailing_bits":
        while len(data) % 3 == 0:
            data += b" "  # insignificant JSON whitespace so that the last character has spare bits
    seg = b64e(data)
    if kind == "padding":
        pad = -len(seg) % 4
        return seg + "=" * (pad if pad and rng.random() < 0.6 else rng.randint(1, 2))
    if kind == "std_alphabet":
        if "-" in seg or "_" in seg:
            return seg.replace("-", "+").replace("_", "/")
        i = rng.randrange(len(seg))
        return seg[:i] + rng.choice("+/") + seg[i + 1 :]
    if kind == "bad_char":
        i = rng.randrange(len(seg) + 1)
        c = rng.choice("!*~%$#@,;:?&()[]{}<>\\\"'`^|=\x00\x01\x7f\x1b\u00e9\u00ad")
        return seg[:i] + c + seg[i + (1 if rng.random() < 0.5 else 0) :]
    if kind == "length_1_mod_4":
        drop = (len(seg) - 1) % 4
        return seg[: len(seg) - drop] if drop and len(seg) > drop else seg + "A" * ((1 - len(seg)) % 4)
    if kind == "trailing_bits":
        spare = {2: 4, 3: 2}[len(seg) % 4]
        last = B64_ALPHABET.index(seg[-1])
        new = last | rng.randint(1, (1 << spare) - 1)
        return seg[:-1] + B64_ALPHABET[new]
    raise ValueError(kind)


B64_KINDS = ("padding", "std_alphabet", "bad_char", "length_1_mod_4", "trailing_bits")


@defect("hdr.seg")
def header_bad_base64(dr: Draft, rng: random.Random) -> None:
    kind = rng.choice(B64_KINDS)
    dr.header.seg_fn = lambda data: _noncanonical(kind, data, rng)
    dr.intend("hdr_base64", kind)


@defect("pl.seg")
def payload_bad_base64(dr: Draft, rng: random.Random) -> None:
    kind = rng.choice(B64_KINDS)
    dr.payload.seg_fn = lambda data: _noncanonical(kind, data, rng)
    dr.intend("pl_base64", kind)


@defect("sig")
def signature_bad_base64(dr: Draft, rng: random.Random) -> None:
    kinds = [k for k in B64_KINDS if k != "trailing_bits" or dr.signer.k % 3]
    kind = rng.choice(kinds)
    dr.sig_seg_fn = lambda sig: _noncanonical(kind, sig, rng)
    dr.intend("sig_base64", kind)


# ---------------------------------------------------------------- 3./7. JSON


def _deep(depth: int, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "[" * depth + rng.choice(("", "1", '"x"', "null")) + "]" * depth
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def _inject_member(part: Part, rng: random.Random, value: Any, name: Optional[str] = None) -> None:
    """Add a member (possibly a raw, invalid value) at a random place of the object."""
    items = list(part.obj.items())
    items.insert(rng.randint(0, len(items)), (name or rng.choice(("x", "ext", "custom_claim", "\u00e9t\u00e9")), value))
    part.obj = dict(items)


BAD_JSON_KINDS = ("duplicate", "duplicate_escaped", "duplicate_nested", "nan", "comment", "trailing_comma",
                  "trailing_garbage", "invalid_utf8", "utf16", "lone_surrogate", "control_char", "too_deep",
                  "not_object", "syntax", "bad_number", "bad_literal", "bad_escape", "bad_whitespace",
                  "truncated", "single_quotes")


def _bad_json(part: Part, rng: random.Random, names: Sequence[str]) -> Tuple[str, Optional[str]]:
    """Make `part` invalid JSON (RFC 8259 / README step 3). Returns (kind, ambiguity or None)."""
    kind = rng.choice(BAD_JSON_KINDS + ("duplicate", "invalid_utf8", "lone_surrogate", "too_deep"))
    obj = part.obj
    if kind in ("duplicate", "duplicate_escaped"):
        name = rng.choice([n for n in names if n in obj] or list(k for k in obj if isinstance(k, str)))
        if kind == "duplicate":
            text = '"' + name + '"'
        else:
            i = rng.randrange(len(name))
            text = '"' + name[:i] + _u(ord(name[i]), rng) + name[i + 1 :] + '"'
        value = obj[name] if rng.random() < 0.5 else Raw(rng.choice(('"other"', "1", "null", "[]")))
        items = list(obj.items())
        items.insert(rng.randint(0, len(items)), (RawKey(text), value))
        part.obj = dict(items)
    elif kind == "duplicate_nested":
        _inject_member(part, rng, Raw(rng.choice(('{"a":1,"a":1}', '{"roles":[],"r\\u006fles":[]}',
                                                  '[{"k":"v","k":"w"}]'))))
    elif kind == "nan":
        _inject_member(part, rng, Raw(rng.choice(("NaN", "Infinity", "-Infinity", "nan", "inf", "[NaN]"))))
    elif kind == "comment":
        c = rng.choice(("/* c */", "// c\n", "#c\n"))
        if rng.random() < 0.5:
            part.text_fns.append(lambda t: t.replace("{", "{" + c, 1))
        else:
            part.text_fns.append(lambda t: t + c)
    elif kind == "trailing_comma":
        if rng.random() < 0.5:
            part.text_fns.append(lambda t: t[: t.rindex("}")] + "," + t[t.rindex("}") :])
        else:
            _inject_member(part, rng, Raw(rng.choice(("[1,2,]", '{"a":1,}', "[,]"))))
    elif kind == "trailing_garbage":
        g = rng.choice(("x", "}", "{}", " 1", "\x00", ",", "]", '"', "null", '{"a":1}', "\u00a0"))
        part.text_fns.append(lambda t: t + g)
    elif kind == "invalid_utf8":
        bad = rng.choice((b"\xff", b"\xfe", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
                          b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\x80", b"a\xc3", b"\xf0\x9f\x98"))
        if rng.random() < 0.8:
            _inject_member(part, rng, RawBytes(b'"' + bad + b'"'))
        else:  # invalid byte in a member *name*
            part.bytes_fns.append(lambda d: d.replace(b"{", b'{"' + bad + b'":1,', 1))
    elif kind == "utf16":
        enc = rng.choice(("utf-16-le", "utf-16-be", "utf-16", "utf-32"))
        part.bytes_fns.append(lambda d: d.decode("utf-8").encode(enc))
    elif kind == "lone_surrogate":
        _inject_member(part, rng, Raw(rng.choice(('"\\ud800"', '"\\uDFFF"', '"a\\ud834"', '"\\ud800\\u0041"',
                                                  '"\\udc00\\ud800"', '"\\ud800\\ud800"', '"\\uD83D x"'))))
    elif kind == "control_char":
        c = chr(rng.choice([0, 1, 8, 9, 10, 13, 0x1B, 0x1F]))
        if rng.random() < 0.7:
            _inject_member(part, rng, Raw('"a' + c + 'b"'))
        else:
            _inject_member(part, rng, 1, name="na" + c + "me")  # enc_str would escape it: use RawKey
            part.obj = {(RawKey('"na' + c + 'me"') if k == "na" + c + "me" else k): v for k, v in part.obj.items()}
    elif kind == "too_deep":
        _inject_member(part, rng, Raw(_deep(rng.randint(500, 1200), rng)))
    elif kind == "not_object":
        part.replace = rng.choice(("[]", '["a"]', '"text"', "42", "null", "true", "false", " ", "\r\n",
                                   json.dumps([{"alg": "RS256"}]), "1.5e3", '"{}"'))
    elif kind == "syntax":
        part.text_fns.append(rng.choice((
            lambda t: re.sub(r'"(\s*):', r'"\1', t, count=1),  # missing colon
            lambda t: t.replace(",", " ", 1) if "," in t else t + "{",  # missing comma
            lambda t: t.replace("{", "{{", 1),
            lambda t: t.replace('"', "", 2),  # unquoted name
            lambda t: t.rstrip()[:-1] + "]",
        )))
    elif kind == "bad_number":
        _inject_member(part, rng, Raw(rng.choice(("01", "+1", "1.", ".5", "-", "1e", "0x10", "1e+", "--1", "1.0e",
                                                  "- 1", "00", "-01", "1_000", "\u0661"))))
    elif kind == "bad_literal":
        _inject_member(part, rng, Raw(rng.choice(("True", "nul", "NULL", "undefined", "fals", "tru e", "None"))))
    elif kind == "bad_escape":
        _inject_member(part, rng, Raw(rng.choice(('"\\x41"', '"\\u12G4"', '"\\U0041"', '"\\a"', '"\\u00"', "'single'",
                                                  '"\\ "', '"\\0"'))))
    elif kind == "bad_whitespace":
        w = rng.choice(("\x0b", "\x0c", "\u00a0", "\u2028", "\ufeff", "\u3000"))
        part.text_fns.append(lambda t: t.replace("{", "{" + w, 1))
    elif kind == "truncated":
        cut = rng.randint(1, 6)
        part.text_fns.append(lambda t: t.rstrip()[:-cut])
    elif kind == "single_quotes":
        part.text_fns.append(lambda t: t.replace('"', "'"))
    return kind, None


@defect("hdr.json")
def header_bad_json(dr: Draft, rng: random.Random) -> None:
    kind, amb = _bad_json(dr.header, rng, ("alg", "kid", "typ"))
    dr.intend("hdr_json", kind)


@defect("pl.json")
def payload_bad_json(dr: Draft, rng: random.Random) -> None:
    kind, amb = _bad_json(dr.payload, rng, ("exp", "iss", "sub", "aud", "typ", "iat", "scope", "realm_access"))
    dr.intend("pl_json", kind)


@defect("hdr.json", "hdr.style", weight=0.5)
def header_bom(dr: Draft, rng: random.Random) -> None:
    dr.header.bytes_fns.append(lambda d: b"\xef\xbb\xbf" + d)
    dr.intend("hdr_json", "bom")
    dr.ambiguous_because("UTF-8 BOM before the header JSON: RFC 8259 says parsers MAY ignore it")


def _valid_json_extras(part: Part, rng: random.Random) -> str:
    """Valid but unusual JSON: must be accepted (README step 3 last sentence, RFC 8259)."""
    kind = rng.choice(("style", "deep32", "unicode", "numbers", "empty_containers", "escapes", "del_char"))
    if kind == "style":
        part.style = Style(rng)
        part.style.item, part.style.colon = rng.choice(((" ,\r\n ", " : "), ("\t,\t", "\r\n:\r\n"), (",\n", ":\n")))
        part.style.outer = rng.choice(("\r\n", "  ", "\t\n"))
    elif kind == "deep32":
        _inject_member(part, rng, Raw(_deep(rng.randint(2, 31), rng)))  # + the top-level object: <= 32
    elif kind == "unicode":
        _inject_member(part, rng, rng.choice(("\U0001F600\u00e9\u4e2d", "\u2028\u2029", "\uffff", "\U0010FFFF",
                                              "\u0000 nul escaped", "tab\tquote\"back\\slash/")))
    elif kind == "numbers":
        _inject_member(part, rng, Raw(rng.choice(("123456789012345678901234567890", "-0", "0.5", "1E3", "1e-3",
                                                  "-12.5e+2", "[1,-1,0.0,1e1]", "18446744073709551617",
                                                  "9007199254740993", "3.141592653589793"))))
    elif kind == "empty_containers":
        _inject_member(part, rng, Raw(rng.choice(("{}", "[]", "[{}]", '{"a":[]}', '""'))))
    elif kind == "escapes":
        part.style.escape = rng.choice((0.3, 0.9))
        part.style.slash = True
    elif kind == "del_char":
        _inject_member(part, rng, "del\x7fchar")
    return kind


@defect("hdr.json", "hdr.style")
def header_valid_json(dr: Draft, rng: random.Random) -> None:
    _valid_json_extras(dr.header, rng)


@defect("pl.json", "pl.style")
def payload_valid_json(dr: Draft, rng: random.Random) -> None:
    _valid_json_extras(dr.payload, rng)


# ---------------------------------------------------------------- 4. header policy


@defect("hdr.alg")
def alg_rejected(dr: Draft, rng: random.Random) -> None:
    """alg missing, not a string, none in any case, HS*, ES*, near-miss spellings."""
    kind = rng.choice(("missing", "non_string", "none", "hs", "es", "near_miss"))
    h = dr.header.obj
    if kind == "missing":
        del h["alg"]
    elif kind == "non_string":
        h["alg"] = rng.choice((Raw("256"), Raw("null"), Raw("true"), ["RS256"], {"name": "RS256"}, Raw("1.0")))
    elif kind == "none":
        h["alg"] = rng.choice(("none", "None", "NONE", "nOnE", "noNe"))
        if rng.random() < 0.5:
            dr.sign_fn = lambda si: rng.randbytes(rng.randint(1, 64))
    elif kind == "hs":
        h["alg"] = rng.choice(("HS256", "HS384", "HS512"))
        secret = rng.choice((dr.signer_entry["n"].encode(), json.dumps(dr.signer_entry).encode(), b"secret"))
        dr.sign_fn = lambda si: hmac.new(secret, si, hashlib.sha256).digest()
    elif kind == "es":
        h["alg"] = rng.choice(("ES256", "ES384", "EdDSA", "RSA-OAEP", "RSA1_5"))
        dr.sign_fn = lambda si: rng.randbytes(64)
    else:
        good = dr.signing_alg()
        h["alg"] = rng.choice((good.lower(), good[0] + good[1:].lower(), good + " ", " " + good, good + "\u0000",
                               good + "\n", good[:2] + " " + good[2:], good + "0", "", "RS", "RS-256", "rs256",
                               good.replace("S", "\u0405")))
    dr.intend("unsupported_alg", kind)


@defect("hdr.alg", "opt.algorithms", "key")
def alg_policy(dr: Draft, rng: random.Random) -> None:
    """A correctly signed RS384/RS512/PS* token: ok when allowed, unsupported_alg when not."""
    alg = rng.choice(SUPPORTED_ALGS)
    dr.header.obj["alg"] = alg
    dr.signer_entry.pop("alg", None)
    if rng.random() < 0.4:
        dr.signer_entry["alg"] = alg
    allowed = rng.random() < 0.6
    others = [a for a in SUPPORTED_ALGS if a != alg]
    algs = set(rng.sample(others, rng.randint(1 if not allowed else 0, 3)))
    if allowed:
        algs.add(alg)
    dr.options["algorithms"] = [a for a in SUPPORTED_ALGS if a in algs]
    # keep the JWKS valid (at least one usable key) and kid-less selection unambiguous
    if "alg" in dr.signer_entry and not allowed:
        dr.signer_entry.pop("alg")
    for k in dr.jwks["keys"]:
        if k is not dr.signer_entry and k.get("kty") == "RSA" and k.get("use", "sig") == "sig" and not dr.has_kid:
            k["use"] = "enc"
    if not allowed:
        dr.intend("unsupported_alg", f"{alg} not in {dr.options['algorithms']}")


@defect("hdr.alg")
def alg_escaped(dr: Draft, rng: random.Random) -> None:
    """alg written with JSON escapes decodes to an allowed name: ok."""
    alg = dr.signing_alg()
    dr.sign_alg = alg
    dr.header.obj.pop("alg")
    items = list(dr.header.obj.items())
    text = '"' + "".join(_u(ord(c), rng) if rng.random() < 0.6 else c for c in alg) + '"'
    items.insert(rng.randint(0, len(items)), (RawKey('"\\u0061lg"') if rng.random() < 0.5 else "alg", Raw(text)))
    dr.header.obj = dict(items)


@defect("hdr.crit")
def header_unsupported(dr: Draft, rng: random.Random) -> None:
    name = rng.choice(("crit", "b64", "cty"))
    value = {
        "crit": rng.choice((["exp"], [], ["b64"], "b64", Raw("null"), ["urn:example:x"])),
        "b64": rng.choice((True, False, Raw("null"), "false")),
        "cty": rng.choice(("JWT", "jwt", "json", "", "application/json")),
    }[name]
    _inject_member(dr.header, rng, value, name=name)
    if name == "crit" and rng.random() < 0.3:
        _inject_member(dr.header, rng, "value", name="urn:example:x")
    dr.intend("unsupported_header", name)


@defect("hdr.ignored")
def header_ignored(dr: Draft, rng: random.Random) -> None:
    """jku/x5u/jwk/x5c/x5t, header typ and unknown parameters are ignored: ok."""
    att = rsa_jwk(dr.world.attacker, None, rng=None)
    for _ in range(rng.randint(1, 3)):
        name, value = rng.choice((
            ("jku", "https://attacker.example/jwks.json"),
            ("x5u", "https://attacker.example/cert.pem"),
            ("jwk", att),
            ("jwk", dict(att, kid="attacker")),
            ("x5c", [base64.b64encode(rng.randbytes(300)).decode()]),
            ("x5t", b64e(rng.randbytes(20))),
            ("x5t#S256", b64e(rng.randbytes(32))),
            ("typ", rng.choice(("at+jwt", "JWT", "jwt", "Bearer", "", "application/at+jwt"))),
            ("zip", "DEF"),
            ("enc", "A256GCM"),
            ("exp", 0),
            ("custom", {"nested": [1, {"a": None}], "\u00e9": "\u4e2d"}),
            ("iss", "https://evil.example"),
        ))
        if name not in dr.header.obj:
            _inject_member(dr.header, rng, value, name=name)
    if rng.random() < 0.2 and "typ" in dr.header.obj:
        del dr.header.obj["typ"]


@defect("hdr.ignored", weight=0.3)
def header_typ_not_string(dr: Draft, rng: random.Random) -> None:
    dr.header.obj["typ"] = rng.choice((Raw("42"), Raw("null"), ["JWT"], {"t": 1}))
    dr.ambiguous_because("header typ of a non-string type: 'not checked' suggests ok, strict typing bad_json")


# ---------------------------------------------------------------- 5. key selection


@defect("key", "hdr.kid")
def kid_unknown(dr: Draft, rng: random.Random) -> None:
    """The header kid matches no usable entry exactly (case-sensitive, no trimming, no fallback)."""
    kid = dr.kid
    dr.has_kid = True
    if dr.signer_entry.get("kid") != kid:
        dr.signer_entry["kid"] = kid
    choices = ["random", "empty", "suffix", "prefix", "space"]
    if kid.lower() != kid or kid.upper() != kid:
        choices.append("case")
    kind = rng.choice(choices)
    new = {
        "random": new_kid(rng),
        "empty": "",
        "suffix": kid + rng.choice(("x", " ", "\u0000", "=")),
        "prefix": rng.choice((" ", "0", "kid-")) + kid,
        "space": kid[: len(kid) // 2] + " " + kid[len(kid) // 2 :],
        "case": kid.swapcase(),
    }[kind]
    if new in dr.kids:
        new = new + "-unknown"
    dr.header.obj["kid"] = new
    dr.intend("unknown_kid", kind)


@defect("key", "hdr.kid", "opt.algorithms")
def kid_unusable_entry(dr: Draft, rng: random.Random) -> None:
    """The kid points at an entry that is not a usable signing key (enc, EC, oct, other alg...)."""
    kid = new_kid(rng)
    while kid in dr.kids:
        kid = new_kid(rng)
    kind = rng.choice(("enc", "enc_no_alg", "ec", "oct", "alg_not_allowed", "kty_case", "use_case", "use_other"))
    key = rng.choice(dr.world.k2048)
    entry = {
        "enc": rsa_jwk(key, kid, "RSA-OAEP", "enc"),
        "enc_no_alg": rsa_jwk(key, kid, None, "enc"),
        "ec": dict(EC_JWK, kid=kid),
        "oct": {"kid": kid, "kty": "oct", "k": b64e(rng.randbytes(32))},
        "alg_not_allowed": rsa_jwk(dr.signer, kid, rng.choice([a for a in SUPPORTED_ALGS
                                                               if a not in dr.options["algorithms"]] or ["RS1"]), "sig"),
        "kty_case": rsa_jwk(dr.signer, kid, None, "sig", kty=rng.choice(("rsa", "Rsa", "RSA "))),
        "use_case": rsa_jwk(dr.signer, kid, None, rng.choice(("SIG", "Sig", "sig "))),
        "use_other": rsa_jwk(dr.signer, kid, None, rng.choice(("enc", "", "signature"))),
    }[kind]
    if kind in ("kty_case", "use_case"):
        dr.ambiguous_because(f"{kind}: README says kty 'RSA' and use 'sig' (exact), some libraries fold case")
    dr.jwks["keys"].insert(rng.randint(0, len(dr.jwks["keys"])), entry)
    dr.header.obj["kid"] = kid
    # the real key stays in the set under its own kid, usable: no fallback to it.
    if "kid" not in dr.signer_entry:
        dr.signer_entry["kid"] = dr.kid
    dr.intend("unknown_kid", kind)


@defect("key", "hdr.kid")
def kid_shared_with_unusable(dr: Draft, rng: random.Random) -> None:
    """An unusable entry (enc/EC) with the same kid is skipped; the usable one is chosen: ok."""
    dr.header.obj["kid"] = dr.kid
    dr.signer_entry["kid"] = dr.kid
    bad = rng.choice((rsa_jwk(rng.choice(dr.world.k2048), dr.kid, "RSA-OAEP", "enc"), dict(EC_JWK, kid=dr.kid),
                      {"kid": dr.kid, "kty": "oct", "k": b64e(rng.randbytes(32))}))
    dr.jwks["keys"].insert(0, bad)


@defect("key", "hdr.kid")
def kid_absent(dr: Draft, rng: random.Random) -> None:
    """No kid: the only usable key is chosen; several usable candidates are unknown_kid."""
    dr.header.obj.pop("kid", None)
    dr.has_kid = False
    keys = [dr.signer_entry]
    if rng.random() < 0.5:
        dr.signer_entry.pop("kid", None)
    for _ in range(rng.randint(0, 3)):
        keys.append(rng.choice((rsa_jwk(rng.choice(dr.world.k2048), new_kid(rng), "RSA-OAEP", "enc", rng),
                                dict(EC_JWK, kid=new_kid(rng)))))
    kind = rng.choice(("single", "several", "several", "other_alg_allowed", "other_alg_not_allowed"))
    other = rng.choice([k for k in dr.world.k2048 if k is not dr.signer])
    if kind == "several":
        keys.append(rsa_jwk(other, rng.choice((new_kid(rng), None)), rng.choice((None, dr.signing_alg())),
                            rng.choice((None, "sig"))))
        dr.intend("unknown_kid", kind)
    elif kind.startswith("other_alg"):
        alg = rng.choice([a for a in SUPPORTED_ALGS if a != dr.signing_alg()])
        keys.append(rsa_jwk(other, new_kid(rng), alg, "sig"))
        algs = set(dr.options["algorithms"]) | {dr.signing_alg()}
        if kind == "other_alg_allowed":
            algs.add(alg)
            dr.intend("unknown_kid", kind)
            dr.ambiguous_because("no kid; a second key is usable by README step 5 (its alg is allowed) but its alg "
                                 "is not the token's: 'several candidates' or only one? (DESIGN §2 'wrong kty/alg')")
        else:
            algs.discard(alg)
        dr.options["algorithms"] = [a for a in SUPPORTED_ALGS if a in algs]
        if dr.signer_entry.get("alg") not in (None, *dr.options["algorithms"]):
            dr.signer_entry.pop("alg")
    rng.shuffle(keys)
    dr.jwks["keys"] = keys


@defect("key", "hdr.kid", weight=0.4)
def kid_not_string(dr: Draft, rng: random.Random) -> None:
    dr.header.obj["kid"] = rng.choice((Raw("1"), Raw("null"), [dr.kid], {"kid": dr.kid}, Raw("true")))
    dr.intend("unknown_kid", "non-string kid")
    dr.ambiguous_because("kid that is not a string: unknown_kid or bad_json? (rules silent)")


@defect("key", "hdr.kid")
def kid_escaped(dr: Draft, rng: random.Random) -> None:
    """The header kid written with JSON escapes is compared after unescaping: ok."""
    dr.signer_entry["kid"] = dr.kid
    dr.header.obj.pop("kid", None)
    text = '"' + "".join(_u(ord(c), rng) if rng.random() < 0.4 else c for c in dr.kid) + '"'
    _inject_member(dr.header, rng, Raw(text), name="kid")


@defect("key", "hdr.kid", "signer", "sign")
def kid_attacker(dr: Draft, rng: random.Random) -> None:
    """The attacker embeds its own key (jwk/x5c/jku): ignored, so unknown_kid or bad_signature."""
    att = dr.world.attacker
    dr.signer = att
    _inject_member(dr.header, rng, rsa_jwk(att, None, None, None), name=rng.choice(("jwk", "jwk", "x5c", "jku")))
    if dr.header.obj.get("x5c") is not None and not isinstance(dr.header.obj["x5c"], list):
        dr.header.obj["x5c"] = [base64.b64encode(rng.randbytes(300)).decode()]
    if isinstance(dr.header.obj.get("jku"), dict):
        dr.header.obj["jku"] = "https://attacker.example/certs"
    if rng.random() < 0.5:
        dr.header.obj["kid"] = "attacker-" + new_kid(rng)
        dr.intend("unknown_kid", "attacker kid")
    else:
        dr.header.obj["kid"] = dr.kid
        dr.signer_entry["kid"] = dr.kid
        dr.intend("bad_signature", "attacker key, real kid")


@defect("key", "hdr.kid", weight=0.4)
def kid_entry_without_kid(dr: Draft, rng: random.Random) -> None:
    """A header kid never matches a JWKS entry that has no kid."""
    dr.signer_entry.pop("kid", None)
    dr.header.obj["kid"] = dr.kid
    dr.intend("unknown_kid", "entry has no kid")


@defect("key", "hdr.alg", "opt.algorithms", weight=0.4)
def kid_key_alg_differs(dr: Draft, rng: random.Random) -> None:
    """The JWKS entry's alg is allowed but differs from the token's alg."""
    algs = rng.sample(SUPPORTED_ALGS, 2)
    dr.header.obj["alg"] = algs[0]
    dr.signer_entry["alg"] = algs[1]
    dr.options["algorithms"] = [a for a in SUPPORTED_ALGS if a in algs]
    dr.ambiguous_because("JWKS alg allowed but not the token's alg: README makes it usable, DESIGN §2 says "
                         "'kid points at ... wrong kty/alg' is unknown_kid")


# ---------------------------------------------------------------- 5. key size


@defect("key", "signer", "opt.min_rsa_bits", "opt.max_rsa_bits")
def weak_key_size(dr: Draft, rng: random.Random) -> None:
    """Key size against min_rsa_bits / max_rsa_bits, both bounds inclusive."""
    w = dr.world
    kind = rng.choice(("below_default", "below_custom", "at_min", "above_max", "at_max", "huge_default",
                       "huge_allowed", "2047"))
    o = dr.options
    if kind == "below_default":
        key = w.sized[rng.choice((1024, 1536, 2040, 2047))]
        o["min_rsa_bits"], o["max_rsa_bits"] = 2048, 8192
        dr.intend("weak_key", kind)
    elif kind == "2047":
        key = w.sized[2047]
        o["min_rsa_bits"] = 2048  # the floor: min_rsa_bits 2047 is a configuration error
        dr.intend("weak_key", "2047 < 2048 though 256 octets")
    elif kind == "below_custom":
        key = w.sized[rng.choice((2049, 2056, 3072))]
        o["min_rsa_bits"] = key.bits + rng.randint(1, 100)
        o["max_rsa_bits"] = max(o["max_rsa_bits"], o["min_rsa_bits"])
        dr.intend("weak_key", kind)
    elif kind == "at_min":
        key = w.sized[rng.choice((2049, 2056, 3072))]  # min_rsa_bits is at least 2048
        o["min_rsa_bits"] = key.bits
        o["max_rsa_bits"] = max(o["max_rsa_bits"], key.bits)
    elif kind == "above_max":
        key = w.sized[rng.choice((2049, 2056, 3072, 4096))]
        o["min_rsa_bits"] = min(o["min_rsa_bits"], 2048)
        o["max_rsa_bits"] = rng.randint(o["min_rsa_bits"], key.bits - 1)
        dr.intend("weak_key", kind)
    elif kind == "at_max":
        key = w.sized[rng.choice((2049, 3072, 4096, 8192))]
        o["min_rsa_bits"] = min(o["min_rsa_bits"], 2048)
        o["max_rsa_bits"] = key.bits
    else:
        bits = rng.randint(8193, 12000)
        key = fake_public_key(bits, 65537, rng)
        o["min_rsa_bits"] = 2048
        if kind == "huge_default":
            o["max_rsa_bits"] = 8192
            dr.intend("weak_key", kind)
        else:  # allowed size, but nobody can sign for a random modulus
            o["max_rsa_bits"] = rng.randint(bits, 16384)
            dr.intend("bad_signature", "random modulus")
    _swap_signer(dr, key, rng)


def _swap_signer(dr: Draft, key: Rsa, rng: random.Random) -> None:
    entry = rsa_jwk(key, dr.signer_entry.get("kid"), dr.signer_entry.get("alg"), dr.signer_entry.get("use"), rng)
    i = next(i for i, k in enumerate(dr.jwks["keys"]) if k is dr.signer_entry)
    dr.jwks["keys"][i] = entry
    dr.signer_entry = entry
    if key.private:
        dr.signer = key
    else:
        real = dr.signer
        dr.sign_fn = lambda si: real.sign(dr.signing_alg(), si, rng)  # any signature: it cannot verify


@defect("key", "signer")
def weak_key_exponent(dr: Draft, rng: random.Random) -> None:
    """Exponent below 65537 or even is weak; odd exponents >= 65537 are fine."""
    w = dr.world
    kind = rng.choice(("small_real", "even", "one", "ok_65539", "ok_big", "weak_decoys", "weak_decoys",
                       "huge_exponent"))
    if kind == "weak_decoys":
        # weak keys in the set that the token does not select are harmless: ok
        dr.header.obj["kid"] = dr.kid
        dr.signer_entry["kid"] = dr.kid
        for _ in range(rng.randint(1, 3)):
            decoy = rng.choice((w.sized[1024], w.sized[1536], w.odd_e[3], fake_public_key(9000, 65537, rng),
                                fake_public_key(2048, rng.choice((65538, 4, 2**32)), rng), w.odd_e[65535]))
            kid = new_kid(rng)
            if kid not in dr.kids:
                dr.kids.add(kid)
                dr.jwks["keys"].insert(rng.randint(0, len(dr.jwks["keys"])), rsa_jwk(decoy, kid, "RS256", "sig", rng))
        return
    if kind == "huge_exponent":
        key = w.huge_e
        dr.ambiguous_because("odd exponent above 2^33 (README: only e < 65537 or even is weak; many libraries "
                             "refuse such keys)")
        _swap_signer(dr, key, rng)
        return
    if kind == "small_real":
        key = w.odd_e[rng.choice((3, 17, 65535))]
        dr.intend("weak_key", f"e={key.e}")
    elif kind == "even":
        key = fake_public_key(2048, rng.choice((65538, 65536, 131074, 4, 2, 2**32)), rng)
        dr.intend("weak_key", f"e={key.e}")
    elif kind == "one":
        key = fake_public_key(2048, rng.choice((1, 5, 257, 65535, 65533)), rng)
        dr.intend("weak_key", f"e={key.e}")
    else:
        key = w.odd_e[65539 if kind == "ok_65539" else 2**31 - 1]
    _swap_signer(dr, key, rng)


# ---------------------------------------------------------------- 6. signature


@defect("sig")
def signature_length(dr: Draft, rng: random.Random) -> None:
    """The signature must be exactly k octets."""
    kind = rng.choice(("drop_last", "drop_first", "append_zero", "prepend_zero", "append_byte", "half", "double",
                       "one_byte"))
    f = {
        "drop_last": lambda s: s[:-1],
        "drop_first": lambda s: s[1:],
        "append_zero": lambda s: s + b"\x00",
        "prepend_zero": lambda s: b"\x00" + s,
        "append_byte": lambda s: s + bytes([rng.randint(1, 255)]),
        "half": lambda s: s[: len(s) // 2],
        "double": lambda s: s + s,
        "one_byte": lambda s: s[:1],
    }[kind]
    dr.sig_fns.append(f)
    dr.intend("bad_signature", kind)


@defect("sig")
def signature_value(dr: Draft, rng: random.Random) -> None:
    """s >= n, s = 0, 1, n-1, bit flips, another token's signature."""
    kind = rng.choice(("s_eq_n", "s_plus_n", "zero", "one", "n_minus_1", "bitflip", "random", "all_ff"))

    def f(sig: bytes) -> bytes:
        n = _b64_int(dr.signer_entry["n"])
        k = max(len(sig), (n.bit_length() + 7) // 8)
        s = int.from_bytes(sig, "big")
        if kind == "s_eq_n":
            v = n
        elif kind == "s_plus_n":
            v = s + n if s + n < 256**k else n + 1
        elif kind == "zero":
            v = 0
        elif kind == "one":
            v = 1
        elif kind == "n_minus_1":
            v = n - 1
        elif kind == "bitflip":
            v = s ^ (1 << rng.randrange(8 * k))
        elif kind == "all_ff":
            v = 256**k - 1
        else:
            v = rng.getrandbits(8 * k)
        return v.to_bytes(k, "big")

    dr.sig_fns.append(f)
    dr.intend("bad_signature", kind)


def _forged_em(kind: str, alg: str, si: bytes, k: int, rng: random.Random) -> bytes:
    h = hash_fn(alg)(si).digest()
    di = DIGEST_INFO[alg[2:]]
    if kind == "missing_null":
        t = bytes([di[0] - 2, di[1], di[2] - 2]) + di[3:14] + di[16:] + h
    elif kind == "sha1_oid":
        t = bytes.fromhex("3021300906052b0e03021a05000414") + hashlib.sha1(si).digest()
    elif kind == "other_hash_oid":
        other = rng.choice([a for a in ("256", "384", "512") if a != alg[2:]])
        t = DIGEST_INFO[other] + _HASH[other](si).digest()
    elif kind == "wrong_oid_right_digest":
        other = rng.choice([a for a in ("256", "384", "512") if a != alg[2:]])
        t = DIGEST_INFO[other][:-1] + bytes([len(h)]) + h
    elif kind == "ber_length":
        t = bytes([0x30, 0x81, di[1]]) + di[2:] + h
    elif kind == "digest_of_other":
        t = di + hash_fn(alg)(si + b"x").digest()
    elif kind == "digest_truncated":
        t = di[:-1] + bytes([len(h) - 1]) + h[:-1]
    elif kind == "trailing_garbage":
        t = di + h + rng.randbytes(rng.randint(1, 8))
    else:
        t = di + h
    if kind == "block_type_2":
        return b"\x00\x02" + bytes(rng.randint(1, 255) for _ in range(k - len(t) - 3)) + b"\x00" + t
    if kind == "padding_not_ff":
        ps = bytearray(b"\xff" * (k - len(t) - 3))
        ps[rng.randrange(len(ps))] = rng.randint(0, 254)
        return b"\x00\x01" + bytes(ps) + b"\x00" + t
    if kind == "short_padding":
        return b"\x00\x01" + b"\xff" * 4 + b"\x00" + t + rng.randbytes(k - len(t) - 7)
    if kind == "no_zero_separator":
        return b"\x00\x01" + b"\xff" * (k - len(t) - 2) + t
    if kind == "leading_byte_1":
        return b"\x01\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


SIG_FORGE_KINDS = ("missing_null", "sha1_oid", "other_hash_oid", "wrong_oid_right_digest", "ber_length",
                   "digest_of_other", "digest_truncated", "trailing_garbage", "block_type_2", "padding_not_ff",
                   "short_padding", "no_zero_separator", "leading_byte_1", "pss_under_rs", "pkcs1_under_ps",
                   "pss_wrong_hash")


@defect("sign")
def signature_encoding(dr: Draft, rng: random.Random) -> None:
    """A signature by the right key over the right input, with a wrong EMSA encoding."""
    kind = rng.choice(SIG_FORGE_KINDS)

    def sign(si: bytes) -> bytes:
        key, alg = dr.signer, dr.signing_alg()
        if kind == "pss_under_rs" or (kind == "pkcs1_under_ps" and alg.startswith("RS")):
            # a PSS signature under an RS header (and the other way round)
            if alg.startswith("RS"):
                return key.sign("PS" + alg[2:], si, rng)
            return key.sign("RS" + alg[2:], si, rng)
        if kind == "pkcs1_under_ps":
            return key.sign("RS" + alg[2:], si, rng)
        if kind == "pss_wrong_hash":
            other = rng.choice([a for a in ("256", "384", "512") if a != alg[2:]])
            return key.sign(alg[:2] + other, si, rng)
        if alg.startswith("PS"):
            return key.sign("RS" + alg[2:], si, rng)
        return key.sign_em(_forged_em(kind, alg, si, key.k, rng))

    dr.sign_fn = sign
    dr.intend("bad_signature", kind)


@defect("sign", "hdr.alg", "opt.algorithms", "key", weight=0.6)
def signature_pss_salt(dr: Draft, rng: random.Random) -> None:
    """PSS with a salt length other than the hash length."""
    alg = rng.choice(("PS256", "PS384", "PS512"))
    dr.header.obj["alg"] = alg
    dr.signer_entry.pop("alg", None)
    dr.options["algorithms"] = sorted(set(dr.options["algorithms"]) | {alg}, key=SUPPORTED_ALGS.index)
    slen = rng.choice((0, 20, 32, 48, 64, 100))
    hlen = hash_fn(alg)().digest_size
    dr.sign_fn = lambda si: dr.signer.sign(alg, si, rng, salt=rng.randbytes(slen))
    if slen != hlen:
        dr.ambiguous_because(f"PSS salt length {slen} != hash length {hlen}: RFC 7518 §3.5 fixes it, "
                             "many verifiers accept any salt length")
        dr.intend("bad_signature", "pss salt")


@defect("sign", "signer")
def signature_wrong_input(dr: Draft, rng: random.Random) -> None:
    """Signed by another key, or over other bytes (tampered, payload only, decoded JSON, ...)."""
    kind = rng.choice(("other_key", "attacker", "payload_only", "header_only", "tampered", "decoded_input",
                       "padded_input", "other_alg_hash"))

    def sign(si: bytes) -> bytes:
        key, alg = dr.signer, dr.signing_alg()
        h, p = si.split(b".", 1)
        if kind == "other_key":
            return rng.choice([k for k in dr.world.k2048 if k is not key]).sign(alg, si, rng)
        if kind == "attacker":
            return dr.world.attacker.sign(alg, si, rng)
        if kind == "payload_only":
            return key.sign(alg, p, rng)
        if kind == "header_only":
            return key.sign(alg, h, rng)
        if kind == "tampered":
            return key.sign(alg, si[:-1] + (b"A" if si[-1:] != b"A" else b"B"), rng)
        if kind == "decoded_input":
            return key.sign(alg, (b64d_strict(h) or h) + b"." + (b64d_strict(p) or p), rng)
        if kind == "padded_input":
            return key.sign(alg, si + b"=", rng)
        return key.sign(alg[:2] + rng.choice([a for a in ("256", "384", "512") if a != alg[2:]]), si, rng)

    dr.sign_fn = sign
    if kind in ("other_key", "attacker"):
        dr.signer = dr.signer  # (the JWKS still holds the real key)
    dr.intend("bad_signature", kind)


@defect("sign", "hdr.json", "pl.json", "token", solo=True, weight=0.5)
def signature_leading_zero(dr: Draft, rng: random.Random) -> None:
    """A valid RS256 signature whose first octet is 0 (kept: k octets); stripping it is bad_signature."""
    key, hb, pb, sig = leading_zero_token(dr.world)
    dr.jwks = {"keys": [rsa_jwk(key, "lz", "RS256", "sig")]}
    dr.signer = key
    dr.signer_entry = dr.jwks["keys"][0]
    dr.cached = (hb, pb, sig)
    claims = parse_json(pb)
    dr.now = int(claims["iat"].text) + rng.randint(0, 100)
    o = dr.options
    o.update(issuers=[claims["iss"]], audiences=None, algorithms=["RS256"], token_type="Bearer", required_scopes=[],
             required_realm_roles=[], required_client_roles={}, required_claims=["exp"], min_rsa_bits=2048,
             max_rsa_bits=8192)
    if rng.random() < 0.5:
        dr.sig_fns.append(lambda s: s.lstrip(b"\x00"))
        dr.intend("bad_signature", "leading zero stripped")


@lru_cache(maxsize=None)
def leading_zero_token(world: World) -> Tuple[Rsa, bytes, bytes, bytes]:
    key = world.k2048[0]
    rng = random.Random(7)
    hb = b'{"alg":"RS256","typ":"JWT","kid":"lz"}'
    for i in range(100_000):
        pb = json.dumps({"exp": 1_900_000_000, "iat": 1_700_000_000, "iss": "https://sso.example.com/realms/demo",
                         "typ": "Bearer", "jti": f"lz-{i}"}).encode()
        si = (b64e(hb) + "." + b64e(pb)).encode()
        sig = key.sign("RS256", si, rng)
        if sig[0] == 0:
            return key, hb, pb, sig
    raise AssertionError("no leading-zero signature found")


# ---------------------------------------------------------------- 7. payload claim types and numbers


@defect("c.exp", "c.nbf", "c.iat", "c.iss", "c.aud")
def claim_wrong_type(dr: Draft, rng: random.Random) -> None:
    """exp/nbf/iat must be numbers in 0..=2^53, iss a string, aud a string or array of strings."""
    c = _claims(dr)
    name = rng.choice(("exp", "exp", "nbf", "iat", "iss", "aud"))
    if name in ("exp", "nbf", "iat"):
        base = dr.now + 100
        value = rng.choice((str(base), Raw("true"), Raw("false"), Raw("null"), [base], {"t": base}, Raw("-1"),
                            Raw("-0.5"), Raw(str(2**53 + 1)), Raw(str(2**53 + 2)), Raw("9223372036854775809"),
                            Raw("1e400"), Raw("-1e400"), Raw("1e16"), Raw("18446744073709551616"), Raw("-" + str(base)),
                            Raw("1E17"), "", Raw('"1751328000"')))
    elif name == "iss":
        value = rng.choice((Raw("42"), Raw("null"), [c.get("iss", "x")], {"iss": "x"}, Raw("true")))
    else:
        value = rng.choice((Raw("42"), Raw("null"), {"aud": "x"}, ["orders-api", 1], [None], [["orders-api"]],
                            Raw("true"), [{"a": 1}]))
    c[name] = value
    dr.intend("claim_type", name)


@defect("c.exp", "c.nbf", "c.iat", "opt.leeway")
def claim_numeric_forms(dr: Draft, rng: random.Random) -> None:
    """Valid NumericDate spellings: fractions (floored), exponents, -0, the 2^53 bounds."""
    c = _claims(dr)
    now, lw = dr.now, dr.options["leeway"]
    kind = rng.choice(("exp_fraction", "exp_exponent", "exp_2_53", "iat_minus_zero", "nbf_zero", "iat_2_53",
                       "nbf_2_53", "exp_float_int", "exp_exponent_2_53", "nbf_fraction", "iat_fraction",
                       "exp_tiny_fraction_f64", "exp_2_53_plus_fraction"))
    if kind == "exp_fraction":
        base = now + rng.randint(1, 1000)
        c["exp"] = Raw(f"{base}.{rng.choice(('25', '5', '999', '0001', '0'))}")
    elif kind == "exp_exponent":
        base = now + rng.randint(1, 10**6)
        digits = str(base)
        c["exp"] = Raw(f"{digits[0]}.{digits[1:]}{rng.choice(('e', 'E'))}{rng.choice(('', '+'))}{len(digits) - 1}")
    elif kind == "exp_exponent_2_53":
        c["exp"] = Raw(rng.choice(("9.007199254740992e15", "9007199254740992e0", "90071992547409920E-1")))
    elif kind == "exp_2_53":
        c["exp"] = Raw(str(2**53))
    elif kind == "iat_minus_zero":
        c["iat"] = Raw(rng.choice(("-0", "-0.0", "-0e0", "0e5", "0.0")))
    elif kind == "nbf_zero":
        c["nbf"] = Raw(rng.choice(("0", "-0", "0.000")))
    elif kind == "iat_2_53":
        c["iat"] = Raw(str(2**53))
        dr.intend("issued_in_future")
    elif kind == "nbf_2_53":
        c["nbf"] = Raw(rng.choice((str(2**53), "9.007199254740992E15")))
        dr.intend("not_yet_valid")
    elif kind == "exp_float_int":
        c["exp"] = Raw(f"{now + rng.randint(1, 1000)}.0")
    elif kind == "nbf_fraction":
        c["nbf"] = Raw(f"{now + lw}.{rng.choice(('5', '99', '01'))}")  # floor = now + leeway: still valid
    elif kind == "iat_fraction":
        c["iat"] = Raw(f"{now + lw}.{rng.choice(('5', '99', '01'))}")  # floor = now + leeway: still valid
    elif kind == "exp_tiny_fraction_f64":
        # floor is exp - 1 exactly, but a float64 parse rounds it up to exp
        base = now - lw + 1
        c["exp"] = Raw(f"{base - 1}.99999999999999999999")
        dr.intend("expired")
        dr.ambiguous_because("fraction beyond float64 precision: exact floor vs float rounding")
    else:
        c["exp"] = Raw(rng.choice((f"{2**53}.5", "9007199254740993.0", "9.007199254740993e15", f"{2**53}.000001")))
        dr.intend("claim_type", "just above 2^53")
        dr.ambiguous_because("just above 2^53 but equal to it after float64 rounding")


@defect("pl.claim.custom")
def claim_custom_numbers(dr: Draft, rng: random.Random) -> None:
    """Numbers in other claims keep their JSON value (huge ints, exponents, fractions)."""
    c = _claims(dr)
    c[rng.choice(("custom", "tenant_id", "balance", "x-num"))] = Raw(rng.choice((
        "123456789012345678901234567890", "18446744073709551616", "-9223372036854775809", "1.5", "1E3", "2.5e-3",
        "0", "-0", "100000000000000000000.0", "[1, 2.0, -3e2]", "{\"n\": 1e2}", "12345678901234567890123.5")))


# ---------------------------------------------------------------- 8. claims


@defect("c.exp", "c.iss", "c.aud", "c.typ", "c.other", "opt.required_claims", "opt.audiences", "opt.token_type")
def claim_missing(dr: Draft, rng: random.Random) -> None:
    """missing_claim: exp, iss always; aud when audiences set; typ when token_type set; required_claims."""
    c = _claims(dr)
    kind = rng.choice(("exp", "exp_not_listed", "iss", "aud", "typ", "listed", "aud_not_needed", "typ_not_needed",
                       "listed_present_escaped"))
    o = dr.options
    if kind in ("exp", "exp_not_listed"):
        c.pop("exp", None)
        if kind == "exp_not_listed":
            o["required_claims"] = [n for n in o["required_claims"] if n != "exp"]
        dr.intend("missing_claim", kind)
    elif kind == "iss":
        c.pop("iss", None)
        dr.intend("missing_claim", kind)
    elif kind == "aud":
        c.pop("aud", None)
        o["audiences"] = o["audiences"] or ["orders-api"]
        dr.intend("missing_claim", kind)
    elif kind == "aud_not_needed":
        c.pop("aud", None)
        o["audiences"] = None
        o["required_claims"] = [n for n in o["required_claims"] if n != "aud"]
    elif kind == "typ":
        c.pop("typ", None)
        o["token_type"] = o["token_type"] or "Bearer"
        dr.intend("missing_claim", kind)
    elif kind == "typ_not_needed":
        c.pop("typ", None)
        o["token_type"] = None
        o["required_claims"] = [n for n in o["required_claims"] if n != "typ"]
    elif kind == "listed":
        name = rng.choice(("sub", "azp", "jti", "sid", "email", "nbf", "auth_time", "tenant", "iat", "acr",
                           "Sub", "sub "))
        c.pop(name, None)
        o["required_claims"] = o["required_claims"] + [name]
        dr.intend("missing_claim", kind)
    else:
        name = rng.choice(("tenant", "sub", "jti"))
        val = c.pop(name, "v")
        items = list(c.items())
        items.append((RawKey('"' + "".join(_u(ord(ch), rng) for ch in name) + '"'), val if isinstance(val, str) else "v"))
        dr.payload.obj = dict(items)
        o["required_claims"] = o["required_claims"] + [name]


@defect("c.other", "opt.required_claims", weight=0.3)
def claim_required_null(dr: Draft, rng: random.Random) -> None:
    c = _claims(dr)
    name = rng.choice(("sub", "tenant"))
    c[name] = None
    dr.options["required_claims"] = dr.options["required_claims"] + [name]
    dr.ambiguous_because("a required claim present with value null: 'absent' or not?")


@defect("c.exp", "opt.leeway")
def claim_expired(dr: Draft, rng: random.Random) -> None:
    """expired iff now >= floor(exp) + leeway (boundaries exactly at the edge)."""
    c, now = _claims(dr), dr.now
    lw = rng.choice((0, 0, 1, 30, 60, 300, dr.options["leeway"]))
    dr.options["leeway"] = lw
    for name in ("iat", "nbf"):  # keep them valid under the new leeway
        if isinstance(c.get(name), int):
            c[name] = min(c[name], now)
    kind = rng.choice(("edge", "edge_minus_one", "edge_plus_one", "fraction_edge", "far", "zero", "fraction_ok"))
    if kind == "edge":  # now == exp + leeway
        c["exp"] = now - lw
        dr.intend("expired", kind)
    elif kind == "edge_minus_one":  # now == exp + leeway - 1 : still valid
        c["exp"] = now - lw + 1
    elif kind == "edge_plus_one":
        c["exp"] = now - lw - 1
        dr.intend("expired", kind)
    elif kind == "fraction_edge":  # floor(exp) + leeway == now although exp + leeway > now
        c["exp"] = Raw(f"{now - lw}.{rng.choice(('5', '9', '001'))}")
        dr.intend("expired", kind)
    elif kind == "fraction_ok":
        c["exp"] = Raw(f"{now - lw + 1}.{rng.choice(('0', '5'))}")
    elif kind == "far":
        c["exp"] = max(0, now - lw - rng.randint(2, 10**6))
        dr.intend("expired", kind)
    else:
        c["exp"] = 0
        dr.intend("expired", kind)
    if isinstance(c["exp"], int) and c["exp"] < 0:
        c["exp"] = 0
    if c["exp"] == 0 and now < lw:
        dr.intents = [i for i in dr.intents if i[1] != "expired"]


def _future_time(dr: Draft, rng: random.Random, claim: str, category: str, far: int, last: str) -> None:
    """``claim`` at, just past and far past ``now + leeway`` (``category`` beyond it), a
    fraction that floors to the edge, or the ``last`` variant: "past" or "absent"."""
    c, now, lw = _claims(dr), dr.now, dr.options["leeway"]
    kind = rng.choice(("edge_ok", "edge_plus_one", "far", "fraction_ok", last))
    if kind == "edge_ok":
        c[claim] = now + lw
    elif kind == "edge_plus_one":
        c[claim] = now + lw + 1
        dr.intend(category, kind)
    elif kind == "far":
        c[claim] = now + lw + rng.randint(2, far)
        dr.intend(category, kind)
    elif kind == "fraction_ok":
        c[claim] = Raw(f"{now + lw}.{rng.choice(('5', '999'))}")
    elif kind == "past":
        c[claim] = max(0, now - rng.randint(0, 10**6))
    else:
        c.pop(claim, None)
        dr.options["required_claims"] = [n for n in dr.options["required_claims"] if n != claim]


@defect("c.nbf", "opt.leeway")
def claim_not_before(dr: Draft, rng: random.Random) -> None:
    """not_yet_valid iff now < floor(nbf) - leeway."""
    _future_time(dr, rng, "nbf", "not_yet_valid", 10**7, "past")


@defect("c.iat", "opt.leeway", "opt.required_claims")
def claim_issued_at(dr: Draft, rng: random.Random) -> None:
    """issued_in_future iff floor(iat) > now + leeway."""
    _future_time(dr, rng, "iat", "issued_in_future", 10**8, "absent")


def _issuer_variants(iss: str) -> List[str]:
    out = [iss + "/", iss.upper(), iss.replace("https://", "http://"), iss + "\u0000", " " + iss, iss + " ",
           iss[:-1], iss + "x", iss.replace("/realms/", "/realms//"), iss.replace("https://", "HTTPS://"),
           iss.replace("o", "\u043e", 1), iss.replace("/", "\\/"), iss.replace("-", "%2D"), "",
           iss.replace("realms", "Realms"), iss.replace(":8443", "")]
    if "\u00fc" in iss:
        out.append(iss.replace("\u00fc", "u\u0308"))  # NFD vs NFC
    return [v for v in out if v != iss]


@defect("c.iss", "opt.issuers")
def claim_issuer(dr: Draft, rng: random.Random) -> None:
    """iss must be byte-for-byte one of issuers; JSON escapes are decoded first."""
    c = _claims(dr)
    iss = c["iss"]
    kind = rng.choice(("variant", "variant", "other_realm", "escaped_ok", "second_of_list"))
    if kind == "variant":
        bad = rng.choice(_issuer_variants(iss))
        if bad in dr.options["issuers"]:
            bad += "#"
        c["iss"] = bad
        dr.intend("wrong_issuer", kind)
    elif kind == "other_realm":
        other = _issuer(rng)
        if other not in dr.options["issuers"]:
            c["iss"] = other
            dr.intend("wrong_issuer", kind)
    elif kind == "escaped_ok":
        dr.payload.style.slash = True
        dr.payload.style.escape = max(dr.payload.style.escape, 0.2)
    else:
        dr.options["issuers"] = [_issuer(rng) + "/x", iss]


@defect("c.aud", "opt.audiences", "opt.required_claims")
def claim_audience(dr: Draft, rng: random.Random) -> None:
    """Any aud value in audiences; aud string or array; [] fails; no normalisation."""
    c, o = _claims(dr), dr.options
    kind = rng.choice(("string_miss", "array_miss", "empty_array", "near_miss", "second_in_array", "any_of_options",
                       "null_audiences"))
    if kind == "string_miss":
        c["aud"] = rng.choice(CLIENTS)
        o["audiences"] = [a for a in CLIENTS if a != c["aud"]][: rng.randint(1, 3)]
        dr.intend("wrong_audience", kind)
    elif kind == "array_miss":
        c["aud"] = rng.sample(CLIENTS, 3)
        o["audiences"] = [a for a in CLIENTS if a not in c["aud"]][: rng.randint(1, 2)]
        dr.intend("wrong_audience", kind)
    elif kind == "empty_array":
        c["aud"] = []
        o["audiences"] = o["audiences"] or ["orders-api"]
        dr.intend("wrong_audience", kind)
    elif kind == "near_miss":
        a = rng.choice(CLIENTS)
        c["aud"] = rng.choice((a + "s", a.upper(), a[:-1], " " + a, [a + "/"], a + "\u0000", [a.title()]))
        o["audiences"] = [a]
        dr.intend("wrong_audience", kind)
    elif kind == "second_in_array":
        c["aud"] = rng.sample(CLIENTS, 3)
        o["audiences"] = [c["aud"][2]]
    elif kind == "any_of_options":
        c["aud"] = rng.choice(CLIENTS)
        o["audiences"] = [a for a in CLIENTS if a != c["aud"]][:2] + [c["aud"]]
    else:
        c["aud"] = rng.choice((rng.choice(CLIENTS), [], rng.sample(CLIENTS, 2)))
        o["audiences"] = None
        o["required_claims"] = [n for n in o["required_claims"] if n != "aud"]


@defect("opt.audiences", weight=0.3)
def option_empty_audiences(dr: Draft, rng: random.Random) -> None:
    _claims(dr)["aud"] = rng.choice(CLIENTS)
    dr.options["audiences"] = []
    dr.intend("wrong_audience", "audiences []")
    dr.ambiguous_because("audiences = [] (set but empty): nothing matches, or 'not checked'?")


@defect("c.typ", "opt.token_type", "opt.required_claims")
def claim_type(dr: Draft, rng: random.Random) -> None:
    """The typ claim must equal token_type exactly; token_type null disables the check."""
    c, o = _claims(dr), dr.options
    kind = rng.choice(("wrong", "wrong", "disabled", "custom_ok", "escaped_ok"))
    if kind == "wrong":
        o["token_type"] = o["token_type"] or "Bearer"
        c["typ"] = rng.choice([t for t in ("ID", "Refresh", "Offline", "bearer", "Bearer ", "BEARER", "", "Logout",
                                           "Bearer\u0000", "Serialized-ID") if t != o["token_type"]])
        dr.intend("wrong_type", kind)
    elif kind == "disabled":
        o["token_type"] = None
        o["required_claims"] = [n for n in o["required_claims"] if n != "typ"]
        c["typ"] = rng.choice(("ID", "Refresh", "anything"))
    elif kind == "custom_ok":
        o["token_type"] = c["typ"] = rng.choice(("ID", "Refresh", "at+jwt", "B\u00e9arer"))
    else:
        o["token_type"] = c["typ"] = "Bearer"
        dr.payload.style.escape = 0.9


@defect("c.other", weight=0.4)
def claim_other_odd_types(dr: Draft, rng: random.Random) -> None:
    """Registered/Keycloak claims the policy does not use, with unusual JSON types."""
    c = _claims(dr)
    name = rng.choice(("sub", "jti", "azp", "sid", "auth_time", "email_verified", "acr", "name"))
    c[name] = rng.choice((Raw("42"), Raw("null"), ["x"], {"k": "v"}, Raw("true"), "string"))
    dr.options["required_claims"] = [n for n in dr.options["required_claims"] if n != name]
    dr.ambiguous_because("a claim the policy does not use has an unusual JSON type (README step 7 types only "
                         "exp/nbf/iat/iss/aud)")


@defect("c.typ", "opt.token_type", weight=0.3)
def claim_type_not_string(dr: Draft, rng: random.Random) -> None:
    _claims(dr)["typ"] = rng.choice((Raw("1"), Raw("null"), ["Bearer"], Raw("true")))
    dr.options["token_type"] = "Bearer"
    dr.intend("wrong_type", "non-string typ")
    dr.ambiguous_because("typ claim that is not a string: wrong_type or bad_json? (README lists only exp/nbf/iat/iss/aud)")


@defect("c.scope", "opt.required_scopes")
def claim_scope(dr: Draft, rng: random.Random) -> None:
    """Required scopes are whole, case-sensitive, space-separated words of scope."""
    c, o = _claims(dr), dr.options
    kind = rng.choice(("absent", "substring", "superstring", "case", "comma", "one_of_two", "empty", "extra_spaces_ok",
                       "all_present_ok"))
    words = _sample(rng, [w for w in SCOPES if w != "spark"], 1, 4)
    if kind == "absent":
        c.pop("scope", None)
        o["required_scopes"] = [rng.choice(SCOPES)]
        dr.intend("missing_scope", kind)
    elif kind == "substring":
        c["scope"] = " ".join(words + ["sparkle"])
        o["required_scopes"] = ["spark"]
        dr.intend("missing_scope", kind)
    elif kind == "superstring":
        c["scope"] = " ".join(words)
        o["required_scopes"] = [words[0] + "s"]
        dr.intend("missing_scope", kind)
    elif kind == "case":
        c["scope"] = " ".join(words)
        o["required_scopes"] = [words[0].upper() if words[0].upper() != words[0] else words[0] + "X"]
        dr.intend("missing_scope", kind)
    elif kind == "comma":
        c["scope"] = ",".join(words + ["email"]) if len(words) > 0 else "openid,email"
        o["required_scopes"] = ["email"]
        dr.intend("missing_scope", kind)
    elif kind == "one_of_two":
        c["scope"] = " ".join(words)
        o["required_scopes"] = [words[0], "never-granted"]
        rng.shuffle(o["required_scopes"])
        dr.intend("missing_scope", kind)
    elif kind == "empty":
        c["scope"] = ""
        o["required_scopes"] = [words[0]]
        dr.intend("missing_scope", kind)
    elif kind == "extra_spaces_ok":
        c["scope"] = "  " + "   ".join(words) + " "
        o["required_scopes"] = words[-1:]
    else:
        c["scope"] = " ".join(words)
        o["required_scopes"] = list(reversed(words))


@defect("c.scope", "opt.required_scopes", weight=0.3)
def claim_scope_odd(dr: Draft, rng: random.Random) -> None:
    kind = rng.choice(("tab", "array", "number"))
    c, o = _claims(dr), dr.options
    o["required_scopes"] = ["email"]
    if kind == "tab":
        c["scope"] = "openid\temail"
        dr.intend("missing_scope", kind)
        dr.ambiguous_because("scope separated by TAB: RFC 6749 §3.3 says %x20 only; README says space-separated")
    else:
        c["scope"] = ["openid", "email"] if kind == "array" else Raw("1")
        dr.intend("missing_scope", kind)
        dr.ambiguous_because("scope that is not a string: missing_scope or bad_json?")


@defect("c.roles", "opt.required_realm_roles", "opt.required_client_roles")
def claim_roles(dr: Draft, rng: random.Random) -> None:
    """Realm roles in realm_access.roles, client roles in resource_access.<client>.roles, exact names."""
    c, o = _claims(dr), dr.options
    kind = rng.choice(("realm_absent", "no_realm_access", "substring", "case", "client_role_as_realm",
                       "realm_role_as_client", "client_absent", "client_role_absent", "no_resource_access",
                       "all_ok", "client_ok", "many_roles_ok"))
    roles = _sample(rng, REALM_ROLES, 1, 4)
    client = rng.choice(CLIENTS)
    croles = _sample(rng, CLIENT_ROLES, 1, 3)
    c["realm_access"] = {"roles": roles}
    c["resource_access"] = {client: {"roles": croles}}
    o["required_realm_roles"], o["required_client_roles"] = [], {}
    if kind == "realm_absent":
        o["required_realm_roles"] = [rng.choice([r for r in REALM_ROLES if r not in roles])]
        dr.intend("missing_role", kind)
    elif kind == "no_realm_access":
        del c["realm_access"]
        o["required_realm_roles"] = [roles[0]]
        dr.intend("missing_role", kind)
    elif kind == "substring":
        c["realm_access"] = {"roles": ["administrator", "superuser"]}
        o["required_realm_roles"] = [rng.choice(("admin", "user"))]
        dr.intend("missing_role", kind)
    elif kind == "case":
        o["required_realm_roles"] = [roles[0].upper() if roles[0].upper() != roles[0] else roles[0].lower()]
        if o["required_realm_roles"][0] in roles:
            o["required_realm_roles"] = [roles[0] + "_"]
        dr.intend("missing_role", kind)
    elif kind == "client_role_as_realm":
        o["required_realm_roles"] = [r for r in croles if r not in roles][:1] or ["export-x"]
        dr.intend("missing_role", kind)
    elif kind == "realm_role_as_client":
        o["required_client_roles"] = {client: [r for r in roles if r not in croles][:1] or ["r-x"]}
        dr.intend("missing_role", kind)
    elif kind == "client_absent":
        other = rng.choice([x for x in CLIENTS if x != client])
        o["required_client_roles"] = {other: [croles[0]]}
        dr.intend("missing_role", kind)
    elif kind == "client_role_absent":
        o["required_client_roles"] = {client: croles[:1] + [rng.choice([r for r in CLIENT_ROLES if r not in croles])]}
        dr.intend("missing_role", kind)
    elif kind == "no_resource_access":
        del c["resource_access"]
        o["required_client_roles"] = {client: [croles[0]]}
        dr.intend("missing_role", kind)
    elif kind == "all_ok":
        o["required_realm_roles"] = list(reversed(roles))
    elif kind == "client_ok":
        o["required_client_roles"] = {client: croles}
        o["required_realm_roles"] = roles[:1]
    else:
        c["realm_access"] = {"roles": [f"role-{i}" for i in range(rng.randint(100, 300))]}
        o["required_realm_roles"] = [f"role-{rng.randint(0, 99)}"]


@defect("c.roles", "opt.required_realm_roles", "opt.required_client_roles", weight=0.3)
def claim_roles_odd(dr: Draft, rng: random.Random) -> None:
    c, o = _claims(dr), dr.options
    c["realm_access"] = rng.choice(({"roles": "admin"}, {"roles": [1, "admin"]}, Raw('"admin"'), {"roles": None}))
    o["required_realm_roles"] = ["admin"]
    o["required_client_roles"] = {}
    if not (isinstance(c["realm_access"], dict) and isinstance(c["realm_access"]["roles"], list)):
        dr.intend("missing_role", "odd realm_access")
    dr.ambiguous_because("realm_access / roles of the wrong JSON type: missing_role, bad_json, or (with a "
                         "string-typed sibling) ok?")


@defect("now", "opt.leeway", "c.exp", "c.iat", "c.nbf", weight=0.5, solo=True)
def extreme_now(dr: Draft, rng: random.Random) -> None:
    """Very small and very large clocks and leeways."""
    c, o = _claims(dr), dr.options
    kind = rng.choice(("small", "exp_zero_within_leeway", "near_2_53", "beyond_2_53", "max_leeway"))
    for name in ("nbf", "auth_time"):
        c.pop(name, None)
    o["required_claims"] = [n for n in o["required_claims"] if n not in ("nbf", "auth_time")]
    if kind == "small":
        dr.now = rng.randint(0, 1000)
        c["iat"] = rng.randint(0, dr.now)
        c["exp"] = dr.now + rng.randint(1, 1000)
    elif kind == "exp_zero_within_leeway":  # now < 0 + leeway: not expired
        o["leeway"] = rng.randint(2, 1000)
        dr.now = rng.randint(0, o["leeway"] - 1)
        c["iat"], c["exp"] = 0, 0
    elif kind == "near_2_53":
        dr.now = 2**53 - rng.randint(1, 1000)
        c["iat"] = dr.now - 1
        c["exp"] = 2**53
    elif kind == "beyond_2_53":
        o["leeway"] = rng.randint(0, 100)
        dr.now = 2**53 + o["leeway"] + rng.randint(0, 10**6)
        c["iat"] = 2**53 - 5
        c["exp"] = 2**53
        dr.intend("expired", kind)
    else:
        o["leeway"] = 315_360_000
        dr.now = rng.randint(10**9, 2 * 10**9)
        c["iat"] = dr.now + 315_360_000
        c["exp"] = dr.now - 315_360_000 + 1


# =============================================================================================
# Putting cases together
# =============================================================================================

#: Pairs whose relative order the rules leave open (see the README note that every bad_json /
#: bad_base64 / header-policy token is validly signed).
def _pair_ambiguity(intents: List[Tuple[float, str, str]]) -> Optional[str]:
    keys = {k for _, k, _ in intents}
    orders = sorted(o for o, _, _ in intents)
    if "sig_base64" in keys and any(3.1 <= o < 6.0 for o in orders):
        return "bad base64 signature vs an earlier step: are all segments decoded up front or at step 6?"
    if "pl_base64" in keys and any(3.1 <= o < 6.0 or o == 6.1 for o in orders):
        return "bad base64 payload vs an earlier step: are all segments decoded up front or at step 7?"
    if keys & {"pl_json", "claim_type"} and any(6.0 <= o < 7.0 for o in orders):
        return "payload JSON vs a bad signature (README: hidden cases avoid this pair)"
    if "unsupported_alg" in keys and "unsupported_header" in keys:
        return "alg vs crit/b64/cty: both step 4"
    return None


def _jsonable_options(o: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "issuers": list(o["issuers"]), "audiences": o["audiences"], "algorithms": list(o["algorithms"]),
        "leeway": o["leeway"], "token_type": o["token_type"], "required_scopes": list(o["required_scopes"]),
        "required_realm_roles": list(o["required_realm_roles"]),
        "required_client_roles": {k: list(v) for k, v in o["required_client_roles"].items()},
        "required_claims": list(o["required_claims"]), "min_rsa_bits": o["min_rsa_bits"],
        "max_rsa_bits": o["max_rsa_bits"], "max_token_bytes": o["max_token_bytes"],
    }


def _pick(rng: random.Random, pool: List[Defect]) -> Defect:
    return rng.choices(pool, weights=[d.weight for d in pool])[0]


def make_case(world: World, seed: int, index: int) -> Dict[str, Any]:
    rng = random.Random(f"{seed}:{index}")
    for _attempt in range(20):
        dr = base_draft(world, rng)
        r = rng.random()
        chosen: List[Defect] = []
        if r < 0.05:
            pass  # an unmodified valid token
        else:
            first = _pick(rng, DEFECTS)
            chosen.append(first)
            if r > 0.8 and not first.solo:
                pool = [d for d in DEFECTS if not d.solo and not (d.hooks & first.hooks) and d is not first]
                chosen.append(_pick(rng, pool))
        try:
            for d in chosen:
                d.fn(dr, rng)
                dr.families.append(d.name)
            if not any(usable_key(k, dr.options["algorithms"]) for k in dr.jwks["keys"]):
                continue  # a JWKS without usable key is a configuration error (README step 5): retry
            if not 2048 <= dr.options["min_rsa_bits"] <= dr.options["max_rsa_bits"] <= 16384:
                continue  # key-size bounds outside the floors are a configuration error: retry
            token = dr.build()
        except (ValueError, AssertionError, IndexError, KeyError, TypeError):
            continue  # a defect that does not apply to this base token: retry
        amb = _pair_ambiguity(dr.intents) if len(dr.intents) > 1 else None
        if amb:
            dr.ambiguous_because(amb)
        options = _jsonable_options(dr.options)
        jwks = json.loads(json.dumps(dr.jwks))
        verdict, value = reference_verify(token, jwks, options, dr.now)
        if verdict == "too_large" and dr.expected_intent() != "too_large":
            continue  # an accidental size overflow (deep JSON on a big token) would mask the defect: retry
        case: Dict[str, Any] = {
            "name": f"ref-{index:05d}-{'+'.join(dr.families) or 'valid'}",
            "token": token,
            "jwks": jwks,
            "now": dr.now,
            "options": options,
            "expect": "ok" if verdict == "ok" else {"error": verdict},
        }
        if verdict == "ok":
            case["claims"] = value
        case["why"] = f"families {dr.families}; intended {dr.expected_intent()}" + (
            f"; reference: {value}" if verdict != "ok" else "")
        case["family"] = dr.families
        case["intended"] = dr.expected_intent()
        case["ambiguous"] = dr.ambiguous
        return case
    raise AssertionError(f"case {index}: no applicable defect after 20 attempts")


def generate_cases(seed: int, count: int) -> List[Dict[str, Any]]:
    world = _world(seed)
    return [make_case(world, seed, i) for i in range(count)]


@lru_cache(maxsize=None)
def _world(seed: int) -> World:
    return World(seed)


def write_corpus(directory: Path, cases: Sequence[Dict[str, Any]],
                 unasserted: Callable[[Dict[str, Any]], bool] = lambda case: False) -> Dict[str, int]:
    """Cases in the corpus format (inline JWKS) under the two file names the C runner
    (``ffi/tests/corpus_ctypes.py``) reads; ambiguous and ``unasserted`` ones go to
    ``ambiguous/cases.jsonl`` instead, which no runner asserts."""
    directory.mkdir(parents=True, exist_ok=True)
    fields = ("name", "token", "jwks", "now", "options", "expect", "claims", "why")
    files: Dict[str, List[str]] = {"cases.jsonl": [], "wycheproof_jwt.jsonl": [], "ambiguous/cases.jsonl": []}
    for case in cases:
        line = json.dumps({k: case[k] for k in fields if k in case})
        if case["ambiguous"] or unasserted(case):
            files["ambiguous/cases.jsonl"].append(line)
        elif any(f.startswith("signature_") or f.startswith("weak_") for f in case["family"]):
            files["wycheproof_jwt.jsonl"].append(line)
        else:
            files["cases.jsonl"].append(line)
    (directory / "ambiguous").mkdir(exist_ok=True)
    for name, lines in files.items():
        (directory / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return {name: len(lines) for name, lines in files.items()}


if __name__ == "__main__":
    import sys

    # python3 _reference.py --write DIR [SEED COUNT]: no pytest or package needed.
    if len(sys.argv) in (3, 5) and sys.argv[1] == "--write":
        seed, count = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else (20250701, 3600)
        print(write_corpus(Path(sys.argv[2]), generate_cases(seed, count)))
    else:
        sys.exit("usage: _reference.py --write DIR [SEED COUNT]")
