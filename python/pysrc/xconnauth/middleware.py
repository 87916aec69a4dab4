"""WSGI and ASGI middleware: require a valid ``Authorization: Bearer`` token.

A request with a valid token reaches the application with its claims in
``environ["xconnauth.claims"]`` (WSGI) or ``scope["xconnauth.claims"]`` (ASGI). Any
other request is answered here: 401 (or 403 for a missing scope or role) with an RFC 7807
``application/problem+json`` body and an RFC 6750 ``WWW-Authenticate`` header; 503 (with ``Retry-After``) when
the signing keys cannot be had (``KeysUnavailable``, or any ``JWKSError``). Nothing a key
server does (errors, garbage, unusable keys, slowness) turns into a 500: the key engine
keeps the last good keys and reports ``keys_unavailable`` while it has none.

``verifier`` is anything with ``verify_header(value, now=None)``: a ``Verifier`` or a
``ManagedVerifier`` from ``JWKSClient.verifier_for``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import (
    Any,
    Awaitable,
    Callable,
    Collection,
    Dict,
    Iterable,
    List,
    MutableMapping,
    Optional,
    Protocol,
    Tuple,
    Union,
)

from ._claims import Claims
from ._errors import InvalidToken, JWKSError, KeysUnavailable, Malformed, UnknownKid
from ._http import ProblemResponse, problem_response, reason_phrase, unavailable_response
from ._xconnauth import Verifier

__all__ = ["ASGIMiddleware", "WSGIMiddleware", "CLAIMS_KEY", "HeaderVerifier"]

#: The ``environ`` / ``scope`` key the claims are stored under.
CLAIMS_KEY = "xconnauth.claims"


class HeaderVerifier(Protocol):
    """What the middleware needs from a verifier."""

    def verify_header(self, value: Union[str, bytes], now: Union[int, float, None] = None) -> Claims:
        ...


class _Retry:
    """``check(cached=True)`` could not decide without fetching: run it again off the
    event loop."""


_RETRY = _Retry()

_Verdict = Union[Claims, ProblemResponse, _Retry]
#: Runs a function in a worker thread and awaits its result (e.g. anyio's
#: ``to_thread.run_sync``, Starlette's ``run_in_threadpool``).
RunSync = Callable[[Callable[[], _Verdict]], Awaitable[_Verdict]]


class _Gate:
    """The decision shared by both middleware kinds."""

    def __init__(
        self,
        verifier: HeaderVerifier,
        realm: Optional[str],
        problem_type: Optional[str],
        exclude_paths: Collection[str],
        offload: Optional[bool] = None,
    ) -> None:
        if not callable(getattr(verifier, "verify_header", None)):
            raise TypeError("verifier must have a verify_header(value, now=None) method")
        self.verifier = verifier
        self.realm = realm
        self.problem_type = problem_type
        self.exclude_paths = frozenset(exclude_paths)
        if offload is None:
            # A non-blocking ManagedVerifier never waits for a fetch: inline is safe.
            offload = not isinstance(verifier, Verifier) and not getattr(verifier, "non_blocking", False)
        #: Whether a verification that may wait for a key fetch runs in a thread
        #: (``check_async``); the synchronous ``check`` ignores it.
        self.offload = offload
        self.cached_first = offload and callable(getattr(verifier, "verify_header_cached", None))

    def check(self, values: List[str], cached: bool = False) -> _Verdict:
        """Claims for a valid token, else the answer to send. ``cached``: use only the
        keys held now (``verify_header_cached``) and answer ``_RETRY`` when a fetch might
        change the verdict."""
        if not values:
            return self.reject(Malformed("the request has no Authorization header"), True)
        if len(values) > 1:
            return self.reject(Malformed("the request has several Authorization headers"), False)
        try:
            if cached:
                return self.verifier.verify_header_cached(values[0])  # type: ignore[attr-defined, no-any-return]
            return self.verifier.verify_header(values[0])
        except (UnknownKid, KeysUnavailable) if cached else ():
            return _RETRY
        except InvalidToken as exc:
            return self.reject(exc, False)
        except KeysUnavailable as exc:
            return problem_response(exc, realm=self.realm, type_uri=self.problem_type)
        except JWKSError:
            return unavailable_response(
                "the token signing keys are unavailable; try again later",
                type_uri=self.problem_type,
            )

    async def check_async(
        self, values: List[str], run_sync: Optional[RunSync] = None
    ) -> Union[Claims, ProblemResponse]:
        """``check`` for an event loop, which it never blocks on a key fetch: with the
        keys held now inline (tens of microseconds), and only a token that needs a fetch
        again in a thread, where it waits at most the fetch deadline (see
        ``ASGIMiddleware``). ``run_sync`` runs a function in a thread and awaits it
        (default: the asyncio loop's default executor)."""
        result: _Verdict = _RETRY
        if self.cached_first:
            result = self.check(values, cached=True)
        if isinstance(result, _Retry):
            if self.offload:
                call = functools.partial(self.check, values)
                if run_sync is None:
                    result = await asyncio.get_running_loop().run_in_executor(None, call)
                else:
                    result = await run_sync(call)
            else:
                result = self.check(values)
        assert not isinstance(result, _Retry)
        return result

    def reject(self, exc: InvalidToken, no_credentials: bool) -> ProblemResponse:
        return problem_response(
            exc, realm=self.realm, type_uri=self.problem_type, challenge_only=no_credentials
        )


WSGIApp = Callable[[Dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIMiddleware:
    """Wraps a WSGI application so that it only sees requests with a valid bearer token.

    ``realm`` goes into ``WWW-Authenticate``; ``problem_type`` is the problem ``type``
    URI (default ``about:blank``; e.g. ``xconnauth.I2_CONNECT_PROBLEM_TYPE``);
    requests whose ``PATH_INFO`` is in ``exclude_paths`` (health checks, ...) pass
    unchecked.
    """

    def __init__(
        self,
        app: WSGIApp,
        verifier: HeaderVerifier,
        *,
        realm: Optional[str] = None,
        problem_type: Optional[str] = None,
        exclude_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self._gate = _Gate(verifier, realm, problem_type, exclude_paths)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._gate.exclude_paths:
            return self.app(environ, start_response)
        header = environ.get("HTTP_AUTHORIZATION")
        result = self._gate.check([] if header is None else [header])
        assert not isinstance(result, _Retry)
        if isinstance(result, ProblemResponse):
            start_response(f"{result.status} {reason_phrase(result.status)}", result.headers)
            return [result.body]
        environ[CLAIMS_KEY] = result
        return self.app(environ, start_response)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ASGIMiddleware:
    """Wraps an ASGI application so that it only sees requests with a valid bearer token.

    Options as for ``WSGIMiddleware`` (``exclude_paths`` matches ``scope["path"]``).
    ``http`` and ``websocket`` connections are checked (a rejected websocket is closed
    with code 1008 before it is accepted); ``lifespan`` passes through.

    Verification takes tens of microseconds and runs inline. A ``ManagedVerifier`` may
    have to wait for a key fetch (an unknown kid, no keys yet), which must not block the
    event loop: it is first asked with the keys it holds (``verify_header_cached``,
    inline, never waiting), and only a token that needs a fetch is verified again in the
    event loop's default thread pool (asyncio only), where it waits at most the fetch
    deadline while the loop serves other requests. Other verifiers without
    ``verify_header_cached`` run in the pool entirely. A ``ManagedVerifier`` of a
    ``JWKSClient(non_blocking=True)`` runs inline (it never waits: an unknown kid answers
    at once and the refresh finishes on the engine's thread). ``offload=False`` forces inline
    verification (for a ``ManagedVerifier``, only with ``non_blocking=True``, which never
    waits), ``offload=True`` the pool.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: HeaderVerifier,
        *,
        realm: Optional[str] = None,
        problem_type: Optional[str] = None,
        exclude_paths: Collection[str] = (),
        offload: Optional[bool] = None,
    ) -> None:
        self.app = app
        self._gate = _Gate(verifier, realm, problem_type, exclude_paths, offload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket") or scope.get("path") in self._gate.exclude_paths:
            await self.app(scope, receive, send)
            return
        values = authorization_values(scope.get("headers", ()))
        result = await self._gate.check_async(values)
        if isinstance(result, ProblemResponse):
            await _reject(kind, result, send)
            return
        scope = dict(scope)
        scope[CLAIMS_KEY] = result
        await self.app(scope, receive, send)


def authorization_values(headers: Iterable[Tuple[bytes, bytes]]) -> List[str]:
    """The ``Authorization`` values among ASGI ``headers`` (all of them: more than one
    is refused)."""
    return [bytes(value).decode("latin-1") for name, value in headers if bytes(name).lower() == b"authorization"]


async def _reject(kind: str, response: ProblemResponse, send: Send) -> None:
    if kind == "websocket":
        # Closing before accepting makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    headers: List[Tuple[bytes, bytes]] = [
        (name.lower().encode("latin-1"), value.encode("latin-1", "replace")) for name, value in response.headers
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
