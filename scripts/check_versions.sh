#!/usr/bin/env bash
# One version number for everything: fails when any crate, the Python package, the
# pkg-config template, Cargo.lock or CHANGELOG.md names a version other than the
# workspace's ([workspace.package] version in Cargo.toml).
#
# The built artefacts are checked where they are built: xca_version() by the ffi crate's
# tests and by ffi/tests/run_c_tests.sh (against `pkg-config --modversion` of the
# installed tarball), the wheel's xconnauth.__version__ by python/run_tests.sh. With
# dist/ present, the file names of its packages are checked here too.
#
#   scripts/check_versions.sh            # the repository
#   scripts/check_versions.sh ROOT       # another checkout (used by its own test)
set -euo pipefail
root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
cd "$root"

fail=0
bad() {
    echo "check_versions: $*" >&2
    fail=1
}

# [workspace.package] version, the first `version = "..."` of the root manifest.
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)"
[ -n "$version" ] || { echo "check_versions: no [workspace.package] version in Cargo.toml" >&2; exit 1; }

# Every crate manifest: version.workspace = true, or the same literal version.
while IFS= read -r manifest; do
    [ "$manifest" = ./Cargo.toml ] && continue
    pkg="$(sed -n '/^\[package\]/,/^\[/p' "$manifest")"
    [ -n "$pkg" ] || continue
    if grep -q '^version.workspace = true' <<<"$pkg"; then
        continue
    fi
    v="$(sed -n 's/^version = "\([^"]*\)"/\1/p' <<<"$pkg" | head -n 1)"
    [ "$v" = "$version" ] || bad "$manifest: version \"$v\", workspace \"$version\""
done < <(find . \( -name target -o -name .git -o -name dist \) -prune -o -name Cargo.toml -print | sort)

# A published crate names its path dependencies on our crates with a version
# (`xconnauth = { path = "../core", version = "..." }`): the same one.
while IFS= read -r line; do
    v="$(sed -n 's/.*version = "\([^"]*\)".*/\1/p' <<<"${line#*:}")"
    [ "$v" = "$version" ] || bad "${line%%:*}: path dependency at \"$v\", workspace \"$version\""
done < <(grep -rn --include=Cargo.toml -E '^xconnauth[a-z_-]* = \{.*path = .*version = ' . \
    --exclude-dir=target --exclude-dir=.git --exclude-dir=dist || true)

# Every lock file's entry for our own crates.
while IFS= read -r lock; do
    awk -v want="$version" -v lock="$lock" '
        /^name = "xconnauth/ { name = $3; gsub(/"/, "", name); next }
        name != "" && /^version = / { v = $3; gsub(/"/, "", v);
            if (v != want) { printf "check_versions: %s: %s %s, workspace %s\n", lock, name, v, want; bad = 1 }
            name = "" }
        END { exit bad }' "$lock" >&2 || fail=1
done < <(find . \( -name target -o -name .git -o -name dist \) -prune -o -name Cargo.lock -print | sort)

# The wheel takes its version from python/Cargo.toml (checked above) only if pyproject
# leaves it dynamic.
pyproject=python/pyproject.toml
if grep -qE '^version *=' "$pyproject"; then
    bad "$pyproject: a literal version; it must stay dynamic (from python/Cargo.toml)"
fi
grep -qE '^dynamic *= *\[.*"version"' "$pyproject" || bad "$pyproject: version is not dynamic"

# The .pc file gets the version from ffi/Makefile, which reads the workspace manifest.
grep -q '^Version: @VERSION@$' ffi/xconnauth.pc.in || bad "ffi/xconnauth.pc.in: Version is not @VERSION@"

# Released versions have a CHANGELOG section.
grep -qE "^## \[(Unreleased|$version)\]" CHANGELOG.md || bad "CHANGELOG.md: no section for $version"
grep -qE "^## \[$version\]" CHANGELOG.md || bad "CHANGELOG.md: no [$version] section"

# Packages already in dist/ carry the version in their names.
if [ -d dist ]; then
    for f in dist/xconnauth-*.whl dist/xconnauth-*.tar.gz dist/libxconnauth-*.tar.gz; do
        [ -e "$f" ] || continue
        case "$(basename "$f")" in
            xconnauth-"$version"-* | xconnauth-"$version".tar.gz | libxconnauth-"$version"-*) ;;
            *) bad "$f: not version $version" ;;
        esac
    done
fi

if [ "$fail" != 0 ]; then
    exit 1
fi
echo "check_versions: every crate, lock entry, the wheel, the .pc template and CHANGELOG at $version"
