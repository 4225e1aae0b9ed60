# Thin wrapper: install what is missing, configure, build, then run.
# The real build is CMake (CMakeLists.txt); see README.md.

# erlang-base: the appup differential tests compare with OTP's own systools;
# redis-tools: e2e.kvs_redis drives the Redis-protocol store with the stock
# redis-cli and redis-benchmark; redis-server: make bench runs the store
# against Debian's real one (bench/kvs/run.sh); prometheus: runtime.obs checks
# the metrics text with promtool; systemtap-sdt-dev: <sys/sdt.h> for the USDT
# probes, and bpftrace to see them fire (e2e.probes skips, saying so, where
# it cannot attach); openssh-client: ssh-keygen signs the tags of
# e2e.hermetic_build and docs/releases.md's signed-tag section (e2e.build_doc).
PACKAGES := cmake pkg-config build-essential git libarchive-dev libcjson-dev \
	libgit2-dev check libsodium-dev libsystemd-dev libpcre2-dev zlib1g-dev clang libclang-rt-14-dev clang-format \
	erlang-base redis-tools prometheus systemtap-sdt-dev bpftrace openssh-client
BENCH_PACKAGES := valgrind liburcu-dev libck-dev redis-server
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
SANBUILD ?= build-san
TSANBUILD ?= build-tsan
# What the ThreadSanitizer run needs: the runtime suites (their fixtures
# and moltd/molt come as dependencies), not the whole tree.
TSAN_TARGETS := runtime_suites
# TSan maps its shadow memory at fixed addresses; with a high
# vm.mmap_rnd_bits (newer kernels) clang 14's runtime dies with "unexpected
# memory mapping". Running without address randomisation avoids it.
SETARCH := $(shell setarch $$(uname -m) -R true >/dev/null 2>&1 && echo setarch $$(uname -m) -R)
CMAKE_FLAGS ?=
# CI (CI=true) builds with -Werror; by default warnings do not stop a build.
ifneq ($(CI),)
CMAKE_FLAGS += -DMOLT_WERROR=ON
endif

.PHONY: all deps bench-deps build build-san build-tsan test test-normal test-san demo tour bench fuzz format format-check clean

all: build

deps:
	@MOLT_PACKAGES="$(PACKAGES)" sh scripts/install-deps.sh

bench-deps:
	@MOLT_PACKAGES="$(PACKAGES) $(BENCH_PACKAGES)" sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# The sanitizer build uses clang, which also builds the libFuzzer targets.
build-san: deps
	CC=clang cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DMOLT_SANITIZE=ON -DMOLT_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(SANBUILD) -j $(JOBS)

# ThreadSanitizer: only the runtime suites (the threads live there).
build-tsan: deps
	CC=clang cmake -S . -B $(TSANBUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOLT_TSAN=ON $(CMAKE_FLAGS)
	cmake --build $(TSANBUILD) -j $(JOBS) --target $(TSAN_TARGETS)

# Formatting, then the three builds and their test runs: the normal one,
# ASan + UBSan (with the fuzzers), then TSan on the runtime suites.
test: format-check build build-san build-tsan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(SANBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)
	cd $(TSANBUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		$(SETARCH) ctest --output-on-failure -j $(JOBS) -R '^runtime\.'

demo: build
	bash scripts/demo.sh $(BUILD)

# The runtime on its own: supervision, a crash and restart, a hot load.
tour: build
	bash scripts/runtime-tour.sh $(BUILD)

# stdout carries only `name value unit` lines: the build talks on stderr.
bench: bench-deps
	@$(MAKE) --no-print-directory build >&2
	@bash bench/run.sh $(BUILD)

format:
	find common appup runtime releasetool fixtures tests bench -name '*.[ch]' | xargs clang-format -i

format-check: deps
	find common appup runtime releasetool fixtures tests bench -name '*.[ch]' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(SANBUILD) $(TSANBUILD)
