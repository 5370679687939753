// The nbdkit plugin's core (nbdkit-plugin/served_image.h): the chunk cache
// (bounded, one load per chunk, failures not kept) and an image read at
// random by several threads at once, with read-ahead, against its bytes.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "libcommon/block/repo/image.h"
#include "nbdkit-plugin/served_image.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::nbd;
using namespace hci::repo_test;
using repo::ChunkId;

namespace {

ChunkId id_of(unsigned char n) {
    ChunkId id{};
    id[0] = n;
    id[31] = 1;
    return id;
}

ChunkCache::Loaded bytes(size_t n, unsigned char fill) {
    auto chunk = std::make_shared<PlainChunk>();
    chunk->own.assign(n, fill);
    chunk->view = {chunk->own.data(), n};
    return {std::move(chunk), ""};
}

}  // namespace

TEST_CASE("chunk cache keeps at most its limit, least recently used out", "[served-image]") {
    ChunkCache cache(250);
    int loads = 0;
    auto load = [&](const ChunkId& id) {
        ++loads;
        return bytes(100, id[0]);
    };
    cache.get(id_of(1), load);
    cache.get(id_of(2), load);
    cache.get(id_of(1), load);  // 1 is now the most recent
    cache.get(id_of(3), load);  // 300 bytes > 250: 2 goes
    CHECK(loads == 3);
    auto s = cache.stats();
    CHECK(s.bytes <= 250);
    CHECK(s.evictions == 1);
    CHECK(cache.contains(id_of(1)));
    CHECK_FALSE(cache.contains(id_of(2)));
    CHECK(cache.get(id_of(3), load).bytes->data()[0] == 3);
    CHECK(loads == 3);
    // A chunk larger than the whole cache is still handed out (and kept alone).
    CHECK(cache.get(id_of(4), [](const ChunkId&) { return bytes(1000, 4); }).bytes->size() == 1000);
    CHECK(cache.stats().entries == 1);
}

TEST_CASE("chunk cache loads a chunk once for threads that want it at once", "[served-image]") {
    ChunkCache cache(1 << 20);
    std::atomic<int> loads{0};
    std::atomic<bool> release{false};
    auto load = [&](const ChunkId&) {
        ++loads;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return bytes(10, 7);
    };
    std::vector<std::thread> threads;
    std::vector<ChunkCache::Loaded> got(4);
    for (size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = cache.get(id_of(9), load); });
    // Every thread is in get() (one loading, the others waiting) before the load ends.
    while (cache.stats().misses + cache.stats().waits < got.size()) std::this_thread::yield();
    release = true;
    for (auto& t : threads) t.join();
    CHECK(loads == 1);
    for (const auto& g : got) CHECK(g.bytes == got[0].bytes);
}

TEST_CASE("chunk cache keeps no failure", "[served-image]") {
    ChunkCache cache(1 << 20);
    int loads = 0;
    auto failing = [&](const ChunkId&) -> ChunkCache::Loaded {
        ++loads;
        return {nullptr, "is damaged: checksum mismatch"};
    };
    CHECK(cache.get(id_of(5), failing).error == "is damaged: checksum mismatch");
    CHECK_FALSE(cache.contains(id_of(5)));
    CHECK(cache.get(id_of(5), [](const ChunkId&) -> ChunkCache::Loaded { throw std::runtime_error("boom"); }).error ==
          "boom");
    CHECK(cache.get(id_of(5), failing).error == "is damaged: checksum mismatch");
    CHECK(loads == 2);
}

TEST_CASE("served image reads any range from several threads, holes from the index", "[served-image]") {
    TempDir dir;
    repo::Repository::init(dir.path + "/r", 64 << 10, false, {});
    auto repo = repo::Repository::open(dir.path + "/r", {});
    // Data, two zero chunks, data, and a last chunk of 1234 bytes.
    const size_t size = 10 * 65536 + 1234;
    std::vector<unsigned char> image(size);
    std::mt19937_64 rng(42);
    for (auto& b : image) b = static_cast<unsigned char>(rng());
    std::fill(image.begin() + 3 * 65536, image.begin() + 5 * 65536, 0);
    {
        repo::ImageWriter writer(*repo, "g/2026-11-28T020000Z/disk0", size, 4096, "{}");
        writer.write(0, image.data(), size);
        writer.commit();
    }
    ServeLimits limits;
    limits.cache_bytes = 3 * 65536;  // smaller than the image: chunks come and go
    limits.readahead_bytes = 65536;
    ServedImage served(repo::Repository::open(dir.path + "/r", {}), "g/2026-11-28T020000Z/disk0", limits);
    served.start_threads();
    CHECK(served.size() == size);

    auto runs = served.extents(0, size);
    REQUIRE(runs.size() == 3);
    CHECK((runs[0].offset == 0 && runs[0].length == 3 * 65536 && !runs[0].zero));
    CHECK((runs[1].offset == 3 * 65536 && runs[1].length == 2 * 65536 && runs[1].zero));
    CHECK((runs[2].offset == 5 * 65536 && runs[2].length == size - 5 * 65536 && !runs[2].zero));
    CHECK(served.extents(100, 10, 1).size() == 1);

    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            std::mt19937_64 r(t);
            ServedImage::Cursor cursor;
            std::vector<unsigned char> buf(200000);
            for (int i = 0; i < 200; ++i) {
                // Half sequential runs (read-ahead), half random jumps.
                uint64_t offset = (i % 2) ? r() % size : std::min<uint64_t>(size - 1, (i / 2) * 50000ull);
                size_t length = std::min<uint64_t>(size - offset, 1 + r() % buf.size());
                served.read(offset, buf.data(), length, &cursor);
                if (std::memcmp(buf.data(), image.data() + offset, length) != 0) ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    CHECK(served.cache_stats().bytes <= limits.cache_bytes);
    CHECK(exit_code_of([&] {
              unsigned char b;
              served.read(size, &b, 1);
          }) == kExitIo);
    CHECK(exit_code_of([&] {
              ServedImage missing(repo::Repository::open(dir.path + "/r", {}), "g/2026-11-28T020000Z/disk9", limits);
          }) == kExitNotFound);
}

TEST_CASE("served chunks are checked by their seal; with hash_ids also by their id", "[served-image]") {
    TempDir dir;
    repo::Repository::init(dir.path + "/r", 64 << 10, false, {});
    auto repo = repo::Repository::open(dir.path + "/r", {});
    std::mt19937_64 rng(7);
    std::vector<unsigned char> image(2 * 65536), other(65536);
    for (auto& b : image) b = static_cast<unsigned char>(rng());
    for (auto& b : other) b = static_cast<unsigned char>(rng());
    const std::string name = "g/2026-11-28T020000Z/disk0";
    {
        repo::ImageWriter writer(*repo, name, image.size(), 4096, "{}");
        writer.write(0, image.data(), image.size());
        writer.commit();
    }
    // Chunk 0's object sealed again around other bytes (what a writer that
    // stored wrong bytes under an id leaves): its seal verifies, its bytes
    // do not hash to its id.
    const ChunkId id = repo::chunk_id(image.data(), 65536, nullptr);
    auto place = repo->chunks().where(id);
    REQUIRE(place);
    auto object = repo::encode_object(repo::ObjectKind::kChunk, repo::to_hex(id), other.data(), other.size(),
                                      repo->sealer(), 3);
    REQUIRE(object.size() == place->length);
    {
        std::fstream pack(dir.path + "/r/" + place->key, std::ios::in | std::ios::out | std::ios::binary);
        REQUIRE(pack);
        pack.seekp(static_cast<std::streamoff>(place->offset));
        pack.write(reinterpret_cast<const char*>(object.data()), static_cast<std::streamsize>(object.size()));
    }
    std::vector<unsigned char> buf(65536);
    ServeLimits limits;
    {
        ServedImage served(repo::Repository::open(dir.path + "/r", {}), name, limits);
        served.read(0, buf.data(), buf.size());
        CHECK(buf == other);  // the seal is all that is checked
        served.read(65536, buf.data(), buf.size());
        CHECK(std::equal(buf.begin(), buf.end(), image.begin() + 65536));
    }
    limits.hash_ids = true;
    ServedImage hashed(repo::Repository::open(dir.path + "/r", {}), name, limits);
    CHECK(exit_code_of([&] { hashed.read(100, buf.data(), 10); }) == kExitIntegrity);
    hashed.read(65536, buf.data(), buf.size());
    CHECK(std::equal(buf.begin(), buf.end(), image.begin() + 65536));
}
