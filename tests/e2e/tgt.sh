# Sourced by the iSCSI scenarios after lib.sh: a private tgtd on a loopback
# portal, configured with tgtadm, stopped (or SIGKILLed) by its pid.
#   tgt_start                      starts tgtd; sets TGT_PID, TGT_CTL, TGT_PORT
#   tgt_add_lun TID IQN FILE [ACL] target TID with thin LUN 1 backed by FILE;
#                                  ACL is ALL (default) or one initiator IQN
#   tgt_chap TID USER PASSWORD     requires CHAP for target TID
#   tgt_url IQN [USER]             iscsi://[USER@]127.0.0.1:PORT/IQN/1
#   tgt_kill9                      SIGKILL, for "target died" scenarios
#   tgt_one_lun NAME SIZE [FILL [ACL]]  tgt_start, then target 1
#                                  iqn.2026-11.io.hci-backup.test:NAME (sets IQN,
#                                  URL) whose LUN is $T/lun.img of SIZE, sparse
#                                  (FILL "sparse", default) or "random"
#   tgt_read_during URL FAULT...   zadp-read URL | zadp-write $T/out.img with FAULT
#                                  run while the read is mid-LUN; leaves
#                                  $T/{read,write}.{rc,err}
#   tgt_read_cut FAULT...          tgt_read_during $URL FAULT, then asserts the
#                                  read failed with exit 7 and left no image
# Skips the scenario (exit 77) without root or tgt.

TGT_PID=""
TGT_CTL=""
TGT_PORT=""
TGT_TIDS=()

tgt_adm() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }

tgt_start() {
    require_root_and_tgt
    command -v python3 >/dev/null || skip "python3 needed to pick a free port"
    TGT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # tgtadm accepts control ports up to 32767; avoid ones in use.
    while :; do
        TGT_CTL=$((20000 + RANDOM % 12000))
        [ -e "/var/run/tgtd/socket.$TGT_CTL" ] || break
    done
    tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$T/tgtd.log" 2>&1 &
    TGT_PID=$!
    on_exit tgt_stop
    local i
    for i in $(seq 100); do
        tgt_adm --op show --mode sys >/dev/null 2>&1 && return 0
        kill -0 "$TGT_PID" 2>/dev/null || { cat "$T/tgtd.log" >&2; die "tgtd exited early"; }
        sleep 0.05
    done
    die "tgtd did not answer on control port $TGT_CTL"
}

tgt_add_lun() {
    local tid=$1 iqn=$2 file=$3 acl=${4:-ALL}
    tgt_adm --op new --mode target --tid "$tid" -T "$iqn"
    TGT_TIDS+=("$tid")
    tgt_adm --op new --mode logicalunit --tid "$tid" --lun 1 -b "$file"
    # tgt 1.0.85 takes thin_provisioning only as an update, not on "new".
    tgt_adm --op update --mode logicalunit --tid "$tid" --lun 1 --params thin_provisioning=1
    if [ "$acl" = ALL ]; then
        tgt_adm --op bind --mode target --tid "$tid" --initiator-address ALL
    else
        tgt_adm --op bind --mode target --tid "$tid" --initiator-name "$acl"
    fi
}

tgt_chap() {
    tgt_adm --op new --mode account --user "$2" --password "$3"
    tgt_adm --op bind --mode account --tid "$1" --user "$2"
}

tgt_one_lun() {
    tgt_start
    IQN=iqn.2026-11.io.hci-backup.test:$1
    if [ "${3:-sparse}" = random ]; then head -c "$2" /dev/urandom >"$T/lun.img"; else truncate -s "$2" "$T/lun.img"; fi
    tgt_add_lun 1 "$IQN" "$T/lun.img" "${4:-ALL}"
    URL=$(tgt_url "$IQN")
}

tgt_url() { echo "iscsi://${2:+$2@}127.0.0.1:$TGT_PORT/$1/1"; }

_tgt_forget() {
    rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
    TGT_PID=""
}

tgt_kill9() {
    [ -n "$TGT_PID" ] || return 0
    kill -KILL "$TGT_PID" 2>/dev/null || true
    wait "$TGT_PID" 2>/dev/null || true
    _tgt_forget
}

# tgtd ignores SIGTERM while targets exist and refuses to delete the system
# while they have LUNs: offline, delete the targets, delete the system.
tgt_stop() {
    [ -n "$TGT_PID" ] || return 0
    if kill -0 "$TGT_PID" 2>/dev/null; then
        tgt_adm --op update --mode sys --name State -v offline >/dev/null 2>&1 || true
        local tid i
        for tid in "${TGT_TIDS[@]}"; do tgt_adm --op delete --mode target --tid "$tid" --force >/dev/null 2>&1 || true; done
        tgtadm -C "$TGT_CTL" --op delete --mode system >/dev/null 2>&1 || true
        for i in $(seq 100); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$TGT_PID" 2>/dev/null || true
    fi
    wait "$TGT_PID" 2>/dev/null || true
    _tgt_forget
}

tgt_read_during() {
    local url=$1
    shift
    # The late consumer holds zadp-read in the middle of the LUN (blocked on
    # the full pipe) while the fault happens; its next reads must fail, not
    # end the stream. Events, not sleeps: the fault comes once the pipe holds
    # LUN data (64 KiB waiting: more than the stream header), and the
    # consumer starts reading only after the fault.
    rm -f "$T/consume" "$T/ready"
    mkfifo "$T/consume"
    {
        rc=0
        zadp-read --source "$url" 2>"$T/read.err" || rc=$?
        echo $rc >"$T/read.rc"
    } | {
        python3 -c 'import fcntl, struct, sys, termios, time
for _ in range(6000):
    if struct.unpack("i", fcntl.ioctl(0, termios.FIONREAD, b"0000"))[0] >= 65536:
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)' && touch "$T/ready"
        read -r _ <"$T/consume" || true
        rc=0
        zadp-write --target "$T/out.img" 2>"$T/write.err" || rc=$?
        echo $rc >"$T/write.rc"
    } &
    local pipe=$!
    on_exit "kill $pipe 2>/dev/null"  # a consumer still waiting to be let go
    for _ in $(seq 600); do
        [ -e "$T/ready" ] && break
        kill -0 "$pipe" 2>/dev/null || break
        sleep 0.1
    done
    [ -e "$T/ready" ] || { cat "$T/read.err" >&2; die "zadp-read never got into the LUN"; }
    "$@"
    echo go >"$T/consume"
    wait "$pipe" || true
    for _ in $(seq 600); do [ -s "$T/read.rc" ] && break; sleep 0.1; done
    cat "$T/read.err" "$T/write.err" >&2
}

tgt_read_cut() {
    tgt_read_during "$URL" "$@"
    [ "$(cat "$T/read.rc")" -eq 7 ] || die "zadp-read exited $(cat "$T/read.rc"), expected 7 (I/O error)"
    [ "$(cat "$T/write.rc")" -ne 0 ] || die "zadp-write accepted a cut stream"
    [ ! -e "$T/out.img" ] || die "a file target appeared at its final name"
}
