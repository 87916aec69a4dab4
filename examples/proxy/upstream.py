#!/usr/bin/env python3
"""A tiny upstream service for the proxy example (stdlib only).

It stands for an API protected by a shared key (like an Azure Function's
``x-functions-key``) that must never see the callers' bearer tokens. It answers 200 JSON
only when ``x-functions-key`` matches its key AND no ``Authorization`` header arrived;
401 JSON otherwise (the ``error`` member says which). The 200 body echoes the request:
method, path, query, the NAMES of the headers received (never values: the key is one of
them), the ``X-Authenticated-*`` identity the proxy passed on, and the body size.

Module API (with ``examples/proxy`` on ``sys.path``)::

    from upstream import Upstream
    up = Upstream(api_key="k")        # host="127.0.0.1", port=0
    url = up.start(); ...; up.stop()
    up.requests                        # recent requests: {"method", "path", "headers", "body"}

Command line (the key comes from the environment, never from argv)::

    UPSTREAM_API_KEY=... python examples/proxy/upstream.py --port 8280 [--url-file FILE]
"""

from __future__ import annotations

import argparse
import collections
import hmac
import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Deque, Dict, List, Optional, Sequence, Set

__all__ = ["Upstream"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: "Upstream"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, so the proxy's per-thread connections are reused as in production.
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end after this
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
    # peer's delayed ACK adds ~40 ms to every response.
    disable_nagle_algorithm = True
    server_version = "xconnauth-example-upstream"

    def setup(self) -> None:
        super().setup()
        self.server.upstream._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.upstream._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.upstream.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        up = self.server.upstream
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        up._record({"method": self.command, "path": parts.path, "query": parts.query,
                    "headers": headers, "body": body})
        key = self.headers.get("x-functions-key")
        if key is None or not hmac.compare_digest(key.encode("latin-1"), up.api_key.encode("latin-1")):
            self._json(401, {"error": "missing or wrong x-functions-key"})
        elif "authorization" in headers:
            # The proxy must strip caller tokens; receiving one is a bug worth seeing.
            self._json(401, {"error": "an Authorization header reached the upstream"})
        else:
            self._json(200, {
                "ok": True,
                "method": self.command,
                "path": parts.path,
                "query": parts.query,
                "received_headers": sorted(headers),
                "authenticated_subject": headers.get("x-authenticated-subject"),
                "authenticated_client": headers.get("x-authenticated-client"),
                "body_bytes": len(body),
            })

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _json(self, status: int, body: Dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Upstream:
    """The upstream on a ``ThreadingHTTPServer``; thread-safe."""

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0, *,
                 keep: int = 1000, verbose: bool = False) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.api_key = api_key
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: Deque[Dict[str, Any]] = collections.deque(maxlen=keep)
        self._connections: Set[socket.socket] = set()
        self._server = _Server((host, port), _Handler)
        self._server.upstream = self
        self._thread: Optional[threading.Thread] = None
        self.count = 0
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="upstream", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stops accepting and closes kept-alive connections, so nothing answers after."""
        if self._thread is not None:  # shutdown() would wait forever on a server never started
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_now = list(self._connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def requests(self) -> List[Dict[str, Any]]:
        """The most recent requests (oldest first)."""
        with self._lock:
            return list(self._requests)

    def _record(self, request: Dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(request)
            self.count += 1

    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Example upstream: 200 only with the right x-functions-key and no Authorization.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8280, help="0 picks a free port (default 8280)")
    parser.add_argument("--api-key-env", default="UPSTREAM_API_KEY", help="environment variable with the key")
    parser.add_argument("--url-file", help="write the base URL here once listening")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    key = os.environ.get(args.api_key_env)
    if not key:
        print(f"upstream: error: set the API key in the environment variable {args.api_key_env}", file=sys.stderr)
        return 2
    try:
        up = Upstream(key, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        print(f"upstream: error: {exc}", file=sys.stderr)
        return 2
    print(f"upstream: {up.url} (expects x-functions-key from ${args.api_key_env})", file=sys.stderr, flush=True)
    if args.url_file:
        tmp = args.url_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(up.url + "\n")
        os.replace(tmp, args.url_file)
    try:
        up._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        up._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
