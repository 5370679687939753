#!/bin/bash
# hci-backup-doctor names the check that fails, one thing wrong at a time,
# and exits 1: wrong token (cloudtower; the checks that need it are
# skipped), a selection of no VM, a missing target, a target that does not
# admit this host's IQN, a closed portal, no repository, a read-only
# repository, too little free space for the last runs' size. Usage errors
# exit 2.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
doctor=$HCI_SOURCE_DIR/examples/hci-backup-doctor
export ZADP_INITIATOR_IQN=iqn.2026-01.com.example:doctor-host
vm_scenario doc-a:4194304
jq --arg iqn "$ZADP_INITIATOR_IQN" '.iscsi_targets[0].iqn_whitelist = $iqn' "$T/scenario.json" >"$T/s.json"
start_backup_sim "$T/s.json"
export ZADP_REPO=$T/repo
zadp-repo init >/dev/null

# fails CHECK TEXT [doctor options...]: the doctor exits 1 and its CHECK line
# is FAIL with TEXT; every other line is ok or skip.
fails() {
    local check=$1 text=$2 rc=0
    shift 2
    "$doctor" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 1 ] || die "$check: expected exit 1, got $rc: $(cat "$T/out" "$T/err")"
    grep -qE "^FAIL +$check .*$text" "$T/out" || die "$check: no FAIL line with '$text': $(cat "$T/out")"
    [ "$(grep -c '^FAIL' "$T/out")" -eq 1 ] || die "$check: more than one check failed: $(cat "$T/out")"
}
"$doctor" >"$T/out" || die "the set-up itself fails: $(cat "$T/out")"

CLOUDTOWER_TOKEN=wrong fails cloudtower "$SIM_URL"
grep -qE '^skip +target ' "$T/out" || die "the target check ran without CloudTower: $(cat "$T/out")"
fails selection 'selects no VM' --where '{"name":"doc-typo"}'
fails target 'no iSCSI target named .*nope' --target nope
fails target "does not admit iqn.2026-01.com.example:stranger" --initiator-iqn iqn.2026-01.com.example:stranger
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fails portal "127.0.0.1 port $port: Connection refused" --portal "127.0.0.1:$port"
fails repository "no repository there" --repo "$T/nowhere"

# A read-only repository, and one whose file system is too small for the
# last run: mounts of this scenario's own, in a mount namespace of its own.
if unshare --mount true 2>/dev/null; then
    ro=$(unshare --mount bash -c 'mount --bind -o ro "$1" "$1" && "$2" --repo "$1"; echo "rc=$?"' ro "$ZADP_REPO" "$doctor")
    grep -qE '^FAIL +repository .*(is not writable|Read-only file system)' <<<"$ro" && grep -q '^rc=1$' <<<"$ro" ||
        die "a read-only repository passed: $ro"
    sim_admin disk-write '{"vm":"doc-a","disk":0,"offset":0,"random":{"seed":4,"length":3145728}}' >/dev/null
    mkdir "$T/small"
    small=$(unshare --mount bash -c '
        mount -t tmpfs -o size=5m tmpfs "$1" && zadp-repo --repo "$1/r" init >/dev/null &&
        "$3" --repo "$1/r" doc-a >/dev/null 2>&1 && "$2" --repo "$1/r"; echo "rc=$?"' \
        small "$T/small" "$doctor" "$HCI_SOURCE_DIR/examples/backup-vm.sh")
    grep -qE '^FAIL +free-space .* free, but the last runs stored up to 3' <<<"$small" && grep -q '^rc=1$' <<<"$small" ||
        die "a repository without room for a night passed: $small"
else
    echo "SKIP: the read-only and full repository cases (no mount namespace)"
fi
expect_exit 2 "$doctor" --runs 0
expect_exit 2 "$doctor" --bogus
echo "ok: each failing check is named and fails the doctor"
