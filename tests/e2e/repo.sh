# Sourced after lib.sh (and stream.sh) by the repo-* scenarios: a private
# repository in $T/repo and helpers to store, restore and count chunks.
export ZADP_REPO="$T/repo"
unset ZADP_REPO_KEY_FILE ZADP_REPO_PASSPHRASE ZADP_REPO_PASSPHRASE_FILE

# randimg FILE SIZE: a file of SIZE bytes of random data
randimg() { head -c "$2" /dev/urandom > "$1"; }

# store IMAGE NAME [zadp-write options]: stores IMAGE as repo:NAME; the
# store's JSON report is left in $T/last.json
store() {
    local img=$1 name=$2; shift 2
    zadp-read --source "$img" | zadp-write --target "repo:$name" "$@" > "$T/last.json"
}

# store_new IMAGE SIZE NAME: a new random IMAGE of SIZE bytes, stored as repo:NAME
store_new() { randimg "$1" "$2" && store "$1" "$3"; }

# last FIELD: a field of the last store's report
last() { jq -r ".$1" "$T/last.json"; }

# restores_to IMAGE NAME: repo:NAME reads back as IMAGE, as a raw image,
# through a verified stream and in one process (zadp-write --source)
restores_to() {
    zadp-read --source "repo:$2" --format raw > "$T/restored.raw" || die "raw read of repo:$2 failed"
    cmp "$1" "$T/restored.raw" || die "repo:$2 raw read differs from $1"
    rm -f "$T/restored.img"
    zadp-read --source "repo:$2" | zadp-write --target "$T/restored.img" || die "stream restore of repo:$2 failed"
    cmp "$1" "$T/restored.img" || die "repo:$2 restored through a stream differs from $1"
    rm -f "$T/restored.img"
    zadp-write --source "repo:$2" --target "$T/restored.img" || die "one-process restore of repo:$2 failed"
    cmp "$1" "$T/restored.img" || die "repo:$2 restored in one process differs from $1"
    rm -f "$T/restored.raw" "$T/restored.img"
}

# pack_entries: one line per entry of every pack's table, "ID PACK OFFSET
# LENGTH", read as zadp-repo(5) describes packs (a plain repository's table
# is its 48-byte entries followed by an 8-byte XXH3)
pack_entries() {
    python3 - "$ZADP_REPO/packs" <<'PY'
import os, struct, sys
root = sys.argv[1]
for sub in sorted(os.listdir(root)):
    if len(sub) != 2:
        continue
    for name in sorted(os.listdir(f"{root}/{sub}")):
        if not name.endswith(".pack") or name.startswith("."):
            continue
        path = f"{root}/{sub}/{name}"
        b = open(path, "rb").read()
        count, sealed, end = struct.unpack_from("<II8s", b, len(b) - 16)
        assert end == b"ZPACKEND" and b[:8] == b"ZADPPACK", path
        table = b[len(b) - 16 - sealed:len(b) - 16 - 8]
        assert len(table) == 48 * count, path
        for i in range(count):
            cid, pack, off, length = struct.unpack_from("<32sQII", table, 48 * i)
            print(cid.hex(), path, off, length)
PY
}

# chunk_count: distinct chunks in the repository's packs
chunk_count() { pack_entries | cut -d' ' -f1 | sort -u | wc -l; }

# some_chunk_of NAME: "PACK OFFSET LENGTH" of one chunk image NAME uses (its
# first non-zero chunk)
some_chunk_of() {
    local id
    id=$(python3 - "$ZADP_REPO" "$1" <<'PY'
import struct, sys
repo, name = sys.argv[1], sys.argv[2]
b = open(f"{repo}/backups/{name}.fidx", "rb").read()
hlen = struct.unpack_from("<I", b, 16)[0]
pos = 24 + hlen
while b[pos:pos + 32] == bytes(32):
    pos += 32
print(b[pos:pos + 32].hex())
PY
)
    pack_entries | awk -v id="$id" '$1 == id { print $2, $3, $4; exit }'
}

# has_line FILE CONDITION: some JSON line of FILE satisfies the jq CONDITION
has_line() { jq -se "any(.[]; $2)" "$1" >/dev/null; }

# --- for the scenarios of backup-vm.sh into a repository (backup-repo-*) ---

# vm_scenario NAME:SIZE[,SIZE...]...: backup_scenario with one running VM
# per argument, its data disks of those sizes in bytes, and a CD-ROM.
vm_scenario() {
    backup_scenario '[$specs[] | split(":") | {name: .[0], cluster: "c1", vcpu: 1, memory: 1073741824,
        status: "RUNNING", vm_tools_status: "RUNNING",
        disks: ([.[1] | split(",")[] | {type: "DISK", bus: "VIRTIO", size: tonumber}] + [{type: "CD_ROM", bus: "IDE"}])}]' \
        --argjson specs "$(printf '%s\n' "$@" | jq -Rsc 'split("\n")[:-1]')"
}

# vm_ids NAME: the ids of the VMs called NAME, one a line
vm_ids() { sim_api get-vms "$(jq -nc --arg n "$1" '{where: {name: $n}}')" | jq -r '.[].id'; }

# backups_of GROUP: the group's backups (GROUP/TIME), oldest first
backups_of() { zadp-repo ls "$1" | jq -r .backup | sort -u; }

# files_of BACKUP: the file names in a backup, sorted, on one line
files_of() { zadp-repo ls "$1" | jq -r '.name | split("/")[2]' | sort | tr '\n' ' '; }

