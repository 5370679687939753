#!/bin/bash
# A host whose clock is 20 minutes ahead of the store's (faketime): RGW
# refuses its requests (RequestTimeTooSkewed, more than 15 minutes off);
# every tool says so in one line, "clock skew", with this host's time and
# the server's, and exits 3; a store commits nothing. With the clock right
# the same commands work.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
command -v faketime >/dev/null || skip "faketime is not installed (Debian package faketime)"
zadp-repo init >/dev/null
store_new "$T/a.img" 300000 vm1/2026-12-01T020000Z/disk0

# faketime is an LD_PRELOAD library: under ASan (make asan) the runtime
# must be told that it does not come first.
skewed() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +20m "$@"; }
# The skew is real: the host's clock under faketime is 20 minutes ahead.
[ $(( $(skewed date +%s) - $(date +%s) )) -ge 1100 ] || skip "faketime does not shift this host's clock"

expect_fail 3 skewed zadp-repo ls
for word in "clock skew" RequestTimeTooSkewed "this host's time is" "the server's"; do
    grep -q "$word" "$T/err" || die "ls under a skewed clock does not say '$word': $(cat "$T/err")"
done
[ "$(wc -l <"$T/err")" -eq 1 ] || die "more than one line: $(cat "$T/err")"
rc=0
zadp-read --source "$T/a.img" | skewed zadp-write --target repo:vm1/2026-12-02T020000Z/disk0 >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] || die "a store under a skewed clock: exit $rc: $(cat "$T/err")"
grep -q "clock skew" "$T/err" || die "the store does not say clock skew: $(cat "$T/err")"
! zadp-repo ls | grep -q 2026-12-02T020000Z || die "a store under a skewed clock committed"
restores_to "$T/a.img" vm1/2026-12-01T020000Z/disk0
echo "ok: a skewed clock is named (clock skew, both times), exit 3, nothing committed"
