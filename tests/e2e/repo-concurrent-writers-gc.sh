#!/bin/bash
# Several stores into one repository at once (as make -j runs them), rm of
# an old backup and gc running meanwhile, again and again: no chunk a
# finished or running store references is lost. Afterwards check
# --read-data is clean and every backup restores byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/base.img" $((4 << 20)) vm0/2026-11-01T020000Z/disk0
for i in 1 2 3 4; do
    cp "$T/base.img" "$T/vm$i.img"     # clones of one template: shared chunks
    dd if=/dev/urandom of="$T/vm$i.img" bs=64K count=8 seek=$((i * 9)) conv=notrunc status=none
done

pids=()
for round in 1 2 3; do
    for i in 1 2 3 4; do
        ( store "$T/vm$i.img" "vm$i/2026-11-0${round}T020000Z/disk0" ) &
        pids+=($!)
    done
    zadp-repo gc > "$T/gc.$round" &
    pids+=($!)
done
( sleep 0.2; zadp-repo rm vm0/2026-11-01T020000Z > /dev/null; zadp-repo gc > "$T/gc.last" ) &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || die "a store or gc failed (pid $p)"; done

zadp-repo gc > "$T/gc.final"
zadp-repo check --read-data > "$T/check" || die "check --read-data: $(grep -v '"ok":true' "$T/check")"
[ "$(jq -s 'map(select(.ok)) | length' "$T/check")" = 12 ] || die "expected 12 good images: $(cat "$T/check")"
for round in 1 2 3; do
    for i in 1 2 3 4; do restores_to "$T/vm$i.img" "vm$i/2026-11-0${round}T020000Z/disk0"; done
done
jq -e '.missing_chunks == 0' "$T/gc.final" >/dev/null || die "gc: $(cat "$T/gc.final")"
echo "ok: concurrent stores and gc lose nothing"
