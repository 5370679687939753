#!/bin/bash
# hci-sim cleans up after itself and guards its state: tgtd's control socket
# and its lock file (/run/tgtd/socket.N, socket.N.lock) are gone after hci-sim
# stops, and a second hci-sim on the same --state directory exits 3 naming the
# first one's pid, without touching that state.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
start_sim
control=$(sim_admin state | jq -r .tgtd_control_port)
[ "$control" != null ] || skip "hci-sim could not start tgtd: $(cat "$T/sim.err")"
[ -S "/run/tgtd/socket.$control" ] || die "no control socket /run/tgtd/socket.$control while running"

before=$(sha256sum "$T"/sim/state/* | sha256sum)
rc=0
timeout 60 hci-sim --state "$T/sim" --listen 127.0.0.1:0 --no-tgtd >"$T/second.out" 2>"$T/second.err" || rc=$?
[ "$rc" -eq 3 ] || die "a second hci-sim on the same state exited $rc, not 3: $(cat "$T/second.err")"
grep -q "in use by hci-sim pid $SIM_PID" "$T/second.err" || die "the message does not name pid $SIM_PID: $(cat "$T/second.err")"
[ "$(sha256sum "$T"/sim/state/* | sha256sum)" = "$before" ] || die "the second hci-sim changed the state"
sim_api get-vms '{}' >/dev/null || die "the first hci-sim stopped answering"

kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
for f in "/run/tgtd/socket.$control" "/run/tgtd/socket.$control.lock"; do
    [ ! -e "$f" ] || die "$f left behind after hci-sim stopped"
done

# The lock goes with the process: the state directory is usable again.
start_sim --no-tgtd
sim_api get-vms '{}' | jq -e 'length > 0' >/dev/null || die "restarted hci-sim lost its VMs"
echo ok
