#!/usr/bin/env bash
# The cross-surface differential test (tests/differential/run.py): builds what the four
# surfaces need, then feeds the same inputs through Rust, the C library, the Python wheel
# and the CLI batch mode in one run. Exit 1 on any disagreement.
#
#   1. cargo build --release: the CLI, libxconnauth.so, the core's `verdicts` example
#   2. the Python venv of python/run_tests.sh (VENV, default /tmp/xconnauth-py-venv) with
#      the wheel installed; when the venv is missing, or core/, remote/ or python/ changed
#      since the wheel went in, the wheel is built (make dist-python) and installed again
#   3. run.py (extra arguments go to it, e.g. --count 200000 --seed 7)
#
# Environment: PYTHON (default python3), VENV, CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-/tmp/xconnauth-py-venv}"
target="${CARGO_TARGET_DIR:-$root/target}"
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

step "cargo build --release (CLI, C library, Rust verdicts helper)"
cd "$root"
cargo build --release --quiet -p xconnauth-cli -p xconnauth-ffi
cargo build --release --quiet -p xconnauth --example verdicts

py="$venv/bin/python"
stamp="$venv/.xconnauth-examples-installed"
stale=""
if [ -f "$stamp" ]; then
    stale="$(find "$root/core" "$root/remote" "$root/python" "$root/Cargo.toml" "$root/Cargo.lock" \
        \( -name target -o -name __pycache__ -o -name '.*' \) -prune -o -type f -newer "$stamp" -print 2>/dev/null | head -n 1)"
fi
if [ ! -x "$py" ] || [ ! -f "$stamp" ] || [ -n "$stale" ] || ! (cd / && "$py" -c 'import xconnauth') 2>/dev/null; then
    step "the wheel into $venv (make dist-python, as python/run_tests.sh)"
    version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"
    # Edits made during the build must count as newer than the install.
    marker="$(mktemp)"
    trap 'rm -f "$marker"' EXIT
    make -s -C "$root" dist-python PYTHON="$python"
    shopt -s nullglob
    wheels=("$root"/dist/xconnauth-"$version"-*-abi3-*.whl)
    shopt -u nullglob
    [ ${#wheels[@]} -eq 1 ] || { echo "error: expected one abi3 wheel of $version in dist/, found ${#wheels[@]}" >&2; exit 1; }
    if [ ! -x "$py" ]; then
        "$python" -m venv "$venv"
        "$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
    fi
    "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"
    touch -r "$marker" "$stamp"
fi

step "differential run: Rust, C, Python, CLI"
# From a neutral directory, so python/pysrc cannot shadow the installed package.
cd /
"$py" "$here/run.py" \
    --lib "$target/release/libxconnauth.so" \
    --rust "$target/release/examples/verdicts" \
    --cli "$target/release/xconnauth" \
    "$@"
