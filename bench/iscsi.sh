#!/bin/bash
# bench/iscsi.sh BINDIR: zadp-read / zadp-write over iSCSI against a private
# tgtd on 127.0.0.1, compared with qemu-img convert and iscsi-perf on the same
# LUNs. Median of RUNS (default 3) runs; the dense-read goal (zadp-read's
# rate over iscsi-perf's) from RATIO_ROUNDS (7) interleaved rounds. Prints a
# table and appends it to bench/RESULTS.md. Needs root, tgt, qemu-img with qemu-block-extra, libiscsi-bin.
# ISCSI_BENCH_PIN=target puts tgtd (all its threads) on CPU 0 and every
# client (ours, qemu-img, iscsi-perf) on the other CPUs, as a target and a
# backup host on two machines would be; by default all share every CPU.
set -euo pipefail
BINDIR=$(cd "${1:?usage: bench/iscsi.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
export HCI_SOURCE_DIR=${HCI_SOURCE_DIR:-$(dirname "$HERE")}
export PATH="$BINDIR:$PATH"
RUNS=${RUNS:-3}
# LUN files on tmpfs when there is room: this measures the transport and
# tgtd, not the disk of the machine (set TMPDIR to choose).
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ] &&
    [ "$(df -k --output=avail /dev/shm | tail -1)" -gt $((8 * 1024 * 1024)) ]; then
    export TMPDIR=/dev/shm
fi
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
for tool in qemu-img iscsi-perf zadp-read zadp-write; do
    command -v $tool >/dev/null || skip "$tool not found"
done
tgt_start

MiB=1048576
echo "preparing LUNs in $T ..." >&2
head -c 1G /dev/urandom >"$T/dense.img"                 # dense 1 GiB
truncate -s 4G "$T/thin.img"                             # 4 GiB, 10% allocated
for i in $(seq 0 40); do
    dd if="$T/dense.img" of="$T/thin.img" bs=1M count=10 skip=$((i * 20 % 1000)) seek=$((i * 100)) \
        conv=notrunc status=none
done
truncate -s 1G "$T/sink.img"                             # write target
tgt_add_lun 1 iqn.2026-11.io.hci-backup.bench:dense "$T/dense.img"
tgt_add_lun 2 iqn.2026-11.io.hci-backup.bench:thin "$T/thin.img"
tgt_add_lun 3 iqn.2026-11.io.hci-backup.bench:sink "$T/sink.img"
CPUS=$(nproc)  # before any pinning narrows what nproc sees
PLACEMENT="tgtd and the clients share the $CPUS CPUs"
if [ "${ISCSI_BENCH_PIN:-}" = target ]; then
    [ "$CPUS" -ge 2 ] || die "ISCSI_BENCH_PIN=target needs 2 CPUs at least"
    taskset -a -p -c 0 "$TGT_PID" >/dev/null   # after the LUNs: their I/O threads too
    taskset -p -c "1-$((CPUS - 1))" $$ >/dev/null  # every client this script starts
    PLACEMENT="tgtd on CPU 0, the clients on CPU$([ "$CPUS" -gt 2 ] && echo "s 1-$((CPUS - 1))" || echo " 1") (ISCSI_BENCH_PIN=target)"
fi
DENSE=$(tgt_url iqn.2026-11.io.hci-backup.bench:dense)
THIN=$(tgt_url iqn.2026-11.io.hci-backup.bench:thin)
SINK=$(tgt_url iqn.2026-11.io.hci-backup.bench:sink)
sync

# median_time CMD...: runs CMD $RUNS times, prints the median wall time in
# seconds. $SETUP, when set, runs (untimed) before each run.
median_time() {
    local i t0 t1 times=()
    for i in $(seq "$RUNS"); do
        [ -z "${SETUP:-}" ] || "$SETUP"
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>"$T/bench.err" || { cat "$T/bench.err" >&2; die "failed: $*"; }
        t1=$(date +%s.%N)
        times+=("$(awk "BEGIN { print $t1 - $t0 }")")
        rm -f "$T/qemu.out"
    done
    printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}
zadp_read() { zadp-read --source "$1" >/dev/null; }
zadp_read_raw() { zadp-read --source "$1" --format raw -o "$T/qemu.out"; }
qemu_read() { qemu-img convert -O raw "$1" "$T/qemu.out"; }
# iscsi-perf reads sequentially for -t seconds (wrapping at the end) and
# reports a rate, not a time: the median of its "iops average (N MB/s)".
median_perf() {
    local i rates=()
    for i in $(seq "$RUNS"); do
        timeout 60 iscsi-perf -m 16 -b 2048 -t 5 "$1" >"$T/perf.out" 2>&1 || { cat "$T/perf.out" >&2; die "iscsi-perf failed"; }
        rates+=("$(tr '\r' '\n' <"$T/perf.out" | sed -n 's/.*iops average [0-9]* (\([0-9]*\) MB\/s).*/\1/p' | tail -1)")
    done
    printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}
# Every write run, ours and qemu-img's, goes into an empty LUN, as a restore
# onto a new disk would: the backing file is emptied (untimed) before each.
# zadp-write refuses a LUN that holds data without --force (clobber.h), and
# the bench must not teach --force; qemu-img -n overwrites whatever is there.
empty_sink() { truncate -s 0 "$T/sink.img" && truncate -s 1G "$T/sink.img"; }
zadp_write() { zadp-read --source "$T/dense.img" | zadp-write --target "$SINK"; }
qemu_write() { qemu-img convert -n -O raw "$T/dense.img" "$SINK"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
row() { # row NAME SECONDS BYTES [BASELINE_SECONDS]
    local mbs ratio="-"
    mbs=$(awk "BEGIN { print $3 / $MiB / $2 }")
    [ -n "${4:-}" ] && ratio=$(awk "BEGIN { printf \"%.2fx\", $4 / $2 }")
    rows+=("$(printf '| %-44s | %8.2f | %9.0f | %-11s |' "$1" "$2" "$mbs" "$ratio")")
    echo "${rows[-1]}"
}
echo "| run (median of $RUNS)                          |   time s |   MiB/s * | vs qemu-img |"
echo "|----------------------------------------------|----------|-----------|-------------|"
G=$((1024 * MiB)); G4=$((4096 * MiB))
q=$(median_time qemu_read "$DENSE");   row "qemu-img convert, dense 1 GiB LUN" "$q" $G
z=$(median_time zadp_read "$DENSE");   row "zadp-read, dense 1 GiB LUN" "$z" $G "$q"
zr=$(median_time zadp_read_raw "$DENSE"); row "zadp-read --format raw -o file, dense LUN" "$zr" $G "$q"
p=$(median_perf "$DENSE")
rows+=("$(printf '| %-44s | %8s | %9s | %-11s |' "iscsi-perf -m 16 -b 2048 -t 5, dense LUN" - "$p" -)"); echo "${rows[-1]}"
# The goal: zadp-read's rate over iscsi-perf's (its MB/s as printed), from
# interleaved rounds (one of each per round; the median of the per-round
# ratios), so that load that comes and goes hits both alike.
# The order alternates from round to round; RATIO_ROUNDS (default 7) rounds.
ROUNDS=${RATIO_ROUNDS:-7}
ratios=()
for i in $(seq "$ROUNDS"); do
    if ((i % 2)); then
        zt=$(RUNS=1 median_time zadp_read "$DENSE")
        pr=$(RUNS=1 median_perf "$DENSE")
    else
        pr=$(RUNS=1 median_perf "$DENSE")
        zt=$(RUNS=1 median_time zadp_read "$DENSE")
    fi
    ratios+=("$(awk -v t="$zt" -v p="$pr" -v g=$G 'BEGIN { printf "%.3f", g / 1048576 / t / p }')")
done
PERF_RATIO=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "$(((ROUNDS + 1) / 2))p")
q4=$(median_time qemu_read "$THIN");   row "qemu-img convert, 4 GiB LUN 10% allocated" "$q4" $G4
z4=$(median_time zadp_read "$THIN");   row "zadp-read, 4 GiB LUN 10% allocated" "$z4" $G4 "$q4"
zr4=$(median_time zadp_read_raw "$THIN"); row "zadp-read --format raw -o file, 4 GiB thin" "$zr4" $G4 "$q4"
p4=$(median_perf "$THIN")
rows+=("$(printf '| %-44s | %8s | %9s | %-11s |' "iscsi-perf (reads holes too), 4 GiB thin LUN" - "$p4" -)"); echo "${rows[-1]}"
qw=$(SETUP=empty_sink median_time qemu_write); row "qemu-img convert file -> 1 GiB LUN" "$qw" $G
zw=$(SETUP=empty_sink median_time zadp_write); row "zadp-read file | zadp-write -> 1 GiB LUN" "$zw" $G "$qw"
cmp "$T/dense.img" "$T/sink.img" || die "LUN written by zadp-write differs from the source"

{
    echo
    echo "## iSCSI ($(date -u +%Y-%m-%dT%H:%MZ), $CPUS CPUs, tgtd on 127.0.0.1, LUN files in ${TMPDIR:-/tmp}, bench/iscsi.sh${ISCSI_BENCH_PIN:+, ISCSI_BENCH_PIN=$ISCSI_BENCH_PIN})"
    echo
    echo "Placement: $PLACEMENT."
    echo
    echo "Commands: \`zadp-read --source iscsi://127.0.0.1:PORT/IQN/1 >/dev/null\` (queue depth 16),"
    echo "\`zadp-read --source iscsi://... --format raw -o out.raw\`, \`qemu-img convert -O raw iscsi://... out.raw\`, \`iscsi-perf -m 16 -b 2048 -t 5 iscsi://...\` (its own MB/s; sequential, wraps),"
    echo "\`zadp-read --source dense.img | zadp-write --target iscsi://...\` vs \`qemu-img convert -n -O raw dense.img iscsi://...\`,"
    echo "each into an emptied LUN (its backing file truncated to 0 and back to 1 GiB before every run, untimed)."
    echo "Ratio = qemu-img time / our time (> 1 is faster than qemu-img). * MiB/s of logical LUN size."
    echo "Load average $LOAD_BEFORE before the first run, $(cut -d' ' -f1-3 /proc/loadavg) after the last."
    echo "Dense read, zadp-read MiB/s / iscsi-perf MB/s (its MB are MiB): $PERF_RATIO (goal >= 0.8; median of $ROUNDS interleaved rounds, order alternating: ${ratios[*]})."
    echo
    echo "| run (median of $RUNS)                          |   time s |   MiB/s * | vs qemu-img |"
    echo "|----------------------------------------------|----------|-----------|-------------|"
    printf '%s\n' "${rows[@]}"
} >>"${BENCH_RESULTS:-$HERE/RESULTS.md}"
echo "appended to ${BENCH_RESULTS:-$HERE/RESULTS.md}" >&2
