#!/bin/bash
# Reading needs no write access: a user who may read the repository but
# not write it (here nobody, the repository read-only for everyone) lists,
# checks and restores, and so does root from a read-only bind mount; the
# shared lock is taken through a read-only descriptor and the read path
# creates nothing.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to run a reader as another user"
command -v setpriv >/dev/null || skip "setpriv not installed (util-linux)"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" ZADP_REPO="$ZADP_REPO" "$@"; }
as_nobody true 2>/dev/null || skip "cannot run as nobody here"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 1000000 web01/2026-11-28T020000Z/disk0
echo '{"vm":1}' | zadp-repo put-blob web01/2026-11-28T020000Z/vm.json
chmod 711 "$T"
chmod -R a+rX,a-w "$ZADP_REPO"
on_exit 'chmod -R u+w "$ZADP_REPO"'
before=$(find "$ZADP_REPO" -printf '%p %s %T@\n' | sort)

as_nobody zadp-read --source repo:web01/2026-11-28T020000Z/disk0 --format raw > "$T/restored.raw" 2> "$T/err" ||
    die "read as nobody: $(cat "$T/err")"
cmp "$T/a.img" "$T/restored.raw" || die "read as nobody gave other bytes"
as_nobody zadp-read --source repo:web01/2026-11-28T020000Z/disk0 2> "$T/err" | zadp-write --check > /dev/null ||
    die "stream read as nobody: $(cat "$T/err")"
as_nobody zadp-repo ls > "$T/ls" 2> "$T/err" || die "ls as nobody: $(cat "$T/err")"
[ "$(jq -r .name "$T/ls" | tr '\n' ' ')" = "web01/2026-11-28T020000Z/disk0 web01/2026-11-28T020000Z/vm.json " ] ||
    die "ls as nobody: $(cat "$T/ls")"
as_nobody zadp-repo check > /dev/null 2> "$T/err" || die "check as nobody: $(cat "$T/err")"
[ "$(as_nobody zadp-repo cat web01/2026-11-28T020000Z/vm.json)" = '{"vm":1}' ] || die "cat as nobody"
[ "$(find "$ZADP_REPO" -printf '%p %s %T@\n' | sort)" = "$before" ] || die "reading changed the repository"
# Writing as nobody fails cleanly, and changes nothing either.
rc=0; as_nobody zadp-repo gc > /dev/null 2> "$T/err" || rc=$?
[ $rc = 7 ] || die "gc as nobody: exit $rc: $(cat "$T/err")"
[ "$(find "$ZADP_REPO" -printf '%p %s %T@\n' | sort)" = "$before" ] || die "a refused gc changed the repository"
# A read-only mount (EROFS, even for root), when this host lets us make one.
mkdir "$T/ro"
if mount --bind "$ZADP_REPO" "$T/ro" 2>/dev/null; then
    on_exit "umount '$T/ro'"
    if mount -o remount,bind,ro "$T/ro" 2>/dev/null; then
        chmod -R u+w "$ZADP_REPO"  # root on a read-only mount: only the mount refuses writes
        ZADP_REPO="$T/ro" zadp-read --source repo:web01/2026-11-28T020000Z/disk0 --format raw 2> "$T/err" |
            cmp - "$T/a.img" || die "read from a read-only mount: $(cat "$T/err")"
        ZADP_REPO="$T/ro" zadp-repo check > /dev/null 2> "$T/err" || die "check on a read-only mount: $(cat "$T/err")"
    else
        echo "note: no read-only remount here; the read-only mount case is not run" >&2
    fi
fi
echo "ok: a reader without write access reads"
