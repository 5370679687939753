#!/bin/bash
# hci-task-wait shows how far its tasks are on stderr: tasks done/total and
# the least progressed task's progress and name (never its id), redrawn in
# place and erased at the end; on a terminal by default, elsewhere only with
# --progress, never with --no-progress, and never on stdout.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-task-wait hci-snap-create hci-vm-get
command -v script >/dev/null || skip "script(1) not installed (Debian package util-linux)"
start_sim --no-tgtd --task-duration 3000

# snapshots web01, then (once web01's task is EXECUTING, so ahead of it for
# good) db01: db01's task is always the least progressed one.
two_snapshots() {
    hci-vm-get --name web01 | hci-snap-create 2>/dev/null > "$T/$1.jsonl"
    local task status=""
    task=$(jq -r .task_id "$T/$1.jsonl")
    for _ in $(seq 200); do
        status=$(sim_api get-tasks "{\"where\":{\"id\":\"$task\"}}" | jq -r '.[0].status')
        [ "$status" = EXECUTING ] && break
        sleep 0.05
    done
    [ "$status" = EXECUTING ] || die "web01's task never reported EXECUTING (last: $status)"
    hci-vm-get --name db01 | hci-snap-create 2>/dev/null >> "$T/$1.jsonl"
}

# The sim's tasks report a progress that only grows and ends at 1.
two_snapshots plain
hci-task-wait "$T/plain.jsonl" > "$T/plain.out" 2> "$T/plain.err"
[ ! -s "$T/plain.err" ] || die "progress shown without a terminal or --progress: $(cat -v "$T/plain.err")"
[ "$(jq -r .task.progress "$T/plain.out" | sort -u)" = 1 ] || die "finished tasks do not report progress 1"

two_snapshots shown
hci-task-wait --progress --interval 0.3 --max-interval 0.3 "$T/shown.jsonl" > "$T/shown.out" 2> "$T/shown.err"
grep -aq $'\rtasks 0/2 done' "$T/shown.err" || die "no done/total: $(cat -v "$T/shown.err")"
grep -aqE $'\rtasks [01]/2 done; slowest [0-9]+% \\(Create snapshot [^)]* of VM db01\\)' "$T/shown.err" ||
    die "the slowest task is not shown: $(cat -v "$T/shown.err")"
! grep -aq 'slowest [0-9]*% (Create snapshot [^)]* of VM web01' "$T/shown.err" ||
    die "web01's task, ahead of db01's, was shown as the slowest: $(cat -v "$T/shown.err")"
# Names, not ids: before the first poll describes a task, the line it came
# from names it ("vm web01"); a task id is never drawn.
grep -aq $'\rtasks 0/1 done; slowest 0% (vm web01)' "$T/shown.err" ||
    die "the first draw does not name web01: $(cat -v "$T/shown.err")"
for id in $(jq -r .task_id "$T/shown.jsonl"); do
    ! grep -aqF "$id" "$T/shown.err" || die "task id $id drawn: $(cat -v "$T/shown.err")"
done
# Erased at the end: the last bytes are the clearing sequence, nothing after.
[ "$(tail -c 4 "$T/shown.err" | od -An -c | tr -d ' ')" = '\r033[K' ] ||
    die "the status line is not erased at the end: $(cat -v "$T/shown.err")"
# stdout carries the same lines as without the status line.
[ "$(jq -c 'del(.task)' "$T/shown.out")" = "$(jq -c . "$T/shown.jsonl")" ] ||
    die "stdout differs with --progress: $(cat "$T/shown.out")"

# On a terminal (script(1) gives one) it is shown by default, not with --no-progress.
two_snapshots tty
script -qfec "hci-task-wait $T/tty.jsonl > $T/tty.out" "$T/tty.typescript" < /dev/null > /dev/null
grep -aq 'tasks 0/2 done' "$T/tty.typescript" || die "nothing shown on a terminal: $(cat -v "$T/tty.typescript")"
[ "$(wc -l < "$T/tty.out")" -eq 2 ] || die "stdout on a terminal run: $(cat "$T/tty.out")"
two_snapshots quiet
script -qfec "hci-task-wait --no-progress $T/quiet.jsonl > $T/quiet.out" "$T/quiet.typescript" < /dev/null > /dev/null
! grep -aq 'tasks' "$T/quiet.typescript" || die "--no-progress showed: $(cat -v "$T/quiet.typescript")"
expect_exit 2 hci-task-wait --progress --no-progress "$T/quiet.jsonl"
echo "ok: task progress on stderr, only when wanted, erased at the end"
