#!/bin/bash
# demo.sh [options] [BINDIR]: a whole backup and restore against hci-sim, in
# a fresh temporary directory, verified:
#   1. start hci-sim (which starts its own tgtd) with the VM demo-vm: two data
#      disks and a CD-ROM; put a real ext4 file system with files on each disk;
#   2. two nightly backups with examples/backup-vm.sh into a new repository
#      (zadp-repo init): night 1 stores every chunk, then 64 KiB of a file on
#      disk 0 are rewritten in place (as a database page would be), and night
#      2 stores only the chunk that holds them (new vs reused bytes printed);
#   3. examples/restore-disk.sh every disk of night 2 from the repository
#      (repo:ID/TIME/diskN) into a new iSCSI LUN (or into files with
#      --restore-to files), and night 1's disk 0 into a file;
#   4. check each restored disk byte for byte against the simulator's digest of
#      the snapshot it came from, read it back and run e2fsck -fn on it, and
#      compare a file inside it with that night's;
#   5. with LUNs: bring the whole VM back (repo:ID/TIME of night 2) with
#      examples/restore-vm.sh as
#      demo-vm-dr on the second cluster c2 (VLAN vm-net mapped to dr-net, MACs
#      kept), check every disk (digest of the snapshot, e2fsck -fn, a file) and
#      compare its configuration (vCPUs, memory, disk sizes, buses and boot
#      order, NICs' VLANs and MACs) with demo-vm's;
#   6. copy a file out of night 1's disk without restoring it (restore-files.sh:
#      the disk served over NBD by zadp-repo serve), where nbdkit is installed;
#   7. print a summary table, stop everything it started, remove its files.
# Ctrl-C cleans up. Exits non-zero if anything fails or does not verify.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
usage() {
    cat <<EOF
usage: $prog [--disk-mib A,B] [--restore-to luns|files] [--summary-json FILE] [--keep] [BINDIR]

  BINDIR               where the tools are (default: the build's bin, or PATH)
  --disk-mib A,B       sizes of demo-vm's two data disks in MiB (default 256,128)
  --restore-to WHERE   luns (default when tgtd runs) or files
  --summary-json FILE  also write the summary as JSON lines to FILE
  --keep               keep the temporary directory (it is printed)
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

disk_mib=${HCI_DEMO_DISK_MIB:-256,128}
restore_to=""
summary_json=""
keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --disk-mib) disk_mib=${2:?}; shift 2 ;;
        --restore-to) restore_to=${2:?}; shift 2 ;;
        --summary-json) summary_json=${2:?}; shift 2 ;;
        --keep) keep=1; shift ;;
        -h | --help) usage 0 ;;
        -?*) log "unknown option: $1"; usage 2 >&2 ;;
        *) break ;;
    esac
done
[ $# -le 1 ] || usage 2 >&2
if [ $# -eq 1 ]; then
    PATH="$(cd "$1" && pwd):$PATH"
elif [ -x "$here/../build/bin/hci-sim" ]; then
    PATH="$(cd "$here/../build/bin" && pwd):$PATH"
fi
export PATH
case $disk_mib in *[!0-9,]* | '' | *,*,*) log "--disk-mib wants two sizes in MiB, like 256,128"; exit 2 ;; esac
case $restore_to in '' | luns | files) ;; *) log "--restore-to is luns or files"; exit 2 ;; esac
for cmd in hci-sim hci-vm-get hci-vm-create hci-lun-admit zadp-read zadp-write zadp-repo jq curl zstd mke2fs e2fsck \
    debugfs dumpe2fs base64 sha256sum; do
    command -v "$cmd" >/dev/null || { log "$cmd not found; run 'make demo' (it builds and installs what is missing)"; exit 2; }
done

# --- the sandbox and its clean-up -------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/hci-demo.XXXXXX")
sim_pid=""
stop_simulator() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true        # hci-sim stops its tgtd
        for _ in $(seq 100); do kill -0 "$sim_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    sim_pid=""
}
cleanup() {
    local rc=$?
    trap '' INT TERM
    stop_simulator
    if [ $keep -eq 1 ]; then log "kept $W"; else rm -rf "$W"; fi
    case $rc in 0) ;; 130 | 143) log "interrupted; stopped everything it started" ;; *) log "FAILED (exit $rc)" ;; esac
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$W"

# --- 1. the simulator and the VM -------------------------------------------
d0=$((${disk_mib%,*} * 1048576))
d1=$((${disk_mib#*,} * 1048576))
jq --argjson d0 "$d0" --argjson d1 "$d1" \
    '(.vms[] | select(.name == "demo-vm") | .disks) |= [.[0] + {size: $d0}, .[1] + {size: $d1}, .[2]]' \
    "$here/demo-scenario.json" >scenario.json

# start_simulator: starts hci-sim in ./sim and sets url; fails if it dies.
# In its own session, so that a Ctrl-C reaches the demo's scripts (whose traps
# still need the API to clean up) and not the simulator; cleanup stops it.
start_simulator() {
    rm -rf sim && mkdir sim
    setsid hci-sim --state sim --listen 127.0.0.1:0 --scenario scenario.json --task-duration 200 >sim.out 2>sim.err &
    sim_pid=$!
    url=""
    for _ in $(seq 150); do
        url=$(head -n 1 sim.out 2>/dev/null || true)
        [ -n "$url" ] && return 0
        kill -0 "$sim_pid" 2>/dev/null || { cat sim.err >&2; log "hci-sim exited early"; exit 1; }
        sleep 0.1
    done
    log "hci-sim printed no URL"
    exit 1
}
# data_plane_up: the simulator serves its LUNs over iSCSI (it has a portal).
data_plane_up() { curl -fsS "$url/_sim/state" | jq -e '.portal // "" | length > 0' >/dev/null; }

start_simulator
# Without root or tgt the simulator serves the API only, and nothing could
# read the disks. With them, a failed tgtd start is retried with a new
# simulator (it picks its tgtd control port afresh).
for attempt in 2 3; do
    data_plane_up && break
    [ "$(id -u)" -eq 0 ] && command -v tgtd >/dev/null || break
    log "hci-sim could not start tgtd ($(tail -n 1 sim.err)); trying again ($attempt/3)"
    stop_simulator
    start_simulator
done
if ! data_plane_up; then
    log "hci-sim serves no iSCSI (it needs root and the Debian package tgt): the backup could not read the disks"
    sed 's/^/  /' sim.err >&2
    exit 1
fi
export CLOUDTOWER_ENDPOINT=$url
# The token goes to a private file; the tools read it from there.
# (The password goes from the scenario file to curl's stdin, never into argv.)
(umask 077 && jq -c '.users[0] | {username, password}' scenario.json |
    curl -fsS -X POST -H 'content-type: application/json' --data-binary @- "$url/v2/api/login" |
    jq -r .data.token >token)
export CLOUDTOWER_TOKEN_FILE=$W/token
unset CLOUDTOWER_TOKEN CLOUDTOWER_USERNAME CLOUDTOWER_PASSWORD
log "hci-sim at $url (state in $W/sim)"

admin() { curl -fsS -X POST -H 'content-type: application/json' --data-binary @- "$url/_sim/$1" <<<"$2"; }

[ -n "$restore_to" ] || restore_to=luns

# Each data disk gets an ext4 file system with a few files, written straight
# into the volume file behind the disk (mke2fs -d needs no root).
mkdir seed
for i in 0 1; do
    mkdir "seed/$i"
    printf 'Hello from demo-vm disk %s, written %s.\n' "$i" "$(date -u)" >"seed/$i/hello.txt"
    mkdir "seed/$i/docs"
    cp /etc/os-release "seed/$i/docs/" 2>/dev/null || true
    head -c $((2 * 1048576)) /dev/urandom >"seed/$i/random.bin"
    seq 1 200000 >"seed/$i/numbers.txt"
    vol=$(admin volume-path "{\"vm\":\"demo-vm\",\"disk\":$i}" | jq -r .path)
    [ -f "$vol" ] || { log "no volume file for demo-vm disk $i"; exit 1; }
    mke2fs -F -q -t ext4 -L "demo-disk$i" -d "seed/$i" "$vol"
done
log "seeded demo-vm: two ext4 disks of ${disk_mib/,/ and } MiB"

# --- 2. two nightly backups into a repository --------------------------------
export ZADP_REPO=$W/repo
zadp-repo init >/dev/null
id=$(hci-vm-get --name demo-vm | jq -r .id)
night1_time=$(date -u -d yesterday +%Y-%m-%dT020000Z)
night2_time=$(date -u +%Y-%m-%dT020000Z)
# nightly NIGHT TIME: backs demo-vm up as repo:ID/TIME (the snapshot is kept,
# so that the restores can be compared with it) and records its figures.
nightly() {
    local t0 t1
    t0=$(date +%s.%N)
    "$here/backup-vm.sh" --keep-snapshot --time "$2" demo-vm
    t1=$(date +%s.%N)
    zadp-repo cat "$id/$2/backup.json" >"night$1.json"
    jq -e '.complete and (.disks | length == 2)' "night$1.json" >/dev/null ||
        { log "night $1's backup is incomplete: $(jq -c .failed_disks "night$1.json")"; exit 1; }
    jq -c --argjson night "$1" --arg seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
        '.backup as $b | .disks[] | {night: $night, backup: $b, disk: .index, size, data: .image.data_bytes,
         new_bytes: .repo.new_bytes, reused_bytes: .repo.reused_bytes, written: .repo.stored_bytes,
         seconds: ($seconds | tonumber)}' "night$1.json" >>nights.jsonl
}
: >nights.jsonl
nightly 1 "$night1_time"
cp seed/0/random.bin night1-random.bin

# Between the nights: 64 KiB in the middle of /random.bin on disk 0 are
# rewritten in place, straight into the volume (block by block, wherever the
# file system put them), and in the seed copy that the restore is compared
# with.
vol=$(admin volume-path '{"vm":"demo-vm","disk":0}' | jq -r .path)
bs=$(dumpe2fs -h "$vol" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
head -c 65536 /dev/urandom >change.bin
first=$((1048576 / bs))
for ((i = 0; i < 65536 / bs; i++)); do
    block=$(debugfs -R "bmap /random.bin $((first + i))" "$vol" 2>/dev/null)
    case $block in '' | *[!0-9]* | 0) log "cannot map block $((first + i)) of /random.bin"; exit 1 ;; esac
    admin disk-write "$(jq -nc --argjson off $((block * bs)) --arg data "$(dd if=change.bin bs="$bs" skip="$i" count=1 status=none | base64 -w0)" \
        '{vm: "demo-vm", disk: 0, offset: $off, data_base64: $data}')" >/dev/null
done
dd if=change.bin of=seed/0/random.bin bs=65536 seek=16 conv=notrunc status=none
log "rewrote 64 KiB of /random.bin on demo-vm's disk 0"
nightly 2 "$night2_time"
manifest=night2.json
backup_seconds=$(jq -s 'map(select(.night == 2) | .seconds) | max' nights.jsonl)

# --- 3 and 4. restore every disk and verify it --------------------------------
failures=0
: >summary.jsonl
while IFS= read -r disk <&3; do
    index=$(jq -r .index <<<"$disk")
    stream=repo:$(jq -r .repo.name <<<"$disk")
    snap_name=$(jq -r .lun_snapshot.name <<<"$disk")
    snap_digest=$(admin digest "$(jq -nc --arg s "$snap_name" '{lun_snapshot: $s}')")
    want=$(jq -r .sha256 <<<"$snap_digest")

    r0=$(date +%s.%N)
    if [ "$restore_to" = luns ]; then
        restored=$("$here/restore-disk.sh" --new-lun backup-tgt --lun-name "demo-restore-disk$index" "$stream")
        r1=$(date +%s.%N)
        lun=$(jq -r .lun.name <<<"$restored")
        got=$(admin digest "$(jq -nc --arg l "$lun" '{lun: $l}')" | jq -r .sha256)
        # Read the LUN back over iSCSI into a file for e2fsck and debugfs.
        zadp-read --source "$(jq -r .target <<<"$restored")" --format raw -o "check$index.img"
    else
        restored=$("$here/restore-disk.sh" "$stream" "$W/restored$index.img")
        r1=$(date +%s.%N)
        cp --sparse=always "restored$index.img" "check$index.img"
        got=$(sha256sum <"check$index.img" | cut -d' ' -f1)
    fi
    readback=$(sha256sum <"check$index.img" | cut -d' ' -f1)

    bytes_ok=false fsck_ok=false file_ok=false
    [ -n "$want" ] && [ "$got" = "$want" ] && [ "$readback" = "$want" ] && bytes_ok=true
    e2fsck -fn "check$index.img" >"fsck$index.log" 2>&1 && fsck_ok=true
    debugfs -R "cat /random.bin" "check$index.img" 2>/dev/null | cmp -s - "seed/$index/random.bin" && file_ok=true
    [ $bytes_ok = true ] && [ $fsck_ok = true ] && [ $file_ok = true ] || failures=$((failures + 1))
    [ $fsck_ok = true ] || sed 's/^/  e2fsck: /' "fsck$index.log" >&2
    rm -f "check$index.img"

    jq -c --argjson restored "$restored" --arg want "$want" --arg got "$got" --argjson snap "$snap_digest" \
        --argjson bytes_ok "$bytes_ok" --argjson fsck_ok "$fsck_ok" --argjson file_ok "$file_ok" \
        --argjson seconds "$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.1f", b - a }')" \
        --slurpfile nights nights.jsonl '
        .index as $i | ($nights | map(select(.disk == $i))) as $n |
        {vm: "demo-vm", disk: .index, size: .size,
         allocated: $snap.allocated, data: .image.data_bytes,
         night1_new_bytes: ($n[] | select(.night == 1) | .new_bytes),
         night2_new_bytes: .repo.new_bytes, night2_reused_bytes: .repo.reused_bytes,
         stored: .repo.stored_bytes, backup_seconds: ((.seconds // 0) * 10 | round / 10), restore_seconds: $seconds,
         restored_to: $restored.target, snapshot_sha256: $want, restored_sha256: $got,
         bytes_match: $bytes_ok, e2fsck_clean: $fsck_ok, file_matches: $file_ok,
         verified: ($bytes_ok and $fsck_ok and $file_ok)}' <<<"$disk" >>summary.jsonl
done 3< <(jq -c '.disks[]' "$manifest")

# --- 5. the whole VM again, on the second cluster -----------------------------
vm_restore=""
if [ "$restore_to" = luns ]; then
    v0=$(date +%s.%N)
    "$here/restore-vm.sh" --cluster c2 --name demo-vm-dr --map-vlan vm-net=dr-net --keep-mac "repo:$id/$night2_time" >vm-restore.json
    v1=$(date +%s.%N)
    hci-vm-get --name demo-vm --full >old.vm.json
    hci-vm-get --name demo-vm-dr --full >new.vm.json
    # The configuration, with the VLAN mapping applied to the original.
    shape='{vcpu, cpu, memory, firmware, disks: [.vm_disks[] | {index, type, bus, boot, size: .vm_volume.size}],
            nics: [.vm_nics[] | {vlan: .vlan.name, mac_address, model, enabled}]}'
    want_shape=$(jq -S "$shape | .nics |= map(if .vlan == \"vm-net\" then .vlan = \"dr-net\" else . end)" old.vm.json)
    config_ok=false
    [ "$want_shape" = "$(jq -S "$shape" new.vm.json)" ] && jq -e '.cluster.name == "c2"' new.vm.json >/dev/null && config_ok=true
    [ $config_ok = true ] || { failures=$((failures + 1)); diff <(echo "$want_shape") <(jq -S "$shape" new.vm.json) >&2 || true; }
    disks_ok=0
    while IFS= read -r disk <&3; do
        index=$(jq -r .original_index <<<"$disk")
        want=$(jq -r --argjson i "$index" 'select(.disk == $i) | .snapshot_sha256' summary.jsonl)
        got=$(admin digest "{\"vm\":\"demo-vm-dr\",\"disk\":$index}" | jq -r .sha256)
        cp --sparse=always "$(admin volume-path "{\"vm\":\"demo-vm-dr\",\"disk\":$index}" | jq -r .path)" "vm$index.img"
        if [ "$got" = "$want" ] && e2fsck -fn "vm$index.img" >"vmfsck$index.log" 2>&1 &&
            debugfs -R "cat /random.bin" "vm$index.img" 2>/dev/null | cmp -s - "seed/$index/random.bin"; then
            disks_ok=$((disks_ok + 1))
        else
            failures=$((failures + 1))
            log "demo-vm-dr disk $index does not verify (sha256 $got, snapshot $want)"
        fi
        rm -f "vm$index.img"
    done 3< <(jq -c '.disks[]' vm-restore.json)
    vm_restore=$(printf 'whole VM: demo-vm-dr on c2 in %ss, %s of %s disks verified (sha256 = snapshot, e2fsck clean, files intact), configuration %s' \
        "$(awk -v a="$v0" -v b="$v1" 'BEGIN { printf "%.1f", b - a }')" "$disks_ok" "$(jq '.disks | length' vm-restore.json)" \
        "$([ $config_ok = true ] && echo "matches (vCPUs, memory, disks, boot order, NICs: vm-net -> dr-net, MACs kept)" || echo DIFFERS)")
fi

# Night 1 is whole too: its disk 0 (before the change) restores on its own.
night1_ok=false
r1=$("$here/restore-disk.sh" "repo:$id/$night1_time/disk0" "$W/night1-disk0.img")
want1=$(admin digest "$(jq -c '{lun_snapshot: .disks[0].lun_snapshot.name}' night1.json)" | jq -r .sha256)
if [ "$(jq -r .verified <<<"$r1")" = true ] && [ "$(sha256sum <night1-disk0.img | cut -d' ' -f1)" = "$want1" ] &&
    debugfs -R "cat /random.bin" night1-disk0.img 2>/dev/null | cmp -s - night1-random.bin; then
    night1_ok=true
else
    failures=$((failures + 1))
    log "night 1's disk 0 does not restore as it was"
fi
rm -f night1-disk0.img

# Night 1's file straight from the repository, without restoring its disk:
# restore-files.sh serves the disk over NBD (zadp-repo serve, nbdkit) and
# copies the file out through nbdfuse and debugfs. Only where nbdkit, our
# plugin, nbdfuse and FUSE are there (scripts/install-deps.sh installs them).
nbd_files="skipped (needs nbdkit, the zadp nbdkit plugin, nbdfuse and /dev/fuse)"
plugin="$(dirname "$(command -v zadp-repo)")/../lib/nbdkit/plugins/nbdkit-zadp-plugin.so"
if command -v nbdkit >/dev/null && command -v nbdfuse >/dev/null && [ -e /dev/fuse ] &&
    { [ -f "$plugin" ] || [ -n "${ZADP_NBDKIT_PLUGIN:-}" ]; }; then
    t0=$(date +%s.%N)
    if nbd_line=$("$here/restore-files.sh" "repo:$id/$night1_time" /random.bin "$W/nbd-files" 2>nbd-files.log) &&
        cmp -s "$W/nbd-files/random.bin" night1-random.bin; then
        nbd_files="OK in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s: $nbd_line"
    else
        failures=$((failures + 1))
        nbd_files=FAILED
        sed 's/^/  restore-files: /' nbd-files.log >&2
    fi
    rm -rf "$W/nbd-files"
fi

# The snapshots were kept only so that their digests could be compared.
jq -c '{id: .vm_snapshot.id}' night1.json night2.json | hci-snap-delete >/dev/null ||
    log "warning: could not delete the demo snapshots"

# --- 6. summary -----------------------------------------------------------------
human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1" 2>/dev/null || echo "$1"; }
echo
printf '%-8s %-21s %-4s %9s %9s %9s %9s %7s\n' NIGHT BACKUP DISK DATA NEW REUSED WRITTEN TIME
while IFS= read -r row; do
    printf '%-8s %-21s %-4s %9s %9s %9s %9s %6ss\n' "$(jq -r .night <<<"$row")" "$(jq -r '.backup | split("/")[1]' <<<"$row")" \
        "$(jq -r .disk <<<"$row")" "$(human "$(jq -r .data <<<"$row")")" "$(human "$(jq -r .new_bytes <<<"$row")")" \
        "$(human "$(jq -r .reused_bytes <<<"$row")")" "$(human "$(jq -r .written <<<"$row")")" "$(jq -r .seconds <<<"$row")"
done <nights.jsonl
n1=$(jq -s 'map(select(.night == 1) | .new_bytes) | add' nights.jsonl)
n2=$(jq -s 'map(select(.night == 2) | .new_bytes) | add' nights.jsonl)
echo "NEW: chunks the repository did not hold (stored); REUSED: chunks it had; WRITTEN: compressed bytes written"
echo "night 1 stored $(human "$n1") new, night 2 after a 64 KiB change $(human "$n2") new; repository: $(du -sh --apparent-size "$ZADP_REPO" | cut -f1)"
echo
printf '%-8s %-4s %9s %9s %9s %9s %7s %7s  %s\n' VM DISK LOGICAL ALLOCATED DATA STORED BACKUP RESTORE VERIFICATION
while IFS= read -r row; do
    printf '%-8s %-4s %9s %9s %9s %9s %6ss %6ss  %s\n' \
        "$(jq -r .vm <<<"$row")" "$(jq -r .disk <<<"$row")" \
        "$(human "$(jq -r .size <<<"$row")")" \
        "$(human "$(jq -r '.allocated // "?"' <<<"$row")")" \
        "$(human "$(jq -r '.data // "?"' <<<"$row")")" \
        "$(human "$(jq -r .stored <<<"$row")")" \
        "$(jq -r .backup_seconds <<<"$row")" "$(jq -r .restore_seconds <<<"$row")" \
        "$(jq -r 'if .verified then "OK (sha256 = snapshot, e2fsck clean, files intact)"
                  else "FAILED (sha256 \(if .bytes_match then "ok" else "differs" end), e2fsck \(if .e2fsck_clean then "ok" else "errors" end), files \(if .file_matches then "ok" else "differ" end))" end' <<<"$row")"
done <summary.jsonl
echo "LOGICAL: disk size; ALLOCATED: written in the snapshot; DATA: non-zero bytes in the stream; STORED: compressed bytes night 2 wrote"
echo "night 2's backup of demo-vm (2 disks, $(jq -r .vm_snapshot.consistent_type "$manifest")) took ${backup_seconds}s; restored from repo:$id/$night2_time into $restore_to"
echo "night 1 ($night1_time) restores too: disk 0 $([ $night1_ok = true ] && echo "OK (sha256 = night 1's snapshot, the file as it was)" || echo FAILED)"
[ -z "$vm_restore" ] || echo "$vm_restore"
echo "night 1's /random.bin over NBD, no disk restored (restore-files.sh): $nbd_files"
[ -z "$summary_json" ] || jq -c --argjson n1 "$n1" --argjson n2 "$n2" --argjson night1_ok "$night1_ok" \
    '. + {night1_new_total: $n1, night2_new_total: $n2, night1_restores: $night1_ok}' summary.jsonl >"$summary_json"

if [ $failures -ne 0 ]; then
    log "$failures disk(s) did not verify"
    exit 1
fi
echo "demo: backup and restore verified"
