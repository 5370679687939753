#!/bin/bash
# make install puts hci-backup@.service, hci-backup@.timer and the failure
# unit into PREFIX/lib/systemd/system, filled in for PREFIX and not enabled;
# systemd-analyze verify accepts them (where it is installed); no secret is in
# a unit, the token comes as a credential; the timer is Persistent and the job
# runs niced with idle I/O; and the service's ExecStart, run as systemd would
# (clean environment, the unit's Environment=, a 0600 EnvironmentFile, the
# credential in its directory), backs up every selected VM of hci-sim with
# the installed tools and exits 0, and non-zero when the job fails (so that
# OnFailure= fires).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/systemd.sh"
require_tools zadp-repo
install_units
svc=$UNITS/hci-backup@.service timer=$UNITS/hci-backup@.timer fail=$UNITS/hci-backup-failure@.service
for f in "$svc" "$timer" "$fail"; do [ -f "$f" ] || die "$f not installed"; done
! grep -n '@[A-Z]*@' "$svc" "$timer" "$fail" || die "a unit kept an install-time placeholder"
grep -q "^ExecStart=/usr/bin/make -f $EXAMPLES/Makefile " "$svc" || die "the service does not run the installed Makefile: $(unit_values ExecStart "$svc")"
grep -q "^ExecStart=$EXAMPLES/systemd/hci-backup-notify %i\$" "$fail" || die "the failure unit: $(unit_values ExecStart "$fail")"
[ -x "$EXAMPLES/systemd/hci-backup-notify" ] || die "hci-backup-notify not installed executable"
[ -z "$(find "$T/p" -name '*.wants' -o -type l)" ] || die "make install enabled something: $(find "$T/p" -name '*.wants' -o -type l)"
[ -z "$(find "$T/p" -name '*.in')" ] || die "unit templates installed: $(find "$T/p" -name '*.in')"

# What an admin expects of the units.
[ "$(unit_values Persistent "$timer")" = true ] || die "the timer is not Persistent"
[ -n "$(unit_values OnCalendar "$timer")" ] || die "the timer has no OnCalendar"
[ "$(unit_values WantedBy "$timer")" = timers.target ] || die "the timer is not WantedBy timers.target"
[ "$(unit_values IOSchedulingClass "$svc")" = idle ] || die "the job's I/O is not idle class"
[ "$(unit_values Nice "$svc")" -gt 0 ] || die "the job is not niced"
[ "$(unit_values OnFailure "$svc")" = 'hci-backup-failure@%n.service' ] || die "no OnFailure= hook"
[ "$(unit_values EnvironmentFile "$svc")" = '/etc/hci-backup/%i.conf' ] || die "EnvironmentFile: $(unit_values EnvironmentFile "$svc")"
[ "$(unit_values LoadCredential "$svc")" = 'cloudtower-token:/etc/hci-backup/%i.token' ] || die "LoadCredential: $(unit_values LoadCredential "$svc")"
! grep -iE '^(Environment|ExecStart)=.*(TOKEN=|PASSWORD|PASSPHRASE=|SECRET=)' "$svc" || die "a secret in the unit"
[ "$(unit_values User "$svc")" = backup ] || die "the job does not run as the user backup"

if command -v systemd-analyze >/dev/null; then
    # The instance, its timer and its failure unit, found in the installed
    # directory; Documentation=man:hci-backup(7) in the installed pages.
    rc=0
    MANPATH=$T/p/share/man SYSTEMD_UNIT_PATH=$UNITS: systemd-analyze verify hci-backup@nightly.service \
        hci-backup@nightly.timer hci-backup-failure@hci-backup@nightly.service.service >"$T/verify.out" 2>&1 || rc=$?
    [ $rc -eq 0 ] && [ ! -s "$T/verify.out" ] || die "systemd-analyze verify (exit $rc): $(cat "$T/verify.out")"
else
    echo "SKIP: systemd-analyze verify (systemd-analyze not installed)"
fi

# The job itself, against hci-sim with the installed tools.
vm_scenario sysd-a:4194304 sysd-b:4194304 other:4194304
start_backup_sim "$T/scenario.json"
for v in sysd-a sysd-b; do
    sim_admin disk-write "{\"vm\":\"$v\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":7,\"length\":1048576}}" >/dev/null
done
"$T/p/bin/zadp-repo" --repo "$T/repo" init >/dev/null
install -d -m 700 "$T/etc" "$T/creds"
install -m 600 /dev/null "$T/etc/nightly.conf"
cat >"$T/etc/nightly.conf" <<CONF
CLOUDTOWER_ENDPOINT=$SIM_URL
WHERE='{"name_starts_with":"sysd-"}'
REPO=$T/repo
JOBS=2
KEEP_DAILY=7
CONF
printf '%s\n' "$CLOUDTOWER_TOKEN" >"$T/creds/cloudtower-token"
chmod 400 "$T/creds/cloudtower-token"
run_exec_start "$svc" nightly "$T/etc/nightly.conf" "$T/creds" || { cat "$T/job.log"; die "the job failed"; }
grep -q 'backups of 2 VM(s)' "$T/job.log" || die "the job did not back up 2 VMs: $(cat "$T/job.log")"
! grep -qF "$CLOUDTOWER_TOKEN" "$T/job.log" || die "the token is in the job's output"
export ZADP_REPO=$T/repo
for v in sysd-a sysd-b; do
    id=$(vm_ids "$v")
    b=$(backups_of "$id")
    [ -n "$b" ] && zadp-repo cat "$b/backup.json" | jq -e .complete >/dev/null || die "$v has no complete backup: $b"
done
[ -z "$(backups_of "$(vm_ids other)")" ] || die "the job backed up a VM outside WHERE"

# A failing job exits non-zero, so that systemd starts the OnFailure= unit.
install -d -m 700 "$T/creds-wrong"
printf 'not-the-token\n' >"$T/creds-wrong/cloudtower-token"
rc=0
run_exec_start "$svc" nightly "$T/etc/nightly.conf" "$T/creds-wrong" || rc=$?
[ $rc -ne 0 ] || die "the job succeeded with a wrong token: $(cat "$T/job.log")"
echo "ok: units installed, not enabled, verified; the ExecStart line backed up 2 VMs and fails with a wrong token"
