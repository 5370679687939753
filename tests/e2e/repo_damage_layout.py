# Used by repo-damage-matrix*.sh: the places to damage in a prepared
# repository, found by reading its files as zadp-repo(5) describes them.
#
#   python3 repo_damage_layout.py REPO ITEMS
#
# ITEMS has one line per item, "LETTER NAME image|blob". Prints one line per
# damage, "KEY FILE OP ARG MASK LOST OWN":
#   FILE  the damaged file, relative to REPO
#   OP    flip (ARG: the offset of the byte, XORed with MASK), trunc (ARG:
#         the new length) or delete
#   LOST  the items that use a chunk whose object bytes the damage destroys
#         (only storing their sources again can bring those chunks back)
#   OWN   the items whose own index or blob is damaged
# ("-" for none). Every other item must still read once the repository is
# repaired: the damage touched only what can be rebuilt from the packs.
import json, os, struct, sys

repo, items_file = sys.argv[1], sys.argv[2]
items = [line.split() for line in open(items_file) if line.strip()]
out = []


def emit(key, path, op, arg=0, mask=1, lost="", own=""):
    out.append(f"{key} {path} {op} {arg} {mask} {lost or '-'} {own or '-'}")


def size(path):
    return os.path.getsize(f"{repo}/{path}")


def whole_file(key, path, lost="", own="", trunc_lost=None):
    """Truncation to half the file and deletion of it."""
    emit(f"{key}.trunc", path, "trunc", size(path) // 2, 1, lost if trunc_lost is None else trunc_lost, own)
    emit(f"{key}.delete", path, "delete", 0, 1, lost, own)


config = open(f"{repo}/config").read()
encrypted = '"encrypted":true' in config
# config: the version digit turned into another version (2 -> 1), a digit
# of the chunk size (no longer a power of two), the opening brace.
emit("config.version.flip", "config", "flip", config.index('"version":') + 10, 3)
emit("config.chunksize.flip", "config", "flip", config.index('"chunk_size":') + 13, 1)
emit("config.brace.flip", "config", "flip", 0, 1)
whole_file("config", "config")

# ---- what each image uses (plain repositories only: ids are in the clear) ----
def index_ids(path):
    b = open(f"{repo}/{path}", "rb").read()
    hlen = struct.unpack_from("<I", b, 16)[0]
    header = json.loads(b[24:24 + hlen - 8])
    n = (header["size"] + header["chunk_size"] - 1) // header["chunk_size"]
    ids, pos = [], 24 + hlen
    while len(ids) < n:
        k = min(4096, n - len(ids))
        ids += [b[pos + 32 * i:pos + 32 * i + 32] for i in range(k)]
        pos += 32 * k + 8
    return ids, hlen, pos  # pos: where the sealed trailer starts


uses = {}
for letter, name, kind in items:
    if kind == "image" and not encrypted:
        uses[letter] = set(index_ids(f"backups/{name}.fidx")[0]) - {bytes(32)}


def users(ids):
    return "".join(l for l, _, _ in items if l in uses and uses[l] & set(ids))


def image_id(letter, chunk):
    name = next(n for l, n, _ in items if l == letter)
    return index_ids(f"backups/{name}.fidx")[0][chunk]


# ---- packs: their tables ----
def table_of(path):
    b = open(f"{repo}/{path}", "rb").read()
    count, sealed = struct.unpack_from("<II", b, len(b) - 16)
    start = len(b) - 16 - sealed
    entries = [struct.unpack_from("<32sQII", b, start + 48 * i) for i in range(count)]
    return entries, start


unmerged = {n[:16] for n in os.listdir(f"{repo}/packs/unmerged") if n.endswith(".table")}
packs = {}
for sub in sorted(os.listdir(f"{repo}/packs")):
    if len(sub) == 2:
        for n in sorted(os.listdir(f"{repo}/packs/{sub}")):
            if n.endswith(".pack") and not n.startswith("."):
                packs[n[:16]] = f"packs/{sub}/{n}"
if encrypted:  # ids and tables are encrypted: the key, and the tail of the locator's pack
    emit("key.flip", "key", "flip", size("key") // 2, 1)
    whole_file("key", "key")
    pack1 = max((p for p in packs if p not in unmerged), key=lambda p: size(packs[p]))
    emit("pack1.tail.magic.flip", packs[pack1], "flip", size(packs[pack1]) - 1, 1)
    print("\n".join(out))
    sys.exit(0)
# pack1: the pack the locator names that holds X (chunks of A and B,
# combined by the gc); pack2: the pack of the store after the gc, named by an
# unmerged table, that holds Y.
X = image_id("A", 11)  # a chunk of the template that A and D use, B does not
Y = image_id("D", 3)  # a chunk only D has
pack1 = next((p for p in packs if p not in unmerged and X in [e[0] for e in table_of(packs[p])[0]]), None)
pack2 = next((p for p in packs if p in unmerged and Y in [e[0] for e in table_of(packs[p])[0]]), None)


def pack_damage(key, pack, chunk, all_flips):
    path = packs[pack]
    entries, table = table_of(path)
    ids = [e[0] for e in entries]
    i = ids.index(chunk)
    off, length = entries[i][2], entries[i][3]
    full = size(path)
    emit(f"{key}.obj.flip", path, "flip", off + length // 2, 1, users([chunk]))
    if all_flips:
        emit(f"{key}.head.flip", path, "flip", 3, 1)
        emit(f"{key}.objhdr.flip", path, "flip", off + 8, 1, users([chunk]))  # its plain length
        emit(f"{key}.table.len.flip", path, "flip", table + 48 * i + 44, 1)
        emit(f"{key}.table.seal.flip", path, "flip", full - 17, 1)
        emit(f"{key}.tail.count.flip", path, "flip", full - 16, 1)
        emit(f"{key}.tail.len.flip", path, "flip", full - 12, 1)
        emit(f"{key}.cut1", path, "trunc", full - 1)
    emit(f"{key}.table.id.flip", path, "flip", table + 48 * i + 31, 1)
    emit(f"{key}.tail.magic.flip", path, "flip", full - 1, 1)
    cut = [e[0] for e in entries if e[2] + e[3] > full // 2]
    whole_file(key, path, users(ids), trunc_lost=users(cut))


if pack1:
    pack_damage("pack1", pack1, X, True)
if pack2:
    pack_damage("pack2", pack2, Y, False)

# ---- the locator ----
loc = "packs/locator"
b = open(f"{repo}/{loc}", "rb").read()
count = struct.unpack_from("<Q", b, 16)[0]
base = 32 + 65536 * 4
i = next(k for k in range(count) if b[base + 48 * k:base + 48 * k + 32] == X)
e = base + 48 * i
emit("locator.magic.flip", loc, "flip", 0, 1)
emit("locator.count.flip", loc, "flip", 16, 1)
emit("locator.sum.flip", loc, "flip", 24, 1)
emit("locator.fanout.flip", loc, "flip", 32 + 4 * ((X[0] << 8) | X[1]), 1)  # X's bucket
emit("locator.id.flip", loc, "flip", e + 31, 1)
emit("locator.pack.flip", loc, "flip", e + 32, 1)
emit("locator.offset.flip", loc, "flip", e + 40, 1)
emit("locator.length.flip", loc, "flip", e + 44, 1)
emit("locator.cut48", loc, "trunc", len(b) - 48)  # one entry short
whole_file("locator", loc)

# ---- the unmerged table of pack2 ----
if pack2:
    tab = f"packs/unmerged/{pack2}.table"
    tb = open(f"{repo}/{tab}", "rb").read()
    i = next(k for k in range(len(tb) // 48) if tb[48 * k:48 * k + 32] == Y)
    emit("table.id.flip", tab, "flip", 48 * i + 31, 1)
    emit("table.seal.flip", tab, "flip", len(tb) - 1, 1)
    whole_file("table", tab)

# ---- the index of A ----
name = next(n for l, n, _ in items if l == "A")
fidx = f"backups/{name}.fidx"
_, hlen, trailer = index_ids(fidx)
full = size(fidx)
emit("index.magic.flip", fidx, "flip", 0, 1, own="A")
emit("index.hlen.flip", fidx, "flip", 16, 1, own="A")
emit("index.header.flip", fidx, "flip", 24 + hlen // 2, 1, own="A")
emit("index.entry.flip", fidx, "flip", 24 + hlen + 32 * 5 + 16, 1, own="A")
emit("index.trailer.flip", fidx, "flip", (trailer + full - 4) // 2, 1, own="A")
emit("index.tlen.flip", fidx, "flip", full - 4, 1, own="A")
whole_file("index", fidx, own="A")

# ---- the blob ----
name = next(n for l, n, k in items if k == "blob")
blob = f"backups/{name}.blob"
emit("blob.flip", blob, "flip", size(blob) // 2, 1, own="J")
whole_file("blob", blob, own="J")

# ---- the list of chunks set aside (only once check --read-data set one aside) ----
if os.path.exists(f"{repo}/packs/damaged"):
    emit("damaged.pack.flip", "packs/damaged", "flip", 15, 1)  # another pack's name
    emit("damaged.offset.flip", "packs/damaged", "flip", 17, 1)  # another offset
    whole_file("damaged", "packs/damaged")

print("\n".join(out))
