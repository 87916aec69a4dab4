"""Shared paths and fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for the _mint helper module

from _mint import KEY_A, KEY_B, REPO, RsaKey, load_key  # noqa: E402

#: The dev corpus, in the repository: python/tests -> ../../tests/vectors/dev.
VECTORS = (HERE / ".." / ".." / "tests" / "vectors" / "dev").resolve()
EXAMPLES = REPO / "examples" / "keycloak"
BENCH = REPO / "benches" / "data"

DEMO_ISSUER = "https://sso.example.com/realms/demo"
DEMO_NOW = 1_764_000_000


@pytest.fixture(scope="session")
def key_a() -> RsaKey:
    return load_key(KEY_A)


@pytest.fixture(scope="session")
def key_b() -> RsaKey:
    return load_key(KEY_B)
