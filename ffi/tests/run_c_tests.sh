#!/usr/bin/env bash
# Builds libxconnauth and runs every C-side test against it:
#   1. the header compiles on its own (C99 -pedantic, and C++ when g++ is present)
#   2. test_api + test_threads (1,000 JWKS swaps under 4 verifying threads) on the .so;
#      test_remote (remote verifiers against hostile loopback realms served by
#      ffi/tests/hostile_realm.py: issuer down, trickling, 20 concurrent unknown kids,
#      last good keys, redirects, two realms sharing a kid, 100 rotations under 4 threads)
#      test_alloc (malloc interposed: xca_verify/xca_verify_header allocate nothing but
#      aws-lc's own RSA work, verdict only, size query or with a buffer)
#   3. the same under AddressSanitizer + UndefinedBehaviorSanitizer, on the .a
#   4. the same under valgrind --leak-check=full (0 errors, 0 leaks)
#   5. the dev corpus (tests/vectors/dev) through the .so with Python ctypes
#   6. make -C ffi install into a temporary prefix, then examples/c/verify.c built with
#      pkg-config against the installed copy and run
#   7. the C tarball (make dist-c) unpacked into a fresh prefix, examples/c/verify.c built
#      against it with pkg-config and run; its .pc version, xca_version() and the
#      workspace version agree
#   8. examples/dotnet (P/Invoke wrapper + test) on Mono, when mcs and mono are installed
#      (apt-get install -y mono-mcs mono-runtime; scripts/setup.sh does it)
# Exits non-zero if any step fails, after running all of them, and prints a summary.
# A missing optional tool (g++, pkg-config, Mono) skips its step with a message, except
# with CI=true, where it is a failure.
#
# Needs: cargo, gcc (or $CC), python3, valgrind, make; pkg-config is used when present.
# Honours CARGO_TARGET_DIR (default: target, relative to the repo root).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
CC="${CC:-gcc}"
CFLAGS=(-std=c11 -g -O1 -Wall -Wextra -Werror -pthread -I"$ROOT/include")
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
# What a static link of libxconnauth.a needs (see ffi/Makefile LIBS_PRIVATE).
STATIC_LIBS=(-lpthread -ldl -lm -lrt -lutil)
EXAMPLES="$ROOT/examples/keycloak"
VECTORS="$ROOT/tests/vectors/dev"
NOW=1764000000
SWAPS=1000
VALGRIND_SWAPS=200

BUILD="$TARGET_DIR/c-tests"
LOG="$BUILD/logs"
START=$SECONDS
declare -a RESULTS=()
FAILED=0

step() { # step NAME COMMAND...: runs it, logs its output, records PASS/FAIL
    local name="$1"
    shift
    local log="$LOG/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    local t0=$SECONDS
    if "$@" >"$log" 2>&1; then
        RESULTS+=("PASS  $name ($((SECONDS - t0)) s)$(grep -hE '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | sed 's/^/  -- /')")
    else
        RESULTS+=("FAIL  $name ($((SECONDS - t0)) s), log: $log")
        FAILED=1
        echo "---- $name failed; last lines of $log:" >&2
        tail -n 25 "$log" >&2
    fi
}

CI="${CI:-false}"
# skipped NAME REASON: a SKIP line, or a failure in CI (a missing tool is never silent there).
skipped() {
    if [ "$CI" = true ]; then
        RESULTS+=("FAIL  $1 (CI=true, but $2)")
        FAILED=1
    else
        RESULTS+=("SKIP  $1 ($2)")
    fi
}

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "run_c_tests: '$1' is required${2:+ ($2)}" >&2
        exit 2
    fi
}
need cargo
need "$CC" "C compiler"
need python3
need valgrind "apt-get install -y valgrind"
need make
need nm "apt-get install -y binutils"

rm -rf "$BUILD"
mkdir -p "$BUILD/lib" "$LOG"

echo "== building libxconnauth (release, CARGO_TARGET_DIR=$TARGET_DIR)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build -p xconnauth-ffi --release) || {
    echo "run_c_tests: cargo build failed" >&2
    exit 1
}
SO="$TARGET_DIR/release/libxconnauth.so"
A="$TARGET_DIR/release/libxconnauth.a"
# Programs linked against the .so ask for its soname, libxconnauth.so.0.
SONAME="$( (readelf -d "$SO" 2>/dev/null || objdump -p "$SO") | sed -n 's/.*\(libxconnauth\.so\.[0-9][0-9]*\).*/\1/p' | head -n 1)"
if [ -z "$SONAME" ]; then
    echo "run_c_tests: $SO has no libxconnauth.so.N soname" >&2
    exit 1
fi
cp "$SO" "$BUILD/lib/$SONAME"
ln -sf "$SONAME" "$BUILD/lib/libxconnauth.so"
DYN=(-L"$BUILD/lib" -lxconnauth -Wl,-rpath,"$BUILD/lib")

# Inputs of the thread test: a second JWKS that also holds the example key (plus the dev
# realm's keys), and a probe token signed by a key only that second set has.
prepare_thread_inputs() {
    python3 - "$EXAMPLES" "$VECTORS" "$BUILD" <<'PY'
import json, sys
from pathlib import Path
examples, vectors, build = map(Path, sys.argv[1:])
a = json.loads((examples / "jwks.json").read_text())
b = json.loads((vectors / "jwks" / "keycloak.json").read_text())
(build / "jwks_b.json").write_text(json.dumps({"keys": a["keys"] + b["keys"]}))
for line in (vectors / "cases.jsonl").read_text().splitlines():
    case = json.loads(line)
    if case["name"] == "valid_aud_array":
        (build / "probe.jwt").write_text(case["token"])
        break
else:
    sys.exit("valid_aud_array not found in cases.jsonl")
PY
}

threads_args() { # threads_args SWAPS
    echo "$EXAMPLES/jwks.json" "$BUILD/jwks_b.json" "$EXAMPLES/policy.json" "$EXAMPLES/token.jwt" \
        "$EXAMPLES/expired.jwt" "$EXAMPLES/tampered.jwt" "$BUILD/probe.jwt" "$1"
}

header_compiles() {
    printf '#include "xconnauth.h"\nint main(void) { return (int)xca_http_status(XCA_OK); }\n' >"$BUILD/hdr.c"
    "$CC" -std=c99 -pedantic -Wall -Wextra -Werror -I"$ROOT/include" -c "$BUILD/hdr.c" -o "$BUILD/hdr.o" || return 1
    if command -v g++ >/dev/null 2>&1; then
        g++ -std=c++11 -Wall -Wextra -Werror -I"$ROOT/include" -x c++ -c "$BUILD/hdr.c" -o "$BUILD/hdr_cpp.o" || return 1
    elif [ "$CI" = true ]; then
        echo "g++ not found (CI=true: a failure)"
        return 1
    else
        echo "g++ not found: C++ check skipped"
    fi
}

build_tests() {
    local t
    for t in test_api test_threads test_remote; do
        "$CC" "${CFLAGS[@]}" "$ROOT/ffi/tests/c/$t.c" -o "$BUILD/$t" "${DYN[@]}" || return 1
        "$CC" "${CFLAGS[@]}" "${SAN[@]}" "$ROOT/ffi/tests/c/$t.c" -o "$BUILD/${t}_asan" "$A" "${STATIC_LIBS[@]}" || return 1
    done
}

# test_alloc: on the .so only (ASan and valgrind replace malloc themselves). It tells
# aws-lc's allocations from all others by the caller's address, inside aws-lc's
# OPENSSL_malloc family or not; the ranges come from the library's symbol table.
build_alloc_test() {
    nm -S --defined-only "$SO" |
        grep -E ' (aws_lc_[0-9_]+_)?OPENSSL_(malloc|zalloc|calloc|realloc)$|___rdl_(alloc|alloc_zeroed|realloc)$' \
            >"$BUILD/alloc_symbols.txt" || { echo "no allocation symbols in $SO (stripped?)"; return 1; }
    cat "$BUILD/alloc_symbols.txt"
    "$CC" "${CFLAGS[@]}" "$ROOT/ffi/tests/c/test_alloc.c" -o "$BUILD/test_alloc" "${DYN[@]}" -ldl
}

VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

pkg_flags() { # pkg_flags PREFIX: what `pkg-config --cflags --libs xconnauth` prints
    local pc="$1/lib/pkgconfig"
    if command -v pkg-config >/dev/null 2>&1; then
        PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs xconnauth
    elif [ "$CI" = true ]; then
        echo "pkg-config not found (CI=true: a failure)" >&2
        return 1
    else
        # Same answer for this simple .pc file, without pkg-config.
        local inc lib
        inc="$(sed -n 's/^includedir=//p' "$pc/xconnauth.pc")"
        lib="$(sed -n 's/^libdir=//p' "$pc/xconnauth.pc")"
        echo "-I$inc -L$lib -lxconnauth"
    fi
}

install_and_example() {
    local prefix="$BUILD/prefix"
    CARGO_TARGET_DIR="$TARGET_DIR" make -C "$ROOT/ffi" install PREFIX="$prefix" || return 1
    local f
    for f in include/xconnauth.h "lib/$SONAME" lib/libxconnauth.so lib/libxconnauth.a lib/pkgconfig/xconnauth.pc; do
        [ -e "$prefix/$f" ] || { echo "missing after install: $f"; return 1; }
    done
    [ "$(readlink "$prefix/lib/libxconnauth.so")" = "$SONAME" ] || { echo "bad .so link"; return 1; }
    local flags
    flags="$(pkg_flags "$prefix")" || return 1
    # shellcheck disable=SC2086
    "$CC" -Wall -Wextra -Werror "$ROOT/examples/c/verify.c" $flags -o "$BUILD/verify" || return 1
    local out rc
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify" "$EXAMPLES/jwks.json" "$EXAMPLES/policy.json" \
        "$(cat "$EXAMPLES/token.jwt")" "$NOW")"
    rc=$?
    echo "$out" | cut -c1-120
    [ $rc -eq 0 ] && [ "$(echo "$out" | head -n 1)" = "valid" ] && echo "$out" | grep -q '"azp":"demo-client"' ||
        { echo "valid token: rc=$rc"; return 1; }
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify" "$EXAMPLES/jwks.json" "$EXAMPLES/policy.json" - "$NOW" \
        <"$EXAMPLES/expired.jwt" 2>&1)"
    rc=$?
    echo "$out"
    [ $rc -eq 1 ] && echo "$out" | grep -q '^invalid: expired (HTTP 401)' ||
        { echo "expired token: rc=$rc"; return 1; }
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify" "$EXAMPLES/jwks.json" "$EXAMPLES/policy.json" \
        "$(cat "$EXAMPLES/tampered.jwt")" "$NOW" 2>&1)"
    rc=$?
    echo "$out"
    [ $rc -eq 1 ] && echo "$out" | grep -q '^invalid: bad_signature' || { echo "tampered: rc=$rc"; return 1; }
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify" "$EXAMPLES/jwks.json" /dev/null x 2>&1)"
    rc=$?
    echo "$out"
    [ $rc -eq 2 ] || { echo "empty policy: rc=$rc"; return 1; }
    # The installed library is the one that ran.
    LD_LIBRARY_PATH="$prefix/lib" ldd "$BUILD/verify" | grep "$prefix/lib/$SONAME" || return 1
    echo "verify example: 4 passed, 0 failed"
}

# The package users download: unpacked (not installed by make) into a fresh prefix; the
# .pc file must find that prefix by itself (${pcfiledir}).
tarball_and_example() {
    command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config is required for this step"; return 1; }
    local version tarball prefix="$BUILD/tar-prefix"
    version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
    make -s -C "$ROOT" dist-c CARGO_TARGET_DIR="$TARGET_DIR" >"$BUILD/dist-c.out" || return 1
    tarball="$ROOT/$(tail -n 1 "$BUILD/dist-c.out")"
    [ -f "$tarball" ] || { echo "no tarball: $tarball"; return 1; }
    rm -rf "$prefix"
    mkdir -p "$prefix"
    tar -xzf "$tarball" -C "$prefix" --strip-components=1 || return 1
    local f
    for f in include/xconnauth.h "lib/$SONAME" lib/libxconnauth.so lib/libxconnauth.a lib/pkgconfig/xconnauth.pc \
        share/doc/xconnauth/LICENSE-MIT share/doc/xconnauth/LICENSE-APACHE; do
        [ -e "$prefix/$f" ] || { echo "missing in the tarball: $f"; return 1; }
    done
    [ "$(readlink "$prefix/lib/libxconnauth.so")" = "$SONAME" ] || { echo "bad .so link"; return 1; }
    [ "$( (readelf -d "$prefix/lib/$SONAME" 2>/dev/null || objdump -p "$prefix/lib/$SONAME") |
        sed -n 's/.*\(libxconnauth\.so\.[0-9][0-9]*\).*/\1/p' | head -n 1)" = "$SONAME" ] ||
        { echo "the packaged library has no soname $SONAME"; return 1; }
    local pcv flags
    pcv="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion xconnauth)" || return 1
    [ "$pcv" = "$version" ] || { echo "xconnauth.pc says $pcv, the workspace $version"; return 1; }
    flags="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs xconnauth)" || return 1
    # ${pcfiledir}/../../include must lead to the prefix the tarball was unpacked into.
    local inc
    inc="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --variable=includedir xconnauth)" || return 1
    [ "$(cd "$inc" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] ||
        { echo "pkg-config's includedir $inc is not the prefix's"; return 1; }
    # shellcheck disable=SC2086
    "$CC" -Wall -Wextra -Werror "$ROOT/examples/c/verify.c" $flags -o "$BUILD/verify_tar" || return 1
    printf '#include <stdio.h>\n#include "xconnauth.h"\nint main(void) { puts(xca_version()); return 0; }\n' \
        >"$BUILD/version.c"
    # shellcheck disable=SC2086
    "$CC" -Wall -Wextra -Werror "$BUILD/version.c" $flags -o "$BUILD/version_tar" || return 1
    local libv
    libv="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/version_tar")" || return 1
    [ "$libv" = "$version" ] || { echo "xca_version() says $libv, the workspace $version"; return 1; }
    local out rc
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify_tar" "$EXAMPLES/jwks.json" "$EXAMPLES/policy.json" \
        "$(cat "$EXAMPLES/token.jwt")" "$NOW")"
    rc=$?
    [ $rc -eq 0 ] && [ "$(echo "$out" | head -n 1)" = "valid" ] || { echo "valid token: rc=$rc"; return 1; }
    out="$(LD_LIBRARY_PATH="$prefix/lib" "$BUILD/verify_tar" "$EXAMPLES/jwks.json" "$EXAMPLES/policy.json" \
        "$(cat "$EXAMPLES/tampered.jwt")" "$NOW" 2>&1)"
    rc=$?
    [ $rc -eq 1 ] && echo "$out" | grep -q '^invalid: bad_signature' || { echo "tampered: rc=$rc"; return 1; }
    LD_LIBRARY_PATH="$prefix/lib" ldd "$BUILD/verify_tar" | grep "$prefix/lib/$SONAME" || return 1
    echo "tarball $(basename "$tarball"): version $version (pc, xca_version), verify example: 2 passed, 0 failed"
}

dotnet_example() {
    mcs -langversion:6 -warnaserror -out:"$BUILD/XConnAuthTest.exe" \
        "$ROOT/examples/dotnet/XConnAuth.cs" "$ROOT/examples/dotnet/Test.cs" || return 1
    # DllImport("xconnauth") finds libxconnauth.so through the loader path.
    LD_LIBRARY_PATH="$BUILD/lib" mono "$BUILD/XConnAuthTest.exe" "$EXAMPLES"
}

step "header compiles (C99 pedantic / C++)" header_compiles
step "build C tests" build_tests
step "thread test inputs" prepare_thread_inputs
step "test_api (.so)" "$BUILD/test_api" "$EXAMPLES"
step "build test_alloc" build_alloc_test
step "test_alloc (.so, malloc interposed: no allocation outside aws-lc)" \
    "$BUILD/test_alloc" "$EXAMPLES" "$BUILD/alloc_symbols.txt"
# shellcheck disable=SC2046
step "test_threads (.so, $SWAPS swaps)" "$BUILD/test_threads" $(threads_args $SWAPS)
step "test_api (ASan+UBSan, .a)" "$BUILD/test_api_asan" "$EXAMPLES"
# shellcheck disable=SC2046
step "test_threads (ASan+UBSan, .a, $SWAPS swaps)" "$BUILD/test_threads_asan" $(threads_args $SWAPS)
step "test_api (valgrind)" "${VG[@]}" "$BUILD/test_api" "$EXAMPLES"
# shellcheck disable=SC2046
step "test_threads (valgrind, $VALGRIND_SWAPS swaps)" "${VG[@]}" --fair-sched=yes "$BUILD/test_threads" $(threads_args $VALGRIND_SWAPS)
ROTATIONS=100
VALGRIND_ROTATIONS=20
remote() { # remote [RUNNER...] BINARY ROTATIONS [SLOW]: test_remote behind the hostile realm
    XCA_EXAMPLE_JWKS="$EXAMPLES/jwks.json" python3 "$ROOT/ffi/tests/hostile_realm.py" "$@"
}
step "test_remote (.so, $ROTATIONS rotations)" remote "$BUILD/test_remote" $ROTATIONS
step "test_remote (ASan+UBSan, .a)" remote "$BUILD/test_remote_asan" $ROTATIONS
step "test_remote (valgrind, $VALGRIND_ROTATIONS rotations)" remote "${VG[@]}" --fair-sched=yes \
    "$BUILD/test_remote" $VALGRIND_ROTATIONS 1
step "dev corpus via ctypes" python3 "$ROOT/ffi/tests/corpus_ctypes.py" "$BUILD/lib/$SONAME" "$VECTORS"
# ~3,150 fresh cases built by the corpus rules with an independent reference verdict
# (python/tests/_reference.py, the same fixed seed as the Python package's test).
reference_corpus() {
    python3 "$ROOT/python/tests/_reference.py" --write "$BUILD/reference" &&
        python3 "$ROOT/ffi/tests/corpus_ctypes.py" "$BUILD/lib/$SONAME" "$BUILD/reference"
}
step "reference cases via ctypes" reference_corpus
step "make install + examples/c/verify.c via pkg-config" install_and_example
step "C tarball (make dist-c) in a fresh prefix + examples/c via pkg-config" tarball_and_example
if command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1; then
    step "examples/dotnet on Mono" dotnet_example
else
    skipped "examples/dotnet on Mono" "mcs/mono not installed: apt-get install -y mono-mcs mono-runtime"
fi

echo
echo "== run_c_tests summary ($((SECONDS - START)) s)"
printf '%s\n' "${RESULTS[@]}"
passed=0
failed=0
for r in "${RESULTS[@]}"; do
    case "$r" in PASS*) passed=$((passed + 1)) ;; SKIP*) ;; *) failed=$((failed + 1)) ;; esac
done
echo "run_c_tests: $passed passed, $failed failed"
exit $FAILED
