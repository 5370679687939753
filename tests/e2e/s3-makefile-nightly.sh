#!/bin/bash
# examples/Makefile with REPO=s3://BUCKET/PREFIX (the test bed's RGW), make
# -j 2, two nights: every selected VM backed up as ID/TIME, the second night
# storing only the changed chunk; prune and gc run; the job's state (run
# log) goes to this host's ~/.local/state, not next to the repository;
# `make report` shows both nights; no lease outlives the job.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
vm_scenario s3night-1:4194304 s3night-2:4194304,2097152 other-vm:4194304
start_backup_sim "$T/scenario.json"
for i in 1 2; do
    sim_admin disk-write "{\"vm\":\"s3night-$i\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":$i,\"length\":1048576}}" >/dev/null
    declare "id$i=$(vm_ids "s3night-$i")"
done
R=$ZADP_REPO
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO
export HOME=$T/home
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" REPO="$R" WHERE='{"name_starts_with":"s3night-"}' "$@"; }
night() { mk -j 2 KEEP_DAILY=7 RUN="$1" BACKUP_TIME="${1}T020000Z" >"$T/make.log" 2>&1 || { cat "$T/make.log"; die "night $1 failed"; }; }
zadp-repo --repo "$R" init --chunk-size 64K >/dev/null

night 2026-12-01
sim_admin disk-write '{"vm":"s3night-2","disk":1,"offset":65536,"random":{"seed":9,"length":4096}}' >/dev/null
night 2026-12-02
grep -q ' gc: .* freed' "$T/make.log" || { cat "$T/make.log"; die "no gc after the backups"; }
export ZADP_REPO=$R
for i in 1 2; do
    v="id$i"
    [ "$(backups_of "${!v}" | tr '\n' ' ')" = "${!v}/2026-12-01T020000Z ${!v}/2026-12-02T020000Z " ] ||
        { cat "$T/make.log"; die "s3night-$i: $(backups_of "${!v}")"; }
    zadp-repo cat "${!v}/2026-12-02T020000Z/backup.json" | jq -e .complete >/dev/null || die "s3night-$i night 2 incomplete"
done
new=$(zadp-repo cat "$id2/2026-12-02T020000Z/backup.json" | jq '[.disks[].repo.new_chunks] | add')
[ "$new" -eq 1 ] || die "night 2 stored $new chunks of s3night-2 for one changed block, expected 1"
[ "$(zadp-repo cat "$id1/2026-12-02T020000Z/backup.json" | jq '[.disks[].repo.new_chunks] | add')" -eq 0 ] ||
    die "night 2 stored chunks of the unchanged s3night-1"
other=$(vm_ids other-vm)
[ -n "$other" ] && [ -z "$(backups_of "$other")" ] || die "the filter selected other-vm"

# The job's state is this host's own.
state=$HOME/.local/state/hci-backup/s3/${R#s3://}
[ -s "$state/runs.jsonl" ] || die "no run log in $state: $(find "$HOME" -type f)"
[ "$(jq -s 'map(select(.result == "ok")) | length' "$state/runs.jsonl")" -eq 4 ] || die "run log: $(cat "$state/runs.jsonl")"
mk report >"$T/report" || die "make report failed"
grep -q 2026-12-02 "$T/report" || die "make report does not show night 2: $(cat "$T/report")"
! s3_keys | grep -q '^locks/' || die "a lease outlived the job: $(s3_keys | grep ^locks/)"
zadp-repo check --read-data >/dev/null || die "the repository does not check after two nights"
[ "$(sim_api get-iscsi-luns '{"where":{"name_starts_with":"hci-backup-tmp-"}}' | jq length)" -eq 0 ] || die "clone LUNs left"
echo "ok: two nights of examples/Makefile into $R; night 2 stored only the changed chunk"
