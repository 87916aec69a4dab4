"""The connector: login (user/password, API key), its own tokens verified by xconnauth,
and i2 Connect's 401 problem type on every token failure, also mid-query."""

from __future__ import annotations

import http.client
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlencode

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import xconnauth  # noqa: E402
from connector import I2_PROBLEM_TYPE, Connector  # noqa: E402

USERS = {"alice": "dev-password-alice", "bob": "dev-password-bob"}
API_KEY = "dev-apikey-3f7a9c1e5b2d4a6f8e0c"
API_KEYS = {API_KEY: "reporting-service"}
T0 = 1_800_000_000


class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:300]!r}>"


def call(base: str, method: str, path: str, *, token: Optional[str] = None, json_body: Any = None,
         form: Optional[Dict[str, str]] = None, body: Optional[bytes] = None,
         headers: Optional[List[Tuple[str, str]]] = None) -> Response:
    host, port = base.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    hdrs = dict(headers or [])
    if json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


@pytest.fixture
def connector() -> Iterator[Connector]:
    """A connector on a frozen clock (advance it with .advance)."""
    c = Connector(users=USERS, api_keys=API_KEYS, token_lifetime=60, query_seconds=120)
    c.set_time(T0)
    c.start()
    yield c
    c.stop()


def login(c: Connector, user: str = "alice") -> str:
    r = call(c.base_url, "POST", "/login/userpass", json_body={"username": user, "password": USERS[user]})
    assert r.status == 200, r
    return str(r.json()["token"])


def assert_i2_401(r: Response, code: str) -> None:
    """The answer that makes i2 Analyze ask the user to log in again."""
    assert r.status == 401, r
    assert r.headers["content-type"] == "application/problem+json", r
    body = r.json()
    assert body["type"] == I2_PROBLEM_TYPE == "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb"
    assert body["status"] == 401 and body["error"] == code and body["title"] and body["detail"], body
    assert r.headers["www-authenticate"].startswith('Bearer realm="connector"'), r


# ---- login ------------------------------------------------------------------------------


def test_userpass_login_json_and_form(connector: Connector) -> None:
    token = login(connector)
    # Verified independently: fetch the published JWKS, pin issuer and audience.
    jwks = call(connector.base_url, "GET", "/.well-known/jwks.json")
    assert jwks.status == 200 and jwks.json()["keys"][0]["kid"] == connector.kid
    verifier = xconnauth.Verifier(xconnauth.KeySet.from_jwks(jwks.body), issuers=connector.base_url,
                                  audiences="i2connect-connector", leeway=0)
    claims = verifier.verify(token, now=T0)
    assert claims["sub"] == "alice" and claims["iss"] == connector.base_url
    assert claims["exp"] - claims["iat"] == 60
    with pytest.raises(xconnauth.Expired):
        verifier.verify(token, now=T0 + 60)

    r = call(connector.base_url, "POST", "/login/userpass", form={"username": "bob", "password": USERS["bob"]})
    assert r.status == 200 and verifier.verify(r.json()["token"], now=T0)["sub"] == "bob"


@pytest.mark.parametrize("fields", [
    {"username": "alice", "password": "wrong"},
    {"username": "mallory", "password": "dev-password-alice"},
    {"username": "alice", "password": "dev-password-bob"},
])
def test_userpass_bad_credentials(connector: Connector, fields: Dict[str, str]) -> None:
    r = call(connector.base_url, "POST", "/login/userpass", json_body=fields)
    assert r.status == 401 and r.headers["content-type"] == "application/problem+json", r
    assert "token" not in r.json()


def test_login_input_is_checked(connector: Connector) -> None:
    base = connector.base_url
    assert call(base, "POST", "/login/userpass", json_body={"username": "alice"}).status == 400
    assert call(base, "POST", "/login/userpass", json_body={"username": "alice", "password": 5}).status == 400
    assert call(base, "POST", "/login/userpass", json_body=["alice", "x"]).status == 400
    assert call(base, "POST", "/login/userpass", body=b"{nope", headers=[("Content-Type", "application/json")]).status == 400
    assert call(base, "POST", "/login/userpass", body=b"u=a", headers=[("Content-Type", "text/plain")]).status == 415
    big = b"{" + b" " * (70 * 1024) + b"}"
    assert call(base, "POST", "/login/userpass", body=big, headers=[("Content-Type", "application/json")]).status == 413
    r = call(base, "GET", "/login/userpass")
    assert r.status == 405 and r.headers["allow"] == "POST"


def test_apikey_login(connector: Connector) -> None:
    r = call(connector.base_url, "POST", "/login/apikey", json_body={"apiKey": API_KEY})
    assert r.status == 200, r
    token = r.json()["token"]
    r = call(connector.base_url, "POST", "/acquire", token=token, json_body={})
    assert r.status == 200 and r.json()["requestedBy"] == "reporting-service"
    r = call(connector.base_url, "POST", "/login/apikey", form={"apiKey": API_KEY})
    assert r.status == 200
    r = call(connector.base_url, "POST", "/login/apikey", json_body={"apiKey": API_KEY + "x"})
    assert r.status == 401 and "token" not in r.json()


# ---- token checks on the data endpoints -------------------------------------------------


def test_acquire_with_token(connector: Connector) -> None:
    r = call(connector.base_url, "POST", "/acquire", token=login(connector), json_body={"payload": {"term": "ada"}})
    assert r.status == 200, r
    body = r.json()
    assert body["requestedBy"] == "alice" and len(body["entities"]) == 2 and body["links"] == []


def test_acquire_without_token(connector: Connector) -> None:
    r = call(connector.base_url, "POST", "/acquire", json_body={})
    assert_i2_401(r, "malformed")
    assert r.headers["www-authenticate"] == 'Bearer realm="connector"'  # RFC 6750 §3.1: no error code


def test_bad_tokens_get_the_i2_problem(connector: Connector) -> None:
    base = connector.base_url
    assert_i2_401(call(base, "POST", "/acquire", token="garbage", json_body={}), "malformed")
    # Signed by another connector's key: its kid is not in our key set.
    with Connector() as other:
        foreign = other.mint("alice", iss=connector.issuer, aud=connector.audience)
        head = json.loads(xconnauth_b64(foreign.split(".")[0]))
        assert head["kid"] != connector.kid
        assert_i2_401(call(base, "POST", "/acquire", token=foreign, json_body={}), "unknown_kid")
    # Our key, but for another audience or issuer.
    assert_i2_401(call(base, "POST", "/acquire", token=connector.mint("alice", aud="other-connector"),
                       json_body={}), "wrong_audience")
    assert_i2_401(call(base, "POST", "/acquire", token=connector.mint("alice", iss="http://evil.test"),
                       json_body={}), "wrong_issuer")
    # Tampered payload.
    h, p, s = login(connector).split(".")
    tampered = json.loads(xconnauth_b64(p))
    tampered["sub"] = "bob"
    forged = f"{h}.{b64(json.dumps(tampered).encode())}.{s}"
    assert_i2_401(call(base, "POST", "/acquire", token=forged, json_body={}), "bad_signature")


def test_expired_token(connector: Connector) -> None:
    token = login(connector)
    connector.advance(59)
    assert call(connector.base_url, "POST", "/acquire", token=token, json_body={}).status == 200
    connector.advance(1)
    assert_i2_401(call(connector.base_url, "POST", "/acquire", token=token, json_body={}), "expired")


# ---- asynchronous queries ---------------------------------------------------------------


def test_async_flow_with_expiry_mid_query(connector: Connector) -> None:
    base = connector.base_url
    token = login(connector)  # valid T0 .. T0+60
    r = call(base, "POST", "/async/queries", token=token, json_body={"payload": {"term": "bo"}})
    assert r.status == 202, r
    qid = r.json()["id"]
    assert r.headers["location"] == f"/async/queries/{qid}"

    connector.advance(30)
    r = call(base, "GET", f"/async/queries/{qid}", token=token)
    assert r.status == 200 and r.json()["state"] == "STARTED", r
    assert call(base, "GET", f"/async/queries/{qid}/results", token=token).status == 409

    # The token expires while the query (120 s) is still running.
    connector.advance(40)
    assert_i2_401(call(base, "GET", f"/async/queries/{qid}", token=token), "expired")
    assert_i2_401(call(base, "GET", f"/async/queries/{qid}/results", token=token), "expired")
    assert_i2_401(call(base, "DELETE", f"/async/queries/{qid}", token=token), "expired")

    # Logging in again continues the same query.
    token = login(connector)
    r = call(base, "GET", f"/async/queries/{qid}", token=token)
    assert r.status == 200 and r.json()["state"] == "STARTED"
    connector.advance(55)  # T0+125: the query (until T0+120) is done, the new token still valid
    r = call(base, "GET", f"/async/queries/{qid}", token=token)
    assert r.status == 200 and r.json()["state"] == "SUCCEEDED", r
    r = call(base, "GET", f"/async/queries/{qid}/results", token=token)
    assert r.status == 200 and r.json()["requestedBy"] == "alice"
    assert "matched 'bo'" in r.json()["entities"][0]["properties"]["PER6"]
    assert call(base, "DELETE", f"/async/queries/{qid}", token=token).status == 204
    assert call(base, "GET", f"/async/queries/{qid}", token=token).status == 404


def test_async_queries_are_private_and_need_a_token(connector: Connector) -> None:
    base = connector.base_url
    qid = call(base, "POST", "/async/queries", token=login(connector, "alice"), json_body={}).json()["id"]
    bob = login(connector, "bob")
    assert call(base, "GET", f"/async/queries/{qid}", token=bob).status == 404
    assert call(base, "DELETE", f"/async/queries/{qid}", token=bob).status == 404
    assert_i2_401(call(base, "GET", f"/async/queries/{qid}"), "malformed")
    assert_i2_401(call(base, "POST", "/async/queries", json_body={}), "malformed")
    assert call(base, "GET", "/async/queries/not-an-id", token=bob).status == 404
    r = call(base, "PUT", f"/async/queries/{qid}", token=bob, body=b"")
    assert r.status in (405, 501)


def test_async_expiry_in_real_time() -> None:
    """The same, on the real clock: a 1 s token dies while a 5 s query runs."""
    with Connector(users=USERS, token_lifetime=1, query_seconds=5) as c:
        token = login(c)
        qid = call(c.base_url, "POST", "/async/queries", token=token, json_body={}).json()["id"]
        assert call(c.base_url, "GET", f"/async/queries/{qid}", token=token).json()["state"] == "STARTED"
        deadline = time.monotonic() + 5
        while True:
            r = call(c.base_url, "GET", f"/async/queries/{qid}", token=token)
            if r.status != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert_i2_401(r, "expired")
        r = call(c.base_url, "GET", f"/async/queries/{qid}", token=login(c))
        assert r.status == 200 and r.json()["state"] == "STARTED"


# ---- the command line --------------------------------------------------------------------


def test_command_line(tmp_path: Path) -> None:
    config = HERE.parent / "config.example.json"
    proc = subprocess.Popen(
        [sys.executable, str(HERE.parent / "connector.py"), "--config", str(config), "--port", "0",
         "--token-lifetime", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(30), "the connector printed nothing"
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        base = line.split()[-1]
        cfg = json.loads(config.read_text())
        user, password = next(iter(cfg["users"].items()))
        r = call(base, "POST", "/login/userpass", json_body={"username": user, "password": password})
        assert r.status == 200, r
        r = call(base, "POST", "/acquire", token=r.json()["token"], json_body={})
        assert r.status == 200 and r.json()["requestedBy"] == user
    finally:
        proc.terminate()
        proc.wait(10)
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()


# ---- helpers -------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def xconnauth_b64(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
