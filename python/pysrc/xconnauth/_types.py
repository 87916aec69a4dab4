"""Typed shapes of plain values the compiled module returns (for type checkers and readers)."""

from typing import Optional, TypedDict


class SkippedKey(TypedDict):
    """A JWKS entry left out of a ``KeySet``, and why (``KeySet.skipped``)."""

    index: int
    kid: Optional[str]
    reason: str
