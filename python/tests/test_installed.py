"""The package under test is the one users get: the installed wheel, at the project's version.

python/run_tests.sh installs the wheel from dist/ into a fresh venv and sets
XCONNAUTH_REQUIRE_INSTALLED=1; these tests then fail if pytest imported the source tree
(python/pysrc, e.g. after `maturin develop`) instead, or a wheel of another version.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import xconnauth
import xconnauth._xconnauth as extension_module

ROOT = Path(__file__).resolve().parents[2]

required = pytest.mark.skipif(
    os.environ.get("XCONNAUTH_REQUIRE_INSTALLED") != "1",
    reason="only when testing an installed wheel (python/run_tests.sh)",
)


def workspace_version() -> str:
    """[workspace.package] version of the root Cargo.toml."""
    text = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert section, "no [workspace.package] in Cargo.toml"
    version = re.search(r'^version = "([^"]+)"', section.group(1), re.M)
    assert version, "no version in [workspace.package]"
    return version.group(1)


def test_version_is_the_workspace_version() -> None:
    assert xconnauth.__version__ == workspace_version()


@required
def test_imported_from_the_installed_wheel() -> None:
    package = Path(xconnauth.__file__).resolve().parent
    extension = Path(extension_module.__file__ or "").resolve()
    assert ROOT not in package.parents, f"xconnauth imported from the checkout: {package}"
    assert Path(sys.prefix).resolve() in package.parents, f"not in this venv: {package}"
    assert extension.parent == package
    # The wheel ships the type information the stubs promise.
    assert (package / "py.typed").is_file()
    assert (package / "_xconnauth.pyi").is_file()
