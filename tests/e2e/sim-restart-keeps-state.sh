#!/bin/bash
# hci-sim: state (VMs, snapshots, LUN snapshots, tasks, tokens, volume data)
# survives a restart, and the scenario is not applied a second time (which
# hci-sim says on stderr).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 50

sim_admin disk-write '{"vm":"web01","disk":0,"offset":1048576,"random":{"seed":42,"length":65536}}' >/dev/null
vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
snap=$(sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"keep-me\",\"consistent_type\":\"CRASH_CONSISTENT\"}]}")
task=$(jq -r '.[0].task_id' <<<"$snap")
lun_snap=$(jq -r '.[0].data.vm_disks[0].snapshot_local_id' <<<"$snap")
sleep 0.2
before_vms=$(sim_api get-vms '{"orderBy":"id_ASC"}' | jq -c 'map(.id)')
before_digest=$(sim_admin digest "{\"lun_snapshot\":\"$lun_snap\"}" | jq -r .sha256)
live_digest=$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)
token=$CLOUDTOWER_TOKEN

kill -TERM "$SIM_PID"
for _ in $(seq 100); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SIM_PID" 2>/dev/null && die "hci-sim did not stop on SIGTERM"
wait "$SIM_PID" 2>/dev/null || true
ls "$T"/sim/state/*.tmp 2>/dev/null && die "temporary state files left behind"

start_sim --no-tgtd --task-duration 50
grep -q -- "--scenario .* not applied: $T/sim already holds a simulator state" "$T/sim.err" ||
    die "a scenario ignored on a restart goes unsaid: $(cat "$T/sim.err")"
CLOUDTOWER_TOKEN=$token  # the old token must still be valid
after_vms=$(sim_api get-vms '{"orderBy":"id_ASC"}' | jq -c 'map(.id)')
[ "$before_vms" = "$after_vms" ] || die "VMs changed across restart (scenario applied twice?)"
sim_api get-vm-snapshots '{"where":{"name":"keep-me"}}' | jq -e 'length == 1' >/dev/null || die "snapshot lost"
sim_api get-tasks "{\"where\":{\"id\":\"$task\"}}" | jq -e '.[0].status == "SUCCESSED"' >/dev/null || die "task lost"
[ "$(sim_admin digest "{\"lun_snapshot\":\"$lun_snap\"}" | jq -r .sha256)" = "$before_digest" ] ||
    die "LUN snapshot data changed across restart"
[ "$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)" = "$live_digest" ] ||
    die "volume data changed across restart"
echo "ok"
