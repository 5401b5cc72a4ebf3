# vmmkit top-level targets.  The real build is CMake; this file only strings
# the steps together so a fresh Debian 12 clone needs one command.
#
#   make demo    set up, build, fetch the guest, boot it to a shell
#   make check   set up, build, run every test (unit, native KVM, both again
#                under ASan+UBSan, a bounded fuzz run of every harness, arm64
#                guest boots with a UBSan program and ASan arm64 test
#                programs, x86_64 guest boots)

SHELL := /bin/bash
BUILD ?= build
BUILD_ARM64 ?= build-arm64
BUILD_X86_64 ?= build-x86_64
BUILD_ASAN ?= build-asan
BUILD_ARM64_UBSAN ?= build-arm64-ubsan
BUILD_ARM64_ASAN ?= build-arm64-asan
JOBS ?= $(shell nproc)
CACHE = $(shell . scripts/lib.sh && vmmkit_cache)

.PHONY: all setup build native arm64 x86_64 guest demo check unit guest-tests bench clean format \
        fuzz-check fuzz sanitize arm64-sanitized

all: build

setup:
	@scripts/setup

native: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

arm64: setup
	@VMMKIT_ARM64_SYSROOT=$(CACHE)/sysroot-arm64 cmake -S . -B $(BUILD_ARM64) \
	    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	    -DVMMKIT_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_ARM64) -j$(JOBS)

# The static x86_64 program that sim/x86_64 runs (build-x86_64/vmmkit).
x86_64: setup
	@cmake -S . -B $(BUILD_X86_64) -DVMMKIT_STATIC=ON -DVMMKIT_TESTS=OFF \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_X86_64) -j$(JOBS) --target vmmkit

build: native arm64 x86_64

# Sanitizer builds (CMakeLists.txt VMMKIT_SANITIZE): the native unit and
# backend tests under ASan+UBSan; for the simulated host a static program
# with trapping UBSan and the arm64 test programs under ASan+UBSan.
sanitize: setup
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMMKIT_SANITIZE=address >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS)
	@cd $(BUILD_ASAN) && ctest --output-on-failure

arm64-sanitized: setup
	@VMMKIT_ARM64_SYSROOT=$(CACHE)/sysroot-arm64 cmake -S . -B $(BUILD_ARM64_UBSAN) \
	    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DVMMKIT_STATIC=ON \
	    -DVMMKIT_SANITIZE=undefined-trap -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_ARM64_UBSAN) -j$(JOBS)
	@VMMKIT_ARM64_SYSROOT=$(CACHE)/sysroot-arm64 cmake -S . -B $(BUILD_ARM64_ASAN) \
	    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	    -DVMMKIT_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_ARM64_ASAN) -j$(JOBS)

guest: setup
	@guest/fetch-assets
	@guest/fetch-assets --arch x86_64

# Boot the default guest to an interactive shell inside the simulated
# arm64 KVM host.  Quit the guest with "poweroff" (or Ctrl-A x).
demo: build guest
	@eval "$$(guest/fetch-assets --print)" && \
	    VMMKIT_BIN=$(BUILD_ARM64)/vmmkit sim/arm64 -- \
	    vmmkit run --kernel "$$GUEST_KERNEL" --initrd "$$GUEST_INITRD" --mem 512M --cpus 2

unit: native
	@cd $(BUILD) && ctest --output-on-failure

guest-tests: build guest
	@tests/guest/run
	@tests/guest/run-x86

check: build guest
	@cd $(BUILD) && ctest --output-on-failure
	@$(MAKE) --no-print-directory sanitize
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory arm64-sanitized
	@VMMKIT_BIN=$(BUILD_ARM64_UBSAN)/vmmkit ARM64_TESTS=$(BUILD_ARM64_ASAN)/tests tests/guest/run
	@tests/guest/run-x86

bench: build guest
	@bench/boot
	@bench/io

# libFuzzer harnesses (tests/fuzz/README.md), in a separate clang build with
# sanitizers: fuzz-check runs each fuzzer for 10 s, fuzz for 5 minutes.
fuzz-check: setup
	@CC=clang cmake -S . -B build-fuzz -DVMMKIT_FUZZ=ON -DVMMKIT_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	@cd build-fuzz && ctest -L fuzz --output-on-failure

fuzz:
	@VMMKIT_FUZZ_SECONDS=300 $(MAKE) --no-print-directory fuzz-check

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ARM64) $(BUILD_X86_64) $(BUILD_ASAN) $(BUILD_ARM64_UBSAN) $(BUILD_ARM64_ASAN) build-fuzz
