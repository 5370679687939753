#!/bin/bash
# An administrator's week (issue 19), with the installed tools and the
# nightly job run as its systemd unit runs it (ExecStart, EnvironmentFile,
# the token as a credential, STATE_DIRECTORY), against hci-sim: five VMs on
# c1, one named with spaces, one with 3 odd disks between 2 CD-ROMs and 2
# NICs on two VLANs.
#   Sunday:    a typo in WHERE: the job fails, backs up nothing, says why,
#              and the run log records it.
#   Monday:    every VM backed up.
#   Tuesday:   one VM's snapshot fails: the job exits non-zero, the report
#              names that VM and the reason; the same-day rerun backs up
#              only that VM.
#   Wednesday: a second run starts while the night's run is still going:
#              it is refused, names the running one and does nothing.
#   Thursday:  "restore Tuesday's db server 01 onto c2": a VLAN typo is
#              refused before anything is made; with the right mapping the
#              VM is made on c2 with Tuesday's data, verified; one disk of
#              "odd" restored to a file by name and date matches by SHA-256;
#              check --read-data is clean.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/systemd.sh"
require_pipeline
require_tools zadp-repo hci-vm-create hci-lun-admit
export TZ=UTC ZADP_INITIATOR_IQN=iqn.2026-11.test.hci-backup:admin-host
install_units
svc=$UNITS/hci-backup@.service

jq -n '{users: [{username: "admin", password: "admin-password"}],
    clusters: [{name: "c1", vlans: [{name: "default", vlan_id: 0}, {name: "prod", vlan_id: 10},
                                    {name: "backup-net", vlan_id: 20}]},
               {name: "c2", vlans: [{name: "default", vlan_id: 0}, {name: "dr-net", vlan_id: 110}]}],
    iscsi_targets: [{name: "backup-tgt", cluster: "c1", iqn_whitelist: "*"}],
    vms: (([{name: "web01", nic: "default"}, {name: "db server 01", nic: "prod"}, {name: "app-1", nic: "default"},
           {name: "app-2", nic: "default"}]
          | map({name, cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING", vm_tools_status: "RUNNING",
                 disks: [{type: "DISK", bus: "VIRTIO", size: 4194304}], nics: [{vlan: .nic, model: "VIRTIO"}]}))
         + [{name: "odd", cluster: "c1", vcpu: 2, memory: 2147483648, status: "RUNNING", vm_tools_status: "RUNNING",
             disks: [{type: "DISK", bus: "VIRTIO", boot: 2, size: 5243392},
                     {type: "CD_ROM", bus: "IDE", boot: 0, elf_image: "debian-12.iso"},
                     {type: "DISK", bus: "SCSI", boot: 3, size: 3158016},
                     {type: "CD_ROM", bus: "IDE", boot: 4},
                     {type: "DISK", bus: "VIRTIO", boot: 1, size: 1050112}],
             nics: [{vlan: "prod", model: "VIRTIO"}, {vlan: "backup-net", model: "E1000"}]}])}' >"$T/scenario.json"
start_backup_sim "$T/scenario.json"
db=$(vm_ids "db server 01")
# night_data N: what each night finds on db server 01 and odd's disk 2.
night_data() {
    sim_admin disk-write "{\"vm\":\"db server 01\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":$1,\"length\":1048576}}" >/dev/null
    sim_admin disk-write "{\"vm\":\"odd\",\"disk\":2,\"offset\":4096,\"random\":{\"seed\":$((100 + $1)),\"length\":65536}}" >/dev/null
}

R=$T/repo S=$T/state/nightly
"$T/p/bin/zadp-repo" --repo "$R" init >/dev/null
ETC=$T/etc CREDS=$T/creds
install -d -m 700 "$ETC" "$CREDS"
printf '%s\n' "$CLOUDTOWER_TOKEN" >"$CREDS/cloudtower-token"
chmod 400 "$CREDS/cloudtower-token"  # as LoadCredential= leaves it
# night TIME [WHERE]: the unit's ExecStart for the night at TIME (UTC) with
# its own EnvironmentFile; the output in $T/night-TIME.log; returns the
# job's status.
night() {
    local conf=$ETC/nightly-$1.conf where='{"cluster":{"name":"c1"}}' rc=0
    [ $# -lt 2 ] || where=$2
    install -m 600 /dev/null "$conf"
    cat >"$conf" <<CONF
CLOUDTOWER_ENDPOINT=$SIM_URL
WHERE='$where'
REPO=$R
STATE_DIRECTORY=$S
BACKUP_TIME=$1
KEEP_DAILY=7
CONF
    run_exec_start "$svc" nightly "$conf" "$CREDS" || rc=$?
    cp "$T/job.log" "$T/night-$1.log"
    return $rc
}
report() { make -f "$EXAMPLES/Makefile" BINDIR="$T/p/bin" STATE_DIR="$S" report 2>&1; }
# report_has GREP-ARGS...: the report matches. The report is read whole
# first: grep -q on a pipe quits at the first match and make, still
# writing, would die of SIGPIPE and fail the pipeline (pipefail).
report_has() { local out; out=$(report); grep "$@" <<<"$out"; }
export ZADP_REPO=$R PATH=$T/p/bin:$PATH

# Sunday: a typo in the selection.
rc=0; night 2026-11-22T020000Z '{"cluster":{"name":"c-1"}}' || rc=$?
[ $rc -ne 0 ] || die "a selection that matches no VM succeeded"
grep -q "selects no VM, so nothing would be backed up" "$T/night-2026-11-22T020000Z.log" ||
    die "the typo is not named: $(cat "$T/night-2026-11-22T020000Z.log")"
[ -z "$(zadp-repo ls)" ] || die "the typo'd night stored something"
report_has -q 'run 2026-11-22 .*FAILED: ' || die "the report does not show Sunday's failed run: $(report)"

# Monday: every VM.
night_data 1
sha_mon_odd2=$(sim_admin digest '{"vm":"odd","disk":2}' | jq -r .sha256)
night 2026-11-23T020000Z || die "Monday failed: $(cat "$T/night-2026-11-23T020000Z.log")"
grep -q 'summary: run 2026-11-23 .*: 5 VM(s): 5 ok, 0 partial, 0 failed' "$T/night-2026-11-23T020000Z.log" ||
    die "Monday's summary: $(cat "$T/night-2026-11-23T020000Z.log")"
grep -Fq 'OK       "db server 01"' "$T/night-2026-11-23T020000Z.log" || die "the summary does not name \"db server 01\""
# Every line of the job's log carries its time.
! grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{4} ' "$T/night-2026-11-23T020000Z.log" ||
    die "log lines without a time stamp (above)"

# Tuesday: one VM's snapshot fails; the rerun the same morning redoes it alone.
night_data 2
sha_tue=$(sim_admin digest '{"vm":"db server 01","disk":0}' | jq -r .sha256)
sim_admin faults '{"op":"create-vm-snapshot","count":1,"fail_task":true}' >/dev/null
rc=0; night 2026-11-24T020000Z || rc=$?
[ $rc -ne 0 ] || die "Tuesday's job succeeded with a failed VM"
grep -q ': 5 VM(s): 4 ok, 0 partial, 1 failed' "$T/night-2026-11-24T020000Z.log" || die "Tuesday's summary: $(cat "$T/night-2026-11-24T020000Z.log")"
failed=$(jq -r 'select(.run == "2026-11-24" and .result == "failed") | .vm.name' "$S/runs.jsonl")
[ -n "$failed" ] || die "runs.jsonl has no failed VM for Tuesday"
report_has -Fq "failed: \"$failed\"" || die "make report does not name $failed: $(report)"
night 2026-11-24T080000Z || die "Tuesday's rerun failed: $(cat "$T/night-2026-11-24T080000Z.log")"
backed=$(jq -r 'select(.run == "2026-11-24" and .time == "2026-11-24T080000Z" and .note == null) | .vm.name' "$S/runs.jsonl")
[ "$backed" = "$failed" ] || die "the rerun backed up '$backed', wanted only '$failed'"
[ "$failed" = "db server 01" ] || sha_tue_backup=2026-11-24T020000Z
[ "$failed" != "db server 01" ] || sha_tue_backup=2026-11-24T080000Z

# Wednesday: a second run while the night's run is still going. The first
# stops itself at a disk read (a zadp-read first in BINDIR does it).
night_data 3
mkdir -p "$T/realbin"
mv "$T/p/bin/zadp-read" "$T/realbin/zadp-read"
PATH=$T/realbin:$PATH arm_disk_reader 0
ln -s "$T/shim/zadp-read" "$T/p/bin/zadp-read"
( T=$T/wed-first; mkdir -p "$T"; night 2026-11-25T020000Z ) &
first=$!
on_exit "kill $first 2>/dev/null"
reader=$(disk_reader "$first" 0)
rc=0; ( T=$T/wed-second; mkdir -p "$T"; night 2026-11-25T021500Z ) || rc=$?
log=$T/wed-second/night-2026-11-25T021500Z.log
[ $rc -ne 0 ] && grep -q 'another run into repo:.* is still going (pid [0-9]*, started ' "$log" ||
    die "the second run was not refused (exit $rc): $(cat "$log")"
[ -z "$(zadp-repo ls | jq -r .backup | grep 2026-11-25T021500Z)" ] || die "the refused run stored something"
kill -CONT "$reader"
wait "$first" || die "Wednesday's run failed: $(cat "$T/wed-first/night-2026-11-25T020000Z.log")"
grep -q ': 5 VM(s): 5 ok' "$T/wed-first/night-2026-11-25T020000Z.log" || die "Wednesday: $(cat "$T/wed-first/night-2026-11-25T020000Z.log")"
report_has -q 'FAILED: another run into .* is still going' || die "the report does not show the refused run: $(report)"

# Thursday morning: Tuesday's db server 01 onto c2, by name and date.
restore_vm() { "$EXAMPLES/restore-vm.sh" --at "2026-11-24 12:00" --cluster c2 --name 'dr-{name}' "$@" "repo:db server 01"; }
rc=0; restore_vm --map-vlan prodd=dr-net >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q "map-vlan prodd=dr-net: the backup has no NIC on a VLAN named (or with id) 'prodd'" "$T/err" ||
    die "a VLAN typo: exit $rc: $(cat "$T/err")"
[ "$(sim_api get-vms '{"where":{"cluster":{"name":"c2"}}}' | jq length)" -eq 0 ] || die "a VM was made on c2 for a refused restore"
restore_vm --map-vlan prod=dr-net >"$T/summary.json" 2>"$T/err" || die "the restore onto c2 failed: $(cat "$T/err")"
jq -e --arg b "$db/$sha_tue_backup" '.verified and .vm.cluster.name == "c2" and (.backup | contains($b))' "$T/summary.json" >/dev/null ||
    die "summary: $(cat "$T/summary.json") (wanted $db/$sha_tue_backup)"
[ "$(sim_admin digest '{"vm":"dr-db server 01","disk":0}' | jq -r .sha256)" = "$sha_tue" ] ||
    die "the VM restored on c2 does not hold Tuesday's data"
hci-vm-get --name "dr-db server 01" --full | jq -e '[.vm_nics[].vlan.name] == ["dr-net"]' >/dev/null || die "the NIC is not on dr-net"

# odd's disk 2 (its second data disk, between the CD-ROMs) to a file, by
# VM name and date: Monday's, equal by SHA-256 to what the VM held then.
"$EXAMPLES/restore-disk.sh" --sha256 --at "2026-11-23 23:00" "repo:odd/disk2" "$T/odd2.img" >"$T/line" 2>"$T/err" ||
    die "restore-disk.sh: $(cat "$T/err")"
[ "$(sha256sum <"$T/odd2.img" | cut -d' ' -f1)" = "$sha_mon_odd2" ] || die "odd's disk 2 of Monday does not match by SHA-256"
jq -e --arg s "$sha_mon_odd2" 'tostring | contains($s)' "$T/line" >/dev/null || die "restore-disk.sh --sha256 did not print it: $(cat "$T/line")"
zadp-repo check --read-data >"$T/check" 2>&1 || die "check --read-data: $(cat "$T/check")"
echo OK
