"""WSGI and ASGI middleware, driven by real wsgiref and hand-driven ASGI calls."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterable, Iterator, List, MutableMapping, Optional, Tuple
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults

import pytest

import xconnauth
from _mint import RsaKey, access_token_claims, jwks, mint
from realm_server import RealmServer

ISS = "https://kc.example.test/realms/orders"


@pytest.fixture(scope="module")
def verifier(key_a: RsaKey) -> xconnauth.Verifier:
    keys = xconnauth.KeySet.from_jwks(jwks(key_a.jwk("a")))
    # System clock: tokens below are minted for "now".
    return xconnauth.Verifier(keys, ISS, audiences="orders-api", required_scopes=["orders:read"])


@pytest.fixture(scope="module")
def good(key_a: RsaKey) -> str:
    import time

    return mint(key_a, access_token_claims(ISS, now=int(time.time())), kid="a")


@pytest.fixture(scope="module")
def no_scope(key_a: RsaKey) -> str:
    import time

    return mint(key_a, access_token_claims(ISS, now=int(time.time()), scope="openid"), kid="a")


# WSGI -----------------------------------------------------------------------------------


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    claims = environ.get(xconnauth.CLAIMS_KEY)
    body = json.dumps({"sub": claims["sub"] if claims else None}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def call_wsgi(app: Any, headers: Optional[Dict[str, str]] = None, path: str = "/orders") -> Tuple[str, Dict[str, str], bytes, Dict[str, Any]]:
    environ: Dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen: Dict[str, Any] = {}

    def start_response(status: str, response_headers: List[Tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body, environ


def test_wsgi_accepts_and_passes_claims(verifier: xconnauth.Verifier, good: str) -> None:
    app = xconnauth.WSGIMiddleware(wsgi_app, verifier)
    status, headers, body, environ = call_wsgi(app, {"Authorization": f"Bearer {good}"})
    assert status == "200 OK" and json.loads(body)["sub"]
    assert isinstance(environ[xconnauth.CLAIMS_KEY], xconnauth.Claims)


def test_wsgi_rejections(verifier: xconnauth.Verifier, good: str, no_scope: str) -> None:
    app = xconnauth.WSGIMiddleware(wsgi_app, verifier, realm="orders", problem_type=xconnauth.I2_CONNECT_PROBLEM_TYPE)
    status, headers, body, _ = call_wsgi(app)
    assert status == "401 Unauthorized"
    assert headers["WWW-Authenticate"] == 'Bearer realm="orders"'  # no error code without credentials
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 401 and problem["error"] == "malformed"
    assert problem["type"] == xconnauth.I2_CONNECT_PROBLEM_TYPE
    assert headers["Content-Length"] == str(len(body)) and headers["Cache-Control"] == "no-store"

    status, headers, body, _ = call_wsgi(app, {"Authorization": f"Bearer {good}x"})
    assert status == "401 Unauthorized"
    assert headers["WWW-Authenticate"].startswith('Bearer realm="orders", error="invalid_token"')
    assert json.loads(body)["error"] in ("bad_signature", "bad_base64")

    status, headers, body, _ = call_wsgi(app, {"Authorization": f"Bearer {no_scope}"})
    assert status == "403 Forbidden"
    assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    assert json.loads(body)["title"] == "Insufficient scope"

    status, _, _, _ = call_wsgi(app, {"Authorization": f"Basic {good}"})
    assert status == "401 Unauthorized"


def test_wsgi_exclude_paths(verifier: xconnauth.Verifier) -> None:
    app = xconnauth.WSGIMiddleware(wsgi_app, verifier, exclude_paths={"/health"})
    status, _, body, environ = call_wsgi(app, path="/health")
    assert status == "200 OK" and xconnauth.CLAIMS_KEY not in environ


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_wsgi_over_a_real_server(verifier: xconnauth.Verifier, good: str, no_scope: str) -> None:
    app = xconnauth.WSGIMiddleware(wsgi_app, verifier, realm="orders")
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/orders"
    try:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {good}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200 and json.loads(response.read())["sub"]
        for token, status in ((no_scope, 403), ("nope", 401)):
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(request, timeout=5)
            with info.value as error:
                assert error.code == status
                assert error.headers["Content-Type"] == "application/problem+json"
                assert error.headers["WWW-Authenticate"].startswith('Bearer realm="orders", error=')
                assert json.loads(error.read())["status"] == status
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_wsgi_503_when_keys_are_unavailable(key_a: RsaKey, good: str) -> None:
    with RealmServer() as realm:
        realm.mode = "down"
        client = xconnauth.JWKSClient(realm.issuer)
        app = xconnauth.WSGIMiddleware(wsgi_app, client.verifier_for())
        status, headers, body, _ = call_wsgi(app, {"Authorization": f"Bearer {good}"})
    assert status == "503 Service Unavailable"
    assert json.loads(body)["status"] == 503 and headers["Retry-After"]


def test_middleware_needs_a_verifier() -> None:
    with pytest.raises(TypeError, match="verify_header"):
        xconnauth.WSGIMiddleware(wsgi_app, object())  # type: ignore[arg-type]


# ASGI -----------------------------------------------------------------------------------

Message = MutableMapping[str, Any]


async def asgi_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await send({"type": "lifespan.startup.complete"})
        return
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    claims = scope.get(xconnauth.CLAIMS_KEY)
    body = json.dumps({"sub": claims["sub"] if claims else None}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def run_asgi(app: Any, scope: Dict[str, Any]) -> List[Message]:
    sent: List[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(headers: List[Tuple[bytes, bytes]], path: str = "/orders") -> Dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers}


@pytest.mark.parametrize("offload", [None, True, False])
def test_asgi_accepts_and_passes_claims(verifier: xconnauth.Verifier, good: str, offload: Optional[bool]) -> None:
    app = xconnauth.ASGIMiddleware(asgi_app, verifier, offload=offload)
    sent = run_asgi(app, http_scope([(b"host", b"x"), (b"authorization", f"Bearer {good}".encode())]))
    assert sent[0]["status"] == 200 and json.loads(sent[1]["body"])["sub"]


def test_asgi_rejections(verifier: xconnauth.Verifier, good: str, no_scope: str) -> None:
    app = xconnauth.ASGIMiddleware(asgi_app, verifier, realm="orders")
    sent = run_asgi(app, http_scope([]))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 401
    headers = dict(sent[0]["headers"])
    assert headers[b"www-authenticate"] == b'Bearer realm="orders"'
    assert headers[b"content-type"] == b"application/problem+json"
    assert json.loads(sent[1]["body"])["error"] == "malformed"

    sent = run_asgi(app, http_scope([(b"Authorization", f"Bearer {no_scope}".encode())]))
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["error"] == "missing_scope"

    two = [(b"authorization", f"Bearer {good}".encode()), (b"authorization", f"Bearer {good}".encode())]
    sent = run_asgi(app, http_scope(two))
    assert sent[0]["status"] == 401 and "several" in json.loads(sent[1]["body"])["detail"]


def test_asgi_websocket_and_lifespan(verifier: xconnauth.Verifier, good: str) -> None:
    app = xconnauth.ASGIMiddleware(asgi_app, verifier)
    ws = {"type": "websocket", "path": "/ws", "headers": []}
    assert run_asgi(app, ws) == [{"type": "websocket.close", "code": 1008}]
    ws["headers"] = [(b"authorization", f"Bearer {good}".encode())]
    assert run_asgi(app, ws) == [{"type": "websocket.accept"}]
    assert run_asgi(app, {"type": "lifespan"}) == [{"type": "lifespan.startup.complete"}]


def test_asgi_exclude_paths(verifier: xconnauth.Verifier) -> None:
    app = xconnauth.ASGIMiddleware(asgi_app, verifier, exclude_paths=["/health"])
    sent = run_asgi(app, http_scope([], path="/health"))
    assert sent[0]["status"] == 200 and json.loads(sent[1]["body"]) == {"sub": None}


def test_asgi_with_a_managed_verifier(key_a: RsaKey, good: str) -> None:
    with RealmServer() as realm:
        realm.jwks = jwks(key_a.jwk("a"))
        client = xconnauth.JWKSClient(realm.issuer)
        managed = client.verifier_for()
        app = xconnauth.ASGIMiddleware(asgi_app, managed)
        local = mint(key_a, access_token_claims(realm.issuer, now=int(time.time())), kid="a")
        sent = run_asgi(app, http_scope([(b"authorization", f"Bearer {local}".encode())]))
        assert sent[0]["status"] == 200
        # A token of another realm signed with this realm's key is never accepted.
        sent = run_asgi(app, http_scope([(b"authorization", f"Bearer {good}".encode())]))
        assert sent[0]["status"] == 401
        realm.mode = "down"
        fresh = xconnauth.ASGIMiddleware(asgi_app, xconnauth.JWKSClient(realm.issuer).verifier_for())
        sent = run_asgi(fresh, http_scope([(b"authorization", f"Bearer {local}".encode())]))
        assert sent[0]["status"] == 503
        assert json.loads(sent[1]["body"])["error"] == "keys_unavailable"
        assert (b"retry-after", b"5") in sent[0]["headers"]
