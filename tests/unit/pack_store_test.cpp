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

std::vector<unsigned char> random_image(size_t size, uint64_t seed) {
    std::vector<unsigned char> image(size);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t v = rng();
        std::memcpy(image.data() + i, &v, 8);
    }
    return image;
}

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
    fs::create_directories(repo_dir + "/packs/ab");
    std::ofstream(repo_dir + "/packs/ab/.tmp.abababababababab.pack") << "half";
    std::ofstream(repo_dir + "/packs/ab/abababababababab.pack") << "a pack no table names";
    auto r = collect_garbage(*Repository::open(repo_dir, {}), false);
    CHECK(r.temporaries_removed == 1);
    CHECK(r.chunks_kept == 16);
    CHECK(r.files_removed == 1);
    CHECK(!fs::exists(repo_dir + "/packs/ab/.tmp.abababababababab.pack"));
    CHECK(!fs::exists(repo_dir + "/packs/ab/abababababababab.pack"));
    require_reads_back(*Repository::open(repo_dir, {}), "a/t/d", image);
}

TEST_CASE("packs: a damaged locator is named, and gc rebuilds it from the packs") {
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
    try {
        require_reads_back(*Repository::open(repo_dir, {}), "g/t33/d", image);
        FAIL("read with a damaged locator succeeded");
    } catch (const Error& e) {
        CHECK(e.code() == kExitIntegrity);
        CHECK_THAT(e.what(), Catch::Contains("locator") && Catch::Contains("gc rebuilds"));
    }
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
    IndexReader index(repo->index_path("g/t1/d"), "repo:g/t1/d", repo->sealer());
    repo->chunks().quarantine(index.entry(1));
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
