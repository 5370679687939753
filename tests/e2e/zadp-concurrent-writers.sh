#!/bin/bash
# Two zadp-write into one file (new or existing) or one block device: the
# second fails at once (exit 7, says the target is busy) and the first
# finishes with exactly its own image. A mounted device is refused too.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/a.img"
mkimg "$T/b.img"
zadp-read --source "$T/a.img" > "$T/a.zs"
zadp-read --source "$T/b.img" > "$T/b.zs"
HEADER_AND_SOME=$(rec "$T/a.zs" DATA 2 3)  # stream bytes up to the end of the 2nd DATA record

# start_first TARGET: a zadp-write into TARGET that has read part of a.zs and
# waits for the rest on the FIFO (fd 3 stays open until finish_first).
# --force everywhere: the targets that exist hold data, and the lock is what
# is tested here, not no-clobber.
start_first() {
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    zadp-write --force --target "$1" < "$T/fifo" 2>"$T/first.err" &
    FIRST=$!
    exec 3>"$T/fifo"
    head -c "$HEADER_AND_SOME" "$T/a.zs" >&3
}

finish_first() {
    tail -c +"$((HEADER_AND_SOME + 1))" "$T/a.zs" >&3
    exec 3>&-
    wait "$FIRST" || { cat "$T/first.err" >&2; die "first writer failed"; }
}

# wait_until CMD...: polls CMD (the first writer's progress), at most 30 s.
wait_until() {
    local i
    for i in $(seq 300); do "$@" && return 0; sleep 0.1; done
    die "gave up waiting for: $*"
}

temp_file_exists() { compgen -G "$T/out/.new.img.zadp-tmp.??????" >/dev/null; }
file_locked() { ! flock -n -s "$1" true; }

# second TARGET PATTERN: a second writer fails with exit 7, naming the cause.
second() {
    local rc=0
    zadp-write --force --target "$1" < "$T/b.zs" 2>"$T/second.err" || rc=$?
    cat "$T/second.err" >&2
    [ "$rc" -eq 7 ] || die "second writer: expected exit 7, got $rc"
    grep -q -- "$2" "$T/second.err" || die "second writer's message does not say '$2'"
}

# A new file: the first writer's temporary file is locked.
mkdir "$T/out"
start_first "$T/out/new.img"
wait_until temp_file_exists
second "$T/out/new.img" "being created by another process"
finish_first
cmp "$T/a.img" "$T/out/new.img" || die "new file does not hold the first writer's image"
[ "$(ls -A "$T/out")" = new.img ] || die "left over in the directory: $(ls -A "$T/out")"

# The same file, now existing: written in place under the lock.
cp "$T/b.img" "$T/out/new.img"
start_first "$T/out/new.img"
wait_until file_locked "$T/out/new.img"
second "$T/out/new.img" "being written by another process"
finish_first
cmp "$T/a.img" "$T/out/new.img" || die "existing file does not hold the first writer's image"

# Writers one after the other are fine.
zadp-write --force --target "$T/out/new.img" < "$T/b.zs"
cmp "$T/b.img" "$T/out/new.img" || die "a later writer was refused or wrote wrong data"

# Block devices: opened O_EXCL.
[ "$(id -u)" -eq 0 ] || skip "needs root for losetup (file targets passed)"
command -v losetup >/dev/null || skip "losetup not installed (file targets passed)"
cp "$T/b.img" "$T/dev.img"
DEV=$(losetup -f --show "$T/dev.img" 2>/dev/null) || skip "cannot set up a loop device here (file targets passed)"
on_exit "losetup -d $DEV"
start_first "$DEV"
# The first writer opens the device once it has read the header.
wait_until bash -c "ls -l /proc/$FIRST/fd 2>/dev/null | grep -q '$DEV'"
second "$DEV" "in use"
finish_first
cmp "$T/a.img" "$DEV" || die "device does not hold the first writer's image"

# A mounted device is refused before anything is written.
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed (unmounted device passed)"
mkfs.ext4 -q -F "$DEV" >/dev/null 2>&1 || skip "mkfs.ext4 failed on $DEV"
mkdir "$T/mnt"
mount "$DEV" "$T/mnt" 2>/dev/null || skip "cannot mount here (unmounted device passed)"
on_exit "umount $T/mnt"
# (refused when opening, so before any write)
second "$DEV" "in use (mounted"
echo ok
