#!/usr/bin/env python3
"""Secure the proxy: a small reverse proxy that only lets verified callers through.

Each request goes through, in this order:

1. **IP allow-list** on the TCP peer address (``X-Forwarded-For`` is not trusted: any
   caller can write it). A refused address gets 403 ``application/problem+json``.
2. **Bearer token** check by ``xconnauth.ASGIMiddleware`` with a ``ManagedVerifier``
   from ``xconnauth.JWKSClient``: keys found through the issuer's OIDC discovery, cached,
   refreshed on an unknown ``kid`` (rate-limited by ``refresh_cooldown``), last good keys
   kept while the issuer is unreachable. Issuer, expiry, ``typ``, signature, and the
   configured audiences, scopes and roles are checked. Failures get 401/403 with an RFC
   7807 body and an RFC 6750 ``WWW-Authenticate``; 503 while no keys were ever fetched.
3. **Forwarding** to the upstream: the caller's ``Authorization`` header is removed (the
   upstream never sees caller tokens), the upstream's own API key is added as
   ``x-functions-key`` (a caller-sent one is dropped), and the verified identity is
   passed on as ``X-Authenticated-Subject`` / ``X-Authenticated-Client`` (caller-sent
   ones are dropped).

``GET /healthz`` is answered by the proxy itself (after the IP check, without a token).

Served by uvicorn: ``ASGIMiddleware`` is ASGI, and uvicorn is the reference ASGI server,
pure Python to install (``pip install uvicorn``; no compiler), with keep-alive, graceful
shutdown and an API to run on a socket we bound (port 0) in a thread for tests. Upstream
calls use ``http.client`` on a worker thread with one kept-alive connection per thread.

Module API (with ``examples/proxy`` on ``sys.path``)::

    from proxy import ProxyConfig, ProxyServer, build_app
    config = ProxyConfig(issuer="http://127.0.0.1:8180/realms/demo",
                         upstream="http://127.0.0.1:8280", upstream_api_key="...",
                         required_scopes=["orders:read"])
    server = ProxyServer(config)      # host="127.0.0.1", port=0
    url = server.start(); ...; server.stop()

Command line (the upstream key comes from the environment, never from argv)::

    UPSTREAM_API_KEY=... python examples/proxy/proxy.py --config examples/proxy/proxy.json \\
        [--issuer URL] [--upstream URL] [--port 8080] [--url-file FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.client
import ipaddress
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Mapping, MutableMapping, Optional, Sequence, Set, Tuple, Union

import xconnauth

__all__ = ["ProxyConfig", "ProxyServer", "build_app", "ConfigError"]

log = logging.getLogger("xconnauth.proxy")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# RFC 9110 7.6.1 hop-by-hop fields, plus what the proxy sets itself.
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "proxy-connection"}
_SET_BY_PROXY = {"host", "content-length", "authorization", "x-functions-key", "x-forwarded-for",
                 "x-forwarded-proto", "x-forwarded-host", "x-authenticated-subject", "x-authenticated-client"}
# Produced again by uvicorn for the answer.
_DROP_FROM_UPSTREAM = _HOP_BY_HOP | {"content-length", "server", "date"}

HEALTH_PATH = "/healthz"
PROBLEM_JSON = "application/problem+json"


class ConfigError(ValueError):
    """The proxy configuration is unusable; the message says which option and why."""


@dataclasses.dataclass
class ProxyConfig:
    """Everything the proxy needs. Names of the token policy options are DESIGN §4's."""

    issuer: str
    upstream: str
    upstream_api_key: str = dataclasses.field(repr=False)
    #: CIDR networks whose peers may call; empty = nobody.
    allow: Sequence[str] = ("127.0.0.1/32", "::1/128")
    audiences: Optional[Sequence[str]] = None
    required_scopes: Sequence[str] = ()
    required_realm_roles: Sequence[str] = ()
    required_client_roles: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    leeway: int = 30
    #: ``realm`` in ``WWW-Authenticate``; default: the last path segment of ``issuer``.
    realm: Optional[str] = None
    #: RFC 7807 ``type`` URI for every problem answer; default ``about:blank``.
    problem_type: Optional[str] = None
    #: Seconds between JWKS refreshes caused by unknown kids (and after failures).
    refresh_cooldown: float = 10.0
    jwks_default_ttl: float = 300.0
    jwks_min_ttl: float = 60.0
    jwks_max_ttl: float = 86400.0
    upstream_timeout: float = 10.0
    max_body_bytes: int = 1 << 20
    #: Forward WITHOUT checking tokens. Only for measuring the verifier's cost; refused
    #: unless the proxy listens on loopback.
    insecure_disable_verification: bool = False

    @classmethod
    def from_file(cls, path: str, **overrides: Any) -> "ProxyConfig":
        """Reads a JSON config. ``upstream_api_key_env`` names the environment variable
        holding the key (default ``UPSTREAM_API_KEY``); keys are never read from files
        that might get committed. ``overrides`` (not ``None``) win over the file."""
        with open(path, encoding="utf-8") as f:
            data: Dict[str, Any] = json.load(f)
        data.pop("_comment", None)
        env = data.pop("upstream_api_key_env", "UPSTREAM_API_KEY")
        data.update({k: v for k, v in overrides.items() if v is not None})
        if "upstream_api_key" not in data:
            key = os.environ.get(env)
            if not key:
                raise ConfigError(f"set the upstream API key in the environment variable {env}")
            data["upstream_api_key"] = key
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{path}: unknown options {unknown}; known: {sorted(names)}")
        return cls(**data)

    def networks(self) -> List[Network]:
        nets: List[Network] = []
        for item in self.allow:
            try:
                nets.append(ipaddress.ip_network(item, strict=True))
            except ValueError as exc:
                raise ConfigError(f"allow: {item!r} is not a CIDR network ({exc})") from None
        return nets


# --------------------------------------------------------------------------------------
# problem answers
# --------------------------------------------------------------------------------------


async def _send_problem(send: Send, status: int, title: str, detail: str, type_uri: Optional[str],
                        extra: Sequence[Tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"type": type_uri or "about:blank", "title": title, "status": status,
                       "detail": detail}).encode("utf-8")
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------------------
# the layers
# --------------------------------------------------------------------------------------


class IPAllowList:
    """Refuses peers outside the allowed networks before anything else runs (no token
    is looked at, so a refused network learns nothing about the token checks)."""

    def __init__(self, app: ASGIApp, networks: Sequence[Network], problem_type: Optional[str]) -> None:
        self.app = app
        self.networks = list(networks)
        self.problem_type = problem_type

    def allowed(self, host: Optional[str]) -> bool:
        if not host:
            return False  # a unix socket or a server that does not say: refuse
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else None
        if self.allowed(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _send_problem(send, 403, "Forbidden", f"client address {host} is not allowed", self.problem_type)


class Forwarder:
    """The innermost app: forwards to the upstream with the upstream's key, answers
    ``/healthz`` and the ASGI lifespan (warming the key cache at startup)."""

    def __init__(self, config: ProxyConfig, client: Optional[xconnauth.JWKSClient]) -> None:
        parts = urllib.parse.urlsplit(config.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"upstream {config.upstream!r} must be an http(s) URL")
        if not config.upstream_api_key:
            raise ConfigError("upstream_api_key is empty")
        self.config = config
        self.client = client
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        # Every worker thread's connection, so shutdown can close them all.
        self._conns_lock = threading.Lock()
        self._conns: Set[http.client.HTTPConnection] = set()

    def close(self) -> None:
        """Closes the kept-alive upstream connections (at shutdown)."""
        with self._conns_lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            conn.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1003})  # not supported by this proxy
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.client is not None:
                    # Fetch keys before the first caller waits for them; failure is not
                    # fatal (the issuer may come up later; callers get 503 meanwhile).
                    try:
                        await asyncio.get_running_loop().run_in_executor(None, self.client.key_set)
                    except xconnauth.JWKSError as exc:
                        log.warning("proxy: no signing keys yet (%s); will retry on demand", exc)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == HEALTH_PATH:
            body = b'{"status":"ok"}'
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        chunks: List[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.config.max_body_bytes:
                await _send_problem(send, 413, "Content Too Large",
                                    f"request body over {self.config.max_body_bytes} bytes", self.config.problem_type)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        target = self._prefix + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = self._request_headers(scope)
        loop = asyncio.get_running_loop()
        try:
            status, reply_headers, reply = await loop.run_in_executor(
                None, self._forward, scope["method"], target, headers, b"".join(chunks))
        except (socket.timeout, TimeoutError):
            await _send_problem(send, 504, "Gateway Timeout", "the upstream did not answer in time", self.config.problem_type)
            return
        except (OSError, http.client.HTTPException) as exc:
            log.warning("proxy: upstream request failed: %s", exc)
            await _send_problem(send, 502, "Bad Gateway", "the upstream could not be reached", self.config.problem_type)
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": reply_headers + [(b"content-length", str(len(reply)).encode())]})
        await send({"type": "http.response.body", "body": reply})

    def _request_headers(self, scope: Scope) -> List[Tuple[str, str]]:
        named_in_connection = set()
        for name, value in scope["headers"]:
            if name.lower() == b"connection":
                named_in_connection |= {v.strip().lower() for v in value.decode("latin-1").split(",")}
        out: List[Tuple[str, str]] = []
        for name, value in scope["headers"]:
            lname = name.decode("latin-1").lower()
            if lname in _HOP_BY_HOP or lname in _SET_BY_PROXY or lname in named_in_connection:
                continue
            out.append((lname, value.decode("latin-1")))
        out.append(("host", self._netloc))
        out.append(("x-functions-key", self.config.upstream_api_key))
        client = scope.get("client")
        if client:
            out.append(("x-forwarded-for", str(client[0])))
        out.append(("x-forwarded-proto", scope.get("scheme", "http")))
        claims = scope.get(xconnauth.CLAIMS_KEY)
        if claims is not None:
            # Header values must be one line of latin-1; claims are caller-chosen text.
            for header, claim in (("x-authenticated-subject", "sub"), ("x-authenticated-client", "azp")):
                value = claims.get(claim)
                if isinstance(value, str) and value.isprintable():
                    out.append((header, value.encode("latin-1", "replace").decode("latin-1")))
        return out

    def _connection(self) -> Tuple[http.client.HTTPConnection, bool]:
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.config.upstream_timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.config.upstream_timeout)
        self._local.conn = conn
        with self._conns_lock:
            self._conns.add(conn)
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._conns_lock:
            self._conns.discard(conn)

    def _forward(self, method: str, target: str, headers: List[Tuple[str, str]], body: bytes
                 ) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        """One upstream round trip on this worker thread's kept-alive connection."""
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                if body or method in ("POST", "PUT", "PATCH"):
                    conn.putheader("content-length", str(len(body)))
                conn.endheaders(body or None)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(conn)
                # An idle kept-alive connection the upstream closed: the request never
                # reached it, so sending it once more on a new connection is safe.
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self._drop(conn)
                raise
            if response.will_close:
                self._drop(conn)
            out = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in response.getheaders() if k.lower() not in _DROP_FROM_UPSTREAM]
            return response.status, out, data
        raise AssertionError("unreachable")


def _default_realm(issuer: str) -> str:
    return urllib.parse.urlsplit(issuer).path.rstrip("/").rsplit("/", 1)[-1] or issuer


def build_app(config: ProxyConfig) -> Tuple[ASGIApp, Optional[xconnauth.JWKSClient]]:
    """The proxy's ASGI app, and the ``JWKSClient`` it uses (``None`` when verification
    is disabled). Raises ``ConfigError`` (or xconnauth's ``ConfigError``/``TypeError``)
    for a bad configuration."""
    networks = config.networks()
    if config.insecure_disable_verification:
        forwarder = Forwarder(config, None)
        return IPAllowList(forwarder, networks, config.problem_type), None
    client = xconnauth.JWKSClient(
        config.issuer,
        refresh_cooldown=config.refresh_cooldown,
        default_ttl=config.jwks_default_ttl,
        min_ttl=config.jwks_min_ttl,
        max_ttl=config.jwks_max_ttl,
    )
    verifier = client.verifier_for(
        audiences=list(config.audiences) if config.audiences else None,
        required_scopes=list(config.required_scopes),
        required_realm_roles=list(config.required_realm_roles),
        required_client_roles={k: list(v) for k, v in config.required_client_roles.items()} or None,
        leeway=config.leeway,
    )
    forwarder = Forwarder(config, client)
    guarded = xconnauth.ASGIMiddleware(
        forwarder, verifier,
        realm=config.realm or _default_realm(config.issuer),
        problem_type=config.problem_type,
        exclude_paths=[HEALTH_PATH],
    )
    return IPAllowList(guarded, networks, config.problem_type), client


# --------------------------------------------------------------------------------------
# serving
# --------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets
    # whose proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


class ProxyServer:
    """The proxy on uvicorn, bound to ``host:port`` (0: a free port). ``start()`` runs
    it in a background thread (tests); ``run()`` on the calling thread (command line)."""

    def __init__(self, config: ProxyConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        if config.insecure_disable_verification and not _is_loopback(host):
            raise ConfigError("insecure_disable_verification is only allowed on a loopback address")
        import uvicorn  # here, so the module imports without uvicorn (for build_app users)

        self.config = config
        self.app, self.jwks_client = build_app(config)
        self._sock = _bind(host, port)
        bound = self._sock.getsockname()
        shown = f"[{bound[0]}]" if self._sock.family == socket.AF_INET6 else bound[0]
        self.url = f"http://{shown}:{bound[1]}"
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on",
            # uvicorn by default believes X-Forwarded-For from 127.0.0.1, which would let
            # any local caller pick the address the allow-list checks.
            proxy_headers=False, server_header=False,
            timeout_graceful_shutdown=2, timeout_keep_alive=30,
        ))
        self._thread: Optional[threading.Thread] = None

    def start(self, timeout: float = 10.0) -> str:
        """Serves in a daemon thread; returns the base URL once it accepts requests."""
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="proxy", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the proxy did not start (see the log above)")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()

    def run(self) -> None:
        """Serves on this thread until SIGINT/SIGTERM."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Reverse proxy that requires a valid Keycloak bearer token (xconnauth).")
    parser.add_argument("--config", default=os.path.join(here, "proxy.json"), help="JSON config (default: proxy.json beside this file)")
    parser.add_argument("--issuer", help="override the config's issuer URL")
    parser.add_argument("--upstream", help="override the config's upstream URL")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default 8080)")
    parser.add_argument("--url-file", help="write the base URL here once listening")
    parser.add_argument("--insecure-disable-verification", action="store_true", default=None,
                        help="forward WITHOUT checking tokens: only to measure the verifier's cost; loopback only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        config = ProxyConfig.from_file(args.config, issuer=args.issuer, upstream=args.upstream,
                                       insecure_disable_verification=args.insecure_disable_verification)
        server = ProxyServer(config, args.host, args.port)
    except (OSError, ValueError, TypeError) as exc:
        print(f"proxy: error: {exc}", file=sys.stderr)
        return 2
    mode = "WITHOUT TOKEN VERIFICATION (benchmark mode)" if config.insecure_disable_verification else "verifying tokens"
    print(f"proxy: {server.url} -> {config.upstream}, {mode}, issuer {config.issuer}", file=sys.stderr, flush=True)
    if args.url_file:
        # Written before serving starts; the socket is already listening, so connects queue.
        tmp = args.url_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(server.url + "\n")
        os.replace(tmp, args.url_file)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
