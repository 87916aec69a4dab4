#!/usr/bin/env bash
# Tests integrations/nginx/xconnauth.lua in a real nginx, on 127.0.0.1 only:
#   1. libxconnauth (cargo build -p xconnauth-ffi --release; reuses target/release)
#   2. pytest over integrations/nginx/tests: the local Keycloak-style issuer
#      (examples/issuer), an echo upstream, and nginx (master + 2 workers, daemon off,
#      its own prefix in a temp dir) whose nginx.conf is generated from
#      integrations/nginx/xconnauth.conf, the snippet docs/integrations/nginx.md shows
#
# Needs nginx with the lua module and resty.core: Debian/Ubuntu
#   apt-get install -y nginx libnginx-mod-http-lua lua-resty-core lua-cjson
# (scripts/setup.sh installs them), or OpenResty (NGINX=/usr/local/openresty/bin/openresty).
#
# Environment:
#   PYTHON   interpreter for the venv          (default: python3)
#   VENV     virtualenv (created if missing)   (default: /tmp/xconnauth-py-venv, as the other suites)
#   CARGO_TARGET_DIR                           (default: target, relative to the repo root)
#   NGINX    nginx binary; NGINX_MODULES  directory of ngx_http_lua_module.so
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-/tmp/xconnauth-py-venv}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

nginx="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
if [ ! -x "$nginx" ]; then
    echo "error: nginx not found (apt-get install -y nginx libnginx-mod-http-lua lua-resty-core lua-cjson," \
        "or run scripts/setup.sh as root)" >&2
    exit 1
fi
export NGINX="$nginx"

step "cargo build -p xconnauth-ffi --release (CARGO_TARGET_DIR=$target)"
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build -q -p xconnauth-ffi --release)
export XCA_LIB="$target/release/libxconnauth.so"

if [ ! -x "$venv/bin/python" ]; then
    step "virtualenv $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c 'import cryptography, pytest' 2>/dev/null; then
    step "pip install cryptography pytest"
    "$py" -m pip install --quiet --disable-pip-version-check cryptography pytest
fi

step "pytest ($("$nginx" -v 2>&1))"
cd "$here/tests"
"$py" -m pytest -p no:cacheprovider -q "$@"

step "nginx: all checks passed"
