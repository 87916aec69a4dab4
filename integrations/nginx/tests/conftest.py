"""Fixtures: the local Keycloak-style issuer (examples/issuer), an echo upstream, and a
real nginx (Debian's nginx + libnginx-mod-http-lua + lua-resty-core, or OpenResty)
whose configuration is generated from integrations/nginx/xconnauth.conf, the snippet
that docs/integrations/nginx.md shows.

Found through the environment that run_tests.sh sets:
  XCA_LIB        libxconnauth shared library (absolute path)
  NGINX          the nginx binary (default: nginx on PATH, else /usr/sbin/nginx)
  NGINX_MODULES  directory of ngx_http_lua_module.so (default /usr/lib/nginx/modules;
                 not needed when the binary has the lua module built in, as OpenResty)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
NGINX_DIR = HERE.parent
ROOT = NGINX_DIR.parents[1]
SNIPPET = NGINX_DIR / "xconnauth.conf"
sys.path.insert(0, str(ROOT / "examples" / "issuer"))
sys.path.insert(0, str(NGINX_DIR))

from echo_upstream import EchoHandler  # noqa: E402
from issuer import Issuer  # noqa: E402

REALM_JSON = ROOT / "examples" / "issuer" / "realm.json"

# What the snippet holds for a reader and what the test puts there instead.
SNIPPET_ISSUER = "https://sso.example.com/realms/demo"
SNIPPET_LIB = "/usr/local/lib/libxconnauth.so.0"
SNIPPET_LUA_PATH = "/usr/local/share/lua/5.1/?.lua"
SNIPPET_LISTEN = "listen 127.0.0.1:8080;"
SNIPPET_UPSTREAM = "http://127.0.0.1:9000"
SNIPPET_COOLDOWN = "refresh_cooldown = 10"
SNIPPET_INIT_END = "\n}\n\n# Runs in each worker"


class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes, elapsed: float) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:400]!r}>"


def request(port: int, path: str, *, token: Optional[str] = None,
            headers: Optional[List[Tuple[str, str]]] = None, method: str = "GET") -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    start = time.monotonic()
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        for name, value in headers or []:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, hdrs, body, time.monotonic() - start)
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlowJwks(BaseHTTPRequestHandler):
    """Serves an issuer's JWKS after `delay` seconds (a slow key server)."""

    issuer: Issuer
    delay: float = 3.0
    hits: int = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        time.sleep(self.delay)
        body = json.dumps(self.issuer.jwks()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(handler: type) -> Tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, int(server.server_address[1])


def nginx_binary() -> str:
    found = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(found):
        pytest.fail("nginx is not installed (scripts/setup.sh installs nginx libnginx-mod-http-lua lua-resty-core)")
    return found


def load_modules(nginx: str) -> str:
    """`load_module` lines for Debian's dynamic lua module (none for OpenResty)."""
    version = subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr
    if "lua-nginx-module" in version or "openresty" in version.lower():
        return ""
    mods = Path(os.environ.get("NGINX_MODULES", "/usr/lib/nginx/modules"))
    lua = mods / "ngx_http_lua_module.so"
    if not lua.exists():
        pytest.fail(f"{lua} is missing (apt-get install libnginx-mod-http-lua)")
    lines = []
    ndk = mods / "ndk_http_module.so"
    if ndk.exists():  # Debian's lua module needs the devel kit loaded first
        lines.append(f"load_module {ndk};")
    lines.append(f"load_module {lua};")
    return "\n".join(lines) + "\n"


def render(snippet: str, *, issuer: str, port: int, upstream: int, cooldown: float = 1,
           extra_lua: str = "", extra_server: str = "") -> str:
    """The snippet with this machine's values: each placeholder must be there (a test
    that silently stopped substituting would test the reader's values)."""
    lib = os.environ.get("XCA_LIB")
    if not lib:
        pytest.fail("XCA_LIB is not set (run integrations/nginx/run_tests.sh)")
    subs = [
        (SNIPPET_ISSUER, issuer),
        (SNIPPET_LIB, lib),
        (SNIPPET_LUA_PATH, f"{NGINX_DIR}/?.lua"),
        (SNIPPET_LISTEN, f"listen 127.0.0.1:{port};"),
        (SNIPPET_UPSTREAM, f"http://127.0.0.1:{upstream}"),
        (SNIPPET_COOLDOWN, f"refresh_cooldown = {cooldown}"),
        (SNIPPET_INIT_END, "\n" + extra_lua + SNIPPET_INIT_END),
    ]
    for old, new in subs:
        assert old in snippet, f"the snippet no longer holds {old!r}"
        snippet = snippet.replace(old, new)
    return snippet + "\n" + extra_server


class Nginx:
    """A running nginx (master + 2 workers) in its own prefix directory."""

    def __init__(self, workdir: Path, conf: str, port: int, extra_port: Optional[int]) -> None:
        self.workdir = workdir
        self.port = port
        self.extra_port = extra_port
        self.conf_path = workdir / "nginx.conf"
        self.conf_path.write_text(conf)
        self.error_log = workdir / "error.log"
        nginx = nginx_binary()
        self.proc = subprocess.Popen([nginx, "-p", str(workdir), "-c", str(self.conf_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {err}\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not listen on {port}\n{self.log()}")
                time.sleep(0.02)

    def log(self) -> str:
        return self.error_log.read_text("utf-8", "replace") if self.error_log.exists() else ""

    def get(self, path: str, **kw: Any) -> Response:
        return request(self.port, path, **kw)

    def get_extra(self, path: str, **kw: Any) -> Response:
        assert self.extra_port is not None
        return request(self.extra_port, path, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def main_conf(workdir: Path, http_body: str) -> str:
    """Everything around the snippet: non-root paths, no daemon, logs in `workdir`."""
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    return f"""{load_modules(nginx_binary())}
daemon off;
master_process on;
worker_processes 2;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Lets X_Auth_Sub through to the module: it must remove it, not rely on this being off.
    underscores_in_headers on;

{http_body}
}}
"""


StartNginx = Callable[..., Nginx]


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server, port = serve(EchoHandler)
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture()
def fresh_issuer() -> Iterator[Issuer]:
    with Issuer.from_config(REALM_JSON) as iss:
        yield iss


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer.from_config(REALM_JSON) as iss:
        yield iss


def _start(tmp: Path, iss: Issuer, upstream: int, **kw: Any) -> Nginx:
    port = free_port()
    extra_port = free_port() if kw.get("extra_server") else None
    if extra_port is not None:
        kw["extra_server"] = (kw["extra_server"].replace("@EXTRA_PORT@", str(extra_port))
                              .replace("@UPSTREAM@", str(upstream)))
    body = render(SNIPPET.read_text(), issuer=iss.issuer, port=port, upstream=upstream, **kw)
    return Nginx(tmp, main_conf(tmp, body), port, extra_port)


@pytest.fixture()
def start_nginx(tmp_path: Path, upstream: int) -> Iterator[StartNginx]:
    """Starts nginx for an issuer, per test; stopped afterwards."""
    running: List[Nginx] = []

    def start(iss: Issuer, **kw: Any) -> Nginx:
        n = _start(tmp_path / f"nginx{len(running)}", iss, upstream, **kw)
        running.append(n)
        return n

    for d in range(4):
        (tmp_path / f"nginx{d}").mkdir()
    yield start
    for n in running:
        n.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
