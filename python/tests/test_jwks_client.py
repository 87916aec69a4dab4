"""JWKSClient against a real HTTP server on 127.0.0.1: discovery, caching, rotation,
outages, unknown-kid storms, size and scheme limits."""

from __future__ import annotations

import json
import random
import string
import threading
from typing import Iterator, List

import pytest

import xconnauth
from _mint import RsaKey, access_token_claims, b64, jwks, mint
from realm_server import CERTS, RealmServer

NOW = 1_764_000_000


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture()
def realm(key_a: RsaKey) -> Iterator[RealmServer]:
    with RealmServer() as server:
        server.jwks = jwks(key_a.jwk("a"))
        yield server


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def client_for(realm: RealmServer, clock: Clock, **kwargs: object) -> xconnauth.JWKSClient:
    kwargs.setdefault("refresh_cooldown", 10.0)
    kwargs.setdefault("timeout", 2.0)
    return xconnauth.JWKSClient(realm.issuer, clock=clock, **kwargs)  # type: ignore[arg-type]


def random_kid_token(issuer: str) -> str:
    """A token whose kid no key has; its signature is never looked at (step 5 fails)."""
    kid = "".join(random.choice(string.ascii_letters) for _ in range(16))
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(access_token_claims(issuer)).encode())
    return f"{header}.{payload}.{b64(b'x' * 256)}"


def test_discovery_fetch_and_cache(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    client = client_for(realm, clock)
    assert client.jwks_uri is None and client.version == 0
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    for _ in range(5):
        assert client.verify(token, now=NOW)["iss"] == realm.issuer
    assert client.jwks_uri == realm.base + CERTS
    assert (realm.discovery_hits(), realm.certs_hits()) == (1, 1)
    assert client.version == 1 and client.key_set().kids == ["a"]
    assert client.verify_header(f"Bearer {token}", now=NOW)
    assert "JWKSClient(" in repr(client)


def test_cache_control_max_age(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    realm.cache_control = "public, max-age=120"
    client = client_for(realm, clock, min_ttl=60.0)
    client.key_set()
    clock.advance(119)
    client.key_set()
    assert realm.certs_hits() == 1
    clock.advance(2)
    client.key_set()
    assert realm.certs_hits() == 2
    # Same document again: no new version.
    assert client.version == 1
    # no-cache means "as short as allowed": min_ttl.
    realm.cache_control = "no-cache"
    clock.advance(121)
    client.key_set()
    assert realm.certs_hits() == 3
    clock.advance(59)
    client.key_set()
    assert realm.certs_hits() == 3
    clock.advance(2)
    client.key_set()
    assert realm.certs_hits() == 4


def test_default_ttl_without_cache_control(realm: RealmServer, clock: Clock) -> None:
    client = client_for(realm, clock, default_ttl=300.0)
    client.key_set()
    clock.advance(299)
    client.key_set()
    assert realm.certs_hits() == 1
    clock.advance(2)
    client.key_set()
    assert realm.certs_hits() == 2


def test_rotation_on_unknown_kid(realm: RealmServer, clock: Clock, key_a: RsaKey, key_b: RsaKey) -> None:
    client = client_for(realm, clock)
    verifier = client.verifier_for(audiences="orders-api")
    token_a = mint(key_a, access_token_claims(realm.issuer), kid="a")
    token_b = mint(key_b, access_token_claims(realm.issuer), kid="b")
    assert verifier.verify(token_a, now=NOW)
    # The realm rotates: b is the new active key, a is still published.
    realm.jwks = jwks(key_b.jwk("b"), key_a.jwk("a"))
    clock.advance(11)  # past the cooldown since the first fetch
    assert verifier.verify(token_b, now=NOW)["sub"]
    assert realm.certs_hits() == 2 and client.version == 2
    assert verifier.verify(token_a, now=NOW)
    # Then a is retired; the TTL refresh picks that up without any unknown kid.
    realm.jwks = jwks(key_b.jwk("b"))
    clock.advance(301)
    with pytest.raises(xconnauth.UnknownKid):
        verifier.verify(token_a, now=NOW)
    assert verifier.verifier.verify(token_b, now=NOW)
    assert client.version == 3


def test_unknown_kid_within_cooldown_does_not_fetch(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    client = client_for(realm, clock, refresh_cooldown=30.0)
    client.key_set()
    # The first unknown kid refreshes at once, even right after the initial fetch.
    with pytest.raises(xconnauth.UnknownKid):
        client.verify(random_kid_token(realm.issuer), now=NOW)
    assert realm.certs_hits() == 2
    # The next ones, within the cooldown of that refresh, do not.
    clock.advance(29)
    for _ in range(5):
        with pytest.raises(xconnauth.UnknownKid):
            client.verify(random_kid_token(realm.issuer), now=NOW)
    assert realm.certs_hits() == 2
    clock.advance(2)
    with pytest.raises(xconnauth.UnknownKid):
        client.verify(random_kid_token(realm.issuer), now=NOW)
    assert realm.certs_hits() == 3


def test_new_key_right_after_a_fetch_is_picked_up_at_once(
    realm: RealmServer, clock: Clock, key_a: RsaKey, key_b: RsaKey
) -> None:
    """Keycloak signs with a new active key as soon as it exists: no cooldown wait."""
    client = client_for(realm, clock, refresh_cooldown=30.0)
    verifier = client.verifier_for(audiences="orders-api")
    assert verifier.verify(mint(key_a, access_token_claims(realm.issuer), kid="a"), now=NOW)
    realm.jwks = jwks(key_b.jwk("b"), key_a.jwk("a"))
    clock.advance(1)
    token_b = mint(key_b, access_token_claims(realm.issuer), kid="b")
    assert verifier.verify(token_b, now=NOW)["sub"]
    assert realm.certs_hits() == 2


def test_storm_of_random_kids_costs_one_fetch_per_cooldown(realm: RealmServer, clock: Clock) -> None:
    client = client_for(realm, clock, refresh_cooldown=30.0)
    verifier = client.verifier_for()
    client.key_set()
    clock.advance(31)
    tokens = [random_kid_token(realm.issuer) for _ in range(200)]
    failures: List[str] = []

    def attack(part: List[str]) -> None:
        for token in part:
            try:
                verifier.verify(token, now=NOW)
                failures.append("accepted")
            except xconnauth.UnknownKid:
                pass
            except Exception as exc:  # pragma: no cover - reported below
                failures.append(repr(exc))

    threads = [threading.Thread(target=attack, args=(tokens[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert realm.certs_hits() == 2, "one initial fetch + one refresh for the whole storm"
    clock.advance(31)
    for token in tokens[:50]:
        with pytest.raises(xconnauth.UnknownKid):
            verifier.verify(token, now=NOW)
    assert realm.certs_hits() == 3
    assert realm.discovery_hits() == 1


def test_outage_keeps_last_known_good_keys(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    realm.cache_control = "max-age=60"
    client = client_for(realm, clock, min_ttl=10.0, refresh_cooldown=10.0)
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    assert client.verify(token, now=NOW)
    realm.mode = "down"
    for _ in range(30):  # 300 s of outage, one verify every 10 s
        clock.advance(10)
        for _ in range(10):
            assert client.verify(token, now=NOW)
    assert isinstance(client.last_error, xconnauth.JWKSError)
    assert "HTTP 500" in str(client.last_error)
    # After the TTL, at most one attempt per cooldown.
    assert 1 + 25 <= realm.certs_hits() <= 1 + 30
    realm.mode = "ok"
    clock.advance(10)
    assert client.verify(token, now=NOW)
    assert client.last_error is None


def test_no_keys_at_all(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    realm.mode = "down"
    client = client_for(realm, clock)
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    with pytest.raises(xconnauth.JWKSError, match="no signing keys") as info:
        client.verify(token, now=NOW)
    assert not isinstance(info.value, xconnauth.InvalidToken)
    assert isinstance(info.value.__cause__, xconnauth.JWKSError)
    # Within the cooldown the error is repeated without a request.
    with pytest.raises(xconnauth.JWKSError):
        client.verify(token, now=NOW)
    assert realm.discovery_hits() == 1
    realm.mode = "ok"
    clock.advance(11)
    assert client.verify(token, now=NOW)


def test_timeout(realm: RealmServer, clock: Clock) -> None:
    realm.mode, realm.delay = "slow", 2.0
    client = client_for(realm, clock, timeout=0.3)
    with pytest.raises(xconnauth.JWKSError, match="timed out"):
        client.key_set()


@pytest.mark.parametrize("mode", ["huge", "huge-unsized"])
def test_response_size_cap(realm: RealmServer, clock: Clock, mode: str) -> None:
    client = client_for(realm, clock)
    client.key_set()  # discovery fine
    realm.mode = mode
    assert not client.refresh(force=True)
    assert "larger than 1048576 bytes" in str(client.last_error)


def test_redirects_are_not_followed(realm: RealmServer, clock: Clock) -> None:
    realm.mode = "redirect"
    client = client_for(realm, clock)
    with pytest.raises(xconnauth.JWKSError, match="HTTP 302"):
        client.key_set()
    assert realm.hits["/elsewhere"] == 0


def test_discovered_issuer_must_match(realm: RealmServer, clock: Clock) -> None:
    realm.discovery_override = {"issuer": realm.issuer + "/", "jwks_uri": realm.base + CERTS}
    client = client_for(realm, clock)
    with pytest.raises(xconnauth.JWKSError) as info:
        client.key_set()
    cause = info.value.__cause__
    assert isinstance(cause, xconnauth.ConfigError) and "is not the configured" in str(cause)
    assert realm.certs_hits() == 0


def test_discovered_jwks_uri_must_be_https(realm: RealmServer, clock: Clock) -> None:
    realm.discovery_override = {"issuer": realm.issuer, "jwks_uri": "http://keys.example.com/certs"}
    client = client_for(realm, clock)
    with pytest.raises(xconnauth.JWKSError) as info:
        client.key_set()
    assert "must be an https URL" in str(info.value.__cause__)


def test_configured_urls() -> None:
    with pytest.raises(ValueError, match="https"):
        xconnauth.JWKSClient("http://sso.example.com/realms/demo")
    with pytest.raises(ValueError, match="https"):
        xconnauth.JWKSClient("ftp://sso.example.com/realms/demo")
    with pytest.raises(TypeError):
        xconnauth.JWKSClient(None)  # type: ignore[arg-type]
    xconnauth.JWKSClient("http://sso.example.com/realms/demo", allow_http=True)
    c = xconnauth.JWKSClient("https://sso.example.com/realms/demo", jwks_uri="https://sso.example.com/certs")
    assert c.jwks_uri == "https://sso.example.com/certs" and c.issuer == "https://sso.example.com/realms/demo"
    with pytest.raises(ValueError):
        xconnauth.JWKSClient("https://sso.example.com/realms/demo", min_ttl=10, default_ttl=5)


def test_explicit_jwks_uri_skips_discovery(realm: RealmServer, clock: Clock) -> None:
    client = xconnauth.JWKSClient(realm.issuer, jwks_uri=realm.base + CERTS, clock=clock)
    assert client.key_set().kids == ["a"]
    assert realm.discovery_hits() == 0


def test_verifier_options_are_checked_before_any_fetch(realm: RealmServer, clock: Clock) -> None:
    client = client_for(realm, clock)
    with pytest.raises(xconnauth.ConfigError):
        client.verifier_for(leeway=-1)
    with pytest.raises(TypeError):
        client.verifier_for(required_scopes="openid")
    with pytest.raises(TypeError):
        client.verifier_for(audience="x")
    assert realm.discovery_hits() == 0


def test_managed_verifier_policy(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    client = client_for(realm, clock)
    verifier = client.verifier_for(audiences="billing", leeway=5)
    assert verifier.policy["issuers"] == (realm.issuer,) and verifier.policy["leeway"] == 5
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    with pytest.raises(xconnauth.WrongAudience):
        verifier.verify(token, now=NOW)
    assert verifier.client is client and "ManagedVerifier(" in repr(verifier)


def test_unusable_new_key_set_keeps_the_old_one(realm: RealmServer, clock: Clock, key_a: RsaKey) -> None:
    client = client_for(realm, clock)
    verifier = client.verifier_for()
    token = mint(key_a, access_token_claims(realm.issuer), kid="a")
    assert verifier.verify(token, now=NOW)
    realm.jwks = jwks(key_a.jwk("a", alg="PS256"))  # not usable with RS256 policies
    clock.advance(301)
    assert verifier.verify(token, now=NOW)
    assert client.version == 2
