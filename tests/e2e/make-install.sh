#!/bin/bash
# make install puts the tools, the man pages, the examples and the bash
# completion under PREFIX (examples in share/doc/hci-backup/examples, still
# executable; completion in share/bash-completion/completions, one file
# named after each tool) and says where.
# (-o all: the suite runs after the build; the test must not rebuild.)
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
build=$(cd "$(dirname "$(command -v hci-vm-get)")/.." && pwd)
[ -f "$build/CMakeCache.txt" ] || skip "no build directory found next to hci-vm-get"
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$HCI_SOURCE_DIR" -o all install BUILD="$build" PREFIX="$T/p" JOBS=1 >"$T/out" 2>&1 || { cat "$T/out"; die "make install failed"; }
ex=$T/p/share/doc/hci-backup/examples
for f in backup-vm.sh restore-disk.sh Makefile demo-scenario.json; do [ -e "$ex/$f" ] || die "$ex/$f not installed"; done
[ -x "$ex/backup-vm.sh" ] || die "installed backup-vm.sh is not executable"
[ -x "$T/p/bin/zadp-write" ] && [ -e "$T/p/share/man/man7/hci-backup.7" ] || die "tools or man pages missing"
for dir in "$HCI_SOURCE_DIR"/tools/*/; do
    tool=$(basename "$dir")
    cmp -s "$HCI_SOURCE_DIR/completion/hci-backup.bash" "$T/p/share/bash-completion/completions/$tool" ||
        die "no bash completion installed for $tool"
done
# The nbdkit plugin, where it was built: under the prefix, where the
# installed zadp-repo serve looks for it (../lib/nbdkit/plugins/).
if [ -f "$build/lib/nbdkit/plugins/nbdkit-zadp-plugin.so" ]; then
    [ -f "$T/p/lib/nbdkit/plugins/nbdkit-zadp-plugin.so" ] || die "the nbdkit plugin is not installed"
    [ -f "$T/p/share/doc/hci-backup/examples/nbd-lib.sh" ] && [ -x "$T/p/share/doc/hci-backup/examples/restore-files.sh" ] ||
        die "restore-files.sh or nbd-lib.sh not installed"
fi
grep -q "examples.*in $T/p/share/doc/hci-backup/examples" "$T/out" || die "make install does not say where the examples went: $(tail -3 "$T/out")"
echo ok
