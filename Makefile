# SPDX-License-Identifier: Apache-2.0
# Convenience targets around CMake.  `make demo` builds and shows airlock at
# work; `make check` runs every test: unit tests, the attack suite as root
# and rootless, the same again under ASan+UBSan, and a short fuzzing run.
BUILD ?= build
BUILD_ASAN ?= build-asan
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc)

.PHONY: all build demo check check-matrix test test-asan fuzz bench clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	scripts/demo.sh $(BUILD)/airlock

test: build
	cd $(BUILD) && ctest --output-on-failure

test-asan:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DAIRLOCK_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure -LE 'package|install|matrix'

fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

# the cgroup layouts this host does not have (pure v2, v1, hybrid), each in
# a VM (tests/matrix/); `make test` runs it too, the ASan stage does not
check-matrix: build
	cd $(BUILD) && ctest --output-on-failure -L matrix

check: test test-asan fuzz
	@echo "make check: all test stages passed"

bench: build
	bench/launch.sh --airlock $(BUILD)/airlock
	bench/egress.sh --bin $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz build-bench
