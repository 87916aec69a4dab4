"""A tiny Keycloak-like realm served by a real ``http.server`` on 127.0.0.1, for tests.

It serves the discovery document and the JWKS, counts the requests per path, and can be
switched to misbehave (HTTP 500, slow answers, a body trickled one byte every 0.5 s,
garbage, oversized bodies, redirects).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

CERTS = "/realms/demo/protocol/openid-connect/certs"
DISCOVERY = "/realms/demo/.well-known/openid-configuration"


class RealmServer:
    """``tls``: an ``ssl.SSLContext`` to serve https with (the URLs then say https)."""

    def __init__(self, tls: Any = None) -> None:
        self.hits: "collections.Counter[str]" = collections.Counter()
        self.lock = threading.Lock()
        self.jwks = '{"keys":[]}'
        self.cache_control: Optional[str] = None
        self.mode = "ok"  # ok | down | slow | trickle | garbage | huge | huge-unsized | redirect
        self.delay = 0.0
        self.discovery_override: Optional[Dict[str, Any]] = None
        realm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with realm.lock:
                    realm.hits[self.path] += 1
                    mode, delay = realm.mode, realm.delay
                status, headers, body = realm.answer(self.path, mode)
                if mode == "slow":
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if mode != "huge-unsized":
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    if mode == "trickle" and self.path == CERTS:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.5)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients cut off at their deadline reset the connection: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.base = f"{'https' if tls is not None else 'http'}://127.0.0.1:{self.port}"
        self.issuer = f"{self.base}/realms/demo"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, path: str, mode: str) -> Tuple[int, list, bytes]:
        if mode == "down":
            return 500, [("Content-Type", "text/plain")], b"down"
        if mode == "redirect":
            return 302, [("Location", f"{self.base}/elsewhere")], b""
        if path == DISCOVERY:
            doc = self.discovery_override or {
                "issuer": self.issuer,
                "jwks_uri": f"{self.base}{CERTS}",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
            return 200, [("Content-Type", "application/json")], json.dumps(doc).encode()
        if path == CERTS:
            if mode in ("huge", "huge-unsized"):
                return 200, [("Content-Type", "application/json")], b" " * (2 << 20)
            if mode == "garbage":
                return 200, [("Content-Type", "application/json")], b"\x00<html>not json{"
            headers = [("Content-Type", "application/json")]
            if self.cache_control:
                headers.append(("Cache-Control", self.cache_control))
            return 200, headers, self.jwks.encode()
        return 404, [("Content-Type", "text/plain")], b"not found"

    def certs_hits(self) -> int:
        with self.lock:
            return self.hits[CERTS]

    def discovery_hits(self) -> int:
        with self.lock:
            return self.hits[DISCOVERY]

    def __enter__(self) -> "RealmServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
