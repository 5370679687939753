#!/bin/bash
# hci-backup-notify (the OnFailure= hook's command) hands the failed unit's
# status and its last run's journal (by invocation id) to the NOTIFY hook,
# with a subject naming the unit and the host as $1; logs one line at
# priority err; exits 1 when the hook fails and 2 without a unit.
# systemctl and journalctl are stand-ins that record how they were asked.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
notify=$HCI_SOURCE_DIR/examples/systemd/hci-backup-notify
mkdir "$T/bin"
cat >"$T/bin/systemctl" <<'STUB'
#!/bin/bash
echo "systemctl $*" >>"$STUB_LOG"
case $1 in
    show) echo 0123456789abcdef0123456789abcdef ;;
    status) echo "x hci-backup@nightly.service - VM backups of nightly"; echo "     Active: failed (Result: exit-code)"; exit 3 ;;
esac
STUB
cat >"$T/bin/journalctl" <<'STUB'
#!/bin/bash
echo "journalctl $*" >>"$STUB_LOG"
echo "2026-11-28T01:31:07+0000 host hci-backup-nightly[42]: nightly-3: backup-vm.sh exit 5"
STUB
chmod +x "$T/bin/systemctl" "$T/bin/journalctl"
export PATH="$T/bin:$PATH" STUB_LOG=$T/stub.log

NOTIFY='cat >"$OUT/body"; printf "%s\n" "$1" >"$OUT/subject"' OUT=$T \
    "$notify" hci-backup@nightly.service >"$T/out" 2>&1 || die "hci-backup-notify failed: $(cat "$T/out")"
grep -q '^hci-backup: hci-backup@nightly.service failed on ' "$T/subject" || die "subject: $(cat "$T/subject")"
grep -q 'Active: failed' "$T/body" || die "the report lacks the unit's status: $(cat "$T/body")"
grep -q 'nightly-3: backup-vm.sh exit 5' "$T/body" || die "the report lacks the journal: $(cat "$T/body")"
grep -q '^journalctl .*_SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef' "$STUB_LOG" ||
    die "the journal was not read by the run's invocation id: $(cat "$STUB_LOG")"
grep -q '^<3>hci-backup: hci-backup@nightly.service failed on .*journalctl -u hci-backup@nightly.service' "$T/out" ||
    die "no err line for the journal: $(cat "$T/out")"

# A hook that fails is an error of the notification (exit 1), said in the journal.
expect_fail 1 env NOTIFY='cat >/dev/null; exit 9' "$notify" hci-backup@nightly.service
grep -q '<3>hci-backup-notify: the NOTIFY hook failed' "$T/out" "$T/err" || die "a failed hook was not reported: $(cat "$T/out" "$T/err")"
expect_fail 2 "$notify"
echo "ok: the failure report reaches the hook with the unit's status and its run's journal"
