// A format version 2 directory repository as the code before the storage
// layer (issue 18 §1) wrote it, built here file by file under its old
// names: it opens, reads, lists, checks, takes new backups and gc, and what
// is written lands under the same names.
#include <xxhash.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/maintenance.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;
using namespace hci::little_endian;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kChunk = 65536;

void write_file(const std::string& path, const void* data, size_t length) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(length));
    REQUIRE(f.good());
}
void write_file(const std::string& path, const std::vector<unsigned char>& b) { write_file(path, b.data(), b.size()); }
void write_file(const std::string& path, const std::string& s) { write_file(path, s.data(), s.size()); }

std::vector<unsigned char> random_bytes_of(size_t n, uint64_t seed) {
    std::vector<unsigned char> b(n);
    std::mt19937_64 rng(seed);
    for (auto& c : b) c = static_cast<unsigned char>(rng());
    return b;
}

struct Entry {
    ChunkId id;
    uint64_t pack;
    uint32_t offset, length;
};

std::string hex64(uint64_t v) {
    unsigned char b[8];
    put64(b, v);
    return to_hex(b, 8);
}

std::vector<unsigned char> encode_entries(std::vector<Entry> entries) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
    std::vector<unsigned char> out(entries.size() * 48);
    for (size_t i = 0; i < entries.size(); ++i) {
        unsigned char* p = out.data() + i * 48;
        std::memcpy(p, entries[i].id.data(), 32);
        put64(p + 32, entries[i].pack);
        put32(p + 40, entries[i].offset);
        put32(p + 44, entries[i].length);
    }
    return out;
}

// packs/XX/<hex>.pack: "ZADPPACK" u32 1 u32 0, objects, sealed table, tail;
// and its table's copy in packs/unmerged/ when `unmerged`.
std::vector<Entry> write_pack(const std::string& dir, uint64_t pack, const std::vector<std::vector<unsigned char>>& chunks,
                              const Sealer& sealer, bool unmerged) {
    std::vector<unsigned char> file(16, 0);
    std::memcpy(file.data(), "ZADPPACK", 8);
    put32(file.data() + 8, 1);
    std::vector<Entry> entries;
    for (const auto& c : chunks) {
        ChunkId id = chunk_id(c.data(), c.size(), nullptr);
        auto object = encode_object(ObjectKind::kChunk, to_hex(id), c.data(), c.size(), sealer, 1);
        entries.push_back({id, pack, static_cast<uint32_t>(file.size()), static_cast<uint32_t>(object.size())});
        file.insert(file.end(), object.begin(), object.end());
    }
    auto plain = encode_entries(entries);
    auto table = sealer.seal(plain.data(), plain.size(), "pack " + hex64(pack));
    file.insert(file.end(), table.begin(), table.end());
    unsigned char tail[16];
    put32(tail, static_cast<uint32_t>(entries.size()));
    put32(tail + 4, static_cast<uint32_t>(table.size()));
    std::memcpy(tail + 8, "ZPACKEND", 8);
    file.insert(file.end(), tail, tail + 16);
    std::string hex = hex64(pack);
    write_file(dir + "/packs/" + hex.substr(0, 2) + "/" + hex + ".pack", file);
    if (unmerged) write_file(dir + "/packs/unmerged/" + hex + ".table", table);
    return entries;
}

// packs/locator: "ZADPLOCA" u32 1 u32 0 u64 entries u64 XXH3(fan-out),
// 65536 cumulative u32 counts by the ids' first two bytes, the entries.
void write_locator(const std::string& dir, const std::vector<Entry>& entries) {
    auto body = encode_entries(entries);
    std::vector<unsigned char> head(32 + 65536 * 4, 0);
    std::vector<uint32_t> counts(65536, 0);
    for (const auto& e : entries) ++counts[(size_t{e.id[0]} << 8) | e.id[1]];
    uint32_t sum = 0;
    for (size_t b = 0; b < 65536; ++b) put32(head.data() + 32 + b * 4, sum += counts[b]);
    std::memcpy(head.data(), "ZADPLOCA", 8);
    put32(head.data() + 8, 1);
    put64(head.data() + 16, entries.size());
    put64(head.data() + 24, XXH3_64bits(head.data() + 32, 65536 * 4));
    head.insert(head.end(), body.begin(), body.end());
    write_file(dir + "/packs/locator", head);
}

std::string vm_identity(const std::string& id) { return R"({"vm":{"id":")" + id + R"(","name":"web"}})"; }

void store(Repository& repo, const std::string& name, const std::vector<unsigned char>& image, const std::string& vm) {
    ImageWriter w(repo, name, image.size(), 512, vm_identity(vm));
    w.write(0, image.data(), image.size());
    w.commit();
}

}  // namespace

TEST_CASE("a version-2 directory repository written before the storage layer reads and writes unchanged") {
    TempDir tmp;
    std::string dir = tmp.path + "/r";
    Sealer plain(nullptr);
    write_file(dir + "/config", std::string(R"({"format":"zadp-repo","version":2,"chunk_size":65536,)"
                                            R"("compression":"zstd","zstd_level":1,"encrypted":false,)"
                                            R"("id":"00112233445566778899aabbccddeeff","created":"2026-11-01T00:00:00Z"})"
                                            "\n"));
    fs::permissions(dir + "/config", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_directories(dir + "/backups");
    // Chunks a and b in a merged pack (the locator), c in a pack only its
    // unmerged table names.
    auto a = random_bytes_of(kChunk, 1), b = random_bytes_of(kChunk, 2), c = random_bytes_of(kChunk / 2, 3);
    auto merged = write_pack(dir, 0xa1b2c3d4e5f60718ull, {a, b}, plain, false);
    write_pack(dir, 0x0f1e2d3c4b5a6978ull, {c}, plain, true);
    write_locator(dir, merged);
    // The image: a, zeros, b, c (its last chunk short).
    std::vector<unsigned char> image;
    image.insert(image.end(), a.begin(), a.end());
    image.resize(image.size() + kChunk, 0);
    image.insert(image.end(), b.begin(), b.end());
    image.insert(image.end(), c.begin(), c.end());
    const std::string name = "web01/2026-11-01T020000Z/disk0";
    {
        IndexHeader h;
        h.name = name;
        h.size = image.size();
        h.chunk_size = kChunk;
        h.identity = vm_identity("vm-1");
        h.vm_id = "vm-1";
        std::string path = dir + "/backups/" + name + ".fidx";
        fs::create_directories(fs::path(path).parent_path());
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        {
            IndexWriter w(::fileno(f), path, h, plain);
            for (const auto* chunk : std::vector<const std::vector<unsigned char>*>{&a, nullptr, &b, &c})
                w.add(chunk ? chunk_id(chunk->data(), chunk->size(), nullptr) : ChunkId{});
            IndexTrailer t;
            t.chunks = 3;
            t.zero_chunks = 1;
            w.finish(t);
        }
        std::fclose(f);
    }
    write_file(dir + "/backups/web01/.vm-id", std::string("vm-1\n"));
    std::string manifest = R"({"vm":{"id":"vm-1","name":"web"},"complete":true})";
    write_file(dir + "/backups/web01/2026-11-01T020000Z/backup.json.blob",
               encode_object(ObjectKind::kBlob, "web01/2026-11-01T020000Z/backup.json", manifest.data(),
                             manifest.size(), plain, 3));

    auto repo = Repository::open(dir, {}, Access::kWrite);
    SECTION("read: the image, the blob, the listing, a clean check") {
        CHECK(read_image(*repo, name) == image);
        auto blob = repo->get_blob("web01/2026-11-01T020000Z/backup.json");
        CHECK(std::string(blob.begin(), blob.end()) == manifest);
        std::vector<std::string> listed;
        CHECK(list_items(*repo, "web01", [&](const boost::json::object& o) {
            listed.push_back(std::string(o.at("name").as_string()) + " " + std::string(o.at("state").as_string()));
        }));
        CHECK(listed == std::vector<std::string>{"web01/2026-11-01T020000Z/backup.json complete",
                                                 "web01/2026-11-01T020000Z/disk0 complete"});
        CHECK(check(*repo, "", true, [](const boost::json::object&) {}) == 0);
        CHECK(resolve_ls_argument(*repo, "web01") == std::vector<std::string>{"web01"});
    }
    SECTION("write: the old claim holds, new backups and gc use the old names") {
        // The group's claim in .vm-id is honoured: another VM is refused.
        CHECK(exit_code_of([&] { store(*repo, "web01/2026-11-02T020000Z/disk0", image, "vm-2"); }) == kExitUsage);
        auto next = image;
        next[10] ^= 1;  // chunk a changes, b and c are reused
        store(*repo, "web01/2026-11-02T020000Z/disk0", next, "vm-1");
        CHECK(fs::is_regular_file(dir + "/backups/web01/2026-11-02T020000Z/disk0.fidx"));
        size_t packs = 0;
        for (const auto& e : fs::recursive_directory_iterator(dir + "/packs"))
            if (e.path().extension() == ".pack") {
                ++packs;
                std::string stem = e.path().stem();
                CHECK(e.path().parent_path().filename() == stem.substr(0, 2));  // packs/XX/<16 hex>.pack
                CHECK(stem.size() == 16);
            }
        CHECK(packs == 3);
        // gc reads the old locator and tables and keeps everything in use.
        remove_items(*repo, "web01/2026-11-01T020000Z", [](const boost::json::object&) {});
        auto gc = collect_garbage(*repo, false);
        CHECK(!gc.refused);
        CHECK(gc.chunks_removed == 1);  // the old chunk a
        CHECK(fs::is_regular_file(dir + "/packs/locator"));
        CHECK(!fs::exists(dir + "/backups/web01/2026-11-01T020000Z"));  // rm left no empty directory
        CHECK(fs::is_regular_file(dir + "/backups/web01/.vm-id"));
        auto reopened = Repository::open(dir, {});
        CHECK(read_image(*reopened, "web01/2026-11-02T020000Z/disk0") == next);
        CHECK(check(*reopened, "", true, [](const boost::json::object&) {}) == 0);
    }
}
