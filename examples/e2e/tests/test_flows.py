"""The request flows through the proxy: who gets through, who is refused, and what the
upstream sees."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any, Callable, Tuple

import pytest
from conftest import CLIENT, SECRET, UPSTREAM_KEY, Stack, call, client_credentials
from issuer import Issuer, generate_rsa_key
from proxy import ConfigError, ProxyConfig, ProxyServer
from upstream import Upstream


def assert_problem(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["status"] == status and body["error"] == code, body
    assert body["type"] == "about:blank" and body["title"] and body["detail"]


def test_client_credentials_token_reaches_upstream_with_key_and_without_caller_token(stack: Stack) -> None:
    answer = client_credentials(stack.issuer)
    assert answer["token_type"] == "Bearer" and "orders:read" in answer["scope"].split()
    reply = call(f"{stack.url}/orders/42?expand=items", token=answer["access_token"])
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["ok"] and body["path"] == "/orders/42" and body["query"] == "expand=items"
    assert body["authenticated_client"] == CLIENT
    seen = stack.upstream.requests[-1]["headers"]
    assert seen["x-functions-key"] == UPSTREAM_KEY
    assert "authorization" not in seen
    assert seen["x-forwarded-for"] == "127.0.0.1"


def test_post_body_and_method_pass_through(stack: Stack) -> None:
    token = client_credentials(stack.issuer)["access_token"]
    payload = json.dumps({"item": "widget", "qty": 3}).encode()
    reply = call(f"{stack.url}/orders", token=token, method="POST", body=payload,
                 headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    assert reply.json()["method"] == "POST"
    assert stack.upstream.requests[-1]["body"] == payload


def test_caller_cannot_supply_the_key_or_the_identity_headers(stack: Stack) -> None:
    token = client_credentials(stack.issuer)["access_token"]
    reply = call(f"{stack.url}/orders", token=token, headers={
        "x-functions-key": "caller-chosen", "X-Authenticated-Subject": "admin",
        "X-Authenticated-Client": "admin-console", "X-Forwarded-For": "10.0.0.1"})
    assert reply.status == 200, reply.body
    seen = stack.upstream.requests[-1]["headers"]
    assert seen["x-functions-key"] == UPSTREAM_KEY
    assert seen["x-authenticated-client"] == CLIENT and seen["x-authenticated-subject"] != "admin"
    assert seen["x-forwarded-for"] == "127.0.0.1"


def test_password_grant_user_with_the_role_gets_through(stack: Stack) -> None:
    form = b"grant_type=password&client_id=web-app&username=alice&password=dev-password-alice&scope=openid+orders:read"
    reply = call(stack.issuer.token_endpoint, method="POST", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200, reply.body
    ok = call(f"{stack.url}/orders", token=reply.json()["access_token"])
    assert ok.status == 200 and ok.json()["authenticated_client"] == "web-app"


def test_wrong_scope_is_403_insufficient_scope(stack: Stack) -> None:
    before = stack.upstream.count
    token = client_credentials(stack.issuer, scope="orders:write")["access_token"]
    reply = call(f"{stack.url}/orders", token=token)
    assert_problem(reply, 403, "missing_scope")
    assert 'error="insufficient_scope"' in reply.headers["www-authenticate"]
    assert stack.upstream.count == before


def test_missing_client_role_is_403(stack: Stack) -> None:
    # bob has no orders-api role; the web-app client maps the orders-api audience anyway.
    token = stack.issuer.token_for_user("bob", "web-app", scope="orders:read")
    assert_problem(call(f"{stack.url}/orders", token=token), 403, "missing_role")


def test_other_audience_is_401(stack: Stack) -> None:
    token = client_credentials(stack.issuer, "billing-batch", "dev-secret-billing-batch", "billing:write")["access_token"]
    reply = call(f"{stack.url}/orders", token=token)
    assert_problem(reply, 401, "wrong_audience")
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_no_token_is_401_with_a_bare_challenge(stack: Stack) -> None:
    reply = call(f"{stack.url}/orders")
    assert_problem(reply, 401, "malformed")
    assert reply.headers["www-authenticate"] == 'Bearer realm="demo"'


def test_expired_token_is_401(stack: Stack) -> None:
    # The issuer's clock an hour back: it issues tokens that expired 55 minutes ago.
    stack.issuer.advance(-3600)
    token = client_credentials(stack.issuer)["access_token"]
    stack.issuer.reset_time()
    reply = call(f"{stack.url}/orders", token=token)
    assert_problem(reply, 401, "expired")
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_forged_kid_is_401_unknown_kid(stack: Stack) -> None:
    valid = stack.issuer.token_for_client(CLIENT, "orders:read")
    claims = json.loads(base64.urlsafe_b64decode(valid.split(".")[1] + "=="))
    forged = stack.issuer.mint(claims, base=False, kid="forged-kid", key=generate_rsa_key())
    assert_problem(call(f"{stack.url}/orders", token=forged), 401, "unknown_kid")


def test_bad_signature_is_401(stack: Stack) -> None:
    claims = {"aud": "orders-api", "scope": "orders:read", "resource_access": {"orders-api": {"roles": ["reader"]}}}
    # Right kid, wrong key.
    foreign = stack.issuer.mint(claims, kid=stack.issuer.kid, key=generate_rsa_key())
    assert_problem(call(f"{stack.url}/orders", token=foreign), 401, "bad_signature")
    # A genuine token whose payload was swapped for a more generous one.
    genuine = stack.issuer.token_for_client(CLIENT, "orders:read")
    head, payload, sig = genuine.split(".")
    richer = json.loads(base64.urlsafe_b64decode(payload + "=="))
    richer["realm_access"]["roles"].append("admin")
    forged_payload = base64.urlsafe_b64encode(json.dumps(richer).encode()).rstrip(b"=").decode()
    assert_problem(call(f"{stack.url}/orders", token=f"{head}.{forged_payload}.{sig}"), 401, "bad_signature")


def _can_bind(address: str) -> bool:
    try:
        with socket.socket() as s:
            s.bind((address, 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _can_bind("127.0.0.2"), reason="cannot use 127.0.0.2 as a source address here")
def test_ip_not_in_allow_list_is_403_before_any_token_check(
    make_issuer: Callable[..., Issuer], upstream: Upstream, make_proxy: Callable[..., Tuple[ProxyServer, ProxyConfig]]
) -> None:
    issuer = make_issuer()
    server, _ = make_proxy(issuer, upstream, allow=["127.0.0.1/32"])
    token = client_credentials(issuer)["access_token"]
    refused = call(f"{server.url}/orders", token=token, source="127.0.0.2")
    assert refused.status == 403 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "client address 127.0.0.2 is not allowed"
    assert "www-authenticate" not in refused.headers  # no token would help
    assert call(f"{server.url}/orders", token=token, source="127.0.0.1").status == 200


def test_empty_allow_list_refuses_everyone(
    make_issuer: Callable[..., Issuer], upstream: Upstream, make_proxy: Callable[..., Tuple[ProxyServer, ProxyConfig]]
) -> None:
    issuer = make_issuer()
    server, _ = make_proxy(issuer, upstream, allow=[])
    reply = call(f"{server.url}/orders", token=issuer.token_for_client(CLIENT, "orders:read"))
    assert reply.status == 403 and upstream.count == 0


def test_health_needs_no_token(stack: Stack) -> None:
    reply = call(f"{stack.url}/healthz")
    assert reply.status == 200 and reply.json() == {"status": "ok"}


def test_upstream_refuses_wrong_key_and_any_authorization(upstream: Upstream) -> None:
    assert call(f"{upstream.url}/x").status == 401
    assert call(f"{upstream.url}/x", headers={"x-functions-key": "nope"}).status == 401
    with_token = call(f"{upstream.url}/x", headers={"x-functions-key": UPSTREAM_KEY}, token="abc")
    assert with_token.status == 401 and "Authorization" in with_token.json()["error"]
    assert call(f"{upstream.url}/x", headers={"x-functions-key": UPSTREAM_KEY}).status == 200


def test_upstream_down_is_502(make_issuer: Callable[..., Issuer], make_proxy: Callable[..., Tuple[ProxyServer, ProxyConfig]]) -> None:
    issuer = make_issuer()
    gone = Upstream(UPSTREAM_KEY)
    server, _ = make_proxy(issuer, gone)
    gone.stop()  # its port is now closed
    reply = call(f"{server.url}/orders", token=issuer.token_for_client(CLIENT, "orders:read"))
    assert reply.status == 502 and reply.json()["title"] == "Bad Gateway"


def test_token_endpoint_errors_look_like_keycloak(make_issuer: Callable[..., Issuer]) -> None:
    issuer = make_issuer()
    form = "application/x-www-form-urlencoded"
    wrong_secret = call(issuer.token_endpoint, method="POST", headers={"Content-Type": form},
                        body=f"grant_type=client_credentials&client_id={CLIENT}&client_secret=nope".encode())
    assert wrong_secret.status == 401 and wrong_secret.json()["error"] == "unauthorized_client"
    bad_scope = call(issuer.token_endpoint, method="POST", headers={"Content-Type": form},
                     body=f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}&scope=admin".encode())
    assert bad_scope.status == 400 and bad_scope.json()["error"] == "invalid_scope"
    by_form = call(issuer.token_endpoint, method="POST", headers={"Content-Type": form},
                   body=f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}".encode())
    assert by_form.status == 200 and by_form.json()["scope"] == "profile email"


def test_keycloak_token_shape(make_issuer: Callable[..., Issuer]) -> None:
    issuer = make_issuer()
    token = client_credentials(issuer)["access_token"]
    head, payload, _ = token.split(".")
    assert base64.urlsafe_b64decode(head + "==").startswith(b'{"alg" : "RS256","typ" : "JWT","kid" : "')
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert list(claims)[:8] == ["exp", "iat", "jti", "iss", "aud", "sub", "typ", "azp"]
    assert claims["aud"] == "orders-api" and claims["typ"] == "Bearer" and claims["iss"] == issuer.issuer
    assert claims["preferred_username"] == f"service-account-{CLIENT}" and claims["clientId"] == CLIENT
    assert "default-roles-demo" in claims["realm_access"]["roles"]
    jwks = call(issuer.jwks_uri).json()["keys"]
    assert [(k["kty"], k["use"], k["alg"]) for k in jwks] == [("RSA", "enc", "RSA-OAEP"), ("RSA", "sig", "RS256"), ("EC", "sig", "ES256")]


def test_benchmark_mode_forwards_without_verification_but_still_strips_tokens(
    make_issuer: Callable[..., Issuer], upstream: Upstream, make_proxy: Callable[..., Tuple[ProxyServer, ProxyConfig]]
) -> None:
    issuer = make_issuer()
    server, _ = make_proxy(issuer, upstream, insecure_disable_verification=True)
    reply = call(f"{server.url}/orders", token="not-even-a-jwt")
    assert reply.status == 200 and "authorization" not in upstream.requests[-1]["headers"]
    assert issuer.hits["jwks"] == 0
    with pytest.raises(ConfigError, match="loopback"):
        ProxyServer(ProxyConfig(issuer=issuer.issuer, upstream=upstream.url, upstream_api_key="k",
                                insecure_disable_verification=True), host="0.0.0.0")
