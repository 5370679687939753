#!/bin/bash
# bench/repo.sh BINDIR: nightly backups of one thin image into our
# deduplicating repository (zadp-repo, the repo: transport) side by side with
# restic and borg, and the stream-file baselines (zadp-read | zstd). Same
# image, same seeded changes, every tool in turn within each step:
#   (a) first backup, (b) incremental after rewriting 1% of the allocated data
#   in 64 KiB pieces, (c) backup with no change, (d) restore, (e) repository
#   size after NIGHTS such nights.
# Prints the tables and puts them into bench/RESULTS.md (replacing an earlier
# "Deduplicating repository" section). restic and borgbackup are installed
# with apt-get when missing (only here, never for the tests).
#
# Knobs (environment):
#   REPO_BENCH_SIZE    image size, 8G by default (K/M/G suffixes, e.g. 512M)
#   REPO_BENCH_NIGHTS  incremental nights with 1% churn, 30 by default
#   REPO_BENCH_RUNS    repetitions of (a), (c), (d) for the median, 3
#   REPO_BENCH_UNTIL   a time (date -d syntax, e.g. 13:30): run no further
#                      night that would end after it; the report says how
#                      many nights ran
#   REPO_BENCH_CHUNKS  chunk sizes of our repository, "256K 1M 4M"
#   REPO_BENCH_ENCRYPTED chunk sizes of our encrypted repository (init
#                      --encrypt, key file), "1M" (empty: none)
#   REPO_BENCH_OTHERS  other tools, "restic borg borg-fixed" (empty: none)
#   TMPDIR             where the image and repositories go (/var/tmp);
#                      everything is removed at the end
set -euo pipefail
BIN=$(cd "${1:?usage: bench/repo.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH="$BIN:$PATH"
SIZE_ARG=${REPO_BENCH_SIZE:-8G}
SIZE=$(numfmt --from=iec "$SIZE_ARG")
NIGHTS=${REPO_BENCH_NIGHTS:-30}
UNTIL=""
[ -z "${REPO_BENCH_UNTIL:-}" ] || UNTIL=$(date -d "$REPO_BENCH_UNTIL" +%s)
RUNS=${REPO_BENCH_RUNS:-3}
CHUNKS=${REPO_BENCH_CHUNKS-256K 1M 4M}
ENCRYPTED=${REPO_BENCH_ENCRYPTED-1M}
OTHERS=${REPO_BENCH_OTHERS-restic borg borg-fixed}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
[ "$NIGHTS" -ge 1 ] && [ "$RUNS" -ge 1 ] || { echo "bench: NIGHTS and RUNS must be >= 1" >&2; exit 2; }

say() { echo "bench/repo: $*" >&2; }
die() { say "$*"; exit 1; }
for t in zadp-read zadp-write zstd python3 jq numfmt /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done

W=$(mktemp -d "${TMPDIR:-/var/tmp}/repo-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

# ---- which systems run ----
SYSTEMS=()
MISSING=()
if command -v zadp-repo >/dev/null && zadp-write --help 2>&1 | grep -q -- --repo; then
    for c in $CHUNKS; do SYSTEMS+=("zadp-$c"); done
    for c in $ENCRYPTED; do SYSTEMS+=("zadpenc-$c"); done
else
    MISSING+=("zadp (zadp-repo or zadp-write --repo not built)")
fi
install_tool() {  # COMMAND PACKAGE: apt-get install when missing; false if impossible
    command -v "$1" >/dev/null && return 0
    say "installing $2 for the comparison"
    { apt-get install -y -q --no-install-recommends "$2" || { apt-get update -q && apt-get install -y -q --no-install-recommends "$2"; }; } \
        >"$W/apt.log" 2>&1 || { cat "$W/apt.log" >&2; return 1; }
}
for o in $OTHERS; do
    case $o in
        restic) install_tool restic restic && SYSTEMS+=(restic) || MISSING+=("restic (not installable)") ;;
        borg | borg-fixed)
            install_tool borg borgbackup && SYSTEMS+=("$o") || MISSING+=("$o (not installable)") ;;
        *) die "unknown tool '$o' in REPO_BENCH_OTHERS" ;;
    esac
done
if [[ " ${SYSTEMS[*]} " == *" borg-fixed "* ]] && ! borg --version | awk '{split($2, v, "."); exit !(v[1] > 1 || (v[1] == 1 && v[2] >= 2))}'; then
    SYSTEMS=("${SYSTEMS[@]/borg-fixed/}"); MISSING+=("borg-fixed (borg before 1.2 has no fixed chunker)")
fi
mapfile -t SYSTEMS < <(printf '%s\n' "${SYSTEMS[@]}" | grep .)

# Passwords come from a file and the environment, never argv; caches and
# borg's key and security directories live in the work dir.
head -c 24 /dev/urandom | base64 > password
chmod 600 password
export RESTIC_PASSWORD_FILE=$W/password RESTIC_CACHE_DIR=$W/restic-cache
export BORG_PASSCOMMAND="cat $W/password" BORG_BASE_DIR=$W/borg-home

# ---- the systems' commands (bash, run in $W) ----
stamp() { date -u -d "2026-11-01 02:00 UTC + $1 hours" +%Y-%m-%dT%H%M%SZ; }  # HOURS
init_cmd() {  # SYSTEM: creates its repository REPO
    case $1 in
        zadp-*) echo "zadp-repo --repo REPO init --chunk-size ${1#zadp-} > /dev/null" ;;
        # A new key file with each repository (init creates it, mode 0600).
        zadpenc-*) echo "rm -f $W/zadp.key && zadp-repo --repo REPO --key-file $W/zadp.key init --encrypt --chunk-size ${1#zadpenc-} > /dev/null" ;;
        restic) echo "restic -r REPO init -q > /dev/null" ;;
        borg*) echo "borg init -e repokey-blake2 REPO" ;;
    esac
}
repo_init() {
    rm -rf "$W/repo.$1"
    bash -c "$(init_cmd "$1" | sed "s|REPO|$W/repo.$1|g")" 2>init.log || { cat init.log >&2; die "$1: init failed"; }
}
backup_cmd() {  # SYSTEM HOURS: one nightly backup of thin.img, named by its time
    local r=$W/repo.$1
    case $1 in
        zadp-*) echo "zadp-read --source thin.img | zadp-write --repo $r --target repo:bench/$(stamp "$2")/disk0 > report.$1" ;;
        zadpenc-*) echo "zadp-read --source thin.img | zadp-write --repo $r --key-file $W/zadp.key --target repo:bench/$(stamp "$2")/disk0 > report.$1" ;;
        restic) echo "zadp-read --source thin.img --format raw | restic -r $r backup -q --stdin --stdin-filename disk0.raw" ;;
        # No files cache: each night's image is a new snapshot export.
        borg) echo "borg create --files-cache=disabled $r::n$2 thin.img" ;;
        borg-fixed) echo "borg create --files-cache=disabled --chunker-params fixed,4194304 --sparse $r::n$2 thin.img" ;;
    esac
}
restore_cmd() {  # SYSTEM HOURS: restores that backup into a new file, synced
    local r=$W/repo.$1
    case $1 in
        zadp-*) echo "zadp-read --repo $r --source repo:bench/$(stamp "$2")/disk0 | zadp-write --target r.img" ;;
        zadpenc-*) echo "zadp-read --repo $r --key-file $W/zadp.key --source repo:bench/$(stamp "$2")/disk0 | zadp-write --target r.img" ;;
        zst) echo "zstd -dcq thin.zs.zst | zadp-write --target r.img" ;;
        # restic 0.14 restores no sparse files (no --sparse): dump, and cp makes the holes.
        restic) echo "restic -r $r dump -q latest /disk0.raw | cp --sparse=always /dev/stdin r.img && sync r.img" ;;
        borg*) echo "mkdir r.dir && cd r.dir && borg extract --sparse $r::n$2 thin.img && sync thin.img" ;;
    esac
}
restored_file() { case $1 in borg*) echo r.dir/thin.img ;; *) echo r.img ;; esac; }

# ---- measuring ----
declare -A TIMES RSS GROWTH STORED FILES
# timed KEY CMD: runs CMD under /usr/bin/time -v; appends the wall seconds to
# TIMES[KEY] and keeps the largest peak RSS (KiB, of any process) in RSS[KEY].
# Every command starts after a sync (not timed), so none pays for writing
# back an earlier one's data: zstd leaves its file to the page cache, and our
# store's syncfs before publishing an index would otherwise flush it too.
timed() {
    local s e kib
    sync
    s=$(date +%s.%N)
    /usr/bin/time -v -o time.log bash -c "$2" || { cat time.log >&2; die "failed: $2"; }
    e=$(date +%s.%N)
    TIMES[$1]+="$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}') "
    kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.log)
    [ "${RSS[$1]:-0}" -ge "$kib" ] || RSS[$1]=$kib
}
median() { [ -n "${TIMES[$1]:-}" ] || { echo n/a; return; }; tr ' ' '\n' <<<"${TIMES[$1]}" | grep . | sort -g | awk '{a[NR] = $1} END {printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
median_of() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR] = $1} END {printf "%.1f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
stored() { du -sb "$W/repo.$1" | cut -f1; }
file_count() { find "$W/repo.$1" -type f | wc -l; }
churn() { python3 "$HERE/repo_image.py" churn thin.img "$1"; }

say "work dir $W; image $SIZE_ARG, $NIGHTS nights, $RUNS runs; systems: ${SYSTEMS[*]}"
[ ${#MISSING[@]} -eq 0 ] || say "not available: ${MISSING[*]}"
python3 "$HERE/repo_image.py" make thin.img "$SIZE"
ALLOCATED=$(($(stat -c %b thin.img) * 512))
T0=$(date +%s)

say "(a) first backup, $RUNS times into new repositories"
for ((i = 0; i < RUNS; i++)); do
    timed first.zstd "zadp-read --source thin.img | zstd -q -T2 > thin.zs.zst"
    for s in "${SYSTEMS[@]}"; do
        repo_init "$s"
        timed "first.$s" "$(backup_cmd "$s" 0)"
    done
done
ZST_BYTES=$(stat -c %s thin.zs.zst)
declare -A PREV FIRST_SIZE
for s in "${SYSTEMS[@]}"; do FIRST_SIZE[$s]=$(stored "$s"); PREV[$s]=${FIRST_SIZE[$s]}; done

# night N: churn, then every system's backup; growth per byte changed.
CHANGED_TOTAL=0
night() {
    local n=$1 changed now
    changed=$(churn "$n")
    CHANGED_TOTAL=$((CHANGED_TOTAL + changed))
    for s in "${SYSTEMS[@]}"; do
        timed "incr.$s" "$(backup_cmd "$s" $((24 * n)))"
        now=$(stored "$s")
        GROWTH[$s]+="$(awk -v g=$((now - PREV[$s])) -v c="$changed" 'BEGIN {printf "%.2f", g / c}') "
        PREV[$s]=$now
    done
}

say "(b) night 1: 1% of the allocated data rewritten"
started=$(date +%s)
night 1
NIGHT1_S=$(($(date +%s) - started))
NIGHT1_CHANGED=$CHANGED_TOTAL
declare -A NIGHT1_TIME NIGHT1_GROWTH
for s in "${SYSTEMS[@]}"; do NIGHT1_TIME[$s]=$(median "incr.$s"); NIGHT1_GROWTH[$s]=${GROWTH[$s]% }; done

say "(c) no change, $RUNS backups"
declare -A SAME_GROWTH
LAST=24
for ((i = 1; i <= RUNS; i++)); do
    LAST=$((24 + i))
    for s in "${SYSTEMS[@]}"; do
        before=$(stored "$s")
        timed "same.$s" "$(backup_cmd "$s" $LAST)"
        SAME_GROWTH[$s]=$(( ${SAME_GROWTH[$s]:-0} + $(stored "$s") - before ))
    done
done
for s in "${SYSTEMS[@]}"; do PREV[$s]=$(stored "$s"); done

say "(d) restore of the last backup into a new file, $RUNS times"
zadp-read --source thin.img | zstd -q -T2 > thin.zs.zst  # the same image state
for ((i = 0; i < RUNS; i++)); do
    for s in zst "${SYSTEMS[@]}"; do
        rm -rf r.img r.dir
        timed "restore.$s" "$(restore_cmd "$s" $LAST)"
        if [ "$i" -eq 0 ]; then
            cmp thin.img "$(restored_file "$s")" || die "$s restored an image that differs from the source"
        fi
    done
done
rm -rf r.img r.dir

say "(e) nights 2..$NIGHTS"
ASKED=$NIGHTS
LAST_NIGHT_S=$NIGHT1_S
for ((n = 2; n <= ASKED; n++)); do
    if [ -n "$UNTIL" ] && [ $(($(date +%s) + LAST_NIGHT_S)) -gt "$UNTIL" ]; then
        say "  stopping after night $((n - 1)) of $ASKED: the next would end after $REPO_BENCH_UNTIL"
        break
    fi
    started=$(date +%s)
    night "$n"
    NIGHTS=$n LAST_NIGHT_S=$(($(date +%s) - started))
    say "  night $n done ($(($(date +%s) - T0)) s)"
done
for s in "${SYSTEMS[@]}"; do STORED[$s]=$(stored "$s"); FILES[$s]=$(file_count "$s"); done
ELAPSED=$(($(date +%s) - T0))

# ---- report ----
ratio() { [ "$1" != n/a ] && [ "$2" != n/a ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}' || echo n/a; }
mib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1048576}'; }
per_tib() { awk -v f="$1" -v b="$2" 'BEGIN {printf "%.0f", f / (b / 1099511627776)}'; }
rss_mib() { [ -n "${RSS[$1]:-}" ] && echo $((RSS[$1] / 1024)) || echo n/a; }
label() {
    case $1 in
        zadp-*) echo "zadp repo, ${1#zadp-} chunks" ;;
        zadpenc-*) echo "zadp repo, ${1#zadpenc-} chunks, encrypted" ;;
        restic) echo "restic $(restic version | awk '{print $2}')" ;;
        borg) echo "borg $(borg --version | awk '{print $2}') (buzhash)" ;;
        borg-fixed) echo "borg $(borg --version | awk '{print $2}'), fixed 4 MiB" ;;
    esac
}
# The goals are judged on our default chunk size (what `zadp-repo init`
# chooses without --chunk-size), or the first one measured.
DEFAULT=""
if [ ${#SYSTEMS[@]} -gt 0 ] && [[ ${SYSTEMS[0]} == zadp-* ]]; then
    d=$(zadp-repo --repo "$W/default" init | jq -r .chunk_size)
    DEFAULT=${SYSTEMS[0]} DEFAULT_NOTE="the default, $d bytes, was not measured"
    for s in "${SYSTEMS[@]}"; do
        if [[ $s == zadp-* ]] && [ "$(numfmt --from=iec "${s#zadp-}")" = "$d" ]; then
            DEFAULT=$s DEFAULT_NOTE="the default of \`zadp-repo init\`"
        fi
    done
fi

table() {
    echo "| system | (a) first s | (b) incremental s | (c) no change s | (d) restore s | growth / byte changed, night 1 | median of nights | (c) growth MiB | (e) stored MiB after $NIGHTS nights | files | files per TiB | peak RSS MiB backup / restore |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    echo "| zadp-read \\| zstd -T2 > file / zstd -dc file \\| zadp-write | $(median first.zstd) | | | $(median restore.zst) | | | | $(mib "$ZST_BYTES") (one full) | 1 | | $(rss_mib first.zstd) / $(rss_mib restore.zst) |"
    for s in "${SYSTEMS[@]}"; do
        echo "| $(label "$s") | $(median "first.$s") | $(median "incr.$s") | $(median "same.$s") | $(median "restore.$s") | ${NIGHT1_GROWTH[$s]} | $(median_of "${GROWTH[$s]}") | $(mib "${SAME_GROWTH[$s]}") | $(mib "${STORED[$s]}") | ${FILES[$s]} | $(per_tib "${FILES[$s]}" "${STORED[$s]}") | $(rss_mib "first.$s") / $(rss_mib "restore.$s") |"
    done
    for m in "${MISSING[@]}"; do echo "| $m | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"; done
}
goal() {  # TEXT MEASURED OP LIMIT
    local ok=n/a
    [ "$2" != n/a ] && ok=$(awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN {print ((op == ">=" ? m >= l : m <= l) ? "met" : "NOT met")}')
    echo "| $1 | $2 | $3 $4 | $ok |"
}
goals() {
    local d=$DEFAULT rss inc
    [ -n "$d" ] || { echo "Our repository was not available: no goal could be judged."; return; }
    echo "Judged on ${d#zadp-} chunks ($DEFAULT_NOTE)."
    echo
    echo "| goal | measured | target | |"
    echo "|---|---:|---|---|"
    inc=$(median "incr.$d")
    for o in restic borg borg-fixed; do
        [ -n "${TIMES[incr.$o]:-}" ] && goal "(b) incremental: $(label "$o") time / ours" "$(ratio "$inc" "$(median "incr.$o")")" ">=" 5
    done
    goal "(b) stored growth / bytes changed (median of nights)" "$(median_of "${GROWTH[$d]}")" "<=" 8
    goal "(a) first backup: zadp-read \\| zstd -T2 time / ours" "$(ratio "$(median "first.$d")" "$(median first.zstd)")" ">=" 0.8
    goal "(d) restore: .zst stream file restore time / ours" "$(ratio "$(median "restore.$d")" "$(median restore.zst)")" ">=" 0.9
    local e=zadpenc-${d#zadp-}
    if [ -n "${TIMES[first.$e]:-}" ]; then
        goal "(a) first backup, encrypted: zadp-read \\| zstd -T2 time / ours" "$(ratio "$(median "first.$e")" "$(median first.zstd)")" ">=" 0.8
        goal "(d) restore, encrypted: .zst stream file restore time / ours" "$(ratio "$(median "restore.$e")" "$(median restore.zst)")" ">=" 0.9
    fi
    # Any image size and chunk size: the largest peak of every row of ours.
    rss=0
    for s in "${SYSTEMS[@]}"; do
        [[ $s == zadp* ]] || continue
        for k in "first.$s" "restore.$s"; do [ "${RSS[$k]:-0}" -le "$rss" ] || rss=${RSS[$k]}; done
    done
    rss=$((rss / 1024))
    goal "peak RSS of any of our processes, any chunk size, MiB" "$rss" "<=" 64
    # "About a million": one file per MiB stored is 1,048,576; allow index files on top.
    goal "files per TiB stored (about a million)" "$(per_tib "${FILES[$d]}" "${STORED[$d]}")" "<=" 1100000
}
commands() {
    echo "- (a) baseline: \`zadp-read --source thin.img | zstd -q -T2 > thin.zs.zst\`; (d) baseline: \`$(restore_cmd zst)\`"
    for s in "${SYSTEMS[@]}"; do
        echo "- $(label "$s"): \`$(init_cmd "$s" | sed "s|$W/zadp.key|KEYFILE|g")\`; \`$(backup_cmd "$s" 24 | sed "s|$W/repo.$s|REPO|g; s|$W/zadp.key|KEYFILE|g")\`;" \
            "restore \`$(restore_cmd "$s" 24 | sed "s|$W/repo.$s|REPO|g; s|$W/zadp.key|KEYFILE|g")\`"
    done
}

SECTION=$(
    echo "## Deduplicating repository ($(date -u +%Y-%m-%dT%H:%MZ), bench/repo.sh)"
    echo
    echo "Command: \`REPO_BENCH_SIZE=$SIZE_ARG REPO_BENCH_NIGHTS=$ASKED REPO_BENCH_RUNS=$RUNS${UNTIL:+ REPO_BENCH_UNTIL='$REPO_BENCH_UNTIL'} bench/repo.sh build/bin\`" \
        "($ELAPSED s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) when done; work dir on" \
        "$(df -T "$W" | awk 'NR == 2 {print $2}'))."
    echo
    if [ "$NIGHTS" != "$ASKED" ]; then
        echo "**Only $NIGHTS of the $ASKED nights asked ran** (stopped at REPO_BENCH_UNTIL)."
        echo
    fi
    echo "Image: $SIZE_ARG sparse file, $(mib "$ALLOCATED") MiB allocated (10%) with random data in scattered"
    echo "1-64 MiB extents (bench/repo_image.py, seeded). Each night rewrites 1% of the allocated data"
    echo "($(mib "$NIGHT1_CHANGED") MiB) in 64 KiB pieces at random 4 KiB-aligned offsets (seeded per night), then"
    echo "every system backs up the same image in turn. (a) median of $RUNS first backups into new"
    echo "repositories; (b) median over the $NIGHTS churn nights (night 1, the second backup, alone:"
    echo "$(for s in "${SYSTEMS[@]}"; do printf '%s %s s; ' "$s" "${NIGHT1_TIME[$s]}"; done | sed 's/; $//'));"
    echo "(c) median of $RUNS backups with no change after night 1; (d) median of $RUNS restores of the"
    echo "latest backup into a new file, synced, checked with cmp; (e) \`du -sb\` of the repository after"
    echo "the first backup, $NIGHTS churn nights and the $RUNS no-change backups ($(mib "$CHANGED_TOTAL") MiB rewritten in all)."
    echo "Every timed command starts after an untimed \`sync\`, so none pays for an earlier one's write-back."
    echo "Growth = repository bytes added by a night / bytes rewritten that night. restic and borg"
    echo "encrypt (restic always; borg repokey-blake2); ours only in the rows marked encrypted"
    echo "(AES-256-GCM, HMAC-SHA-256 chunk ids, a key file); passwords from a file."
    echo
    table
    echo
    goals
    echo
    echo "Commands (in the work dir; REPO = the system's repository):"
    echo
    commands
)
echo "$SECTION"
# Drop an earlier section of ours, keep everything else.
python3 "$HERE/results_section.py" "$RESULTS" "Deduplicating repository " <<<"$SECTION"
say "wrote $RESULTS"
