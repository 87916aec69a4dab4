#!/usr/bin/env python3
"""A local, Keycloak-style token issuer for development and tests.

NOT part of the verifier and NOT an identity provider: it has no login pages, no
persistence, no TLS, unauthenticated admin endpoints, and it prints nothing about
security. It exists so that the examples and end-to-end tests can run the real flows
(discovery, JWKS, client-credentials and password grants, key rotation, outages)
against something that behaves like a Keycloak realm, on 127.0.0.1, without a network.

Module API (import it with ``examples/issuer`` on ``sys.path``)::

    from issuer import Issuer

    iss = Issuer(realm="demo", clients={...}, users={...}, now=None)  # or Issuer.from_config(path)
    base = iss.start()          # binds 127.0.0.1:<free port>, returns "http://127.0.0.1:PORT"
    iss.issuer                  # "http://127.0.0.1:PORT/realms/demo"  (the `iss` claim)
    iss.discovery_url, iss.jwks_uri, iss.token_endpoint
    iss.token_for_client("orders-reporter", scope="orders:read")   # as the token endpoint, no HTTP
    iss.token_for_user("alice", client_id="web-app")
    iss.mint({"scope": "x"}, kid="forged", key=other_key)           # sign anything, for tests
    iss.rotate(grace=600)       # new signing key; the old one stays in the JWKS for `grace` s
    iss.drop_retired()          # forget retired keys now
    iss.set_time(t) / iss.advance(s) / iss.reset_time() / iss.now()   # the issuer's clock
    iss.set_outage(True)        # discovery + JWKS answer 503 (hits are still counted)
    iss.hits["jwks"]            # requests per endpoint: discovery, jwks, token, admin, other
    iss.stop()
    # also usable as a context manager: `with Issuer(...) as iss: ...`

``clients`` maps client id to a dict (every key optional)::

    {"secret": "s3cret",               # absent or "public": true -> public client
     "public": false,
     "service_account": {               # enables client_credentials (Keycloak: "service accounts")
         "realm_roles": ["reporting"],
         "client_roles": {"orders-api": ["reader"]}},
     "direct_access_grants": false,     # enables the password grant
     "default_scopes": ["profile", "email"],   # always in `scope`
     "optional_scopes": ["orders:read"],       # in `scope` only when requested
     "audience": ["orders-api"],        # extra `aud` values (Keycloak: audience mapper)
     "web_origins": ["https://app.example.com"]}

``users`` maps username to ``{"password", "id", "email", "first_name", "last_name",
"realm_roles", "client_roles"}``. Every principal also gets the realm role
``default-roles-<realm>``, as in Keycloak.

Tokens are shaped like Keycloak's: the header is written by hand with Keycloak's
spacing (``{"alg" : "RS256","typ" : "JWT","kid" : "..."}``), the payload is compact
JSON in Keycloak's claim order, ``aud`` is a string for one audience and an array for
several, ``kid`` is base64url(SHA-256(SubjectPublicKeyInfo)). The JWKS holds, like
Keycloak's, an ``RSA-OAEP``/``enc`` key and an ``ES256`` key beside the RS256 signing
keys. Differences from Keycloak worth knowing: refresh tokens are RS256 (Keycloak uses
HS512) and cannot be redeemed; there is no ``refresh_token`` grant.

HTTP endpoints (``<realm>`` is the configured realm name)::

    GET  /realms/<realm>/.well-known/openid-configuration
    GET  /realms/<realm>/protocol/openid-connect/certs
    POST /realms/<realm>/protocol/openid-connect/token   grant_type=client_credentials|password
    POST /admin/rotate        {"grace": seconds}?            -> {"kid", "retired"}
    POST /admin/drop-retired                                 -> {"dropped": [kids]}
    GET  /admin/time          POST /admin/time {"now": t} | {"advance": s} | {"reset": true}
    POST /admin/outage        {"on": true, "endpoints": ["discovery", "jwks"]}?
    GET  /admin/hits          POST /admin/hits/reset

Command line::

    python examples/issuer/issuer.py --config examples/issuer/realm.json --port 8180
    python examples/issuer/issuer.py --port 0 --url-file /tmp/issuer.url   # free port, URL written

Requires Python 3.9+ and ``cryptography``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

__all__ = ["Issuer", "IssuerError", "generate_rsa_key", "keycloak_kid", "b64url"]

Clock = Callable[[], float]
Json = Dict[str, Any]

ENDPOINTS = ("discovery", "jwks", "token", "admin", "other")

# alg -> (hash, padding factory); the verifier supports exactly these.
_RSA_ALGS: Dict[str, Tuple[Callable[[], hashes.HashAlgorithm], Callable[[hashes.HashAlgorithm], Any]]] = {
    "RS256": (hashes.SHA256, lambda h: padding.PKCS1v15()),
    "RS384": (hashes.SHA384, lambda h: padding.PKCS1v15()),
    "RS512": (hashes.SHA512, lambda h: padding.PKCS1v15()),
    "PS256": (hashes.SHA256, lambda h: padding.PSS(padding.MGF1(h), h.digest_size)),
    "PS384": (hashes.SHA384, lambda h: padding.PSS(padding.MGF1(h), h.digest_size)),
    "PS512": (hashes.SHA512, lambda h: padding.PSS(padding.MGF1(h), h.digest_size)),
}


class IssuerError(Exception):
    """Misuse of the issuer (bad configuration, unknown client or key, not started)."""


# --------------------------------------------------------------------------------------
# encoding helpers
# --------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64url(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def generate_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh RSA key (e.g. a foreign key for bad-signature tests)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def keycloak_kid(public_key: Any) -> str:
    """Keycloak's key id: base64url(SHA-256(SubjectPublicKeyInfo DER))."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64url(hashlib.sha256(spki).digest())


def _self_signed(key: rsa.RSAPrivateKey, realm: str) -> bytes:
    # Keycloak publishes each realm key with a self-signed CN=<realm> certificate in x5c;
    # verifiers must ignore it, so it is here to make the JWKS realistic, nothing more.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, realm)])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _rsa_jwk(key: rsa.RSAPrivateKey, kid: str, alg: str, use: str, cert_der: bytes) -> Json:
    numbers = key.public_key().public_numbers()
    return {
        "kid": kid,
        "kty": "RSA",
        "alg": alg,
        "use": use,
        "n": _uint_b64url(numbers.n),
        "e": _uint_b64url(numbers.e),
        "x5c": [base64.b64encode(cert_der).decode("ascii")],
        "x5t": b64url(hashlib.sha1(cert_der).digest()),
        "x5t#S256": b64url(hashlib.sha256(cert_der).digest()),
    }


def _ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> Json:
    numbers = key.public_key().public_numbers()
    return {
        "kid": kid,
        "kty": "EC",
        "alg": "ES256",
        "use": "sig",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def _keycloak_header(alg: str, kid: str) -> bytes:
    # Keycloak's JWSBuilder writes the header by hand with " : " separators; verifiers
    # that only ever saw json.dumps output break on it, so reproduce it byte for byte.
    return ('{"alg" : "%s","typ" : "JWT","kid" : "%s"}' % (alg, kid)).encode("utf-8")


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------


class _SigningKey:
    """One RS256 realm key; ``retired_at`` is set (issuer clock) when it stops signing."""

    def __init__(self, key: rsa.RSAPrivateKey, realm: str) -> None:
        self.key = key
        self.kid = keycloak_kid(key.public_key())
        self.jwk = _rsa_jwk(key, self.kid, "RS256", "sig", _self_signed(key, realm))
        self.retired_at: Optional[float] = None
        self.grace = 0.0  # seconds it stays published after retired_at


# --------------------------------------------------------------------------------------
# the issuer
# --------------------------------------------------------------------------------------


class Issuer:
    """A Keycloak-style realm on a local HTTP server. Thread-safe.

    ``now``: ``None`` (system clock), a number (the clock starts at that Unix time and
    runs on) or a callable returning Unix seconds. ``rotation_grace`` is how long (issuer
    clock) a retired key stays in the JWKS. ``jwks_cache_control`` is sent with the JWKS
    (Keycloak sends ``no-cache``). ``public_url`` replaces the bound address in every
    published URL and in ``iss`` (Keycloak's "frontend URL").
    """

    def __init__(
        self,
        realm: str = "demo",
        clients: Optional[Mapping[str, Mapping[str, Any]]] = None,
        users: Optional[Mapping[str, Mapping[str, Any]]] = None,
        *,
        now: Union[None, float, Clock] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token_lifespan: int = 300,
        rotation_grace: float = 600.0,
        key_bits: int = 2048,
        jwks_cache_control: str = "no-cache",
        public_url: Optional[str] = None,
        verbose: bool = False,
    ) -> None:
        if not realm or "/" in realm:
            raise IssuerError(f"realm name {realm!r} must be non-empty and contain no '/'")
        self.realm = realm
        self.clients: Dict[str, Dict[str, Any]] = {k: dict(v) for k, v in (clients or {}).items()}
        self.users: Dict[str, Dict[str, Any]] = {k: dict(v) for k, v in (users or {}).items()}
        for client_id, client in self.clients.items():
            if not client.get("public") and not client.get("secret"):
                raise IssuerError(f"client {client_id!r}: give a 'secret' or set 'public': true")
        for username, user in self.users.items():
            user.setdefault("id", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{realm}/user/{username}")))
        self.access_token_lifespan = int(access_token_lifespan)
        self.rotation_grace = float(rotation_grace)
        self.key_bits = key_bits
        self.jwks_cache_control = jwks_cache_control
        self.verbose = verbose
        self._host, self._port = host, port
        self._public_url = public_url.rstrip("/") if public_url else None

        self._lock = threading.Lock()
        self._base_clock: Clock = time.time
        self._offset = 0.0
        self._frozen: Optional[float] = None
        if callable(now):
            self._base_clock = now
        elif now is not None:
            self._offset = float(now) - time.time()

        self._keys: List[_SigningKey] = [_SigningKey(generate_rsa_key(key_bits), realm)]
        enc = generate_rsa_key(key_bits)
        self._enc_jwk = _rsa_jwk(enc, keycloak_kid(enc.public_key()), "RSA-OAEP", "enc", _self_signed(enc, realm))
        ec_key = ec.generate_private_key(ec.SECP256R1())
        self._ec_jwk = _ec_jwk(ec_key, keycloak_kid(ec_key.public_key()))

        self._hits: collections.Counter[str] = collections.Counter()
        self._down: frozenset[str] = frozenset()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._base_url: Optional[str] = None

    @classmethod
    def from_config(cls, config: Union[str, "os.PathLike[str]", Mapping[str, Any]], **overrides: Any) -> "Issuer":
        """An issuer from a realm config (path to JSON, or the parsed object): ``realm``,
        ``clients``, ``users``, ``access_token_lifespan``, ``rotation_grace``.
        ``overrides`` are constructor arguments that win over the file."""
        if isinstance(config, Mapping):
            data = dict(config)
        else:
            with open(config, encoding="utf-8") as f:
                data = json.load(f)
        known = {"realm", "clients", "users", "access_token_lifespan", "rotation_grace"}
        unknown = set(data) - known - {"_comment"}
        if unknown:
            raise IssuerError(f"unknown realm config keys: {sorted(unknown)} (known: {sorted(known)})")
        args = {k: data[k] for k in known if k in data}
        args.update(overrides)
        return cls(**args)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        """Binds and serves in a daemon thread; returns the base URL."""
        if self._server is not None:
            raise IssuerError("already started")
        handler = type("_BoundHandler", (_Handler,), {"issuer": self})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        server.daemon_threads = True
        self._server = server
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self._base_url = self._public_url or f"http://{shown}:{port}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=f"issuer-{port}", daemon=True)
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stops serving and closes the socket; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Issuer":
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- URLs --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise IssuerError("the issuer is not started: call start() first")
        return self._base_url

    @property
    def port(self) -> int:
        if self._server is None:
            raise IssuerError("the issuer is not started: call start() first")
        return int(self._server.server_address[1])

    @property
    def issuer(self) -> str:
        """The ``iss`` value: ``<base>/realms/<realm>``."""
        return f"{self.base_url}/realms/{self.realm}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    # -- clock -------------------------------------------------------------------------

    def now(self) -> float:
        """The issuer's current time (Unix seconds)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._base_clock() + self._offset

    def set_time(self, t: float, *, frozen: bool = False) -> None:
        """Makes the issuer's clock read ``t`` now; it runs on unless ``frozen``."""
        with self._lock:
            if frozen:
                self._frozen = float(t)
            else:
                self._frozen = None
                self._offset = float(t) - self._base_clock()

    def advance(self, seconds: float) -> None:
        """Moves the issuer's clock forward (or back, if negative)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def reset_time(self) -> None:
        """Back to the real clock."""
        with self._lock:
            self._frozen, self._offset = None, 0.0

    # -- keys --------------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The kid of the key that signs new tokens."""
        with self._lock:
            return self._keys[0].kid

    @property
    def kids(self) -> List[str]:
        """Kids of the published RS256 keys, active first."""
        self._prune()
        with self._lock:
            return [k.kid for k in self._keys]

    def rotate(self, grace: Optional[float] = None) -> str:
        """A new signing key, used from now on. The old one stays published for ``grace``
        seconds of issuer time (default ``rotation_grace``), so tokens it signed keep
        verifying. Returns the new kid."""
        fresh = _SigningKey(generate_rsa_key(self.key_bits), self.realm)
        now = self.now()
        with self._lock:
            old = self._keys[0]
            old.retired_at = now
            # Per-key grace lets tests rotate twice with different grace periods.
            old.grace = self.rotation_grace if grace is None else float(grace)
            self._keys.insert(0, fresh)
        self._log(f"rotated signing key: {old.kid} -> {fresh.kid}")
        return fresh.kid

    def drop_retired(self) -> List[str]:
        """Unpublishes every retired key now; returns their kids."""
        with self._lock:
            dropped = [k.kid for k in self._keys[1:]]
            del self._keys[1:]
        return dropped

    def _prune(self) -> None:
        now = self.now()
        with self._lock:
            self._keys[1:] = [
                k for k in self._keys[1:]
                if k.retired_at is None or now < k.retired_at + k.grace
            ]

    def jwks(self) -> Json:
        """The published key set, in Keycloak's order (enc key, RS256 keys, EC key)."""
        self._prune()
        with self._lock:
            return {"keys": [self._enc_jwk] + [k.jwk for k in self._keys] + [self._ec_jwk]}

    def discovery(self) -> Json:
        """The OpenID provider metadata, a subset of Keycloak's with the same names."""
        base = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": self.token_endpoint,
            "introspection_endpoint": f"{base}/token/introspect",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout",
            "jwks_uri": self.jwks_uri,
            "grant_types_supported": ["client_credentials", "password"],
            "response_types_supported": ["code", "none", "id_token", "token", "code id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": sorted({"openid", "profile", "email", "roles", "web-origins", "acr",
                                         "offline_access", "microprofile-jwt"}
                                        | {s for c in self.clients.values()
                                           for s in c.get("default_scopes", []) + c.get("optional_scopes", [])}),
            "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
                                 "preferred_username", "email", "acr"],
        }

    # -- outage and counters -----------------------------------------------------------

    def set_outage(self, on: bool = True, *, endpoints: Sequence[str] = ("discovery", "jwks")) -> None:
        """While on, the named endpoints answer 503 (the token endpoint keeps working
        unless listed)."""
        unknown = set(endpoints) - set(ENDPOINTS)
        if unknown:
            raise IssuerError(f"unknown endpoints {sorted(unknown)}; known: {list(ENDPOINTS)}")
        with self._lock:
            self._down = frozenset(endpoints) if on else frozenset()

    @property
    def outage(self) -> List[str]:
        """Endpoints currently answering 503."""
        with self._lock:
            return sorted(self._down)

    @property
    def hits(self) -> "collections.Counter[str]":
        """A snapshot of requests per endpoint (missing names read 0)."""
        with self._lock:
            return collections.Counter(self._hits)

    def reset_hits(self) -> None:
        with self._lock:
            self._hits.clear()

    def _hit(self, endpoint: str) -> bool:
        """Counts the request; returns whether the endpoint is down."""
        with self._lock:
            self._hits[endpoint] += 1
            return endpoint in self._down

    # -- tokens ------------------------------------------------------------------------

    def sign(self, header: bytes, claims: bytes, key: Optional[rsa.RSAPrivateKey] = None, alg: str = "RS256") -> str:
        """A compact JWS over the exact header and payload bytes given."""
        if alg not in _RSA_ALGS:
            raise IssuerError(f"cannot sign with alg {alg!r}; supported: {sorted(_RSA_ALGS)}")
        if key is None:
            with self._lock:
                key = self._keys[0].key
        hash_factory, pad = _RSA_ALGS[alg]
        h = hash_factory()
        signing_input = f"{b64url(header)}.{b64url(claims)}".encode("ascii")
        return f"{signing_input.decode('ascii')}.{b64url(key.sign(signing_input, pad(h), h))}"

    def mint(
        self,
        claims: Optional[Mapping[str, Any]] = None,
        *,
        base: bool = True,
        kid: Optional[str] = None,
        key: Union[None, str, rsa.RSAPrivateKey] = None,
        alg: str = "RS256",
        header: Optional[Mapping[str, Any]] = None,
    ) -> str:
        """Signs arbitrary claims, for tests.

        With ``base`` the claims start from a minimal valid access token (``exp``,
        ``iat``, ``jti``, ``iss``, ``sub``, ``typ: Bearer``, ``azp``); ``claims`` are
        merged over it and a ``None`` value removes a claim. ``key`` is ``None`` (the
        active key), the kid of a published key (e.g. a retired one) or any RSA private
        key (a foreign key: bad signature). ``kid`` overrides the header ``kid`` (a forged
        kid). ``header`` replaces the whole header (written with ``json.dumps``).
        """
        body: Dict[str, Any] = {}
        if base:
            now = int(self.now())
            body = {
                "exp": now + self.access_token_lifespan,
                "iat": now,
                "jti": str(uuid.uuid4()),
                "iss": self.issuer,
                "sub": str(uuid.uuid4()),
                "typ": "Bearer",
                "azp": "test-client",
            }
        for name, value in (claims or {}).items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        signer, signer_kid = self._resolve_key(key)
        if header is not None:
            header_bytes = _compact(dict(header))
            alg = str(header.get("alg", alg))
        else:
            header_bytes = _keycloak_header(alg, signer_kid if kid is None else kid)
        return self.sign(header_bytes, _compact(body), signer, alg)

    def _resolve_key(self, key: Union[None, str, rsa.RSAPrivateKey]) -> Tuple[rsa.RSAPrivateKey, str]:
        if isinstance(key, rsa.RSAPrivateKey):
            return key, keycloak_kid(key.public_key())
        with self._lock:
            if key is None:
                return self._keys[0].key, self._keys[0].kid
            for k in self._keys:
                if k.kid == key:
                    return k.key, k.kid
        raise IssuerError(f"no published key with kid {key!r}")

    def token_for_client(self, client_id: str, scope: str = "", *, client_address: str = "127.0.0.1") -> str:
        """The access token the token endpoint would give ``client_id`` for
        ``client_credentials`` (no secret needed, no HTTP)."""
        return str(self._client_credentials(self._client(client_id), client_id, scope, client_address)["access_token"])

    def token_for_user(self, username: str, client_id: str, scope: str = "") -> str:
        """The access token for the ``password`` grant (no password needed, no HTTP)."""
        user = self.users.get(username)
        if user is None:
            raise IssuerError(f"unknown user {username!r}; known: {sorted(self.users)}")
        return str(self._password(self._client(client_id), client_id, user, username, scope)["access_token"])

    def _client(self, client_id: str) -> Dict[str, Any]:
        client = self.clients.get(client_id)
        if client is None:
            raise IssuerError(f"unknown client {client_id!r}; known: {sorted(self.clients)}")
        return client

    def _scopes(self, client: Mapping[str, Any], requested: str) -> str:
        asked = [s for s in requested.split(" ") if s]
        allowed = set(client.get("optional_scopes", [])) | set(client.get("default_scopes", [])) | {"openid"}
        bad = [s for s in asked if s not in allowed]
        if bad:
            raise _OAuthError(400, "invalid_scope", f"Invalid scopes: {' '.join(asked)}")
        granted = (["openid"] if "openid" in asked else []) + list(client.get("default_scopes", []))
        granted += [s for s in client.get("optional_scopes", []) if s in asked]
        return " ".join(dict.fromkeys(granted))

    def _access_claims(
        self,
        client_id: str,
        client: Mapping[str, Any],
        subject: str,
        realm_roles: Sequence[str],
        client_roles: Mapping[str, Sequence[str]],
        scope: str,
        session: Optional[str],
    ) -> Json:
        now = int(self.now())
        resource_access = {c: {"roles": list(r)} for c, r in client_roles.items() if r}
        # Keycloak's audience resolution: every client whose roles the token carries,
        # except the requesting one, plus explicitly mapped audiences.
        audience = list(dict.fromkeys(list(client.get("audience", [])) + [c for c in resource_access if c != client_id]))
        claims: Json = {"exp": now + self.access_token_lifespan, "iat": now, "jti": str(uuid.uuid4()), "iss": self.issuer}
        if audience:
            claims["aud"] = audience[0] if len(audience) == 1 else audience
        claims.update({"sub": subject, "typ": "Bearer", "azp": client_id})
        if session is not None:
            claims["sid"] = session
        claims["acr"] = "1"
        if client.get("web_origins"):
            claims["allowed-origins"] = list(client["web_origins"])
        claims["realm_access"] = {"roles": list(dict.fromkeys([f"default-roles-{self.realm}", *realm_roles]))}
        if resource_access:
            claims["resource_access"] = resource_access
        claims["scope"] = scope
        return claims

    def _token_response(self, claims: Json, refresh: bool) -> Json:
        answer: Json = {
            "access_token": self.mint(claims, base=False),
            "expires_in": self.access_token_lifespan,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": claims["scope"],
        }
        if refresh:
            lifespan = 1800
            refresh_claims = {
                "exp": claims["iat"] + lifespan, "iat": claims["iat"], "jti": str(uuid.uuid4()),
                "iss": self.issuer, "aud": self.issuer, "sub": claims["sub"], "typ": "Refresh",
                "azp": claims["azp"], "sid": claims.get("sid"), "scope": claims["scope"],
            }
            answer["refresh_token"] = self.mint(refresh_claims, base=False)
            answer["refresh_expires_in"] = lifespan
            answer["session_state"] = claims.get("sid")
        return answer

    def _client_credentials(self, client: Mapping[str, Any], client_id: str, scope: str, address: str) -> Json:
        account = client.get("service_account")
        if account is None:
            raise _OAuthError(401, "unauthorized_client", "Client not enabled to retrieve service account")
        granted = self._scopes(client, scope)
        service_user = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.realm}/service-account/{client_id}"))
        claims = self._access_claims(
            client_id, client, service_user, account.get("realm_roles", []),
            account.get("client_roles", {}), granted, None,
        )
        claims.update({
            "clientHost": address,
            "email_verified": False,
            "clientId": client_id,
            "preferred_username": f"service-account-{client_id}",
            "clientAddress": address,
        })
        return self._token_response(claims, refresh=False)

    def _password(self, client: Mapping[str, Any], client_id: str, user: Mapping[str, Any], username: str, scope: str) -> Json:
        if not client.get("direct_access_grants"):
            raise _OAuthError(400, "unauthorized_client", "Client not allowed for direct access grants")
        granted = self._scopes(client, scope)
        claims = self._access_claims(
            client_id, client, str(user["id"]), user.get("realm_roles", []),
            user.get("client_roles", {}), granted, str(uuid.uuid4()),
        )
        first, last = user.get("first_name", ""), user.get("last_name", "")
        claims["email_verified"] = bool(user.get("email"))
        if first or last:
            claims["name"] = f"{first} {last}".strip()
        claims["preferred_username"] = username
        if first:
            claims["given_name"] = first
        if last:
            claims["family_name"] = last
        if user.get("email"):
            claims["email"] = user["email"]
        return self._token_response(claims, refresh=True)

    def _grant(self, form: Mapping[str, str], basic: Optional[Tuple[str, str]], address: str) -> Json:
        """The token endpoint's logic; raises ``_OAuthError`` with Keycloak's answers."""
        grant = form.get("grant_type", "")
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if not client_id:
            raise _OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        if client is None:
            raise _OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        if not client.get("public"):
            # Constant time, like any secret comparison should be.
            if not hmac.compare_digest(str(client.get("secret", "")).encode(), secret.encode()):
                raise _OAuthError(401, "unauthorized_client", "Invalid client or Invalid client credentials")
        if grant == "client_credentials":
            if client.get("public"):
                raise _OAuthError(401, "unauthorized_client", "Public client not allowed to retrieve service account")
            return self._client_credentials(client, client_id, form.get("scope", ""), address)
        if grant == "password":
            username, password = form.get("username", ""), form.get("password", "")
            user = self.users.get(username)
            if user is None or not hmac.compare_digest(str(user.get("password", "")).encode(), password.encode()):
                raise _OAuthError(401, "invalid_grant", "Invalid user credentials")
            return self._password(client, client_id, user, username, form.get("scope", ""))
        if not grant:
            raise _OAuthError(400, "invalid_request", "Missing form parameter: grant_type")
        raise _OAuthError(400, "unsupported_grant_type", "Unsupported grant_type")

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"issuer: {message}", file=sys.stderr, flush=True)


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    issuer: Issuer  # set on the per-server subclass
    server_version = "xconnauth-dev-issuer"
    # HTTP/1.0: one request per connection, so stop() never waits on idle keep-alives.
    protocol_version = "HTTP/1.0"
    timeout = 10
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
    # peer's delayed ACK adds ~40 ms to every response.
    disable_nagle_algorithm = True
    max_body = 64 * 1024

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.issuer.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        iss = self.issuer
        path = urllib.parse.urlsplit(self.path).path
        prefix = f"/realms/{iss.realm}"
        routes: Dict[Tuple[str, str], Tuple[str, Callable[[], None]]] = {
            ("GET", f"{prefix}/.well-known/openid-configuration"): ("discovery", lambda: self._json(200, iss.discovery())),
            ("GET", f"{prefix}/protocol/openid-connect/certs"): ("jwks", self._certs),
            ("POST", f"{prefix}/protocol/openid-connect/token"): ("token", self._token),
        }
        route: Optional[Tuple[str, Callable[[], None]]] = routes.get((method, path))
        if route is None and path.startswith("/admin/"):
            route = ("admin", lambda: self._admin(method, path))
        if route is None:
            iss._hit("other")
            self._json(404, {"error": "not_found", "error_description": f"no {method} {path} here"})
            return
        endpoint, action = route
        if iss._hit(endpoint):
            self._json(503, {"error": "temporarily_unavailable", "error_description": "outage switch is on"},
                       [("Retry-After", "1")])
            return
        try:
            action()
        except _OAuthError as exc:
            self._json(exc.status, {"error": exc.error, "error_description": exc.description},
                       [("Cache-Control", "no-store")])
        except (ValueError, IssuerError) as exc:
            self._json(400, {"error": "invalid_request", "error_description": str(exc)})

    def _json(self, status: int, body: Any, headers: Sequence[Tuple[str, str]] = ()) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body:
            raise ValueError(f"request body over {self.max_body} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _certs(self) -> None:
        self._json(200, self.issuer.jwks(), [("Cache-Control", self.issuer.jwks_cache_control)])

    def _token(self) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise _OAuthError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        pairs = urllib.parse.parse_qsl(self._body().decode("utf-8"), keep_blank_values=True)
        form = dict(pairs)
        basic: Optional[Tuple[str, str]] = None
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "basic":
                raise _OAuthError(401, "invalid_client", "Unsupported client authentication")
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise _OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials") from None
            user, sep, secret = decoded.partition(":")
            if not sep:
                raise _OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials")
            # RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
            basic = (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(secret))
        self._json(200, self.issuer._grant(form, basic, self.client_address[0]),
                   [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _admin(self, method: str, path: str) -> None:
        iss = self.issuer
        raw = self._body() if method == "POST" else b""
        args: Json = json.loads(raw) if raw.strip() else {}
        if not isinstance(args, dict):
            raise ValueError("admin request body must be a JSON object")
        if (method, path) == ("POST", "/admin/rotate"):
            old = iss.kid
            kid = iss.rotate(args.get("grace"))
            self._json(200, {"kid": kid, "retired": old})
        elif (method, path) == ("POST", "/admin/drop-retired"):
            self._json(200, {"dropped": iss.drop_retired()})
        elif path == "/admin/time":
            if method == "POST":
                if args.get("reset"):
                    iss.reset_time()
                elif "now" in args:
                    iss.set_time(float(args["now"]), frozen=bool(args.get("frozen", False)))
                elif "advance" in args:
                    iss.advance(float(args["advance"]))
                else:
                    raise ValueError('give {"now": t}, {"advance": seconds} or {"reset": true}')
            self._json(200, {"now": iss.now()})
        elif (method, path) == ("POST", "/admin/outage"):
            iss.set_outage(bool(args.get("on", True)), endpoints=args.get("endpoints", ("discovery", "jwks")))
            self._json(200, {"outage": iss.outage})
        elif (method, path) == ("GET", "/admin/hits"):
            self._json(200, dict(iss.hits))
        elif (method, path) == ("POST", "/admin/hits/reset"):
            iss.reset_hits()
            self._json(200, {})
        else:
            self._json(404, {"error": "not_found", "error_description": f"no admin action {method} {path}"})


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Optional[Sequence[str]] = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Local Keycloak-style issuer for development and tests (never production).")
    parser.add_argument("--config", default=os.path.join(here, "realm.json"), help="realm config JSON (default: realm.json beside this file)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8180, help="port; 0 picks a free one (default 8180)")
    parser.add_argument("--url-file", help="write the base URL here once listening (for scripts using --port 0)")
    parser.add_argument("--public-url", help="base URL to publish instead of the bound address")
    parser.add_argument("--now", type=float, help="start the issuer clock at this Unix time")
    parser.add_argument("--insecure-bind-any", action="store_true",
                        help="allow a non-loopback --host (the admin endpoints have no authentication)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if not _is_loopback(args.host) and not args.insecure_bind_any:
        parser.error(f"--host {args.host} is not loopback; the admin endpoints are unauthenticated "
                     "(pass --insecure-bind-any if you really mean it)")
    try:
        issuer = Issuer.from_config(args.config, host=args.host, port=args.port, now=args.now,
                                    public_url=args.public_url, verbose=args.verbose)
        base = issuer.start()
    except (OSError, IssuerError, ValueError) as exc:
        print(f"issuer: error: {exc}", file=sys.stderr)
        return 2
    print(f"issuer: realm {issuer.realm!r} at {issuer.issuer} (signing kid {issuer.kid})", file=sys.stderr, flush=True)
    if args.url_file:
        tmp = args.url_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(base + "\n")
        os.replace(tmp, args.url_file)  # readers never see a half-written file
    try:
        assert issuer._thread is not None
        while issuer._thread.is_alive():
            issuer._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        issuer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
