#!/bin/bash
# examples/parallel-nightly.sh into one S3 repository, GNU parallel running
# the jobs in two local slots (-S 2/: stands in for --sshlogin host1,host2):
# each job sources its host's environment file (credentials by file only)
# and backs up one VM; while another run holds par-2 (zadp-repo hold, as a
# backup of it on another host does), par-2's job exits 75, the others
# succeed, the run exits 1 naming the job log and runs no gc;
# --resume-failed then runs par-2's job alone, with the run's TIME, and gc.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
command -v parallel >/dev/null || skip "GNU parallel is not installed (scripts/install-deps.sh)"
vm_scenario par-1:4194304 par-2:4194304 par-3:2097152 other-vm:2097152
start_backup_sim "$T/scenario.json"
for i in 1 2 3; do
    sim_admin disk-write "{\"vm\":\"par-$i\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":$i,\"length\":524288}}" >/dev/null
    declare "id$i=$(vm_ids "par-$i")"
done
other=$(vm_ids other-vm)
zadp-repo init >/dev/null

# Credentials in files only, named by the hosts' environment file.
(umask 077
 printf '%s\n' "$CLOUDTOWER_TOKEN" >"$T/token"
 printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/aws"
 cat >"$T/host.env" <<ENV
CLOUDTOWER_ENDPOINT=$CLOUDTOWER_ENDPOINT
CLOUDTOWER_TOKEN_FILE=$T/token
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=$AWS_REGION
AWS_SHARED_CREDENTIALS_FILE=$T/aws
ZADP_INITIATOR_IQN=iqn.2026-12.test.hci-backup:parallel-host
ENV
)
export CLOUDTOWER_TOKEN_FILE=$T/token AWS_SHARED_CREDENTIALS_FILE=$T/aws
unset CLOUDTOWER_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
nightly() {
    "$HCI_SOURCE_DIR/examples/parallel-nightly.sh" --sshlogin 2/: --where '{"name_starts_with":"par-"}' \
        --env-file "$T/host.env" --state-dir "$T/state" --keep "--keep-daily 7" "$@"
}

# Another run holds par-2.
mkfifo "$T/hold.in"
zadp-repo hold "$id2" <"$T/hold.in" >"$T/hold.out" 2>"$T/hold.err" &
holder=$!
exec 5>"$T/hold.in"
on_exit "kill $holder 2>/dev/null"
for _ in $(seq 600); do [ -s "$T/hold.out" ] && break; kill -0 $holder || die "hold: $(cat "$T/hold.err")"; sleep 0.1; done
jq -e .held "$T/hold.out" >/dev/null || die "hold: $(cat "$T/hold.out" "$T/hold.err")"

rc=0
nightly >"$T/run1.out" 2>"$T/run1.err" || rc=$?
[ $rc -eq 1 ] || { cat "$T/run1.err"; die "the first run: exit $rc, expected 1"; }
grep -q "1 VM job(s) failed (see $T/state/joblog; rerun them with --resume-failed); gc not run" "$T/run1.err" ||
    die "the first run does not say what failed: $(cat "$T/run1.err")"
grep -q "^$id2.*is being backed up by another run" "$T/run1.out" "$T/run1.err" ||
    die "par-2's job does not say why (tagged with its id): $(cat "$T/run1.out" "$T/run1.err")"
[ "$(awk -F'\t' 'NR > 1' "$T/state/joblog" | wc -l)" -eq 3 ] || die "joblog: $(cat "$T/state/joblog")"
[ "$(awk -F'\t' -v id="$id2" 'NR > 1 && $NF ~ id { print $7 }' "$T/state/joblog")" = 75 ] || die "joblog: $(cat "$T/state/joblog")"
time=$(cat "$T/state/time")
for v in id1 id3; do
    [ "$(backups_of "${!v}")" = "${!v}/$time" ] || die "${!v}: $(backups_of "${!v}")"
done
[ -z "$(backups_of "$id2")" ] || die "par-2 was backed up while held: $(backups_of "$id2")"
! grep -q "gc:" "$T/run1.out" "$T/run1.err" || die "gc ran after a failed job"

exec 5>&-
wait $holder || die "hold did not end cleanly: $(cat "$T/hold.err")"
nightly --resume-failed >"$T/run2.out" 2>"$T/run2.err" || { cat "$T/run2.out" "$T/run2.err"; die "--resume-failed failed"; }
[ "$(awk -F'\t' 'NR > 1' "$T/state/joblog" | wc -l)" -eq 4 ] || die "--resume-failed ran more than par-2: $(cat "$T/state/joblog")"
for v in id1 id2 id3; do
    [ "$(backups_of "${!v}")" = "${!v}/$time" ] || die "${!v} after the resume: $(backups_of "${!v}")"
    zadp-repo cat "${!v}/$time/backup.json" | jq -e .complete >/dev/null || die "${!v}'s backup is not complete"
done
grep -q "gc: .* bytes freed" "$T/run2.out" || die "no gc after the resumed run: $(cat "$T/run2.out")"
[ -n "$other" ] && [ -z "$(backups_of "$other")" ] || die "the filter selected other-vm"
! s3_keys | grep -q '^locks/' || die "a lease outlived the run: $(s3_keys | grep ^locks/)"
! grep -rqF "$(sed -n 's/^aws_secret_access_key = //p' "$T/aws")" "$T"/run*.out "$T"/run*.err "$T/state" || die "the secret is in the output"
echo "ok: parallel-nightly.sh spread 3 VMs over 2 slots; a held VM failed with 75 and --resume-failed redid it alone"
