"""integrations/nginx/xconnauth.lua in a real nginx, configured from the documented
snippet, against the local Keycloak-style issuer on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from conftest import (  # the fixtures' helpers
    ROOT,
    SNIPPET,
    Nginx,
    Response,
    SlowJwks,
    StartNginx,
    _start,
    free_port,
    main_conf,
    nginx_binary,
    render,
    serve,
    wait_for,
)
from issuer import Issuer, generate_rsa_key  # on sys.path through conftest

# Profiles and locations the tests add next to the snippet's (inside its init_by_lua_block
# and in a second server block).
EXTRA_LUA = """
    xconnauth.configure("tiny-buffer", realm, { claims_buffer = 16 })
    xconnauth.configure("custom", realm, {
        claim_headers = {
            ["X-User"] = "preferred_username",
            ["X-Auth-Orders-Roles"] = { "resource_access", "orders-api", "roles" },
            ["X-Auth-Exp"] = "exp",
        },
        problem_type = "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb",
    })
"""
EXTRA_SERVER = """
server {
    listen 127.0.0.1:@EXTRA_PORT@;
    location /optional/ {
        access_by_lua_block { require("xconnauth").protect{ optional = true } }
        proxy_pass http://127.0.0.1:@UPSTREAM@;
    }
    location /tiny/ {
        access_by_lua_block { require("xconnauth").protect("tiny-buffer") }
        proxy_pass http://127.0.0.1:@UPSTREAM@;
    }
    location /custom/ {
        access_by_lua_block { require("xconnauth").protect("custom") }
        proxy_pass http://127.0.0.1:@UPSTREAM@;
    }
    location /slow/ {
        access_by_lua_block { require("xconnauth").protect("slow") }
        proxy_pass http://127.0.0.1:@UPSTREAM@;
    }
    location = /ping { return 200 "pong"; }
}
"""


def claims_of(token: str) -> Dict[str, Any]:
    payload = token.split(".")[1]
    claims: Dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def upstream_headers(r: Response) -> List[Tuple[str, str]]:
    assert r.status == 200, r
    return [(k.lower(), v) for k, v in r.json()["headers"]]


def header(r: Response, name: str) -> List[str]:
    return [v for k, v in upstream_headers(r) if k == name.lower()]


def assert_problem(r: Response, status: int, code: str, *, challenge: str) -> Dict[str, Any]:
    assert r.status == status, r
    assert r.headers["content-type"] == "application/problem+json", r
    body: Dict[str, Any] = r.json()
    assert body["status"] == status and body["error"] == code, body
    assert r.headers.get("www-authenticate") == challenge, r
    return body


def invalid_challenge(r: Response, error: str = "invalid_token") -> str:
    value: str = r.headers.get("www-authenticate", "")
    assert value.startswith(f'Bearer realm="demo", error="{error}", error_description="'), r
    return value


@pytest.fixture(scope="module")
def nginx(issuer: Issuer, upstream: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    n = _start(tmp_path_factory.mktemp("nginx"), issuer, upstream, extra_lua=EXTRA_LUA + slow_profile(issuer, 1),
               extra_server=EXTRA_SERVER)
    # Each worker fetches its keys right after it starts: wait until requests pass.
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    assert wait_for(lambda: all(n.get("/orders/x", token=token).status == 200 for _ in range(6)), 10), n.log()
    yield n
    n.stop()
    log = n.log()
    assert "[alert]" not in log and "[emerg]" not in log and "[crit]" not in log, log


def slow_profile(iss: Issuer, port: int) -> str:
    return f"""
    xconnauth.configure("slow", realm, {{
        engine = {{ timeout = 5, jwks_uris = {{ ["{iss.issuer}"] = "http://127.0.0.1:{port}/certs" }} }},
    }})
"""


# --- the documented snippet ---------------------------------------------------------


def test_docs_page_shows_the_tested_snippet() -> None:
    page = (ROOT / "docs" / "integrations" / "nginx.md").read_text()
    marker = "<!-- snippet: integrations/nginx/xconnauth.conf -->\n```nginx\n"
    assert marker in page
    start = page.index(marker) + len(marker)
    shown = page[start:page.index("```\n", start)]
    assert shown == SNIPPET.read_text(), "docs/integrations/nginx.md and integrations/nginx/xconnauth.conf differ"


def refused_start(tmp_path: Path, issuer: Issuer, upstream: int, extra_lua: str) -> str:
    """Starts nginx with one more profile; it must exit at once. Returns its error log."""
    body = render(SNIPPET.read_text(), issuer=issuer.issuer, port=free_port(), upstream=upstream,
                  extra_lua=extra_lua)
    conf = tmp_path / "nginx.conf"
    (tmp_path / "error.log").write_text("")
    conf.write_text(main_conf(tmp_path, body))
    r = subprocess.run([nginx_binary(), "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0, r
    return r.stderr + (tmp_path / "error.log").read_text()


def test_a_policy_typo_stops_nginx(tmp_path: Path, issuer: Issuer, upstream: int) -> None:
    log = refused_start(tmp_path, issuer, upstream,
                        '    xconnauth.configure("typo", realm, { audience = "orders-api" })\n')
    assert 'profile "typo": invalid_config' in log and 'unknown option "audience"' in log, log


def test_blocking_engine_mode_is_refused(tmp_path: Path, issuer: Issuer, upstream: int) -> None:
    log = refused_start(tmp_path, issuer, upstream,
                        '    xconnauth.configure("b", realm, { engine = { non_blocking = false } })\n')
    assert "non_blocking = false" in log, log


# --- 200 ------------------------------------------------------------------------------


def test_valid_token_reaches_upstream_with_claim_headers(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    claims = claims_of(token)
    r = nginx.get("/orders/42", token=token)
    assert r.json()["path"] == "/orders/42"
    assert header(r, "X-Auth-Sub") == [claims["sub"]]
    assert header(r, "X-Auth-Client-Id") == ["orders-reporter"]
    assert header(r, "X-Auth-Scope") == [claims["scope"]]
    assert "orders:read" in claims["scope"].split()
    assert header(r, "X-Auth-Roles") == [",".join(claims["realm_access"]["roles"])]
    # Not asked to strip it: the upstream gets the caller's Authorization.
    assert header(r, "Authorization") == [f"Bearer {token}"]


def test_injected_auth_headers_are_removed(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    forged = [
        ("X-Auth-Sub", "admin"), ("x-auth-sub", "admin2"), ("X_Auth_Sub", "admin3"),
        ("X-Auth-Roles", "admin"), ("X-Auth-Anything", "1"), ("X-AUTH-TENANT", "other"),
    ]
    r = nginx.get("/orders/1", token=token, headers=forged)
    names = [k for k, _ in upstream_headers(r)]
    assert header(r, "X-Auth-Sub") == [claims_of(token)["sub"]]
    assert "x_auth_sub" not in names and "x-auth-anything" not in names and "x-auth-tenant" not in names, names
    assert header(r, "X-Auth-Roles") == [",".join(claims_of(token)["realm_access"]["roles"])]


def test_unsafe_claim_values_are_not_sent(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.mint({"aud": "orders-api", "scope": "orders:read", "sub": "alice\r\nX-Admin: 1",
                         "realm_access": {"roles": ["reader", "admin,root"]}, "azp": "web-app"})
    r = nginx.get("/orders/1", token=token)
    assert header(r, "X-Auth-Sub") == [] and header(r, "X-Auth-Roles") == [] and header(r, "X-Admin") == []
    assert header(r, "X-Auth-Client-Id") == ["web-app"]
    log = nginx.log()
    assert "xconnauth: claim for X-Auth-Sub" in log and "xconnauth: claim for X-Auth-Roles" in log
    assert "X-Admin" not in log and "admin,root" not in log  # the warning names the header, not the value


def test_optional_location_passes_anonymous_callers_without_auth_headers(nginx: Nginx, issuer: Issuer) -> None:
    r = nginx.get_extra("/optional/x", headers=[("X-Auth-Sub", "admin"), ("X_Auth_Sub", "admin")])
    names = [k for k, _ in upstream_headers(r)]
    assert not [n for n in names if n.replace("_", "-").startswith("x-auth-")], names
    # A token that is there must still be valid.
    r = nginx.get_extra("/optional/x", token="not-a-token")
    assert r.status == 401 and r.json()["error"] == "malformed", r
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    assert header(nginx.get_extra("/optional/x", token=token), "X-Auth-Sub") == [claims_of(token)["sub"]]


def test_strip_authorization(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read orders:write")
    r = nginx.get("/orders/write/7", token=token)
    assert header(r, "Authorization") == []
    assert header(r, "X-Auth-Sub") == [claims_of(token)["sub"]]


def test_claims_larger_than_the_buffer_grow_it(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    for _ in range(3):  # the first grows the buffer, the next ones reuse it
        r = nginx.get_extra("/tiny/x", token=token)
        assert header(r, "X-Auth-Sub") == [claims_of(token)["sub"]]


def test_custom_claim_headers(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_user("alice", client_id="web-app", scope="orders:read")
    r = nginx.get_extra("/custom/x", token=token, headers=[("X-User", "root"), ("X-Auth-Sub", "root")])
    assert header(r, "X-User") == ["alice"]
    assert header(r, "X-Auth-Orders-Roles") == ["reader"]
    assert header(r, "X-Auth-Exp") == [str(claims_of(token)["exp"])]
    assert header(r, "X-Auth-Sub") == []  # not mapped in this profile, and the caller's is gone


# --- 401 / 403 ------------------------------------------------------------------------


def test_no_token_is_401_with_a_bare_challenge(nginx: Nginx) -> None:
    r = nginx.get("/orders/1")
    body = assert_problem(r, 401, "malformed", challenge='Bearer realm="demo"')
    assert body["type"] == "about:blank"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("case", ["expired", "forged", "unknown_kid", "garbage", "basic", "audience", "not_yet"])
def test_rejected_tokens_are_401(nginx: Nginx, issuer: Issuer, case: str) -> None:
    now = int(time.time())
    headers: List[Tuple[str, str]] = []
    token = None
    code = {
        "expired": "expired", "forged": "bad_signature", "unknown_kid": "unknown_kid", "garbage": "malformed",
        "basic": "malformed", "audience": "wrong_audience", "not_yet": "not_yet_valid",
    }[case]
    if case == "expired":
        token = issuer.mint({"exp": now - 3600, "iat": now - 7200, "aud": "orders-api", "scope": "orders:read"})
    elif case == "forged":
        token = issuer.mint({"aud": "orders-api", "scope": "orders:read"}, kid=issuer.kid, key=generate_rsa_key())
    elif case == "unknown_kid":
        token = issuer.mint({"aud": "orders-api", "scope": "orders:read"}, kid="no-such-kid")
    elif case == "garbage":
        token = "not-a-token"
    elif case == "basic":
        headers = [("Authorization", "Basic b3JkZXJzOnNlY3JldA==")]
    elif case == "audience":
        token = issuer.token_for_client("billing-batch", scope="billing:write")
    elif case == "not_yet":
        token = issuer.mint({"nbf": now + 3600, "aud": "orders-api", "scope": "orders:read"})
    r = nginx.get("/orders/1", token=token, headers=headers)
    assert_problem(r, 401, code, challenge=invalid_challenge(r))


def test_two_authorization_headers_are_refused(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    r = nginx.get("/orders/1", token=token, headers=[("Authorization", f"Bearer {token}")])
    # nginx >= 1.21.1 refuses a repeated Authorization itself (400); older ones pass both
    # to Lua, which refuses them (401 malformed). Never the upstream.
    if r.status == 400:
        return
    assert_problem(r, 401, "malformed", challenge=invalid_challenge(r))


def test_missing_scope_is_403(nginx: Nginx, issuer: Issuer) -> None:
    token = issuer.token_for_client("orders-reporter", scope="orders:read")
    r = nginx.get("/orders/write/1", token=token)
    assert_problem(r, 403, "missing_scope", challenge=invalid_challenge(r, "insufficient_scope"))


def test_roles(nginx: Nginx, issuer: Issuer) -> None:
    reporter = issuer.token_for_client("orders-reporter")
    assert nginx.get("/reports/q1", token=reporter).status == 200
    alice = issuer.token_for_user("alice", client_id="web-app")  # orders-api:reader, no "reporting"
    r = nginx.get("/reports/q1", token=alice)
    assert_problem(r, 403, "missing_role", challenge=invalid_challenge(r, "insufficient_scope"))


def test_problem_type_is_configurable(nginx: Nginx) -> None:
    r = nginx.get_extra("/custom/x", token="x.y.z")
    assert r.status == 401 and r.json()["type"] == "urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb"


def test_head_request_gets_status_without_body(nginx: Nginx) -> None:
    r = nginx.get("/orders/1", method="HEAD")
    assert r.status == 401 and r.body == b""


def test_status_location(nginx: Nginx, issuer: Issuer) -> None:
    s = nginx.get("/xconnauth/status").json()
    assert s["remote"] is True
    (entry,) = s["issuers"]
    assert entry["issuer"] == issuer.issuer and issuer.kid in entry["kids"] and entry["last_error"] is None


# --- keys: rotation, outage, a slow key server -----------------------------------------


def test_rotation_is_picked_up(start_nginx: StartNginx, fresh_issuer: Issuer) -> None:
    n = start_nginx(fresh_issuer)
    old = fresh_issuer.token_for_client("orders-reporter", scope="orders:read")
    assert wait_for(lambda: n.get("/orders/1", token=old).status == 200, 10), n.log()
    time.sleep(1.1)  # past the (test) cooldown of the workers' first fetch
    fresh_issuer.rotate(grace=600)
    new = fresh_issuer.token_for_client("orders-reporter", scope="orders:read")
    # Non-blocking mode: the first request with the new kid starts the refresh and is
    # answered at once (401 unknown_kid); a retry shortly after passes. With 2 workers,
    # each refreshes on its own first miss.
    first = n.get("/orders/1", token=new)
    assert first.status == 401 and first.json()["error"] == "unknown_kid" and first.elapsed < 1.0, first
    seen: List[int] = []

    def passes() -> bool:  # every worker has the new key: a run of 200s
        statuses = [n.get("/orders/1", token=new).status for _ in range(8)]
        seen.extend(statuses)
        return statuses == [200] * 8

    assert wait_for(passes, 10, 0.2), (seen, n.log())
    assert n.get("/orders/1", token=old).status == 200  # still published (grace)


def test_issuer_down_at_start_is_503_then_recovers(start_nginx: StartNginx, fresh_issuer: Issuer) -> None:
    fresh_issuer.set_outage(True)
    n = start_nginx(fresh_issuer)
    token = fresh_issuer.token_for_client("orders-reporter", scope="orders:read")
    r = n.get("/orders/1", token=token)
    body = assert_problem(r, 503, "keys_unavailable", challenge='Bearer realm="demo"')
    assert body["title"] == "Service Unavailable" and r.headers["retry-after"] == "1"
    assert r.elapsed < 1.0, r
    fresh_issuer.set_outage(False)
    assert wait_for(lambda: n.get("/orders/1", token=token).status == 200, 10, 0.2), n.log()


def test_slow_key_server_never_stalls_the_worker(start_nginx: StartNginx, fresh_issuer: Issuer) -> None:
    class Slow(SlowJwks):
        issuer = fresh_issuer
        delay = 3.0
        hits = 0

    server, port = serve(Slow)
    try:
        n = start_nginx(fresh_issuer, extra_lua=slow_profile(fresh_issuer, port),
                        extra_server=EXTRA_SERVER)
        token = fresh_issuer.token_for_client("orders-reporter", scope="orders:read")
        # Both workers' first fetches are under way (3 s each): answers come at once.
        for _ in range(4):
            r = n.get_extra("/slow/1", token=token)
            assert r.status == 503 and r.elapsed < 0.5, r
            ping = n.get_extra("/ping")
            assert ping.status == 200 and ping.elapsed < 0.5, ping
        assert Slow.hits <= 2  # one fetch per worker, however many requests
        assert wait_for(lambda: n.get_extra("/slow/1", token=token).status == 200, 10, 0.2), n.log()
    finally:
        server.shutdown()
        server.server_close()
