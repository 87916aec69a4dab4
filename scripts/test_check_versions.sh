#!/usr/bin/env bash
# Proves scripts/check_versions.sh can fail: on a copy of the version-bearing files it
# must pass as they are, then fail after each single edit that makes one version differ.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check="$root/scripts/check_versions.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fresh_copy() {
    rm -rf "$work/repo"
    mkdir -p "$work/repo"
    (cd "$root" && git ls-files -- '*Cargo.toml' '*Cargo.lock' python/pyproject.toml \
        ffi/xconnauth.pc.in CHANGELOG.md | while IFS= read -r f; do
            mkdir -p "$work/repo/$(dirname "$f")"
            cp "$f" "$work/repo/$f"
        done)
}

fresh_copy
bash "$check" "$work/repo" >/dev/null || { echo "test_check_versions: fails on the unchanged files" >&2; exit 1; }

# name | file | sed expression that makes one version differ
cases=(
    "python crate|python/Cargo.toml|0,/^version = /s/^version = \".*\"/version = \"9.9.9\"/"
    "member crate|core/Cargo.toml|s/^version.workspace = true/version = \"9.9.9\"/"
    "lock entry|Cargo.lock|/^name = \"xconnauth-cli\"/{n;s/^version = .*/version = \"9.9.9\"/}"
    "pyproject literal|python/pyproject.toml|s/^dynamic = .*/version = \"9.9.9\"/"
    "pc template|ffi/xconnauth.pc.in|s/^Version: .*/Version: 9.9.9/"
    "changelog|CHANGELOG.md|s/^## \\[0\\.[0-9.]*\\]/## [9.9.9]/"
    "path dependency|remote/Cargo.toml|s/^xconnauth = { path = \"..\/core\", version = \".*\" }/xconnauth = { path = \"..\/core\", version = \"9.9.9\" }/"
)
n=0
for c in "${cases[@]}"; do
    IFS='|' read -r name file expr <<<"$c"
    fresh_copy
    sed -i "$expr" "$work/repo/$file"
    if cmp -s "$root/$file" "$work/repo/$file"; then
        echo "test_check_versions: the '$name' edit changed nothing in $file" >&2
        exit 1
    fi
    if bash "$check" "$work/repo" >/dev/null 2>&1; then
        echo "test_check_versions: a differing version in $file ($name) was not caught" >&2
        exit 1
    fi
    n=$((n + 1))
done
echo "test_check_versions: $n mismatches caught, unchanged files pass"
