"""The Python surface: options, errors, claims, HTTP helpers, key rotation."""

from __future__ import annotations

import collections.abc
import json
import pickle
import re
import subprocess
import sys
import time
from typing import Any, Dict, List

import pytest

import xconnauth
from _mint import RsaKey, access_token_claims, b64, jwks, mint, sign
from conftest import BENCH, DEMO_ISSUER, DEMO_NOW, EXAMPLES, HERE

ISS = "https://kc.example.test/realms/orders"


@pytest.fixture(scope="module")
def demo() -> Dict[str, Any]:
    return {
        "jwks": (EXAMPLES / "jwks.json").read_text(),
        "token": (EXAMPLES / "token.jwt").read_text().strip(),
        "policy": json.loads((EXAMPLES / "policy.json").read_text()),
    }


@pytest.fixture(scope="module")
def keys_a(key_a: RsaKey) -> xconnauth.KeySet:
    return xconnauth.KeySet.from_jwks(jwks(key_a.jwk("a")))


@pytest.fixture(scope="module")
def token_a(key_a: RsaKey) -> str:
    return mint(key_a, access_token_claims(ISS), kid="a")


def verifier(keys: xconnauth.KeySet, **options: Any) -> xconnauth.Verifier:
    return xconnauth.Verifier(keys, ISS, **options)


# Module ---------------------------------------------------------------------------------


def test_version_comes_from_cargo() -> None:
    cargo = (HERE.parent / "Cargo.toml").read_text()
    match = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert match and xconnauth.__version__ == match.group(1)


def test_public_names() -> None:
    for name in xconnauth.__all__:
        assert hasattr(xconnauth, name), name
    assert xconnauth.I2_CONNECT_PROBLEM_TYPE == "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb"
    assert set(xconnauth.ALGORITHMS) == {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    assert xconnauth.OPTION_NAMES[0] == "issuers" and len(xconnauth.OPTION_NAMES) == 14
    assert xconnauth.OPTION_NAMES[-1] == "cache_entries"


# KeySet ---------------------------------------------------------------------------------


def test_keyset_from_str_and_bytes(demo: Dict[str, Any]) -> None:
    a = xconnauth.KeySet.from_jwks(demo["jwks"])
    b = xconnauth.KeySet.from_jwks(demo["jwks"].encode())
    c = xconnauth.KeySet.from_jwks(bytearray(demo["jwks"].encode()))
    # The realm JWKS holds an RSA-OAEP enc key and an EC key besides the RS256 key.
    assert len(a) == len(b) == len(c) == 1
    assert a.kids == ["axxZI6gTmiL25UHJqyv5Ng7l6jk40vgF6A0mbMYHaOU"]
    assert "RS256, 2048 bits" in repr(a)


def test_keyset_skips_malformed_entries_with_reasons(key_a: RsaKey, token_a: str) -> None:
    """Issue 17 / DESIGN §5: one bad entry does not spoil the set; the reasons are kept."""
    good = key_a.jwk("a")
    bad: List[Any] = [
        {"kty": "RSA", "use": None, "kid": "u", "n": good["n"], "e": "AQAB"},
        {"kty": "RSA", "kid": 7, "n": good["n"], "e": "AQAB"},
        {"kty": "RSA", "kid": "pad", "n": good["n"] + "==", "e": "AQAB"},
        {"kty": "RSA", "kid": "no-e", "n": good["n"]},
        "not a key",
        {"kty": "EC", "kid": "ec", "crv": "P-256"},
    ]
    keys = xconnauth.KeySet.from_jwks(json.dumps({"keys": bad + [good]}))
    assert keys.kids == ["a"]
    assert keys.skipped == [
        {"index": 0, "kid": "u", "reason": '"use" is a null, not a string'},
        {"index": 1, "kid": None, "reason": '"kid" is a number, not a string'},
        {"index": 2, "kid": "pad", "reason": '"n" is not unpadded base64url'},
        {"index": 3, "kid": "no-e", "reason": 'missing "e"'},
        {"index": 4, "kid": None, "reason": "the entry is a string, not an object"},
        {"index": 5, "kid": "ec", "reason": 'kty is "EC", not RSA'},
    ]
    assert verifier(keys).verify(token_a, now=DEMO_NOW)["iss"] == ISS
    assert xconnauth.KeySet.from_jwks(jwks(good)).skipped == []
    with pytest.raises(xconnauth.ConfigError, match='key "no-e": missing "e"'):
        xconnauth.KeySet.from_jwks(json.dumps({"keys": bad}))


@pytest.mark.parametrize(
    "doc",
    ["", "[]", '{"keys":[]}', '{"keys":[{"kty":"EC","crv":"P-256"}]}', '{"keys":[], "keys":[]}', "\ud800"],
)
def test_keyset_config_errors(doc: str) -> None:
    with pytest.raises(xconnauth.ConfigError) as info:
        xconnauth.KeySet.from_jwks(doc)
    assert isinstance(info.value, ValueError) and str(info.value)


def test_keyset_type_error() -> None:
    with pytest.raises(TypeError, match="jwks must be str or bytes"):
        xconnauth.KeySet.from_jwks({"keys": []})  # type: ignore[arg-type]


# Options --------------------------------------------------------------------------------


def test_defaults(keys_a: xconnauth.KeySet) -> None:
    p = verifier(keys_a).policy
    assert p == {
        "issuers": (ISS,),
        "audiences": None,
        "algorithms": ("RS256",),
        "leeway": 30,
        "token_type": "Bearer",
        "required_scopes": (),
        "required_realm_roles": (),
        "required_client_roles": {},
        "required_claims": ("exp",),
        "min_rsa_bits": 2048,
        "max_rsa_bits": 8192,
        "max_token_bytes": 16384,
        "header_types": None,
        "cache_entries": 0,
    }
    assert set(p) == set(xconnauth.OPTION_NAMES)


def test_every_option(keys_a: xconnauth.KeySet) -> None:
    v = xconnauth.Verifier(
        keys_a,
        issuers=[ISS, "https://other/realms/x"],
        audiences="orders-api",
        algorithms=["RS256", "PS256"],
        leeway=0,
        token_type=None,
        required_scopes=("orders:read",),
        required_realm_roles=["user"],
        required_client_roles={"orders-api": ["orders:read"]},
        required_claims=["exp", "sub"],
        min_rsa_bits=2048,
        max_rsa_bits=4096,
        max_token_bytes=4096,
        header_types="at+jwt",
    )
    p = v.policy
    assert p["issuers"] == (ISS, "https://other/realms/x")
    assert p["audiences"] == ("orders-api",)
    assert p["algorithms"] == ("RS256", "PS256")
    assert p["token_type"] is None and p["leeway"] == 0
    assert p["required_client_roles"] == {"orders-api": ("orders:read",)}
    assert (p["max_rsa_bits"], p["max_token_bytes"]) == (4096, 4096)
    assert p["header_types"] == ("at+jwt",)
    assert "Verifier(issuers=[" in repr(v)


def test_every_shown_option_is_accepted_back(keys_a: xconnauth.KeySet) -> None:
    # Python translates values only; core's one parser knows the options, so whatever
    # core shows in `policy` is a keyword the constructor takes, with no Python code
    # per option.
    v = verifier(keys_a, audiences="orders-api", required_client_roles={"c": ["r"]}, header_types="at+jwt")
    p = v.policy
    assert list(p) == list(xconnauth.OPTION_NAMES)
    assert xconnauth.Verifier(keys_a, **p).policy == p
    assert xconnauth._xconnauth.validate_options(**p) is None
    assert verifier(keys_a, required_client_roles=None).policy["required_client_roles"] == {}


def test_mapping_options_need_not_be_dicts(keys_a: xconnauth.KeySet, token_a: str) -> None:
    roles = collections.OrderedDict([("orders-api", ("orders:read",))])
    v = verifier(keys_a, required_client_roles=roles, audiences=("orders-api", "x"))
    assert v.verify(token_a, now=1_764_000_000)["azp"] == "web-portal"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"issuers": 5}, "issuers must be a str or a sequence of str"),
        ({"issuers": [ISS, 5]}, "issuers must be a str or a sequence of str"),
        ({"audiences": 5}, "audiences must be a str or a sequence of str"),
        ({"algorithms": "RS256"}, "algorithms must be a sequence of str, not a single str"),
        ({"required_scopes": "openid"}, "required_scopes must be a sequence of str"),
        ({"required_realm_roles": [1]}, "required_realm_roles must hold only str values"),
        ({"required_claims": None}, "required_claims must be a sequence of str"),
        ({"required_client_roles": ["a"]}, "required_client_roles must be a mapping"),
        ({"required_client_roles": {"c": "role"}}, 'required_client_roles["c"] must be a sequence of str'),
        ({"required_client_roles": {1: ["r"]}}, "required_client_roles keys must hold only str values, not int"),
        ({"leeway": 1.5}, "leeway must be an int, not float"),
        ({"leeway": True}, "leeway must be an int, not bool"),
        ({"leeway": None}, "leeway must be an int, not NoneType"),
        ({"token_type": 1}, "token_type must be a str or None"),
        ({"header_types": 1}, "header_types must be a str or a sequence of str"),
        ({"header_types": ["at+jwt", None]}, "header_types must be a str or a sequence of str"),
        ({"min_rsa_bits": "2048"}, "min_rsa_bits must be an int"),
        ({"issuer": ISS}, "unexpected keyword argument \"issuer\""),
    ],
)
def test_type_errors(keys_a: xconnauth.KeySet, options: Dict[str, Any], message: str) -> None:
    options.setdefault("issuers", ISS)
    with pytest.raises(TypeError) as info:
        xconnauth.Verifier(keys_a, **options)
    assert message in str(info.value)


def test_argument_shape_errors(keys_a: xconnauth.KeySet) -> None:
    with pytest.raises(TypeError):
        xconnauth.Verifier(keys_a)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        xconnauth.Verifier(keys_a, ISS, None)  # type: ignore[misc]
    with pytest.raises(TypeError, match="keys must be a KeySet"):
        xconnauth.Verifier("jwks", ISS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"issuers": []}, "at least one issuer"),
        ({"issuers": ""}, "issuer is the empty string"),
        ({"algorithms": ["HS256"]}, 'algorithm "HS256" is not supported'),
        ({"algorithms": ["none"]}, 'algorithm "none" is not supported'),
        ({"algorithms": []}, "algorithms is empty"),
        ({"leeway": -1}, '"leeway" must be an integer in 0..='),
        ({"leeway": 10**30}, '"leeway" must be an integer in 0..='),
        ({"min_rsa_bits": 4096, "max_rsa_bits": 2048}, "min_rsa_bits 4096"),
        ({"max_rsa_bits": 20000}, '"max_rsa_bits" must be an integer'),
        ({"max_rsa_bits": 16385}, '"max_rsa_bits" must be an integer'),
        ({"min_rsa_bits": 16}, "min_rsa_bits 16 is below 2048"),
        ({"min_rsa_bits": 2047}, "min_rsa_bits 2047 is below 2048"),
        ({"min_rsa_bits": 0, "max_rsa_bits": 1024}, "min_rsa_bits 0 is below 2048"),
        ({"max_token_bytes": 0}, "max_token_bytes must be in 1..="),
        ({"required_scopes": ["a b"]}, "contains a space"),
        ({"required_claims": [""]}, "required_claims holds an empty name"),
    ],
)
def test_config_errors(keys_a: xconnauth.KeySet, options: Dict[str, Any], message: str) -> None:
    options.setdefault("issuers", ISS)
    with pytest.raises(xconnauth.ConfigError) as info:
        xconnauth.Verifier(keys_a, **options)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


def test_no_key_usable_with_the_algorithms(keys_a: xconnauth.KeySet) -> None:
    # The key is pinned to RS256 by its JWK "alg".
    with pytest.raises(xconnauth.ConfigError, match="no key in the key set"):
        verifier(keys_a, algorithms=["PS256"])


# verify -------------------------------------------------------------------------------


def test_verify_returns_the_whole_payload(key_a: RsaKey, keys_a: xconnauth.KeySet) -> None:
    payload = access_token_claims(ISS, extra={"nested": [1, 2.5, None, True, {"ü": "\u2603"}]}, big=2**70)
    token = mint(key_a, payload, kid="a")
    claims = verifier(keys_a).verify(token, now=1_764_000_000)
    assert claims == payload and payload == claims
    assert dict(claims) == payload
    assert claims["big"] == 2**70 and isinstance(claims["extra"]["nested"][1], float)
    assert claims.json is not None and json.loads(claims.json) == payload


def test_claims_are_decoded_on_first_access(keys_a: xconnauth.KeySet, token_a: str) -> None:
    claims = verifier(keys_a).verify(token_a, now=1_764_000_000)
    assert claims._dict is None  # verify did not run json.loads
    assert claims.json is not None and claims == json.loads(claims.json)
    assert claims._dict is not None and claims["iss"] == ISS


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (``1 == 1.0`` and ``0.0 == -0.0``
    are not enough here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def test_payload_values_are_what_json_loads_gives(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    base = json.dumps(access_token_claims(ISS))[:-1]
    extra = (
        r', "n": [0, -0, 1, -1, 9223372036854775807, -9223372036854775808, 9223372036854775808,'
        r' -9223372036854775809, 123456789012345678901234567890, 0.1, -0.0, 1.0, 1e400, -1E+400,'
        r' 1e-400, 2.5E-3, 1.7976931348623157e308, 5e-324, 123456789012345678.9],'
        r' "s": ["", "plain", "caf\u00e9 \ud83d\ude00", "tab\tnl\nq\"bs\\sl\/", "\u0000",'
        ' "\u00fc \u2603 \U0001F600"],'
        r' "o": {"": {}, "a": [[], {}], "\u00fc": null, "t": true, "f": false},'
        r' "\u0073ub2": "escaped name"}'
    )
    text = base + extra
    claims = verifier(keys_a).verify(_mint_raw(key_a, text), now=1_764_000_000)
    expected = json.loads(text)
    assert _same(dict(claims), expected) and claims.json == text
    assert claims["n"][12] == float("inf") and repr(claims["n"][10]) == "-0.0"
    assert claims["sub2"] == "escaped name" and claims["s"][5] == "\u00fc \u2603 \U0001F600"


def test_single_claims_are_read_without_decoding_the_payload(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    base = json.dumps(access_token_claims(ISS))[:-1]
    scalars = [
        "0", "-0", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "123456789012345678901234567890", "0.1", "-0.0", "1.0", "1e400", "-1E+400", "1e-400",
        "5e-324", "123456789012345678.9", "true", "false", "null", '""',
        r'"caf\u00e9 \ud83d\ude00"', r'"tab\tnl\nq\"bs\\sl\/"', r'"\u0000"', '"\u00fc \u2603"',
    ]
    text = base + "".join(f', "k{i}": {t}' for i, t in enumerate(scalars)) + r', "\u0073ub2": "x", "l": [{"a": 1}]}'
    token = _mint_raw(key_a, text)
    expected = json.loads(text)
    v = verifier(keys_a)
    for name, want in expected.items():
        claims = v.verify(token, now=1_764_000_000)
        got = claims[name]
        assert _same(got, want), name
        # A scalar comes straight from the token; a list or object decodes the payload
        # once, so that it stays one object, as in a dict.
        assert (claims._dict is None) == (not isinstance(want, (list, dict))), name
        if isinstance(want, (list, dict)):
            assert claims[name] is got
    claims = v.verify(token, now=1_764_000_000)
    with pytest.raises(KeyError):
        claims["nope"]
    assert claims.get("nope") is None and claims.get("k17", 5) is None
    assert claims.subject == expected["sub"] and claims.issuer == ISS
    assert claims.scopes == frozenset(expected["scope"].split())
    assert claims.realm_roles == frozenset(expected["realm_access"]["roles"])
    for client, access in expected["resource_access"].items():
        assert claims.client_roles(client) == frozenset(access["roles"])
    assert claims.client_roles("nope") == frozenset()
    assert claims._dict is None  # none of the above decoded the whole payload
    assert claims.header["kid"] == "a" and claims.json == text
    assert _same(dict(claims), expected) and claims._dict is not None
    # Once decoded, the mapping answers from the dict, as before.
    assert claims.scopes == frozenset(expected["scope"].split())


def test_escaped_scope_and_roles(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    base = json.dumps({k: v for k, v in access_token_claims(ISS).items() if k not in ("scope", "realm_access")})[:-1]
    text = base + r', "scope": "a\u0020b  c\u00e9", "realm_access": {"roles": ["r\u00fc", "x"]}}'
    claims = verifier(keys_a).verify(_mint_raw(key_a, text), now=1_764_000_000)
    assert claims.scopes == frozenset({"a", "b", "c\u00e9"})
    assert claims.realm_roles == frozenset({"r\u00fc", "x"})
    assert claims["scope"] == "a b  c\u00e9" and claims._dict is None


def _mint_raw(key: RsaKey, payload_json: str) -> str:
    """A token whose payload is exactly ``payload_json`` (json.dumps cannot write
    integers beyond Python's digit limit)."""
    hdr = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "a"}).encode())
    signing_input = (hdr + "." + b64(payload_json.encode())).encode()
    return signing_input.decode() + "." + b64(sign(key, signing_input))


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="no integer digit limit in this Python")
def test_integers_beyond_the_digit_limit(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    v = verifier(keys_a)
    base = json.dumps(access_token_claims(ISS))[:-1]
    big = "7" * 700
    token = _mint_raw(key_a, base + ', "big": ' + big + ', "id": "' + "1" * 5000 + '"}')
    # A digit run longer than the lowest possible limit: decoded inside verify.
    claims = v.verify(token, now=1_764_000_000)
    assert claims._dict is not None and claims["big"] == int(big) and claims["id"] == "1" * 5000
    limit = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(650)
        with pytest.raises(xconnauth.TooLarge, match=r"get_int_max_str_digits") as info:
            v.verify(token, now=1_764_000_000)
        assert info.value.code == "too_large" and info.value.status == 401
        # A long digit run inside a string is no integer: still accepted.
        ok = _mint_raw(key_a, base + ', "id": "' + "1" * 5000 + '"}')
        assert v.verify(ok, now=1_764_000_000)["id"] == "1" * 5000
        sys.set_int_max_str_digits(0)
        assert v.verify(token, now=1_764_000_000)["big"] == int(big)
    finally:
        sys.set_int_max_str_digits(limit)


def test_digit_runs_decoded_in_verify_exactly_when_over_640(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    # verify looks for a digit run longer than 640 (the lowest int digit limit Python
    # allows) at one byte in 640; every run length around the limit at offsets that put
    # its ends on either side of those bytes must still be found, or missed, exactly.
    v = verifier(keys_a)
    base = json.dumps(access_token_claims(ISS))[:-1]
    for pad in (0, 1, 2, 317, 638, 639, 640):
        for length in (639, 640, 641, 642, 1281):
            text = base + ', "pad": "' + "x" * pad + '", "n": ' + "9" * length + "}"
            claims = v.verify(_mint_raw(key_a, text), now=1_764_000_000)
            assert (claims._dict is not None) == (length > 640), (pad, length)
            assert claims["n"] == int("9" * length)


def test_scope_and_role_sets_are_shared_only_between_equal_texts(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    # The compiled module keeps the frozensets of scope strings and role lists it built,
    # by their JSON text: equal texts share one set, other texts never see it, past the
    # 256 kept per kind (the cache starts again) and beyond the 1 KiB text limit.
    v = verifier(keys_a)
    base = {k: c for k, c in access_token_claims(ISS).items() if k not in ("scope", "realm_access")}

    def mint(scope: str, roles: "list[str]") -> xconnauth.Claims:
        text = json.dumps({**base, "scope": scope, "realm_access": {"roles": roles}})
        return v.verify(_mint_raw(key_a, text), now=1_764_000_000)

    long_role = "r" * 2000
    cases = [(f"openid s{n % 300}", [f"role{n % 300}", "user"]) for n in range(700)]
    cases += [("a " * 600, [long_role]), ("a " * 600, [long_role, "x"])]
    for scope, roles in cases:
        claims = mint(scope, roles)
        assert claims.scopes == frozenset(scope.split()), scope
        assert claims.realm_roles == frozenset(roles), roles
    first, again = mint("openid s1", ["role1", "user"]), mint("openid s1", ["role1", "user"])
    assert first.scopes is again.scopes and first.realm_roles is again.realm_roles
    other = mint("openid s1", ["user", "role1"])
    assert other.realm_roles == first.realm_roles and other.realm_roles is not first.realm_roles


def test_core_timing_hook(keys_a: xconnauth.KeySet, token_a: str, key_a: RsaKey) -> None:
    # Verifier._core_seconds: python/bench/bench.py's same-process reference.
    v = verifier(keys_a)
    assert v._core_seconds(token_a, 1_764_000_000, 3) > 0
    with pytest.raises(xconnauth.Expired):
        v._core_seconds(token_a, 1_764_000_000 + 10_000, 1)


def test_bench_script_runs() -> None:
    script = HERE.parent / "bench" / "bench.py"
    args = ["--rounds", "2", "--seconds", "0.002", "--throughput-seconds", "0.02"]
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Rust core (same process)" in out.stdout and "x the Rust core" in out.stdout


def test_rfc9068_header_types(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    """RFC 9068 access tokens: header typ at+jwt, no typ claim; the one-line policy."""
    claims = access_token_claims(ISS, client_id="svc")
    del claims["typ"]
    at_jwt = mint(key_a, claims, kid="a", header={"typ": "at+jwt"})
    plain_jwt = mint(key_a, claims, kid="a")  # header typ JWT
    now = 1_764_000_000
    # The default policy refuses it and says which options apply.
    with pytest.raises(xconnauth.MissingClaim) as info:
        verifier(keys_a).verify(at_jwt, now=now)
    assert 'set token_type to null and header_types to ["at+jwt"]' in str(info.value)
    v = verifier(keys_a, audiences="orders-api", token_type=None, header_types=["at+jwt"])
    assert v.verify(at_jwt, now=now)["client_id"] == "svc"
    assert v.verify(mint(key_a, claims, kid="a", header={"typ": "application/AT+JWT"}), now=now)
    for bad in (plain_jwt, mint(key_a, claims, kid="a", header={"typ": None})):
        with pytest.raises(xconnauth.WrongType, match="header_types") as err:
            v.verify(bad, now=now)
        assert err.value.code == "wrong_type"
    # Step 4: the header type is refused before the signature is looked at.
    with pytest.raises(xconnauth.WrongType):
        v.verify(plain_jwt[:-4] + ("AAAA" if not plain_jwt.endswith("AAAA") else "BBBB"), now=now)
    with pytest.raises(xconnauth.ConfigError, match="header_types is empty"):
        verifier(keys_a, header_types=[])
    # Off by default: the header typ is not looked at.
    assert verifier(keys_a, token_type=None).verify(plain_jwt, now=now)


def test_token_types(keys_a: xconnauth.KeySet, token_a: str) -> None:
    v = verifier(keys_a)
    for token in (token_a, token_a.encode(), bytearray(token_a.encode())):
        assert v.verify(token, now=1_764_000_000)["iss"] == ISS
    with pytest.raises(TypeError, match="token must be str or bytes"):
        v.verify(123, now=1)  # type: ignore[arg-type]
    with pytest.raises(xconnauth.Malformed, match="not valid UTF-8"):
        v.verify("abc\ud800.def.ghi", now=1)


def test_now(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    v = verifier(keys_a, leeway=0)
    token = mint(key_a, access_token_claims(ISS, now=1_764_000_000), kid="a")  # exp = now + 300
    exp = 1_764_000_300
    assert v.verify(token, now=exp - 1)
    assert v.verify(token, now=exp - 0.5)  # floored
    with pytest.raises(xconnauth.Expired):
        v.verify(token, now=exp)
    with pytest.raises(xconnauth.Expired):
        v.verify(token)  # the system clock: 2025 is long past
    with pytest.raises(ValueError, match="non-negative"):
        v.verify(token, now=-1)
    with pytest.raises(ValueError, match="finite"):
        v.verify(token, now=float("nan"))
    with pytest.raises(TypeError, match="not bool"):
        v.verify(token, now=True)
    with pytest.raises(TypeError, match="not str"):
        v.verify(token, now="1764000000")  # type: ignore[arg-type]


def test_system_clock(key_a: RsaKey, keys_a: xconnauth.KeySet) -> None:
    now = int(time.time())
    token = mint(key_a, access_token_claims(ISS, now=now), kid="a")
    assert verifier(keys_a).verify(token)["exp"] == now + 300


def test_verify_header(keys_a: xconnauth.KeySet, token_a: str) -> None:
    v = verifier(keys_a)
    for value in (f"Bearer {token_a}", f"bearer {token_a}", f"  BEARER {token_a} ", f"Bearer {token_a}".encode()):
        assert v.verify_header(value, now=1_764_000_000)["sub"]
    for value in ("", "Bearer", f"Basic {token_a}", token_a, f"Bearer  x {token_a}"):
        with pytest.raises(xconnauth.Malformed):
            v.verify_header(value, now=1_764_000_000)
    with pytest.raises(xconnauth.Malformed):
        v.verify_header(b"Bearer \xff", now=1)
    with pytest.raises(xconnauth.Malformed):
        v.verify(f"Bearer {token_a}", now=1_764_000_000)


def test_demo_policy(demo: Dict[str, Any]) -> None:
    keys = xconnauth.KeySet.from_jwks(demo["jwks"])
    v = xconnauth.Verifier(keys, **demo["policy"])
    claims = v.verify(demo["token"], now=DEMO_NOW)
    assert claims.subject and claims.issuer == DEMO_ISSUER
    assert "spark" in claims.scopes and "reader" in claims.client_roles("product-factory")
    tampered = (EXAMPLES / "tampered.jwt").read_text().strip()
    with pytest.raises(xconnauth.BadSignature):
        v.verify(tampered, now=DEMO_NOW)
    expired = (EXAMPLES / "expired.jwt").read_text().strip()
    with pytest.raises(xconnauth.Expired):
        v.verify(expired, now=DEMO_NOW)


# Claims -------------------------------------------------------------------------------


def test_claims_mapping(keys_a: xconnauth.KeySet, token_a: str) -> None:
    claims = verifier(keys_a).verify(token_a, now=1_764_000_000)
    assert isinstance(claims, collections.abc.Mapping)
    assert not isinstance(claims, collections.abc.MutableMapping)
    assert len(claims) == len(list(claims)) and "iss" in claims and "nope" not in claims
    assert claims.get("nope") is None and claims["typ"] == "Bearer"
    with pytest.raises(TypeError):
        claims["iss"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(claims)
    assert claims != {"iss": ISS} and claims != 5 and not (claims == [1])
    assert claims == verifier(keys_a).verify(token_a, now=1_764_000_000)
    assert claims.header == {"alg": "RS256", "typ": "JWT", "kid": "a"}
    assert claims.subject == "f3e520a6-5ee5-5d34-8753-3cb8c63cbf3e" and claims.issuer == ISS
    assert claims.audiences == ("orders-api", "account")
    assert claims.scopes == {"openid", "profile", "orders:read"}
    assert claims.realm_roles == {"user", "offline_access"}
    assert claims.client_roles("orders-api") == {"orders:read"} and claims.client_roles("x") == frozenset()
    copy = claims.to_dict()
    copy["realm_access"]["roles"].append("admin")
    assert "admin" not in claims.realm_roles
    assert repr(claims).startswith("Claims({")
    assert pickle.loads(pickle.dumps(claims)) == claims
    hand = xconnauth.Claims({"a": 1})
    assert hand == {"a": 1} and hand.json is None and hand.header == {}
    # Claims built from a mapping (pickle, by hand) answer from it, not from a token.
    rebuilt = pickle.loads(pickle.dumps(claims))
    assert rebuilt._payload is None
    assert rebuilt.scopes == claims.scopes and rebuilt.realm_roles == claims.realm_roles
    hand2 = xconnauth.Claims({"scope": " a  b ", "realm_access": {"roles": ["r", 5]}})
    assert hand2.scopes == {"a", "b"} and hand2.realm_roles == {"r"}
    assert xconnauth.Claims({"scope": 3}).scopes == frozenset() == xconnauth.Claims({}).realm_roles


# Errors -------------------------------------------------------------------------------


def test_every_core_category_has_its_class() -> None:
    assert len(xconnauth.ERROR_CODES) == 19
    for code in xconnauth.ERROR_CODES:
        cls = xconnauth.exception_class(code)
        if code == "keys_unavailable":
            # Not a token error: the token may be fine (503), so not an InvalidToken.
            assert cls is xconnauth.KeysUnavailable and cls.status == 503
            assert issubclass(cls, xconnauth.JWKSError) and not issubclass(cls, xconnauth.InvalidToken)
            continue
        assert issubclass(cls, xconnauth.InvalidToken) and cls is not xconnauth.InvalidToken
        assert cls.code == code
        assert getattr(xconnauth, cls.__name__) is cls
        assert cls.status == (403 if code in ("missing_scope", "missing_role") else 401)
    with pytest.raises(KeyError):
        xconnauth.exception_class("nope")


def test_exception_attributes(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    token = mint(key_a, access_token_claims(ISS), kid="a")
    v = verifier(keys_a, required_realm_roles=["admin"])
    with pytest.raises(xconnauth.MissingRole) as info:
        v.verify(token, now=1_764_000_000)
    exc = info.value
    assert exc.code == "missing_role" and exc.status == 403
    assert exc.message == "a required realm role is not granted (admin)"
    assert str(exc) == "missing_role: a required realm role is not granted (admin)"
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is xconnauth.MissingRole and again.message == exc.message


def test_messages_never_echo_the_token(keys_a: xconnauth.KeySet, key_a: RsaKey) -> None:
    token = mint(key_a, access_token_claims("https://evil.example/SECRET-ISSUER"), kid="a")
    with pytest.raises(xconnauth.WrongIssuer) as info:
        verifier(keys_a).verify(token, now=1_764_000_000)
    text = str(info.value) + xconnauth.problem_json(info.value) + xconnauth.www_authenticate(info.value)
    assert "SECRET" not in text


# HTTP helpers ---------------------------------------------------------------------------


def test_www_authenticate(keys_a: xconnauth.KeySet, token_a: str) -> None:
    v = verifier(keys_a, required_scopes=["orders:write"])
    with pytest.raises(xconnauth.MissingScope) as info:
        v.verify(token_a, now=1_764_000_000)
    assert xconnauth.www_authenticate(info.value, realm="orders") == (
        'Bearer realm="orders", error="insufficient_scope", '
        'error_description="a required scope is not granted (orders:write)"'
    )
    with pytest.raises(xconnauth.Expired) as expired:
        v.verify(token_a, now=2_000_000_000)
    assert xconnauth.www_authenticate(expired.value) == (
        'Bearer error="invalid_token", error_description="the token has expired"'
    )
    assert xconnauth.www_authenticate(expired.value, 'a"b') .startswith('Bearer realm="a\\"b", ')


def test_problem_details(keys_a: xconnauth.KeySet, token_a: str) -> None:
    with pytest.raises(xconnauth.WrongAudience) as info:
        verifier(keys_a, audiences="billing").verify(token_a, now=1_764_000_000)
    assert xconnauth.problem_details(info.value) == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "aud holds no accepted audience",
        "error": "wrong_audience",
    }
    p = xconnauth.problem_details(info.value, type_uri=xconnauth.I2_CONNECT_PROBLEM_TYPE, instance="/orders/1")
    assert p["type"] == xconnauth.I2_CONNECT_PROBLEM_TYPE
    assert p["title"] == "Token not intended for this audience"
    assert p["instance"] == "/orders/1"
    assert json.loads(xconnauth.problem_json(info.value, xconnauth.I2_CONNECT_PROBLEM_TYPE, "/orders/1")) == p


def test_http_helpers_for_application_raised_errors() -> None:
    exc = xconnauth.MissingRole("the admin role is required")
    assert xconnauth.problem_details(exc) == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "the admin role is required",
        "error": "missing_role",
    }
    # Core's WWW-Authenticate writer takes static texts only: the category title is used.
    assert xconnauth.www_authenticate(exc, realm="r") == (
        'Bearer realm="r", error="insufficient_scope", error_description="Insufficient role"'
    )
    response = xconnauth.problem_response(exc, realm="r", type_uri="urn:x")
    assert response.status == 403 and json.loads(response.body)["title"] == "Insufficient role"
    assert dict(response.headers)["Content-Type"] == "application/problem+json"
    with pytest.raises(TypeError, match="expected an xconnauth.InvalidToken"):
        xconnauth.www_authenticate(ValueError("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not an xconnauth error category"):
        xconnauth.problem_json(xconnauth.InvalidToken("generic"))
    assert xconnauth.www_authenticate_challenge() == "Bearer"
    assert xconnauth.www_authenticate_challenge('x"\n') == 'Bearer realm="x\\"?"'


# Key rotation ---------------------------------------------------------------------------


def test_with_keys_and_set_keys(key_a: RsaKey, key_b: RsaKey, keys_a: xconnauth.KeySet) -> None:
    token_a = mint(key_a, access_token_claims(ISS), kid="a")
    token_b = mint(key_b, access_token_claims(ISS), kid="b")
    keys_b = xconnauth.KeySet.from_jwks(jwks(key_b.jwk("b")))
    v = verifier(keys_a, audiences="orders-api")
    rotated = v.with_keys(keys_b)
    assert rotated.policy == v.policy
    assert rotated.verify(token_b, now=1_764_000_000)
    with pytest.raises(xconnauth.UnknownKid):
        rotated.verify(token_a, now=1_764_000_000)
    assert v.verify(token_a, now=1_764_000_000)  # unchanged
    v.set_keys(keys_b)
    assert v.verify(token_b, now=1_764_000_000)
    with pytest.raises(xconnauth.UnknownKid):
        v.verify(token_a, now=1_764_000_000)
    # A key set the policy cannot use is refused and the old keys stay.
    ps_only = xconnauth.KeySet.from_jwks(jwks(key_a.jwk("a", alg="PS256")))
    with pytest.raises(xconnauth.ConfigError):
        v.set_keys(ps_only)
    assert v.verify(token_b, now=1_764_000_000)
    with pytest.raises(TypeError):
        v.set_keys("keys")  # type: ignore[arg-type]


def test_cache_entries(key_a: RsaKey, key_b: RsaKey, keys_a: xconnauth.KeySet) -> None:
    """The verified-token cache (``cache_entries``): a repeated token gives the same
    claims, ``exp``/``iat`` are judged at every call's ``now``, a key swap empties it."""
    now = 1_764_000_000
    claims = access_token_claims(ISS, now=now)
    token = mint(key_a, claims, kid="a")
    plain = verifier(keys_a)
    v = verifier(keys_a, cache_entries=64)
    assert plain.policy["cache_entries"] == 0 and v.policy["cache_entries"] == 64
    want = dict(plain.verify(token, now=now))
    assert want == claims
    for _ in range(3):
        assert dict(v.verify(token, now=now)) == want
        assert dict(v.verify_header(f"Bearer {token}", now=now)) == want
    exp, iat = claims["exp"], claims["iat"]
    with pytest.raises(xconnauth.Expired):
        v.verify(token, now=exp + 30)
    assert dict(v.verify(token, now=exp + 29)) == want
    with pytest.raises(xconnauth.IssuedInFuture):
        v.verify(token, now=iat - 31)
    # set_keys builds a new core verifier: its cache starts empty, so the token of the
    # retired key is refused at once; with_keys likewise.
    keys_b = xconnauth.KeySet.from_jwks(jwks(key_b.jwk("b")))
    with pytest.raises(xconnauth.UnknownKid):
        v.with_keys(keys_b).verify(token, now=now)
    v.set_keys(keys_b)
    with pytest.raises(xconnauth.UnknownKid):
        v.verify(token, now=now)
    v.set_keys(keys_a)
    assert dict(v.verify(token, now=now)) == want
    for bad_type in ("16", 1.5, True, None):
        with pytest.raises(TypeError, match="cache_entries"):
            verifier(keys_a, cache_entries=bad_type)
    for bad_value in (-1, 2**18 + 1):
        with pytest.raises(xconnauth.ConfigError, match="cache_entries"):
            verifier(keys_a, cache_entries=bad_value)


def test_key_set_per_issuer(key_a: RsaKey, key_b: RsaKey) -> None:
    other = "https://kc.example.test/realms/billing"
    keys = {
        ISS: xconnauth.KeySet.from_jwks(jwks(key_a.jwk("a"))),
        other: xconnauth.KeySet.from_jwks(jwks(key_b.jwk("b"))),
    }
    v = xconnauth.Verifier(keys, [ISS, other])
    assert v.verify(mint(key_a, access_token_claims(ISS), kid="a"), now=1_764_000_000)
    assert v.verify(mint(key_b, access_token_claims(other), kid="b"), now=1_764_000_000)
    # Signed by the billing realm's key but claiming to come from the orders realm.
    with pytest.raises(xconnauth.WrongIssuer):
        v.verify(mint(key_b, access_token_claims(ISS), kid="b"), now=1_764_000_000)
    with pytest.raises(xconnauth.ConfigError, match="not a trusted issuer"):
        xconnauth.Verifier(keys, ISS)
    with pytest.raises(TypeError, match="values must be KeySet"):
        xconnauth.Verifier({ISS: "x"}, ISS)  # type: ignore[dict-item]


def test_bench_tokens_verify() -> None:
    for bits in (2048, 3072, 4096):
        keys = xconnauth.KeySet.from_jwks((BENCH / f"jwks-{bits}.json").read_text())
        v = xconnauth.Verifier(keys, DEMO_ISSUER, audiences="product-factory")
        assert v.verify((BENCH / f"token-{bits}.jwt").read_text())["exp"] == 4102444800
