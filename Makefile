# xconnauth: the two commands a new user needs are `make demo` and `make test`.
# Everything here also runs in CI through .ci/run (which installs the tools first).

CARGO ?= cargo
SAMPLE := examples/keycloak
NOW := $(shell cat $(SAMPLE)/now.txt)
VERIFY := $(CARGO) run -q -p xconnauth-cli -- verify --jwks $(SAMPLE)/jwks.json --policy $(SAMPLE)/policy.json --now $(NOW)

.PHONY: demo see-it-work test lint test-rust test-nostd test-bench test-ffi test-python \
	test-flows test-e2e test-cortex-m fuzz-smoke

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

## Every check CI runs.
test: lint test-rust test-nostd test-bench test-ffi test-python test-flows test-e2e test-cortex-m fuzz-smoke
	@echo "all tests passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p xconnauth --no-default-features -- -D warnings

test-rust:
	$(CARGO) test --workspace

# A target without std proves the core and its whole dependency graph are no_std.
test-nostd:
	$(CARGO) build -p xconnauth --no-default-features --target thumbv7em-none-eabihf

# Each criterion bench once, as a test (the real run: cargo bench -p xconnauth-benches).
test-bench:
	$(CARGO) bench -p xconnauth-benches -- --test

# C ABI: header freshness is a cargo test; this runs the C tests (ASan+UBSan, valgrind),
# the corpus through ctypes, the pkg-config install example and the Mono test.
test-ffi:
	bash ffi/tests/run_c_tests.sh

# Python: pip install ./python into a venv, pytest (corpus included), mypy --strict, stubtest.
test-python:
	bash python/run_tests.sh

# The remote service (C and .NET through libxconnauth) and the i2 Connect-style connector,
# each started by its tests on 127.0.0.1. Reuses the release libxconnauth and the venv
# that test-ffi and test-python built.
test-flows:
	bash examples/remote-service/run_tests.sh
	bash examples/connector/run_tests.sh

# End to end: local Keycloak-style issuer, proxy, upstream; rotation, outage, kid storm.
test-e2e:
	bash examples/e2e/run_tests.sh -q

# The core on a Cortex-M4F under QEMU (mps2-an386): verdicts, flash, heap, stack, instructions.
test-cortex-m:
	bash examples/cortex-m/run.sh

# Bounded fuzzing of every target (nightly + cargo-fuzz, installed if missing);
# long runs: FUZZ_SECONDS=1800 make fuzz-smoke.
fuzz-smoke:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-30} bash fuzz/smoke.sh
