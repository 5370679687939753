#!/bin/bash
# examples/Makefile backs up the VMs that --where selects, one target per VM,
# with make -j 3: a VM whose backup fails is the only one redone by a rerun of
# the same RUN, and after each successful backup a VM keeps its newest KEEP.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
# Five VMs to back up (nightly-3 has no running VMTools, so a file-system
# consistent snapshot of it fails) and one the filter must leave alone.
backup_scenario '[range(1; 6) | {name: "nightly-\(.)", cluster: "c1", vcpu: 1, memory: 1073741824,
                        status: "RUNNING", vm_tools_status: (if . == 3 then "NOT_RUNNING" else "RUNNING" end),
                        disks: [{type: "DISK", bus: "VIRTIO", size: 4194304}, {type: "CD_ROM", bus: "IDE"}]}]
        + [{name: "other-vm", cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING",
            vm_tools_status: "RUNNING", disks: [{type: "DISK", bus: "VIRTIO", size: 4194304}]}]'
start_backup_sim "$T/scenario.json" 100
for i in 1 2 3 4 5; do
    vol=$(sim_admin volume-path "{\"vm\":\"nightly-$i\",\"disk\":0}" | jq -r .path)
    head -c 1048576 /dev/urandom | dd of="$vol" bs=64k seek=16 conv=notrunc status=none
done

B=$T/backups
# Backups are kept under the VM's id; the manifest names the VM.
id_of() { sim_api get-vms "{\"where\":{\"name\":\"$1\"}}" | jq -r '.[0].id'; }
for i in 1 2 3 4 5; do declare "id$i=$(id_of "nightly-$i")"; done
vmdir() { local v="id$1"; echo "$B/${!v}"; }
# Run by ctest under `make test`: do not inherit the outer make's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
run_make() {
    make -f "$HCI_SOURCE_DIR/examples/Makefile" -j 3 BACKUP_DIR="$B" KEEP=2 \
        WHERE='{"name_starts_with":"nightly-"}' "$@" >>"$T/make.log" 2>&1
}
finished() { find "$(vmdir "$1")" -mindepth 1 -maxdepth 1 -type d ! -name '*.partial' ! -name '.*' -printf '%f\n' | sort | tr '\n' ' '; }

# Run 1: fs consistency everywhere; nightly-3 fails, the other four succeed.
rc=0
run_make RUN=r1 CONSISTENCY=fs || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make succeeded although nightly-3 cannot be snapshotted fs-consistently"; }
for i in 1 2 4 5; do
    jq -e --arg n "nightly-$i" '.complete and (.disks | length == 1) and .vm.name == $n' "$(vmdir $i)/r1/nightly-$i.backup.json" >/dev/null ||
        { cat "$T/make.log"; die "nightly-$i/r1 missing or incomplete"; }
done
[ ! -e "$(vmdir 3)/r1" ] || die "the failed VM has a finished backup"
[ ! -e "$B/$(id_of other-vm)" ] || die "the filter selected other-vm"
st=$(make -f "$HCI_SOURCE_DIR/examples/Makefile" status BACKUP_DIR="$B" RUN=r1 WHERE='{"name_starts_with":"nightly-"}')
grep -q "^$id3  *(none) (last attempt failed)\$" <<<"$st" || die "status does not show the failure: $st"
grep -q "^$id1  *\"nightly-1\"  *r1\$" <<<"$st" || die "status does not show nightly-1's backup: $st"
stamp() { local i; for i in 1 2 4 5; do stat -c '%i %Y' "$(vmdir $i)"/r1/*.backup.json; done; }
before=$(stamp)

# Run 2, same RUN: only nightly-3 is redone.
: >"$T/make.log"
run_make RUN=r1 CONSISTENCY=auto || { cat "$T/make.log"; die "rerun failed"; }
jq -e '.complete' "$(vmdir 3)/r1/nightly-3.backup.json" >/dev/null || die "nightly-3 not redone"
[ "$(stamp)" = "$before" ] || die "the rerun touched backups that had succeeded"
redone=$(grep -c 'backing up into' "$T/make.log" || true)
[ "$redone" -eq 1 ] || { cat "$T/make.log"; die "the rerun started $redone backups, expected 1"; }

# Retention: two more runs with KEEP=2 leave r2 and r3 for every VM.
run_make RUN=r2 || { cat "$T/make.log"; die "run r2 failed"; }
run_make RUN=r3 || { cat "$T/make.log"; die "run r3 failed"; }
for i in 1 2 3 4 5; do
    [ "$(finished $i)" = "r2 r3 " ] || die "nightly-$i keeps '$(finished $i)', expected 'r2 r3 '"
done
[ -z "$(find "$B" -name '*.partial')" ] || die "partial backups left behind"

# Nothing left on the cluster: no clone LUN, no snapshot.
luns=$(sim_api get-iscsi-luns '{"where":{"iscsi_target":{"name":"backup-tgt"}}}' | jq length)
[ "$luns" -eq 0 ] || die "$luns clone LUN(s) left in backup-tgt"
snaps=$(sim_api get-vm-snapshots '{}' | jq length)
[ "$snaps" -eq 0 ] || die "$snaps VM snapshot(s) left"
echo "ok: 5 VMs with -j 3, rerun redid only the failed one, retention kept 2"
