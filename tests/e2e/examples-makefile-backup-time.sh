#!/bin/bash
# examples/Makefile given BACKUP_TIME without RUN (a rerun of a past night):
# RUN becomes that time's day and make says so, so that rerunning the same
# command finds the night's backup and does not back the VM up again (with
# RUN defaulting to today's date it looked at the wrong run and stored a
# second backup, or failed on the existing TIME).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario web01:4194304
start_backup_sim "$T/scenario.json"
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO RUN
R=$T/repo
zadp-repo --repo "$R" init >/dev/null
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" REPO="$R" GC=no "$@" >"$T/make.log" 2>&1 || { cat "$T/make.log"; die "make $*"; }; }

mk BACKUP_TIME=2026-11-27T020000Z
grep -q 'RUN not given: RUN=2026-11-27, the day of BACKUP_TIME=2026-11-27T020000Z' "$T/make.log" ||
    { cat "$T/make.log"; die "make did not say which run it uses"; }
ZADP_REPO=$R; export ZADP_REPO
id=$(vm_ids web01)
[ "$(backups_of "$id")" = "$id/2026-11-27T020000Z" ] || die "backups: $(backups_of "$id")"
mk BACKUP_TIME=2026-11-27T030000Z   # the same night again, later
[ "$(backups_of "$id")" = "$id/2026-11-27T020000Z" ] || die "the rerun of the night backed up again: $(backups_of "$id")"
mk BACKUP_TIME=2026-11-28T020000Z RUN=2026-11-28   # RUN given: nothing said
! grep -q 'RUN not given' "$T/make.log" || die "make spoke of RUN although it was given"
[ "$(backups_of "$id" | wc -l)" = 2 ] || die "the next night was not backed up: $(backups_of "$id")"
echo "ok: BACKUP_TIME alone sets RUN to its day, and a rerun of that night redoes nothing"
