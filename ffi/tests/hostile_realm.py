#!/usr/bin/env python3
"""Keycloak-like realms on 127.0.0.1 that can be told to misbehave, for the C tests of
remote verifiers (ffi/tests/c/test_remote.c).

usage: hostile_realm.py COMMAND [ARG...]

Starts the server on a free loopback port, runs COMMAND with XCA_REALM set to
``http://127.0.0.1:PORT`` and exits with its exit code (the server stops with it).

Every realm name is served under ``/realms/<name>`` (discovery and JWKS). The test
steers the server over plain HTTP on the same port:

- ``/ctl/<realm>/mode/<mode>[/<seconds>]``: ``ok``; ``down`` (503 on every path);
  ``trickle`` (JWKS headers, then one byte every 0.5 s); ``slow`` (the JWKS after
  <seconds>); ``redirect`` (302 from the JWKS to itself); ``unusable`` (a JWKS whose
  keys are RS512-only, unusable under an RS256 policy);
- ``/ctl/<realm>/keys/<kid>=<A|B>,...``: the realm's JWKS (A and B are the repository's
  public demo keys);
- ``/ctl/<realm>/token/<kid>/<A|B>``: a fresh access token of that realm, signed by key
  A or B under that kid, valid at 1764000000;
- ``/ctl/<realm>/hits``: "<JWKS requests> <discovery requests>".

Tokens are signed with python/tests/_mint.py (pure Python, no crypto package needed).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "tests"))
import _mint  # noqa: E402

NOW = 1_764_000_000
KEYS = {"A": _mint.load_key(_mint.KEY_A), "B": _mint.load_key(_mint.KEY_B)}
TRICKLE_SECONDS = 20


class Realm:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.keys: List[Tuple[str, str]] = []
        self.hits: "collections.Counter[str]" = collections.Counter()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "RealmServer"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def send(self, status: int, body: bytes, headers: Tuple[Tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        try:
            if parts[0] == "ctl":
                self.control(parts[1], parts[2:])
            elif parts[0] == "realms":
                self.realm(parts[1], "/".join(parts[2:]))
            else:
                self.send(404, b"not found")
        except (IndexError, KeyError, ValueError) as e:
            self.send(400, f"bad request: {e!r}".encode())

    def control(self, name: str, rest: List[str]) -> None:
        srv = self.server
        with srv.lock:
            realm = srv.realm(name)
            if rest[0] == "mode":
                realm.mode = rest[1]
                realm.delay = float(rest[2]) if len(rest) > 2 else 0.0
                body = b"ok"
            elif rest[0] == "keys":
                pairs = [p.split("=") for p in rest[1].split(",") if p]
                realm.keys = [(kid, key) for kid, key in pairs if key in KEYS]
                body = b"ok"
            elif rest[0] == "hits":
                body = f"{realm.hits['certs']} {realm.hits['discovery']}".encode()
            elif rest[0] == "token":
                kid, key = rest[1], rest[2]
                body = None
            else:
                raise ValueError(rest[0])
        if body is None:
            claims = _mint.access_token_claims(f"{srv.base}/realms/{name}", now=NOW)
            body = _mint.mint(KEYS[key], claims, kid=kid).encode()
        self.send(200, body, (("Content-Type", "text/plain"),))

    def realm(self, name: str, path: str) -> None:
        srv = self.server
        issuer = f"{srv.base}/realms/{name}"
        certs = "protocol/openid-connect/certs"
        with srv.lock:
            realm = srv.realm(name)
            kind = {".well-known/openid-configuration": "discovery", certs: "certs"}.get(path, "other")
            realm.hits[kind] += 1
            mode, delay, keys = realm.mode, realm.delay, list(realm.keys)
        json_type = (("Content-Type", "application/json"),)
        if mode == "down":
            return self.send(503, b"down")
        if kind == "discovery":
            doc = {"issuer": issuer, "jwks_uri": f"{issuer}/{certs}"}
            return self.send(200, json.dumps(doc).encode(), json_type)
        if kind != "certs":
            return self.send(404, b"not found")
        if mode == "redirect":
            return self.send(302, b"", (("Location", f"{issuer}/{certs}"),))
        extra: Dict[str, Any] = {"alg": "RS512"} if mode == "unusable" else {}
        body = _mint.jwks(*(KEYS[key].jwk(kid, **extra) for kid, key in keys)).encode()
        if mode == "slow":
            time.sleep(delay)
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            end = time.monotonic() + TRICKLE_SECONDS
            try:
                for i in range(len(body)):
                    if time.monotonic() > end:
                        break
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            self.close_connection = True
            return None
        return self.send(200, body, json_type + (("Cache-Control", "max-age=300"),))


class RealmServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.realms: Dict[str, Realm] = {}
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def realm(self, name: str) -> Realm:
        return self.realms.setdefault(name, Realm())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a fetch cut off at its deadline) is part of the tests.
        pass


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    srv = RealmServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        env = dict(os.environ, XCA_REALM=srv.base)
        return subprocess.call(sys.argv[1:], env=env)
    finally:
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
