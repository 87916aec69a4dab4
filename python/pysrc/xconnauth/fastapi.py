"""FastAPI (and Starlette) dependencies: verified claims, scope and role guards.

Install with ``pip install 'xconnauth[fastapi]'``; importing ``xconnauth`` alone never
imports FastAPI.

::

    from fastapi import Depends, FastAPI, Security
    from xconnauth import Claims
    from xconnauth.fastapi import XConnAuth

    auth = XConnAuth("https://sso.example.com/realms/demo", audiences="orders-api", realm="demo")
    app = FastAPI()
    auth.install(app)  # refusals answered with RFC 7807 problem+json bodies

    @app.get("/orders")
    async def orders(claims: Claims = Security(auth, scopes=["orders:read"])) -> dict:
        return {"sub": claims.subject}

    @app.get("/admin")
    async def admin(claims: Claims = Depends(auth.require(realm_roles=["admin"]))) -> dict:
        ...

``XConnAuth`` is an HTTP Bearer security scheme (``/docs`` shows the Authorize button,
each protected route lists its scopes) and a dependency returning the verified
``Claims``. A refused request gets 401 (no, invalid or expired token), 403 (a required
scope or role missing) or 503 (the issuer's keys were never fetched), with
``WWW-Authenticate`` and the same ProblemDetails body as ``ASGIMiddleware``.

The event loop never waits for a key fetch: the token is verified inline with the keys
held now (tens of microseconds), and only a token that needs a fetch (an unknown
``kid``, no keys yet) is verified again in Starlette's thread pool (the decision is the
ASGI middleware's, shared code).
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations
# at run time and cannot resolve strings on a callable instance.

import json
import sys
import warnings
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

try:
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import HTTPException
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.param_functions import Security
    from fastapi.security import SecurityScopes
    from fastapi.security.base import SecurityBase
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import WebSocketException
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import Response
    from starlette.status import WS_1008_POLICY_VIOLATION
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    # No `as` name: it would be a module attribute to type checkers (and stubtest), not
    # at run time. The original error stays chained as the context.
    raise ImportError(
        f"xconnauth.fastapi needs FastAPI ({sys.exc_info()[1]}); install it with: pip install 'xconnauth[fastapi]'"
    )

from ._claims import Claims
from ._errors import InvalidToken, MissingRole, MissingScope
from ._http import PROBLEM_CONTENT_TYPE, ProblemResponse
from ._xconnauth import validate_options
from .jwks_client import JWKSClient
from .middleware import HeaderVerifier, _Gate, authorization_values

__all__ = ["XConnAuth", "ProblemHTTPException", "problem_exception_handler"]

# Where a request remembers its verdicts, so several dependencies of one request
# (a router's and a route's, each with other scopes) verify the token once.
_VERDICTS = "xconnauth.fastapi.verdicts"

_DESCRIPTION = "An OAuth2 access token (JWT) of the trusted issuer: `Authorization: Bearer <token>`."


class ProblemHTTPException(HTTPException):
    """A refused request: 401, 403 or 503 with ``WWW-Authenticate`` (and
    ``Retry-After`` for 503). ``problem`` is the complete answer; the handler that
    ``XConnAuth.install`` registers sends it as is (``application/problem+json``).

    Without that handler FastAPI's own still answers the right status and headers,
    with the problem object under ``detail``.
    """

    def __init__(self, problem: ProblemResponse) -> None:
        headers = {
            name: value for name, value in problem.headers if name.lower() not in ("content-type", "content-length")
        }
        super().__init__(status_code=problem.status, detail=json.loads(problem.body), headers=headers)
        self.problem = problem


async def problem_exception_handler(request: Request, exc: Exception) -> Response:
    """Sends a ``ProblemHTTPException``'s problem answer. Register it with
    ``app.add_exception_handler(ProblemHTTPException, problem_exception_handler)`` (or
    ``XConnAuth.install(app)``)."""
    if not isinstance(exc, ProblemHTTPException):
        raise TypeError(f"problem_exception_handler got {type(exc).__name__}, not a ProblemHTTPException")
    problem = exc.problem
    return Response(content=problem.body, status_code=problem.status, headers=dict(problem.headers))


def _names(value: Any, what: str) -> List[str]:
    # A lone str would be iterated character by character: refuse it.
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a list of names, not a single {type(value).__name__}")
    names = list(value)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"{what} must hold str names")
    return names


class _Roles:
    """Role requirements of one route, checked on claims the verifier accepted, with
    the core's messages (DESIGN §3 order: realm roles, then client roles)."""

    def __init__(self, realm_roles: Sequence[str], client_roles: Mapping[str, Sequence[str]]) -> None:
        self.realm_roles = realm_roles
        self.client_roles = client_roles

    def missing(self, claims: Claims) -> Optional[InvalidToken]:
        granted = claims.realm_roles
        for role in self.realm_roles:
            if role not in granted:
                return MissingRole(f"a required realm role is not granted ({role})")
        for client, roles in self.client_roles.items():
            granted = claims.client_roles(client)
            for role in roles:
                if role not in granted:
                    return MissingRole(f"a required client role is not granted ({client}/{role})")
        return None


def _missing_scope(claims: Claims, scopes: Sequence[str]) -> Optional[InvalidToken]:
    granted = claims.scopes
    for scope in scopes:
        if scope not in granted:
            return MissingScope(f"a required scope is not granted ({scope})")
    return None


class XConnAuth(SecurityBase):
    """Bearer-token authentication for FastAPI: a dependency that returns the verified
    ``Claims`` and declares the HTTP Bearer scheme in OpenAPI.

    Trust an issuer by URL (``issuer``: OIDC discovery, cached and rotating keys through
    a ``JWKSClient``; several realms: a list) or pass a ready ``verifier`` (a
    ``Verifier`` over fixed keys, or a ``ManagedVerifier``). ``**policy`` are the
    ``Verifier`` options (``audiences``, ``algorithms``, ``leeway``, ``required_scopes``,
    ...: requirements of every route); ``client_options`` the ``JWKSClient`` options
    (``timeout``, ``ca_file``, ``refresh_cooldown``, ...). Options are checked now
    (``TypeError``/``ConfigError``).

    ``realm`` goes into ``WWW-Authenticate``; ``problem_type`` is the problem ``type``
    URI (default ``about:blank``); ``scheme_name`` and ``description`` name and describe
    the scheme in OpenAPI; ``offload`` as for ``ASGIMiddleware``.

    Use it as ``Depends(auth)`` (a valid token), ``Security(auth, scopes=[...])``
    (FastAPI's scopes: required, and listed in the route's OpenAPI security
    requirement), or ``Depends(auth.require(scopes=..., realm_roles=...,
    client_roles=...))``. Call ``install(app)`` once so refusals carry the problem body.
    """

    def __init__(
        self,
        issuer: Union[str, Sequence[str], None] = None,
        *,
        verifier: Optional[HeaderVerifier] = None,
        realm: Optional[str] = None,
        problem_type: Optional[str] = None,
        scheme_name: str = "XConnAuth",
        description: Optional[str] = _DESCRIPTION,
        offload: Optional[bool] = None,
        client_options: Optional[Mapping[str, Any]] = None,
        **policy: Any,
    ) -> None:
        if (issuer is None) == (verifier is None):
            raise TypeError("XConnAuth needs either an issuer or a verifier (not both)")
        if verifier is None:
            issuers = [issuer] if isinstance(issuer, str) else _names(issuer, "issuer")
            if not issuers:
                raise TypeError("issuer must name at least one issuer")
            client = JWKSClient(issuers[0], **dict(client_options or {}))
            verifier = client.verifier_for(issuers=issuers if len(issuers) > 1 else issuers[0], **policy)
        elif policy or client_options:
            raise TypeError("with a verifier, give the policy options to the verifier, not to XConnAuth")
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        self.scheme_name = scheme_name
        self._gate = _Gate(verifier, realm, problem_type, (), offload)
        self._warned_no_handler = False

    @property
    def verifier(self) -> HeaderVerifier:
        """The verifier in use (a ``ManagedVerifier`` when built from an issuer)."""
        return self._gate.verifier

    def install(self, app: Any) -> None:
        """Registers ``problem_exception_handler`` on ``app`` (a FastAPI or Starlette
        application), so refusals are answered with the problem body and headers."""
        app.add_exception_handler(ProblemHTTPException, problem_exception_handler)

    async def __call__(self, conn: HTTPConnection, security_scopes: SecurityScopes) -> Claims:
        claims = await self._verify(conn)
        refused = _missing_scope(claims, security_scopes.scopes)
        if refused is not None:
            raise self._refuse(conn, self._gate.reject(refused, False))
        return claims

    async def _verify(self, conn: HTTPConnection) -> Claims:
        verdicts: Dict[int, Union[Claims, ProblemResponse]] = conn.scope.setdefault(_VERDICTS, {})
        verdict = verdicts.get(id(self))
        if verdict is None:
            values = authorization_values(conn.scope.get("headers", ()))
            verdict = verdicts[id(self)] = await self._gate.check_async(values, run_in_threadpool)
        if isinstance(verdict, ProblemResponse):
            raise self._refuse(conn, verdict)
        return verdict

    def _refuse(self, conn: HTTPConnection, problem: ProblemResponse) -> Exception:
        if conn.scope.get("type") == "websocket":
            # As ASGIMiddleware: closed before accepting (the handshake is answered 403).
            return WebSocketException(WS_1008_POLICY_VIOLATION, reason=json.loads(problem.body).get("error"))
        if not self._warned_no_handler:
            self._warn_without_handler(conn)
        return ProblemHTTPException(problem)

    def _warn_without_handler(self, conn: HTTPConnection) -> None:
        handlers = getattr(conn.scope.get("app"), "exception_handlers", None)
        if not isinstance(handlers, dict):
            return
        handler = next((handlers[c] for c in ProblemHTTPException.__mro__ if c in handlers), None)
        if handler is http_exception_handler:
            self._warned_no_handler = True
            warnings.warn(
                "xconnauth.fastapi: no handler for ProblemHTTPException is registered, so refusals "
                "are answered with FastAPI's {'detail': ...} body; call auth.install(app)",
                RuntimeWarning,
                stacklevel=2,
            )

    def require(
        self,
        *,
        scopes: Sequence[str] = (),
        realm_roles: Sequence[str] = (),
        client_roles: Optional[Mapping[str, Sequence[str]]] = None,
    ) -> Callable[..., Awaitable[Claims]]:
        """A dependency that returns the verified ``Claims`` when the token grants every
        one of ``scopes`` (whole words of ``scope``), ``realm_roles``
        (``realm_access.roles``) and ``client_roles`` (``{client: [roles]}``,
        ``resource_access.<client>.roles``); 403 otherwise (``missing_scope``, then
        ``missing_role``, naming the first missing one).

        The scopes appear in the route's OpenAPI security requirement. Names are checked
        now, with the rules of the policy options of the same names (``ConfigError``).
        """
        wanted = _names(scopes, "scopes")
        realm = _names(realm_roles, "realm_roles")
        clients = {str(c): _names(r, f"client_roles[{c!r}]") for c, r in (client_roles or {}).items()}
        validate_options(
            "urn:xconnauth:names-check",
            required_scopes=wanted,
            required_realm_roles=realm,
            required_client_roles=clients,
        )
        roles = _Roles(realm, clients)
        gate = self._gate
        refuse = self._refuse

        async def require_claims(
            conn: HTTPConnection, claims: Claims = Security(self, scopes=wanted)
        ) -> Claims:
            refused = roles.missing(claims)
            if refused is not None:
                raise refuse(conn, gate.reject(refused, False))
            return claims

        return require_claims

    @property
    def responses(self) -> Dict[Union[int, str], Dict[str, Any]]:
        """OpenAPI ``responses`` for the refusals, to document them on a route or router:
        ``@app.get("/orders", responses=auth.responses)``."""
        schema = {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "error": {"type": "string"},
            },
            "required": ["type", "title", "status"],
        }
        content = {PROBLEM_CONTENT_TYPE: {"schema": schema}}
        answers: Tuple[Tuple[int, str], ...] = (
            (401, "No, an invalid or an expired bearer token"),
            (403, "A required scope or role is not granted"),
            (503, "The token signing keys are unavailable; try again later"),
        )
        return {status: {"description": text, "content": content} for status, text in answers}
