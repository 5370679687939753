#!/bin/bash
# Two VMs cloned from one template share its chunks: the second VM's first
# backup stores only what differs from the template. A group belongs to one
# VM: a stream of another VM is refused there.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 256K >/dev/null
randimg "$T/template.img" $((16 << 20))
for vm in a b; do
    cp "$T/template.img" "$T/$vm.img"
    dd if=/dev/urandom of="$T/$vm.img" bs=256K count=2 seek=$([ $vm = a ] && echo 3 || echo 40) conv=notrunc status=none
done
line() { printf '{"vm":{"id":"vm-%s","name":"web-%s"},"source":"%s"}' "$1" "$1" "$2"; }
zadp-read --line "$(line a "$T/a.img")" | zadp-write --target repo:web-a/2026-11-28T020000Z/disk0 > "$T/a.json"
zadp-read --line "$(line b "$T/b.img")" | zadp-write --target repo:web-b/2026-11-28T020000Z/disk0 > "$T/b.json"
jq -e '.new_chunks == 64' "$T/a.json" >/dev/null || die "first VM: $(cat "$T/a.json")"
# B stores its own two changed chunks and the two template chunks A changed.
jq -e '.new_chunks == 4 and .reused_chunks == 60' "$T/b.json" >/dev/null || die "second VM: $(cat "$T/b.json")"
[ "$(chunk_count)" = 68 ] || die "$(chunk_count) chunk files, expected 68"
restores_to "$T/a.img" web-a/2026-11-28T020000Z/disk0
restores_to "$T/b.img" web-b/2026-11-28T020000Z/disk0
zadp-repo ls web-b | jq -e '.vm_id == "vm-b" and .identity.vm.name == "web-b"' >/dev/null || die "VM id not recorded"
# web-a's group is VM a's: a stream of VM b is refused there.
zadp-read --line "$(line b "$T/b.img")" | { zadp-write --target repo:web-a/2026-11-29T020000Z/disk0 2>"$T/err" && exit 9 || exit $?; } || rc=$?
[ "${rc:-0}" = 2 ] || die "another VM's stream into web-a: exit ${rc:-0}, expected 2"
grep -q "holds backups of VM" "$T/err" || die "unclear message: $(cat "$T/err")"
echo "ok: clones of one template share chunks"
