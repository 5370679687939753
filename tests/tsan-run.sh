#!/bin/bash
# Runs one test command under ThreadSanitizer (make tsan) and fails it when
# any instrumented process it started reported a race, even a tool whose
# stderr the scenario dropped or whose exit status it ignored: every report
# goes to a file of its own here (log_path), and is printed at the end.
# TSAN_OPTIONS from CTest (halt_on_error=1 exitcode=66) still ends the
# process at its first report. Keeps the command's status otherwise (77 =
# skipped).
reports=$(mktemp -d "${TMPDIR:-/tmp}/tsan-reports.XXXXXX") || exit 1
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS }log_path=$reports/race"
"$@"
status=$?
if compgen -G "$reports/race.*" >/dev/null; then
    for report in "$reports"/race.*; do
        echo "tsan-run: ThreadSanitizer report ($report):" >&2
        cat "$report" >&2
    done
    status=66
fi
rm -rf "$reports"
exit "$status"
