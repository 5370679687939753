#!/bin/bash
# README.md and hci-backup(7) have a "Before the first backup" section: the
# token commands work as printed (run here against hci-sim in place of
# tower.example.com), and both say how to create the backup iSCSI target,
# admit the backup host's IQN, use CHAP, and what the host must reach.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd
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
unset CLOUDTOWER_TOKEN CLOUDTOWER_ENDPOINT
echo admin-password | HOME=$T bash -euo pipefail "$T/step1.sh" >"$T/step1.out" 2>"$T/step1.err" ||
    { cat "$T/step1.err"; die "the token commands failed"; }
[ "$(stat -c %a "$T/.config/hci/token")" = 600 ] || die "the token file is not private"
grep -qx web01 "$T/step1.out" || die "the token does not list the VMs: $(cat "$T/step1.out")"
echo ok
