// The S3 data path's parts that need no server: which chunks one ranged
// read fetches together (read_plan.h), an image stored (packs uploaded in
// the background) and read through coalesced reads on a store where every
// read is a request, objects spooled to a file past a memory limit
// (spool_writer.h), the local object cache (object_cache.h), and init on a
// store that does not keep create-only writes create-only.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/object_cache.h"
#include "libcommon/block/repo/backend/spool_writer.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/read_plan.h"
#include "libcommon/s3/sigv4.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

// A memory store that says each read is a request (as S3 does) and counts
// them; with `ignore_create_only`, create() replaces what is there (as a
// store that ignores If-None-Match would).
class RequestCountingStore : public ObjectStore {
public:
    explicit RequestCountingStore(bool ignore_create_only = false)
        : inner_(open_memory_store()), ignore_create_only_(ignore_create_only) {}
    void save(const std::string& k, const void* d, size_t n) override { inner_->save(k, d, n); }
    bool create(const std::string& k, const void* d, size_t n) override {
        if (!ignore_create_only_) return inner_->create(k, d, n);
        inner_->save(k, d, n);
        return true;
    }
    std::optional<std::vector<unsigned char>> load(const std::string& k, uint64_t o, uint64_t l) override {
        ++loads;
        return inner_->load(k, o, l);
    }
    std::optional<ObjectInfo> stat(const std::string& k) override { return inner_->stat(k); }
    void list(const std::string& p, const std::function<void(const ObjectInfo&)>& v) override { inner_->list(p, v); }
    uint64_t remove(const std::vector<std::string>& keys) override { return inner_->remove(keys); }
    int64_t now() override { return inner_->now(); }
    void sync() override {}
    std::string where(const std::string& k) const override { return "counting:" + k; }
    std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait) override {
        return inner_->lock(name, exclusive, wait);
    }
    bool reads_are_requests() const override { return true; }
    ObjectStore& inner() { return *inner_; }
    std::atomic<uint64_t> loads{0};

private:
    std::unique_ptr<ObjectStore> inner_;
    bool ignore_create_only_;
};

std::vector<unsigned char> random_bytes_of(size_t size, uint64_t seed) {
    std::vector<unsigned char> v(size);
    std::mt19937_64 rng(seed);
    for (auto& c : v) c = static_cast<unsigned char>(rng());
    return v;
}

ReadPiece piece(const std::string& key, uint64_t offset, uint64_t length) { return {key, offset, length}; }

}  // namespace

TEST_CASE("coalesced reads: adjacent pieces of one pack merge into one request") {
    auto runs = plan_reads({piece("p1", 100, 50), piece("p1", 150, 50), piece("p1", 200, 10)});
    REQUIRE(runs.size() == 1);
    CHECK(runs[0] == ReadRun{"p1", 100, 110, {0, 1, 2}});
}

TEST_CASE("coalesced reads: each pack gets its own requests, in the order the pieces are needed") {
    // An incremental backup: chunks alternate between an old and a new pack.
    auto runs = plan_reads({piece("new", 0, 10), piece("old", 500, 10), piece("new", 10, 10), piece("old", 510, 10)});
    REQUIRE(runs.size() == 2);
    CHECK(runs[0] == ReadRun{"new", 0, 20, {0, 2}});
    CHECK(runs[1] == ReadRun{"old", 500, 20, {1, 3}});
}

TEST_CASE("coalesced reads: a piece that is nowhere gets a request of its own, never merged") {
    auto runs = plan_reads({piece("p", 0, 10), piece("", 0, 0), piece("", 0, 0), piece("p", 10, 10)});
    REQUIRE(runs.size() == 3);
    CHECK(runs[0] == ReadRun{"p", 0, 20, {0, 3}});
    CHECK(runs[1] == ReadRun{"", 0, 0, {1}});
    CHECK(runs[2] == ReadRun{"", 0, 0, {2}});
}

TEST_CASE("coalesced reads: the gap limit bounds the unneeded bytes between two pieces of a request") {
    CoalesceLimits limits{1 << 20, 100};
    CHECK(plan_reads({piece("p", 0, 50), piece("p", 150, 50)}, limits).size() == 1);  // a gap of 100
    CHECK(plan_reads({piece("p", 0, 50), piece("p", 151, 50)}, limits).size() == 2);  // 101
    auto runs = plan_reads({piece("p", 0, 50), piece("p", 110, 50), piece("p", 300, 50)}, limits);
    REQUIRE(runs.size() == 2);
    CHECK(runs[0] == ReadRun{"p", 0, 160, {0, 1}});
    CHECK(runs[1] == ReadRun{"p", 300, 50, {2}});
}

TEST_CASE("coalesced reads: a request never grows past the maximum size; a larger piece gets one alone") {
    CoalesceLimits limits{1000, 0};
    auto runs = plan_reads({piece("p", 0, 400), piece("p", 400, 400), piece("p", 800, 400), piece("p", 1200, 5000),
                            piece("p", 6200, 100)},
                           limits);
    REQUIRE(runs.size() == 4);
    CHECK(runs[0] == ReadRun{"p", 0, 800, {0, 1}});
    CHECK(runs[1] == ReadRun{"p", 800, 400, {2}});
    CHECK(runs[2] == ReadRun{"p", 1200, 5000, {3}});
    CHECK(runs[3] == ReadRun{"p", 6200, 100, {4}});
}

TEST_CASE("coalesced reads: pieces stored out of order, or needed twice, share a request") {
    CoalesceLimits limits{1000, 0};
    auto runs = plan_reads({piece("p", 200, 100), piece("p", 0, 100), piece("p", 100, 100), piece("p", 0, 100)},
                           limits);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0] == ReadRun{"p", 0, 300, {0, 1, 2, 3}});
}

TEST_CASE("an image on a store where reads are requests is read with coalesced ranged reads, byte-exact") {
    auto owned = std::make_unique<RequestCountingStore>();
    RequestCountingStore& objects = *owned;
    Repository::init(objects, 65536, false, {});
    auto repo = Repository::open(std::move(owned), "counting", {});
    auto image = random_bytes_of(6 << 20, 3);  // 96 chunks in one pack
    std::memset(image.data() + (1 << 20), 0, 1 << 20);  // 16 zero chunks: never read
    {
        ImageWriter w(*repo, "g/2026-12-01T000000Z/disk0", image.size(), 512, "{}");
        w.write(0, image.data(), image.size());
        w.commit();
    }
    auto read_all = [&] {
        ImageReader r(*repo, "g/2026-12-01T000000Z/disk0");
        std::vector<unsigned char> got(r.size());
        r.read(0, got.data(), got.size());
        return got;
    };
    CHECK(read_all() == image);  // the locator and tables loaded once
    objects.loads = 0;
    CHECK(read_all() == image);
    // 80 chunks of 64 KiB (and a little) in runs of at most 2 MiB: a few
    // dozen requests at most, index reads included, not 80.
    INFO("loads: " << objects.loads.load());
    CHECK(objects.loads < 20);

    SECTION("reads that jump about (an NBD client) get the right bytes") {
        ImageReader r(*repo, "g/2026-12-01T000000Z/disk0");
        std::mt19937_64 rng(11);
        std::vector<unsigned char> got(200000);
        for (int i = 0; i < 40; ++i) {
            uint64_t offset = rng() % (image.size() - got.size());
            r.read(offset, got.data(), got.size());
            REQUIRE(std::memcmp(got.data(), image.data() + offset, got.size()) == 0);
        }
    }

    SECTION("a damaged chunk in a coalesced read is still found and named") {
        auto place = repo->chunks().where(chunk_id(image.data() + (3 << 20), 65536, repo->key()));
        REQUIRE(place);
        auto pack = objects.inner().load(place->key, 0, 0);
        (*pack)[place->offset + place->length / 2] ^= 1;
        objects.inner().save(place->key, pack->data(), pack->size());
        int code = exit_code_of([&] { read_all(); });
        CHECK(code == kExitIntegrity);
    }
}

TEST_CASE("a spool writer keeps a small object in memory and a large one in a file, byte-exact") {
    std::vector<unsigned char> committed;
    bool from_file = false;
    SpoolCommit commit;
    std::string hashed;
    commit.from_memory = [&](const unsigned char* d, size_t n, bool, const std::string& sha256_hex) {
        committed.assign(d, d + n);
        from_file = false;
        hashed = sha256_hex;
        return true;
    };
    commit.from_file = [&](int fd, uint64_t n, bool, const std::string& sha256_hex) {
        committed.resize(n);
        REQUIRE(::pread(fd, committed.data(), n, 0) == static_cast<ssize_t>(n));
        from_file = true;
        hashed = sha256_hex;
        return true;
    };
    auto big = random_bytes_of(5 << 20, 7);
    auto writer = open_spool_writer("test:big", 64 << 10, 1ull << 40, commit);
    for (size_t at = 0; at < big.size(); at += 100000)
        writer->write(big.data() + at, std::min<size_t>(100000, big.size() - at));
    const unsigned char header[4] = {1, 2, 3, 4};
    writer->write_at(10, header, 4);
    std::memcpy(big.data() + 10, header, 4);
    std::vector<unsigned char> back;
    writer->read_at(4 << 20, 1000, back);
    CHECK(back == std::vector<unsigned char>(big.begin() + (4 << 20), big.begin() + (4 << 20) + 1000));
    CHECK(writer->size() == big.size());
    REQUIRE(writer->commit(true));
    CHECK(from_file);
    CHECK(committed == big);
    CHECK(hashed.empty());  // write_at changed bytes already hashed: the store hashes the file

    // Written in order only: the SHA-256 of the bytes comes with them, and
    // is the file's (a retried commit gets it again).
    auto plain = open_spool_writer("test:plain", 64 << 10, 1ull << 40, commit);
    for (size_t at = 0; at < big.size(); at += 70000)
        plain->write(big.data() + at, std::min<size_t>(70000, big.size() - at));
    for (int attempt = 0; attempt < 2; ++attempt) {
        REQUIRE(plain->commit(true));
        CHECK(from_file);
        CHECK(committed == big);
        CHECK(hashed == s3::sha256_hex(big.data(), big.size()));
    }

    auto small = open_spool_writer("test:small", 64 << 10, 1ull << 40, commit);
    small->write(big.data(), 1000);
    REQUIRE(small->commit(true));
    CHECK(!from_file);
    CHECK(committed == std::vector<unsigned char>(big.begin(), big.begin() + 1000));
    CHECK(hashed == s3::sha256_hex(big.data(), 1000));
}

TEST_CASE("a spool writer refuses an object larger than one write stores, before committing") {
    bool committed = false;
    SpoolCommit commit{[&](const unsigned char*, size_t, bool, const std::string&) { return committed = true; },
                       [&](int, uint64_t, bool, const std::string&) { return committed = true; }};
    auto writer = open_spool_writer("test:limit", 1024, 4096, commit);
    std::vector<unsigned char> block(3000, 1);
    writer->write(block.data(), block.size());
    CHECK(exit_code_of([&] { writer->write(block.data(), block.size()); }) == kExitUsage);
    CHECK(!committed);
}

TEST_CASE("an image whose index is larger than one object of the store is refused before anything is stored") {
    struct Small : RequestCountingStore {
        uint64_t max_object_size() const override { return 1 << 20; }
    };
    auto owned = std::make_unique<Small>();
    ObjectStore& objects = *owned;
    Repository::init(objects, 65536, false, {});
    auto repo = Repository::open(std::move(owned), "small", {});
    CHECK(exit_code_of([&] { ImageWriter w(*repo, "g/2026-12-01T000000Z/disk0", 1ull << 40, 512, "{}"); }) ==
          kExitUsage);
    CHECK(!objects.stat("backups/g/2026-12-01T000000Z/disk0.fidx"));
}

TEST_CASE("init refuses a store that ignores create-only writes, unless --unsafe-single-writer") {
    RequestCountingStore ignoring(true);
    CHECK(exit_code_of([&] { Repository::init(ignoring, 65536, false, {}); }) == kExitApi);
    CHECK(!ignoring.stat("config"));

    auto owned = std::make_unique<RequestCountingStore>(true);
    Config c = Repository::init(*owned, 65536, false, {}, kRepoVersion, true);
    CHECK(c.single_writer);
    auto repo = Repository::open(std::move(owned), "ignoring", {});
    CHECK(repo->config().single_writer);  // recorded: every writer warns

    RequestCountingStore honest;
    CHECK(!Repository::init(honest, 65536, false, {}, kRepoVersion, true).single_writer);
}

namespace {

std::vector<unsigned char> read_all_of(int fd) {
    std::vector<unsigned char> out(1 << 16);
    ssize_t n = ::pread(fd, out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    ::close(fd);
    return out;
}

// Publishes `bytes` under `key` with the ETag `etag` (their MD5 unless given).
int cache_put(ObjectCache& cache, const std::string& key, const std::vector<unsigned char>& bytes,
              std::string etag = "") {
    if (etag.empty()) etag = s3::md5_hex(bytes.data(), bytes.size());
    auto in = cache.begin();
    REQUIRE(::write(in.fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    return cache.publish(std::move(in), key, etag);
}

std::vector<std::filesystem::path> cached_files(const std::string& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    return files;
}

}  // namespace

TEST_CASE("the object cache returns what was stored under a key and ETag, and only that") {
    TempDir tmp;
    ObjectCache cache(tmp.path + "/cache/repo", 1 << 20);
    auto a = random_bytes_of(1000, 1), b = random_bytes_of(1000, 2);
    const std::string etag_a = s3::md5_hex(a.data(), a.size()), etag_b = s3::md5_hex(b.data(), b.size());
    int fd = cache_put(cache, "backups/g/t/disk0.fidx", a);
    REQUIRE(fd >= 0);
    CHECK(read_all_of(fd) == a);
    fd = cache.open("backups/g/t/disk0.fidx", etag_a);
    REQUIRE(fd >= 0);
    CHECK(read_all_of(fd) == a);
    CHECK(cache.hits() == 1);
    CHECK(cache.open("backups/g/t/disk0.fidx", etag_b) == -1);  // another version of the key
    CHECK(cache.open("backups/g/t/disk1.fidx", etag_a) == -1);  // another key
    // Bytes that do not hash to the ETag they came with are not kept.
    CHECK(cache_put(cache, "packs/locator", b, etag_a) == -1);
    CHECK(cache.open("packs/locator", etag_a) == -1);
    CHECK(cached_files(cache.dir()).size() == 1);
    // A multipart ETag cannot be checked: never cached.
    CHECK(cache_put(cache, "packs/locator", b, etag_b + "-2") == -1);
}

TEST_CASE("a damaged cached object is found, removed and never returned") {
    TempDir tmp;
    ObjectCache cache(tmp.path + "/cache", 1 << 20);
    auto a = random_bytes_of(5000, 3);
    const std::string etag = s3::md5_hex(a.data(), a.size());
    ::close(cache_put(cache, "packs/unmerged/0123456789abcdef.table", a));
    auto files = cached_files(cache.dir());
    REQUIRE(files.size() == 1);
    {
        int fd = ::open(files[0].c_str(), O_WRONLY);
        REQUIRE(::pwrite(fd, "X", 1, 2500) == 1);
        ::close(fd);
    }
    CHECK(cache.open("packs/unmerged/0123456789abcdef.table", etag) == -1);
    CHECK(cache.damaged() == 1);
    CHECK(cached_files(cache.dir()).empty());  // gone: the next read downloads it again
    int fd = cache_put(cache, "packs/unmerged/0123456789abcdef.table", a);
    REQUIRE(fd >= 0);
    CHECK(read_all_of(fd) == a);
}

TEST_CASE("the object cache keeps to its size bound, dropping the least recently used first") {
    TempDir tmp;
    ObjectCache cache(tmp.path + "/cache", 2500);
    auto a = random_bytes_of(1000, 4), b = random_bytes_of(1000, 5), c = random_bytes_of(1000, 6);
    auto etag = [](const std::vector<unsigned char>& v) { return s3::md5_hex(v.data(), v.size()); };
    ::close(cache_put(cache, "a", a));
    ::close(cache_put(cache, "b", b));
    // b was used longest ago, a just now.
    auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& f : cached_files(cache.dir()))
        std::filesystem::last_write_time(f, now - std::chrono::hours(f.filename().string().ends_with(etag(a)) ? 1 : 2));
    int fd = cache.open("a", etag(a));
    REQUIRE(fd >= 0);
    ::close(fd);
    ::close(cache_put(cache, "c", c));  // 3000 bytes > 2500: one goes
    CHECK(cached_files(cache.dir()).size() == 2);
    CHECK(cache.open("b", etag(b)) == -1);
    fd = cache.open("a", etag(a));
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);
    fd = cache.open("c", etag(c));
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);
}

TEST_CASE("a cached part of an object (a pack's tail) is checked against its own MD5 at every use") {
    TempDir tmp;
    ObjectCache cache(tmp.path + "/cache", 1 << 20);
    auto tail = random_bytes_of(4000, 8);
    const std::string etag(32, 'a');  // the whole pack's ETag: names the version
    cache.keep_part("packs/00/0011223344556677.pack", etag, tail.data(), tail.size());
    auto got = cache.open_part("packs/00/0011223344556677.pack", etag);
    REQUIRE(got);
    CHECK(*got == tail);
    CHECK(!cache.open_part("packs/00/0011223344556677.pack", std::string(32, 'b')));  // another version
    auto files = cached_files(cache.dir());
    REQUIRE(files.size() == 1);
    {
        int fd = ::open(files[0].c_str(), O_WRONLY);
        REQUIRE(::pwrite(fd, "X", 1, 100) == 1);
        ::close(fd);
    }
    CHECK(!cache.open_part("packs/00/0011223344556677.pack", etag));
    CHECK(cache.damaged() == 1);
    CHECK(cached_files(cache.dir()).empty());
}
