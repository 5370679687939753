#!/bin/bash
# The example scripts never put a secret on a command line (anyone on the
# host can read /proc/PID/cmdline): every execve of backup-vm.sh with a token,
# and of restore-disk.sh --new-lun logging in with a password, is traced, and
# neither the token nor the password appears in any argument.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline
command -v strace >/dev/null || skip "strace not installed (Debian package strace)"
strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
# Under make asan, LeakSanitizer refuses to run in a traced process (and fails
# it); the other scenarios check for leaks, this one only watches argv.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

start_backup_sim "" 100
vol=$(sim_admin volume-path '{"vm":"demo-vm","disk":0}' | jq -r .path)
head -c 1048576 /dev/urandom | dd of="$vol" bs=1M seek=3 conv=notrunc status=none

# 1. A backup with CLOUDTOWER_TOKEN in the environment.
strace -f -qq -e trace=execve -s 100000 -o "$T/backup.trace" \
    "$HCI_SOURCE_DIR/examples/backup-vm.sh" demo-vm "$T/b" 2>"$T/backup.err" ||
    { cat "$T/backup.err" >&2; die "backup failed"; }
for tool in hci-snap-create hci-lun-export hci-lun-unexport zadp-read zadp-write; do
    grep -q "execve(\"[^\"]*/$tool\"" "$T/backup.trace" || die "the trace has no $tool: it proves nothing"
done
! grep -qF "$CLOUDTOWER_TOKEN" "$T/backup.trace" || die "the token appears on a command line: $(grep -F "$CLOUDTOWER_TOKEN" "$T/backup.trace" | head -n 3)"

# 2. A restore into a new LUN, logging in with a user name and password.
password=${SIM_PASSWORD:-admin-password}
env -u CLOUDTOWER_TOKEN CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD="$password" \
    strace -f -qq -e trace=execve -s 100000 -o "$T/restore.trace" \
    "$HCI_SOURCE_DIR/examples/restore-disk.sh" --new-lun backup-tgt "$T/b/demo-vm.disk0.zst" >"$T/restore.out" ||
    die "restore failed"
jq -e .verified "$T/restore.out" >/dev/null || die "restore not verified"
grep -q 'execve("[^"]*/curl"' "$T/restore.trace" || die "the restore trace has no curl: it proves nothing"
! grep -qF "$password" "$T/restore.trace" || die "the password appears on a command line: $(grep -F "$password" "$T/restore.trace" | head -n 3)"
echo "ok: no token or password in any of $(cat "$T"/*.trace | grep -c execve) traced command lines"
