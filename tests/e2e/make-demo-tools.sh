#!/bin/bash
# make demo builds the tools the demo runs, not the unit tests: its build step
# is the CMake target "tools", and that target (with everything it depends on)
# compiles no tests/unit source but every tool's main.cpp.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
build=$HCI_BUILD_DIR
[ -f "$build/CMakeCache.txt" ] || skip "no build directory at $build"
unset MAKEFLAGS MFLAGS MAKELEVEL

# What make demo would run (-n: nothing runs, deps and demo.sh included).
make -C "$HCI_SOURCE_DIR" -n demo BUILD="$build" >"$T/demo.n" 2>&1 || { cat "$T/demo.n"; die "make -n demo failed"; }
grep -q "cmake --build $build .*--target tools" "$T/demo.n" || die "make demo does not build the target tools: $(cat "$T/demo.n")"
grep -v -- '--target' "$T/demo.n" | grep -q 'cmake --build' && die "make demo also builds everything: $(cat "$T/demo.n")"
grep -q 'examples/demo.sh' "$T/demo.n" || die "make demo does not run examples/demo.sh: $(cat "$T/demo.n")"

# What the target builds, every step as if nothing were built yet (-B -n: the
# Makefile generator prints each compile command; nothing is compiled).
generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build/CMakeCache.txt")
if [ "$generator" != "Unix Makefiles" ]; then
    echo "SKIP: the tools target's contents (generator $generator, not Unix Makefiles)"
else
    make -C "$build" -B -n tools >"$T/tools.n" 2>&1 || { tail "$T/tools.n"; die "make -n tools failed"; }
    ! grep -q 'tests/unit/' "$T/tools.n" || die "the tools target compiles unit tests: $(grep -m3 'tests/unit/' "$T/tools.n")"
    for dir in "$HCI_SOURCE_DIR"/tools/*/; do
        grep -q "tools/$(basename "$dir")/main.cpp" "$T/tools.n" || die "the tools target does not build $(basename "$dir")"
    done
fi
echo "ok: make demo builds the target tools (every tool, no unit test)"
