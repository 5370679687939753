# Sourced by every end-to-end scenario (tests/e2e/*.sh, one scenario per file).
# Gives a private temp dir, a simulator on a free loopback port, and cleanup
# that stops only what this scenario started, by pid.
set -euo pipefail

T=$(mktemp -d "${TMPDIR:-/tmp}/hci-e2e.XXXXXX")
SIM_PID=""
_cleanup_hooks=()

on_exit() { _cleanup_hooks+=("$1"); }

_cleanup() {
    local rc=$?
    local i
    for ((i = ${#_cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${_cleanup_hooks[$i]}" || true; done
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SIM_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# expect_exit CODE CMD... : runs CMD, fails the test unless it exits with CODE.
expect_exit() {
    local want=$1; shift
    local got=0
    "$@" || got=$?
    [ "$got" -eq "$want" ] || die "expected exit $want, got $got: $*"
}

# expect_fail CODE CMD...: runs CMD with its stdout in $T/out and its stderr
# in $T/err; fails the test, showing that stderr, unless CMD exits with CODE.
expect_fail() {
    local want=$1; shift
    local got=0
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq "$want" ] || die "expected exit $want, got $got: $*: $(cat "$T/err")"
}

# await_url WHAT PID OUT ERR [SECONDS]: prints the first line of OUT, the URL
# a server started in the background (PID) prints when it is ready, waiting
# up to SECONDS (default 60: generous, since a loaded machine starts slowly
# and the wait ends as soon as the URL is there); fails, showing ERR, when
# the server exits first.
await_url() {
    local what=$1 pid=$2 out=$3 err=$4 url i
    for i in $(seq $((${5:-60} * 10))); do
        url=$(head -n 1 "$out" 2>/dev/null || true)
        [ -n "$url" ] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; die "$what exited early"; }
        sleep 0.1
    done
    die "$what printed no URL"
}

# require_tools TOOL...: fails (not skips) the scenario when one of our tools
# is not built: a scenario that cannot find what it tests must not pass.
require_tools() {
    local t
    for t in "$@"; do command -v "$t" >/dev/null || die "$t is not built (run make)"; done
}

# require_pipeline: the whole backup pipeline on a simulator with tgtd.
require_pipeline() {
    require_root_and_tgt
    require_tools hci-sim hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-lun-export \
        hci-lun-unexport hci-snap-delete zadp-read zadp-write
}

require_root_and_tgt() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to run tgtd"
    command -v tgtd >/dev/null || skip "tgtd not installed (Debian package tgt)"
    command -v tgtadm >/dev/null || skip "tgtadm not installed (Debian package tgt)"
}

# start_sim [hci-sim options...]: starts hci-sim with its state in $T/sim,
# waits for its base URL, logs in as admin and exports CLOUDTOWER_ENDPOINT,
# CLOUDTOWER_TOKEN and SIM_URL. The default scenario is
# tests/fixtures/scenario-basic.json unless --scenario is given. It waits
# SIM_WAIT_SECONDS (default 60) for the simulator to come up.
start_sim() {
    require_tools hci-sim
    local args=("$@")
    local have_scenario=0 a
    for a in "${args[@]}"; do [ "$a" = "--scenario" ] && have_scenario=1; done
    [ $have_scenario -eq 1 ] || args+=(--scenario "$HCI_SOURCE_DIR/tests/fixtures/scenario-basic.json")
    mkdir -p "$T/sim"
    # Emptied here, not by the child's redirection: on a restart a loaded
    # machine may let await_url read the previous simulator's URL first.
    : >"$T/sim.out"
    : >"$T/sim.err"
    hci-sim --state "$T/sim" --listen 127.0.0.1:0 "${args[@]}" >"$T/sim.out" 2>"$T/sim.err" &
    SIM_PID=$!
    SIM_URL=$(await_url hci-sim "$SIM_PID" "$T/sim.out" "$T/sim.err" "${SIM_WAIT_SECONDS:-60}")
    export SIM_URL CLOUDTOWER_ENDPOINT="$SIM_URL"
    # The first login names the cause if the simulator went away after
    # printing its URL (seen rarely on a loaded machine) instead of a bare
    # curl error; it tries a few times in case the connection was refused.
    CLOUDTOWER_TOKEN=""
    local i
    for i in $(seq 20); do
        CLOUDTOWER_TOKEN=$(sim_login admin "${SIM_PASSWORD:-admin-password}" 2>"$T/login.err") && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$T/sim.err" >&2; die "hci-sim (pid $SIM_PID) exited after printing $SIM_URL"; }
        sleep 0.2
    done
    [ -n "${CLOUDTOWER_TOKEN:-}" ] || { cat "$T/login.err" "$T/sim.err" >&2; die "cannot log in to hci-sim at $SIM_URL"; }
    export CLOUDTOWER_TOKEN
}

# sim_require_tgtd: skips the scenario when the simulator runs without its
# data plane (tgtd could not start).
sim_require_tgtd() {
    sim_admin state | jq -e '.portal != null' >/dev/null || skip "hci-sim could not start tgtd: $(cat "$T/sim.err")"
}

sim_login() {
    curl -fsS -X POST -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$SIM_URL/v2/api/login" | jq -r .data.token
}

# sim_api OP JSON: calls a CloudTower operation on the simulator.
sim_api() {
    curl -fsS -X POST -H 'content-type: application/json' -H "Authorization: $CLOUDTOWER_TOKEN" \
        -d "$2" "$SIM_URL/v2/api/$1"
}

# sim_admin PATH [JSON]: calls a /_sim/ admin endpoint (POST with JSON, else GET).
sim_admin() {
    if [ $# -ge 2 ]; then
        curl -fsS -X POST -H 'content-type: application/json' -d "$2" "$SIM_URL/_sim/$1"
    else
        curl -fsS "$SIM_URL/_sim/$1"
    fi
}

# ---- backup scenarios (examples/backup-vm.sh on the simulator) ----

# backup_scenario VMS [jq options...]: writes $T/scenario.json: user admin,
# cluster c1, the target backup-tgt open to every initiator, and the VMs the
# jq expression VMS makes (it may use variables the jq options define).
backup_scenario() {
    local vms=$1
    shift
    jq -n "$@" '{users: [{username: "admin", password: "admin-password"}], clusters: [{name: "c1"}],
        iscsi_targets: [{name: "backup-tgt", cluster: "c1", iqn_whitelist: "*"}], vms: ('"$vms"')}' >"$T/scenario.json"
}

# start_backup_sim [SCENARIO [TASK_MS]]: the whole pipeline on hci-sim with
# tgtd (or skip), on SCENARIO (default examples/demo-scenario.json), tasks
# lasting TASK_MS (default 50).
start_backup_sim() {
    require_pipeline
    start_sim --scenario "${1:-$HCI_SOURCE_DIR/examples/demo-scenario.json}" --task-duration "${2:-50}"
    sim_require_tgtd
}

# start_two_disk_sim VM [TASK_MS [EXTRA_DISKS]]: start_backup_sim with one
# running VM whose disk 0 (8 MiB) holds 1 MiB of random data and whose disk 1
# (160 MiB) is full of it, so that reading disk 1 takes a while; EXTRA_DISKS
# is a JSON array of more disks.
start_two_disk_sim() {
    local vm=$1
    backup_scenario '[{name: $vm, cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING",
        vm_tools_status: "RUNNING", disks: ([{type: "DISK", bus: "VIRTIO", size: 8388608},
                                             {type: "DISK", bus: "VIRTIO", size: 167772160}] + $extra)}]' \
        --arg vm "$vm" --argjson extra "${3:-[]}"
    start_backup_sim "$T/scenario.json" "${2:-50}"
    sim_admin disk-write "{\"vm\":\"$vm\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":1,\"length\":1048576}}" >/dev/null
    sim_admin disk-write "{\"vm\":\"$vm\",\"disk\":1,\"offset\":0,\"random\":{\"seed\":2,\"length\":167772160}}" >/dev/null
}

# backup_vm [backup-vm.sh arguments...]: runs examples/backup-vm.sh with its
# stderr in $T/backup.err (shown); fails the scenario when the backup fails.
backup_vm() {
    local rc=0
    "$HCI_SOURCE_DIR/examples/backup-vm.sh" "$@" 2>"$T/backup.err" || rc=$?
    cat "$T/backup.err" >&2
    [ $rc -eq 0 ] || die "backup-vm.sh $* failed (exit $rc)"
}

# backup_job [backup-vm.sh arguments...]: runs examples/backup-vm.sh in the
# background in its own process group, like a job started from a terminal, so
# that a signal reaches the script and its children as a Ctrl-C would; sets
# BACKUP_PID; its stderr goes to $T/backup.err.
backup_job() {
    set -m
    "$HCI_SOURCE_DIR/examples/backup-vm.sh" "$@" 2>"$T/backup.err" &
    BACKUP_PID=$!
    set +m
    on_exit 'kill -KILL -$BACKUP_PID 2>/dev/null'
}

# signal_backup_job SIGNAL: sends SIGNAL to the backup_job's process group,
# then SIGCONT (a reader disk_reader left stopped gets it then), waits for
# the script and shows its stderr; sets BACKUP_RC.
signal_backup_job() {
    kill "-$1" -- "-$BACKUP_PID"
    kill -CONT -- "-$BACKUP_PID" 2>/dev/null || true
    BACKUP_RC=0
    wait "$BACKUP_PID" 2>/dev/null || BACKUP_RC=$?
    cat "$T/backup.err" >&2
}

# manifest_is FILE CONDITION: the backup manifest FILE satisfies the jq CONDITION.
manifest_is() { jq -e "$2" "$1" >/dev/null || die "the manifest $1 is not $2: $(jq -c . "$1")"; }

# descendants PID NAME: the pids of the processes called NAME that descend
# from PID (children or deeper: backup-vm.sh runs its tools in pipelines
# whose stderr goes through tee).
# Walks down from PID, so that its cost is the size of that tree, not the
# number of NAME processes other tests run at the same time on a loaded
# machine (walking up from each took seconds and missed short reads).
descendants() {
    local queue=("$1") p c
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        for c in $(pgrep -P "$p" || true); do
            queue+=("$c")
            [ "$(cat "/proc/$c/comm" 2>/dev/null)" != "$2" ] || echo "$c"
        done
    done
}

# arm_disk_reader INDEX: the next zadp-read that reads disk INDEX (zadp-read
# --line LINE, as backup-vm.sh runs it) stops itself before it reads a byte,
# so that disk_reader finds it while disk INDEX is being read however fast
# or slow the machine is (polling for a running reader raced a fast read).
# A zadp-read first in PATH does it, once; every other call goes straight
# to the real one.
arm_disk_reader() {
    local real
    real=$(command -v zadp-read)
    mkdir -p "$T/shim"
    cat >"$T/shim/zadp-read" <<EOF
#!/bin/bash
if [ "\${1:-}" = --line ] && [ -e "$T/shim/armed" ] &&
    jq -e --argjson i "$1" '.disk.index == \$i' <<<"\${2:-}" >/dev/null 2>&1 &&
    mv "$T/shim/armed" "$T/shim/fired" 2>/dev/null; then
    echo \$\$ >"$T/shim/pid"
    kill -STOP \$\$
fi
exec "$real" "\$@"
EOF
    chmod +x "$T/shim/zadp-read"
    rm -f "$T/shim/pid" "$T/shim/fired"
    touch "$T/shim/armed"
    export PATH="$T/shim:$PATH"
}

# disk_reader BACKUP_PID INDEX: after arm_disk_reader INDEX, waits until the
# backup (its pid) has started the zadp-read of disk INDEX, which stopped
# itself before reading; prints its pid. SIGCONT lets it read (it becomes
# the real zadp-read, same pid); signal_backup_job sends SIGCONT after its
# signal. A generous bound only ends a hang.
disk_reader() {
    local p=""
    [ -e "$T/shim/armed" ] || [ -e "$T/shim/fired" ] || die "disk_reader without arm_disk_reader $2"
    for _ in $(seq 3000); do
        p=$(cat "$T/shim/pid" 2>/dev/null || true)
        if [ -n "$p" ] && [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" = T ]; then
            echo "$p"
            return 0
        fi
        kill -0 "$1" 2>/dev/null || { cat "$T/backup.err" >&2; die "the backup ended before disk $2 was read"; }
        sleep 0.1
    done
    die "never saw zadp-read reading disk $2"
}

# vm_snapshots [ID]: how many VM snapshots there are (with that id).
vm_snapshots() {
    if [ $# -ge 1 ]; then sim_api get-vm-snapshots "$(jq -nc --arg id "$1" '{where: {id: $id}}')" | jq length
    else sim_api get-vm-snapshots '{}' | jq length; fi
}

# backup_target_luns: how many LUNs the target backup-tgt exports.
backup_target_luns() { sim_api get-iscsi-luns '{"where":{"iscsi_target":{"name":"backup-tgt"}}}' | jq length; }
