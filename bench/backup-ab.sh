#!/bin/bash
# bench/backup-ab.sh BINDIR BASE_BINDIR: backup speed of two builds side by
# side (say, this branch and main), into local directory repositories, in
# interleaved rounds with the order alternating: (a) first backup of
# bench/repo.sh's thin image, (b) incremental after 1% churn, (c) a backup
# with no change. Prints each round and the medians of the per-round ratios
# BASE time / our time (> 1: ours is faster). Every timed run starts after an
# untimed sync. Knobs: AB_SIZE (8G), AB_ROUNDS (6: an even count runs as
# many rounds in each order), TMPDIR (/var/tmp).
set -euo pipefail
NEW=$(cd "${1:?usage: bench/backup-ab.sh BINDIR BASE_BINDIR}" && pwd)
BASE=$(cd "${2:?usage: bench/backup-ab.sh BINDIR BASE_BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${AB_ROUNDS:-6}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/backup-ab.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
python3 "$HERE/repo_image.py" make thin.img "$(numfmt --from=iec "${AB_SIZE:-8G}")"
declare -A BIN=([base]=$BASE [new]=$NEW) RATIOS
declare -A WHEN=([first]=2026-11-01T020000Z [incr]=2026-11-02T020000Z [same]=2026-11-03T020000Z)
timed() { # CMD: wall seconds of bash -c CMD after an untimed sync
    local s e
    sync
    s=$(date +%s.%N)
    bash -c "$1"
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
backup() { echo "${BIN[$1]}/zadp-read --source thin.img | ${BIN[$1]}/zadp-write --repo repo-$1 --target repo:vm/$2/disk0 > /dev/null"; }
for ((r = 1; r <= ROUNDS; r++)); do
    order=(base new)
    ((r % 2)) || order=(new base)
    line="round $r:"
    declare -A T=()
    for v in "${order[@]}"; do rm -rf "repo-$v"; "${BIN[$v]}/zadp-repo" --repo "repo-$v" init >/dev/null; done
    for step in first incr same; do
        [ $step != incr ] || python3 "$HERE/repo_image.py" churn thin.img "$r" >/dev/null
        for v in "${order[@]}"; do
            T[$step.$v]=$(timed "$(backup "$v" "${WHEN[$step]}")")
            line+=" $step.$v ${T[$step.$v]}"
        done
        RATIOS[$step]+="$(awk -v b="${T[$step.base]}" -v n="${T[$step.new]}" 'BEGIN { printf "%.3f", b / n }') "
    done
    echo "$line"
done
# The median (of the two middle ones when the rounds are even: then as many
# rounds ran base first as new first, and the second of a pair is often the
# slower one).
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for step in first incr same; do
    echo "$step: base time / new time per round ${RATIOS[$step]}, median $(median <<<"${RATIOS[$step]}")"
done
