#!/usr/bin/env bash
# See it work: issuer + upstream + proxy on 127.0.0.1, a client-credentials token, one
# call that passes (200), one with the wrong scope (403), one with an expired token and
# one with none (401), then everything is stopped. Run from anywhere:
#
#   examples/e2e/see_it_work.sh
#
# First run: creates the venv ${VENV:-/tmp/xconnauth-py-venv} and pip-installs ./python
# (builds the Rust extension: needs cargo) plus cryptography, uvicorn and pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=setup_venv.sh
. "$here/setup_venv.sh"
examples="$(cd "$here/.." && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/xconnauth-demo.XXXXXX")"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "see_it_work: FAILED (exit $status)" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # name, then the command; sets $url once it listens
    local name="$1"; shift
    # Not inside $(...): the substitution would wait for the server's stdout to close.
    "$py" "$@" --port 0 --url-file "$work/$name.url" >/dev/null 2>"$work/$name.log" &
    pids+=("$!")
    for _ in $(seq 1 300); do
        if [ -s "$work/$name.url" ]; then
            url="$(cat "$work/$name.url")"
            return 0
        fi
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "see_it_work: $name did not start:" >&2
    cat "$work/$name.log" >&2
    return 1
}
show() { "$py" "$here/show_request.py" "$@"; }
if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain" >&2; }

step "Starting the issuer, the upstream and the proxy on 127.0.0.1"
start issuer "$examples/issuer/issuer.py" --config "$examples/issuer/realm.json"
issuer_base="$url"
issuer="$issuer_base/realms/demo"
# The upstream's own key: only the proxy and the upstream know it.
UPSTREAM_API_KEY="$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')"
export UPSTREAM_API_KEY
start upstream "$examples/proxy/upstream.py"
upstream="$url"
start proxy "$examples/proxy/proxy.py" --config "$examples/proxy/proxy.json" --issuer "$issuer" --upstream "$upstream"
proxy="$url"
echo "issuer   $issuer" >&2
echo "upstream $upstream   (wants x-functions-key, refuses any Authorization header)" >&2
echo "proxy    $proxy   (requires aud orders-api, scope orders:read, client role orders-api/reader)" >&2

token_url="$issuer/protocol/openid-connect/token"
step "1. A token with client credentials (client orders-reporter, scope orders:read)"
token="$(show -u orders-reporter:dev-secret-orders-reporter -d grant_type=client_credentials \
    -d scope=orders:read --field access_token --expect 200 "$token_url")"

step "2. Through the proxy with that token: 200 from the upstream (it got the key, not the token)"
show --bearer "$token" --expect 200 "$proxy/orders/42?expand=items"

step "3. A token without scope orders:read: 403 insufficient_scope"
narrow="$(show -u orders-reporter:dev-secret-orders-reporter -d grant_type=client_credentials \
    -d scope=orders:write --field access_token --expect 200 "$token_url" 2>/dev/null)"
echo "(token requested with scope=orders:write)" >&2
show --bearer "$narrow" --expect 403 "$proxy/orders/42"

step "4. An expired token: 401 (the issuer's clock set an hour back while it issues one)"
show --json '{"advance": -3600}' --expect 200 "$issuer_base/admin/time" 2>/dev/null
old="$(show -u orders-reporter:dev-secret-orders-reporter -d grant_type=client_credentials \
    -d scope=orders:read --field access_token --expect 200 "$token_url" 2>/dev/null)"
show --json '{"reset": true}' --expect 200 "$issuer_base/admin/time" 2>/dev/null
echo "(token issued at issuer time now-3600, lifespan 300 s)" >&2
show --bearer "$old" --expect 401 "$proxy/orders/42"

step "5. No token at all: 401 with a bare Bearer challenge"
show --expect 401 "$proxy/orders/42"

step "Done: 200, 403, 401, 401 as expected; stopping everything"
