// The packing chunk store (format version 2): packs, unmerged tables, the
// locator and its merge, gc's repacking, damage and the Bloom filter.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/id_filter.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/maintenance.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;
namespace fs = std::filesystem;

namespace {

IndexTrailer store(Repository& repo, const std::string& name, const std::vector<unsigned char>& image) {
    ImageWriter w(repo, name, image.size(), 512, "{}");
    w.write(0, image.data(), image.size());
    w.commit();
    return w.totals();
}

void require_reads_back(Repository& repo, const std::string& name, const std::vector<unsigned char>& image) {
    ImageReader r(repo, name);
    std::vector<unsigned char> got(image.size());
    r.read(0, got.data(), got.size());
    REQUIRE(got == image);
}

// Flips a byte in the middle of the chunk's stored object, then sets it
// aside as check --read-data does with a copy that fails its seal.
void damage_and_set_aside(Repository& repo, const ChunkId& id) {
    auto place = repo.chunks().where(id);
    REQUIRE(place);
    std::fstream f(repo.store().where(place->key), std::ios::in | std::ios::out | std::ios::binary);
    auto at = static_cast<std::streamoff>(place->offset + place->length / 2);
    f.seekg(at);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(at);
    f.write(&c, 1);
    f.close();
    REQUIRE(repo.chunks().quarantine(id).has_value());
}

size_t count_files(const std::string& dir, const std::string& suffix) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        std::string name = e.path().filename();
        if (e.is_regular_file() && name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("packs: chunks of one store share a few pack files, and another process finds them") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto image = random_image(40 << 20, 1);  // 640 chunks, about 40 MiB: three packs
    {
        auto repo = Repository::open(repo_dir, {});
        auto t = store(*repo, "g/t1/d", image);
        CHECK(t.new_chunks == 640);
    }
    CHECK(count_files(repo_dir + "/packs", ".pack") == 3);
    CHECK(count_files(repo_dir + "/packs/unmerged", ".table") == 3);
    auto repo = Repository::open(repo_dir, {});
    CHECK(repo->chunks().count_hint() == 640);
    require_reads_back(*repo, "g/t1/d", image);
    auto again = store(*repo, "g/t2/d", image);
    CHECK(again.new_chunks == 0);
    CHECK(again.reused_chunks == 640);
    CHECK(count_files(repo_dir + "/packs", ".pack") == 3);
}

TEST_CASE("packs: many small stores merge their tables into the locator, which finds every chunk") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    std::vector<std::vector<unsigned char>> images;
    for (int i = 0; i < 40; ++i) {
        images.push_back(random_image(200000, 100 + i));
        auto repo = Repository::open(repo_dir, {});  // one process per store, as zadp-write
        store(*repo, "g/t" + std::to_string(i) + "/d", images.back());
    }
    struct stat st {};
    REQUIRE(::stat((repo_dir + "/packs/locator").c_str(), &st) == 0);
    CHECK(count_files(repo_dir + "/packs/unmerged", ".table") < 33);
    auto repo = Repository::open(repo_dir, {});
    CHECK(repo->chunks().count_hint() == 40 * 4);
    for (int i = 0; i < 40; ++i) require_reads_back(*repo, "g/t" + std::to_string(i) + "/d", images[i]);
    CHECK(store(*repo, "g/u/d", images[7]).new_chunks == 0);
}

TEST_CASE("packs: gc removes packs of removed images and repacks packs holding dead chunks") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto keep = random_image(20 << 20, 2), drop = random_image(20 << 20, 3);
    auto mixed = keep;  // shares its first half with `keep`, its second half with nothing
    auto other = random_image(mixed.size() / 2, 8);
    std::memcpy(mixed.data() + mixed.size() / 2, other.data(), other.size());
    {
        auto repo = Repository::open(repo_dir, {});
        store(*repo, "a/t/d", keep);
        store(*repo, "b/t/d", drop);
        store(*repo, "c/t/d", mixed);
    }
    auto repo = Repository::open(repo_dir, {});
    auto none = [](const boost::json::object&) {};
    remove_items(*repo, "b/t", none);
    remove_items(*repo, "c/t", none);
    auto dry = collect_garbage(*repo, true);
    CHECK(dry.chunks_removed == 320 + 160);
    CHECK(dry.chunks_kept == 320);
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.chunks_removed == 480);
    CHECK(r.chunks_kept == 320);
    CHECK(r.missing_chunks == 0);
    CHECK(count_files(repo_dir + "/packs/unmerged", "") == 0);
    auto after = Repository::open(repo_dir, {});
    CHECK(after->chunks().count_hint() == 320);
    require_reads_back(*after, "a/t/d", keep);
    auto again = collect_garbage(*after, false);  // nothing left to do
    CHECK(again.chunks_removed == 0);
    CHECK(again.files_rewritten == 0);
    CHECK(store(*Repository::open(repo_dir, {}), "d/t/d", drop).new_chunks == 320);  // gone, so stored again
}

TEST_CASE("packs: a pack a killed store left and temporaries are garbage") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto image = random_image(1 << 20, 4);
    {
        auto repo = Repository::open(repo_dir, {});
        store(*repo, "a/t/d", image);
        Bytes object;
        auto data = random_image(65536, 5);
        repo->store_chunk(chunk_id(data.data(), data.size(), nullptr), data.data(), data.size(), object);
        // destroyed without sync(): like a failed store, its open pack is removed
    }
    CHECK(count_files(repo_dir + "/packs", ".pack") == 1);
    {  // a store killed after its pack was named, before its index: a pack of dead chunks
        auto repo = Repository::open(repo_dir, {});
        Bytes object;
        auto data = random_image(65536, 6);
        repo->store_chunk(chunk_id(data.data(), data.size(), nullptr), data.data(), data.size(), object);
        repo->chunks().sync();
    }
    CHECK(count_files(repo_dir + "/packs", ".pack") == 2);
    fs::create_directories(repo_dir + "/packs/ab");
    std::ofstream(repo_dir + "/packs/ab/.tmp.abababababababab.pack") << "half";
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.temporaries_removed == 1);
    CHECK(r.chunks_kept == 16);
    CHECK(r.chunks_removed == 1);
    CHECK(r.files_removed == 1);
    CHECK(count_files(repo_dir + "/packs", ".pack") == 1);
    CHECK(!fs::exists(repo_dir + "/packs/ab/.tmp.abababababababab.pack"));
    require_reads_back(*Repository::open(repo_dir, {}), "a/t/d", image);
}

// A file at a pack's name whose table does not read holds what nobody can
// prove dead: gc keeps it and refuses; repair moves it to lost+found/.
TEST_CASE("packs: gc never removes a pack whose own table does not read") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto image = random_image(1 << 20, 4);
    store(*Repository::open(repo_dir, {}), "a/t/d", image);
    fs::create_directories(repo_dir + "/packs/ab");
    std::string odd = repo_dir + "/packs/ab/abababababababab.pack";
    std::ofstream(odd) << "not a pack, or one whose table was lost";
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.refused);
    CHECK(r.damaged_packs == 1);
    CHECK(r.files_removed == 0);
    CHECK(fs::exists(odd));
    auto allowed = collect_garbage(*Repository::open(repo_dir, {}), false, true);
    CHECK(!allowed.refused);
    CHECK(allowed.damaged_packs == 1);
    CHECK(fs::exists(odd));
    auto none = [](const boost::json::object&) {};
    CHECK(repair(*Repository::open(repo_dir, {}), false, none) == 0);
    CHECK(!fs::exists(odd));
    CHECK(fs::exists(repo_dir + "/packs/lost+found/abababababababab.pack"));
    CHECK(!collect_garbage(*Repository::open(repo_dir, {}), false).refused);
    require_reads_back(*Repository::open(repo_dir, {}), "a/t/d", image);
}

namespace {

// A repository of 64K chunks with one 4 MiB image (64 chunks in one pack)
// and a locator (one gc), as in issue 17's reproductions.
struct OnePackRepo {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    std::vector<unsigned char> image = random_image(4 << 20, 11);
    bool encrypted;
    explicit OnePackRepo(bool encrypt = false) : encrypted(encrypt) {
        Repository::init(repo_dir, 65536, encrypted, keys());
        store(*open(), "a/t1/d", image);
        store(*open(), "b/t1/d", image);
        REQUIRE(!collect_garbage(*open(), false).refused);
        REQUIRE(fs::exists(repo_dir + "/packs/locator"));
    }
    KeySource keys() const {
        KeySource k;
        k.passphrase = "correct horse";
        k.has_passphrase = encrypted;
        return k;
    }
    std::unique_ptr<Repository> open() { return Repository::open(repo_dir, keys()); }
    std::string pack() const {
        for (const auto& e : fs::recursive_directory_iterator(repo_dir + "/packs"))
            if (e.path().extension() == ".pack") return e.path();
        return "";
    }
    void flip(const std::string& path, uint64_t offset) {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(offset));
        char c = 0;
        f.read(&c, 1);
        c ^= 0x10;
        f.seekp(static_cast<std::streamoff>(offset));
        f.write(&c, 1);
    }
    void reads_back() {
        require_reads_back(*open(), "a/t1/d", image);
        require_reads_back(*open(), "b/t1/d", image);
    }
};

}  // namespace

TEST_CASE("packs: a lost locator is rebuilt from the packs, never read as empty (issue 17)") {
    OnePackRepo r;
    fs::remove(r.repo_dir + "/packs/locator");
    r.reads_back();  // from the packs' own tables meanwhile
    auto gc = collect_garbage(*r.open(), false);
    CHECK(!gc.refused);
    CHECK(gc.chunks_removed == 0);
    CHECK(gc.missing_chunks == 0);
    CHECK(gc.chunks_kept == 64);
    CHECK(fs::exists(r.pack()));
    CHECK(fs::exists(r.repo_dir + "/packs/locator"));
    r.reads_back();
}

TEST_CASE("packs: a flipped byte in a pack's own table never loses the pack; repair rewrites it (issue 17)") {
    for (bool encrypted : {false, true}) {
        CAPTURE(encrypted);
        for (uint64_t from_end : {1, 12, 40}) {  // the tail magic, the table's length, the sealed table
            CAPTURE(from_end);
            OnePackRepo r(encrypted);
            std::string pack = r.pack();
            r.flip(pack, fs::file_size(pack) - from_end);
            r.reads_back();  // through the locator
            for (int i = 0; i < 2; ++i) {
                auto gc = collect_garbage(*r.open(), false);
                CHECK(gc.refused);
                CHECK(gc.damaged_packs == 1);
                CHECK(gc.missing_chunks == 0);  // the scan found every object
                CHECK(fs::exists(pack));
                r.reads_back();
            }
            std::vector<boost::json::object> lines;
            CHECK(repair(*r.open(), false, [&](const boost::json::object& o) { lines.push_back(o); }) == 0);
            REQUIRE(!lines.empty());
            CHECK(lines.back().at("packs_rewritten").as_uint64() == 1);
            CHECK(lines.back().at("objects_recovered").as_uint64() == 64);
            CHECK(!fs::exists(pack));
            r.reads_back();
            auto gc = collect_garbage(*r.open(), false);
            CHECK(!gc.refused);
            CHECK(gc.chunks_kept == 64);
            CHECK(repair(*r.open(), false, [](const boost::json::object&) {}) == 0);  // idempotent
            r.reads_back();
        }
    }
}

TEST_CASE("packs: a flipped byte in a locator entry never sets a healthy chunk aside (issue 17)") {
    constexpr uint64_t kEntries = 32 + 65536 * 4;  // the locator's header and fan-out
    for (uint64_t within : {3, 33, 41, 44}) {  // in the id, the pack, the offset, the length
        CAPTURE(within);
        OnePackRepo r;
        std::string locator = r.repo_dir + "/packs/locator";
        r.flip(locator, kEntries + 48 * 5 + within);
        std::vector<boost::json::object> lines;
        uint64_t damaged = check(*r.open(), "", true, [&](const boost::json::object& o) { lines.push_back(o); });
        CHECK(damaged >= 1);
        if (within != 33)  // an entry naming another pack finds no copy: the chunk is missing
            CHECK(std::any_of(lines.begin(), lines.end(), [](const auto& o) { return o.contains("locator_defect"); }));
        CHECK(std::none_of(lines.begin(), lines.end(), [](const auto& o) { return o.contains("moved_to"); }));
        CHECK(!fs::exists(r.repo_dir + "/packs/damaged"));
        auto gc = collect_garbage(*r.open(), false);  // rebuilds the locator from the pack's table
        CHECK(!gc.refused);
        CHECK(gc.chunks_removed == 0);
        CHECK(gc.chunks_kept == 64);
        r.reads_back();
        CHECK(check(*r.open(), "", true, [](const boost::json::object&) {}) == 0);
    }
}

TEST_CASE("packs: gc removes nothing while chunks that images use are missing, unless allowed") {
    OnePackRepo r;
    auto extra = random_image(1 << 20, 12);
    store(*r.open(), "c/t1/d", extra);
    auto none = [](const boost::json::object&) {};
    remove_items(*r.open(), "c/t1", none);  // its chunks are now dead
    {
        auto repo = r.open();
        IndexReader index(repo->store(), Repository::index_key("a/t1/d"), "repo:a/t1/d", repo->sealer());
        damage_and_set_aside(*repo, index.entry(3));  // a chunk both images use goes missing
    }
    auto gc = collect_garbage(*r.open(), false);
    CHECK(gc.refused);
    CHECK(gc.missing_chunks == 2);
    CHECK(gc.images_missing_chunks.size() == 2);
    CHECK(gc.files_removed == 0);
    CHECK(count_files(r.repo_dir + "/packs", ".pack") == 2);
    auto allowed = collect_garbage(*r.open(), false, true);
    CHECK(!allowed.refused);
    CHECK(allowed.chunks_removed == 16);  // the removed image's pack
    CHECK(allowed.chunks_unused_kept == 1);  // the copy set aside, in a pack kept whole
    std::vector<boost::json::object> lines;
    CHECK(repair(*r.open(), false, [&](const boost::json::object& o) { lines.push_back(o); }) == 2);
    CHECK(lines.front().at("image").as_string() == "a/t1/d");
    CHECK(lines.front().at("first_bad_offset").as_uint64() == 3 * 65536);
}

TEST_CASE("packs: reads get past a damaged locator, and gc rebuilds it from the packs") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    std::vector<unsigned char> image;
    for (int i = 0; i < 34; ++i) {  // enough stores to merge
        image = random_image(100000, 200 + i);
        store(*Repository::open(repo_dir, {}), "g/t" + std::to_string(i) + "/d", image);
    }
    std::string locator = repo_dir + "/packs/locator";
    REQUIRE(fs::exists(locator));
    fs::resize_file(locator, fs::file_size(locator) - 10);
    require_reads_back(*Repository::open(repo_dir, {}), "g/t33/d", image);  // from the packs' own tables
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.chunks_removed == 0);
    CHECK(r.missing_chunks == 0);
    require_reads_back(*Repository::open(repo_dir, {}), "g/t33/d", image);
}

// Also: lines of packs/damaged that do not parse are skipped, the others still count.
TEST_CASE("packs: a chunk set aside is stored again by the next store that has it, which heals the image") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto image = random_image(300000, 6);
    auto repo = Repository::open(repo_dir, {});
    store(*repo, "g/t1/d", image);
    IndexReader index(repo->store(), Repository::index_key("g/t1/d"), "repo:g/t1/d", repo->sealer());
    damage_and_set_aside(*repo, index.entry(1));
    std::ofstream(repo_dir + "/packs/damaged", std::ios::app) << "0123456789abcdef not-an-offset\nshort\n";
    CHECK(exit_code_of([&] { require_reads_back(*Repository::open(repo_dir, {}), "g/t1/d", image); }) ==
          kExitIntegrity);
    auto fresh = Repository::open(repo_dir, {});
    CHECK(store(*fresh, "g/t2/d", image).new_chunks == 1);
    require_reads_back(*Repository::open(repo_dir, {}), "g/t1/d", image);
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.chunks_removed == 1);  // the damaged copy
    require_reads_back(*Repository::open(repo_dir, {}), "g/t1/d", image);
}

TEST_CASE("format version 1 (one file per chunk) is still written and read") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {}, 1);
    auto image = random_image(300000, 7);
    auto repo = Repository::open(repo_dir, {});
    CHECK(repo->config().version == 1);
    store(*repo, "g/t1/d", image);
    CHECK(count_files(repo_dir + "/chunks", "") == 5);
    require_reads_back(*repo, "g/t1/d", image);
    auto none = [](const boost::json::object&) {};
    remove_items(*repo, "g/t1", none);
    CHECK(collect_garbage(*repo, false).chunks_removed == 5);
    CHECK(count_files(repo_dir + "/chunks", "") == 0);
}

TEST_CASE("the id filter finds every id added, and few others") {
    IdFilter filter(1000000);  // past the 1 MiB minimum: 16 bits per id
    std::mt19937_64 rng(9);
    auto random_id = [&] {
        ChunkId id;
        for (size_t i = 0; i < id.size(); i += 8) {
            uint64_t v = rng();
            std::memcpy(id.data() + i, &v, 8);
        }
        return id;
    };
    std::vector<ChunkId> added;
    for (int i = 0; i < 1000000; ++i) filter.add(added.emplace_back(random_id()));
    CHECK(std::all_of(added.begin(), added.end(), [&](const ChunkId& id) { return filter.maybe_contains(id); }));
    int false_positives = 0;
    for (int i = 0; i < 100000; ++i) false_positives += filter.maybe_contains(random_id());
    CHECK(false_positives < 100);  // expected about 40 at 16 bits per id (2^24 bits)
    CHECK(false_positives > 0);    // the filter is really that small: the check above means something
}

// rm and prune take no lock: an index listed by gc may be gone when gc
// reads it. A dangling link stands for one removed between the two.
TEST_CASE("gc: an index removed while gc runs is simply no longer live") {
    OnePackRepo r;
    fs::create_directories(r.repo_dir + "/backups/c/t1");
    fs::create_symlink(r.repo_dir + "/nowhere.fidx", r.repo_dir + "/backups/c/t1/d.fidx");
    auto gc = collect_garbage(*r.open(), false);
    CHECK(!gc.refused);
    CHECK(gc.images == 2);
    CHECK(gc.chunks_kept == 64);
    r.reads_back();
}
