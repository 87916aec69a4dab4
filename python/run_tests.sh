#!/usr/bin/env bash
# Test the Python package the way a user gets it:
#   1. build the abi3 wheel and the sdist into dist/ (`make dist-python`: maturin, release)
#   2. a fresh virtualenv (outside the checkout), the wheel from dist/ installed into it
#      with pytest and mypy from PyPI; the import must resolve to the venv, not python/pysrc
#   3. pytest over python/tests (the whole corpus included) against that installed copy
#      (XCONNAUTH_REQUIRE_INSTALLED=1 makes tests/test_installed.py check where it came from)
#   4. mypy --strict on the typed and FastAPI examples and on the installed package (with
#      xconnauth.fastapi), mypy's stubtest on
#      the compiled module's stubs
#   5. cargo fmt + clippy on the Rust half
#
# Environment:
#   PYTHON  interpreter to create the venv with   (default: python3)
#   VENV    virtualenv directory                  (default: /tmp/xconnauth-py-venv); it is
#           deleted and made again unless FRESH=0. The example flows (make test-flows,
#           test-e2e) then reuse it, with the same installed wheel.
#   SKIP_LINT=1 skip cargo fmt/clippy of the python crate
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
FASTAPI_VERSION=0.163.2
HTTPX2_VERSION=2.16.2
venv="${VENV:-/tmp/xconnauth-py-venv}"
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

if [ ! -d "$root/tests/vectors/dev" ]; then
    echo "error: the test corpus tests/vectors/dev is missing from the checkout" >&2
    exit 1
fi
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"

step "make dist-python (wheel + sdist into dist/)"
make -s -C "$root" dist-python PYTHON="$python"
shopt -s nullglob
wheels=("$root"/dist/xconnauth-"$version"-*-abi3-*.whl)
sdists=("$root"/dist/xconnauth-"$version".tar.gz)
shopt -u nullglob
[ ${#wheels[@]} -eq 1 ] || { echo "error: expected one abi3 wheel of $version in dist/, found ${#wheels[@]}" >&2; exit 1; }
[ ${#sdists[@]} -eq 1 ] || { echo "error: no sdist xconnauth-$version.tar.gz in dist/" >&2; exit 1; }
wheel="${wheels[0]}"
# The sdist must build on its own: it carries the core crate it depends on.
listing="$(tar -tzf "${sdists[0]}")"
for f in pyproject.toml python/Cargo.toml core/src/lib.rs pysrc/xconnauth/py.typed; do
    grep -qx "xconnauth-$version/$f" <<<"$listing" ||
        { echo "error: the sdist lacks $f" >&2; echo "$listing" >&2; exit 1; }
done
# Both licence texts travel with the wheel.
"$python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for want in ("LICENSE-MIT", "LICENSE-APACHE", "xconnauth/py.typed"):
    if not any(n.endswith(want) for n in names):
        sys.exit(f"error: the wheel lacks {want}: {names}")
PY
echo "$(basename "$wheel"), $(basename "${sdists[0]}")"

if [ "${FRESH:-1}" != 0 ]; then
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    step "virtualenv $venv ($("$python" --version))"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
py="$venv/bin/python"

step "pip install $(basename "$wheel") pytest mypy, FastAPI for xconnauth.fastapi"
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
# Pinned, so a FastAPI/Starlette release cannot turn the suite red by itself. Starlette's
# TestClient wants httpx2 (with plain httpx it warns, and warnings are errors here).
"$py" -m pip install --quiet --disable-pip-version-check pytest mypy \
    "fastapi==$FASTAPI_VERSION" "httpx2==$HTTPX2_VERSION"
# From a neutral directory, so nothing of the checkout can shadow the installed package.
(cd / && "$py" - "$venv" "$version" <<'PY'
import sys
from pathlib import Path
import xconnauth
venv, version = Path(sys.argv[1]).resolve(), sys.argv[2]
where = Path(xconnauth.__file__).resolve()
print("xconnauth", xconnauth.__version__, "from", where)
if venv not in where.parents:
    sys.exit(f"error: xconnauth was imported from {where}, not from the venv {venv}")
if xconnauth.__version__ != version:
    sys.exit(f"error: the wheel is version {xconnauth.__version__}, the workspace {version}")
PY
)
# The example flows' venv helper (examples/e2e/setup_venv.sh) reinstalls from source when
# this stamp is missing or older than core/ and python/: the wheel just installed is current.
touch "$venv/.xconnauth-examples-installed"

step "pytest (against the installed wheel)"
cd "$here"
XCONNAUTH_REQUIRE_INSTALLED=1 "$py" -m pytest -p no:cacheprovider "$@"

step "mypy --strict (typed example, package) and stubtest"
cd /tmp  # so mypy resolves xconnauth from the venv, not from the source tree
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" "$here/examples/typed_example.py"
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" "$here/examples/fastapi_app.py"
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" -p xconnauth
"$py" -m mypy.stubtest --ignore-missing-stub xconnauth

if [ "${SKIP_LINT:-0}" != 1 ]; then
    step "cargo fmt --check, cargo clippy -D warnings (python crate)"
    export PYO3_PYTHON="$py"
    cargo fmt --manifest-path "$here/Cargo.toml" -- --check
    cargo clippy --quiet --manifest-path "$here/Cargo.toml" --all-targets -- -D warnings
fi

step "python package: all checks passed"
