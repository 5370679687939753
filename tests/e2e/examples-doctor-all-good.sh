#!/bin/bash
# hci-backup-doctor on a set-up that works (hci-sim with tgtd, a target that
# admits only this host's IQN, a repository with one night in it): one "ok"
# line per check, each check named, and exit 0.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
doctor=$HCI_SOURCE_DIR/examples/hci-backup-doctor
export ZADP_INITIATOR_IQN=iqn.2026-01.com.example:doctor-host
vm_scenario doc-a:4194304 doc-b:4194304
jq --arg iqn "$ZADP_INITIATOR_IQN" '.iscsi_targets[0].iqn_whitelist = $iqn' "$T/scenario.json" >"$T/s.json"
start_backup_sim "$T/s.json"
sim_admin disk-write '{"vm":"doc-a","disk":0,"offset":0,"random":{"seed":3,"length":2097152}}' >/dev/null
export ZADP_REPO=$T/repo
zadp-repo init >/dev/null
backup_vm doc-a

"$doctor" --where '{"name_starts_with":"doc-"}' >"$T/out" 2>"$T/err" || { cat "$T/out" "$T/err"; die "the doctor failed"; }
cat "$T/out"
for check in tools cloudtower selection target portal repository free-space; do
    grep -qE "^ok +$check " "$T/out" || die "no ok line for $check: $(cat "$T/out")"
done
[ "$(wc -l <"$T/out")" -eq 7 ] || die "expected 7 lines, one per check: $(cat "$T/out")"
grep -q 'selection .* selects 2 VM(s)' "$T/out" || die "the selection's count: $(grep selection "$T/out")"
grep -q "target .*backup-tgt .* admits $ZADP_INITIATOR_IQN" "$T/out" || die "target line: $(grep target "$T/out")"
grep -q 'free-space .* the last runs stored at most' "$T/out" || die "no estimate from the night: $(grep free-space "$T/out")"
[ -z "$(find "$ZADP_REPO" -name '.hci-backup-doctor.*')" ] || die "the doctor left its probe file"
! grep -qF "$CLOUDTOWER_TOKEN" "$T/out" "$T/err" || die "the token in the output"
echo "ok: every check passed"
