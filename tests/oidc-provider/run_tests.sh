#!/usr/bin/env bash
# xconnauth against a real third-party OpenID provider, on 127.0.0.1 only:
#   1. npm ci: oidc-provider at the version pinned in package-lock.json (node_modules is
#      not committed)
#   2. the CLI and libxconnauth (cargo build --release; reuses target/release)
#   3. pytest over test_oidc_provider.py in the Python venv that `make test-python` made
#      (the wheel of this checkout installed): provider.mjs is started by the tests;
#      tokens from its token endpoint are verified through Rust (CLI --discover), C
#      (xca_verifier_new_remote through ctypes) and Python (JWKSClient): discovery,
#      JWKS, RFC 9068 policy, a typ JWT header refused, key rotation
#
# Environment:
#   VENV     virtualenv with xconnauth installed (default: /tmp/xconnauth-py-venv, as
#            python/run_tests.sh, which builds and installs the wheel)
#   CARGO_TARGET_DIR                 (default: target, relative to the repo root)
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-/tmp/xconnauth-py-venv}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done

step "npm ci (oidc-provider $(sed -n 's/.*"oidc-provider": "\(.*\)".*/\1/p' "$here/package.json"), node $(node --version))"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

step "cargo build --release -p xconnauth-cli -p xconnauth-ffi (CARGO_TARGET_DIR=$target)"
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build -q --release -p xconnauth-cli -p xconnauth-ffi)
export XCONNAUTH_CLI="$target/release/xconnauth"
export XCA_LIB="$target/release/libxconnauth.so"

py="$venv/bin/python"
if ! "$py" -c 'import sys, xconnauth, pytest; sys.exit("header_types" not in xconnauth.OPTION_NAMES)' 2>/dev/null; then
    echo "error: $venv has no xconnauth of this checkout (with header_types) and pytest;" \
        "run python/run_tests.sh (make test-python) with the same VENV first" >&2
    exit 1
fi

step "pytest tests/oidc-provider"
cd "$here"
"$py" -m pytest -p no:cacheprovider -q "$@" test_oidc_provider.py

step "oidc-provider: all checks passed"
