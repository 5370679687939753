#!/bin/bash
# make fuzz: runs each libFuzzer target for SECONDS (default 60) on a corpus
# seeded by make_seeds.py and kept in BUILD/fuzz-corpus between runs.
# Findings (crash-*, timeout-*, oom-* inputs) land in BUILD/fuzz-findings/.
# Usage: tests/fuzz/run.sh BUILD [SECONDS]
set -euo pipefail
build=$1
seconds=${2:-60}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
export HCI_SOURCE_DIR=$source_dir
corpus=$build/fuzz-corpus
findings=$build/fuzz-findings
python3 "$source_dir/tests/fuzz/make_seeds.py" "$source_dir" "$corpus"
mkdir -p "$findings"
failed=0
for target in stream_decoder json_lines sim_query sim_scenario repo_index; do
    echo "== fuzz-$target: $seconds s"
    # -close_fd_mask=2: the targets report rejected input on stderr, as the tools do.
    rc=0
    "$build/fuzz-$target" -max_total_time="$seconds" -timeout=20 -max_len=65536 -rss_limit_mb=4096 \
        -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$findings/$target-" "$corpus/$target" \
        > "$findings/$target.log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|SUMMARY|artifact_prefix|Test unit written)' \
        "$findings/$target.log" || true
    [ "$rc" -eq 0 ] || { echo "fuzz-$target: FAILED (exit $rc), see $findings/$target.log" >&2; failed=1; }
done
exit $failed
