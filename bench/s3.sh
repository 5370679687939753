#!/bin/bash
# bench/s3.sh BINDIR: the repository on S3 (issue 18 §6), side by side in one
# run on one Ceph RGW that this script starts (scripts/rgw-testbed.sh in its
# work dir) and stops. bench/repo.sh's workload: a thin image (10% allocated
# in scattered 1-64 MiB extents of random data), 1% of the allocated data
# rewritten per night. Each round, the order of the systems rotated:
#   (a) first backup: zadp-repo into s3://, restic 0.14 into its own S3
#       backend on the same RGW, raw `curl` PUT of the same compressed bytes
#       in 16 MiB objects (the pack size) with the store's parallelism, once
#       unsigned (UNSIGNED-PAYLOAD: RGW checks nothing) and once signing each
#       object's SHA-256 as our PUTs do (RGW hashes the bytes it receives);
#   (b) incremental backup after one night's churn (zadp-repo, restic);
#   (c) restore of (b) into a new file, synced (zadp-repo, restic), and raw
#       `curl` GET of the objects of (a);
#   (d) 1, 2 and 4 concurrent writers of distinct images, each its own VM
#       (group), into one new repository: aggregate throughput and scaling.
# Requests are counted on RGW's side (its access log lines, "beast: ... "PUT
# /bucket/key""), so every tool is counted alike. Peak RSS is each process's
# own (/usr/bin/time -f %M around it). Ratios are medians of per-round ratios.
# The section goes to bench/RESULTS.md (an earlier one with the same label is
# replaced). Skipped, with a message, when Ceph is not installed; restic is
# installed with apt-get when missing (as bench/repo.sh), else its rows skip.
#
# Knobs (environment):
#   S3_BENCH_SIZE      image size, 8G (K/M/G suffixes, e.g. 1G for a quick run)
#   S3_BENCH_ROUNDS    rounds, 3
#   S3_BENCH_PARALLEL  raw curl parallelism: the first one is the
#                      store's own limit and is judged (the pack store has
#                      3 pack PUTs in flight), "3 1"; the others are
#                      reference rows
#   S3_BENCH_WRITERS   concurrent writers, "1 2 4" (empty: skip (d))
#   S3_BENCH_OTHERS    "restic" (empty: none)
#   S3_BENCH_LABEL     the section's label ("as found" by default)
#   S3_BENCH_MACHINE   what else ran on the machine, said in bold beside the
#                      load figures (e.g. "a shared machine"; empty: nothing)
#   S3_BENCH_PIN       "server": the test bed's daemons on CPU 0, every
#                      client (ours, restic, curl) on the other CPUs, as if
#                      the store and the backup host were two machines; by
#                      default ("") all share every CPU
#   BENCH_RESULTS      the results file (bench/RESULTS.md)
#   TMPDIR             work dir and the test bed's data (/var/tmp); removed
set -euo pipefail
BIN=$(cd "${1:?usage: bench/s3.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH="$BIN:$PATH"
SIZE_ARG=${S3_BENCH_SIZE:-8G}
SIZE=$(numfmt --from=iec "$SIZE_ARG")
ROUNDS=${S3_BENCH_ROUNDS:-3}
read -r -a PARALLEL <<<"${S3_BENCH_PARALLEL:-3 1}"
read -r -a WRITERS <<<"${S3_BENCH_WRITERS-1 2 4}"
OTHERS=${S3_BENCH_OTHERS-restic}
LABEL=${S3_BENCH_LABEL:-as found}
MACHINE=${S3_BENCH_MACHINE:-}
PIN=${S3_BENCH_PIN:-}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
TESTBED=$HERE/../scripts/rgw-testbed.sh
[ "$ROUNDS" -ge 1 ] && [ ${#PARALLEL[@]} -ge 1 ] || { echo "bench/s3: ROUNDS >= 1 and one PARALLEL at least" >&2; exit 2; }

say() { echo "bench/s3: $*" >&2; }
die() { say "$*"; exit 1; }
for t in zadp-read zadp-write zadp-repo zstd python3 jq numfmt curl split /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done
for t in radosgw ceph-mon ceph-osd radosgw-admin; do
    command -v "$t" >/dev/null || { say "skipped: $t is not installed (scripts/install-deps.sh --rgw)"; exit 0; }
done

W=$(mktemp -d "${TMPDIR:-/var/tmp}/s3-bench.XXXXXX")
RGW=$W/rgw
CHILD=""  # the timed command's session leader while it runs
cleanup() {
    local rc=$?
    if [ -n "$CHILD" ]; then kill -- "-$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
    if [ -d "$RGW/run" ]; then "$TESTBED" stop "$RGW" || say "stopping the test bed in $RGW failed"; fi
    rm -rf "$W"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"
mkdir rss

# ---- the test bed ----
say "work dir $W; starting Ceph RGW (about 30 s)"
rc=0
"$TESTBED" start "$RGW" >testbed.log 2>&1 || rc=$?
if [ $rc -eq 77 ]; then say "skipped: $(tail -1 testbed.log)"; exit 0; fi
[ $rc -eq 0 ] || { cat testbed.log >&2; tail -20 "$RGW"/log/*.log >&2 || true; die "the RGW test bed did not start (exit $rc)"; }
# shellcheck disable=SC1091
. "$RGW/s3.env"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
ENDPOINT=$AWS_ENDPOINT_URL
CPUS=$(nproc)  # before any pinning narrows what nproc sees
PLACEMENT="every process shares the $CPUS CPUs"
if [ "$PIN" = server ]; then
    [ "$CPUS" -ge 2 ] || die "S3_BENCH_PIN=server needs 2 CPUs at least"
    for f in "$RGW"/run/*.pid; do taskset -a -p -c 0 "$(cat "$f")" >/dev/null; done
    taskset -p -c "1-$((CPUS - 1))" $$ >/dev/null  # this script, so every client it starts
    PLACEMENT="the test bed's daemons on CPU 0, every client on CPU$([ "$CPUS" -gt 2 ] && echo "s 1-$((CPUS - 1))" || echo " 1") (S3_BENCH_PIN=server)"
fi
RGW_LOG=$RGW/log/client.rgw.test.log
RGW_ASOK=$RGW/run/client.rgw.test.asok
# curl signs with SigV4 from a config file (mode 0600): no secret in argv.
# RGW wants x-amz-content-sha256, which curl 7.88 does not add itself.
(
    umask 077
    printf 'user = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n' \
        "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION" >curl.cfg
)
rgw_admin() { radosgw-admin --conf "$RGW/ceph.conf" -n client.admin "$@"; }
drop_bucket() { rgw_admin bucket rm --bucket="$1" --purge-objects --bypass-gc >/dev/null 2>>admin.log || say "could not remove bucket $1 (see $W/admin.log)"; }
bucket_bytes() { rgw_admin bucket stats --bucket="$1" | jq '[.usage[]?.size] | add // 0'; }

# ---- which systems run ----
HAVE_RESTIC=""
if [[ " $OTHERS " == *" restic "* ]]; then
    if ! command -v restic >/dev/null; then
        say "restic is not installed: installing the Debian package restic for the comparison"
        { apt-get install -y -q --no-install-recommends restic || { apt-get update -q && apt-get install -y -q --no-install-recommends restic; }; } \
            >apt.log 2>&1 || { cat apt.log >&2; say "restic could not be installed: its rows are skipped"; }
    fi
    command -v restic >/dev/null && HAVE_RESTIC=1
fi
head -c 24 /dev/urandom | base64 >password
chmod 600 password
export RESTIC_PASSWORD_FILE=$W/password RESTIC_CACHE_DIR=$W/restic-cache XDG_CACHE_HOME=$W/zadp-cache

# ---- the images ----
say "making the images: $SIZE_ARG, 10% allocated"
python3 "$HERE/repo_image.py" make thin.img "$SIZE"
ALLOCATED=$(($(stat -c %b thin.img) * 512))
MAX_WRITERS=$(printf '%s\n' 0 "${WRITERS[@]}" | sort -n | tail -1)
for ((k = 1; k <= MAX_WRITERS; k++)); do  # distinct data, one image per writer
    python3 "$HERE/repo_image.py" make "w$k.img" "$SIZE"
done
# The raw baseline PUTs the image's compressed stream in pieces of the pack size.
zadp-read --source thin.img | zstd -q -T2 >thin.zs.zst
ZST_BYTES=$(stat -c %s thin.zs.zst)
mkdir pieces
split -b 16M -a 4 thin.zs.zst pieces/p.
PIECES=$(find pieces -type f | wc -l)
# The signed variant: each piece its own group (`next`), with the SHA-256
# of its bytes in x-amz-content-sha256, as our PUTs send it; the key in
# this file too (mode 0600).
sha256sum pieces/* >pieces.sha256
signed_put_list() {  # BUCKET
    local sum f sep=""
    while read -r sum f; do
        printf '%suser = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\nheader = "x-amz-content-sha256: %s"\n' \
            "$sep" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION" "$sum"
        printf 'silent\nshow-error\nfail\nupload-file = "%s"\nurl = "%s/%s/%s"\noutput = "/dev/null"\n' \
            "$f" "$ENDPOINT" "$1" "${f#pieces/}"
        sep=$'next\n'  # between groups: a trailing one would open a group without a URL
    done <pieces.sha256
}
url_list() {  # BUCKET put|get: a curl config naming every piece
    local f
    for f in pieces/*; do
        if [ "$2" = put ]; then printf 'upload-file = "%s"\n' "$f"; fi
        printf 'url = "%s/%s/%s"\noutput = "/dev/null"\n' "$ENDPOINT" "$1" "${f#pieces/}"
    done
}

# ---- the cases' commands (bash, run in $W) ----
# rss NAME CMD...: runs CMD, its peak RSS (KiB) into rss/NAME.*
rss() { local n=$1; shift; /usr/bin/time -f %M -o "$W/rss/$n.$BASHPID" "$@"; }
export -f rss
export W
stamp() { date -u -d "2026-11-01 02:00 UTC + $1 hours" +%Y-%m-%dT%H%M%SZ; }  # HOURS
zrepo() { echo "s3://$1/repo"; }
backup_cmd() {  # SYSTEM BUCKET NIGHT
    case $1 in
        zadp) echo "rss zadp-read zadp-read --source thin.img | rss zadp-write zadp-write --repo $(zrepo "$2") --target repo:vm0/$(stamp $((24 * $3)))/disk0 > report.zadp" ;;
        restic) echo "rss zadp-read zadp-read --source thin.img --format raw | rss restic restic -r s3:$ENDPOINT/$2 backup -q --stdin --stdin-filename disk0.raw" ;;
        raw-*) echo "curl -sS --no-progress-meter --fail -K curl.cfg -K put.$2 --parallel --parallel-max ${1#raw-}" ;;
        signed-*) echo "curl --no-progress-meter -K sput.$2 --parallel --parallel-max ${1#signed-}" ;;
    esac
}
restore_cmd() {  # SYSTEM BUCKET NIGHT
    case $1 in
        zadp) echo "rss zadp-write zadp-write --repo $(zrepo "$2") --source repo:vm0/$(stamp $((24 * $3)))/disk0 --target r.img && sync r.img" ;;
        # restic 0.14 restores no sparse files: dump, and cp makes the holes (as bench/repo.sh).
        restic) echo "rss restic restic -r s3:$ENDPOINT/$2 dump -q latest /disk0.raw | cp --sparse=always /dev/stdin r.img && sync r.img" ;;
        raw-*) echo "curl -sS --no-progress-meter --fail -K curl.cfg -K get.$2 --parallel --parallel-max ${1#raw-}" ;;
    esac
}
init_bucket() {  # SYSTEM BUCKET (untimed)
    case $1 in
        zadp) zadp-repo --repo "$(zrepo "$2")" init >/dev/null ;;
        restic) restic -r "s3:$ENDPOINT/$2" init -q >/dev/null ;;
        raw-*)
            curl -sS --fail -K curl.cfg -X PUT "$ENDPOINT/$2" -o /dev/null
            url_list "$2" put >"put.$2"
            url_list "$2" get >"get.$2"
            ;;
        signed-*)
            curl -sS --fail -K curl.cfg -X PUT "$ENDPOINT/$2" -o /dev/null
            (umask 077 && signed_put_list "$2" >"sput.$2")
            ;;
    esac
}
writers_cmd() {  # K BUCKET: K writers of distinct images (VMs vm1..vmK) at once
    local k c="rc=0; "
    for ((k = 1; k <= $1; k++)); do
        c+="(rss writer zadp-read --source w$k.img | rss writer zadp-write --repo $(zrepo "$2") --target repo:vm$k/$(stamp 0)/disk0 > report.w$k) & "
    done
    echo "${c}for p in \$(jobs -p); do wait \$p || rc=1; done; exit \$rc"
}

# ---- measuring ----
# RGW's access log from a byte offset on: requests by kind. The admin
# socket's "log flush" first, so every finished request is in the file.
rgw_offset() {
    ceph --admin-daemon "$RGW_ASOK" log flush >/dev/null 2>&1 || true
    stat -c %s "$RGW_LOG"
}
rgw_requests() {  # OFFSET: "put get get_bytes list head post delete other failed"
    ceph --admin-daemon "$RGW_ASOK" log flush >/dev/null 2>&1 || true
    python3 - "$RGW_LOG" "$1" <<'PY'
import re, sys
line_re = re.compile(r'beast: \S+ \S+ - \S+ \[[^\]]*\] "(\w+) (\S+) HTTP/[\d.]+" (\d+) (\d+|-)')
n = dict.fromkeys("put get get_bytes list head post delete other failed".split(), 0)
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    for raw in f:
        m = line_re.search(raw.decode("utf-8", "replace"))
        if not m:
            continue
        method, path, status, length = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        on_object = len([p for p in path.split("?")[0].split("/") if p]) >= 2
        kind = {("PUT", True): "put", ("GET", True): "get", ("GET", False): "list"}.get((method, on_object))
        kind = kind or {"HEAD": "head", "POST": "post", "DELETE": "delete"}.get(method, "other")
        n[kind] += 1
        if kind == "get" and length != "-":
            n["get_bytes"] += int(length)
        if status >= 400:
            n["failed"] += 1
print(" ".join(str(n[k]) for k in "put get get_bytes list head post delete other failed".split()))
PY
}

declare -A TIMES REQS RSSMAX STORED
# timed KEY CMD: after an untimed sync, runs CMD (bash, in $W); appends the
# wall seconds to TIMES[KEY] and RGW's request counts to REQS[KEY] (one
# "a,b,c" group per run); folds the processes' peak RSS into RSSMAX[KEY:NAME].
timed() {
    local key=$1 cmd=$2 s e off f n kib
    sync
    off=$(rgw_offset)
    s=$(date +%s.%N)
    # In its own session, so an interrupted run stops all of it (by its pid).
    setsid bash -c "$cmd" >run.log 2>&1 &
    CHILD=$!
    wait "$CHILD" || { CHILD=""; cat run.log >&2; die "failed: $cmd"; }
    CHILD=""
    e=$(date +%s.%N)
    T_LAST=$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')
    TIMES[$key]+="$T_LAST "
    REQS[$key]+="$(rgw_requests "$off" | tr ' ' ,) "
    for f in rss/*; do
        [ -e "$f" ] || continue
        n=${f#rss/}; n=${n%.*}
        kib=$(tail -1 "$f")
        [ "${RSSMAX[$key:$n]:-0}" -ge "$kib" ] || RSSMAX[$key:$n]=$kib
        rm -f "$f"
    done
}
rotate() {  # R ITEMS...: the items rotated left by R
    local r=$1; shift
    local a=("$@") i n=$#
    for ((i = 0; i < n; i++)); do echo "${a[$(((i + r) % n))]}"; done
}

FIRST=(zadp) INCR=(zadp) RESTORE=(zadp)
[ -z "$HAVE_RESTIC" ] || { FIRST+=(restic); INCR+=(restic); RESTORE+=(restic); }
for p in "${PARALLEL[@]}"; do FIRST+=("raw-$p"); RESTORE+=("raw-$p"); done
FIRST+=("signed-${PARALLEL[0]}")
bucket_of() { echo "$(tr -c 'a-z0-9\n' - <<<"$1")-r$2"; }  # SYSTEM ROUND

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LOADS=()
CHANGED=()
T0=$(date +%s)
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for s in "${FIRST[@]}"; do init_bucket "$s" "$(bucket_of "$s" $r)"; done
    mapfile -t order < <(rotate $r "${FIRST[@]}")
    for s in "${order[@]}"; do timed "first.$s" "$(backup_cmd "$s" "$(bucket_of "$s" $r)" 0)"; line+=" first.$s $T_LAST"; done
    CHANGED+=("$(python3 "$HERE/repo_image.py" churn thin.img $((r + 1)))")
    mapfile -t order < <(rotate $r "${INCR[@]}")
    for s in "${order[@]}"; do timed "incr.$s" "$(backup_cmd "$s" "$(bucket_of "$s" $r)" 1)"; line+=" incr.$s $T_LAST"; done
    mapfile -t order < <(rotate $r "${RESTORE[@]}")
    for s in "${order[@]}"; do
        rm -f r.img
        timed "restore.$s" "$(restore_cmd "$s" "$(bucket_of "$s" $r)" 1)"
        line+=" restore.$s $T_LAST"
        if [[ $s != raw-* && $s != signed-* ]] && [ $r -eq 0 ]; then cmp -s thin.img r.img || die "$s restored an image that differs from the source"; fi
    done
    rm -f r.img
    if [ $r -eq 0 ]; then
        for s in "${FIRST[@]}"; do STORED[$s]=$(bucket_bytes "$(bucket_of "$s" $r)"); done
    fi
    for s in "${FIRST[@]}"; do drop_bucket "$(bucket_of "$s" $r)"; done
    mapfile -t order < <(rotate $r "${WRITERS[@]}")
    for k in "${order[@]}"; do
        b=w$k-r$r
        init_bucket zadp "$b"
        timed "writers.$k" "$(writers_cmd "$k" "$b")"
        line+=" writers.$k $T_LAST"
        drop_bucket "$b"
    done
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
    say "$line (load ${LOADS[-1]})"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T0))
CACHE_ZADP=$(du -sk "$W/zadp-cache" 2>/dev/null | cut -f1 || echo 0)
CACHE_RESTIC=$(du -sk "$W/restic-cache" 2>/dev/null | cut -f1 || echo 0)
STORE_VERSION=$(zadp-repo --version 2>/dev/null | head -1 || echo "")

# ---- report ----
median_of() {  # "N N N" [FORMAT]: their median (awk: the report makes hundreds of these)
    tr ' ' '\n' <<<"$1" | grep . | sort -g | awk -v f="${2:-%.2f}" '{a[NR] = $1} END {printf f "\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
median() { [ -n "${TIMES[$1]:-}" ] && median_of "${TIMES[$1]}" || echo n/a; }
spread() { [ -n "${TIMES[$1]:-}" ] && tr ' ' '\n' <<<"${TIMES[$1]}" | grep . | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f\n", lo, hi}' || echo n/a; }
# ratio NUM DEN: median of per-round NUM time / DEN time
ratio() {
    [ -n "${TIMES[$1]:-}" ] && [ -n "${TIMES[$2]:-}" ] || { echo n/a; return; }
    python3 - "${TIMES[$1]}" "${TIMES[$2]}" <<'PY'
import statistics, sys
a, b = (list(map(float, x.split())) for x in sys.argv[1:3])
print("%.2f" % statistics.median(x / y for x, y in zip(a, b)))
PY
}
# req KEY FIELD: median over the runs of one request count (fields as rgw_requests)
req() {
    [ -n "${REQS[$1]:-}" ] || { echo n/a; return; }
    local i
    i=$(tr ' ' '\n' <<<"put get get_bytes list head post delete other failed" | grep -nx "$2" | cut -d: -f1)
    median_of "$(tr ' ' '\n' <<<"${REQS[$1]}" | grep . | cut -d, -f"$i" | tr '\n' ' ')" "%.0f"
}
per_gib() { [ "$1" != n/a ] && awk -v n="$1" -v b="$2" 'BEGIN {printf "%.0f", n / (b / 1073741824)}' || echo n/a; }
mibs() { [ "$2" != n/a ] && awk -v b="$1" -v t="$2" 'BEGIN {printf "%.0f", b / 1048576 / t}' || echo n/a; }
mib() { awk -v b="$1" 'BEGIN {printf (b < 10485760 ? "%.2f" : "%.0f"), b / 1048576}'; }
rss_of() {  # KEY: "name N, name N" in MiB
    local k out=""
    for k in "${!RSSMAX[@]}"; do [[ $k == "$1:"* ]] && out+="${k#"$1:"} $((RSSMAX[$k] / 1024)), "; done
    echo "${out%, }"
}
goal() {  # TEXT MEASURED OP LIMIT
    local ok=n/a
    [ "$2" != n/a ] && ok=$(awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN {print ((op == ">=" ? m >= l : m <= l) ? "met" : "NOT met")}')
    echo "| $1 | $2 | $3 $4 | $ok |"
}
label_of() {
    case $1 in
        zadp) echo "zadp-repo, s3:// (default 256 KiB chunks)" ;;
        restic) echo "restic $(restic version | awk '{print $2}'), S3 backend" ;;
        raw-*) echo "raw curl, ${1#raw-} in flight, 16 MiB objects" ;;
        signed-*) echo "raw curl, ${1#signed-} in flight, 16 MiB objects, payload SHA-256 signed" ;;
    esac
}
CHANGED_MEDIAN=$(median_of "${CHANGED[*]}" "%.0f")
show() {  # CMD: a command as it ran, without the RSS wrapper and the port
    sed "s|$ENDPOINT|http://127.0.0.1:PORT|g; s|rss [a-z-]* ||g" <<<"$1"
}
row() {  # STEP KEY BYTES: one line of the main table
    local k=$2
    echo "| $1 | $(label_of "${k#*.}") | $(median "$k") | $(spread "$k") | $(mibs "$3" "$(median "$k")") | $(req "$k" put) | $(req "$k" get) | $(req "$k" list) / $(req "$k" head) / $(req "$k" post) / $(req "$k" delete) | $(req "$k" failed) | $(rss_of "$k") |"
}
max_rss_ours() {
    local k m=0
    for k in "${!RSSMAX[@]}"; do
        case $k in *:restic | *:curl) continue ;; esac
        [ "${RSSMAX[$k]}" -le "$m" ] || m=${RSSMAX[$k]}
    done
    echo $((m / 1024))
}

J=${PARALLEL[0]}
SECTION=$(
    echo "## S3 repository on Ceph RGW, $LABEL ($(date -u +%Y-%m-%dT%H:%MZ), bench/s3.sh)"
    echo
    echo "Command: \`S3_BENCH_SIZE=$SIZE_ARG S3_BENCH_ROUNDS=$ROUNDS S3_BENCH_PARALLEL='${PARALLEL[*]}' S3_BENCH_WRITERS='${WRITERS[*]}'${PIN:+ S3_BENCH_PIN=$PIN} bench/s3.sh build/bin\`" \
        "($ELAPSED s; $CPUS CPUs, $PLACEMENT; load average $LOAD_BEFORE at the first round, $LOAD_AFTER after the last," \
        "per-round 1-minute figures ${LOADS[*]}${MACHINE:+: **$MACHINE**};" \
        "work dir on $(df -T "$W" | awk 'NR == 2 {print $2}')${STORE_VERSION:+; $STORE_VERSION})."
    echo
    echo "One Ceph 16 RGW (scripts/rgw-testbed.sh: one mon, one file-backed BlueStore OSD, beast on 127.0.0.1),"
    echo "started for this run and stopped after it. Image: $SIZE_ARG sparse file, $(mib "$ALLOCATED") MiB allocated (10%)"
    echo "in scattered 1-64 MiB extents of random data (bench/repo_image.py, seeded); one night rewrites 1% of it"
    echo "($(mib "$CHANGED_MEDIAN") MiB) in 64 KiB pieces. $ROUNDS rounds, the order of the systems rotated in each step; each"
    echo "round: new buckets, (a) first backup, one night's churn, (b) incremental, (c) restore of (b) into a new"
    echo "file (timed up to the end of \`sync r.img\`; checked with cmp in round 1), raw GET of (a)'s objects,"
    echo "buckets removed; then (d). Every timed command starts after an untimed \`sync\`. Requests counted on RGW's"
    echo "side (its access log), medians over the rounds. Raw curl: \`zadp-read | zstd -T2\` of the image"
    echo "($(mib "$ZST_BYTES") MiB) in $PIECES objects of 16 MiB, PUT and GET to /dev/null with SigV4"
    echo "(UNSIGNED-PAYLOAD: no hashing), a config file holds the key. restic encrypts and compresses; ours"
    echo "stores plain."
    if [[ " $OTHERS " == *" restic "* ]] && [ -z "$HAVE_RESTIC" ]; then
        echo
        echo "**restic was not available**: its rows are missing and the goals judged against it say n/a."
    fi
    echo
    echo "| step | system | median s | range s | MiB/s of allocated data | PUT | GET | LIST / HEAD / POST / DELETE | 4xx/5xx (404s of absent keys too) | peak RSS MiB by process |"
    echo "|---|---|---:|---:|---:|---:|---:|---|---:|---|"
    for s in "${FIRST[@]}"; do row "(a) first" "first.$s" "$ALLOCATED"; done
    for s in "${INCR[@]}"; do row "(b) incremental" "incr.$s" "$ALLOCATED"; done
    for s in "${RESTORE[@]}"; do row "(c) restore" "restore.$s" "$ALLOCATED"; done
    echo
    if [ ${#WRITERS[@]} -gt 0 ]; then
        echo "(d) Concurrent writers, first backups of distinct $SIZE_ARG images (each $(mib "$ALLOCATED") MiB allocated, its own VM), one new repository:"
        echo
        echo "| writers | median s | aggregate MiB/s | scaling vs 1 writer (throughput ratio) | PUT | peak RSS MiB of any process |"
        echo "|---:|---:|---:|---:|---:|---:|"
        for k in "${WRITERS[@]}"; do
            t=$(median "writers.$k")
            sc=n/a
            [ -z "${TIMES[writers.1]:-}" ] || sc=$(python3 - "${TIMES[writers.1]}" "${TIMES[writers.$k]}" "$k" <<'PY'
import statistics, sys
one, many = (list(map(float, x.split())) for x in sys.argv[1:3])
print("%.2f" % statistics.median(int(sys.argv[3]) * a / b for a, b in zip(one, many)))
PY
)
            echo "| $k | $t | $(mibs $((k * ALLOCATED)) "$t") | $sc | $(req "writers.$k" put) | $(($(for x in "${!RSSMAX[@]}"; do [[ $x == "writers.$k:"* ]] && echo "${RSSMAX[$x]}"; done | sort -n | tail -1) / 1024)) |"
        done
        echo
    fi
    echo "| goal (median of per-round ratios) | measured | target | |"
    echo "|---|---:|---|---|"
    goal "(b) incremental: restic time / ours" "$(ratio incr.restic incr.zadp)" ">=" 5
    goal "(c) restore: restic time / ours" "$(ratio restore.restic restore.zadp)" ">=" 1
    goal "(a) first backup: raw PUT time ($J in flight) / ours" "$(ratio "first.raw-$J" first.zadp)" ">=" 0.8
    goal "(a) the same against raw PUTs that sign the payload's SHA-256 as ours do (reference)" "$(ratio "first.signed-$J" first.zadp)" ">=" 0.8
    goal "(a) PUT requests per GiB of new data" "$(per_gib "$(req first.zadp put)" "$ALLOCATED")" "<=" 150
    goal "peak RSS of any of our processes, MiB" "$(max_rss_ours)" "<=" 64
    echo
    echo "Also: (c) raw GET time ($J in flight) / our restore $(ratio "restore.raw-$J" restore.zadp);"
    echo "GETs per GiB restored: ours $(per_gib "$(req restore.zadp get)" "$ALLOCATED"), restic $(per_gib "$(req restore.restic get)" "$ALLOCATED");"
    echo "PUTs per GiB of new data, restic $(per_gib "$(req first.restic put)" "$ALLOCATED"); (b) PUTs for $(mib "$CHANGED_MEDIAN") MiB changed:"
    echo "ours $(req incr.zadp put), restic $(req incr.restic put). Bytes stored after (a)+(b) in round 1 (RGW bucket stats):"
    for s in "${FIRST[@]}"; do printf '%s %s MiB; ' "$s" "$(mib "${STORED[$s]:-0}")"; done | sed 's/; $/.\n/'
    echo "On-disk caches at the end (apart from RSS): ours \$XDG_CACHE_HOME $(mib $((CACHE_ZADP * 1024))) MiB, restic $(mib $((CACHE_RESTIC * 1024))) MiB."
    echo
    echo "Commands (in the work dir; BUCKET a new bucket per system and round; r.img removed before each restore):"
    echo
    for s in "${FIRST[@]}"; do echo "- (a) $s: \`$(show "$(backup_cmd "$s" BUCKET 0)")\`"; done
    for s in "${INCR[@]}"; do echo "- (b) $s: \`$(show "$(backup_cmd "$s" BUCKET 1)")\`"; done
    for s in "${RESTORE[@]}"; do echo "- (c) $s: \`$(show "$(restore_cmd "$s" BUCKET 1)")\`"; done
    [ ${#WRITERS[@]} -eq 0 ] || echo "- (d) writer i of K, all at once: \`$(show "zadp-read --source wi.img | zadp-write --repo s3://BUCKET/repo --target repo:vmi/$(stamp 0)/disk0")\`"
    echo "- curl.cfg (mode 0600): \`user = \"KEY:SECRET\"\`, \`aws-sigv4 = \"aws:amz:us-east-1:s3\"\`, \`header = \"x-amz-content-sha256: UNSIGNED-PAYLOAD\"\`;"
    echo "  put.BUCKET / get.BUCKET: \`upload-file\` (PUT only), \`url\`, \`output = \"/dev/null\"\` per object;"
    echo "  sput.BUCKET (mode 0600, signed): per object \`user\`, \`aws-sigv4\`, \`header = \"x-amz-content-sha256: <sha256sum of the piece>\"\`, \`upload-file\`, \`url\`, \`next\`"
    echo "- peak RSS: \`/usr/bin/time -f %M\` around each process; restic's password from RESTIC_PASSWORD_FILE"
    echo
    echo "Per-round times (s):"
    echo
    for k in $(printf '%s\n' "${!TIMES[@]}" | sort); do echo "- $k: ${TIMES[$k]}"; done
)
echo "$SECTION"
python3 "$HERE/results_section.py" "$RESULTS" "S3 repository on Ceph RGW, $LABEL (" <<<"$SECTION"
say "wrote $RESULTS"
