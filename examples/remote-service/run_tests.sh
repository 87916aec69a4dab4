#!/usr/bin/env bash
# Builds and tests the remote-service examples end to end, on 127.0.0.1 only:
#   1. libxconnauth (cargo build -p xconnauth-ffi --release)
#   2. the C service, with -Wall -Wextra -Werror, against the .so; and a second build with
#      AddressSanitizer + UBSan against the .a
#   3. the .NET service with Mono's mcs (skipped, with a message, when mcs/mono are absent:
#      apt-get install -y mono-mcs mono-runtime; with CI=true their absence is a failure)
#   4. pytest over examples/remote-service/tests: the local Keycloak-style issuer
#      (examples/issuer) mints tokens and serves discovery/JWKS; both services run as
#      subprocesses; then the C tests again against the sanitizer build
#
# Environment:
#   PYTHON   interpreter for the venv          (default: python3)
#   VENV     virtualenv (created if missing)   (default: /tmp/xconnauth-py-venv, as python/run_tests.sh)
#   CARGO_TARGET_DIR                           (default: target, relative to the repo root)
#   CC                                         (default: gcc)
#   SKIP_SANITIZERS=1  skip the ASan/UBSan pass
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-/tmp/xconnauth-py-venv}"
cc="${CC:-gcc}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
build="$target/remote-service"
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

step "cargo build -p xconnauth-ffi --release (CARGO_TARGET_DIR=$target)"
(cd "$root" && CARGO_TARGET_DIR="$target" cargo build -q -p xconnauth-ffi --release)
so="$target/release/libxconnauth.so"
# Programs linked against the .so ask for its soname (libxconnauth.so.0): give them a
# directory that has it, as an install would.
soname="$( (readelf -d "$so" 2>/dev/null || objdump -p "$so") | sed -n 's/.*\(libxconnauth\.so\.[0-9][0-9]*\).*/\1/p' | head -n 1)"
[ -n "$soname" ] || { echo "error: $so has no libxconnauth.so.N soname" >&2; exit 1; }
rm -rf "$build"
mkdir -p "$build/lib"
cp "$so" "$build/lib/$soname"
ln -sf "$soname" "$build/lib/libxconnauth.so"

step "C service: $cc -Wall -Wextra -Werror"
cflags=(-std=c11 -O2 -Wall -Wextra -Werror -pthread -I"$root/include")
"$cc" "${cflags[@]}" "$here/c/remote_service.c" -L"$build/lib" -lxconnauth -Wl,-rpath,"$build/lib" \
    -o "$build/remote_service"
export REMOTE_SERVICE_C="$build/remote_service"
export XCA_LIB_DIR="$build/lib"
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
    "$cc" "${cflags[@]/-O2/-O1}" -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
        "$here/c/remote_service.c" "$target/release/libxconnauth.a" -lpthread -ldl -lm -lrt -lutil \
        -o "$build/remote_service_asan"
fi

if command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1; then
    step ".NET service: mcs"
    mcs -langversion:6 -warnaserror -nologo -out:"$build/RemoteService.exe" \
        "$root/examples/dotnet/XConnAuth.cs" "$here/dotnet/RemoteService.cs"
    export REMOTE_SERVICE_DOTNET="$build/RemoteService.exe"
elif [ "${CI:-false}" = true ]; then
    echo "error: mcs/mono not installed (CI=true: the .NET service tests may not be skipped;" \
        "scripts/setup.sh installs mono-mcs mono-runtime)" >&2
    exit 1
else
    echo "SKIP: .NET service tests (mcs/mono not installed: apt-get install -y mono-mcs mono-runtime)"
    unset REMOTE_SERVICE_DOTNET
fi

if [ ! -x "$venv/bin/python" ]; then
    step "virtualenv $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c 'import cryptography, pytest' 2>/dev/null; then
    step "pip install cryptography pytest"
    "$py" -m pip install --quiet --disable-pip-version-check cryptography pytest
fi

step "pytest (C + .NET services)"
cd "$here/tests"
"$py" -m pytest -p no:cacheprovider -q "$@"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
    step "pytest (C service under ASan + UBSan)"
    REMOTE_SERVICE_C="$build/remote_service_asan" REMOTE_SERVICE_DOTNET="" \
        ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        "$py" -m pytest -p no:cacheprovider -q -k 'c] or c-file] or c_service' "$@"
fi

step "remote-service: all checks passed"
