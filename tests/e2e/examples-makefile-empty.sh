#!/bin/bash
# examples/Makefile with a selection that matches no VM (a typo in WHERE):
# make fails with a message that says so and backs up nothing, into a
# repository and into directories; ALLOW_EMPTY=1 accepts the empty selection.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario web01:4194304
start_backup_sim "$T/scenario.json"
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO
R=$T/repo
zadp-repo --repo "$R" init >/dev/null
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" "$@" >"$T/make.log" 2>&1; }

rc=0
mk REPO="$R" WHERE='{"cluster":{"name":"c3"}}' || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "an empty selection into a repository succeeded"; }
grep -q "WHERE='{\"cluster\":{\"name\":\"c3\"}}' selects no VM" "$T/make.log" || { cat "$T/make.log"; die "no clear message"; }
grep -q 'ALLOW_EMPTY=1' "$T/make.log" || { cat "$T/make.log"; die "the message does not name ALLOW_EMPTY"; }
! grep -q 'done' "$T/make.log" || { cat "$T/make.log"; die "an empty run said done"; }

rc=0
mk BACKUP_DIR="$T/b" WHERE='{"cluster":{"name":"c3"}}' || rc=$?
[ $rc -ne 0 ] && grep -q 'selects no VM' "$T/make.log" || { cat "$T/make.log"; die "an empty selection into directories succeeded"; }

mk REPO="$R" WHERE='{"cluster":{"name":"c3"}}' ALLOW_EMPTY=1 || { cat "$T/make.log"; die "ALLOW_EMPTY=1 did not accept the empty selection"; }
[ -z "$(zadp-repo --repo "$R" ls)" ] || die "something was stored: $(zadp-repo --repo "$R" ls)"
# Other targets stay usable on an empty selection (status of nothing).
mk REPO="$R" WHERE='{"cluster":{"name":"c3"}}' status || { cat "$T/make.log"; die "status refused an empty selection"; }
# The same command with the right cluster backs the VM up.
mk REPO="$R" WHERE='{"cluster":{"name":"c1"}}' || { cat "$T/make.log"; die "the backup of c1 failed"; }
ZADP_REPO=$R; export ZADP_REPO
[ -n "$(backups_of "$(vm_ids web01)")" ] || die "web01 not backed up"
echo "ok: an empty selection fails with a clear message (repository and directories); ALLOW_EMPTY=1 accepts it"
