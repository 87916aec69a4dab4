#!/usr/bin/env python3
"""An upstream that answers every request with what it received: path and headers, as
JSON (stdlib only). It stands for the API behind nginx in docs/integrations/nginx.md and
in the tests, so the X-Auth-* headers the Lua module passes on can be seen.

    python3 integrations/nginx/echo_upstream.py --port 9000     # binds 127.0.0.1 only
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EchoHandler(BaseHTTPRequestHandler):
    """200 with `{"path": ..., "headers": [[name, value], ...]}` for any method."""

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        body = json.dumps({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _echo

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=9000)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), EchoHandler)
    print(f"echo upstream on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
