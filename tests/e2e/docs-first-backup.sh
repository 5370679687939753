#!/bin/bash
# README.md and hci-backup(7) have a "Before the first backup" section: the
# token commands work as printed (run here against hci-sim in place of
# tower.example.com), and so do both pages' commands that create the backup
# iSCSI target admitting the backup host's IQN (step 2; a second run fails,
# the target exists, rather than passing on a failed curl); both say how to
# use CHAP and what the host must reach.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-task-wait
jq 'del(.iscsi_targets)' "$HCI_SOURCE_DIR/tests/fixtures/scenario-basic.json" >"$T/no-target.json"
start_sim --no-tgtd --task-duration 50 --scenario "$T/no-target.json"
readme=$HCI_SOURCE_DIR/README.md
man7=$(MANWIDTH=200 man -l "$HCI_SOURCE_DIR/man/man7/hci-backup.7" 2>/dev/null)
grep -q '^## Before the first backup' "$readme" || die "README.md has no 'Before the first backup' section"
grep -q '^BEFORE THE FIRST BACKUP' <<<"$man7" || die "hci-backup(7) has no BEFORE THE FIRST BACKUP section"
section=$(sed -n '/^## Before the first backup/,/^## /p' "$readme")
for want in create-iscsi-target iqn_whitelist ZADP_INITIATOR_IQN initiator_chaps chap-secret-file 443 3260 iscsi_vip; do
    grep -q -- "$want" <<<"$section" || die "README's section does not mention $want"
    grep -q -- "$want" <<<"$man7" || die "hci-backup(7) does not mention $want"
done

# Step 1 as printed, with the simulator's URL and a private HOME.
awk '/^## Before the first backup/ { on = 1 } on && /^ *```sh$/ { code = 1; next } code && /^ *```$/ { exit } code' \
    "$readme" | sed -e 's/^   //' -e "s#https://tower.example.com#$SIM_URL#g" >"$T/step1.sh"
sim_token=$CLOUDTOWER_TOKEN
unset CLOUDTOWER_TOKEN CLOUDTOWER_ENDPOINT
echo admin-password | HOME=$T bash -euo pipefail "$T/step1.sh" >"$T/step1.out" 2>"$T/step1.err" ||
    { cat "$T/step1.err"; die "the token commands failed"; }
[ "$(stat -c %a "$T/.config/hci/token")" = 600 ] || die "the token file is not private"
grep -qx web01 "$T/step1.out" || die "the token does not list the VMs: $(cat "$T/step1.out")"

# Step 2 as printed (the second sh block), in the shell the reader types into
# (no -e): it creates backup-tgt on c1 admitting only the IQN, and exports it.
awk '/^## Before the first backup/ { on = 1 } on && /^ *```sh$/ { n++; code = (n == 2); next }
     code && /^ *```$/ { exit } code' "$readme" | sed 's/^   //' >"$T/step2.sh"
grep -q 'create-iscsi-target' "$T/step2.sh" || die "step 2 not found in README.md"
sed -n '/^\.B A backup iSCSI target/,/^\.EE/p' "$HCI_SOURCE_DIR/man/man7/hci-backup.7" | sed -n '/^\.EX/,/^\.EE/p' |
    sed '1d;$d' | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" >"$T/step2-man.sh"
grep -q 'create-iscsi-target' "$T/step2-man.sh" || die "step 2 not found in hci-backup(7)"
iqn=iqn.2026-01.com.example:backup-host
# step2 SCRIPT NAME: runs SCRIPT as typed after step 1 (its token file) for
# the target NAME; prints ZADP_INITIATOR_IQN after it; its status is the step's.
step2() {
    sed "s/name: \"backup-tgt\"/name: \"$2\"/" "$1" >"$T/run.sh"
    echo 'rc=$?; echo "ZADP_INITIATOR_IQN=${ZADP_INITIATOR_IQN:-}"; exit $rc' >>"$T/run.sh"
    HOME=$T CLOUDTOWER_TOKEN_FILE=$T/.config/hci/token bash "$T/run.sh" 2>"$T/step2.err"
}
for script in "$T/step2.sh" "$T/step2-man.sh"; do
    name=backup-tgt-$(basename "$script" .sh)
    export CLOUDTOWER_ENDPOINT=$SIM_URL
    out=$(step2 "$script" "$name") || die "$script failed: $(cat "$T/step2.err")"
    grep -qx "ZADP_INITIATOR_IQN=$iqn" <<<"$out" || die "$script did not export ZADP_INITIATOR_IQN: $out: $(cat "$T/step2.err")"
    CLOUDTOWER_TOKEN=$sim_token sim_api get-iscsi-targets "{\"where\":{\"name\":\"$name\"}}" |
        jq -e --arg iqn "$iqn" 'length == 1 and .[0].cluster.name == "c1" and .[0].iqn_whitelist == $iqn' >/dev/null ||
        die "$script: no $name on c1 admitting $iqn: $(CLOUDTOWER_TOKEN=$sim_token sim_api get-iscsi-targets '{}')"
    # Again: the target exists, create-iscsi-target answers 400, and the step says so by failing.
    out=$(step2 "$script" "$name") && die "$script passed although the target exists: $out"
    grep -q '400' "$T/step2.err" || die "$script: no HTTP error shown: $(cat "$T/step2.err")"
    grep -qx "ZADP_INITIATOR_IQN=" <<<"$out" || die "$script exported the IQN although it failed: $out"
    unset CLOUDTOWER_ENDPOINT
done
! grep -rqF "$(cat "$T/.config/hci/token")" "$T/step2.sh" || die "the token is in the script"
echo ok
