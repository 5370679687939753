#!/bin/bash
# bench/nbd.sh BINDIR: a restore point served over NBD (nbdkit and our
# plugin) against the tools' own read, on one image, in one run:
#   (a) sequential read: nbdcopy of the served image to null: against
#       zadp-read --source repo:... --format raw > /dev/null (goal >= 0.8x);
#   (b) the server's peak RSS during (a) (goal <= 64 MiB + the cache);
#   (c) 4 KiB random reads (fio's nbd engine, queue depth 1): p50 and p99
#       completion latency and IOPS, cold (a new server, the repository's
#       files dropped from the page cache, the whole image) and warm (a
#       32 MiB range read once before), against `nbdkit file` serving a raw
#       copy of the same image the same way (its file dropped or read once);
#   (d) one 10 MiB file out of a disk with restore-files.sh against a full
#       restore (zadp-read | zadp-write into a file) and debugfs on it.
# NBD_BENCH_RUNS (3) interleaved rounds, each with one run of every case;
# ratios are taken within a round and the table gives their median (and the
# median of each case's times), so load that comes and goes hits both sides
# of a ratio alike. Prints a table and puts it into bench/RESULTS.md
# (replacing an earlier "Restore points over NBD" section).
# Knobs: NBD_BENCH_MIB (image of random data, 1024), NBD_BENCH_DISK_MIB
# (disk for (d), 4096), NBD_BENCH_FILL (percent of it written, 50),
# NBD_BENCH_RUNS, NBD_BENCH_FIO_SECONDS (5 per fio run), TMPDIR (/var/tmp).
set -euo pipefail
BIN=$(cd "${1:?usage: bench/nbd.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH="$BIN:$PATH"
MIB=${NBD_BENCH_MIB:-1024}
DISK_MIB=${NBD_BENCH_DISK_MIB:-4096}
RUNS=${NBD_BENCH_RUNS:-3}
FILL=${NBD_BENCH_FILL:-50}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
PLUGIN="$BIN/../lib/nbdkit/plugins/nbdkit-zadp-plugin.so"
for t in nbdkit nbdcopy nbdfuse debugfs mkfs.ext4 sfdisk zadp-read zadp-write zadp-repo; do
    command -v "$t" >/dev/null || { echo "bench/nbd.sh: $t not found (scripts/install-deps.sh)" >&2; exit 1; }
done
# Without fio (apt-get install fio) the random-read rows say so.
HAVE_FIO=$(command -v fio >/dev/null && echo 1 || echo "")
[ -f "$PLUGIN" ] || { echo "bench/nbd.sh: no plugin at $PLUGIN" >&2; exit 1; }
FIO_SECONDS=${NBD_BENCH_FIO_SECONDS:-5}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/nbd-bench.XXXXXX")
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
export ZADP_REPO="$W/repo"
say() { echo "bench/nbd.sh: $*" >&2; }

# seconds CMD...: wall time of CMD
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ratios A B: the per-round ratios A[i] / B[i] of two arrays (by name)
ratios() {
    local -n num=$1 den=$2
    local i
    for i in "${!num[@]}"; do awk -v x="${num[$i]}" -v y="${den[$i]}" 'BEGIN { printf "%.3f\n", x / y }'; done
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LOADS=()

say "storing a $MIB MiB image of random data"
zadp-repo init >/dev/null
head -c $((MIB << 20)) /dev/urandom > img
zadp-read --source img | zadp-write --target repo:bench/2026-11-28T020000Z/disk0 >/dev/null

# start_server [PLUGIN ARGS...]: nbdkit on a Unix socket (a new server each
# time: a cold cache), by default our plugin serving disk0
start_server() {
    [ $# -gt 0 ] || set -- "$PLUGIN" repo="$ZADP_REPO" image=bench/2026-11-28T020000Z/disk0
    rm -f sock sock.pid
    nbdkit -f -r -U sock -P sock.pid "$@" 2>>nbdkit.err &
    server=$!
    while [ ! -s sock.pid ]; do sleep 0.05; done
}
stop_server() {
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
}
URI="nbd+unix:///?socket=$W/sock"
# drop_cache FILE...: the files' pages out of the page cache (a cold read)
drop_cache() {
    local f
    for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done
}
# fio_randread SPAN: 4 KiB random reads at queue depth 1 over the first SPAN
# of the export for FIO_SECONDS; prints "p50_us p99_us iops"
fio_randread() {
    fio --name=randread --ioengine=nbd --uri="$URI" --rw=randread --bs=4k --iodepth=1 --size="$1" \
        --time_based --runtime="$FIO_SECONDS" --output-format=json --output=fio.json >/dev/null
    python3 - fio.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["jobs"][0]["read"]
p = r["clat_ns"]["percentile"]
print("%.0f %.0f %.0f" % (p["50.000000"] / 1000, p["99.000000"] / 1000, r["iops"]))
PY
}
WARM=32M
# random_round [SERVER ARGS...]: a cold and a warm fio run, each against a
# new server; prints "cold_p50 cold_p99 cold_iops warm_p50 warm_p99 warm_iops"
random_round() {
    local cold warm
    # shellcheck disable=SC2046
    drop_cache img $(find "$ZADP_REPO" -type f)
    start_server "$@"
    cold=$(fio_randread "${MIB}M")
    stop_server
    start_server "$@"
    fio --name=warm --ioengine=nbd --uri="$URI" --rw=read --bs=256k --size="$WARM" --output-format=json >/dev/null
    warm=$(fio_randread "$WARM")
    stop_server
    echo "$cold $warm"
}

read_times=() nbd_times=() rss=() ours=() file=()
for r in $(seq "$RUNS"); do
    read_times+=("$(seconds zadp-read --source repo:bench/2026-11-28T020000Z/disk0 --format raw -o /dev/null)")
    start_server
    nbd_times+=("$(seconds nbdcopy "$URI" null:)")
    rss+=("$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$server/status")")
    stop_server
    if [ -z "$HAVE_FIO" ]; then
        ours+=("- - - - - -"); file+=("- - - - - -")
    elif ((r % 2)); then
        ours+=("$(random_round)"); file+=("$(random_round file img)")
    else
        file+=("$(random_round file img)"); ours+=("$(random_round)")
    fi
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
    say "run $r: zadp-read ${read_times[-1]}s, nbdcopy ${nbd_times[-1]}s, server peak RSS ${rss[-1]} MiB;" \
        "4K random p50 p99 IOPS cold, warm: ours ${ours[-1]}, nbdkit file ${file[-1]} (load ${LOADS[-1]})"
done
zr=$(printf '%s\n' "${read_times[@]}" | median)
nb=$(printf '%s\n' "${nbd_times[@]}" | median)
seq_ratio=$(ratios read_times nbd_times | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)
# col ARRAY N: median of column N of the random-read rounds in ARRAY
col() {
    local -n l=$1
    printf '%s\n' "${l[@]}" | awk -v c="$2" '{ print $c }' | median
}
# iops_ratio N: median of the per-round ratios ours / file of column N
iops_ratio() {
    [ -n "$HAVE_FIO" ] || { echo "-"; return; }
    local ours_col=() file_col=() i
    for i in "${!ours[@]}"; do
        ours_col+=("$(awk -v c="$1" '{ print $c }' <<<"${ours[$i]}")")
        file_col+=("$(awk -v c="$1" '{ print $c }' <<<"${file[$i]}")")
    done
    ratios ours_col file_col | median
}
rm img

say "making a $DISK_MIB MiB disk: ext4 in a GPT partition, a 10 MiB file among $((DISK_MIB * FILL / 100)) MiB of others"
mkdir -p src/data src/home
head -c $((10 << 20)) /dev/urandom > src/home/report.bin
for i in $(seq $((DISK_MIB * FILL / 100 / 64))); do head -c $((64 << 20)) /dev/urandom > "src/data/f$i"; done
mkfs.ext4 -q -F -d src disk.fs "$((DISK_MIB - 2))M" >/dev/null
rm -rf src/data
truncate -s "${DISK_MIB}M" disk.img
printf 'label: gpt\nstart=2048, size=%d, type=L\n' $(((DISK_MIB - 2) * 2048)) | sfdisk -q disk.img
dd if=disk.fs of=disk.img bs=1M seek=1 conv=notrunc,sparse status=none
rm disk.fs
zadp-read --source disk.img | zadp-write --target repo:bench/2026-11-28T020000Z/disk1 >/dev/null
rm disk.img

full() {
    zadp-read --source repo:bench/2026-11-28T020000Z/disk1 | zadp-write --target restored.img &&
        debugfs -c -R "dump /home/report.bin out/full.bin" "restored.img?offset=1048576" 2>/dev/null
}
nbd_file_times=() full_times=()
for r in $(seq "$RUNS"); do
    rm -rf out restored.img
    nbd_file_times+=("$(seconds "$HERE/../examples/restore-files.sh" --disk 1 repo:bench/2026-11-28T020000Z /home/report.bin out)")
    cmp -s out/report.bin src/home/report.bin || { say "restore-files.sh copied other bytes"; exit 1; }
    full_times+=("$(seconds full)")
    cmp -s out/full.bin src/home/report.bin || { say "the full restore copied other bytes"; exit 1; }
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
    say "run $r: restore-files.sh ${nbd_file_times[-1]}s, full restore and copy ${full_times[-1]}s (load ${LOADS[-1]})"
done
rf=$(printf '%s\n' "${nbd_file_times[@]}" | median)
fr=$(printf '%s\n' "${full_times[@]}" | median)
file_ratio=$(ratios full_times nbd_file_times | median)
LOAD_MEDIAN=$(printf '%s\n' "${LOADS[@]}" | median)

SECTION="Restore points over NBD"
mibs() { awk -v m="$MIB" -v t="$1" 'BEGIN { printf "%.0f", m / t }'; }
table=$(cat <<EOF
## $SECTION ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, bench/nbd.sh)

Command: \`NBD_BENCH_RUNS=$RUNS bench/nbd.sh build/bin\`; load average $LOAD_BEFORE before the first
round, $(cut -d' ' -f1-3 /proc/loadavg) after the last, median of the per-round 1-minute figures $LOAD_MEDIAN.
$RUNS interleaved rounds; ratios are medians of per-round ratios (other's time / ours: > 1 is faster).

| what | command | median of $RUNS | ratio |
| --- | --- | --- | --- |
| sequential read, $MIB MiB random | \`zadp-read --source repo:... --format raw -o /dev/null\` | ${zr}s ($(mibs "$zr") MiB/s) | 1 |
| same, served | \`nbdcopy nbd+unix:///?socket=S null:\` (nbdkit + plugin, cold cache 64M) | ${nb}s ($(mibs "$nb") MiB/s) | ${seq_ratio}x (goal >= 0.8x) |
| server peak RSS during it | VmHWM of nbdkit | ${peak} MiB (max of runs) | goal <= 64 MiB + 64 MiB cache |
| one 10 MiB file, ${DISK_MIB} MiB disk ${FILL}% written | \`restore-files.sh --disk 1 repo:G/T /home/report.bin out\` | ${rf}s | ${file_ratio}x faster (goal >= 10x) |
| same, full restore | \`zadp-read --source repo:.../disk1 \| zadp-write --target restored.img\`, \`debugfs -c -R dump\` | ${fr}s | 1 |

$([ -n "$HAVE_FIO" ] || echo "Not measured in this run: fio is not installed (apt-get install fio). ")4 KiB random reads, \`fio --ioengine=nbd --rw=randread --bs=4k --iodepth=1 --time_based --runtime=$FIO_SECONDS\`,
each against a new server: cold = the repository's files (or the raw copy) dropped from the page
cache first (\`dd iflag=nocache count=0\`), reads over the whole $MIB MiB image; warm = reads over
the first $WARM after one sequential fio pass over it (plugin: its chunks in the cache).

| 4 KiB random read | p50 us | p99 us | IOPS | IOPS ours / file |
| --- | ---: | ---: | ---: | ---: |
| cold, plugin (cache 64M) | $(col ours 1) | $(col ours 2) | $(col ours 3) | $(iops_ratio 3)x |
| cold, \`nbdkit file\` on a raw copy | $(col file 1) | $(col file 2) | $(col file 3) | 1 |
| warm, plugin | $(col ours 4) | $(col ours 5) | $(col ours 6) | $(iops_ratio 6)x |
| warm, \`nbdkit file\` | $(col file 4) | $(col file 5) | $(col file 6) | 1 |
EOF
)
echo "$table"
python3 - "$RESULTS" "$SECTION" "$table" <<'PY'
import re, sys
path, section, table = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read() if __import__("os").path.exists(path) else ""
text = re.sub(r"\n## " + re.escape(section) + r" \(.*?(?=\n## |\Z)", "", text, flags=re.S)
open(path, "w").write(text.rstrip("\n") + "\n\n" + table + "\n")
PY
say "wrote $RESULTS"
