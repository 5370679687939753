#include "libcommon/block/repo/pack.h"

#include <algorithm>
#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"

namespace hci::repo::pack {

using little_endian::get32;
using little_endian::get64;
using little_endian::put32;
using little_endian::put64;

namespace {

std::string table_aad(uint64_t pack) { return "pack " + pack_name(pack); }

}  // namespace

size_t IdHash::operator()(const ChunkId& id) const { return get64(id.data()); }

void encode_entry(const Entry& e, unsigned char* p) {
    std::memcpy(p, e.id.data(), 32);
    put64(p + 32, e.at.pack);
    put32(p + 40, e.at.offset);
    put32(p + 44, e.at.length);
}

Entry decode_entry(const unsigned char* p) {
    Entry e;
    std::memcpy(e.id.data(), p, 32);
    e.at = {get64(p + 32), get32(p + 40), get32(p + 44)};
    return e;
}

std::string pack_name(uint64_t pack) {
    unsigned char b[8];
    put64(b, pack);
    return to_hex(b, 8);
}

std::optional<uint64_t> pack_from_name(const std::string& hex) {
    unsigned char b[8];
    if (hex.size() != 16 || !from_hex(hex, b, 8)) return std::nullopt;
    return get64(b);
}

std::string pack_key(const std::string& prefix, uint64_t pack) {
    std::string hex = pack_name(pack);
    return prefix + "/" + hex.substr(0, 2) + "/" + hex + ".pack";
}

std::optional<uint64_t> pack_of_table(const std::string& name) {
    if (!name.ends_with(".table")) return std::nullopt;
    return pack_from_name(name.substr(0, name.size() - 6));
}

std::vector<unsigned char> pack_header() {
    std::vector<unsigned char> header(kPackHeaderSize, 0);
    std::memcpy(header.data(), "ZADPPACK", 8);
    put32(header.data() + 8, 1);
    return header;
}

std::vector<unsigned char> seal_table(const std::vector<Entry>& entries, uint64_t pack, const Sealer& sealer) {
    std::vector<unsigned char> plain(entries.size() * kEntrySize);
    for (size_t i = 0; i < entries.size(); ++i) encode_entry(entries[i], plain.data() + i * kEntrySize);
    return sealer.seal(plain.data(), plain.size(), table_aad(pack));
}

std::vector<unsigned char> pack_tail(size_t entries, size_t sealed_table_length) {
    std::vector<unsigned char> tail(kPackTailSize);
    put32(tail.data(), static_cast<uint32_t>(entries));
    put32(tail.data() + 4, static_cast<uint32_t>(sealed_table_length));
    std::memcpy(tail.data() + 8, "ZPACKEND", 8);
    return tail;
}

std::string open_table(const std::vector<unsigned char>& sealed, uint64_t pack, const Sealer& sealer,
                       std::vector<Entry>& out) {
    auto plain = sealer.open(sealed.data(), sealed.size(), table_aad(pack));
    if (!plain) return "its table does not verify";
    if (plain->size() % kEntrySize != 0) return "its table has a partial entry";
    out.clear();
    for (size_t p = 0; p < plain->size(); p += kEntrySize) {
        Entry e = decode_entry(plain->data() + p);
        if (e.at.pack != pack) return "its table names another pack";
        out.push_back(e);
    }
    return "";
}

std::string read_pack_table(ObjectReader& reader, uint64_t pack, const Sealer& sealer, std::vector<Entry>& out,
                            const std::string& where) {
    out.clear();
    uint64_t file_size = reader.size();
    if (file_size < kPackHeaderSize + kPackTailSize) return "it is truncated";
    unsigned char tail[kPackTailSize];
    read_exact(reader, tail, sizeof tail, file_size - kPackTailSize, where);
    uint64_t sealed_length = get32(tail + 4);
    if (std::memcmp(tail + 8, "ZPACKEND", 8) != 0 || sealed_length + kPackHeaderSize + kPackTailSize > file_size)
        return "its tail is damaged";
    std::vector<unsigned char> sealed(sealed_length);
    read_exact(reader, sealed.data(), sealed.size(), file_size - kPackTailSize - sealed_length, where);
    std::string error = open_table(sealed, pack, sealer, out);
    if (!error.empty()) return error;
    uint64_t objects_end = file_size - kPackTailSize - sealed_length;
    for (const auto& e : out)
        if (e.at.offset < kPackHeaderSize || uint64_t{e.at.offset} + e.at.length > objects_end)
            return "its table points outside the pack";
    return "";
}

// Anything that is not an object that verifies is skipped up to the next
// object magic.
std::vector<Entry> scan_pack(uint64_t pack, const std::vector<unsigned char>& bytes, const Sealer& sealer) {
    std::vector<Entry> found;
    const unsigned char* data = bytes.data();
    size_t pos = kPackHeaderSize;
    while (pos + 4 <= bytes.size()) {
        auto* hit = static_cast<const unsigned char*>(::memmem(data + pos, bytes.size() - pos, "ZOBJ", 4));
        if (!hit) break;
        pos = static_cast<size_t>(hit - data);
        size_t length = chunk_object_length(data + pos, bytes.size() - pos, sealer);
        if (length && pos <= UINT32_MAX) {
            if (auto id = identify_chunk_object(data + pos, length, sealer)) {
                found.push_back({*id, {pack, static_cast<uint32_t>(pos), static_cast<uint32_t>(length)}});
                pos += length;
                continue;
            }
        }
        ++pos;
    }
    std::sort(found.begin(), found.end());
    return found;
}

void read_exact(ObjectReader& reader, void* buf, size_t length, uint64_t offset, const std::string& what) {
    if (reader.read(offset, length, static_cast<unsigned char*>(buf)) != length) fail(kExitIntegrity, what + " is truncated");
}

void read_object(ObjectReader& reader, const Location& at, Bytes& out) {
    out.reset(at.length);
    out.shrink(reader.read(at.offset, at.length, out.data()));
}

}  // namespace hci::repo::pack
