# Sourced by run_tests.sh and see_it_work.sh: make "$py" a venv interpreter that has the
# xconnauth package (built from ./python) and requirements.txt installed.
#
# Environment:
#   PYTHON  interpreter to create the venv with   (default: python3)
#   VENV    virtualenv directory                  (default: /tmp/xconnauth-py-venv, as python/run_tests.sh)
#   REINSTALL=1  rebuild and reinstall ./python even if the installed copy looks current
# The package is (re)installed when it is missing, or when a file under core/, remote/ or python/
# is newer than the last install, so an edited verifier is never tested stale.

e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$e2e_dir/../.." && pwd)"
venv="${VENV:-/tmp/xconnauth-py-venv}"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "==> creating virtualenv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi

stamp="$venv/.xconnauth-examples-installed"
if ! "$py" -c 'import cryptography, uvicorn, pytest, mypy' 2>/dev/null; then
    echo "==> pip install -r examples/e2e/requirements.txt" >&2
    "$py" -m pip install --quiet --disable-pip-version-check -r "$e2e_dir/requirements.txt"
fi
stale=""
if [ -f "$stamp" ]; then
    stale="$(find "$repo_root/core" "$repo_root/remote" "$repo_root/python" "$repo_root/Cargo.toml" "$repo_root/Cargo.lock" \
        \( -name target -o -name __pycache__ -o -name '.*' \) -prune -o -type f -newer "$stamp" -print 2>/dev/null | head -n 1)"
fi
if [ "${REINSTALL:-0}" = 1 ] || [ ! -f "$stamp" ] || [ -n "$stale" ] || ! "$py" -c 'import xconnauth' 2>/dev/null; then
    echo "==> pip install ./python (builds the Rust extension; first time takes a few minutes)" >&2
    # The stamp is touched before the build so that edits made during it count as newer.
    touch "$stamp.new"
    (cd "$repo_root" && "$py" -m pip install --quiet --disable-pip-version-check ./python)
    mv "$stamp.new" "$stamp"
fi
