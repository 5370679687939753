#!/bin/bash
# examples/Makefile into a repository (its default form), make -j 3: every
# VM's backups form the group named by its id, one backup ID/TIME per run;
# a VM whose backup fails is the only one redone by a rerun of the same RUN;
# after each night zadp-repo prune keeps what the KEEP_* options say
# (KEEP_DAILY=3 KEEP_WEEKLY=2 over nights across three ISO weeks) and gc runs;
# `make status` names the VMs; a missing repository is refused.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario nightly-1:4194304 nightly-2:4194304 nightly-3:4194304 other-vm:4194304
# nightly-3 has no running VMTools: a file-system consistent snapshot of it fails.
jq '(.vms[] | select(.name == "nightly-3") | .vm_tools_status) = "NOT_RUNNING"' "$T/scenario.json" >"$T/s.json"
start_backup_sim "$T/s.json"
for i in 1 2 3; do
    sim_admin disk-write "{\"vm\":\"nightly-$i\",\"disk\":0,\"offset\":1048576,\"random\":{\"seed\":$i,\"length\":1048576}}" >/dev/null
    declare "id$i=$(vm_ids "nightly-$i")"
done
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO
R=$T/repo
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" REPO="$R" WHERE='{"name_starts_with":"nightly-"}' "$@"; }
run_make() { mk -j 3 KEEP_DAILY=3 KEEP_WEEKLY=2 KEEP_MONTHLY=0 "$@" >"$T/make.log" 2>&1; }

# No repository yet: refused, nothing backed up.
rc=0
run_make RUN=2026-11-01 BACKUP_TIME=2026-11-01T020000Z || rc=$?
[ $rc -ne 0 ] && grep -q "no repository at $R" "$T/make.log" || { cat "$T/make.log"; die "a missing repository was not refused"; }
zadp-repo --repo "$R" init >/dev/null
export ZADP_REPO=$R

# Night 1: fs consistency everywhere; nightly-3 fails, the others succeed.
rc=0
run_make RUN=2026-11-01 BACKUP_TIME=2026-11-01T020000Z CONSISTENCY=fs || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make succeeded although nightly-3 cannot be snapshotted fs-consistently"; }
for i in 1 2; do
    v="id$i"
    [ "$(backups_of "${!v}")" = "${!v}/2026-11-01T020000Z" ] || { cat "$T/make.log"; die "nightly-$i: $(backups_of "${!v}")"; }
    zadp-repo cat "${!v}/2026-11-01T020000Z/backup.json" | jq -e --arg n "nightly-$i" '.complete and .vm.name == $n' >/dev/null ||
        die "nightly-$i's manifest is wrong"
done
[ -z "$(backups_of "$id3")" ] || die "the failed VM has a backup: $(backups_of "$id3")"
[ -z "$(backups_of "$(vm_ids other-vm)")" ] || die "the filter selected other-vm"

# The same RUN again: only nightly-3 is backed up.
run_make RUN=2026-11-01 BACKUP_TIME=2026-11-01T030000Z || { cat "$T/make.log"; die "rerun failed"; }
[ "$(grep -c 'backing up into' "$T/make.log")" -eq 1 ] || { cat "$T/make.log"; die "the rerun did not redo only nightly-3"; }
[ "$(backups_of "$id3")" = "$id3/2026-11-01T030000Z" ] || die "nightly-3 not redone: $(backups_of "$id3")"
[ "$(backups_of "$id1")" = "$id1/2026-11-01T020000Z" ] || die "the rerun touched nightly-1: $(backups_of "$id1")"

# Nights over three ISO weeks (W44: 1st; W45: 2nd-4th; W46: 9th, 10th).
for d in 02 03 04 09 10; do
    run_make RUN=2026-11-$d BACKUP_TIME=2026-11-${d}T020000Z || { cat "$T/make.log"; die "night 2026-11-$d failed"; }
done
grep -q ' gc: .* freed' "$T/make.log" || { cat "$T/make.log"; die "no gc after the backups"; }
grep -q 'removed old backup' "$T/make.log" || { cat "$T/make.log"; die "prune reported nothing"; }
# Daily 3: the 10th, 9th and 4th; weekly 2: the newest of W46 (10th) and W45 (4th).
for i in 1 2 3; do
    v="id$i"
    got=$(backups_of "${!v}" | sed 's|.*/||' | tr '\n' ' ')
    [ "$got" = "2026-11-04T020000Z 2026-11-09T020000Z 2026-11-10T020000Z " ] || die "nightly-$i keeps: $got"
done
zadp-repo check >/dev/null || die "the repository does not check after prune and gc"
jq -e '.missing_chunks == 0' <(zadp-repo gc) >/dev/null || die "gc finds missing chunks"

st=$(mk status RUN=2026-11-10)
grep -q "^$id1  *\"nightly-1\"  *$id1/2026-11-10T020000Z\$" <<<"$st" || die "status: $st"
[ "$(sim_api get-iscsi-luns '{"where":{"name_starts_with":"hci-backup-tmp-"}}' | jq length)" -eq 0 ] || die "clone LUNs left"
[ "$(sim_api get-vm-snapshots '{}' | jq length)" -eq 0 ] || die "VM snapshots left"
echo "ok: 3 VMs into a repository with -j 3; the rerun redid only the failed one; prune kept daily 3 + weekly 2"
