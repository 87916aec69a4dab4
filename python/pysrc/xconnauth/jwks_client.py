"""``JWKSClient``: fetch and cache a realm's signing keys, standard library only.

::

    client = JWKSClient("https://sso.example.com/realms/demo")
    verifier = client.verifier_for(audiences="orders-api", required_scopes=["orders:read"])
    claims = verifier.verify(token)

The client finds the JWKS through OIDC discovery (``<issuer>/.well-known/openid-configuration``,
whose ``issuer`` must equal the configured one exactly), caches it for the time the
server's ``Cache-Control: max-age`` allows (bounded by ``min_ttl``/``max_ttl``), and keeps
serving the last good key set when a refresh fails. A token signed with a key the cache
does not know (``UnknownKid``) triggers one refresh and one retry, but those refreshes are
rate-limited: at most one per ``refresh_cooldown`` seconds, however many unknown kids
arrive (a flood of tokens with random kids cannot turn into a flood of requests to the
identity provider). The cooldown counts from the last unknown-kid refresh, not from the
last scheduled one: a realm that starts signing with a new key just after the cache was
filled is picked up at the first token that uses it, not up to a cooldown later.

Responses are capped at ``max_bytes`` (1 MiB), each request has a ``timeout``, redirects
are not followed, and plain ``http`` URLs are refused except on loopback hosts (or with
``allow_http=True``).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from ._claims import Claims
from ._errors import ConfigError, UnknownKid
from ._xconnauth import KeySet, Verifier, __version__, parse_discovery, validate_options

__all__ = ["JWKSClient", "JWKSError", "ManagedVerifier"]

log = logging.getLogger("xconnauth")

Token = Union[str, bytes]
Now = Union[int, float, None]


class JWKSError(Exception):
    """The signing keys could not be obtained: network error, timeout, HTTP error status,
    response too large, or an unusable discovery or JWKS document.

    Not an ``InvalidToken``: the token may be fine, the server just cannot check it now
    (answer 503, not 401). The underlying error is chained as ``__cause__``.
    """


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: a key set must come from the URL that was configured or
    discovered, not from wherever a response points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _max_age(cache_control: Optional[str]) -> Optional[float]:
    """``max-age`` seconds from a ``Cache-Control`` value; 0 for ``no-store``/``no-cache``;
    ``None`` when it says nothing about freshness."""
    if not cache_control:
        return None
    age: Optional[float] = None
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                age = float(int(value.strip().strip('"')))
            except ValueError:
                continue
    return age


class JWKSClient:
    """Fetches and caches one realm's JWKS; thread-safe.

    ``issuer`` is the realm's issuer identifier (``https://host/realms/NAME``).
    ``jwks_uri`` skips discovery. TTLs and ``refresh_cooldown`` are in seconds; ``clock``
    is the monotonic clock the cache uses (replaceable in tests).
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
        allow_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(issuer, str) or not issuer:
            raise TypeError("issuer must be a non-empty str")
        if not (0 <= min_ttl <= default_ttl <= max_ttl):
            raise ValueError("need 0 <= min_ttl <= default_ttl <= max_ttl")
        if timeout <= 0 or max_bytes <= 0 or refresh_cooldown < 0:
            raise ValueError("timeout and max_bytes must be positive, refresh_cooldown >= 0")
        self._issuer = issuer
        self._allow_http = allow_http
        self._check_url(issuer, "issuer")
        if jwks_uri is not None:
            self._check_url(jwks_uri, "jwks_uri")
        self._jwks_uri = jwks_uri
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._default_ttl = default_ttl
        self._min_ttl = min_ttl
        self._max_ttl = max_ttl
        self._cooldown = refresh_cooldown
        self._clock = clock
        self._opener = urllib.request.build_opener(_NoRedirect())
        self._user_agent = f"xconnauth/{__version__} (+JWKSClient)"
        # State, replaced as a whole under _state_lock; network fetches are serialised
        # by _fetch_lock so that concurrent callers share one request.
        self._state_lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._keys: Optional[KeySet] = None
        self._raw: Optional[bytes] = None
        self._version = 0
        self._expires = float("-inf")
        self._last_attempt = float("-inf")
        self._last_kid_refresh = float("-inf")
        self._last_error: Optional[BaseException] = None
        self._default: Optional[ManagedVerifier] = None
        #: Network requests made (discovery + JWKS), for monitoring.
        self.fetch_count = 0

    # Properties -----------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The configured issuer."""
        return self._issuer

    @property
    def jwks_uri(self) -> Optional[str]:
        """The JWKS URL (configured, or discovered; ``None`` before discovery)."""
        return self._jwks_uri

    @property
    def version(self) -> int:
        """Increases each time a different key set is loaded (0: none yet)."""
        return self._version

    @property
    def last_error(self) -> Optional[BaseException]:
        """The error of the last failed fetch, cleared by a successful one."""
        return self._last_error

    # Keys -----------------------------------------------------------------------------

    def key_set(self) -> KeySet:
        """The current key set, fetched first if there is none or it has expired.

        When a refresh fails the last good key set is returned (and the failure logged);
        ``JWKSError`` is raised only while no key set was ever loaded.
        """
        return self._current()[0]

    def refresh(self, *, force: bool = False) -> bool:
        """Fetches the JWKS now, unless the last request was less than
        ``refresh_cooldown`` seconds ago (``force=True`` ignores the cooldown).
        Waits for a fetch already in progress in another thread instead of starting a
        second one. Returns whether a different key set was loaded. Never raises for
        network errors (see ``last_error``)."""
        return self._fetch(blocking=True, force=force)

    def _current(self) -> Tuple[KeySet, int]:
        """The key set and its version, loading or refreshing it first when needed."""
        with self._state_lock:
            keys, expires = self._keys, self._expires
        if keys is None:
            self._fetch(blocking=True, force=False)
        elif self._clock() >= expires:
            # Stale: one thread refreshes, the others go on with the keys they have.
            self._fetch(blocking=False, force=False)
        with self._state_lock:
            keys, version = self._keys, self._version
        if keys is None:
            raise JWKSError(f"no signing keys for {self._issuer}: {self._last_error}") from self._last_error
        return keys, version

    def _refresh_for_unknown_kid(self) -> bool:
        """The refresh an ``UnknownKid`` asks for: rate-limited on its own clock (see the
        module docstring), waiting for a fetch already in progress."""
        return self._fetch(blocking=True, force=False, unknown_kid=True)

    def _fetch(self, *, blocking: bool, force: bool, unknown_kid: bool = False) -> bool:
        if not self._fetch_lock.acquire(blocking=blocking):
            return False
        try:
            now = self._clock()
            if unknown_kid:
                if now - self._last_kid_refresh < self._cooldown:
                    return False
                self._last_kid_refresh = now
            elif not force and now - self._last_attempt < self._cooldown:
                return False
            self._last_attempt = now
            try:
                raw, ttl = self._download()
                keys = KeySet.from_jwks(raw) if raw != self._raw else None
            except Exception as exc:  # noqa: BLE001 - any failure keeps the last good keys
                self._last_error = exc
                log.warning("xconnauth: JWKS refresh for %s failed: %s", self._issuer, exc)
                return False
            with self._state_lock:
                self._last_error = None
                self._expires = self._clock() + ttl
                if keys is None:
                    return False
                self._keys, self._raw = keys, raw
                self._version += 1
            return True
        finally:
            self._fetch_lock.release()

    def _download(self) -> Tuple[bytes, float]:
        if self._jwks_uri is None:
            url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
            document, _ = self._get(url)
            jwks_uri = parse_discovery(document, self._issuer)
            self._check_url(jwks_uri, "discovered jwks_uri")
            self._jwks_uri = jwks_uri
        body, cache_control = self._get(self._jwks_uri)
        age = _max_age(cache_control)
        ttl = self._default_ttl if age is None else min(max(age, self._min_ttl), self._max_ttl)
        return body, ttl

    def _get(self, url: str) -> Tuple[bytes, Optional[str]]:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": self._user_agent}
        )
        self.fetch_count += 1
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                length = response.headers.get("Content-Length")
                if length is not None and length.isdigit() and int(length) > self._max_bytes:
                    raise JWKSError(f"{url}: response larger than {self._max_bytes} bytes")
                body: bytes = response.read(self._max_bytes + 1)
                if len(body) > self._max_bytes:
                    raise JWKSError(f"{url}: response larger than {self._max_bytes} bytes")
                return body, response.headers.get("Cache-Control")
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the open response; the status says enough
            raise JWKSError(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise JWKSError(f"{url}: {exc}") from exc

    def _check_url(self, url: str, what: str) -> None:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" and host:
            return
        if parts.scheme == "http" and host and (self._allow_http or _is_loopback(host)):
            return
        raise ValueError(
            f"{what} {url!r} must be an https URL (plain http only for loopback hosts or "
            "with allow_http=True)"
        )

    # Verifiers ------------------------------------------------------------------------

    def verifier_for(self, **options: Any) -> ManagedVerifier:
        """A verifier that uses this client's keys and follows their rotation.

        ``options`` are the ``Verifier`` keyword options; ``issuers`` defaults to this
        client's issuer. They are checked now (``TypeError``/``ConfigError``); keys are
        fetched on first use.
        """
        return ManagedVerifier(self, **options)

    def verify(self, token: Token, now: Now = None) -> Claims:
        """``verify`` with a default-policy verifier for this issuer (issuer, ``exp``,
        ``typ: Bearer`` and signature checked; no audience, scope or role checks)."""
        return self._default_verifier().verify(token, now)

    def verify_header(self, value: Token, now: Now = None) -> Claims:
        """``verify_header`` with the default-policy verifier (see ``verify``)."""
        return self._default_verifier().verify_header(value, now)

    def _default_verifier(self) -> ManagedVerifier:
        if self._default is None:
            self._default = ManagedVerifier(self)
        return self._default

    def __repr__(self) -> str:
        return f"JWKSClient({self._issuer!r}, jwks_uri={self._jwks_uri!r}, version={self._version})"


class ManagedVerifier:
    """A ``Verifier`` kept in step with a ``JWKSClient``'s key set.

    Before each verification it picks up a newer key set if the client has one (swapped
    in atomically with ``Verifier.set_keys``). A token rejected as ``UnknownKid`` makes
    the client refresh (subject to its cooldown) and, if that brought new keys, is
    verified once more. Thread-safe.
    """

    def __init__(self, client: JWKSClient, **options: Any) -> None:
        options.setdefault("issuers", client.issuer)
        issuers = options.pop("issuers")
        validate_options(issuers, **options)
        self._client = client
        self._issuers = issuers
        self._options: Dict[str, Any] = options
        self._lock = threading.Lock()
        self._verifier: Optional[Verifier] = None
        self._version = -1

    @property
    def client(self) -> JWKSClient:
        """The client the keys come from."""
        return self._client

    @property
    def verifier(self) -> Verifier:
        """The underlying ``Verifier`` with the current keys (fetching them if needed)."""
        return self._sync()

    @property
    def policy(self) -> Mapping[str, Any]:
        """The policy options (as ``Verifier.policy``)."""
        return self._sync().policy

    def _sync(self) -> Verifier:
        return self._synced()[0]

    def _synced(self) -> Tuple[Verifier, int]:
        """The verifier with the client's current keys, and the key-set version it has."""
        keys, version = self._client._current()
        verifier = self._verifier
        if verifier is not None and version == self._version:
            return verifier, version
        with self._lock:
            if self._verifier is None:
                self._verifier = Verifier(keys, self._issuers, **self._options)
            elif version != self._version:
                try:
                    self._verifier.set_keys(keys)
                except ConfigError as exc:  # no key of the new set is usable with the policy
                    log.warning("xconnauth: new key set not usable, keeping the old one: %s", exc)
            self._version = version
            return self._verifier, version

    def _retry(self, call: Callable[[Verifier], Claims]) -> Claims:
        verifier, seen = self._synced()
        try:
            return call(verifier)
        except UnknownKid:
            # Rate-limited by the client; waits for a fetch another thread started.
            self._client._refresh_for_unknown_kid()
            if self._client.version == seen:
                raise
        return call(self._sync())

    def verify(self, token: Token, now: Now = None) -> Claims:
        """As ``Verifier.verify``, refreshing the keys once on ``UnknownKid``. Raises
        ``JWKSError`` when no key set could ever be fetched."""
        return self._retry(lambda v: v.verify(token, now))

    def verify_header(self, value: Token, now: Now = None) -> Claims:
        """As ``Verifier.verify_header``, refreshing the keys once on ``UnknownKid``."""
        return self._retry(lambda v: v.verify_header(value, now))

    def __repr__(self) -> str:
        return f"ManagedVerifier({self._client!r})"
