#!/usr/bin/env bash
# End-to-end tests of the examples (issuer, proxy, upstream) over 127.0.0.1:
#   sets up the venv like see_it_work.sh (see setup_venv.sh: VENV, PYTHON, REINSTALL),
#   then runs pytest on examples/e2e/tests (extra arguments go to pytest) and mypy --strict
#   on the examples' Python (SKIP_MYPY=1 skips it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
start=$SECONDS
# shellcheck source=setup_venv.sh
. "$here/setup_venv.sh"
echo "==> pytest examples/e2e/tests ($((SECONDS - start))s)" >&2
cd "$here"
"$py" -m pytest "$@"
if [ "${SKIP_MYPY:-0}" != 1 ]; then
    echo "==> mypy --strict on the examples ($((SECONDS - start))s)" >&2
    cd "$here/.."
    "$py" -m mypy --strict --cache-dir "$venv/.mypy_cache_examples" --ignore-missing-imports \
        issuer/issuer.py proxy/proxy.py proxy/upstream.py e2e/load.py e2e/show_request.py e2e/tests/*.py
fi
echo "==> e2e: all passed ($((SECONDS - start))s)" >&2
