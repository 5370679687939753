#!/bin/bash
# zadp-write --verify-first reads the whole stream file (plain or compressed)
# before it touches the target: a stream damaged near its end leaves the
# target exactly as it was (exit 6), where a plain restore has already written
# the records before the damage. A pipe cannot be read twice: exit 2.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
flip "$(( $(rec "$T/s.zs" DATA 3) + 40 ))"
mv "$T/bad" "$T/bad.zs"
head -c 8M /dev/urandom >"$T/target.img"
cp "$T/target.img" "$T/target.orig"

expect_exit 6 zadp-write --force --verify-first --target "$T/target.img" <"$T/bad.zs" 2>"$T/err"
grep -q 'was not touched' "$T/err" || die "the error does not say the target was not touched: $(cat "$T/err")"
cmp "$T/target.img" "$T/target.orig" || die "--verify-first wrote into the target of a damaged stream"

# Without it the same stream damages the target before the error shows.
expect_exit 6 zadp-write --force --target "$T/target.img" <"$T/bad.zs"
cmp -s "$T/target.img" "$T/target.orig" && die "expected the plain restore to have written something"

# A good compressed stream restores after verification.
zstd -q <"$T/s.zs" >"$T/s.zst"
zadp-write --force --verify-first --target "$T/target.img" <"$T/s.zst"
cmp "$T/target.img" "$T/src.img" || die "verified restore differs"

expect_exit 2 zadp-write --verify-first --target "$T/p.img" < <(cat "$T/s.zs")
[ ! -e "$T/p.img" ] || die "a refused --verify-first created the target"
echo ok
