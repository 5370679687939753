#!/bin/bash
# restore-files.sh --backend guestfs: libguestfs reads a served restore
# point by its NBD URI (nbd://?socket=...) and copies a file out of an ext4
# partition of a disk without an operating system (inspection finds none,
# so each file system is mounted alone). Needs libguestfs and KVM: without
# KVM its appliance boots under TCG in about 70 s per launch on this kind of
# machine (three launches here), beyond what a scenario may take; set
# HCI_TEST_GUESTFS_TCG=1 to run it anyway.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd guestfish mkfs.ext4 sfdisk
[ -w /dev/kvm ] || [ "${HCI_TEST_GUESTFS_TCG:-}" = 1 ] ||
    skip "no /dev/kvm: libguestfs' appliance would boot under TCG (~70 s a launch); HCI_TEST_GUESTFS_TCG=1 runs it"
export LIBGUESTFS_BACKEND=direct

mkdir -p "$T/src/etc"
echo "guest web01" > "$T/src/etc/hostname"
ext4_disk "$T/disk0.img" "$T/src"
zadp-repo init --chunk-size 64K >/dev/null
store "$T/disk0.img" vm1/2026-11-28T020000Z/disk0
"$HCI_SOURCE_DIR/examples/restore-files.sh" --backend guestfs repo:vm1/2026-11-28T020000Z /etc/hostname "$T/got" \
    > "$T/line" 2>"$T/log" || die "restore-files --backend guestfs: $(cat "$T/log")"
cmp "$T/src/etc/hostname" "$T/got/hostname" || die "libguestfs copied other bytes"
jq -e '.backend == "guestfs" and .partition == "/dev/sda1"' "$T/line" >/dev/null || die "line: $(cat "$T/line")"
echo "ok: libguestfs reads a served restore point"
