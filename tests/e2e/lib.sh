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
# SIM_WAIT_SECONDS (default 10) for the simulator to come up.
start_sim() {
    require_tools hci-sim
    local args=("$@")
    local have_scenario=0 a
    for a in "${args[@]}"; do [ "$a" = "--scenario" ] && have_scenario=1; done
    [ $have_scenario -eq 1 ] || args+=(--scenario "$HCI_SOURCE_DIR/tests/fixtures/scenario-basic.json")
    mkdir -p "$T/sim"
    hci-sim --state "$T/sim" --listen 127.0.0.1:0 "${args[@]}" >"$T/sim.out" 2>"$T/sim.err" &
    SIM_PID=$!
    local i
    for i in $(seq $((${SIM_WAIT_SECONDS:-10} * 10))); do
        SIM_URL=$(head -n 1 "$T/sim.out" 2>/dev/null || true)
        [ -n "$SIM_URL" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$T/sim.err" >&2; die "hci-sim exited early"; }
        sleep 0.1
    done
    [ -n "$SIM_URL" ] || die "hci-sim printed no URL"
    export SIM_URL CLOUDTOWER_ENDPOINT="$SIM_URL"
    # The first login names the cause if the simulator went away after
    # printing its URL (seen rarely on a loaded machine) instead of a bare
    # curl error; it tries a few times in case the connection was refused.
    CLOUDTOWER_TOKEN=""
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
