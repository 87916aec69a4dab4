#!/usr/bin/env bash
# Builds the Cortex-M4F firmware and runs it under QEMU (mps2-an386, semihosting):
# verdicts on the Keycloak samples and hostile inputs, plus flash, RAM, heap, stack and
# instruction counts. Exits non-zero on any wrong verdict, a failed build, or a QEMU
# failure or timeout.
#
# qemu-system-arm is used from PATH when present; otherwise Debian's packages are
# unpacked (not installed) into a private prefix, because a system-wide install can be
# refused by a newer qemu-utils already on the machine.
#
# Environment:
#   XCONNAUTH_QEMU_PREFIX  where QEMU is unpacked
#                          (default: ${XDG_CACHE_HOME:-$HOME/.cache}/xconnauth-qemu)
#   QEMU_TIMEOUT           seconds per QEMU run (default 120)
#   XCONNAUTH_QEMU_ONLY=1  only find or unpack QEMU, print its path and stop
#                          (scripts/setup.sh uses it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
target=thumbv7em-none-eabihf
prefix="${XCONNAUTH_QEMU_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/xconnauth-qemu}"
qemu_timeout="${QEMU_TIMEOUT:-120}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# True when "$1" is a qemu-system-arm that starts and knows the board.
qemu_works() {
    "$1" -machine help 2>/dev/null | grep -q '^mps2-an386 '
}

# Prints qemu-system-arm and every package it needs that is not installed, walking
# Depends breadth-first (one apt-cache call per level; the first alternative unless one
# is installed). qemu-system-common/-data hold helpers, firmware and keymaps that a
# -nographic M-profile run never opens, so they and their dependencies are skipped.
resolve_packages() {
    local frontier=(qemu-system-arm) seen=" qemu-system-common qemu-system-data "
    local fresh p groups members have line m sat first
    while [ ${#frontier[@]} -gt 0 ]; do
        fresh=()
        for p in "${frontier[@]}"; do
            case "$seen" in *" $p "*) ;; *) seen="$seen$p " && fresh+=("$p") ;; esac
        done
        [ ${#fresh[@]} -gt 0 ] || break
        printf '%s\n' "${fresh[@]}"
        groups="$(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${fresh[@]}" 2>/dev/null | awk '
            /^[^ ]/ { next }
            $1 == "|Depends:" || $1 == "|PreDepends:" { alt = alt $2 " "; next }
            $1 == "Depends:" || $1 == "PreDepends:" { print alt $2; alt = ""; next }
            { alt = "" }')"
        members="$(tr ' ' '\n' <<<"$groups" | grep -v '^<' | sort -u || true)"
        # shellcheck disable=SC2086 # one package name per word
        have=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' $members 2>/dev/null |
            awk '$1 == "installed" { printf "%s ", $2 }') "
        frontier=()
        while read -r line; do
            sat="" first=""
            for m in $line; do
                case "$m" in "<"*) continue ;; esac
                case "$have" in *" $m "*) sat=1 && break ;; esac
                [ -n "$first" ] || first="$m"
            done
            [ -n "$sat" ] || [ -z "$first" ] || frontier+=("$first")
        done <<<"$groups"
    done
}

# apt-get download into $1, quietly: true when every package arrived.
download() {
    local dir="$1"
    shift
    rm -f "$dir"/*.deb
    (cd "$dir" && apt-get download -qq "$@" 2>&1 |
        grep -v '^W: Download is performed unsandboxed' >&2) || true
    [ "$(find "$dir" -name '*.deb' | wc -l)" -eq $# ]
}

# Unpacks qemu-system-arm and the libraries it needs that the machine lacks into $prefix.
install_qemu() {
    command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
        die "qemu-system-arm is not on PATH and this is not a Debian-like system: install it and retry"
    if ! apt-cache show --no-all-versions qemu-system-arm >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "apt has no package lists; run 'apt-get update' as root first"
        log "apt-get update"
        apt-get update -qq
    fi

    local work pkgs
    mapfile -t pkgs < <(resolve_packages)
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    log "downloading ${pkgs[*]}"
    # apt's sandbox user cannot write to a root-owned mktemp dir; hand it over.
    chmod 0777 "$work"
    if ! download "$work" "${pkgs[@]}" && [ "$(id -u)" = 0 ]; then
        # Stale package lists name versions the mirror no longer has.
        log "apt-get update, then downloading again"
        apt-get update -qq
        download "$work" "${pkgs[@]}" || die "apt-get download failed"
    fi
    local staging="$prefix.tmp.$$" deb
    rm -rf "$staging"
    mkdir -p "$staging"
    for deb in "$work"/*.deb; do
        dpkg -x "$deb" "$staging"
    done
    write_wrapper "$staging"
    qemu_works "$staging/bin/qemu-system-arm" || {
        LD_LIBRARY_PATH="$(printf '%s:' "$staging"/lib/*-linux-gnu "$staging"/usr/lib/*-linux-gnu)" \
            ldd "$staging/usr/bin/qemu-system-arm" | grep 'not found' >&2 || true
        die "the unpacked qemu-system-arm does not run (missing libraries above?)"
    }
    rm -rf "$prefix"
    mv "$staging" "$prefix"
    rm -rf "$work"
    trap - EXIT
}

# A launcher that gives QEMU the prefix's libraries without leaking LD_LIBRARY_PATH into
# the rest of the build. It finds the prefix from its own path, so the staged tree can
# be moved into place.
write_wrapper() {
    mkdir -p "$1/bin"
    cat >"$1/bin/qemu-system-arm" <<'EOF'
#!/bin/sh
p="$(cd "$(dirname "$0")/.." && pwd)"
LD_LIBRARY_PATH="$(printf '%s:' "$p"/lib/*-linux-gnu "$p"/usr/lib/*-linux-gnu)${LD_LIBRARY_PATH:-}" \
    exec "$p/usr/bin/qemu-system-arm" "$@"
EOF
    chmod +x "$1/bin/qemu-system-arm"
}

find_qemu() {
    if command -v qemu-system-arm >/dev/null && qemu_works qemu-system-arm; then
        command -v qemu-system-arm
        return
    fi
    if ! qemu_works "$prefix/bin/qemu-system-arm"; then
        log "unpacking QEMU into $prefix"
        install_qemu
    fi
    qemu_works "$prefix/bin/qemu-system-arm" || die "QEMU in $prefix does not run"
    echo "$prefix/bin/qemu-system-arm"
}

qemu="$(find_qemu)"
log "QEMU: $("$qemu" --version | head -n1)"
if [ "${XCONNAUTH_QEMU_ONLY:-0}" = 1 ]; then
    echo "$qemu"
    exit 0
fi

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    log "rustup target add $target"
    rustup target add "$target"
fi

log "cargo build --release (firmware for $target)"
cargo build --release --quiet
elf_dir="target/$target/release"

run_qemu() {
    timeout "$qemu_timeout" "$qemu" -machine mps2-an386 -cpu cortex-m4 -nographic \
        -monitor none -serial none -semihosting-config enable=on,target=native \
        -icount shift=0 -kernel "$1"
}

status=0
log "QEMU: verifier firmware"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
run_qemu "$elf_dir/xconnauth-cortex-m" | tee "$out" || status=$?
if [ "$status" -ne 0 ]; then
    echo "FAIL: firmware exited with status $status (124 = timeout after ${qemu_timeout}s)"
elif ! grep -q '^RESULT: all verdicts as expected' "$out"; then
    echo "FAIL: the firmware did not report its result"
    status=1
fi

log "QEMU: footprint firmware (minimal application)"
fp_status=0
run_qemu "$elf_dir/footprint" || fp_status=$?
if [ "$fp_status" -ne 0 ]; then
    echo "FAIL: footprint firmware exited with status $fp_status"
    status=1
fi

samples=(../keycloak/jwks.json ../keycloak/policy.json ../keycloak/now.txt
    ../keycloak/token.jwt ../keycloak/tampered.jwt)
read -r fp_flash fp_embedded fp_code fp_ram < <(python3 elfsize.py "$elf_dir/footprint" \
    --embedded "${samples[@]}" | sed 's/[a-z_]*=//g')
read -r fw_flash _ _ fw_ram < <(python3 elfsize.py "$elf_dir/xconnauth-cortex-m" |
    sed 's/[a-z_]*=//g')
echo
echo "| firmware | flash (B) | sample data in it (B) | flash without samples (B) | static RAM (B) |"
echo "|---|---:|---:|---:|---:|"
echo "| footprint (key set + policy + verify) | $fp_flash | $fp_embedded | $fp_code | $fp_ram |"
echo "| full test firmware (this run) | $fw_flash | - | - | $fw_ram |"
if [ "$fp_code" -le $((48 * 1024)) ]; then verdict=met; else verdict=MISSED; fi
echo "goal flash (B)                             $fp_code <= $((48 * 1024))  $verdict"

if [ "$status" -ne 0 ]; then
    echo "run.sh: FAILED"
    exit "$status"
fi
echo "run.sh: all verdicts as expected"
