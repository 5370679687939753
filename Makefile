# Front door. `make` builds, `make test` runs every test, `make demo` runs a
# whole backup and restore against hci-sim, `make bench` measures, `make asan`
# runs the tests again under ASan+UBSan (all but those labelled "script",
# whose subject is the example scripts; CTEST_FLAGS passes more to ctest),
# `make tsan` runs the repository's unit tests and repo e2e scenarios under
# ThreadSanitizer, `make fuzz` runs
# the libFuzzer targets for FUZZ_SECONDS each (tests/fuzz/README.md).
# WERROR=ON or OFF sets HCI_WERROR (warnings are errors) in the build
# directory; test, asan, tsan and fuzz turn it on, a plain `make` leaves the
# directory's setting (OFF when it is new).
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
werror_flag = $(if $(WERROR),-DHCI_WERROR=$(WERROR))

.PHONY: all deps configure test demo bench install clean asan tsan fuzz

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) $(werror_flag)
	@test -z "$(WERROR)" || grep -qx 'HCI_WERROR:BOOL=$(WERROR)' $(BUILD)/CMakeCache.txt || \
		cmake -S . -B $(BUILD) $(werror_flag)

# CI and developers: every warning is an error (make test WERROR=OFF to relax).
test asan tsan fuzz: WERROR ?= ON
# The S3 tests run against a one-node Ceph RGW (scripts/rgw-testbed.sh, a
# ctest fixture); where Ceph cannot be installed they are reported skipped.
test: all
	@scripts/install-deps.sh --rgw || echo "make test: Ceph could not be installed: the S3 tests will be skipped" >&2
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

asan:
	$(MAKE) BUILD=build-asan CMAKE_FLAGS=-DHCI_SANITIZE=ON WERROR=$(WERROR) CTEST_FLAGS="-LE script" test

# Only what runs the repository's worker threads: under TSan the whole suite
# would be too slow (unit-repo and every e2e scenario whose name has "repo").
tsan:
	$(MAKE) BUILD=build-tsan CMAKE_FLAGS=-DHCI_TSAN=ON WERROR=$(WERROR) all
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -R repo

# libFuzzer needs clang (install-deps.sh --fuzz; not part of `make test`).
fuzz: deps
	@scripts/install-deps.sh --fuzz
	@test -f build-fuzz/CMakeCache.txt || CXX=clang++ cmake -S . -B build-fuzz -DHCI_FUZZ=ON $(CMAKE_FLAGS) $(werror_flag)
	cmake --build build-fuzz -j $(JOBS) --target fuzzers
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# The demo runs the tools only: it builds them, not the unit tests (on a fresh
# machine 86 of the 109 sources, and not Catch2's main or the fuzz seeds).
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target tools
	examples/demo.sh $(BUILD)/bin

bench: all
	@scripts/install-deps.sh --bench || echo "make bench: restic, borg or fio could not be installed: their rows will say so" >&2
	@scripts/install-deps.sh --rgw || echo "make bench: Ceph could not be installed: the S3 rows will be skipped" >&2
	bench/run.sh $(BUILD)/bin

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)
	@echo "installed: tools in $(PREFIX)/bin, man pages in $(PREFIX)/share/man," \
	      "examples (backup-vm.sh, restore-disk.sh, Makefile...) in $(PREFIX)/share/doc/hci-backup/examples," \
	      "systemd units (hci-backup@.timer, not enabled) in $(PREFIX)/lib/systemd/system," \
	      "bash completion in $(PREFIX)/share/bash-completion/completions"

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
