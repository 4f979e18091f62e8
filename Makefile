#  Thin wrapper over CMake + CTest. See README.md.
MAKEFLAGS += --no-print-directory
BUILD        ?= build
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
DEB_BUILD    ?= build-deb
JOBS         ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CONFIG       ?=

.PHONY: all deps build run test test-unit test-asan asan fuzz fuzz-build bench \
        install deb clean format

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

#  Start zmxd in the foreground on its built-in default config (127.0.0.1).
run: build
	$(BUILD)/bin/zmxd $(if $(CONFIG),-c $(CONFIG),)

#  The whole suite, then again under ASan+UBSan, then every fuzzer briefly.
test: test-unit test-asan fuzz

#  As root (as CI runs them), a skipped test fails the target: see
#  scripts/ctest_checked.sh.
test-unit: build
	cd $(BUILD) && $(CURDIR)/scripts/ctest_checked.sh --output-on-failure -j 2

test-asan asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DZMX_SANITIZE=ON \
	    -DZMX_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(CURDIR)/scripts/ctest_checked.sh --output-on-failure -j 2

fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DZMX_FUZZ=ON \
	    -DZMX_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@scripts/bench.sh $(BUILD)

#  Debian packages (libzmx0, libzmx-dev, zmx) in $(DEB_BUILD)/, checked by lintian.
deb: deps
	@scripts/deb.sh $(DEB_BUILD) $(JOBS)

install: build
	cmake --install $(BUILD)

#  Format the files you name: make format FILES="src/core/zmx_new.c ..."
format:
	@test -n "$(FILES)" || { echo 'usage: make format FILES="file.c ..."' >&2; exit 2; }
	clang-format -i $(FILES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
