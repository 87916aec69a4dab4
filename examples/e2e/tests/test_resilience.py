"""Key rotation under traffic, issuer outages, and refresh storms."""

from __future__ import annotations

import base64
import http.client
import json
import math
import secrets
import threading
import time
from typing import Callable, Dict, List, Tuple

from conftest import CLIENT, Stack, call, client_credentials, kid_of
from issuer import Issuer
from proxy import ProxyConfig, ProxyServer
from upstream import Upstream

MakeProxy = Callable[..., Tuple[ProxyServer, ProxyConfig]]


def wait_past_cooldown(config: ProxyConfig) -> None:
    # The proxy fetched keys at startup; an unknown kid is only acted on once the
    # cooldown since that fetch is over.
    time.sleep(config.refresh_cooldown + 0.1)


def test_rotation_under_traffic_has_zero_failed_valid_requests(stack: Stack) -> None:
    issuer, url = stack.issuer, stack.url
    assert call(f"{url}/orders", token=client_credentials(issuer)["access_token"]).status == 200
    wait_past_cooldown(stack.config)
    stop = threading.Event()
    lock = threading.Lock()
    ok_by_kid: Dict[str, int] = {}
    failures: List[Tuple[int, str, bytes]] = []

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", stack.proxy._sock.getsockname()[1], timeout=15)
        token, n = "", 0
        while not stop.is_set():
            if n % 5 == 0:  # a fresh token now and then, as real clients do
                token = client_credentials(issuer)["access_token"]
            n += 1
            reply = call(f"{url}/orders", token=token, conn=conn)
            with lock:
                if reply.status == 200:
                    ok_by_kid[kid_of(token)] = ok_by_kid.get(kid_of(token), 0) + 1
                else:
                    failures.append((reply.status, kid_of(token), reply.body))
        conn.close()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    kids = [issuer.kid]
    try:
        # Two rotations, each later than the cooldown after the previous key fetch.
        for _ in range(2):
            time.sleep(1.3)
            kids.append(issuer.rotate(grace=600))
        time.sleep(1.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    for kid in kids:
        assert ok_by_kid.get(kid, 0) > 0, (kid, ok_by_kid)
    # One discovery at startup; the JWKS once at startup and once per rotation.
    assert issuer.hits["discovery"] == 1
    assert issuer.hits["jwks"] == 3, issuer.hits


def test_issuer_outage_keeps_serving_with_last_known_good_keys(
    make_issuer: Callable[..., Issuer], upstream: Upstream, make_proxy: MakeProxy
) -> None:
    # Keys go stale after 0.5 s, so the proxy tries to refresh during the outage.
    issuer = make_issuer(jwks_cache_control="max-age=0")
    server, config = make_proxy(issuer, upstream, jwks_min_ttl=0.5, jwks_default_ttl=0.5, refresh_cooldown=0.5)
    token = issuer.token_for_client(CLIENT, "orders:read")
    assert call(f"{server.url}/orders", token=token).status == 200
    issuer.set_outage(True)
    before = issuer.hits["jwks"]
    deadline = time.monotonic() + 2.0
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(call(f"{server.url}/orders", token=token).status)
        time.sleep(0.05)
    assert set(statuses) == {200}
    assert issuer.hits["jwks"] > before, "the proxy never tried to refresh"
    assert server.jwks_client is not None and server.jwks_client.last_error is not None
    # A new kid cannot be learned while the issuer is down: 401, not 503.
    issuer.rotate()
    time.sleep(config.refresh_cooldown)
    reply = call(f"{server.url}/orders", token=issuer.token_for_client(CLIENT, "orders:read"))
    assert reply.status == 401 and reply.json()["error"] == "unknown_kid"
    # The issuer gone entirely (connection refused): still the last good keys.
    issuer.stop()
    time.sleep(config.refresh_cooldown)
    assert call(f"{server.url}/orders", token=token).status == 200


def test_issuer_down_before_the_first_fetch_is_503_then_recovers(
    make_issuer: Callable[..., Issuer], upstream: Upstream, make_proxy: MakeProxy
) -> None:
    issuer = make_issuer()
    issuer.set_outage(True)
    server, config = make_proxy(issuer, upstream, refresh_cooldown=0.5)
    token = issuer.token_for_client(CLIENT, "orders:read")
    reply = call(f"{server.url}/orders", token=token)
    assert reply.status == 503 and reply.headers["content-type"] == "application/problem+json"
    assert "retry-after" in reply.headers
    assert upstream.count == 0
    issuer.set_outage(False)
    time.sleep(config.refresh_cooldown + 0.1)
    assert call(f"{server.url}/orders", token=token).status == 200


def random_kid_token(issuer: Issuer) -> str:
    """What an attacker can send: any kid, any claims, a signature that is just bytes.
    (The kid is looked up before the signature is checked.)"""
    header = '{"alg" : "RS256","typ" : "JWT","kid" : "%s"}' % secrets.token_urlsafe(16)
    claims = {"exp": int(time.time()) + 300, "iss": issuer.issuer, "typ": "Bearer", "sub": "x"}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(header.encode())}.{b64(json.dumps(claims).encode())}.{b64(secrets.token_bytes(256))}"


def test_refresh_storm_of_random_kids_is_one_jwks_fetch_per_cooldown(stack: Stack) -> None:
    issuer, config = stack.issuer, stack.config
    assert call(f"{stack.url}/orders", token=issuer.token_for_client(CLIENT, "orders:read")).status == 200
    wait_past_cooldown(config)
    issuer.reset_hits()
    tokens = [random_kid_token(issuer) for _ in range(2000)]
    codes: List[str] = []
    lock = threading.Lock()
    duration = 2.5
    start = time.monotonic()

    def storm(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", stack.proxy._sock.getsockname()[1], timeout=15)
        i = offset
        while time.monotonic() - start < duration:
            reply = call(f"{stack.url}/orders", token=tokens[i % len(tokens)], conn=conn)
            with lock:
                codes.append(f"{reply.status} {reply.error}")
            i += 4
        conn.close()

    threads = [threading.Thread(target=storm, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert set(codes) == {"401 unknown_kid"}
    assert len(codes) >= 50, len(codes)
    allowed = math.floor(elapsed / config.refresh_cooldown) + 1
    assert 1 <= issuer.hits["jwks"] <= allowed, (issuer.hits, len(codes), elapsed)
    assert issuer.hits["discovery"] == 0  # discovery is not repeated
    assert stack.upstream.count == 1  # only the warm-up request got through
