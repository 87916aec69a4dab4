#!/usr/bin/env python3
"""An i2 Connect-style connector with its own login, on the xconnauth Python package.

The connector is its own token issuer: at start it generates an RSA key, publishes the
public half at ``/.well-known/jwks.json``, and after a successful login hands out a short
JWT signed with it. Every data endpoint then verifies ``Authorization: Bearer`` with
``xconnauth.Verifier`` pinned to the connector's own issuer and audience. A rejected token
gets a 401 ``application/problem+json`` answer whose ``type`` is i2 Connect's
``urn:uuid:264caa46-75cb-4ac5-891a-11adeb48b6fb`` ("authenticate again"), also when the
token expires while an asynchronous query is still running.

Endpoints::

    GET    /.well-known/jwks.json            the connector's public key (no auth)
    POST   /login/userpass                   {"username", "password"} (JSON or form) -> {"token"}
    POST   /login/apikey                     {"apiKey"} (JSON or form)                -> {"token"}
    POST   /acquire                          synchronous query                      -> results
    POST   /async/queries                    start a query         -> 202 {"id"}
    GET    /async/queries/<id>               {"id", "state": "STARTED"|"SUCCEEDED", "logs"}
    GET    /async/queries/<id>/results       results (409 while running)
    DELETE /async/queries/<id>               cancel / forget       -> 204

Run it (the config holds dev users and API keys)::

    python examples/connector/connector.py --config examples/connector/config.example.json --port 8090

Module API (for tests)::

    c = Connector(users={"alice": "pw"}, api_keys={"key": "svc"}, token_lifetime=60)
    base = c.start()            # 127.0.0.1:<free port>; issuer = base URL
    c.set_time(t) / c.advance(s) / c.now()   # the connector's clock (tokens and queries)
    c.mint("alice", aud="other")             # sign anything with the connector's key
    c.stop()

Not a production identity service: passwords live in memory (scrypt-hashed at start),
there is no login rate limiting, no TLS, and the key is regenerated on every start (all
tokens die with the process, which is what short-lived connector tokens want anyway).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import xconnauth

I2_PROBLEM_TYPE = xconnauth.I2_CONNECT_PROBLEM_TYPE  # "urn:uuid:264caa46-..."
DEFAULT_AUDIENCE = "i2connect-connector"
MAX_BODY = 64 * 1024
MAX_QUERIES_PER_SUBJECT = 100
_QUERY_PATH = re.compile(r"^/async/queries/([0-9a-f]{32})(/results)?$")

Json = Dict[str, Any]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class _Secret:
    """A password kept as scrypt(salt, password); checking costs the same for every user,
    known or not, so timing does not reveal which usernames exist."""

    N, R, P = 2**14, 8, 1

    def __init__(self, password: str) -> None:
        self.salt = os.urandom(16)
        self.digest = self._hash(password, self.salt)

    @classmethod
    def _hash(cls, password: str, salt: bytes) -> bytes:
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cls.N, r=cls.R, p=cls.P, dklen=32)

    def check(self, password: str) -> bool:
        return hmac.compare_digest(self._hash(password, self.salt), self.digest)


class _Query:
    def __init__(self, subject: str, started: float, duration: float, request: Any) -> None:
        self.id = uuid.uuid4().hex
        self.subject = subject
        self.started = started
        self.duration = duration
        self.request = request

    def state(self, now: float) -> str:
        return "SUCCEEDED" if now >= self.started + self.duration else "STARTED"


class Connector:
    """The connector: login, its own signing key, and token-protected query endpoints.

    ``users`` maps username to password, ``api_keys`` maps API key to the subject its
    tokens name. ``token_lifetime`` is in seconds; ``leeway`` is the verifier's (0: the
    connector issues and checks with the same clock). ``query_seconds`` is how long an
    asynchronous query runs, on the connector's clock. ``issuer`` defaults to the base
    URL; give it when the connector sits behind a proxy.
    """

    def __init__(
        self,
        *,
        users: Optional[Mapping[str, str]] = None,
        api_keys: Optional[Mapping[str, str]] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        issuer: Optional[str] = None,
        audience: str = DEFAULT_AUDIENCE,
        token_lifetime: int = 300,
        leeway: int = 0,
        query_seconds: float = 5.0,
        clock: Optional[Callable[[], float]] = None,
        key_bits: int = 2048,
        realm: str = "connector",
    ) -> None:
        if token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        self._users = {name: _Secret(pw) for name, pw in (users or {}).items()}
        self._dummy = _Secret(os.urandom(8).hex())
        # API keys are long random strings, so a plain SHA-256 index leaks nothing.
        self._api_keys = {hashlib.sha256(k.encode("utf-8")).hexdigest(): sub for k, sub in (api_keys or {}).items()}
        self.host, self.port = host, port
        self._issuer = issuer
        self.audience = audience
        self.token_lifetime = int(token_lifetime)
        self.leeway = int(leeway)
        self.query_seconds = float(query_seconds)
        self.realm = realm
        self._clock = clock or time.time
        self._offset = 0.0
        self._frozen: Optional[float] = None
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
        self._lock = threading.Lock()
        self._queries: Dict[str, _Query] = {}
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.verifier: Optional[xconnauth.Verifier] = None
        pub = self._key.public_key().public_numbers()
        self._jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "n": _uint(pub.n), "e": _uint(pub.e)}
        # RFC 7638 thumbprint: required members, sorted, no whitespace.
        canonical = json.dumps({"e": self._jwk["e"], "kty": "RSA", "n": self._jwk["n"]}, separators=(",", ":"), sort_keys=True)
        self.kid = b64url(hashlib.sha256(canonical.encode("ascii")).digest())
        self._jwk["kid"] = self.kid

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Binds, builds the verifier for the final issuer URL, serves in a daemon thread;
        returns the base URL."""
        handler = type("_BoundHandler", (_Handler,), {"connector": self})
        server = ThreadingHTTPServer((self.host, self.port), handler)
        server.daemon_threads = True
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        if self._issuer is None:
            self._issuer = self.base_url
        # The connector verifies its own tokens exactly as a third party would: from the
        # published JWKS, with the issuer and audience pinned.
        self.verifier = xconnauth.Verifier(
            xconnauth.KeySet.from_jwks(json.dumps(self.jwks())),
            issuers=self._issuer,
            audiences=self.audience,
            leeway=self.leeway,
            required_claims=["exp", "iat", "sub"],
        )
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=f"connector-{port}", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "Connector":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise RuntimeError("the issuer is known once the connector has started")
        return self._issuer

    # -- clock ---------------------------------------------------------------------------

    def now(self) -> float:
        with self._lock:
            return self._frozen if self._frozen is not None else self._clock() + self._offset

    def set_time(self, t: float) -> None:
        """Freezes the connector's clock at Unix time ``t``."""
        with self._lock:
            self._frozen = float(t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    # -- keys and tokens -----------------------------------------------------------------

    def jwks(self) -> Json:
        return {"keys": [dict(self._jwk)]}

    def mint(self, subject: str, **claims: Any) -> str:
        """A token for ``subject``; ``claims`` override the defaults (None removes one)."""
        now = int(self.now())
        body: Json = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + self.token_lifetime,
            "jti": uuid.uuid4().hex,
            "typ": "Bearer",
        }
        for name, value in claims.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64url(json.dumps(body, separators=(",", ":")).encode())
        ).encode("ascii")
        signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode("ascii") + "." + b64url(signature)

    def check_password(self, username: str, password: str) -> bool:
        secret = self._users.get(username)
        if secret is None:
            self._dummy.check(password)  # same work as for a real user
            return False
        return secret.check(password)

    def subject_for_api_key(self, key: str) -> Optional[str]:
        return self._api_keys.get(hashlib.sha256(key.encode("utf-8")).hexdigest())

    # -- queries -------------------------------------------------------------------------

    def start_query(self, subject: str, request: Any) -> Optional[_Query]:
        with self._lock:
            mine = sum(1 for q in self._queries.values() if q.subject == subject)
            if mine >= MAX_QUERIES_PER_SUBJECT:
                return None
            now = self._frozen if self._frozen is not None else self._clock() + self._offset
            q = _Query(subject, now, self.query_seconds, request)
            self._queries[q.id] = q
            return q

    def find_query(self, query_id: str, subject: str) -> Optional[_Query]:
        """Another subject's query is reported as absent, not as forbidden."""
        with self._lock:
            q = self._queries.get(query_id)
        return q if q is not None and q.subject == subject else None

    def drop_query(self, query_id: str) -> None:
        with self._lock:
            self._queries.pop(query_id, None)


def results_for(subject: str, request: Any) -> Json:
    """Sample data in i2 Connect's result shape."""
    term = request.get("payload", {}).get("term", "") if isinstance(request, dict) else ""
    entities = [
        {"id": f"person-{i}", "typeId": "ET5", "version": 1,
         "properties": {"PER4": name, "PER6": f"matched '{term}'" if term else "sample"}}
        for i, name in enumerate(("Ada Example", "Bo Example"), 1)
    ]
    return {"entities": entities, "links": [], "requestedBy": subject}


class _Reject(Exception):
    def __init__(self, status: int, detail: str, headers: Tuple[Tuple[str, str], ...] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 411: "Length Required", 413: "Content Too Large", 415: "Unsupported Media Type",
           429: "Too Many Requests"}


class _Handler(BaseHTTPRequestHandler):
    connector: Connector  # set on the per-server subclass
    server_version = "xconnauth-example-connector"
    protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive bookkeeping
    timeout = 10  # a client that stalls mid-request is dropped

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            self._route(method, path)
        except _Reject as r:
            self._send_json(r.status, {"type": "about:blank", "title": _TITLES.get(r.status, "Error"),
                                       "status": r.status, "detail": r.detail},
                            "application/problem+json", r.headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: Any = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        headers = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
        if not any(n.lower() == "cache-control" for n, _ in headers):
            headers.append(("Cache-Control", "no-store"))  # tokens and query results
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, content_type: str = "application/json", headers: Any = ()) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), content_type, headers)

    def _body(self) -> Tuple[str, bytes]:
        if self.headers.get("Transfer-Encoding"):
            raise _Reject(411, "send the body with Content-Length")
        raw_length = self.headers.get("Content-Length", "0")
        if not raw_length.isdigit():
            raise _Reject(400, "bad Content-Length")
        length = int(raw_length)
        if length > MAX_BODY:
            raise _Reject(413, f"the body is limited to {MAX_BODY} bytes")
        data = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        return ctype, data

    def _fields(self, names: Tuple[str, ...]) -> Dict[str, str]:
        """Login fields from a JSON object or an urlencoded form; strings only."""
        ctype, data = self._body()
        try:
            if ctype == "application/json":
                obj = json.loads(data.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError
            elif ctype == "application/x-www-form-urlencoded":
                form = parse_qs(data.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(data),
                                max_num_fields=10)
                obj = {k: v[0] for k, v in form.items() if len(v) == 1}
            else:
                raise _Reject(415, "send application/json or application/x-www-form-urlencoded")
        except (ValueError, UnicodeDecodeError):
            raise _Reject(400, "the body is not valid JSON or form data") from None
        values = {n: obj.get(n) for n in names}
        if not all(isinstance(v, str) and v for v in values.values()):
            raise _Reject(400, f"give {', '.join(names)} as non-empty strings")
        return values  # type: ignore[return-value]

    def _json_body(self) -> Any:
        ctype, data = self._body()
        if not data:
            return {}
        if ctype != "application/json":
            raise _Reject(415, "send application/json")
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise _Reject(400, "the body is not valid JSON") from None

    def _subject(self, path: str) -> Optional[str]:
        """The verified subject, or None after answering 401 with the i2 Connect problem."""
        c = self.connector
        assert c.verifier is not None
        values = self.headers.get_all("Authorization") or []
        try:
            if len(values) != 1:
                raise xconnauth.Malformed(
                    "the request has no Authorization header" if not values else "several Authorization headers")
            claims = c.verifier.verify_header(values[0], now=c.now())
            return str(claims["sub"])
        except xconnauth.InvalidToken as exc:
            answer = xconnauth.problem_response(
                exc, realm=c.realm, type_uri=I2_PROBLEM_TYPE, instance=path, challenge_only=not values)
            self._send(answer.status, answer.body, "application/problem+json", answer.headers)
            return None

    # -- routes --------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> None:
        c = self.connector
        if path == "/.well-known/jwks.json":
            self._allow(method, "GET")
            self._send_json(200, c.jwks(), "application/json", [("Cache-Control", "max-age=300")])
        elif path == "/login/userpass":
            self._allow(method, "POST")
            f = self._fields(("username", "password"))
            if not c.check_password(f["username"], f["password"]):
                raise _Reject(401, "invalid username or password")
            self._send_json(200, {"token": c.mint(f["username"])})
        elif path == "/login/apikey":
            self._allow(method, "POST")
            subject = c.subject_for_api_key(self._fields(("apiKey",))["apiKey"])
            if subject is None:
                raise _Reject(401, "invalid API key")
            self._send_json(200, {"token": c.mint(subject)})
        elif path == "/acquire":
            self._allow(method, "POST")
            subject = self._subject(path)
            if subject is not None:
                self._send_json(200, results_for(subject, self._json_body()))
        elif path == "/async/queries":
            self._allow(method, "POST")
            subject = self._subject(path)
            if subject is not None:
                q = c.start_query(subject, self._json_body())
                if q is None:
                    raise _Reject(429, "too many queries; delete finished ones first")
                self._send_json(202, {"id": q.id}, headers=[("Location", f"/async/queries/{q.id}")])
        else:
            m = _QUERY_PATH.match(path)
            if not m:
                raise _Reject(404, "no such resource")
            self._allow(method, "GET" if m.group(2) else "GET, DELETE")
            subject = self._subject(path)
            if subject is None:
                return
            q = c.find_query(m.group(1), subject)
            if q is None:
                raise _Reject(404, "no such query")
            state = q.state(c.now())
            if method == "DELETE":
                c.drop_query(q.id)
                self._send(204, b"", "application/json")
            elif m.group(2):
                if state != "SUCCEEDED":
                    raise _Reject(409, "the query is still running")
                self._send_json(200, results_for(subject, q.request))
            else:
                logs = [{"message": "query started", "level": "INFO"}]
                if state == "SUCCEEDED":
                    logs.append({"message": "query finished", "level": "INFO"})
                self._send_json(200, {"id": q.id, "state": state, "logs": logs})

    def _allow(self, method: str, allowed: str) -> None:
        if method not in [m.strip() for m in allowed.split(",")]:
            raise _Reject(405, f"use {allowed}", (("Allow", allowed),))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="JSON: users, api_keys, token_lifetime, audience, issuer, query_seconds")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    ap.add_argument("--token-lifetime", type=int, help="seconds (overrides the config)")
    args = ap.parse_args(argv)
    config: Json = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
    known = {"users", "api_keys", "token_lifetime", "audience", "issuer", "query_seconds", "leeway", "_comment"}
    unknown = set(config) - known
    if unknown:
        ap.error(f"unknown config keys {sorted(unknown)}; known: {sorted(known - {'_comment'})}")
    config.pop("_comment", None)
    if args.token_lifetime is not None:
        config["token_lifetime"] = args.token_lifetime
    connector = Connector(host=args.host, port=args.port, **config)
    base = connector.start()
    print(f"listening on {base}", flush=True)
    print(f"issuer {connector.issuer}, audience {connector.audience}, kid {connector.kid}", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        connector.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
