#!/bin/bash
# examples/Makefile keys VMs by id, not name: VMs whose names hold spaces,
# quotes, $, /, *, a newline or non-ASCII UTF-8, and two VMs that share a
# name, are all backed up (none skipped), each under its own id with a
# manifest that names it; make exits 0 only because every one was saved.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
names='["vm with spaces", "vm\"double'"'"'single", "vm$HOME$(id)`id`", "a/b/../c", "*", "line1\nline2",
        "виртуалка-ü-虚拟机", "twin", "twin", "-rf", ".."]'
backup_scenario '[$names[] | {name: ., cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING",
                  vm_tools_status: "RUNNING", disks: [{type: "DISK", bus: "VIRTIO", size: 1048576}]}]' \
    --argjson names "$names"
start_backup_sim "$T/scenario.json"
sim_api get-vms '{}' | jq -c '.[] | {id, name}' >"$T/vms.jsonl"
[ "$(wc -l <"$T/vms.jsonl")" -eq 11 ] || die "the simulator does not have the 11 VMs"
n=0
while IFS= read -r vm; do
    id=$(jq -r .id <<<"$vm")
    sim_admin disk-write "$(jq -nc --arg id "$id" --argjson s $((n += 1)) '{vm: $id, disk: 0, offset: 4096, random: {seed: $s, length: 65536}}')" >/dev/null
done <"$T/vms.jsonl"

B=$T/backups
unset MAKEFLAGS MFLAGS MAKELEVEL
rc=0
make -f "$HCI_SOURCE_DIR/examples/Makefile" -j 3 BACKUP_DIR="$B" RUN=r1 >"$T/make.log" 2>&1 || rc=$?
cat "$T/make.log" >&2
[ $rc -eq 0 ] || die "make failed (exit $rc)"
grep -q 'skipping' "$T/make.log" && die "make skipped a VM"

while IFS= read -r vm; do
    id=$(jq -r .id <<<"$vm")
    m=$(find "$B/$id/r1" -maxdepth 1 -name '*.backup.json' 2>/dev/null)
    [ -n "$m" ] || die "VM $vm was not backed up"
    jq -e --argjson vm "$vm" '.complete and .vm.id == $vm.id and .vm.name == $vm.name and (.disks | length == 1)' "$m" \
        >/dev/null || die "the manifest of $vm is wrong: $(cat "$m")"
    stream=$B/$id/r1/$(jq -r '.disks[0].stream.file' "$m")
    rm -f "$T/restored.img"
    zstd -dc "$stream" | zadp-write --target "$T/restored.img" || die "the stream of $vm does not restore"
    got=$(sha256sum <"$T/restored.img" | cut -d' ' -f1)
    want=$(sim_admin digest "$(jq -nc --arg id "$id" '{vm: $id, disk: 0}')" | jq -r .sha256)
    [ "$got" = "$want" ] || die "the stream of $vm does not hold its disk"
done <"$T/vms.jsonl"
# Nothing outside BACKUP_DIR/ID/r1: a name cannot pick a path.
extra=$(cd "$B" && find . -mindepth 1 -maxdepth 2 ! -name r1 | grep -v -x -F -f <(jq -r '"./" + .id' "$T/vms.jsonl") || true)
[ -z "$extra" ] || die "unexpected paths in BACKUP_DIR: $extra"

st=$(make -f "$HCI_SOURCE_DIR/examples/Makefile" status BACKUP_DIR="$B" RUN=r1)
[ "$(grep -c ' r1$' <<<"$st")" -eq 11 ] || die "status does not show 11 backups: $st"
grep -qF '"line1\nline2"' <<<"$st" || die "status does not show the newline name escaped: $st"
echo "ok: 11 VMs with unusual or shared names all backed up by id"
