"""``JWKSClient``: trust a Keycloak realm by its issuer URL, on the Rust key engine.

::

    client = JWKSClient("https://sso.example.com/realms/demo")
    verifier = client.verifier_for(audiences="orders-api", required_scopes=["orders:read"])
    claims = verifier.verify(token)

Fetching and caching are done by the ``xconnauth-remote`` engine (DESIGN §5), in Rust,
with the GIL released: OIDC discovery (``<issuer>/.well-known/openid-configuration``,
whose ``issuer`` must equal the configured one byte for byte), the JWKS cached for the
``Cache-Control: max-age`` lifetime within ``min_ttl``/``max_ttl`` and refreshed ahead of
expiry on the engine's own thread, one overall ``timeout`` per fetch (a trickling server
is cut off), responses capped at ``max_bytes``, no redirects, ``https`` only except
literal loopback (``127.0.0.0/8``, ``::1``, the exact name ``localhost``).

A token naming an unknown key starts one single-flight refresh (at most one fetch in
flight, at most one per ``refresh_cooldown`` counted from the end of the last attempt);
callers wait for it at most ``timeout`` (``non_blocking=True``: not at all, they get
``UnknownKid`` and the next request sees the new keys). A failed fetch, or a set with no
key usable under the verifier's policy, keeps the last good keys. While no keys were
ever fetched, verification raises ``KeysUnavailable`` (HTTP 503).
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ._claims import Claims
from ._errors import ConfigError, JWKSError, KeysUnavailable
from ._xconnauth import RemoteVerifier, Verifier

__all__ = ["JWKSClient", "JWKSError", "KeysUnavailable", "ManagedVerifier", "IssuerStatus"]

Token = Union[str, bytes]
Now = Union[int, float, None]


@dataclass(frozen=True)
class IssuerStatus:
    """What the engine knows about one issuer (for health checks and logs). Times are
    unix seconds."""

    issuer: str
    #: Configured, or found by discovery (``None`` before the first discovery).
    jwks_uri: Optional[str]
    last_success: Optional[float]
    #: The error of the last attempt if it failed (cleared by a success).
    last_error: Optional[str]
    #: Attempts finished (successful or not).
    fetch_count: int
    #: Key ids of the keys in use (empty: none yet).
    kids: Tuple[str, ...]
    expires_at: Optional[float]


def _status(engine: RemoteVerifier, issuer: str) -> IssuerStatus:
    for s in engine.status():
        if s["issuer"] == issuer:
            return IssuerStatus(**s)
    raise KeyError(issuer)  # pragma: no cover - every engine of a client trusts its issuer


class JWKSClient:
    """Trusts one realm (``issuer``, ``https://host/realms/NAME``); thread-safe.

    Options (seconds for durations): ``jwks_uri`` skips discovery; ``timeout`` is the
    overall deadline of one fetch (connect, headers, body, one retry); ``max_bytes``
    caps a response; ``default_ttl``/``min_ttl``/``max_ttl`` bound the cache lifetime;
    ``refresh_cooldown`` spaces unknown-kid refreshes; ``ca_file`` adds a PEM bundle to
    the system trust store (private CA); ``fail_fast`` fetches now and raises
    ``JWKSError`` if that fails; ``non_blocking`` never lets a verify wait for a fetch.
    Invalid options or URLs raise ``ConfigError`` (a ``ValueError``).

    ``allow_http`` is deprecated and no longer widens anything: plain ``http`` is
    accepted for literal loopback hosts only, whatever it says (an ``http`` URL to
    another host raises ``ConfigError``). ``clock`` is deprecated and ignored: the
    engine keeps time in Rust (a ``DeprecationWarning`` says so).

    Each distinct policy (``verifier_for`` options) gets its own engine, because which
    keys are usable depends on the policy; verifiers with equal policies share one.
    """

    def __init__(
        self,
        issuer: str,
        *,
        jwks_uri: Optional[str] = None,
        timeout: float = 5.0,
        max_bytes: int = 1 << 20,
        default_ttl: float = 300.0,
        min_ttl: float = 60.0,
        max_ttl: float = 86400.0,
        refresh_cooldown: float = 10.0,
        ca_file: Optional[str] = None,
        fail_fast: bool = False,
        non_blocking: bool = False,
        allow_http: bool = False,
        clock: Any = None,
    ) -> None:
        if not isinstance(issuer, str) or not issuer:
            raise TypeError("issuer must be a non-empty str")
        if allow_http:
            warnings.warn(
                "JWKSClient(allow_http=True) is deprecated and ignored: plain http is "
                "accepted for literal loopback hosts only",
                DeprecationWarning,
                stacklevel=2,
            )
        if clock is not None:
            warnings.warn(
                "JWKSClient(clock=...) is deprecated and ignored: the key engine runs in "
                "Rust on the monotonic clock",
                DeprecationWarning,
                stacklevel=2,
            )
        options: Dict[str, Any] = {
            "timeout": timeout,
            "max_bytes": max_bytes,
            "default_ttl": default_ttl,
            "min_ttl": min_ttl,
            "max_ttl": max_ttl,
            "refresh_cooldown": refresh_cooldown,
            "ca_file": ca_file,
            "fail_fast": fail_fast,
            "non_blocking": non_blocking,
        }
        if jwks_uri is not None:
            options["jwks_uris"] = {issuer: jwks_uri}
        try:
            self._options_json = json.dumps(options)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"JWKSClient options: {exc}") from None
        self._issuer = issuer
        self._configured_jwks = jwks_uri
        self._non_blocking = non_blocking
        self._lock = threading.Lock()
        # Built now: checks options and URLs at once (and fetches, with fail_fast).
        self._default = self._engine(issuers=issuer)
        # Engines in use, by policy; the default one joins when first used.
        self._engines: Dict[str, RemoteVerifier] = {}
        self._default_verifier: Optional[ManagedVerifier] = None

    def _engine(self, **policy: Any) -> RemoteVerifier:
        try:
            return RemoteVerifier(policy.pop("issuers"), self._options_json, **policy)
        except ConfigError as exc:
            if "http" in str(exc):
                raise ConfigError(
                    f"{exc} (plain http is accepted for literal loopback hosts only; "
                    "allow_http no longer changes that)"
                ) from None
            raise

    def _register(self, engine: RemoteVerifier) -> RemoteVerifier:
        """The engine in use for ``engine``'s policy (an equal one already there wins)."""
        key = json.dumps(engine.policy, sort_keys=True)
        with self._lock:
            return self._engines.setdefault(key, engine)

    def _in_use(self) -> List[RemoteVerifier]:
        with self._lock:
            engines = list(self._engines.values())
        return engines or [self._register(self._default)]

    # Properties -----------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The configured issuer."""
        return self._issuer

    @property
    def jwks_uri(self) -> Optional[str]:
        """The JWKS URL (configured, or discovered; ``None`` before discovery)."""
        if self._configured_jwks is not None:
            return self._configured_jwks
        for engine in self._in_use():
            uri = _status(engine, self._issuer).jwks_uri
            if uri is not None:
                return uri
        return None

    @property
    def last_error(self) -> Optional[JWKSError]:
        """The error of the last failed attempt (any engine of this client), cleared by a
        successful one; ``None`` when the last attempts succeeded."""
        for engine in self._in_use():
            message = _status(engine, self._issuer).last_error
            if message is not None:
                return JWKSError(f"keys of {self._issuer}: {message}")
        return None

    @property
    def fetch_count(self) -> int:
        """Fetch attempts finished for this issuer, over all engines (for monitoring)."""
        return sum(_status(e, self._issuer).fetch_count for e in self._in_use())

    def status(self) -> List[IssuerStatus]:
        """The engine's view of every issuer it trusts, per engine in use."""
        return [IssuerStatus(**s) for e in self._in_use() for s in e.status()]

    # Keys -----------------------------------------------------------------------------

    def key_set(self) -> IssuerStatus:
        """Makes sure keys are held (fetching them first if there are none) and returns
        this issuer's status (``.kids`` lists the key ids in use).

        Raises ``JWKSError`` while no keys could ever be fetched. (Before the Rust
        engine this returned a ``KeySet``; the engine keeps its keys to itself.)
        """
        engine = self._in_use()[0]
        status = _status(engine, self._issuer)
        if not status.kids:
            engine.refresh()
            status = _status(engine, self._issuer)
        return status

    def refresh(self, *, force: bool = False) -> bool:
        """Fetches the keys now, ignoring the cooldown (``force`` is accepted for
        compatibility; the engine never starts a second fetch while one is under way, it
        waits for that one). Returns whether every attempt succeeded; never raises for
        network errors (see ``last_error``); the last good keys stay on failure."""
        ok = True
        for engine in self._in_use():
            try:
                engine.refresh()
            except JWKSError:
                ok = False
        return ok

    # Verifiers ------------------------------------------------------------------------

    def verifier_for(self, **options: Any) -> ManagedVerifier:
        """A verifier with this client's keys and its own policy.

        ``options`` are the ``Verifier`` keyword options; ``issuers`` defaults to this
        client's issuer (several issuers: each realm's keys are discovered and a token's
        key is chosen within its own realm). Options are checked now
        (``TypeError``/``ConfigError``); keys are fetched on first use.
        """
        return ManagedVerifier(self, **options)

    def verify(self, token: Token, now: Now = None) -> Claims:
        """``verify`` with a default-policy verifier for this issuer (issuer, ``exp``,
        ``typ: Bearer`` and signature checked; no audience, scope or role checks)."""
        return self._default_managed().verify(token, now)

    def verify_header(self, value: Token, now: Now = None) -> Claims:
        """``verify_header`` with the default-policy verifier (see ``verify``)."""
        return self._default_managed().verify_header(value, now)

    def _default_managed(self) -> ManagedVerifier:
        if self._default_verifier is None:
            self._default_verifier = ManagedVerifier(self)
        return self._default_verifier

    def __repr__(self) -> str:
        return f"JWKSClient({self._issuer!r}, jwks_uri={self.jwks_uri!r})"


class ManagedVerifier:
    """A verifier that owns (or shares) a key engine of a ``JWKSClient``.

    ``verify``/``verify_header`` refresh the keys by themselves on an unknown kid
    (single-flight, rate-limited, waiting at most the client's ``timeout`` with the GIL
    released). Raises ``InvalidToken`` subclasses, or ``KeysUnavailable`` (HTTP 503)
    while no keys were ever fetched. Thread-safe.
    """

    def __init__(self, client: JWKSClient, **options: Any) -> None:
        options.setdefault("issuers", client.issuer)
        self._client = client
        self._engine = client._register(client._engine(**options))

    @property
    def client(self) -> JWKSClient:
        """The client the keys come from."""
        return self._client

    @property
    def verifier(self) -> Verifier:
        """A plain ``Verifier`` over the keys held now (fetched first if there are none;
        ``KeysUnavailable`` if that fails). It does not follow later rotations."""
        snapshot = self._engine.snapshot()
        if snapshot is None:
            try:
                self._engine.refresh()
            except JWKSError as exc:
                raise KeysUnavailable(str(exc)) from exc
            snapshot = self._engine.snapshot()
            if snapshot is None:  # pragma: no cover - refresh succeeded
                raise KeysUnavailable("no signing keys yet")
        return snapshot

    @property
    def policy(self) -> Mapping[str, Any]:
        """The policy options (as ``Verifier.policy``)."""
        return self._engine.policy

    @property
    def non_blocking(self) -> bool:
        """Whether a verify never waits for a fetch."""
        return self._client._non_blocking

    def verify(self, token: Token, now: Now = None) -> Claims:
        """As ``Verifier.verify``, refreshing the keys on ``UnknownKid``."""
        return self._engine.verify(token, now)

    def verify_header(self, value: Token, now: Now = None) -> Claims:
        """As ``Verifier.verify_header``, refreshing the keys on ``UnknownKid``."""
        return self._engine.verify_header(value, now)

    def verify_header_cached(self, value: Token, now: Now = None) -> Claims:
        """``verify_header`` with the keys held now: never fetches nor waits (for event
        loops; retry an ``UnknownKid``/``KeysUnavailable`` with ``verify_header`` in a
        thread)."""
        return self._engine.verify_cached(value, now, True)

    def __repr__(self) -> str:
        return f"ManagedVerifier({self._client!r})"
