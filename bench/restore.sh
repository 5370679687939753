#!/bin/bash
# bench/restore.sh BINDIR [BASE_BINDIR]: restore speed, interleaved. One image
# restored into a new file by every case in turn, ROUNDS rounds, the order
# rotated each round; every timed command starts after an untimed `sync` and
# ends with `sync r.img` timed (a restore is done when it is on disk). Ratios
# are taken within each round (other's time / ours: > 1 means ours is faster)
# and the table gives their median, so load that comes and goes hits both
# sides of a ratio alike. BASE_BINDIR (optional) adds our restore with other
# binaries (say, main's) as before/after rows.
#
# Knobs (environment):
#   RESTORE_BENCH_SIZE       image size, 2G (K/M/G suffixes)
#   RESTORE_BENCH_ALLOCATED  allocated fraction, 0.1953125 (400 MiB of 2 GiB)
#   RESTORE_BENCH_TEXT       fraction of the allocated bytes that is text-like
#                            (compresses about 2:1), 0.4; the rest is random
#   RESTORE_BENCH_ROUNDS     rounds, 7
#   RESTORE_BENCH_LOAD       "" (none), "burn" (RESTORE_BENCH_BURNERS CPU
#                            burners, default one per CPU, started and stopped
#                            by pid) or a shell command run beside the rounds
#                            (e.g. "make -C /src/other -j2"), stopped by pid
#   RESTORE_BENCH_LABEL      the section's label in RESULTS.md ("quiet", "loaded"...)
#   BENCH_RESULTS            the file the section goes to (bench/RESULTS.md);
#                            an earlier section with the same label is replaced
#   TMPDIR                   where the image and repositories go (/var/tmp)
set -euo pipefail
BIN=$(cd "${1:?usage: bench/restore.sh BINDIR [BASE_BINDIR]}" && pwd)
BASE=""
[ -z "${2:-}" ] || BASE=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE_ARG=${RESTORE_BENCH_SIZE:-2G}
SIZE=$(numfmt --from=iec "$SIZE_ARG")
ALLOCATED=${RESTORE_BENCH_ALLOCATED:-0.1953125}
TEXT=${RESTORE_BENCH_TEXT:-0.4}
ROUNDS=${RESTORE_BENCH_ROUNDS:-7}
LOAD=${RESTORE_BENCH_LOAD:-}
LABEL=${RESTORE_BENCH_LABEL:-${LOAD:+loaded}}
LABEL=${LABEL:-as found}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}

say() { echo "bench/restore: $*" >&2; }
die() { say "$*"; exit 1; }
for t in "$BIN/zadp-read" "$BIN/zadp-write" "$BIN/zadp-repo" zstd qemu-img python3 numfmt /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done

W=$(mktemp -d "${TMPDIR:-/var/tmp}/restore-bench.XXXXXX")
LOAD_PIDS=()
stop_load() {
    local p
    for p in "${LOAD_PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
    for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    LOAD_PIDS=()
}
trap 'stop_load; rm -rf "$W"' EXIT
cd "$W"

NAME=bench/2026-12-01T000000Z/disk0
say "work dir $W: $SIZE_ARG image, $ALLOCATED allocated, $TEXT of it text-like"
python3 "$HERE/repo_image.py" make img.raw "$SIZE" "$ALLOCATED" "$TEXT"
ALLOC_BYTES=$(($(stat -c %b img.raw) * 512))
"$BIN/zadp-repo" --repo rp init > /dev/null
"$BIN/zadp-repo" --repo re --key-file key init --encrypt > /dev/null
"$BIN/zadp-read" --source img.raw | "$BIN/zadp-write" --repo rp --target "repo:$NAME" > /dev/null
"$BIN/zadp-read" --source img.raw | "$BIN/zadp-write" --repo re --key-file key --target "repo:$NAME" > /dev/null
"$BIN/zadp-read" --source img.raw | zstd -q -T2 > img.zs.zst

# The cases: KEY and bash command (run in $W, restoring into r.img).
declare -A CMD
KEYS=(pipe pipe-enc one one-enc zst qemu)
CMD[pipe]="$BIN/zadp-read --repo rp --source repo:$NAME | $BIN/zadp-write --target r.img"
CMD[pipe-enc]="$BIN/zadp-read --repo re --key-file key --source repo:$NAME | $BIN/zadp-write --target r.img"
CMD[one]="$BIN/zadp-write --repo rp --source repo:$NAME --target r.img"
CMD[one-enc]="$BIN/zadp-write --repo re --key-file key --source repo:$NAME --target r.img"
CMD[zst]="zstd -dcq img.zs.zst | $BIN/zadp-write --target r.img"
CMD[qemu]="qemu-img convert -O raw img.raw r.img"
if [ -n "$BASE" ]; then
    KEYS+=(base-pipe base-pipe-enc base-one base-one-enc)
    CMD[base-pipe]="$BASE/zadp-read --repo rp --source repo:$NAME | $BASE/zadp-write --target r.img"
    CMD[base-pipe-enc]="$BASE/zadp-read --repo re --key-file key --source repo:$NAME | $BASE/zadp-write --target r.img"
    CMD[base-one]="$BASE/zadp-write --repo rp --source repo:$NAME --target r.img"
    CMD[base-one-enc]="$BASE/zadp-write --repo re --key-file key --source repo:$NAME --target r.img"
fi
# Every case restores the same bytes.
for k in "${KEYS[@]}"; do
    rm -f r.img
    bash -c "${CMD[$k]}" > /dev/null
    cmp -s img.raw r.img || die "$k restored an image that differs from the source"
done

start_load() {
    [ -n "$LOAD" ] || return 0
    local i n=${RESTORE_BENCH_BURNERS:-$(nproc)}
    if [ "$LOAD" = burn ]; then
        for ((i = 0; i < n; i++)); do
            setsid sha256sum /dev/zero > /dev/null 2>&1 &
            LOAD_PIDS+=($!)
        done
    else
        setsid bash -c "while :; do $LOAD; done" > "$W/load.log" 2>&1 &
        LOAD_PIDS+=($!)
    fi
    sleep 5  # let the load average climb
}

# One timed run: its seconds appended to TIMES[KEY], the largest RSS of any
# process of the command (KiB) kept in RSS[KEY]; T_LAST is the time.
declare -A TIMES RSS
timed() {
    local key=$1 s e kib
    rm -f r.img
    sync
    s=$(date +%s.%N)
    /usr/bin/time -v -o time.log bash -c "${CMD[$key]} > /dev/null && sync r.img" || { cat time.log >&2; die "failed: ${CMD[$key]}"; }
    e=$(date +%s.%N)
    kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.log)
    [ "${RSS[$key]:-0}" -ge "$kib" ] || RSS[$key]=$kib
    T_LAST=$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')
    TIMES[$key]+="$T_LAST "
}

start_load
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LOADS=()
T0=$(date +%s)
n=${#KEYS[@]}
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for ((i = 0; i < n; i++)); do
        k=${KEYS[$(((i + r) % n))]}
        timed "$k"
        line+=" $k $T_LAST"
    done
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
    say "$line (load ${LOADS[-1]})"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
stop_load
ELAPSED=$(($(date +%s) - T0))

# ---- report ----
# median of per-round ratios: NUM_KEY's time / DEN_KEY's time, round by round.
ratio() {
    python3 - "${TIMES[$1]}" "${TIMES[$2]}" <<'PY'
import statistics, sys
a, b = (list(map(float, x.split())) for x in sys.argv[1:3])
print("%.2f" % statistics.median(x / y for x, y in zip(a, b)))
PY
}
median() { python3 -c 'import statistics, sys; print("%.2f" % statistics.median(map(float, sys.argv[1].split())))' "${TIMES[$1]}"; }
spread() { python3 -c 'import sys; v = sorted(map(float, sys.argv[1].split())); print("%.2f-%.2f" % (v[0], v[-1]))' "${TIMES[$1]}"; }
rss() { echo $((RSS[$1] / 1024)); }
label_of() {
    case $1 in
        pipe) echo "zadp-read --source repo: \\| zadp-write" ;;
        pipe-enc) echo "the same, encrypted repository" ;;
        one) echo "zadp-write --source repo: (one process)" ;;
        one-enc) echo "the same, encrypted repository" ;;
        zst) echo "zstd -dc img.zs.zst \\| zadp-write" ;;
        qemu) echo "qemu-img convert -O raw img.raw" ;;
        base-pipe) echo "zadp-read \\| zadp-write, BASE_BINDIR's binaries" ;;
        base-pipe-enc) echo "the same, encrypted repository" ;;
        base-one) echo "zadp-write --source repo:, BASE_BINDIR's binary" ;;
        base-one-enc) echo "the same, encrypted repository" ;;
    esac
}
goal() {  # TEXT OTHER OURS LIMIT
    local m ok
    m=$(ratio "$2" "$3")
    ok=$(awk -v m="$m" -v l="$4" 'BEGIN {print (m >= l ? "met" : "NOT met")}')
    echo "| $1 | $m | >= $4 | $ok |"
}
LOAD_MEDIAN=$(python3 -c 'import statistics, sys; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' "${LOADS[@]}")
FS=$(df -T "$W" | awk 'NR == 2 {print $2}')
SECTION=$(
    echo "## Restore from the repository, $LABEL ($(date -u +%Y-%m-%dT%H:%MZ), bench/restore.sh)"
    echo
    echo "Command: \`RESTORE_BENCH_SIZE=$SIZE_ARG RESTORE_BENCH_ROUNDS=$ROUNDS${LOAD:+ RESTORE_BENCH_LOAD='$LOAD'}" \
        "bench/restore.sh build/bin${BASE:+ BASE_BINDIR}\` ($ELAPSED s; $(nproc) CPUs; load average $LOAD_BEFORE" \
        "at the first round, $LOAD_AFTER after the last, median of the per-round 1-minute figures" \
        "$LOAD_MEDIAN; work dir on $FS)."
)
SECTION+=$'\n\n'$(
    echo "Image: $SIZE_ARG sparse file, $((ALLOC_BYTES >> 20)) MiB allocated in scattered 1-64 MiB extents,"
    echo "$TEXT of them text-like (about 2:1 under zstd), the rest random (bench/repo_image.py, seeded);"
    echo "repositories with the default 256 KiB chunks, plain and encrypted. $ROUNDS rounds, the order of the"
    echo "cases rotated each round; each run restores into a new file after an untimed \`sync\` and is timed"
    echo "up to the end of \`sync r.img\`. Ratios are medians of per-round ratios."
    if [ -n "$LOAD" ]; then
        if [ "$LOAD" = burn ]; then
            echo "Load: ${RESTORE_BENCH_BURNERS:-$(nproc)} \`sha256sum /dev/zero\` CPU burners beside the rounds (started and stopped by pid), on top of whatever else ran."
        else
            echo "Load: \`$LOAD\` in a loop beside the rounds (started and stopped by pid), on top of whatever else ran."
        fi
    fi
    echo
    echo "| case | median s | range s | peak RSS MiB |"
    echo "|---|---:|---:|---:|"
    for k in "${KEYS[@]}"; do echo "| $(label_of "$k") | $(median "$k") | $(spread "$k") | $(rss "$k") |"; done
    echo
    echo "| goal (median of per-round ratios) | measured | target | |"
    echo "|---|---:|---|---|"
    goal "qemu-img convert time / one-process restore time" qemu one 1.0
    goal "qemu-img convert time / pipe restore time" qemu pipe 1.0
    goal "zstd-stream restore time / one-process restore time" zst one 0.9
    goal "zstd-stream restore time / pipe restore time" zst pipe 0.9
    goal "plain / encrypted, one process" one one-enc 0.9
    goal "plain / encrypted, pipe" pipe pipe-enc 0.9
    if [ -n "$BASE" ]; then
        goal "pipe restore: BASE_BINDIR's time / ours" base-pipe pipe 1.0
        goal "pipe restore, encrypted: BASE_BINDIR's time / ours" base-pipe-enc pipe-enc 1.0
        goal "one-process restore: BASE_BINDIR's time / ours" base-one one 1.0
        goal "one-process restore, encrypted: BASE_BINDIR's time / ours" base-one-enc one-enc 1.0
    fi
    rss_max=0
    for k in "${KEYS[@]}"; do
        case $k in qemu | zst) continue ;; esac
        [ "${RSS[$k]}" -le "$rss_max" ] || rss_max=${RSS[$k]}
    done
    echo "| peak RSS of any of our processes, MiB | $((rss_max / 1024)) | <= 64 | $([ $((rss_max / 1024)) -le 64 ] && echo met || echo NOT met) |"
    echo
    echo "Commands (in the work dir; r.img removed before each):"
    echo
    for k in "${KEYS[@]}"; do echo "- $k: \`$(sed "s|$BIN/||g; ${BASE:+s|$BASE/|BASE_BINDIR/|g}" <<<"${CMD[$k]}") && sync r.img\`"; done
    echo
    echo "Per-round times (s):"
    echo
    for k in "${KEYS[@]}"; do echo "- $k: ${TIMES[$k]}"; done
)
echo "$SECTION"
python3 "$HERE/results_section.py" "$RESULTS" "Restore from the repository, $LABEL (" <<<"$SECTION"
say "wrote $RESULTS"
