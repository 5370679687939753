#!/bin/bash
# bench/nbd.sh BINDIR: a restore point served over NBD (nbdkit and our
# plugin) against the tools' own read, on one image, in one run:
#   (a) sequential read: nbdcopy of the served image to null: against
#       zadp-read --source repo:... --format raw > /dev/null (goal >= 0.8x);
#   (b) the server's peak RSS during (a) (goal <= 64 MiB + the cache);
#   (c) one 10 MiB file out of a disk with restore-files.sh against a full
#       restore (zadp-read | zadp-write into a file) and debugfs on it.
# Median of NBD_BENCH_RUNS (3). Prints a table and puts it into
# bench/RESULTS.md (replacing an earlier "Restore points over NBD" section).
# Knobs: NBD_BENCH_MIB (image of random data, 1024), NBD_BENCH_DISK_MIB
# (disk for (c), 4096), NBD_BENCH_FILL (percent of it written, 50),
# NBD_BENCH_RUNS, TMPDIR (/var/tmp).
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
[ -f "$PLUGIN" ] || { echo "bench/nbd.sh: no plugin at $PLUGIN" >&2; exit 1; }
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
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

say "storing a $MIB MiB image of random data"
zadp-repo init >/dev/null
head -c $((MIB << 20)) /dev/urandom > img
zadp-read --source img | zadp-write --target repo:bench/2026-11-28T020000Z/disk0 >/dev/null
rm img

# start_server: nbdkit with the plugin on a Unix socket (a new server each
# time: a cold cache)
start_server() {
    rm -f sock sock.pid
    nbdkit -f -r -U sock -P sock.pid "$PLUGIN" repo="$ZADP_REPO" image=bench/2026-11-28T020000Z/disk0 2>>nbdkit.err &
    server=$!
    while [ ! -s sock.pid ]; do sleep 0.05; done
}
stop_server() {
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
}

read_times=() nbd_times=() rss=()
for r in $(seq "$RUNS"); do
    read_times+=("$(seconds zadp-read --source repo:bench/2026-11-28T020000Z/disk0 --format raw -o /dev/null)")
    start_server
    nbd_times+=("$(seconds nbdcopy "nbd+unix:///?socket=$W/sock" null:)")
    rss+=("$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$server/status")")
    stop_server
    say "run $r: zadp-read ${read_times[-1]}s, nbdcopy ${nbd_times[-1]}s, server peak RSS ${rss[-1]} MiB"
done
zr=$(printf '%s\n' "${read_times[@]}" | median)
nb=$(printf '%s\n' "${nbd_times[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)

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

nbd_file_times=() full_times=()
for r in $(seq "$RUNS"); do
    rm -rf out restored.img
    nbd_file_times+=("$(seconds "$HERE/../examples/restore-files.sh" --disk 1 repo:bench/2026-11-28T020000Z /home/report.bin out)")
    cmp -s out/report.bin src/home/report.bin || { say "restore-files.sh copied other bytes"; exit 1; }
    full() {
        zadp-read --source repo:bench/2026-11-28T020000Z/disk1 | zadp-write --target restored.img &&
            debugfs -c -R "dump /home/report.bin out/full.bin" "restored.img?offset=1048576" 2>/dev/null
    }
    full_times+=("$(seconds full)")
    cmp -s out/full.bin src/home/report.bin || { say "the full restore copied other bytes"; exit 1; }
    say "run $r: restore-files.sh ${nbd_file_times[-1]}s, full restore and copy ${full_times[-1]}s"
done
rf=$(printf '%s\n' "${nbd_file_times[@]}" | median)
fr=$(printf '%s\n' "${full_times[@]}" | median)

SECTION="Restore points over NBD"
table=$(cat <<EOF
## $SECTION ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), bench/nbd.sh)

| what | command | median of $RUNS | ratio |
| --- | --- | --- | --- |
| sequential read, $MIB MiB random | \`zadp-read --source repo:... --format raw -o /dev/null\` | ${zr}s ($(awk -v m="$MIB" -v t="$zr" 'BEGIN { printf "%.0f", m / t }') MiB/s) | 1 |
| same, served | \`nbdcopy nbd+unix:///?socket=S null:\` (nbdkit + plugin, cold cache 64M) | ${nb}s ($(awk -v m="$MIB" -v t="$nb" 'BEGIN { printf "%.0f", m / t }') MiB/s) | $(awk -v a="$zr" -v b="$nb" 'BEGIN { printf "%.2fx", a / b }') (goal >= 0.8x) |
| server peak RSS during it | VmHWM of nbdkit | ${peak} MiB (max of runs) | goal <= 64 MiB + 64 MiB cache |
| one 10 MiB file, ${DISK_MIB} MiB disk ${FILL}% written | \`restore-files.sh --disk 1 repo:G/T /home/report.bin out\` | ${rf}s | $(awk -v a="$fr" -v b="$rf" 'BEGIN { printf "%.1fx faster", a / b }') (goal >= 10x) |
| same, full restore | \`zadp-read --source repo:.../disk1 \| zadp-write --target restored.img\`, \`debugfs -c -R dump\` | ${fr}s | 1 |

Not measured here: 4 KiB random-read latency (fio is not installed on this machine).
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
