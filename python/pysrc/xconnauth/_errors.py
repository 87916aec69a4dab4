"""Exceptions: one ``InvalidToken`` subclass per DESIGN §2 category, and ``ConfigError``.

The compiled module raises these classes (it looks them up here by name), so they are
ordinary Python exceptions: they pickle, and applications may raise them too (for
example ``MissingRole("the admin role is required")`` from a view), and the HTTP helpers
answer for them like for the verifier's own.
"""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Type, Union

__all__ = [
    "ConfigError",
    "JWKSError",
    "KeysUnavailable",
    "InvalidToken",
    "Malformed",
    "BadBase64",
    "BadJson",
    "TooLarge",
    "UnsupportedHeader",
    "UnsupportedAlg",
    "UnknownKid",
    "WeakKey",
    "BadSignature",
    "MissingClaim",
    "Expired",
    "NotYetValid",
    "IssuedInFuture",
    "WrongIssuer",
    "WrongAudience",
    "WrongType",
    "MissingScope",
    "MissingRole",
    "exception_class",
]


class ConfigError(ValueError):
    """The verifier's configuration (key set, policy, discovery document) is unusable.

    This is the caller's mistake, not the token's: it is raised when building a
    ``KeySet`` or ``Verifier``, never by ``verify``.
    """


class JWKSError(Exception):
    """The signing keys could not be obtained: network error, deadline, HTTP error
    status, redirect, response too large, or an unusable discovery or JWKS document.

    Not an ``InvalidToken``: the token may be fine, the server just cannot check it now
    (answer 503, not 401). Raised by ``JWKSClient.refresh``/``key_set`` and (as its
    subclass ``KeysUnavailable``) by verification while no keys were ever fetched.
    """


class KeysUnavailable(JWKSError):
    """A verifier that fetches its keys has none yet (the issuer has been down or
    unusable since start): the token cannot be judged now (DESIGN §2 ``keys_unavailable``,
    HTTP 503, never 401).

    A ``JWKSError`` and deliberately not an ``InvalidToken``: ``except InvalidToken``
    (answer 401) must not catch it. It carries ``code``, ``status`` and ``message`` like
    the token errors, so ``problem_json``/``www_authenticate``/``problem_response`` accept
    it too (a 503 problem with a bare ``Bearer`` challenge).
    """

    code: ClassVar[str] = "keys_unavailable"
    status: ClassVar[int] = 503

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        #: The human explanation, without the category prefix.
        self.message: str = message
        self._error: Optional[object] = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message,))


class InvalidToken(Exception):
    """A token was rejected.

    ``code`` is the stable category string (``"expired"``, ``"wrong_audience"``, ...),
    ``status`` the HTTP status to answer with (401, or 403 for scope and role failures),
    and ``message`` a human explanation that never contains token content.
    Catch this class to handle every rejection; each category has its own subclass.
    """

    #: The DESIGN §2 category; every subclass sets its own.
    code: ClassVar[str] = "invalid_token"
    #: The HTTP status to answer with.
    status: ClassVar[int] = 401

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        #: The human explanation, without the category prefix.
        self.message: str = message
        # Set by the compiled module on the exceptions it raises: the core error, so the
        # HTTP helpers can answer exactly as core would.
        self._error: Optional[object] = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message,))


class Malformed(InvalidToken):
    """Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
    wrong ``Bearer`` scheme."""

    code = "malformed"


class BadBase64(InvalidToken):
    """A segment is not canonical unpadded base64url."""

    code = "bad_base64"


class BadJson(InvalidToken):
    """The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
    JSON type."""

    code = "bad_json"


class TooLarge(InvalidToken):
    """The token is longer than ``max_token_bytes``."""

    code = "too_large"


class UnsupportedHeader(InvalidToken):
    """The header carries ``crit``, ``b64`` or ``cty``."""

    code = "unsupported_header"


class UnsupportedAlg(InvalidToken):
    """``alg`` is missing, ``none``, HMAC, or not in the allowed algorithms."""

    code = "unsupported_alg"


class UnknownKid(InvalidToken):
    """No usable signing key matches the token (the signal to refetch the JWKS)."""

    code = "unknown_kid"


class WeakKey(InvalidToken):
    """The selected key is too small, too large, or has a bad exponent."""

    code = "weak_key"


class BadSignature(InvalidToken):
    """The signature does not verify."""

    code = "bad_signature"


class MissingClaim(InvalidToken):
    """A claim the policy requires is absent."""

    code = "missing_claim"


class Expired(InvalidToken):
    """``now >= exp + leeway``."""

    code = "expired"


class NotYetValid(InvalidToken):
    """``now < nbf - leeway``."""

    code = "not_yet_valid"


class IssuedInFuture(InvalidToken):
    """``iat > now + leeway``."""

    code = "issued_in_future"


class WrongIssuer(InvalidToken):
    """``iss`` is not one of the trusted issuers."""

    code = "wrong_issuer"


class WrongAudience(InvalidToken):
    """No ``aud`` value is an accepted audience."""

    code = "wrong_audience"


class WrongType(InvalidToken):
    """The ``typ`` claim is not the expected token type."""

    code = "wrong_type"


class MissingScope(InvalidToken):
    """A required scope is not granted (HTTP 403)."""

    code = "missing_scope"
    status = 403


class MissingRole(InvalidToken):
    """A required realm or client role is not granted (HTTP 403)."""

    code = "missing_role"
    status = 403


_BY_CODE: Dict[str, Type[Union[InvalidToken, KeysUnavailable]]] = {
    cls.code: cls
    for cls in (
        Malformed,
        BadBase64,
        BadJson,
        TooLarge,
        UnsupportedHeader,
        UnsupportedAlg,
        UnknownKid,
        WeakKey,
        BadSignature,
        MissingClaim,
        Expired,
        NotYetValid,
        IssuedInFuture,
        WrongIssuer,
        WrongAudience,
        WrongType,
        MissingScope,
        MissingRole,
        KeysUnavailable,
    )
}


def exception_class(code: str) -> Type[Union[InvalidToken, KeysUnavailable]]:
    """The exception class for a category code (``KeyError`` if unknown): an
    ``InvalidToken`` subclass, or ``KeysUnavailable`` for ``keys_unavailable``."""
    return _BY_CODE[code]
