"""xconnauth: fast, strict verification of Keycloak-issued OAuth2 bearer tokens.

::

    import xconnauth

    keys = xconnauth.KeySet.from_jwks(jwks_json)
    verifier = xconnauth.Verifier(
        keys,
        issuers="https://sso.example.com/realms/demo",
        audiences="orders-api",
        required_scopes=["orders:read"],
    )
    try:
        claims = verifier.verify_header(request.headers["Authorization"])
    except xconnauth.InvalidToken as exc:
        status = exc.status                      # 401, or 403 for scope/role failures
        headers = {"WWW-Authenticate": xconnauth.www_authenticate(exc, realm="demo")}
        body = xconnauth.problem_json(exc, type_uri=xconnauth.I2_CONNECT_PROBLEM_TYPE)

The RSA work runs in Rust with the GIL released; a ``Verifier`` is immutable (apart from
``set_keys``, an atomic key swap) and safe to share between threads. ``JWKSClient``
fetches and caches a realm's keys; ``WSGIMiddleware`` and ``ASGIMiddleware`` protect
whole applications.
"""

from __future__ import annotations

from ._claims import Claims
from ._errors import ConfigError, InvalidToken, JWKSError, exception_class

# BEGIN generated: imports (tools/gen-errors from core/src/error_table.rs: do not edit, run make generate)
from ._errors import (
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
# END generated: imports
from ._xconnauth import (
    ALGORITHMS,
    BACKENDS,
    DEFAULT_BACKEND,
    ERROR_CODES,
    I2_CONNECT_PROBLEM_TYPE,
    OPTION_NAMES,
    KeySet,
    Verifier,
    __version__,
    problem_json,
    www_authenticate,
)
from ._types import SkippedKey
from ._http import ProblemResponse, problem_details, problem_response, www_authenticate_challenge
from .jwks_client import IssuerStatus, JWKSClient, ManagedVerifier
from .middleware import CLAIMS_KEY, ASGIMiddleware, WSGIMiddleware

__all__ = [
    "__version__",
    # verification
    "KeySet",
    "SkippedKey",
    "Verifier",
    "Claims",
    "ALGORITHMS",
    "OPTION_NAMES",
    "BACKENDS",
    "DEFAULT_BACKEND",
    # errors
    "ConfigError",
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
    "ERROR_CODES",
    "exception_class",
    # HTTP answers
    "I2_CONNECT_PROBLEM_TYPE",
    "www_authenticate",
    "www_authenticate_challenge",
    "problem_details",
    "problem_json",
    "problem_response",
    "ProblemResponse",
    # key fetching
    "JWKSClient",
    "JWKSError",
    "ManagedVerifier",
    "IssuerStatus",
    # web
    "ASGIMiddleware",
    "WSGIMiddleware",
    "CLAIMS_KEY",
]
