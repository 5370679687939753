#!/bin/bash
# examples/Makefile ends every run with one summary: on its output (a line
# per VM: result, name, id, bytes read/new/reused, duration, the reason of a
# failure) and one JSON line per VM appended to STATE_DIR/runs.jsonl; make
# exits non-zero when a VM failed; `make report` shows the last runs and
# names the failed VMs. Into a repository and into directories.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario nightly-1:4194304 "nightly 2:4194304" nightly-3:4194304
# nightly-3 has no running VMTools: a file-system consistent snapshot of it fails.
jq '(.vms[] | select(.name == "nightly-3") | .vm_tools_status) = "NOT_RUNNING"' "$T/scenario.json" >"$T/s.json"
start_backup_sim "$T/s.json"
sim_admin disk-write '{"vm":"nightly-1","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
id1=$(vm_ids nightly-1); id2=$(vm_ids "nightly 2"); id3=$(vm_ids nightly-3)
# vm_line FILE ID CONDITION: FILE has a line satisfying CONDITION ($x: ID).
vm_line() { jq -se --arg x "$2" "any(.[]; $3)" "$1" >/dev/null; }
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO
R=$T/repo
zadp-repo --repo "$R" init >/dev/null
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" REPO="$R" WHERE='{"name_starts_with":"nightly"}' "$@"; }

rc=0
mk -j 2 RUN=2026-11-01 BACKUP_TIME=2026-11-01T020000Z CONSISTENCY=fs >"$T/make.log" 2>&1 || rc=$?
cat "$T/make.log"
[ $rc -ne 0 ] || die "make succeeded although nightly-3 failed"
S=$R.state
[ "$(jq -s length "$S/runs.jsonl")" -eq 3 ] || die "runs.jsonl: $(cat "$S/runs.jsonl")"
vm_line "$S/runs.jsonl" "$id1" '.vm.id == $x and .vm.name == "nightly-1" and .result == "ok" and .bytes_read >= 1048576
    and .bytes_new >= 1048576 and .bytes_reused >= 0 and .seconds > 0 and .reason == null and .run == "2026-11-01"
    and .time == "2026-11-01T020000Z" and .backup == "repo:\($x)/2026-11-01T020000Z"' ||
    die "nightly-1's line: $(cat "$S/runs.jsonl")"
vm_line "$S/runs.jsonl" "$id2" '.vm.id == $x and .vm.name == "nightly 2" and .result == "ok"' || die "nightly 2's line"
vm_line "$S/runs.jsonl" "$id3" '.vm.id == $x and .vm.name == "nightly-3" and .result == "failed" and .exit_status != 0
    and (.reason | type == "string" and length > 0 and (contains("\n") | not))' || die "nightly-3's line: $(cat "$S/runs.jsonl")"
# The human summary: one head line and one line per VM, the failed one with its reason.
grep -q 'summary: run 2026-11-01 (time 2026-11-01T020000Z) into repo:.*: 3 VM(s): 2 ok, 0 partial, 1 failed' "$T/make.log" || die "no summary head"
reason=$(jq -r --arg x "$id3" 'select(.vm.id == $x) | .reason' "$S/runs.jsonl")
grep -F "FAILED   \"nightly-3\" ($id3)" "$T/make.log" | grep -qF "; $reason" || die "the summary does not name nightly-3 with its reason"
grep -qF "OK       \"nightly 2\" ($id2)" "$T/make.log" || die "the summary does not name \"nightly 2\""
[ "$(grep -c 'summary:' "$T/make.log")" -eq 1 ] || die "not one summary"
# Every line of the job's own (backup-vm.sh's, the Makefile's, the summary's) starts with the time.
ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{4} '
[ "$(grep -cE "${ts}backup-vm.sh: backing up VM" "$T/make.log")" -eq 3 ] || die "backup-vm.sh's lines have no time stamp"
[ "$(grep -cE "${ts}examples/Makefile: .*: backing up into" "$T/make.log")" -eq 3 ] || die "the Makefile's lines have no time stamp"
! grep -vE "$ts|^make(\[[0-9]+\])?: |^[a-z-]+: error: " "$T/make.log" || die "lines without a time stamp (above)"

# make report names the failed VM of the last run.
mk report >"$T/report" || die "make report failed"
cat "$T/report"
grep -q 'run 2026-11-01 .*3 VM(s), 2 ok, 0 partial, 1 failed' "$T/report" || die "report: no run line"
grep -qF "failed: \"nightly-3\" ($id3): $reason" "$T/report" || die "report does not name nightly-3"

# Rerun: nightly-3 is redone, the others count as done earlier; exit 0.
mk -j 2 RUN=2026-11-01 BACKUP_TIME=2026-11-01T030000Z >"$T/make.log" 2>&1 || { cat "$T/make.log"; die "the rerun failed"; }
cat "$T/make.log"
grep -q ': 3 VM(s): 3 ok, 0 partial, 0 failed' "$T/make.log" || die "the rerun's summary"
[ "$(jq -s length "$S/runs.jsonl")" -eq 6 ] || die "runs.jsonl after the rerun: $(cat "$S/runs.jsonl")"
mk report >"$T/report"
[ "$(grep -c ' run 2026-11-01 ' "$T/report")" -eq 2 ] || { cat "$T/report"; die "report does not show two runs"; }

# Directories, STATE_DIR given: the same summary and log.
rc=0
make -f "$HCI_SOURCE_DIR/examples/Makefile" BACKUP_DIR="$T/b" STATE_DIR="$T/state" RUN=r1 CONSISTENCY=fs \
    WHERE='{"name_starts_with":"nightly"}' >"$T/make.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make into directories succeeded although nightly-3 failed"; }
grep -q ': 3 VM(s): 2 ok, 0 partial, 1 failed' "$T/make.log" || { cat "$T/make.log"; die "no summary (directories)"; }
vm_line "$T/state/runs.jsonl" "$id1" '.vm.id == $x and .result == "ok" and .bytes_new > 0' || die "directories: $(cat "$T/state/runs.jsonl")"
echo "ok: one summary per run, a JSON line per VM in runs.jsonl, make report names the failed VM, exit status says a VM failed"
