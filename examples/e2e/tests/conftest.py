"""Fixtures for the end-to-end flows: every server runs on 127.0.0.1 on a free port,
started and stopped by the test that uses it."""

from __future__ import annotations

import base64
import http.client
import json
import os
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
for folder in ("issuer", "proxy"):
    path = os.path.join(EXAMPLES, folder)
    if path not in sys.path:
        sys.path.insert(0, path)

from issuer import Issuer  # noqa: E402
from proxy import ProxyConfig, ProxyServer  # noqa: E402
from upstream import Upstream  # noqa: E402

REALM_JSON = os.path.join(EXAMPLES, "issuer", "realm.json")
UPSTREAM_KEY = "e2e-upstream-key"
CLIENT = "orders-reporter"
SECRET = "dev-secret-orders-reporter"


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> Optional[str]:
        """The xconnauth error code of a problem answer."""
        if self.headers.get("content-type", "").startswith("application/problem+json"):
            code = self.json().get("error")
            return None if code is None else str(code)
        return None


def call(
    url: str,
    *,
    token: Optional[str] = None,
    method: str = "GET",
    headers: Optional[Mapping[str, str]] = None,
    body: Optional[bytes] = None,
    source: Optional[str] = None,
    conn: Optional[http.client.HTTPConnection] = None,
) -> Reply:
    """One request; ``source`` binds the client side (e.g. 127.0.0.2); ``conn`` reuses a
    kept-alive connection (then ``url`` only contributes its path)."""
    parts = urllib.parse.urlsplit(url)
    own = conn is None
    if conn is None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=15,
                                          source_address=(source, 0) if source else None)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        conn.request(method, target, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if own:
            conn.close()


def client_credentials(issuer: Issuer, client: str = CLIENT, secret: str = SECRET, scope: str = "orders:read") -> Dict[str, Any]:
    """The token endpoint over HTTP, client id/secret by HTTP Basic, as a real client does."""
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
    reply = call(issuer.token_endpoint, method="POST", body=form, headers={
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200, reply.body
    answer: Dict[str, Any] = reply.json()
    return answer


def kid_of(token: str) -> str:
    header = token.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


@dataclass
class Stack:
    issuer: Issuer
    upstream: Upstream
    proxy: ProxyServer
    config: ProxyConfig
    stops: List[Callable[[], None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.proxy.url


PROXY_POLICY: Dict[str, Any] = {
    "audiences": ["orders-api"],
    "required_scopes": ["orders:read"],
    "required_client_roles": {"orders-api": ["reader"]},
    # Short, so the timed tests (rotation, storm, outage) fit in seconds.
    "refresh_cooldown": 1.0,
}


@pytest.fixture
def make_issuer() -> Iterator[Callable[..., Issuer]]:
    started: List[Issuer] = []

    def make(**kwargs: Any) -> Issuer:
        issuer = Issuer.from_config(REALM_JSON, **kwargs)
        issuer.start()
        started.append(issuer)
        return issuer

    yield make
    for issuer in started:
        issuer.stop()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream(UPSTREAM_KEY)
    up.start()
    yield up
    up.stop()


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., Tuple[ProxyServer, ProxyConfig]]]:
    started: List[ProxyServer] = []

    def make(issuer: Issuer, upstream: Upstream, **overrides: Any) -> Tuple[ProxyServer, ProxyConfig]:
        options = dict(PROXY_POLICY)
        options.update(overrides)
        config = ProxyConfig(issuer=issuer.issuer, upstream=upstream.url, upstream_api_key=UPSTREAM_KEY, **options)
        server = ProxyServer(config)
        server.start()
        started.append(server)
        return server, config

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def stack(make_issuer: Callable[..., Issuer], upstream: Upstream,
          make_proxy: Callable[..., Tuple[ProxyServer, ProxyConfig]]) -> Stack:
    """Issuer + upstream + proxy with the standard policy (audience orders-api, scope
    orders:read, client role orders-api/reader)."""
    issuer = make_issuer()
    server, config = make_proxy(issuer, upstream)
    return Stack(issuer, upstream, server, config)
