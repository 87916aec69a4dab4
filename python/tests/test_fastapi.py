"""xconnauth.fastapi through FastAPI's TestClient, against a loopback realm."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional, Union

import pytest
from fastapi import APIRouter, Depends, FastAPI, Security, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import xconnauth
from _mint import REPO, RsaKey, access_token_claims, jwks, mint
from realm_server import RealmServer
from xconnauth.fastapi import ProblemHTTPException, XConnAuth

EXAMPLE = REPO / "python" / "examples" / "fastapi_app.py"
PAGE = REPO / "docs" / "integrations" / "fastapi.md"


def token(key: RsaKey, issuer: str, kid: str = "a", **claims: Any) -> str:
    return mint(key, access_token_claims(issuer, now=int(time.time()), **claims), kid=kid)


def bearer(value: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def build_app(auth: XConnAuth, install: bool = True) -> FastAPI:
    app = FastAPI()
    if install:
        auth.install(app)

    @app.get("/public")
    async def public() -> Dict[str, str]:
        return {"ok": "yes"}

    @app.get("/me")
    async def me(claims: xconnauth.Claims = Depends(auth)) -> Dict[str, Any]:
        return claims.to_dict()

    @app.get("/orders", responses=auth.responses)
    async def orders(claims: xconnauth.Claims = Security(auth, scopes=["orders:read"])) -> Dict[str, Any]:
        return {"sub": claims.subject}

    @app.get("/spark")
    async def spark(claims: xconnauth.Claims = Depends(auth.require(scopes=["spark"]))) -> Dict[str, Any]:
        return {"sub": claims.subject}

    @app.get("/admin")
    async def admin(claims: xconnauth.Claims = Depends(auth.require(realm_roles=["admin"]))) -> Dict[str, Any]:
        return {"sub": claims.subject}

    @app.get("/write")
    async def write(
        claims: xconnauth.Claims = Depends(auth.require(scopes=["orders:read"], client_roles={"orders-api": ["orders:write"]}))
    ) -> Dict[str, Any]:
        return {"sub": claims.subject}

    @app.get("/read")
    async def read(
        claims: xconnauth.Claims = Depends(auth.require(realm_roles=["user"], client_roles={"orders-api": ["orders:read"]}))
    ) -> Dict[str, Any]:
        return {"sub": claims.subject}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, claims: xconnauth.Claims = Depends(auth)) -> None:
        await websocket.accept()
        await websocket.send_json({"sub": claims.subject})
        await websocket.close()

    return app


@pytest.fixture()
def realm(key_a: RsaKey) -> Iterator[RealmServer]:
    with RealmServer() as server:
        server.jwks = jwks(key_a.jwk("a"))
        yield server


@pytest.fixture()
def auth(realm: RealmServer) -> XConnAuth:
    return XConnAuth(realm.issuer, audiences="orders-api", realm="orders")


@pytest.fixture()
def client(auth: XConnAuth) -> Iterator[TestClient]:
    with TestClient(build_app(auth)) as c:
        yield c


def problem(response: Any, status: int, error: str) -> Dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body: Dict[str, Any] = response.json()
    assert body["status"] == status and body["error"] == error, body
    assert set(body) >= {"type", "title", "status", "detail", "error"}
    return body


def test_valid_token_returns_the_claims(client: TestClient, realm: RealmServer, key_a: RsaKey) -> None:
    good = token(key_a, realm.issuer)
    response = client.get("/me", headers=bearer(good))
    assert response.status_code == 200
    assert response.json() == xconnauth.Verifier(
        xconnauth.KeySet.from_jwks(realm.jwks), realm.issuer
    ).verify(good).to_dict()
    assert client.get("/orders", headers=bearer(good)).json() == {"sub": "f3e520a6-5ee5-5d34-8753-3cb8c63cbf3e"}
    assert client.get("/read", headers=bearer(good)).status_code == 200
    assert client.get("/public").json() == {"ok": "yes"}


def test_401_without_a_token(client: TestClient) -> None:
    response = client.get("/me")
    body = problem(response, 401, "malformed")
    assert response.headers["www-authenticate"] == 'Bearer realm="orders"'  # no error code: RFC 6750 §3.1
    assert body["type"] == "about:blank" and body["title"] == "Unauthorized"
    problem(client.get("/me", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "malformed")
    # Two Authorization headers are refused, whichever of them is valid.
    two = client.get("/me", headers=[("Authorization", "Bearer x.y.z"), ("Authorization", "Bearer x.y.z")])
    assert "several" in problem(two, 401, "malformed")["detail"]


def test_401_expired_bad_signature_wrong_audience(
    client: TestClient, realm: RealmServer, key_a: RsaKey, key_b: RsaKey
) -> None:
    expired = mint(key_a, access_token_claims(realm.issuer, now=int(time.time()) - 3600), kid="a")
    response = client.get("/me", headers=bearer(expired))
    problem(response, 401, "expired")
    assert response.headers["www-authenticate"].startswith('Bearer realm="orders", error="invalid_token", error_description=')
    forged = token(key_b, realm.issuer, kid="a")  # another key under the realm's kid
    problem(client.get("/orders", headers=bearer(forged)), 401, "bad_signature")
    problem(client.get("/me", headers=bearer(token(key_a, realm.issuer, aud="other"))), 401, "wrong_audience")
    problem(client.get("/me", headers=bearer("not-a-token")), 401, "malformed")


def test_403_scope_realm_role_client_role(client: TestClient, realm: RealmServer, key_a: RsaKey) -> None:
    no_scope = token(key_a, realm.issuer, scope="openid profile")
    response = client.get("/orders", headers=bearer(no_scope))
    body = problem(response, 403, "missing_scope")
    assert body["detail"] == "a required scope is not granted (orders:read)"
    assert body["title"] == "Forbidden"
    assert response.headers["www-authenticate"].startswith('Bearer realm="orders", error="insufficient_scope"')
    good = token(key_a, realm.issuer)
    assert problem(client.get("/spark", headers=bearer(good)), 403, "missing_scope")["detail"].endswith("(spark)")
    body = problem(client.get("/admin", headers=bearer(good)), 403, "missing_role")
    assert body["detail"] == "a required realm role is not granted (admin)"
    body = problem(client.get("/write", headers=bearer(good)), 403, "missing_role")
    assert body["detail"] == "a required client role is not granted (orders-api/orders:write)"
    # The scope is checked before the roles (DESIGN §3 order), and a wrong role of
    # another client does not count.
    problem(client.get("/write", headers=bearer(no_scope)), 403, "missing_scope")
    other = token(key_a, realm.issuer, resource_access={"billing-api": {"roles": ["orders:read"]}})
    problem(client.get("/read", headers=bearer(other)), 403, "missing_role")
    admin = token(key_a, realm.issuer, realm_access={"roles": ["admin"]})
    assert client.get("/admin", headers=bearer(admin)).status_code == 200


def test_core_and_route_refusals_answer_alike(realm: RealmServer, key_a: RsaKey) -> None:
    # A policy-wide requirement is refused by the core; a route's by this module: same body.
    policy_wide = XConnAuth(realm.issuer, realm="orders", required_realm_roles=["admin"])
    with TestClient(build_app(policy_wide)) as c:
        core = c.get("/me", headers=bearer(token(key_a, realm.issuer)))
    per_route = XConnAuth(realm.issuer, realm="orders")
    with TestClient(build_app(per_route)) as c:
        route = c.get("/admin", headers=bearer(token(key_a, realm.issuer)))
    assert core.json() == route.json() == problem(route, 403, "missing_role")


def test_503_when_the_issuer_is_down(realm: RealmServer, key_a: RsaKey) -> None:
    realm.mode = "down"
    auth = XConnAuth(realm.issuer, realm="orders", problem_type=xconnauth.I2_CONNECT_PROBLEM_TYPE)
    with TestClient(build_app(auth)) as c:
        response = c.get("/orders", headers=bearer(token(key_a, realm.issuer)))
        body = problem(response, 503, "keys_unavailable")
        assert body["type"] == xconnauth.I2_CONNECT_PROBLEM_TYPE
        assert response.headers["retry-after"] == "5"
        assert response.headers["www-authenticate"] == 'Bearer realm="orders"'
        # Once the issuer is back the same app answers 200.
        realm.mode = "ok"
        deadline = time.monotonic() + 15
        while True:
            status = c.get("/orders", headers=bearer(token(key_a, realm.issuer))).status_code
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200


def test_openapi_declares_the_bearer_scheme(auth: XConnAuth) -> None:
    spec = build_app(auth).openapi()
    assert spec["components"]["securitySchemes"] == {
        "XConnAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An OAuth2 access token (JWT) of the trusted issuer: `Authorization: Bearer <token>`.",
        }
    }
    paths = spec["paths"]
    assert paths["/me"]["get"]["security"] == [{"XConnAuth": []}]
    assert paths["/orders"]["get"]["security"] == [{"XConnAuth": ["orders:read"]}]
    assert paths["/spark"]["get"]["security"] == [{"XConnAuth": ["spark"]}]
    assert paths["/admin"]["get"]["security"] == [{"XConnAuth": []}]
    assert "security" not in paths["/public"]["get"]
    # The dependency's own parameters are no query/header parameters of the route.
    assert "parameters" not in paths["/me"]["get"]
    refusals = paths["/orders"]["get"]["responses"]
    assert set(refusals) >= {"200", "401", "403", "503"}
    assert "application/problem+json" in refusals["401"]["content"]
    named = XConnAuth(verifier=auth.verifier, scheme_name="keycloak", description=None)
    app = FastAPI()

    @app.get("/x")
    async def x(claims: xconnauth.Claims = Depends(named)) -> None:
        pass

    spec = app.openapi()
    assert spec["components"]["securitySchemes"] == {"keycloak": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


class CountingVerifier:
    def __init__(self, verifier: xconnauth.Verifier) -> None:
        self.verifier = verifier
        self.calls = 0

    def verify_header(self, value: Union[str, bytes], now: Union[int, float, None] = None) -> xconnauth.Claims:
        self.calls += 1
        return self.verifier.verify_header(value, now)


def test_one_verification_per_request(realm: RealmServer, key_a: RsaKey) -> None:
    counting = CountingVerifier(xconnauth.Verifier(xconnauth.KeySet.from_jwks(realm.jwks), realm.issuer))
    auth = XConnAuth(verifier=counting, offload=False)
    router = APIRouter(dependencies=[Depends(auth)])

    @router.get("/both")
    async def both(
        a: xconnauth.Claims = Security(auth, scopes=["orders:read"]),
        b: xconnauth.Claims = Depends(auth.require(realm_roles=["user"])),
    ) -> bool:
        return a == b

    app = FastAPI()
    auth.install(app)
    app.include_router(router)
    with TestClient(app) as c:
        assert c.get("/both", headers=bearer(token(key_a, realm.issuer))).json() is True
        assert counting.calls == 1
        problem(c.get("/both", headers=bearer(token(key_a, realm.issuer, scope="x"))), 403, "missing_scope")
        problem(c.get("/both"), 401, "malformed")  # refused before any verifier call
        assert counting.calls == 2


def test_without_the_handler_fastapi_still_answers_status_and_challenge(
    auth: XConnAuth, realm: RealmServer, key_a: RsaKey
) -> None:
    with TestClient(build_app(auth, install=False)) as c:
        with pytest.warns(RuntimeWarning, match="auth.install"):
            response = c.get("/orders", headers=bearer(token(key_a, realm.issuer, scope="x")))
        assert response.status_code == 403
        assert response.headers["www-authenticate"].startswith('Bearer realm="orders", error="insufficient_scope"')
        assert response.json()["detail"]["error"] == "missing_scope"
        # Warned once per XConnAuth.
        assert c.get("/me").status_code == 401


def test_websocket_refused_before_accept(client: TestClient, realm: RealmServer, key_a: RsaKey) -> None:
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws"):
            pass
    assert info.value.code == 1008
    with client.websocket_connect("/ws", headers=bearer(token(key_a, realm.issuer))) as ws:
        assert ws.receive_json() == {"sub": "f3e520a6-5ee5-5d34-8753-3cb8c63cbf3e"}


@pytest.mark.parametrize("offload", [None, False])
def test_event_loop_not_blocked_by_a_slow_refresh(
    realm: RealmServer, key_a: RsaKey, key_b: RsaKey, offload: Optional[bool]
) -> None:
    """A token with a new kid makes the engine fetch the JWKS from a slow server (1.5 s);
    requests with known keys are answered meanwhile. ``offload=False`` (verification
    inline, waiting for the fetch) shows that the test sees a blocked loop."""
    auth = XConnAuth(realm.issuer, offload=offload, client_options={"refresh_cooldown": 0.0})
    good = token(key_a, realm.issuer)
    rotated = token(key_b, realm.issuer, kid="b")
    with TestClient(build_app(auth)) as c:
        assert c.get("/me", headers=bearer(good)).status_code == 200  # keys fetched
        realm.jwks = jwks(key_a.jwk("a"), key_b.jwk("b"))
        realm.mode, realm.delay = "slow", 1.5
        slow: List[Any] = []
        started = time.monotonic()
        thread = threading.Thread(target=lambda: slow.append(c.get("/me", headers=bearer(rotated))))
        thread.start()
        time.sleep(0.2)  # the slow request is waiting for the fetch now
        latencies = []
        for _ in range(10):
            t0 = time.monotonic()
            assert c.get("/me", headers=bearer(good)).status_code == 200
            latencies.append(time.monotonic() - t0)
        fast_done = time.monotonic() - started
        thread.join(10)
        slow_done = time.monotonic() - started
    assert slow and slow[0].status_code == 200  # the rotated key was picked up
    assert slow_done >= 1.4
    if offload is None:
        assert max(latencies) < 0.5 and fast_done < 1.2, (latencies, fast_done)
    else:
        assert max(latencies) >= 1.0, latencies


def test_import_isolation() -> None:
    code = "import sys, xconnauth; assert not {'fastapi', 'starlette'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('fastapi', 'starlette'):\n"
        "            raise ImportError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import xconnauth\n"
        "try:\n"
        "    import xconnauth.fastapi\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, text=True).stdout
    assert "pip install 'xconnauth[fastapi]'" in out, out


def test_configuration_errors(auth: XConnAuth, realm: RealmServer) -> None:
    with pytest.raises(TypeError, match="issuer or a verifier"):
        XConnAuth()
    with pytest.raises(TypeError, match="issuer or a verifier"):
        XConnAuth(realm.issuer, verifier=auth.verifier)
    with pytest.raises(TypeError, match="policy options"):
        XConnAuth(verifier=auth.verifier, audiences="x")
    with pytest.raises(TypeError, match="not a single str"):
        auth.require(scopes="orders:read")
    with pytest.raises(xconnauth.ConfigError, match="space"):
        auth.require(scopes=["orders:read orders:write"])
    with pytest.raises(xconnauth.ConfigError, match="empty"):
        auth.require(realm_roles=[""])
    with pytest.raises(xconnauth.ConfigError):
        XConnAuth(realm.issuer, leeway=-1)
    with pytest.raises(xconnauth.ConfigError, match="loopback"):
        XConnAuth("http://sso.example.com/realms/demo")


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_page_shows_the_example_verbatim() -> None:
    page = PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- snippet: python/examples/fastapi_app.py -->\n```python\n(.*?)```\n", page, re.S)
    assert found, "the page lacks the snippet block"
    assert found.group(1) == EXAMPLE.read_text(encoding="utf-8")


def test_docs_example_answers_200_401_403(realm: RealmServer, key_a: RsaKey) -> None:
    app = load_example().create_app(realm.issuer)
    with TestClient(app) as c:
        assert c.get("/health").json() == {"status": "ok"}
        response = c.get("/me")
        assert response.status_code == 401 and response.headers["www-authenticate"] == 'Bearer realm="demo"'
        good = token(key_a, realm.issuer)
        me = c.get("/me", headers=bearer(good)).json()
        assert me["sub"] == "f3e520a6-5ee5-5d34-8753-3cb8c63cbf3e" and "orders:read" in me["scopes"]
        assert c.get("/orders", headers=bearer(good)).json() == {"orders": [], "for": "web-portal"}
        problem(c.get("/orders", headers=bearer(token(key_a, realm.issuer, scope="profile"))), 403, "missing_scope")
        problem(c.get("/admin", headers=bearer(good)), 403, "missing_role")
        admin = token(key_a, realm.issuer, realm_access={"roles": ["admin"]})
        assert c.get("/admin", headers=bearer(admin)).status_code == 200
