# Sourced after lib.sh and repo.sh by the nbd-* scenarios: nbdkit serving
# repository images through our plugin, and NBD clients reading them.

# require_nbd [CLIENT...]: skips (exit 77) when nbdkit or a client tool
# (nbdcopy, nbdinfo, qemu-img...) is not installed, or when nbdkit-plugin-dev
# was missing at build time; fails when it was there and the plugin was not
# built. Sets NBD_PLUGIN.
require_nbd() {
    local t
    for t in nbdkit "$@"; do command -v "$t" >/dev/null || skip "$t not installed (scripts/install-deps.sh installs it)"; done
    NBD_PLUGIN="$HCI_BUILD_DIR/lib/nbdkit/plugins/nbdkit-zadp-plugin.so"
    # Sanitizer builds leave it out: nbdkit, built without them, cannot load
    # it (their runtime must come first); its core is unit-tested there.
    grep -qE '^HCI_(SANITIZE|TSAN):BOOL=ON' "$HCI_BUILD_DIR/CMakeCache.txt" 2>/dev/null &&
        skip "sanitizer build: the nbdkit plugin is not built (its core runs in the unit tests, [served-image])"
    if [ ! -f "$NBD_PLUGIN" ]; then
        pkg-config --exists nbdkit 2>/dev/null && die "nbdkit-plugin-dev is installed but $NBD_PLUGIN was not built"
        skip "the plugin is not built (nbdkit-plugin-dev was not installed at build time)"
    fi
}

# serve NAME [plugin parameters...]: serves repo:NAME on a Unix socket of
# its own in the background (nbdkit's stderr appended to $T/nbdkit.err) and
# returns once nbdkit accepts connections, with its NBD URI in NBD_URL and
# its pid in NBD_PID. Stopped, by that pid, when the scenario ends. (Not to
# be called as $(serve ...): the cleanup would be the subshell's.)
serve() {
    local name=$1 sock i; shift
    sock="$T/$(echo "$name" | tr / -).sock"
    rm -f "$sock" "$sock.pid"
    nbdkit -f -U "$sock" -P "$sock.pid" "$NBD_PLUGIN" repo="$ZADP_REPO" image="$name" "$@" \
        </dev/null >/dev/null 2>>"$T/nbdkit.err" &
    NBD_PID=$!
    on_exit "kill -TERM $NBD_PID 2>/dev/null; wait $NBD_PID 2>/dev/null"
    for i in $(seq 300); do
        [ -s "$sock.pid" ] && break
        kill -0 "$NBD_PID" 2>/dev/null || { cat "$T/nbdkit.err" >&2; die "nbdkit serving $name exited early"; }
        sleep 0.1
    done
    [ -s "$sock.pid" ] || die "nbdkit serving $name did not start"
    NBD_URL="nbd+unix:///?socket=$sock"
}

# index_digest NAME: the digest the index of repo:NAME records
index_digest() { zadp-repo ls "$1" | jq -r 'select(.type == "image") | .digest'; }

# image_digest FILE: the digest zadp-read computes of a raw image, the one
# an index records
image_digest() { zadp-read --source "$1" -v 2>&1 >/dev/null | sed -n 's/.* digest \([0-9a-f]*\)$/\1/p'; }

# repo_digest: one digest of every file of the repository (names, modes
# and contents), to prove that nothing wrote into it
repo_digest() { (cd "$ZADP_REPO" && find . -type f -printf '%p %m\n' -exec sha256sum {} + | sort) | sha256sum; }

# index_map NAME: the allocation the index of repo:NAME (unencrypted)
# records, one "OFFSET LENGTH data|hole" line per run, as zadp-repo(5)
# lays an index out (sealed segments of 4096 entries of 32 bytes, a zero id
# for an all-zero chunk)
index_map() {
    python3 - "$ZADP_REPO/backups/$1.fidx" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
hlen = struct.unpack_from("<I", b, 16)[0]
h = json.loads(b[24:24 + hlen - 8])
size, cs = h["size"], h["chunk_size"]
runs = []
for c in range((size + cs - 1) // cs):
    pos = 24 + hlen + (c // 4096) * (4096 * 32 + 8) + (c % 4096) * 32
    kind = "hole" if b[pos:pos + 32] == bytes(32) else "data"
    length = min(cs, size - c * cs)
    if runs and runs[-1][2] == kind:
        runs[-1][1] += length
    else:
        runs.append([c * cs, length, kind])
for r in runs:
    print(*r)
PY
}

# nbd_map URI: nbdinfo --map's runs in index_map's form
nbd_map() { nbdinfo --map "$1" | awk '{ print $1, $2, ($3 == 0 ? "data" : ($3 == 3 ? "hole" : "type" $3)) }'; }

# ext4_disk IMG SRC [SIZE_MIB]: a disk image with a GPT and one partition at
# 1 MiB holding an ext4 file system made from the directory SRC (mkfs.ext4
# -d: no mount, no root).
ext4_disk() {
    local img=$1 src=$2 mib=${3:-24}
    rm -f "$img" "$img.fs"
    mkfs.ext4 -q -F -d "$src" -L guestroot "$img.fs" "$((mib - 2))M" >/dev/null || die "mkfs.ext4 -d $src"
    truncate -s "${mib}M" "$img"
    printf 'label: gpt\nstart=2048, size=%d, type=L\n' $(((mib - 2) * 2048)) | sfdisk -q "$img" || die "sfdisk $img"
    dd if="$img.fs" of="$img" bs=1M seek=1 conv=notrunc status=none
    rm -f "$img.fs"
}

# chunk_at NAME INDEX: "PACK OFFSET LENGTH" of chunk INDEX of image NAME
chunk_at() {
    local id
    id=$(python3 - "$ZADP_REPO/backups/$1.fidx" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
c = int(sys.argv[2])
hlen = struct.unpack_from("<I", b, 16)[0]
pos = 24 + hlen + (c // 4096) * (4096 * 32 + 8) + (c % 4096) * 32
print(b[pos:pos + 32].hex())
PY
)
    [ "$id" != "$(printf '0%.0s' $(seq 64))" ] || die "chunk $2 of $1 is a zero chunk"
    pack_entries | awk -v id="$id" '$1 == id { print $2, $3, $4; exit }'
}

# flip_byte PACK OFFSET: flips a bit of the byte at OFFSET of a pack
flip_byte() {
    python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=4; open(p,"wb").write(b)' "$1" "$2"
}
