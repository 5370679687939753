# Sourced after lib.sh and repo.sh by the repo-damage-matrix* scenarios
# (issue 17): one kind of damage at a time to a fresh copy of a prepared
# version-2 repository, then every step a user may take, with every item
# read after each step. run_matrix takes the cells, "BASE KEY" lines:
#   BASE  plain (the repository below), enc (the same, encrypted with a
#         passphrase) or dlist (plain, with a chunk set aside by check
#         --read-data and stored again, so that packs/damaged exists, then
#         a gc)
#   KEY   a damage of repo_damage_layout.py (file, place, mode), or none
# The steps: the damage, check, check --read-data, gc, gc, repair, store
# the sources again under new names. Asserted for every cell:
#   - no read exits 0 with wrong bytes;
#   - every exit is a documented one (0 2 4 6 7), never a crash;
#   - an item readable after one step is readable after every later one;
#   - gc never removes a pack whose own table or tail is damaged (it holds
#     chunks only a scan of the pack can find again);
#   - after repair, every item whose own chunks, index and blob the damage
#     did not touch reads, before any source is stored again: damage to
#     what the packs can rebuild is never turned into loss;
#   - the sources store again, and then every item whose own index or blob
#     is intact reads, and so does every new copy;
#   - config and key, which nothing rebuilds: once the file is put back,
#     every item reads (no step destroyed anything meanwhile);
#   - an undamaged repository: every command exits 0.
# Violations are collected over all cells and listed at the end.
# MATRIX_CELLS=REGEX runs only the cells it matches; MATRIX_KEEP=DIR keeps
# the outcome table (DIR/table) and every step's output (DIR/CELL/STEP.out,
# .err, and .reads: what the reads after it said).

require_tools zadp-read zadp-write zadp-repo

# The items, by letter: images A B D and blob J. A and B are clones of one
# template (B with a few blocks of its own); D is a later backup of A,
# stored after the gc that builds the locator. The gc combines the packs of
# A and B into one (pack1) of more than 4 MiB, which later gcs leave as it
# is; D's new chunks go to a pack of its own (pack2).
ITEMS="A B D J"
declare -A NAME=(
    [A]=web01/2026-11-27T020000Z/disk0 [B]=web02/2026-11-27T020000Z/disk0
    [D]=web01/2026-11-28T020000Z/disk0 [J]=web01/2026-11-27T020000Z/vm.json)
mkdir -p "$T/src"
randimg "$T/src/template" $((2 << 20))
randimg "$T/src/own" $((4 << 20))
# chunks FILE FIRST COUNT: chunks of 64 KiB of FILE
chunks() { dd if="$1" bs=64K skip="$2" count="$3" status=none; }
{ cat "$T/src/template"; head -c $((512 << 10)) /dev/zero; chunks "$T/src/own" 0 24; } > "$T/src/A"
{ chunks "$T/src/template" 0 10; chunks "$T/src/own" 24 4; chunks "$T/src/template" 14 18; chunks "$T/src/own" 28 16; } > "$T/src/B"
{ chunks "$T/src/A" 0 2; chunks "$T/src/own" 44 3; chunks "$T/src/A" 5 59; chunks "$T/src/own" 47 4; } > "$T/src/D"
jq -n '{vm: {name: "web01", disks: [range(40) | {bus: "VIRTIO", index: ., size: (. * 1073741824)}]}}' > "$T/src/J"
for l in $ITEMS; do echo "$l ${NAME[$l]} $([ "$l" = J ] && echo blob || echo image)"; done > "$T/items"
echo 'a passphrase for the matrix' > "$T/passphrase"

# with_base BASE: the environment of a repository made as BASE
with_base() {
    unset ZADP_REPO_PASSPHRASE_FILE
    [ "$1" = enc ] && export ZADP_REPO_PASSPHRASE_FILE="$T/passphrase"
    return 0
}

store_item() {  # LETTER NAME
    if [ "$1" = J ]; then
        zadp-repo put-blob "$2" "$T/src/J"
    else
        zadp-read --source "$T/src/$1" | zadp-write --target "repo:$2"
    fi
}

# prepare BASE: $T/base-BASE, and where to damage it in $T/layout-BASE
prepare() {
    local base=$1
    with_base "$base"
    export ZADP_REPO="$T/base-$base"
    if [ "$base" = dlist ]; then
        # A chunk of B's own damaged, set aside, stored again (the tmp image)
        # and the packs combined by a gc, so that the set-aside copy is
        # what the locator would list first were its mark lost (the order
        # of the packs' random names; up to 20 tries).
        local id try
        for try in $(seq 20); do
            rm -rf "$ZADP_REPO"
            cp -a "$T/base-plain" "$ZADP_REPO"
            id=$(python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read()
print(b[24 + struct.unpack_from("<I", b, 16)[0] + 32 * 10:][:32].hex())' "$ZADP_REPO/backups/${NAME[B]}.fidx")
            read -r pack offset length < <(pack_entries | awk -v id="$id" '$1 == id && !n++ { print $2, $3, $4 }')
            python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=1; open(p,"wb").write(b)' \
                "$pack" $((offset + length / 2))
            expect_fail 6 zadp-repo check --read-data
            store_item B tmp/2026-11-26T000000Z/disk0 > /dev/null
            zadp-repo rm tmp/2026-11-26T000000Z > /dev/null
            zadp-repo gc > /dev/null
            [ -s "$ZADP_REPO/packs/damaged" ] || die "dlist: nothing was set aside"
            # pack numbers are the names read as little-endian u64s
            pack_entries | awk -v id="$id" '$1 == id { print $2 }' | python3 -c '
import os, sys
bad = os.path.basename(sys.argv[1])[:16]
n = lambda p: int.from_bytes(bytes.fromhex(os.path.basename(p)[:16]), "little")
packs = [l.strip() for l in sys.stdin]
sys.exit(0 if len(packs) == 2 and all(n(bad) <= n(p) for p in packs) else 1)' "$pack" && break
            [ "$try" -lt 20 ] || die "dlist: the copy set aside never came first"
            # The damaged copy stays in base-plain's pack, whose random name
            # every try copied: when it is high, no new pack comes after it
            # (all 20 tries failed in about 1 run of 21). Draw it again.
            rm -rf "$T/base-plain"
            prepare plain
            with_base dlist
            export ZADP_REPO="$T/base-dlist"
        done
    else
        if [ "$base" = enc ]; then zadp-repo init --chunk-size 64K --encrypt > /dev/null; else zadp-repo init --chunk-size 64K > /dev/null; fi
        for l in A B J; do store_item $l "${NAME[$l]}" > /dev/null; done
        zadp-repo gc > /dev/null
        store_item D "${NAME[D]}" > /dev/null
        [ -s "$ZADP_REPO/packs/locator" ] || die "no locator after the gc"
        [ -n "$(ls "$ZADP_REPO/packs/unmerged")" ] || die "no unmerged table after the last store"
    fi
    zadp-repo check --read-data > /dev/null || die "prepared repository $base does not check"
    python3 "$HCI_SOURCE_DIR/tests/e2e/repo_damage_layout.py" "$ZADP_REPO" "$T/items" > "$T/layout-$base"
}

violation() {
    echo "$CELL: $STEP: $*" >> "$T/violations"
    echo "  VIOLATION $STEP: $*" >> "$CELL_DIR/log"
}

# step_exit RC: a command's exit must be a documented one
step_exit() {
    case $1 in
        0 | 2 | 4 | 6 | 7) ;;
        *) violation "exit $1 (not a documented exit code; a crash?)" ;;
    esac
    if [ "$KEY" = none ] && [ "$1" != 0 ]; then
        violation "exit $1 from an undamaged repository"
    fi
}

# read_item LETTER NAME: the item's state: its letter when it reads back
# exactly, the exit code when the read fails, ! for exit 0 with wrong bytes
read_item() {
    local rc=0 src=$T/src/${1^^}
    if [ "${1^^}" = J ]; then
        zadp-repo cat "$2" > "$T/out" 2>> "$CELL_DIR/$STEP.reads" || rc=$?
    else
        zadp-read --source "repo:$2" --format raw > "$T/out" 2>> "$CELL_DIR/$STEP.reads" || rc=$?
    fi
    if [ $rc = 0 ]; then
        if cmp -s "$src" "$T/out"; then echo "$1"; else
            violation "read of $2 exited 0 with wrong bytes"
            echo '!'
        fi
    else
        case $rc in 2 | 4 | 6 | 7) ;; *) violation "read of $2: exit $rc (not a documented exit code; a crash?)" ;; esac
        echo "${rc: -1}"
    fi
}

# repo_state: a digest of every file's name and bytes in the repository
repo_state() { (cd "$ZADP_REPO" && find . -type f ! -name lock -print0 | sort -z | xargs -0 -r md5sum | md5sum); }

# read_all: reads every item (and the copies once stored) after STEP, and
# holds them to the readable set of the step before. When no file changed
# since the last reads, their outcome is known: they are not run again
# (a read's outcome depends on the repository's bytes alone).
read_all() {
    local l s state="" now
    now=$(repo_state)
    if [ "$now" = "$READ_AT" ]; then
        ROW+=" $LAST_STATE"
        return
    fi
    READ_AT=$now
    for l in $ITEMS; do
        s=$(read_item "$l" "${NAME[$l]}")
        state+=$s
        if [ "${READABLE[$l]:-}" = 1 ] && [ "$s" != "$l" ]; then
            violation "${NAME[$l]} ($l) read after the step before, no longer (exit ${s})"
        fi
        [ "$s" = "$l" ] && READABLE[$l]=1 || READABLE[$l]=0
    done
    if [ -n "$STORED" ]; then
        state+=" "
        for l in $ITEMS; do
            if [[ $STORED != *$l* ]]; then state+="-"; continue; fi
            s=$(read_item "${l,,}" "${NAME[$l]/2026-11-/2026-12-}")
            state+=$s
            if [ "${READABLE[${l,,}]:-}" = 1 ] && [ "$s" != "${l,,}" ]; then
                violation "the new copy ${NAME[$l]/2026-11-/2026-12-} no longer reads (exit $s)"
            fi
            [ "$s" = "${l,,}" ] && READABLE[${l,,}]=1 || READABLE[${l,,}]=0
        done
    fi
    ROW+=" $state"
    LAST_STATE=$state
}

# run_step NAME ALLOWED CMD...: runs a command of the sequence, then reads
# everything (not after check, which only reads: the next step's reads
# would show what it broke)
run_step() {
    STEP=$1
    local allowed=$2 rc=0
    shift 2
    "$@" > "$CELL_DIR/$STEP.out" 2> "$CELL_DIR/$STEP.err" || rc=$?
    step_exit $rc
    if [ -n "$allowed" ] && [[ " $allowed " != *" $rc "* ]]; then
        violation "exit $rc, expected one of: $allowed"
    fi
    ROW+=" | $STEP=$rc"
    if [[ $STEP == gc* ]] && [ "$GUARDED" = 1 ] && [ ! -e "$ZADP_REPO/$FILE" ]; then
        violation "gc removed $FILE, a pack whose own table does not read"
    fi
    [ "$STEP" = check ] || read_all
}

# must_read LETTERS WHY: each of these items read after this step
must_read() {
    local l
    for l in $(echo "$1" | grep -o .); do
        [ "${READABLE[$l]:-}" = 1 ] || violation "${NAME[${l^^}]} ($l) does not read; $2"
    done
}

damage() {  # FILE OP ARG MASK
    case $2 in
        flip) python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=int(sys.argv[3]); open(p,"wb").write(b)' \
            "$1" "$3" "$4" ;;
        trunc) truncate -s "$3" "$1" ;;
        delete) rm "$1" ;;
    esac
}

run_cell() {  # BASE KEY
    local base=$1 l rc file=- op=- arg=0 mask=0 lost=- own=- keep="" intact=""
    KEY=$2 GUARDED=0
    CELL=$base/$KEY
    CELL_DIR=$T/cells/$base.$KEY
    mkdir -p "$CELL_DIR"
    if [ "$KEY" != none ]; then
        read -r _ file op arg mask lost own < <(grep "^$KEY " "$T/layout-$base") ||
            die "$CELL: no such damage in $T/layout-$base"
    fi
    case $KEY in pack*.table.* | pack*.tail.len.* | pack*.tail.magic.* | pack*.cut1 | pack*.trunc) GUARDED=1 ;; esac
    FILE=$file
    with_base "$base"
    export ZADP_REPO=$T/cell
    rm -rf "$ZADP_REPO"
    cp -a "$T/base-$base" "$ZADP_REPO"
    [ "$file" = - ] || cp -a "$ZADP_REPO/$file" "$T/saved"
    unset READABLE
    declare -gA READABLE=()
    STORED="" ROW="$CELL" READ_AT="" LAST_STATE=""
    STEP=damage
    [ "$file" = - ] || damage "$ZADP_REPO/$file" "$op" "$arg" "$mask"
    ROW+=" | damage"
    read_all
    run_step check "" zadp-repo check
    run_step check-data "" zadp-repo check --read-data
    run_step gc "" zadp-repo gc
    run_step gc2 "" zadp-repo gc
    # config and key: nothing rebuilds them (repair cannot open the
    # repository: 2 for a key, 4 for no config, like every command); the
    # other files: repair has rebuilt what the packs hold.
    local special=0 repair_ok="0 6"
    case $KEY in config.* | key.*) special=1 repair_ok="0 2 4 6 7" ;; esac
    run_step repair "$repair_ok" zadp-repo repair
    for l in $ITEMS; do [[ $lost$own == *$l* ]] || intact+=$l; done
    [ $special = 1 ] || must_read "$intact" "the damage did not touch its data, and repair ran"
    STEP=store
    local codes=""
    for l in $ITEMS; do
        rc=0
        store_item "$l" "${NAME[$l]/2026-11-/2026-12-}" >> "$CELL_DIR/store.out" 2>> "$CELL_DIR/store.err" || rc=$?
        codes+=$rc
        step_exit $rc
        if [ $rc = 0 ]; then STORED+=$l; elif [ $special = 0 ]; then violation "storing ${NAME[$l]} again: exit $rc"; fi
    done
    ROW+=" | store=$codes"
    read_all
    if [ $special = 1 ]; then
        # Put the file back as it was: nothing may have been lost meanwhile.
        STEP=put-back
        cp -a "$T/saved" "$ZADP_REPO/$file"
        ROW+=" | put-back"
        read_all
        must_read "$ITEMS ${STORED,,}" "with the $file put back"
    else
        for l in $ITEMS; do [[ $own == *$l* ]] || keep+=$l; done
        must_read "$keep ${STORED,,}" "the sources were stored again"
    fi
    echo "$ROW" | tee -a "$T/table"
    cat "$CELL_DIR/log" 2>/dev/null || true
}

# run_matrix CELLS: prepares what the cells need, runs each, and fails
# listing every violation
run_matrix() {
    local base key cells=""
    : > "$T/violations"
    : > "$T/table"
    while read -r base key; do
        [ -n "$base" ] && [[ $base/$key =~ ${MATRIX_CELLS:-.} ]] && cells+="$base $key"$'\n'
    done <<< "$1"
    [ -n "$cells" ] || skip "MATRIX_CELLS=$MATRIX_CELLS matches no cell"
    echo "columns: the step and its exit | items after it: ABD images, J the blob, abdj their new copies (letter: reads exactly; digit: the exit of a failed read; !: wrong bytes; -: not stored)"
    for base in plain enc dlist; do
        grep -q "^$base " <<< "$cells" || continue
        [ $base != dlist ] || [ -d "$T/base-plain" ] || prepare plain
        prepare $base
    done
    while read -r base key; do
        [ -z "$base" ] || run_cell "$base" "$key"
    done <<< "$cells"
    if [ -n "${MATRIX_KEEP:-}" ]; then
        mkdir -p "$MATRIX_KEEP"
        cp -a "$T/cells/." "$MATRIX_KEEP/"
        cat "$T/table" >> "$MATRIX_KEEP/table"
        cat "$T/violations" >> "$MATRIX_KEEP/violations"
    fi
    if [ -s "$T/violations" ]; then
        echo "$(wc -l < "$T/violations") violation(s):"
        cat "$T/violations"
        die "the damage matrix found violations"
    fi
}
