#!/usr/bin/env bash
# Build and test the Python package the way a user installs it:
#   a virtualenv (outside the checkout), `pip install ./python pytest mypy` from the
#   repository root (maturin comes from PyPI as the build backend), then pytest over
#   python/tests (the whole shared corpus included), mypy --strict on the typed example
#   and on the package, mypy's stubtest on the compiled module's stubs, and cargo fmt +
#   clippy on the Rust half.
#
# Environment:
#   PYTHON  interpreter to create the venv with   (default: python3)
#   VENV    virtualenv directory                  (default: /tmp/xconnauth-py-venv)
#   FRESH=1 delete the venv first (a cold run)
#   SKIP_LINT=1 skip cargo fmt/clippy of the python crate
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-/tmp/xconnauth-py-venv}"
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

if [ ! -d "$root/tests/vectors/dev" ]; then
    echo "error: the test corpus tests/vectors/dev is missing from the checkout" >&2
    exit 1
fi

if [ "${FRESH:-0}" = 1 ]; then
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    step "virtualenv $venv ($("$python" --version))"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
py="$venv/bin/python"

step "pip install ./python pytest mypy"
cd "$root"
# pip builds a local directory afresh each time (maturin, release profile, incremental
# in python/target) and replaces the installed copy.
"$py" -m pip install --quiet --disable-pip-version-check ./python pytest mypy
"$py" -c 'import xconnauth, sys; print("xconnauth", xconnauth.__version__, "from", xconnauth.__file__)' \
    || { echo "error: the package did not install" >&2; exit 1; }

step "pytest"
cd "$here"
"$py" -m pytest -p no:cacheprovider "$@"

step "mypy --strict (typed example, package) and stubtest"
cd /tmp  # so mypy resolves xconnauth from the venv, not from the source tree
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" "$here/examples/typed_example.py"
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" -p xconnauth
"$py" -m mypy.stubtest --ignore-missing-stub xconnauth

if [ "${SKIP_LINT:-0}" != 1 ]; then
    step "cargo fmt --check, cargo clippy -D warnings (python crate)"
    export PYO3_PYTHON="$py"
    cargo fmt --manifest-path "$here/Cargo.toml" -- --check
    cargo clippy --quiet --manifest-path "$here/Cargo.toml" --all-targets -- -D warnings
fi

step "python package: all checks passed"
