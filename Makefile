# Thin wrapper over CMake: the two commands a person needs are `make run`
# (the main job) and `make test` (everything CI checks). Both install what is
# missing first, so they work on a fresh Debian machine.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
QUICK      ?= 0
CASE       ?= switching
JOBS       ?= $(shell nproc)
SOAK_MINUTES ?= 30

.PHONY: all deps build test unit-test asan-test fuzz-test run soak bench format clean install deb

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DSOCKSWITCH_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

unit-test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 300

asan-test: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DSOCKSWITCH_SANITIZE=ON -DSOCKSWITCH_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure --timeout 600

fuzz-test: deps
	@scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Sanitizers and fuzzing first, then the plain build, so the last summary
# printed is the full release test run.
test: asan-test fuzz-test unit-test

# WG=native: warp0 as the switch's own WireGuard port instead of wireguard-go.
WG ?= go
run: build
	@WG=$(WG) scripts/run-main.sh $(BUILD)

# The soak (a benchmark, not in `make test`): the VPS deployment under
# traffic and changes for SOAK_MINUTES; results in $(BUILD)/soak-DATE.
soak: build
	@SOAK_MINUTES=$(SOAK_MINUTES) scripts/soak.sh $(BUILD)

bench: build
	@QUICK=$(QUICK) CASE=$(CASE) scripts/run-bench.sh $(BUILD)

# `cmake --install` into PREFIX (default /usr/local, where the shipped unit
# looks), and the Debian package of the same build (in $(BUILD)).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	@cd $(BUILD) && cpack -G DEB

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) compile_commands.json
