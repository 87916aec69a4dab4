#!/usr/bin/env bash
# Tests the i2 Connect-style connector (examples/connector) on 127.0.0.1: a virtualenv
# with the xconnauth package (pip install ./python, built from this checkout, only when
# the venv lacks it), cryptography and pytest, then pytest over examples/connector/tests.
#
# Environment:
#   PYTHON     interpreter for the venv         (default: python3)
#   VENV       virtualenv (created if missing)  (default: /tmp/xconnauth-py-venv, as python/run_tests.sh)
#   REINSTALL=1  reinstall ./python even if the venv already has xconnauth
# CARGO_TARGET_DIR is left to pip/maturin. Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-/tmp/xconnauth-py-venv}"
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

if [ ! -x "$venv/bin/python" ]; then
    step "virtualenv $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
if [ "${REINSTALL:-0}" = 1 ] || ! "$py" -c 'import xconnauth' 2>/dev/null; then
    step "pip install ./python (builds the Rust extension)"
    (cd "$root" && "$py" -m pip install --quiet --disable-pip-version-check ./python)
fi
if ! "$py" -c 'import cryptography, pytest' 2>/dev/null; then
    step "pip install cryptography pytest"
    "$py" -m pip install --quiet --disable-pip-version-check cryptography pytest
fi

step "pytest examples/connector/tests"
cd "$here/tests"
"$py" -m pytest -p no:cacheprovider -q "$@"

step "connector: all checks passed"
