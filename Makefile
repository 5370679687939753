# Front door. `make` builds, `make test` runs every test, `make demo` runs a
# whole backup and restore against hci-sim, `make bench` measures.
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure test demo bench install clean asan

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan:
	$(MAKE) BUILD=build-asan CMAKE_FLAGS=-DHCI_SANITIZE=ON test

demo: all
	examples/demo.sh $(BUILD)/bin

bench: all
	bench/run.sh $(BUILD)/bin

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)
	@echo "installed: tools in $(PREFIX)/bin, man pages in $(PREFIX)/share/man," \
	      "examples (backup-vm.sh, restore-disk.sh, Makefile...) in $(PREFIX)/share/doc/hci-backup/examples"

clean:
	rm -rf $(BUILD) build-asan
