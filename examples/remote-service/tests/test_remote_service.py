"""The remote service (C and .NET) answers data only to valid tokens with the right
audience and scope, and answers everything else with RFC 6750 + RFC 7807.

HTTP statuses follow DESIGN.md §2: every category is 401 except missing_scope and
missing_role (403); so a token for another audience is 401 (error="invalid_token").
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from conftest import AUDIENCE, SCOPE, Issuer, Service, request, start_service, write_jwks

from cryptography.hazmat.primitives.asymmetric import rsa


def good_token(iss: Issuer) -> str:
    return iss.token_for_client("data-reader", scope=SCOPE)


def assert_problem(r, status: int, code: str, error: str = "invalid_token") -> None:
    assert r.status == status, r
    assert r.headers["content-type"].startswith("application/problem+json"), r
    body = r.json()
    assert body["status"] == status and body["error"] == code, body
    assert body["type"] == "about:blank" and body["title"] and body["detail"], body
    www = r.headers["www-authenticate"]
    assert www.startswith('Bearer realm="remote-service"'), www
    assert f'error="{error}"' in www, www


def test_valid_token_gets_data(service: Service, issuer: Issuer) -> None:
    r = service.get(token=good_token(issuer))
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert [d["name"] for d in body["data"]] == ["alpha", "beta"]
    assert body["claims"]["azp"] == "data-reader"
    assert body["claims"]["aud"] == AUDIENCE
    assert SCOPE in body["claims"]["scope"].split()


def test_no_token_is_a_bare_challenge(service: Service) -> None:
    r = service.get()
    assert r.status == 401, r
    # RFC 6750 §3.1: no credentials -> no error code in the challenge.
    assert r.headers["www-authenticate"] == 'Bearer realm="remote-service"'
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401


def test_wrong_audience_is_401(service: Service, issuer: Issuer) -> None:
    token = issuer.token_for_client("other-app", scope=SCOPE)
    assert_problem(service.get(token=token), 401, "wrong_audience")


def test_missing_scope_is_403(service: Service, issuer: Issuer) -> None:
    token = issuer.token_for_client("data-reader")  # scope not requested
    assert_problem(service.get(token=token), 403, "missing_scope", "insufficient_scope")


def test_expired_is_401(service: Service, issuer: Issuer) -> None:
    now = int(time.time())
    # Well past the verifier's 30 s leeway.
    token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE, "iat": now - 900, "exp": now - 600})
    assert_problem(service.get(token=token), 401, "expired")


def test_bad_signature_is_401(service: Service, issuer: Issuer) -> None:
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # The realm's kid on a token signed by someone else's key.
    token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE}, key=forged_key, kid=issuer.kid)
    assert_problem(service.get(token=token), 401, "bad_signature")
    # And a valid token with one signature byte changed.
    head, payload, sig = good_token(issuer).split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert_problem(service.get(token=f"{head}.{payload}.{flipped}"), 401, "bad_signature")


def test_wrong_issuer_is_401(service: Service, issuer: Issuer) -> None:
    token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE, "iss": issuer.issuer + "-other"})
    assert_problem(service.get(token=token), 401, "wrong_issuer")


def test_malformed_credentials_are_401(service: Service, issuer: Issuer) -> None:
    assert_problem(service.get(token="not-a-jwt"), 401, "malformed")
    r = service.get(headers=[("Authorization", "Basic dXNlcjpwYXNz")])
    assert_problem(r, 401, "malformed")
    # alg "none" with the signature stripped.
    head, payload, _ = good_token(issuer).split(".")
    r = service.get(token=f"eyJhbGciOiJub25lIn0.{payload}.")
    assert r.status == 401 and r.json()["error"] in ("malformed", "unsupported_alg"), r


def test_other_paths_and_methods(service: Service, issuer: Issuer) -> None:
    assert service.get("/nothing-here").status == 404
    r = service.get(method="POST", token=good_token(issuer), headers=[("Content-Length", "0")])
    assert r.status == 405 and r.headers["allow"] == "GET", r
    assert service.get("/api/data?page=2", token=good_token(issuer)).status == 200
    assert service.get("/healthz").status == 200


def test_unknown_kid_is_401(service: Service, issuer: Issuer) -> None:
    token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE}, kid="no-such-kid")
    assert_problem(service.get(token=token), 401, "unknown_kid")


def test_concurrent_requests(service: Service, issuer: Issuer) -> None:
    token = good_token(issuer)
    statuses = []

    def worker() -> None:
        for _ in range(5):
            statuses.append(service.get(token=token).status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 40


def test_key_rotation(service: Service, issuer: Issuer) -> None:
    """A token signed by a freshly rotated key verifies without restarting the service:
    the file-mode C service reads the file the sidecar replaced when it meets the unknown
    kid; the services on the key engine refetch the JWKS (after the cooldown, if one is
    running)."""
    old_token = good_token(issuer)
    issuer.rotate()
    new_token = good_token(issuer)
    jwks_hits = issuer.hits["jwks"]
    if service.kind == "c-file":
        assert service.jwks_path is not None
        write_jwks(service.jwks_path, issuer.jwks())
        r = service.get(token=new_token)  # no waiting: the unknown kid triggers the reload
    else:
        r = service.wait_for(lambda: (lambda r: r if r.status == 200 else None)(service.get(token=new_token)), 10, 0.3)
        assert issuer.hits["jwks"] > jwks_hits
    assert r is not None and r.status == 200, (r, service.log_text())
    # The retired key is still published (grace period), so old tokens keep working.
    assert service.get(token=old_token).status == 200


# ---- services on the key engine (C default, .NET): refresh policy ---------------------------


def fetching_only(service: Service) -> None:
    if service.kind == "c-file":
        import pytest

        pytest.skip("the file-mode C service does not fetch keys")


def test_unknown_kid_refetch_is_rate_limited(service: Service, issuer: Issuer) -> None:
    fetching_only(service)
    time.sleep(3.1)  # let any earlier refetch's cooldown (3 s here) run out
    before = issuer.hits["jwks"]
    for i in range(6):
        token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE}, kid=f"forged-{i}")
        assert service.get(token=token).status == 401
    assert issuer.hits["jwks"] - before == 1, service.log_text()


@pytest.mark.parametrize("kind", ["c", "dotnet"])
def test_periodic_refresh_outage_and_last_known_good(kind: str, issuer: Issuer, tmp_path) -> None:
    """Started during a realm outage: 503 until keys arrive; the engine's retries pick
    them up; a later outage keeps the last good keys in use (and /healthz says why)."""
    timeout = ["--fetch-timeout", "2"] if kind == "c" else ["--fetch-timeout-ms", "2000"]
    issuer.set_outage(True)
    try:
        svc = start_service(kind, issuer, tmp_path, "--refresh", "1", "--cooldown", "1", *timeout)
    except BaseException:
        issuer.set_outage(False)
        raise
    try:
        token = good_token(issuer)
        r = svc.get(token=token)
        assert r.status == 503 and r.headers["retry-after"], r
        issuer.set_outage(False)
        r = svc.wait_for(lambda: (lambda r: r if r.status == 200 else None)(svc.get(token=token)), 10, 0.2)
        assert r is not None, svc.log_text()
        issuer.set_outage(True, endpoints=("jwks",))
        hits = issuer.hits["jwks"]
        assert svc.wait_for(lambda: issuer.hits["jwks"] >= hits + 2, 10), "no periodic refresh"
        assert svc.get(token=token).status == 200  # last known good
        keys = svc.get("/healthz").json()["keys"]["issuers"][0]
        assert keys["last_error"] and keys["kids"] and keys["fetch_count"] >= 3, keys
    finally:
        issuer.set_outage(False)
        svc.stop()


# ---- C: the JWKS file and the HTTP parser ------------------------------------------------


def c_only(service: Service) -> None:
    if service.kind not in ("c", "c-file"):
        import pytest

        pytest.skip("C service specific")


def file_only(service: Service) -> None:
    if service.kind != "c-file":
        import pytest

        pytest.skip("C service in file mode (--jwks) only")


def test_sighup_reloads_and_bad_file_keeps_keys(service: Service, issuer: Issuer) -> None:
    file_only(service)
    assert service.jwks_path is not None
    token = good_token(issuer)
    reloads = service.log_text().count("reload: new keys")
    service.proc.send_signal(signal.SIGHUP)
    assert service.wait_for(lambda: service.log_text().count("reload: new keys") > reloads, 5), service.log_text()
    # A broken file (a sidecar that wrote an error page) is refused; old keys stay.
    good = service.jwks_path.read_text()
    service.jwks_path.write_text("<html>502 Bad Gateway</html>")
    service.proc.send_signal(signal.SIGHUP)
    assert service.wait_for(lambda: "keeping the current keys" in service.log_text(), 5)
    assert service.get(token=token).status == 200
    write_jwks(service.jwks_path, __import__("json").loads(good))


def test_changed_file_is_picked_up_without_signal(service: Service, issuer: Issuer) -> None:
    """Dropping a key from the file (mtime check, about once a second) revokes it."""
    file_only(service)
    assert service.jwks_path is not None
    issuer.rotate()
    new_token = good_token(issuer)
    write_jwks(service.jwks_path, issuer.jwks())
    assert service.get(token=new_token).status == 200
    old_kid = issuer.kids[1]
    old_token = issuer.mint({"aud": AUDIENCE, "scope": SCOPE, "azp": "data-reader"}, key=old_kid)
    assert service.get(token=old_token).status == 200
    issuer.drop_retired()
    write_jwks(service.jwks_path, issuer.jwks())
    r = service.wait_for(lambda: (lambda r: r if r.status == 401 else None)(service.get(token=old_token)), 5, 0.2)
    assert r is not None and r.json()["error"] == "unknown_kid", r


def raw(service: Service, data: bytes, read_timeout: float = 5.0) -> bytes:
    host, port = service.base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the service may answer and close before reading everything
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer[9:12])


def test_http_parser_is_strict(service: Service, issuer: Issuer) -> None:
    c_only(service)
    token = good_token(issuer).encode()
    ok = b"GET /api/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + b"\r\n\r\n"
    assert status_of(raw(service, ok)) == 200
    cases = {
        b"GARBAGE\r\n\r\n": 400,
        b"GET /api/data HTTP/2.0\r\nHost: x\r\n\r\n": 400,
        b"GET /api/data HTTP/1.2\r\nHost: x\r\n\r\n": 505,
        b"GET api/data HTTP/1.1\r\nHost: x\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\n\r\n": 400,  # no Host
        b"GET /api/data HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\n folded: yes\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost : x\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\nEvil: 1\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer "
        + token + b"\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nAuthorization: Bearer " + token
        + b"\r\n\r\nhello": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x00abc\r\n\r\n": 400,
        b"GET /api/data HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 70 + b"\r\n": 431,
    }
    for request_bytes, expected in cases.items():
        assert status_of(raw(service, request_bytes)) == expected, request_bytes[:80]
    # A head bigger than the buffer is refused without reading the rest.
    huge = b"GET /api/data HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n"
    assert status_of(raw(service, huge)) == 431
    assert status_of(raw(service, ok)) == 200  # still serving


def test_slow_clients_are_cut_off(service: Service, issuer: Issuer) -> None:
    """A client that never finishes its head is dropped after the deadline (700 ms here),
    even if it keeps trickling bytes."""
    c_only(service)
    host, port = service.base.split("//")[1].split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /api/data HTTP/1.1\r\n")
        closed = False
        for _ in range(40):
            try:
                s.sendall(b"X: y\r\n")
                time.sleep(0.1)
            except OSError:
                closed = True
                break
        if not closed:
            s.settimeout(5)
            closed = s.recv(100) == b""
    assert closed and time.monotonic() - started < 4.5
    assert service.get(token=good_token(issuer)).status == 200


def test_connection_limit(service: Service, issuer: Issuer) -> None:
    """Idle connections up to --max-connections (16 here); one more gets 503 at once."""
    c_only(service)
    host, port = service.base.split("//")[1].split(":")
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(16)]
    try:
        time.sleep(0.2)  # let the accept loop take them all
        r = service.get(token=good_token(issuer))
        assert r.status == 503 and r.headers.get("retry-after") == "1", r
    finally:
        for s in idle:
            s.close()
    r = service.wait_for(lambda: (lambda r: r if r.status == 200 else None)(service.get(token=good_token(issuer))), 5, 0.1)
    assert r is not None


def test_c_service_refuses_bad_configuration(tmp_path, issuer: Issuer) -> None:
    exe = os.environ.get("REMOTE_SERVICE_C")
    if not exe:
        import pytest

        pytest.skip("REMOTE_SERVICE_C is not set")
    from conftest import _env
    import subprocess

    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys":[]}')
    r = subprocess.run([exe, "--jwks", str(jwks), "--issuer", issuer.issuer, "--port", "0"],
                       env=_env(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "configuration error" in r.stderr, r
    r = subprocess.run([exe, "--jwks", str(jwks)], env=_env(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "usage" in r.stderr, r
    # Fetched keys: plain http to a host that is not loopback is refused at start.
    r = subprocess.run([exe, "--issuer", "http://sso.example.com/realms/x", "--port", "0"],
                       env=_env(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "configuration error" in r.stderr, r
    r = subprocess.run([exe, "--issuer", issuer.issuer, "--cooldown", "1e9", "--port", "0"],
                       env=_env(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "usage" in r.stderr, r


def test_c_service_sighup_refreshes_fetched_keys(service: Service, issuer: Issuer) -> None:
    """Key-engine mode: SIGHUP fetches now (no file), and /healthz shows the engine state."""
    if service.kind != "c":
        import pytest

        pytest.skip("C service with fetched keys only")
    before = issuer.hits["jwks"]
    service.proc.send_signal(signal.SIGHUP)
    assert service.wait_for(lambda: issuer.hits["jwks"] > before, 5), service.log_text()
    keys = service.get("/healthz").json()["keys"]
    assert keys["remote"] is True and keys["issuers"][0]["issuer"] == issuer.issuer, keys
    assert keys["issuers"][0]["kids"], keys
