#!/bin/bash
# make bench: zadp-read and zadp-write side by side with cat, dd, qemu-img and
# nbdcopy on the same images, median of $BENCH_RUNS runs (default 5), page
# cache warm. Prints a table and writes bench/RESULTS.md with the machine and
# the exact commands. Usage: bench/run.sh BINDIR
set -euo pipefail
BIN=$(cd "${1:?usage: bench/run.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${BENCH_WORK:-$HERE/work}
RUNS=${BENCH_RUNS:-5}
DENSE_MIB=${BENCH_DENSE_MIB:-2048}
THIN_GIB=${BENCH_THIN_GIB:-8}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
export PATH="$BIN:$PATH"
mkdir -p "$WORK"
cd "$WORK"

for t in zadp-read zadp-write cat dd qemu-img nbdcopy zstd python3; do
    command -v "$t" >/dev/null || { echo "bench: $t not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

# ---- images (kept in $WORK between runs) ----
make_images() {
    if [ ! -f dense.img ] || [ "$(stat -c %s dense.img)" -ne $((DENSE_MIB << 20)) ]; then
        echo "bench: creating dense.img ($DENSE_MIB MiB random)" >&2
        head -c $((DENSE_MIB << 20)) /dev/urandom > dense.img
    fi
    if [ ! -f thin.img ] || [ "$(stat -c %s thin.img)" -ne $((THIN_GIB << 30)) ]; then
        echo "bench: creating thin.img ($THIN_GIB GiB, 10% allocated in 1-64 MiB extents)" >&2
        python3 - "$THIN_GIB" <<'PY'
import os, random, sys
size = int(sys.argv[1]) << 30
random.seed(20261125)
target, used, extents = size // 10, 0, []
while used < target:
    length = random.randint(1, 64) << 20
    start = random.randrange(0, (size - length) >> 20) << 20
    if any(start < e + l and s < start + length for s, l in extents for e in [s]):
        continue
    extents.append((start, length))
    used += length
with open("thin.img", "wb") as f:
    f.truncate(size)
    for start, length in sorted(extents):
        f.seek(start)
        for done in range(0, length, 1 << 20):
            f.write(os.urandom(1 << 20))
PY
    fi
    zadp-read --source thin.img > thin.zs
}

# ---- measuring ----
declare -A MEDIAN
ROWS=()

# bench_case KEY "COMMAND" ["SETUP"]: runs COMMAND (bash) once to warm up, then
# $RUNS timed runs (SETUP untimed before each); records the median seconds.
bench_case() {
    local key=$1 cmd=$2 setup=${3:-true} times=() i s e
    bash -c "$setup"; bash -c "$cmd"
    for ((i = 0; i < RUNS; i++)); do
        bash -c "$setup"
        s=$(date +%s.%N)
        bash -c "$cmd"
        e=$(date +%s.%N)
        times+=("$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')")
    done
    MEDIAN[$key]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    ROWS+=("$key|$cmd|${MEDIAN[$key]}")
    printf '  %-28s %8s s   %s\n' "$key" "${MEDIAN[$key]}" "$cmd" >&2
}

ratio() { awk -v a="${MEDIAN[$1]}" -v b="${MEDIAN[$2]}" 'BEGIN {printf "%.2f", b / a}'; }

peak_rss_mib() {  # the largest RSS of any process the command ran, in MiB
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1], shell=True, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$1"
}

make_images
SIZE_DENSE=$((DENSE_MIB << 20))
SIZE_THIN=$((THIN_GIB << 30))

echo "bench: 1. dense $DENSE_MIB MiB image to /dev/null" >&2
bench_case dense.zadp-read "zadp-read --source dense.img > /dev/null"
bench_case dense.cat "cat dense.img > /dev/null"
bench_case dense.dd "dd if=dense.img of=/dev/null bs=1M status=none"

echo "bench: 2. thin $THIN_GIB GiB image (10% allocated), read everything" >&2
bench_case thin.zadp-read "zadp-read --source thin.img > /dev/null"
bench_case thin.dd "dd if=thin.img of=/dev/null bs=1M status=none"
bench_case thin.qemu-img "qemu-img convert -f raw -n --target-image-opts thin.img driver=null-co,size=$SIZE_THIN"
bench_case thin.nbdcopy "nbdcopy thin.img null:"

echo "bench: 3. restore into a new file (durable: synced before done)" >&2
bench_case restore.zadp-write "zadp-write --target r-zadp.img < thin.zs" "rm -f r-zadp.img"
bench_case restore.dd "dd if=thin.img of=r-dd.img bs=1M conv=sparse,fsync status=none" "rm -f r-dd.img"
bench_case restore.qemu-img "qemu-img convert -t writeback -f raw -O raw thin.img r-qemu.img" "rm -f r-qemu.img"
cmp thin.img r-zadp.img || { echo "bench: restored image differs!" >&2; exit 1; }
ALLOC_SRC=$(($(stat -c %b thin.img) * 512))
ALLOC_ZADP=$(($(stat -c %b r-zadp.img) * 512))
ALLOC_DD=$(($(stat -c %b r-dd.img) * 512))
ALLOC_QEMU=$(($(stat -c %b r-qemu.img) * 512))
rm -f r-dd.img r-qemu.img

echo "bench: 4. peak RSS on the thin image" >&2
RSS_READ=$(peak_rss_mib "zadp-read --source thin.img > /dev/null")
RSS_WRITE=$(peak_rss_mib "rm -f r-zadp.img; zadp-write --target r-zadp.img < thin.zs")
RSS_READ_ZSTD=$(peak_rss_mib "zadp-read --source thin.img --compress zstd -T 2 > /dev/null")
rm -f r-zadp.img

echo "bench: 5. compression of the thin image (2 zstd threads)" >&2
bench_case zstd.zadp-compress "zadp-read --source thin.img --compress zstd -T 2 > /dev/null"
bench_case zstd.zadp-pipe "zadp-read --source thin.img | zstd -q -T2 > /dev/null"
bench_case zstd.dd-pipe "dd if=thin.img bs=1M status=none | zstd -q -T2 > /dev/null"
SZ_ZADP=$(zadp-read --source thin.img --compress zstd -T 2 | wc -c)
SZ_DD=$(dd if=thin.img bs=1M status=none | zstd -q -T2 | wc -c)

pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f", 100 * (a - b) / b}'; }
mibs() { awk -v n="$1" -v t="${MEDIAN[$2]}" 'BEGIN {printf "%.0f", n / 1048576 / t}'; }

{
    echo "# Benchmark results"
    echo
    echo "Written by \`bench/run.sh\` (\`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC'). Median of $RUNS runs after one"
    echo "warm-up run; the images sit in the page cache (24 GiB RAM), so these compare CPU and copy"
    echo "paths, not the disk. Ratios are the other tool's time divided by zadp's (higher = zadp faster)."
    echo
    echo "## Machine"
    echo
    echo '```'
    uname -srm
    lscpu | grep -E 'Model name|^CPU\(s\)|L2 cache|L3 cache' | sed 's/  */ /g'
    free -g | awk '/Mem:/ {print "Memory: " $2 " GiB"}'
    df -hT "$WORK" | awk 'NR == 2 {print "Work dir file system: " $2 " (" $1 ")"}'
    echo "qemu-img: $(qemu-img --version | head -1)"
    echo "nbdcopy: $(nbdcopy --version | head -1)"
    echo "zstd: $(zstd --version)"
    echo "dd: $(dd --version | head -1)"
    echo "Load average when written: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) CPUs; anything above ~0.5 means other jobs shared the CPUs)"
    echo '```'
    echo
    echo "## Results"
    echo
    echo "| case | median s | logical MiB/s | ratio (other / zadp) | goal |"
    echo "|---|---:|---:|---:|---|"
    echo "| dense ${DENSE_MIB} MiB: zadp-read (stream) | ${MEDIAN[dense.zadp-read]} | $(mibs $SIZE_DENSE dense.zadp-read) | | |"
    echo "| dense: cat | ${MEDIAN[dense.cat]} | $(mibs $SIZE_DENSE dense.cat) | $(ratio dense.zadp-read dense.cat) | >= 0.9 |"
    echo "| dense: dd bs=1M | ${MEDIAN[dense.dd]} | $(mibs $SIZE_DENSE dense.dd) | $(ratio dense.zadp-read dense.dd) | |"
    echo "| thin ${THIN_GIB} GiB: zadp-read | ${MEDIAN[thin.zadp-read]} | $(mibs $SIZE_THIN thin.zadp-read) | | |"
    echo "| thin: dd bs=1M | ${MEDIAN[thin.dd]} | $(mibs $SIZE_THIN thin.dd) | $(ratio thin.zadp-read thin.dd) | >= 8 |"
    echo "| thin: qemu-img convert -O raw | ${MEDIAN[thin.qemu-img]} | $(mibs $SIZE_THIN thin.qemu-img) | $(ratio thin.zadp-read thin.qemu-img) | |"
    echo "| thin: nbdcopy | ${MEDIAN[thin.nbdcopy]} | $(mibs $SIZE_THIN thin.nbdcopy) | $(ratio thin.zadp-read thin.nbdcopy) | >= 1.0 |"
    echo "| restore: zadp-write (stream -> new file) | ${MEDIAN[restore.zadp-write]} | $(mibs $SIZE_THIN restore.zadp-write) | | |"
    echo "| restore: dd conv=sparse,fsync | ${MEDIAN[restore.dd]} | $(mibs $SIZE_THIN restore.dd) | $(ratio restore.zadp-write restore.dd) | >= 1.0 |"
    echo "| restore: qemu-img convert -t writeback | ${MEDIAN[restore.qemu-img]} | $(mibs $SIZE_THIN restore.qemu-img) | $(ratio restore.zadp-write restore.qemu-img) | >= 1.0 |"
    echo "| zstd: zadp-read --compress zstd -T 2 | ${MEDIAN[zstd.zadp-compress]} | $(mibs $SIZE_THIN zstd.zadp-compress) | | |"
    echo "| zstd: zadp-read \\| zstd -T2 | ${MEDIAN[zstd.zadp-pipe]} | $(mibs $SIZE_THIN zstd.zadp-pipe) | $(ratio zstd.zadp-compress zstd.zadp-pipe) | |"
    echo "| zstd: dd \\| zstd -T2 | ${MEDIAN[zstd.dd-pipe]} | $(mibs $SIZE_THIN zstd.dd-pipe) | $(ratio zstd.zadp-compress zstd.dd-pipe) | |"
    echo
    echo "Allocation after restore (source $((ALLOC_SRC >> 20)) MiB allocated): zadp-write $((ALLOC_ZADP >> 20)) MiB"
    echo "($(pct $ALLOC_ZADP $ALLOC_SRC)%; goal within 1%), dd conv=sparse $((ALLOC_DD >> 20)) MiB, qemu-img $((ALLOC_QEMU >> 20)) MiB."
    echo
    echo "Peak RSS on the ${THIN_GIB} GiB image (goal <= 64 MiB): zadp-read ${RSS_READ} MiB, zadp-write ${RSS_WRITE} MiB,"
    echo "zadp-read --compress zstd -T 2 ${RSS_READ_ZSTD} MiB."
    echo
    echo "Compressed sizes: zadp-read --compress zstd $((SZ_ZADP >> 20)) MiB, dd | zstd $((SZ_DD >> 20)) MiB."
    echo
    echo "## Images"
    echo
    echo "- \`dense.img\`: ${DENSE_MIB} MiB from /dev/urandom."
    echo "- \`thin.img\`: ${THIN_GIB} GiB sparse file, 10% allocated in random 1-64 MiB extents at random"
    echo "  MiB-aligned offsets (seeded, so every run makes the same file), filled from os.urandom."
    echo "- \`thin.zs\`: \`zadp-read --source thin.img > thin.zs\`, the stream the restore case reads."
    echo "  dd and qemu-img restore from thin.img itself, the raw image they would keep as a backup."
    echo
    echo "## Exact commands (run in the work directory, bash -c, tools from $BIN)"
    echo
    for row in "${ROWS[@]}"; do
        IFS='|' read -r key cmd med <<< "$row"
        echo "- $key: \`$cmd\`"
    done
    echo "- peak RSS: python3 \`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss\` after running the command"
} > "$RESULTS"

echo >&2
sed -n '/^## Results/,/^## Images/p' "$RESULTS" | head -n -1
echo "bench: wrote $RESULTS" >&2

# The iSCSI transport's own benchmark, when it is there.
if [ -f "$HERE/iscsi.sh" ]; then
    bash "$HERE/iscsi.sh" "$BIN"
    ISCSI_BENCH_PIN=target bash "$HERE/iscsi.sh" "$BIN"  # tgtd on CPU 0, the clients on the others
fi

# Restores from the repository against the zstd-stream restore and
# qemu-img, interleaved rounds: as the machine is, then with one CPU burner
# per CPU beside them (the load section says what else ran).
if [ -f "$HERE/restore.sh" ]; then
    RESTORE_BENCH_LABEL=${RESTORE_BENCH_LABEL:-as found} bash "$HERE/restore.sh" "$BIN"
    RESTORE_BENCH_LABEL="with CPU burners" RESTORE_BENCH_LOAD=burn bash "$HERE/restore.sh" "$BIN"
fi

# The control plane at scale (10,000 VMs on hci-sim): the speed the e2e
# scenarios no longer assert.
if [ -f "$HERE/api.sh" ]; then
    bash "$HERE/api.sh" "$BIN"
fi

# A restore point served over NBD against zadp-read, and one file out of a
# disk against a full restore, when nbdkit and the plugin are there.
if [ -f "$HERE/nbd.sh" ] && command -v nbdkit >/dev/null && [ -f "$BIN/../lib/nbdkit/plugins/nbdkit-zadp-plugin.so" ]; then
    bash "$HERE/nbd.sh" "$BIN"
fi

# The repository on S3 against restic's S3 backend and raw curl, on a Ceph
# RGW the script starts and stops (skipped when Ceph is not installed).
# Twice: every process on every CPU, then the test bed on CPU 0 and the
# clients on the others (two machines' worth of placement).
if [ -f "$HERE/s3.sh" ]; then
    bash "$HERE/s3.sh" "$BIN"
    S3_BENCH_PIN=server S3_BENCH_LABEL="test bed on CPU 0" bash "$HERE/s3.sh" "$BIN"
fi

# The deduplicating repository against restic and borg (long: see its knobs).
if [ -f "$HERE/repo.sh" ]; then
    bash "$HERE/repo.sh" "$BIN"
fi
