// libFuzzer target: the repository's image index and object files, as
// zadp-read, zadp-repo ls and check read them (zadp-repo(5)). The first input
// byte picks a mode:
//   0  the rest is an index file, read whole by IndexReader;
//   1  the rest is "header JSON \n trailer JSON \n entries", sealed into an
//      index with correct checksums (so mutations reach the header and
//      trailer parsers and the size checks behind the seals); when the
//      reader accepts it, it must give back exactly what was sealed;
//   2  the rest is an object file's 12-byte header and payload, sealed with
//      the right checksum, read as a chunk and as a blob.
// A rejected index must be an integrity error (exit 6); anything else, or an
// accepted index that reads back other values, is a finding.
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"
#include "libcommon/block/repo/format.h"

namespace {

using namespace hci::repo;
using hci::little_endian::get32;
using hci::little_endian::put32;

constexpr const char* kName = "fz/2026-11-28T020000Z/disk0";
constexpr uint64_t kMaxEntriesRead = 1 << 16;  // keeps each run fast

// An index object being built, in an in-memory object store.
struct MemoryFile {
    std::vector<unsigned char> bytes;
    void append(const void* data, size_t length) {
        auto* p = static_cast<const unsigned char*>(data);
        bytes.insert(bytes.end(), p, p + length);
    }
    void append(const std::vector<unsigned char>& b) { append(b.data(), b.size()); }
};

// Reads the index `file`; false when it was refused as damaged.
bool read_index(const MemoryFile& file, std::vector<ChunkId>& entries, IndexHeader& header, IndexTrailer& trailer) {
    Sealer plain(nullptr);
    auto store = open_memory_store();
    store->save("backups/index.fidx", file.bytes.data(), file.bytes.size());
    try {
        IndexReader reader(*store, "backups/index.fidx", std::string("repo:") + kName, plain);
        header = reader.header();
        trailer = reader.trailer();
        for (uint64_t i = 0; i < std::min(reader.entries(), kMaxEntriesRead); ++i) entries.push_back(reader.entry(i));
        return true;
    } catch (const hci::Error& e) {
        if (e.code() != hci::kExitIntegrity) std::abort();
        return false;
    }
}

void raw_index(std::string_view data) {
    MemoryFile file;
    file.append(data.data(), data.size());
    std::vector<ChunkId> entries;
    IndexHeader header;
    IndexTrailer trailer;
    read_index(file, entries, header, trailer);
}

std::string_view next_line(std::string_view& rest) {
    size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    return line;
}

void sealed_index(std::string_view data) {
    std::string header_text(next_line(data)), trailer_text(next_line(data));
    const std::string_view entry_bytes = data;
    Sealer plain(nullptr);
    MemoryFile file;
    auto header = plain.seal(header_text.data(), header_text.size(), std::string("index ") + kName + " header");
    unsigned char prefix[kIndexPrefixSize] = {'Z', 'A', 'D', 'P', 'F', 'I', 'D', 'X'};
    put32(prefix + 8, kIndexVersion);
    put32(prefix + 16, static_cast<uint32_t>(header.size()));
    file.append(prefix, sizeof prefix);
    file.append(header);
    const size_t segment_bytes = kEntriesPerSegment * 32;
    for (uint64_t segment = 0; !data.empty(); ++segment) {
        std::string_view part = data.substr(0, segment_bytes);
        data.remove_prefix(part.size());
        file.append(plain.seal(part.data(), part.size(),
                               std::string("index ") + kName + " segment " + std::to_string(segment)));
    }
    auto trailer = plain.seal(trailer_text.data(), trailer_text.size(), std::string("index ") + kName + " trailer");
    unsigned char length[4];
    put32(length, static_cast<uint32_t>(trailer.size()));
    file.append(trailer);
    file.append(length, 4);

    std::vector<ChunkId> entries;
    IndexHeader got;
    IndexTrailer got_trailer;
    if (!read_index(file, entries, got, got_trailer)) return;
    // Accepted: the header and trailer are what their JSON says, and the
    // entries are the sealed bytes in order.
    if (header_json(got) != header_json(parse_header_json(header_text))) std::abort();
    if (trailer_json(got_trailer) != trailer_json(parse_trailer_json(trailer_text))) std::abort();
    if (entry_bytes.size() != got.entries() * 32) std::abort();
    for (size_t i = 0; i < entries.size(); ++i)
        if (std::memcmp(entries[i].data(), entry_bytes.data() + i * 32, 32) != 0) std::abort();
}

// The first 12 bytes are the object header; the rest is sealed after it
// with the right checksum, so mutations reach the length and zstd checks.
void object_file(std::string_view data) {
    if (data.size() < 12) return;
    Sealer plain(nullptr);
    const std::string name = "00ff";
    for (auto kind : {ObjectKind::kChunk, ObjectKind::kBlob}) {
        std::string aad = std::string(kind == ObjectKind::kChunk ? "chunk " : "blob ") + name + " " +
                          std::string(data.substr(0, 12));
        std::string_view payload = data.substr(12);
        std::vector<unsigned char> file(data.begin(), data.begin() + 12);
        auto sealed = plain.seal(payload.data(), payload.size(), aad);
        file.insert(file.end(), sealed.begin(), sealed.end());
        DecodedObject got = decode_object(kind, name, file, plain);
        if (!got.error.empty()) continue;
        // Accepted: as long as the header says, and stored bytes come back as they are.
        const uint32_t length = get32(reinterpret_cast<const unsigned char*>(data.data()) + 8);
        if (got.data.size() != length) std::abort();
        if (!(data[6] & 1) && std::string_view(reinterpret_cast<const char*>(got.data.data()), got.data.size()) != payload)
            std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: raw_index(rest); break;
        case 1: sealed_index(rest); break;
        default: object_file(rest); break;
    }
    return 0;
}
