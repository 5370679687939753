#!/bin/bash
# The S3 store's local cache (zadp-repo --cache-dir): a second check
# downloads fewer objects than the first (the indexes and pack tables come
# from the cache); a corrupted cache is detected (the cached bytes no longer
# hash to the object's ETag), re-fetched, and check and restore stay
# correct; --cache-dir off keeps nothing.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init --chunk-size 64K > /dev/null || die "init on $ZADP_REPO failed"
store_new "$T/a.img" $((4 << 20)) vm1/2026-12-01T020000Z/disk0 || die "store failed"
head -c 65536 /dev/urandom | dd of="$T/a.img" bs=65536 seek=3 conv=notrunc status=none
store "$T/a.img" vm1/2026-12-02T020000Z/disk0 || die "second store failed"
rm -rf "$T/cache"

check_gets() {  # check_gets NAME [options]: check's object GETs (its stderr in $T/NAME.err)
    local name=$1; shift
    ZADP_S3_STATS=1 zadp-repo "$@" check > "$T/$name.out" 2> "$T/$name.err" || die "check $name failed: $(cat "$T/$name.err")"
    s3_stat "$T/$name.err" get
}
first=$(check_gets first --cache-dir "$T/cache")
second=$(check_gets second --cache-dir "$T/cache")
echo "check GETs: $first without a cache, $second with it"
[ "$second" -lt "$first" ] || die "the second check sent $second GETs, the first $first: the cache was not used"
cached=$(find "$T/cache" -type f ! -name '.*' | wc -l)
[ "$cached" -ge 3 ] || die "only $cached objects in the cache: $(find "$T/cache" -type f)"

# Every cached object damaged: each is found out, downloaded again, and the
# check still passes.
find "$T/cache" -type f ! -name '.*' -print0 | while IFS= read -r -d '' f; do
    printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
done
damaged=$(check_gets damaged --cache-dir "$T/cache")
grep -q "was damaged; downloading it again" "$T/damaged.err" || die "no warning about the damaged cache: $(cat "$T/damaged.err")"
[ "$damaged" -ge "$first" ] || die "after the damage check sent $damaged GETs, expected $first (all fetched again)"
healed=$(check_gets healed --cache-dir "$T/cache")
[ "$healed" = "$second" ] || die "the cache did not heal: $healed GETs, expected $second"

restores_to "$T/a.img" vm1/2026-12-02T020000Z/disk0

# off: nothing is kept, every check downloads again.
rm -rf "$T/cache"
off=$(check_gets off --cache-dir off)
[ "$off" -ge "$first" ] || die "with the cache off check sent $off GETs, expected $first"
[ ! -e "$T/cache" ] || die "--cache-dir off wrote $T/cache"
echo "ok: the S3 cache saves GETs and never serves damaged bytes"
