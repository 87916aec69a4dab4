"""JWKSClient on the Rust key engine, against real HTTP servers on 127.0.0.1: discovery,
caching, deadlines, single-flight refresh, last-known-good, realms, URL rules, outages,
and the middleware's answers while a key server misbehaves.

Timings and fetch counts are printed (``pytest -s``) for the record."""

from __future__ import annotations

import asyncio
import json
import random
import string
import threading
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import xconnauth
from _mint import RsaKey, access_token_claims, b64, jwks, mint
from realm_server import CERTS, RealmServer

NOW = 1_764_000_000


@pytest.fixture()
def realm(key_a: RsaKey) -> Iterator[RealmServer]:
    with RealmServer() as server:
        server.jwks = jwks(key_a.jwk("a"))
        yield server


def client_for(realm: RealmServer, **kwargs: Any) -> xconnauth.JWKSClient:
    kwargs.setdefault("refresh_cooldown", 10.0)
    kwargs.setdefault("timeout", 2.0)
    return xconnauth.JWKSClient(realm.issuer, **kwargs)


def random_kid_token(issuer: str) -> str:
    """A token whose kid no key has; its signature is never looked at (step 5 fails)."""
    kid = "".join(random.choice(string.ascii_letters) for _ in range(16))
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(access_token_claims(issuer)).encode())
    return f"{header}.{payload}.{b64(b'x' * 256)}"


def weak_jwk(kid: str) -> Dict[str, Any]:
    """A 512-bit RSA public key (an odd modulus with its top bit set is all parsing
    needs; it is refused for its size before any signature is checked)."""
    n = random.getrandbits(512) | (1 << 511) | 1
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": b64(n.to_bytes(64, "big")), "e": "AQAB"}


def ec_jwk(kid: str) -> Dict[str, Any]:
    return {"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)}


# Basics ----------------------------------------------------------------------------------


def test_discovery_fetch_and_cache(realm: RealmServer, key_a: RsaKey) -> None:
    client = client_for(realm)
    assert client.jwks_uri is None and client.fetch_count == 0
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    for _ in range(5):
        assert client.verify(token, now=NOW)["iss"] == realm.issuer
    assert client.jwks_uri == realm.base + CERTS
    assert (realm.discovery_hits(), realm.certs_hits()) == (1, 1)
    status = client.key_set()
    assert status.kids == ("a",) and status.last_error is None and status.last_success
    assert client.verify_header(f"Bearer {token}", now=NOW)
    assert "JWKSClient(" in repr(client) and client.last_error is None


def test_rotation_on_unknown_kid(realm: RealmServer, key_a: RsaKey, key_b: RsaKey) -> None:
    client = client_for(realm, refresh_cooldown=0.2)
    verifier = client.verifier_for(audiences="orders-api")
    assert verifier.verify(mint(key_a, access_token_claims(realm.issuer), kid="a"), now=NOW)
    realm.jwks = jwks(key_b.jwk("b"), key_a.jwk("a"))
    time.sleep(0.3)
    assert verifier.verify(mint(key_b, access_token_claims(realm.issuer), kid="b"), now=NOW)["sub"]
    assert realm.certs_hits() == 2
    assert set(client.key_set().kids) == {"a", "b"}
    # A plain Verifier over the keys held now.
    assert verifier.verifier.verify(mint(key_b, access_token_claims(realm.issuer), kid="b"), now=NOW)


def test_cache_control_max_age_bounds_the_lifetime(realm: RealmServer) -> None:
    realm.cache_control = "public, max-age=120"
    client = client_for(realm, min_ttl=60.0)
    status = client.key_set()
    assert status.expires_at is not None and status.last_success is not None
    assert 119 <= status.expires_at - status.last_success <= 121
    realm.cache_control = "max-age=5"  # below min_ttl
    client.refresh()
    status = client.key_set()
    assert status.expires_at is not None and status.last_success is not None
    assert 59 <= status.expires_at - status.last_success <= 61


def test_verifier_options_are_checked_before_any_fetch(realm: RealmServer) -> None:
    client = client_for(realm)
    with pytest.raises(xconnauth.ConfigError):
        client.verifier_for(leeway=-1)
    with pytest.raises(TypeError):
        client.verifier_for(required_scopes="openid")
    with pytest.raises(TypeError):
        client.verifier_for(audience="x")
    assert realm.discovery_hits() == 0


def test_managed_verifier_policy(realm: RealmServer, key_a: RsaKey) -> None:
    client = client_for(realm)
    verifier = client.verifier_for(audiences="billing", leeway=5)
    assert verifier.policy["issuers"] == (realm.issuer,) and verifier.policy["leeway"] == 5
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    with pytest.raises(xconnauth.WrongAudience):
        verifier.verify(token, now=NOW)
    assert verifier.client is client and "ManagedVerifier(" in repr(verifier)
    # Verifiers with equal policies share one engine: one fetch for both.
    again = client.verifier_for(audiences="billing", leeway=5)
    with pytest.raises(xconnauth.WrongAudience):
        again.verify(token, now=NOW)
    assert realm.certs_hits() == 1


def test_explicit_jwks_uri_skips_discovery(realm: RealmServer) -> None:
    client = client_for(realm, jwks_uri=realm.base + CERTS)
    assert client.key_set().kids == ("a",)
    assert realm.discovery_hits() == 0


# URL and option rules --------------------------------------------------------------------


def test_configured_urls() -> None:
    for url in ("http://sso.example.com/realms/demo", "ftp://sso.example.com/realms/demo", "http://foo.localhost/realms/x"):
        with pytest.raises(xconnauth.ConfigError, match="loopback"):
            xconnauth.JWKSClient(url)
    with pytest.raises(TypeError):
        xconnauth.JWKSClient(None)  # type: ignore[arg-type]
    # allow_http no longer opens plain http to other hosts.
    for url in ("http://sso.example.com/realms/demo", "http://foo.localhost/realms/x"):
        with pytest.warns(DeprecationWarning, match="allow_http"):
            with pytest.raises(xconnauth.ConfigError, match="allow_http"):
                xconnauth.JWKSClient(url, allow_http=True)
    with pytest.raises(xconnauth.ConfigError):
        xconnauth.JWKSClient("https://sso.example.com/realms/demo", jwks_uri="http://sso.example.com/certs")
    c = xconnauth.JWKSClient("https://sso.example.com/realms/demo", jwks_uri="https://sso.example.com/certs")
    assert c.jwks_uri == "https://sso.example.com/certs" and c.issuer == "https://sso.example.com/realms/demo"
    for loopback in ("http://127.0.0.1:9/realms/a", "http://localhost:9/realms/a", "http://[::1]:9/realms/a"):
        xconnauth.JWKSClient(loopback)
    with pytest.raises(xconnauth.ConfigError):
        xconnauth.JWKSClient("https://sso.example.com/realms/demo", min_ttl=10, max_ttl=5)
    with pytest.raises(xconnauth.ConfigError):
        xconnauth.JWKSClient("https://sso.example.com/realms/demo", timeout=0)
    with pytest.raises(xconnauth.ConfigError):
        xconnauth.JWKSClient("https://sso.example.com/realms/demo", ca_file="/nonexistent/ca.pem")


def test_clock_is_deprecated(realm: RealmServer) -> None:
    with pytest.warns(DeprecationWarning, match="clock"):
        xconnauth.JWKSClient(realm.issuer, clock=time.monotonic)


def test_redirects_are_refused(realm: RealmServer) -> None:
    realm.mode = "redirect"
    client = client_for(realm)
    assert not client.refresh()
    assert client.last_error is not None and "302" in str(client.last_error)
    assert realm.hits["/elsewhere"] == 0


def test_discovered_issuer_must_match(realm: RealmServer) -> None:
    realm.discovery_override = {"issuer": realm.issuer + "/", "jwks_uri": realm.base + CERTS}
    client = client_for(realm)
    with pytest.raises(xconnauth.JWKSError, match="issuer"):
        client.key_set()
    assert realm.certs_hits() == 0


def test_discovered_jwks_uri_must_be_https(realm: RealmServer) -> None:
    realm.discovery_override = {"issuer": realm.issuer, "jwks_uri": "http://keys.example.com/certs"}
    client = client_for(realm)
    with pytest.raises(xconnauth.JWKSError, match="https"):
        client.key_set()


# Deadlines and single flight --------------------------------------------------------------


def test_trickling_server_is_cut_off_at_the_deadline(realm: RealmServer) -> None:
    client = client_for(realm, timeout=1.0)
    client.key_set()  # discovery and keys held
    realm.mode = "trickle"  # the JWKS, one byte every 0.5 s
    start = time.monotonic()
    assert not client.refresh()
    elapsed = time.monotonic() - start
    print(f"\ntrickle: refresh gave up after {elapsed * 1000:.0f} ms (deadline 1000 ms)")
    assert 0.9 <= elapsed <= 1.0 + 0.3
    assert client.key_set().kids == ("a",)


def test_concurrent_unknown_kids_share_one_slow_fetch(realm: RealmServer) -> None:
    client = client_for(realm, timeout=5.0, refresh_cooldown=0.1)
    verifier = client.verifier_for()
    client.key_set()
    time.sleep(0.2)  # past the cooldown
    realm.mode, realm.delay = "slow", 3.0
    before = realm.certs_hits()
    times: List[float] = []
    outcomes: List[str] = []
    lock = threading.Lock()

    def one() -> None:
        start = time.monotonic()
        try:
            verifier.verify(random_kid_token(realm.issuer), now=NOW)
            outcome = "accepted"
        except xconnauth.InvalidToken as exc:
            outcome = exc.code
        with lock:
            times.append(time.monotonic() - start)
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fetches = realm.certs_hits() - before
    print(f"\n20 unknown kids vs a 3 s server: {fetches} fetch, slowest answer {max(times) * 1000:.0f} ms")
    assert outcomes == ["unknown_kid"] * 20
    assert fetches == 1
    assert max(times) <= 5.0 + 0.3


def test_random_kid_storm_costs_at_most_one_fetch_per_cooldown(realm: RealmServer) -> None:
    cooldown = 0.3
    client = client_for(realm, refresh_cooldown=cooldown)
    verifier = client.verifier_for()
    client.key_set()
    before = realm.certs_hits()
    tokens = [random_kid_token(realm.issuer) for _ in range(10_000)]
    failures: List[str] = []

    def attack(part: List[str]) -> None:
        # Each kid at least once, and on for a few cooldowns.
        until = time.monotonic() + 4 * cooldown
        first = True
        while first or time.monotonic() < until:
            first = False
            for token in part:
                try:
                    verifier.verify(token, now=NOW)
                    failures.append("accepted")
                except xconnauth.UnknownKid:
                    pass
                except Exception as exc:  # pragma: no cover - reported below
                    failures.append(repr(exc))

    start = time.monotonic()
    threads = [threading.Thread(target=attack, args=(tokens[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    fetches = realm.certs_hits() - before
    allowed = int(elapsed / cooldown) + 1
    print(f"\n10,000 random kids for {elapsed:.2f} s: {fetches} fetches (cooldown {cooldown} s, at most {allowed})")
    assert not failures
    assert 2 <= fetches <= allowed
    assert realm.discovery_hits() == 1


def test_non_blocking_answers_at_once_and_learns_the_key(realm: RealmServer, key_b: RsaKey) -> None:
    client = client_for(realm, non_blocking=True, refresh_cooldown=0.1)
    verifier = client.verifier_for()
    assert verifier.non_blocking
    client.key_set()
    time.sleep(0.2)
    realm.jwks = jwks(key_b.jwk("b"))
    realm.mode, realm.delay = "slow", 0.5
    token_b = mint(key_b, access_token_claims(realm.issuer), kid="b")
    start = time.monotonic()
    with pytest.raises(xconnauth.UnknownKid):
        verifier.verify(token_b, now=NOW)
    assert time.monotonic() - start < 0.2
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            verifier.verify(token_b, now=NOW)
            break
        except xconnauth.UnknownKid:
            time.sleep(0.05)
    assert verifier.verify(token_b, now=NOW)
    # The ASGI middleware runs such a verifier inline, never in a thread.
    assert xconnauth.ASGIMiddleware(lambda *a: None, verifier)._gate.offload is False  # type: ignore[arg-type, return-value]
    assert xconnauth.ASGIMiddleware(lambda *a: None, client_for(realm).verifier_for())._gate.offload is True  # type: ignore[arg-type, return-value]


# Last known good --------------------------------------------------------------------------

UNUSABLE: Dict[str, Callable[[RsaKey], Optional[str]]] = {
    "rs512-only": lambda k: jwks(k.jwk("x", alg="RS512")),
    "512-bit-only": lambda k: jwks(weak_jwk("x")),
    "ec-only": lambda k: jwks(ec_jwk("x")),
    "enc-only": lambda k: jwks(k.jwk("x", use="enc")),
    "empty": lambda k: jwks(),
    "http-500": lambda k: None,
    "garbage": lambda k: None,
    "too-big": lambda k: None,
}
MODES = {"http-500": "down", "garbage": "garbage", "too-big": "huge"}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_or_failing_refresh_keeps_the_last_good_keys(
    realm: RealmServer, key_a: RsaKey, key_b: RsaKey, case: str
) -> None:
    client = client_for(realm)
    verifier = client.verifier_for()
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    assert verifier.verify(token, now=NOW)
    document = UNUSABLE[case](key_b)
    if document is not None:
        realm.jwks = document
    realm.mode = MODES.get(case, "ok")
    assert not client.refresh()
    assert client.last_error is not None
    assert verifier.verify(token, now=NOW)["iss"] == realm.issuer
    assert client.key_set().kids == ("a",)


def test_issuer_down_at_start_is_keys_unavailable_then_recovers(realm: RealmServer, key_a: RsaKey) -> None:
    realm.mode = "down"
    client = client_for(realm, refresh_cooldown=0.2)
    verifier = client.verifier_for()
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    with pytest.raises(xconnauth.KeysUnavailable) as info:
        verifier.verify(token, now=NOW)
    assert not isinstance(info.value, xconnauth.InvalidToken)
    assert info.value.code == "keys_unavailable" and info.value.status == 503
    problem = xconnauth.problem_details(info.value)
    assert problem["status"] == 503 and problem["error"] == "keys_unavailable"
    with pytest.raises(xconnauth.KeysUnavailable):
        verifier.verifier  # noqa: B018 - the property fetches
    realm.mode = "ok"
    time.sleep(0.3)
    assert verifier.verify(token, now=NOW)


def test_fail_fast(realm: RealmServer) -> None:
    realm.mode = "down"
    with pytest.raises(xconnauth.JWKSError, match="500"):
        client_for(realm, fail_fast=True)
    realm.mode = "ok"
    assert client_for(realm, fail_fast=True).key_set().kids == ("a",)


# Realms ------------------------------------------------------------------------------------


def test_two_realms_sharing_a_kid(key_a: RsaKey, key_b: RsaKey) -> None:
    with RealmServer() as one, RealmServer() as two:
        one.jwks = jwks(key_a.jwk("k"))
        two.jwks = jwks(key_b.jwk("k"))
        client = xconnauth.JWKSClient(one.issuer)
        verifier = client.verifier_for(issuers=[one.issuer, two.issuer])
        # Both realms' keys first: the engine answers a caller as soon as the realm it
        # needs has answered, so a token verified while only one realm's keys are held
        # is judged against those alone.
        assert client.refresh()
        assert verifier.verify(mint(key_a, access_token_claims(one.issuer), kid="k"), now=NOW)
        assert verifier.verify(mint(key_b, access_token_claims(two.issuer), kid="k"), now=NOW)
        # Realm two's token signed with realm one's key never verifies.
        with pytest.raises(xconnauth.InvalidToken) as info:
            verifier.verify(mint(key_a, access_token_claims(two.issuer), kid="k"), now=NOW)
        assert info.value.code in ("wrong_issuer", "bad_signature")
        assert (one.certs_hits(), two.certs_hits()) == (1, 1)


# Rotation under load -------------------------------------------------------------------------


def test_threads_verifying_while_keys_rotate_never_get_a_wrong_verdict(
    realm: RealmServer, key_a: RsaKey, key_b: RsaKey
) -> None:
    client = client_for(realm, refresh_cooldown=3600)
    verifier = client.verifier_for()
    token_a = mint(key_a, access_token_claims(realm.issuer), kid="a")
    forged = mint(key_b, access_token_claims(realm.issuer), kid="a")  # kid a, signed by b
    assert verifier.verify(token_a, now=NOW)
    sets = [jwks(key_a.jwk("a")), jwks(key_b.jwk("b"), key_a.jwk("a")), jwks(key_a.jwk("a"), key_b.jwk("c"))]
    stop = threading.Event()
    wrong: List[str] = []
    counts = [0]

    def work() -> None:
        while not stop.is_set():
            try:
                verifier.verify(token_a, now=NOW)
            except Exception as exc:  # pragma: no cover - reported below
                wrong.append(f"good token: {exc!r}")
            try:
                verifier.verify(forged, now=NOW)
                wrong.append("forged token accepted")
            except xconnauth.BadSignature:
                pass
            except Exception as exc:  # pragma: no cover - reported below
                wrong.append(f"forged token: {exc!r}")
            counts[0] += 2

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    rotations = 100
    try:
        for i in range(rotations):
            realm.jwks = sets[i % len(sets)]
            assert client.refresh()
    finally:
        stop.set()
        for t in threads:
            t.join()
    print(f"\n{rotations} rotations, {counts[0]} verifications by 4 threads, {len(wrong)} wrong verdicts")
    assert wrong == []


# Middleware ---------------------------------------------------------------------------------


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def call_wsgi(app: Any, token: str) -> str:
    statuses: List[str] = []
    environ = {"PATH_INFO": "/", "HTTP_AUTHORIZATION": f"Bearer {token}"}
    b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return statuses[0]


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_middleware_answers_503_never_500_for_a_hostile_key_server(key_a: RsaKey, key_b: RsaKey, case: str) -> None:
    token = mint(key_a, access_token_claims("", now=int(time.time())), kid="a")
    with RealmServer() as realm:
        token = mint(key_a, access_token_claims(realm.issuer, now=int(time.time())), kid="a")
        document = UNUSABLE[case](key_b)
        realm.jwks = document if document is not None else jwks(key_a.jwk("a"))
        realm.mode = MODES.get(case, "ok")
        client = client_for(realm, refresh_cooldown=0.1)
        app = xconnauth.WSGIMiddleware(wsgi_app, client.verifier_for())
        assert call_wsgi(app, token).startswith("503 ")
        # Then the server heals: the same middleware accepts.
        realm.jwks, realm.mode = jwks(key_a.jwk("a")), "ok"
        time.sleep(0.2)
        assert call_wsgi(app, token) == "200 OK"


def test_asgi_keeps_answering_during_a_slow_refresh(realm: RealmServer, key_a: RsaKey) -> None:
    client = client_for(realm, timeout=5.0, refresh_cooldown=0.1)
    good = mint(key_a, access_token_claims(realm.issuer, now=int(time.time())), kid="a")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guarded = xconnauth.ASGIMiddleware(app, client.verifier_for())

    async def request(token: str) -> int:
        sent: List[Dict[str, Any]] = []

        async def receive() -> Dict[str, Any]:
            return {"type": "http.request"}

        async def send(message: Dict[str, Any]) -> None:
            sent.append(dict(message))

        scope = {"type": "http", "path": "/", "headers": [(b"authorization", f"Bearer {token}".encode())]}
        await guarded(scope, receive, send)
        return int(sent[0]["status"])

    async def scenario() -> Dict[str, float]:
        assert await request(good) == 200  # keys held
        await asyncio.sleep(0.2)
        realm.mode, realm.delay = "slow", 2.0
        slow = [asyncio.ensure_future(request(random_kid_token(realm.issuer))) for _ in range(20)]
        await asyncio.sleep(0.1)
        latencies: List[float] = []
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            start = time.monotonic()
            assert await request(good) == 200
            latencies.append(time.monotonic() - start)
            await asyncio.sleep(0.01)
        statuses = await asyncio.gather(*slow)
        assert set(statuses) == {401}
        return {"n": len(latencies), "max_ms": max(latencies) * 1000}

    result = asyncio.run(scenario())
    print(f"\nASGI during a 2 s refresh: {result['n']} good requests answered, slowest {result['max_ms']:.1f} ms")
    assert result["n"] >= 50 and result["max_ms"] < 100


# TLS with a private CA ------------------------------------------------------------------------


def make_ca_and_server_cert(tmp: Any) -> Dict[str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl CLI)."""
    import subprocess

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=xconnauth test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (tmp / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": str(tmp / "ca.pem"), "cert": str(tmp / "server.pem"), "key": str(tmp / "server.key")}


def test_https_with_a_private_ca_through_ca_file(tmp_path: Any, key_a: RsaKey) -> None:
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test CA")
    files = make_ca_and_server_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["cert"], files["key"])
    with RealmServer(tls=context) as realm:
        issuer = realm.issuer
        assert issuer.startswith("https://127.0.0.1:")
        realm.jwks = jwks(key_a.jwk("a"))
        token = mint(key_a, access_token_claims(issuer), kid="a")
        # Not trusted by the system store: no keys.
        untrusted = xconnauth.JWKSClient(issuer, timeout=2.0)
        assert not untrusted.refresh()
        with pytest.raises(xconnauth.KeysUnavailable):
            untrusted.verify(token, now=NOW)
        # Trusted through ca_file.
        trusted = xconnauth.JWKSClient(issuer, timeout=2.0, ca_file=files["ca"])
        assert trusted.verify(token, now=NOW)["iss"] == issuer
        assert trusted.jwks_uri == realm.base + CERTS
