"""Exceptions: one class per DESIGN §2 category, and ``ConfigError``.

The category classes (an ``InvalidToken`` subclass per token category, a ``JWKSError``
for ``keys_unavailable``) are generated from ``core/src/error_table.rs``, the one
declaration of the vocabulary, by ``tools/gen-errors`` (``make generate``).

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
    "InvalidToken",
    # BEGIN generated: names (tools/gen-errors from core/src/error_table.rs: do not edit, run make generate)
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
    "KeysUnavailable",
    # END generated: names
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


class _Unavailable(JWKSError):
    """The base of the categories where the server cannot judge the token now (HTTP
    5xx): ``KeysUnavailable``.

    A ``JWKSError`` and deliberately not an ``InvalidToken``: ``except InvalidToken``
    (answer 401) must not catch it. It carries ``code``, ``status`` and ``message`` like
    the token errors, so ``problem_json``/``www_authenticate``/``problem_response`` accept
    it too (a 503 problem with a bare ``Bearer`` challenge).
    """

    #: The DESIGN §2 category; every (generated) subclass sets its own.
    code: ClassVar[str]
    #: The HTTP status to answer with.
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


# BEGIN generated: classes (tools/gen-errors from core/src/error_table.rs: do not edit, run make generate)
class Malformed(InvalidToken):
    """Not three dot-separated non-empty segments, whitespace, a JWE, or a missing or
    wrong ``Bearer`` scheme."""

    code = "malformed"
    status = 401


class BadBase64(InvalidToken):
    """A segment is not canonical unpadded base64url."""

    code = "bad_base64"
    status = 401


class BadJson(InvalidToken):
    """The header or payload is not a strict UTF-8 JSON object, or a claim has the wrong
    JSON type."""

    code = "bad_json"
    status = 401


class TooLarge(InvalidToken):
    """The token is longer than the policy's ``max_token_bytes``, or one of its JSON
    objects is beyond the size limits."""

    code = "too_large"
    status = 401


class UnsupportedHeader(InvalidToken):
    """The header carries ``crit``, ``b64`` or ``cty``."""

    code = "unsupported_header"
    status = 401


class UnsupportedAlg(InvalidToken):
    """``alg`` is missing, ``none``, HMAC, or not in the policy's ``algorithms``."""

    code = "unsupported_alg"
    status = 401


class UnknownKid(InvalidToken):
    """No usable signing key matches the token (the signal to refetch the JWKS)."""

    code = "unknown_kid"
    status = 401


class WeakKey(InvalidToken):
    """The selected key is too small, too large, or has a bad exponent."""

    code = "weak_key"
    status = 401


class BadSignature(InvalidToken):
    """The signature does not verify."""

    code = "bad_signature"
    status = 401


class MissingClaim(InvalidToken):
    """A claim the policy requires is absent."""

    code = "missing_claim"
    status = 401


class Expired(InvalidToken):
    """``now >= exp + leeway``."""

    code = "expired"
    status = 401


class NotYetValid(InvalidToken):
    """``now < nbf - leeway``."""

    code = "not_yet_valid"
    status = 401


class IssuedInFuture(InvalidToken):
    """``iat > now + leeway``."""

    code = "issued_in_future"
    status = 401


class WrongIssuer(InvalidToken):
    """``iss`` is not one of the trusted issuers (or the key belongs to another issuer)."""

    code = "wrong_issuer"
    status = 401


class WrongAudience(InvalidToken):
    """No ``aud`` value is an accepted audience."""

    code = "wrong_audience"
    status = 401


class WrongType(InvalidToken):
    """The ``typ`` claim is not the expected token type, or the header ``typ`` is not one of
    the policy's ``header_types``."""

    code = "wrong_type"
    status = 401


class MissingScope(InvalidToken):
    """A required scope is not granted (HTTP 403)."""

    code = "missing_scope"
    status = 403


class MissingRole(InvalidToken):
    """A required realm or client role is not granted (HTTP 403)."""

    code = "missing_role"
    status = 403


class KeysUnavailable(_Unavailable):
    """Not a token error: a verifier that fetches its keys from an issuer has no key
    set yet that could judge this token (the issuer was unreachable since start).
    HTTP 503: the client may retry; the token may well be fine."""

    code = "keys_unavailable"
    status = 503


#: What ``exception_class`` returns: a rejected token, or a token that cannot be judged now.
_AnyCategory = Union[InvalidToken, KeysUnavailable]

_BY_CODE: Dict[str, Type[_AnyCategory]] = {
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
# END generated: classes


def exception_class(code: str) -> Type[_AnyCategory]:
    """The exception class for a category code (``KeyError`` if unknown): an
    ``InvalidToken`` subclass, or ``KeysUnavailable`` for ``keys_unavailable``."""
    return _BY_CODE[code]
