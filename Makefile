# xconnauth: the two commands a new user needs are `make demo` and `make test`.
# `make test` first runs scripts/setup.sh, which installs what the machine lacks; CI
# (.ci/run) is `CI=true make test`. Packages: `make dist`, `make install PREFIX=...`.

CARGO ?= cargo
PYTHON ?= python3
SAMPLE := examples/keycloak
NOW := $(shell cat $(SAMPLE)/now.txt)
VERIFY := $(CARGO) run -q -p xconnauth-cli -- verify --jwks $(SAMPLE)/jwks.json --policy $(SAMPLE)/policy.json --now $(NOW)

# One version for everything (scripts/check_versions.sh enforces it); one MSRV.
VERSION := $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
MSRV := $(shell sed -n 's/^rust-version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')

DIST := dist
PREFIX ?= /usr/local
# maturin lives in its own venv under target/ (not a project dependency, not on PATH).
TOOLS_VENV := target/py-tools
MATURIN := $(TOOLS_VENV)/bin/maturin
MATURIN_VERSION := 1.16.0
C_PKG := libxconnauth-$(VERSION)-$(HOST)
C_TARBALL := $(DIST)/$(C_PKG).tar.gz

.PHONY: demo see-it-work setup test test-all lint docs check-versions generate check-generated test-rust test-nostd \
	test-msrv test-bench test-ffi test-python test-differential test-flows test-e2e test-nginx \
	test-oidc-provider test-cortex-m fuzz-smoke dist dist-python dist-c install uninstall package

## Verify the bundled Keycloak-style token, then show a tampered and an expired one rejected.
demo:
	@echo '$$ xconnauth verify ... examples/keycloak/token.jwt'
	@$(VERIFY) "$$(cat $(SAMPLE)/token.jwt)"
	@echo
	@echo '$$ xconnauth verify ... examples/keycloak/tampered.jwt'
	@$(VERIFY) "$$(cat $(SAMPLE)/tampered.jwt)" || echo "(exit $$?: rejected, as it should be)"
	@echo
	@echo '$$ xconnauth verify --json ... examples/keycloak/expired.jwt'
	@$(VERIFY) --json "$$(cat $(SAMPLE)/expired.jwt)" || echo "(exit $$?: rejected, as it should be)"

## The real flows on loopback: issuer, client-credentials token, proxy, upstream (200/403/401).
see-it-work:
	bash examples/e2e/see_it_work.sh

## Install what the machine lacks (idempotent; with CI=true a missing tool is an error).
setup:
	bash scripts/setup.sh

## Every check CI runs, after the setup step.
test: setup
	@$(MAKE) --no-print-directory test-all

# In this order (later steps reuse what earlier ones built); each step's time is printed.
TEST_STEPS := lint test-rust test-nostd test-msrv test-bench test-ffi test-python test-differential \
	test-flows test-e2e test-nginx test-oidc-provider test-cortex-m fuzz-smoke package

test-all:
	@start=$$(date +%s); for step in $(TEST_STEPS); do \
	    t=$$(date +%s); \
	    $(MAKE) --no-print-directory $$step || { echo "FAILED: make $$step"; exit 1; }; \
	    echo "== make $$step: $$(( $$(date +%s) - t )) s"; \
	done; echo "all tests passed in $$(( $$(date +%s) - start )) s"

lint: check-versions check-generated docs
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p xconnauth --no-default-features -- -D warnings

# Every public item documented, no broken intra-doc link.
docs:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

# The error vocabulary is declared once (core/src/error_table.rs); tools/gen-errors writes
# its copies (ffi/src/status.rs, the Python classes, the .NET enum, docs/contract.md) and
# cbindgen the header from ffi/src. After editing the table: `make generate`.
generate:
	$(CARGO) run -q -p xconnauth-gen-errors
	XCONNAUTH_UPDATE_HEADER=1 $(CARGO) test -q -p xconnauth-ffi --test header

# Fails naming every stale generated file; the generator's tests prove the check can fail.
check-generated:
	$(CARGO) run -q -p xconnauth-gen-errors -- --check
	$(CARGO) test -q -p xconnauth-ffi --test header
	$(CARGO) test -q -p xconnauth-gen-errors

# Every crate, the wheel, the .pc file and xca_version() carry the workspace version.
check-versions:
	bash scripts/check_versions.sh
	bash scripts/test_check_versions.sh

test-rust:
	$(CARGO) test --workspace

# A target without std proves the core and its whole dependency graph are no_std.
test-nostd:
	$(CARGO) build -p xconnauth --no-default-features --target thumbv7em-none-eabihf

# The published crate compiles with its declared rust-version (toolchain from setup.sh),
# with and without std, with both backends. Own target dir: another compiler's artefacts.
test-msrv:
	CARGO_TARGET_DIR=target/msrv $(CARGO) +$(MSRV) check --locked -p xconnauth --no-default-features
	CARGO_TARGET_DIR=target/msrv $(CARGO) +$(MSRV) check --locked -p xconnauth --all-features

# Each criterion bench once, as a test (the real run: cargo bench -p xconnauth-benches).
test-bench:
	$(CARGO) bench -p xconnauth-benches -- --test

# C ABI: header freshness is a cargo test; this runs the C tests (ASan+UBSan, valgrind),
# the corpus through ctypes, the pkg-config install example, the C tarball installed into
# a fresh prefix (examples/c built against it with pkg-config) and the Mono test.
test-ffi:
	bash ffi/tests/run_c_tests.sh

# Python: builds the wheel into dist/ (maturin), installs it into a fresh venv, then pytest
# (corpus included) against the installed package, mypy --strict, stubtest.
test-python:
	bash python/run_tests.sh

# One verdict on every surface: the dev corpus plus ~105,000 generated and mutated tokens
# and Authorization values (fixed seed) through Rust, the C library, the installed wheel
# and the CLI batch mode in one run; any disagreement fails. Reuses test-python's venv.
test-differential:
	bash tests/differential/run_tests.sh

# The remote service (C and .NET through libxconnauth) and the i2 Connect-style connector,
# each started by its tests on 127.0.0.1. Reuses the release libxconnauth and the venv
# that test-ffi and test-python built.
test-flows:
	bash examples/remote-service/run_tests.sh
	bash examples/connector/run_tests.sh

# End to end: local Keycloak-style issuer, proxy, upstream; rotation, outage, kid storm.
test-e2e:
	bash examples/e2e/run_tests.sh -q

# nginx/OpenResty: integrations/nginx/xconnauth.lua in a real nginx (2 workers) configured from
# the snippet docs/integrations/nginx.md shows, with the local issuer: 200/401/403/503,
# rotation, a slow key server. Reuses the release libxconnauth and the shared venv.
test-nginx:
	bash integrations/nginx/run_tests.sh -q

# A real third-party OpenID provider (npm oidc-provider, pinned; npm ci by the runner):
# RFC 9068 access tokens verified through the CLI, C and Python with the policy that
# docs/integrations/oidc-provider.md shows; rotation. Reuses the venv of test-python.
test-oidc-provider:
	bash tests/oidc-provider/run_tests.sh

# The core on a Cortex-M4F under QEMU (mps2-an386): verdicts, flash, heap, stack, instructions.
test-cortex-m:
	bash examples/cortex-m/run.sh

# Bounded fuzzing of every target (nightly + cargo-fuzz, installed if missing);
# long runs: FUZZ_SECONDS=1800 make fuzz-smoke.
# 10 s per target in `make test` (it builds every target and catches shallow crashes;
# the long runs are recorded in fuzz/README.md): 200 s less of a cold CI run than 30 s.
fuzz-smoke:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-10} bash fuzz/smoke.sh

## Packages into dist/: the Python abi3 wheel and sdist, and the C tarball.
dist: dist-python dist-c
	@ls -l $(DIST)

$(MATURIN):
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check maturin==$(MATURIN_VERSION)

dist-python: $(MATURIN)
	mkdir -p $(DIST)
	rm -f $(DIST)/xconnauth-*.whl $(DIST)/xconnauth-*.tar.gz
	$(MATURIN) build --quiet --release --manifest-path python/Cargo.toml --out $(DIST)
	$(MATURIN) sdist --manifest-path python/Cargo.toml --out $(DIST)

# A relocatable tree (the .pc finds its prefix from its own place, ${pcfiledir}): unpack
# it into any prefix with `tar -xzf ... -C PREFIX --strip-components=1`.
dist-c:
	rm -rf $(DIST)/$(C_PKG) $(C_TARBALL)
	$(MAKE) --no-print-directory -C ffi install PREFIX=$(abspath $(DIST)/$(C_PKG)) \
	    PC_PREFIX='$$$${pcfiledir}/../..' PC_LIBDIR='$$$${prefix}/lib' PC_INCLUDEDIR='$$$${prefix}/include'
	install -d $(DIST)/$(C_PKG)/share/doc/xconnauth
	install -m 644 LICENSE LICENSE-MIT LICENSE-APACHE README.md CHANGELOG.md docs/contract.md \
	    $(DIST)/$(C_PKG)/share/doc/xconnauth/
	tar -C $(DIST) --owner=0 --group=0 --sort=name -czf $(C_TARBALL) $(C_PKG)
	rm -rf $(DIST)/$(C_PKG)
	@echo "$(C_TARBALL)"

## The C library (header, libxconnauth.so.N + .so link, .a, xconnauth.pc) into PREFIX.
install:
	$(MAKE) --no-print-directory -C ffi install PREFIX=$(PREFIX)

uninstall:
	$(MAKE) --no-print-directory -C ffi uninstall PREFIX=$(PREFIX)

# `cargo package` (with its verify build) of every crate meant for crates.io.
# Packaged together: cargo resolves xconnauth-remote's dependency on xconnauth from the
# package being made, not from crates.io.
PUBLISHED_CRATES := xconnauth xconnauth-remote
package:
	$(CARGO) package --locked $(addprefix -p ,$(PUBLISHED_CRATES))
