#!/bin/bash
# backup-vm.sh --progress labels each progress bar with the VM, the disk and
# whether it is the read or the verify ("demo-vm disk 0 read: ... 100%"), and
# a label never carries a control character from a VM name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_backup_sim
backup_vm --progress demo-vm "$T/b"
disks=$(jq '.disks | length' "$T/b/demo-vm.backup.json")
[ "$disks" -ge 1 ] || die "no disk saved; the test proves nothing"
for i in $(jq -r '.disks[].index' "$T/b/demo-vm.backup.json"); do
    for what in read verify; do
        tr '\r' '\n' <"$T/backup.err" | grep -q "^demo-vm disk $i $what: .* 100%" ||
            die "no labelled '$what' bar for disk $i: $(cat -v "$T/backup.err")"
    done
done
# The meter's own cleaning, for labels that come from elsewhere.
zadp-read --progress --progress-label "$(printf 'evil\033]0;title\007name')" --source "$HCI_SOURCE_DIR/README.md" \
    >/dev/null 2>"$T/label.err" || die "zadp-read --progress-label failed"
grep -q 'evil?\]0;title?name: ' "$T/label.err" || die "control characters in a label were not neutralised: $(cat -v "$T/label.err")"
echo "ok: $disks disk(s), each with a labelled read and verify bar"
