#!/bin/bash
# Every request body our hci-* tools send validates against the vendor's
# request schema (bodies captured with HCI_DUMP_REQUESTS, never the login).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
validate="$HCI_SOURCE_DIR/tests/schema/validate.py"
[ -f "$validate" ] || die "tests/schema/validate.py is missing"
start_sim --no-tgtd

export HCI_DUMP_REQUESTS="$T/requests"
for tool in vm-get snap-create task-wait snap-luns lun-export lun-unexport snap-delete; do mkdir -p "$HCI_DUMP_REQUESTS/$tool"; done
d() { HCI_DUMP_REQUESTS="$T/requests/$1"; export HCI_DUMP_REQUESTS; }
d vm-get; hci-vm-get --name web01 --name db01 > "$T/vms.jsonl"
hci-vm-get --where '{"name_starts_with":"web"}' > /dev/null
printf 'db01\n' | hci-vm-get > /dev/null
d snap-create; hci-snap-create < "$T/vms.jsonl" 2>/dev/null > "$T/created.jsonl"
d task-wait; hci-task-wait < "$T/created.jsonl" > "$T/snaps.jsonl"
d snap-luns; hci-snap-luns < "$T/snaps.jsonl" > "$T/disks.jsonl"
d lun-export; hci-lun-export --target backup-tgt --portal 192.0.2.1 < "$T/disks.jsonl" > "$T/exported.jsonl"
hci-lun-export --target backup-tgt < /dev/null 2>/dev/null || true  # asks get-clusters for the iscsi_vip
d lun-unexport; hci-lun-unexport < "$T/exported.jsonl" > /dev/null
hci-lun-unexport --stale hci-backup- --delete > /dev/null
d snap-delete; hci-snap-delete < "$T/disks.jsonl" > /dev/null

# One validator run per operation (it takes JSON lines), each body checked on its own.
count=0
for f in "$T"/requests/*/*.json; do
    [ -e "$f" ] || die "no request bodies were dumped"
    op=$(basename "$f" .json); op=${op#*-}
    [ "$op" != login ] || die "the login body (with the password) was dumped"
    ! grep -qF "$CLOUDTOWER_TOKEN" "$f" || die "$f contains the token"
    jq -c . "$f" >> "$T/by-op.$op.jsonl"
    count=$((count + 1))
done
for lines in "$T"/by-op.*.jsonl; do
    op=$(basename "$lines" .jsonl); op=${op#by-op.}
    python3 "$validate" request "$op" "$lines" || die "$op request bodies do not validate: $(cat "$lines")"
done
for op in get-vms create-vm-snapshot get-tasks get-vm-snapshots get-iscsi-lun-snapshots delete-vm-snapshot \
    get-iscsi-targets get-clusters clone-iscsi-lun-from-snapshot get-iscsi-luns delete-iscsi-lun; do
    [ -s "$T/by-op.$op.jsonl" ] || die "no $op request was checked"
done
echo "ok: $count request bodies validate"
