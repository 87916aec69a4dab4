"""HTTP answers for rejected tokens (RFC 6750 ``WWW-Authenticate`` + RFC 7807 problem).

The texts come from the core (``xconnauth::http``) through the compiled module; this
module adds the ``dict`` form and a ready-made response triple for web frameworks.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from ._errors import InvalidToken, KeysUnavailable
from ._xconnauth import problem_json, www_authenticate

__all__ = [
    "ProblemResponse",
    "problem_details",
    "problem_json",
    "problem_response",
    "www_authenticate",
    "www_authenticate_challenge",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_details(
    exc: Union[InvalidToken, KeysUnavailable], type_uri: Optional[str] = None, instance: Optional[str] = None
) -> Dict[str, Any]:
    """The RFC 7807 ProblemDetails object for ``exc`` as a ``dict``: ``type``, ``title``,
    ``status``, ``detail``, optional ``instance``, and ``error`` (the category code).

    ``type_uri`` defaults to ``about:blank``; pass e.g. ``I2_CONNECT_PROBLEM_TYPE``.
    """
    details: Dict[str, Any] = json.loads(problem_json(exc, type_uri, instance))
    return details


def www_authenticate_challenge(realm: Optional[str] = None) -> str:
    """The ``WWW-Authenticate`` value for a request that carried no credentials at all:
    ``Bearer`` or ``Bearer realm="…"`` without an error code (RFC 6750 §3.1)."""
    if realm is None:
        return "Bearer"
    quoted = "".join(
        "?" if (ord(c) < 0x20 or ord(c) == 0x7F) else ("\\" + c if c in '"\\' else c)
        for c in realm
    )
    return f'Bearer realm="{quoted}"'


class ProblemResponse(NamedTuple):
    """A complete HTTP answer: status, headers (``str`` pairs) and JSON body."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes


_REASONS = {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}


def reason_phrase(status: int) -> str:
    """The reason phrase for the statuses these helpers produce."""
    return _REASONS.get(status, "Error")


def problem_response(
    exc: Union[InvalidToken, KeysUnavailable],
    *,
    realm: Optional[str] = None,
    type_uri: Optional[str] = None,
    instance: Optional[str] = None,
    challenge_only: bool = False,
) -> ProblemResponse:
    """The 401/403 answer for ``exc`` (503 for ``KeysUnavailable``, with
    ``Retry-After``): ``application/problem+json`` body, ``WWW-Authenticate`` and
    ``Cache-Control: no-store``.

    ``challenge_only`` sends the bare ``Bearer realm=…`` challenge (no error code), as
    RFC 6750 §3.1 asks when the request had no credentials.
    """
    body = problem_json(exc, type_uri, instance).encode("utf-8")
    challenge = www_authenticate_challenge(realm) if challenge_only else www_authenticate(exc, realm)
    headers = [
        ("Content-Type", PROBLEM_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("WWW-Authenticate", challenge),
        ("Cache-Control", "no-store"),
    ]
    if exc.status == 503:
        headers.append(("Retry-After", "5"))
    return ProblemResponse(exc.status, headers, body)


def unavailable_response(detail: str, *, type_uri: Optional[str] = None) -> ProblemResponse:
    """A 503 problem answer, for when the signing keys cannot be obtained."""
    body = json.dumps(
        {
            "type": type_uri or "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": detail,
        }
    ).encode("utf-8")
    headers = [
        ("Content-Type", PROBLEM_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("Retry-After", "5"),
    ]
    return ProblemResponse(503, headers, body)
