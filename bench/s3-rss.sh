#!/bin/bash
# bench/s3-rss.sh BINDIR: one process's peak RSS (/usr/bin/time -v), wall
# time and S3 requests (ZADP_S3_STATS=1) for each step of a nightly cycle
# against an S3 repository: the first backup of a random image, a backup
# with 1% of it changed, the restores (zadp-read raw, and zadp-write
# --source repo: in one process), and zadp-repo check twice with the cache
# (--cache-dir) and once without. Issue 18 §6 asks for at most 64 MiB per
# process and at most 150 PUTs per GiB of new data; this measures, it does
# not judge (a benchmark, not a test).
#
# Needs an RGW: S3_ENV (default /tmp/rgw-bench/s3.env, as written by
# scripts/rgw-testbed.sh start /tmp/rgw-bench) or the AWS_* variables set.
# Knobs: S3_RSS_SIZE (MiB, default 2048), S3_RSS_BUCKET (hci-bench),
# TMPDIR (the image, restores and cache; /var/tmp).
set -euo pipefail
BIN=$(cd "${1:?usage: bench/s3-rss.sh BINDIR}" && pwd)
export PATH="$BIN:$PATH"
S3_ENV=${S3_ENV:-/tmp/rgw-bench/s3.env}
[ -n "${AWS_ENDPOINT_URL:-}" ] || . "$S3_ENV"
SIZE_MIB=${S3_RSS_SIZE:-2048}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/s3-rss.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export ZADP_REPO="s3://${S3_RSS_BUCKET:-hci-bench}/s3-rss-$(date +%s)-$$" ZADP_CACHE_DIR="$WORK/cache"
unset ZADP_S3_STATS

# step NAME GIB COMMAND...: runs COMMAND (stdin from $WORK/in) under
# /usr/bin/time -v with ZADP_S3_STATS=1 and prints one row.
step() {
    local name=$1 gib=$2; shift 2
    ZADP_S3_STATS=1 /usr/bin/time -v "$@" < "$WORK/in" > "$WORK/out" 2> "$WORK/err" || {
        echo "bench: $name failed: $(tail -n 3 "$WORK/err")" >&2; exit 1; }
    local rss wall stats get put
    rss=$(awk '/Maximum resident/ { print $NF }' "$WORK/err")
    wall=$(awk '/Elapsed \(wall clock\)/ { print $NF }' "$WORK/err")
    stats=$(grep '^{"s3_stats"' "$WORK/err" | tail -n 1)
    get=$(jq .s3_stats.get <<< "$stats")
    put=$(jq .s3_stats.put <<< "$stats")
    printf '%-28s %8.1f %9s %7s %7s %10s %10s\n' "$name" "$(bc -l <<< "$rss / 1024")" "$wall" "$get" "$put" \
        "$(bc <<< "scale=1; $get / $gib")" "$(bc <<< "scale=1; $put / $gib")"
}

head -c $((SIZE_MIB << 20)) /dev/urandom > "$WORK/a.img"
zadp-repo init > /dev/null
gib=$(bc -l <<< "$SIZE_MIB / 1024")
printf '%-28s %8s %9s %7s %7s %10s %10s\n' step "RSS MiB" wall GETs PUTs "GETs/GiB" "PUTs/GiB"
zadp-read --source "$WORK/a.img" > "$WORK/in"
step "first backup" "$gib" zadp-write --target repo:vm/2026-12-01T020000Z/disk0
python3 - "$WORK/a.img" <<'PY'
import os, random, sys
size = os.path.getsize(sys.argv[1]); chunks = size // 262144
random.seed(18)
with open(sys.argv[1], "r+b") as f:
    for c in random.sample(range(chunks), max(1, chunks // 100)):
        f.seek(c * 262144); f.write(os.urandom(262144))
PY
zadp-read --source "$WORK/a.img" > "$WORK/in"
new_gib=$(bc -l <<< "$SIZE_MIB / 1024 / 100")
step "backup, 1% changed" "$new_gib" zadp-write --target repo:vm/2026-12-02T020000Z/disk0
: > "$WORK/in"
step "restore (zadp-read raw)" "$gib" zadp-read --source repo:vm/2026-12-02T020000Z/disk0 --format raw -o "$WORK/r.raw"
cmp "$WORK/a.img" "$WORK/r.raw" || { echo "bench: the restore differs" >&2; exit 1; }
rm -f "$WORK/r.raw" "$WORK/r.img"
step "restore (one process)" "$gib" zadp-write --source repo:vm/2026-12-02T020000Z/disk0 --target "$WORK/r.img"
cmp "$WORK/a.img" "$WORK/r.img" || { echo "bench: the restore differs" >&2; exit 1; }
rm -f "$WORK/r.img"
step "check, cache off" "$gib" zadp-repo --cache-dir off check
step "check, cold cache" "$gib" zadp-repo check
step "check, warm cache" "$gib" zadp-repo check
echo "(GETs/GiB and PUTs/GiB: per GiB of image; for the 1% backup, per GiB of changed data)"
