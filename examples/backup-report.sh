#!/bin/bash
# backup-report.sh: the run log of examples/Makefile.
#
#   backup-report.sh finish STATE_DIR VMS SELECTED STATUS
#       ends a run: VMS holds the JSON lines backup-vm.sh --report wrote (one
#       per VM), SELECTED the ids the run selected; a selected VM without a
#       line counts as failed (the run stopped before its backup). Prints the
#       human summary, appends one JSON line per VM (or one for the run, when
#       it failed before any VM) to STATE_DIR/runs.jsonl and exits with
#       STATUS, or 1 when STATUS is 0 but a VM failed. The run is described
#       by RUN, BACKUP_TIME, WHERE, RUN_TARGET and RUN_STARTED from the
#       environment; RUN_FAILURE, when set, is why a run that backed up
#       nothing failed (e.g. it was refused: another run was still going).
#   backup-report.sh show STATE_DIR [N]
#       the last N runs (default 7), newest last: one line per run and one
#       per VM that failed or was partly saved, by name and id.
#
# runs.jsonl, one line per VM and run: run_id, run, time, target, where, vm
# {id, name}, result (ok, partial, failed), reason, exit_status, backup,
# bytes_read, bytes_new, bytes_reused, seconds, started_at, finished_at.
set -euo pipefail
prog=${0##*/}
stamp() { date +%Y-%m-%dT%H:%M:%S%z; }
say() { printf '%s %s\n' "$(stamp)" "$*"; }

# jq: bytes in IEC units, for people.
jq_defs='def hb: if . >= 1073741824 then "\(. / 1073741824 * 10 | round / 10) GiB"
    elif . >= 1048576 then "\(. / 1048576 * 10 | round / 10) MiB"
    elif . >= 1024 then "\(. / 1024 * 10 | round / 10) KiB" else "\(.) B" end;
  def who: "\(.vm.name // "?" | tojson) (\(.vm.id // "no id"))";'

finish() {
    local state=$1 vms=$2 selected=$3 rc=$4 lines
    [ -f "$vms" ] || : >"$vms"
    [ -f "$selected" ] || : >"$selected"
    # A selected VM without a line did not get to its backup.
    lines=$(jq -c --rawfile sel "$selected" --arg run "${RUN:-}" --arg time "${BACKUP_TIME:-}" \
        --arg target "${RUN_TARGET:-}" --arg where "${WHERE:-}" --arg started "${RUN_STARTED:-}" \
        --arg id "${RUN_STARTED:-}-$$" --argjson rc "$rc" --arg failure "${RUN_FAILURE:-}" -s '
        . as $got
        | ($got + [$sel | split("\n")[] | select(. != "") | . as $v
                   | select([$got[] | .vm.id] | index($v) | not)
                   | {vm: {id: $v, name: null}, result: "failed",
                      reason: "not attempted: the run stopped before its backup (see the log)",
                      exit_status: null, backup: null, bytes_read: 0, bytes_new: 0, bytes_reused: 0,
                      seconds: 0}]) as $all
        | (if ($all | length) == 0 and $rc != 0 then
             [{vm: null, result: "failed",
               reason: (if $failure != "" then $failure
                       else "the run failed before any backup (exit \($rc); see the log)" end), exit_status: $rc}]
           else $all end)[]
        | {run_id: $id, run_started: $started, run: $run, time: (if $time == "" then null else $time end), target: $target,
           where: $where} + .' "$vms")
    mkdir -p -- "$state"
    [ -z "$lines" ] || printf '%s\n' "$lines" >>"$state/runs.jsonl"
    summary <<<"$lines"
    if [ "$rc" -eq 0 ] && jq -se 'any(.[]; .result != "ok")' <<<"$lines" >/dev/null 2>&1; then rc=1; fi
    exit "$rc"
}

# summary: the human summary of one run's lines (stdin).
summary() {
    local head lines
    lines=$(cat)
    head=$(jq -rs "$jq_defs"' map(select(.vm != null)) as $v
        | "run \(.[0].run // "?")\(if .[0].time then " (time \(.[0].time))" else "" end) into \(.[0].target // "?"): \($v | length) VM(s): \([$v[] | select(.result == "ok")] | length) ok, \([$v[] | select(.result == "partial")] | length) partial, \([$v[] | select(.result == "failed")] | length) failed; read \([$v[].bytes_read // 0] | add // 0 | hb), new \([$v[].bytes_new // 0] | add // 0 | hb), reused \([$v[].bytes_reused // 0] | add // 0 | hb)"' <<<"$lines")
    say "summary: $head"
    jq -r "$jq_defs"' if .vm == null then "  FAILED   \(.reason)"
        else "  \(.result | ascii_upcase | .[0:7] | . + " " * (8 - length)) \(who): read \(.bytes_read // 0 | hb), new \(.bytes_new // 0 | hb), reused \(.bytes_reused // 0 | hb), \(.seconds // 0 | round) s\(if .reason then "; \(.reason)" else "" end)" end' <<<"$lines" |
        while IFS= read -r l; do say "$l"; done
}

# show STATE_DIR N: the last N runs.
show() {
    local log=$1/runs.jsonl
    [ -s "$log" ] || { echo "$prog: no run recorded in $log yet"; return 0; }
    jq -rs --argjson n "$2" "$jq_defs"' group_by(.run_id) | sort_by(.[0].run_started // .[0].run_id) | .[-$n:][]
        | map(select(.vm != null)) as $v
        | (.[0] | "\(.run_started // .run_id)  run \(.run)  \(.target): ")
          + (if ($v | length) == 0 then "FAILED: \(.[0].reason)"
             else "\($v | length) VM(s), \([$v[] | select(.result == "ok")] | length) ok, \([$v[] | select(.result == "partial")] | length) partial, \([$v[] | select(.result == "failed")] | length) failed" end),
          ($v[] | select(.result != "ok") | "    \(.result): \(who): \(.reason // "")")' "$log"
}

case ${1:-} in
    finish) [ $# -eq 5 ] || { echo "usage: $prog finish STATE_DIR VMS SELECTED STATUS" >&2; exit 2; }; finish "$2" "$3" "$4" "$5" ;;
    show) [ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $prog show STATE_DIR [N]" >&2; exit 2; }; show "$2" "${3:-7}" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
