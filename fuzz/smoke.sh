#!/usr/bin/env bash
# Bounded fuzzing smoke test: seeds the corpora, builds every target once, then runs
# each target for FUZZ_SECONDS (default 30) seconds, one at a time on one core.
# Exits non-zero if any target crashes, panics, leaks, times out or fails to build.
# One input may take at most FUZZ_TIMEOUT seconds (default 1; issue 17: every accepted
# input is linear-time, so a 1 MiB document must parse well within it), and the
# configuration-document targets get inputs up to 1 MiB (MAX_JWKS_BYTES).
#
#   fuzz/smoke.sh                        # every target, 30 s each
#   FUZZ_SECONDS=300 fuzz/smoke.sh       # longer
#   FUZZ_TARGETS="token json" fuzz/smoke.sh
#
# Needs the nightly toolchain (cargo-fuzz uses -Zsanitizer); installs cargo-fuzz
# when `cargo fuzz` is missing. CARGO_TARGET_DIR defaults to /tmp/tgt-fuzz.
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$FUZZ_DIR"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-1}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/tgt-fuzz}"
start=$SECONDS

if ! cargo "+$TOOLCHAIN" --version >/dev/null 2>&1; then
    echo "smoke.sh: installing the $TOOLCHAIN toolchain" >&2
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo "+$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

./seed.sh
cargo "+$TOOLCHAIN" fuzz build
echo "smoke.sh: tools, seeds and build took $((SECONDS - start)) s"

targets="${FUZZ_TARGETS:-$(cargo "+$TOOLCHAIN" fuzz list)}"
logs="$FUZZ_DIR/artifacts/smoke"
mkdir -p "$logs"
failed=()
for t in $targets; do
    dict=()
    case "$t" in
        token | capi) dict=(-dict=dicts/token.dict) ;;
        json | jwks | header | jwks_skipped | discovery) dict=(-dict=dicts/json.dict) ;;
    esac
    case "$t" in
        jwks | jwks_skipped | discovery) dict+=(-max_len=1048576) ;;
    esac
    echo "smoke.sh: fuzzing $t for ${FUZZ_SECONDS} s"
    if cargo "+$TOOLCHAIN" fuzz run "$t" -- -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
        -print_final_stats=1 "${dict[@]}" >"$logs/$t.log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$t.log" | tail -1 | sed "s/^/  $t: /" || true
    else
        failed+=("$t")
        echo "smoke.sh: $t FAILED, log: $logs/$t.log" >&2
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$logs/$t.log" | head -8 >&2 || true
    fi
done

echo "smoke.sh: done in $((SECONDS - start)) s"
if ((${#failed[@]})); then
    echo "smoke.sh: crashing targets: ${failed[*]} (reproduce: cargo +$TOOLCHAIN fuzz run <target> <artifact>)" >&2
    exit 1
fi
