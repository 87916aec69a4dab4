#!/usr/bin/env bash
# Installs what `make test` needs and the machine lacks. Idempotent: when everything is
# present it only checks (a few seconds). `make test` runs it first.
#
# Assumes what the README assumes: rustup with a stable toolchain, gcc, make, python3
# (3.9+) with pip and venv. Installs:
#   - rustup components rustfmt and clippy, the thumbv7em-none-eabihf target (no_std build
#     and the Cortex-M firmware), the nightly toolchain (cargo-fuzz needs -Zsanitizer) and
#     the MSRV toolchain (rust-version in Cargo.toml, built by `make test-msrv`)
#   - cargo-fuzz (cargo install --locked) into the nightly-capable cargo bin directory
#   - when root on a Debian-like system, apt packages: valgrind, pkg-config (C tests and
#     the pkg-config example), mono-mcs + mono-runtime (.NET examples), binutils (readelf),
#     nginx + libnginx-mod-http-lua + lua-resty-core + lua-cjson (integrations/nginx)
#   - qemu-system-arm for the Cortex-M firmware, unpacked into a private prefix by
#     examples/cortex-m/run.sh (a system-wide install can be refused by the newer
#     qemu-utils already on such machines)
# Python packages are not installed here: every Python step makes its own venv.
#
# With CI=true, anything that cannot be installed is an error; otherwise it is a warning
# and the step that needs it fails later with its own message.
#
# Environment:
#   SETUP_SKIP_FUZZ=1   do not install nightly/cargo-fuzz (for machines that never fuzz)
#   SETUP_SKIP_QEMU=1   do not unpack QEMU
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$SECONDS
ci="${CI:-false}"
problems=()

log() { printf 'setup: %s\n' "$*" >&2; }
problem() {
    problems+=("$*")
    log "cannot install: $*"
}

# The MSRV is the workspace's rust-version (one place to change it).
msrv="$(sed -n 's/^rust-version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)"

command -v rustup >/dev/null || { log "rustup is required (https://rustup.rs)"; exit 1; }
command -v cargo >/dev/null || { log "cargo is required"; exit 1; }

have_component() { # have_component TOOLCHAIN COMPONENT
    rustup component list --installed --toolchain "$1" 2>/dev/null | grep -q "^$2"
}
have_target() { # have_target TOOLCHAIN TARGET
    rustup target list --installed --toolchain "$1" 2>/dev/null | grep -qx "$2"
}
have_toolchain() { # have_toolchain NAME: rustup knows it and its cargo runs
    cargo "+$1" --version >/dev/null 2>&1
}

# --- Rust toolchains, components and targets ---------------------------------------
for c in rustfmt clippy; do
    if ! have_component stable "$c"; then
        log "rustup component add $c"
        rustup component add --toolchain stable "$c" || problem "rustup component $c"
    fi
done
if ! have_target stable thumbv7em-none-eabihf; then
    log "rustup target add thumbv7em-none-eabihf"
    rustup target add --toolchain stable thumbv7em-none-eabihf || problem "rustup target thumbv7em-none-eabihf"
fi
if [ -n "$msrv" ] && ! have_toolchain "$msrv"; then
    log "rustup toolchain install $msrv (the MSRV)"
    rustup toolchain install "$msrv" --profile minimal || problem "rust $msrv toolchain (MSRV)"
fi

if [ "${SETUP_SKIP_FUZZ:-0}" != 1 ]; then
    if ! have_toolchain nightly; then
        log "rustup toolchain install nightly"
        rustup toolchain install nightly --profile minimal || problem "nightly toolchain"
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        log "cargo install cargo-fuzz --locked (a few minutes)"
        # Its own target dir: the workspace's target/ is not for tools.
        CARGO_TARGET_DIR="${TMPDIR:-/tmp}/xconnauth-cargo-fuzz-build" \
            cargo install cargo-fuzz --locked --quiet || problem "cargo-fuzz"
        rm -rf "${TMPDIR:-/tmp}/xconnauth-cargo-fuzz-build"
    fi
fi

# --- apt packages --------------------------------------------------------------------
# command -> package that provides it
need_apt=()
want() { command -v "$1" >/dev/null 2>&1 || need_apt+=("$2"); }
want valgrind valgrind
want pkg-config pkg-config
want mcs mono-mcs
want mono mono-runtime
want readelf binutils
want g++ g++
# tests/oidc-provider: node and npm run the third-party OpenID provider.
want node nodejs
want npm npm
# integrations/nginx: nginx with the lua module, resty.core and cjson (libraries: asked of dpkg).
want nginx nginx
if command -v dpkg-query >/dev/null; then
    for p in libnginx-mod-http-lua lua-resty-core lua-cjson; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$p")
    done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "apt-get install ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || true
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null ||
            problem "apt packages ${need_apt[*]}"
    else
        problem "apt packages ${need_apt[*]} (run this script as root, or install them)"
    fi
fi
# mono-runtime alone lacks the assemblies mcs compiles against on some releases; a
# one-line compile proves the pair works.
if command -v mcs >/dev/null && command -v mono >/dev/null; then
    probe="$(mktemp -d)"
    printf 'class P { static int Main() { return 0; } }\n' >"$probe/p.cs"
    if ! { mcs -nologo -out:"$probe/p.exe" "$probe/p.cs" >/dev/null 2>&1 && mono "$probe/p.exe"; }; then
        problem "a working Mono (mcs compiled or mono ran nothing)"
    fi
    rm -rf "$probe"
fi

# --- QEMU for the Cortex-M firmware ----------------------------------------------------
if [ "${SETUP_SKIP_QEMU:-0}" != 1 ]; then
    XCONNAUTH_QEMU_ONLY=1 bash examples/cortex-m/run.sh >/dev/null || problem "qemu-system-arm"
fi

# --- Python: venv and pip must work (every Python step makes its own venv) -------------
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq --no-install-recommends python3-venv >/dev/null || problem "python3-venv"
    else
        problem "python3 venv/ensurepip"
    fi
fi

if [ ${#problems[@]} -gt 0 ]; then
    log "missing: ${problems[*]}"
    if [ "$ci" = true ]; then
        log "CI=true: a missing tool is a failure"
        exit 1
    fi
    log "continuing; the steps that need them will fail"
    exit 0
fi
log "all tools present ($((SECONDS - start)) s)"
