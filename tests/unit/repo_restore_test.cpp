// Restoring from a repository: a whole, in-order read (zadp-read's copy
// loop) checks chunks by their seal and the image by its digest end to end;
// any other read hashes every chunk to its id. Either way a wrong byte fails
// the read with exit 6 naming the image and the chunk's offset, and a stream
// never gets its trailer.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/open_volume.h"
#include "libcommon/block/repo/image.h"
#include "stream_test_util.h"

using namespace hci;
using namespace hci::repo;

namespace {

constexpr uint32_t kChunk = 64u << 10;
constexpr uint64_t kSize = 10 * kChunk + 5000;  // 11 chunks, the last one short
constexpr uint64_t kBad = 5;                     // the chunk made wrong below

struct Fixture {
    std::string dir;
    KeySource keys;
    std::unique_ptr<Repository> repo;
    std::vector<unsigned char> image = std::vector<unsigned char>(kSize, 0);

    explicit Fixture(bool encrypted) {
        char name[] = "/tmp/repo-restore.XXXXXX";
        dir = ::mkdtemp(name);
        if (encrypted) keys.key_file = dir + "/key";
        Repository::init(dir + "/r", kChunk, encrypted, keys);
        repo = Repository::open(dir + "/r", keys);
        std::mt19937_64 rng(7);
        for (uint64_t i = 0; i < kSize; ++i) {
            uint64_t c = i / kChunk;
            if (c != 3 && c != 7) image[i] = static_cast<unsigned char>(rng() | 1);  // chunks 3 and 7 are holes
        }
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    void store(const std::string& name, const std::string& recorded_digest = "") {
        ImageWriter w(*repo, name, kSize, 4096, "{}",
                      recorded_digest.empty() ? ImageWriter::Digest::kComputed : ImageWriter::Digest::kFromStream);
        w.write(0, image.data(), kSize);
        w.set_verified_digest(recorded_digest);
        w.commit();
    }

    // Replaces chunk `c` of `name` by an object that seals correctly but
    // holds other bytes (a writer's bug, say): only hashing or the image
    // digest can tell.
    void make_chunk_wrong(const std::string& name, uint64_t c) {
        IndexReader index(repo->store(), Repository::index_key(name), "repo:" + name, repo->sealer());
        ChunkId id = index.entry(c);
        std::vector<unsigned char> other(image.begin() + (c + 1) * kChunk, image.begin() + (c + 2) * kChunk);
        repo->chunks().remove(id);
        repo->chunks().put(id, encode_object(ObjectKind::kChunk, to_hex(id), other.data(), other.size(),
                                             repo->sealer(), 1));
        repo->chunks().sync();  // published: the reads below open the repository anew
    }

    // zadp-read --source repo:NAME [--size BYTES] [--format raw] into memory.
    std::string read(const std::string& name, bool raw, std::optional<uint64_t> size = std::nullopt) {
        VolumeOptions options;
        options.repo = dir + "/r";
        options.repo_key_file = keys.key_file;
        options.size = size;
        auto volume = open_volume("repo:" + name, OpenMode::Read, options);
        ReadJob job;
        job.raw = raw;
        job.progress = ProgressMode::kOff;
        sink.bytes.clear();
        read_volume(*volume, sink, job);
        return sink.bytes;
    }
    test::MemorySink sink;  // what the last read() wrote, also when it failed

    // zadp-write --source repo:NAME --target PATH (a new file).
    WriteResult copy(const std::string& name, const std::string& path) {
        VolumeOptions options;
        options.repo = dir + "/r";
        options.repo_key_file = keys.key_file;
        auto source = open_volume("repo:" + name, OpenMode::Read, options);
        auto target = open_volume(path, OpenMode::Write, copy_target_options(*source, options));
        return copy_volume(*source, *target, ProgressMode::kOff);
    }
};

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Bytes of `path` that are allocated (not holes), by SEEK_DATA/SEEK_HOLE.
uint64_t allocated_bytes(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    uint64_t total = 0;
    off_t pos = 0;
    for (;;) {
        off_t data = ::lseek(fd, pos, SEEK_DATA);
        if (data < 0) break;
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        total += static_cast<uint64_t>(hole - data);
        pos = hole;
    }
    ::close(fd);
    return total;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.code() == kExitIntegrity);
        return e.what();
    }
    FAIL("no error");
    return "";
}

// A target in memory that records its writes; small_writes_merge() as told.
class MemoryTarget : public Volume {
public:
    MemoryTarget(uint64_t size, bool merges) : bytes(size, 0), merges_(merges) {}
    uint64_t size() const override { return bytes.size(); }
    uint32_t block_size() const override { return 4096; }
    bool small_writes_merge() const override { return merges_; }
    std::vector<Extent> extents(uint64_t offset, uint64_t length) override { return {{offset, length, true}}; }
    void read(uint64_t, void*, size_t) override { FAIL("read of the target"); }
    void write(uint64_t offset, const void* buf, size_t length) override {
        std::memcpy(bytes.data() + offset, buf, length);
        writes.push_back(length);
    }
    bool zero(uint64_t offset, uint64_t length) override {
        std::memset(bytes.data() + offset, 0, length);
        return true;
    }
    void flush() override {}
    bool is_new() const override { return true; }
    std::string describe() const override { return "memory"; }
    std::vector<unsigned char> bytes;
    std::vector<size_t> writes;

private:
    bool merges_;
};

}  // namespace

TEST_CASE("a whole read restores the image and its digest; a wrong chunk that seals fails it before the end") {
    for (bool encrypted : {false, true}) {
        DYNAMIC_SECTION((encrypted ? "encrypted" : "plain")) {
            Fixture f(encrypted);
            f.store("g/t/d");
            IndexReader index(f.repo->store(), Repository::index_key("g/t/d"), "repo:g/t/d", f.repo->sealer());
            auto good = test::decode(f.read("g/t/d", false));
            CHECK(good.image == f.image);
            CHECK(stream::digest_hex(good.stats.digest) == index.trailer().digest);
            CHECK(f.read("g/t/d", true) == std::string(f.image.begin(), f.image.end()));

            f.make_chunk_wrong("g/t/d", kBad);
            const std::string where = "repo:g/t/d: chunk 5 at offset " + std::to_string(kBad * kChunk);
            // Stream: the digest differs, the chunk is found, the trailer withheld.
            CHECK_THAT(error_of([&] { f.read("g/t/d", false); }),
                       Catch::Contains(where) && Catch::Contains("do not hash to its id"));
            CHECK_THAT(error_of([&] { test::decode(f.sink.bytes); }), Catch::Contains("without a trailer"));
            // Raw: checked the same way; the read fails.
            CHECK_THAT(error_of([&] { f.read("g/t/d", true); }), Catch::Contains(where));
            // A partial read (--size) cannot check the digest: every chunk is
            // hashed, and nothing of the wrong chunk comes out.
            CHECK_THAT(error_of([&] { f.read("g/t/d", true, 9 * kChunk); }),
                       Catch::Contains(where) && Catch::Contains("do not hash to its id"));
            CHECK(f.sink.bytes.size() <= kBad * kChunk);
            CHECK(std::memcmp(f.sink.bytes.data(), f.image.data(), f.sink.bytes.size()) == 0);
        }
    }
}

TEST_CASE("an image whose index records another digest does not restore, though every chunk is sound") {
    Fixture f(false);
    f.store("g/t/d", std::string(32, '0'));
    CHECK_THAT(error_of([&] { f.read("g/t/d", false); }),
               Catch::Contains("repo:g/t/d: the image as read has digest") && Catch::Contains("every chunk"));
    CHECK_THAT(error_of([&] { test::decode(f.sink.bytes); }), Catch::Contains("without a trailer"));
    CHECK_THAT(error_of([&] { f.read("g/t/d", true); }), Catch::Contains("its index records " + std::string(32, '0')));
    // A reader that does not check the digest gets the (sound) chunks.
    CHECK(f.read("g/t/d", true, kSize - 1) == std::string(f.image.begin(), f.image.end() - 1));
}

TEST_CASE("a one-process restore (zadp-write --source repo:) writes the image with its holes and checks its digest") {
    for (bool encrypted : {false, true}) {
        DYNAMIC_SECTION((encrypted ? "encrypted" : "plain")) {
            Fixture f(encrypted);
            f.store("g/t/d");
            IndexReader index(f.repo->store(), Repository::index_key("g/t/d"), "repo:g/t/d", f.repo->sealer());
            const std::string out = f.dir + "/out.img";
            auto result = f.copy("g/t/d", out);
            CHECK(file_bytes(out) == std::string(f.image.begin(), f.image.end()));
            CHECK(stream::digest_hex(result.stats.digest) == index.trailer().digest);
            CHECK(result.stats.zero_bytes == 2 * kChunk);  // chunks 3 and 7
            CHECK(result.stats.data_bytes == kSize - 2 * kChunk);
            // The two hole chunks were not written (a file system may round
            // allocation up, never by a whole 64 KiB chunk here).
            CHECK(allocated_bytes(out) < kSize - kChunk);

            // A chunk that seals but holds other bytes: the digest differs,
            // the chunk is named, and the new file never appears.
            f.make_chunk_wrong("g/t/d", kBad);
            const std::string bad = f.dir + "/bad.img";
            CHECK_THAT(error_of([&] { f.copy("g/t/d", bad); }),
                       Catch::Contains("repo:g/t/d: chunk 5 at offset " + std::to_string(kBad * kChunk)) &&
                           Catch::Contains("do not hash to its id"));
            CHECK_FALSE(std::filesystem::exists(bad));
        }
    }
}

TEST_CASE("a one-process restore of an image whose index records another digest fails and leaves no file") {
    Fixture f(false);
    f.store("g/t/d", std::string(32, '0'));
    const std::string out = f.dir + "/out.img";
    CHECK_THAT(error_of([&] { f.copy("g/t/d", out); }), Catch::Contains("its index records " + std::string(32, '0')));
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("lend serves a chunk's bytes from the chunk as loaded, null for a zero chunk, and no range across chunks") {
    for (bool encrypted : {false, true}) {
        DYNAMIC_SECTION((encrypted ? "encrypted" : "plain")) {
            Fixture f(encrypted);
            f.store("g/t/d");
            ImageReader r(*f.repo, "g/t/d");
            for (uint64_t c = 0; c * kChunk < kSize; ++c) {
                const uint64_t start = c * kChunk, length = std::min<uint64_t>(kChunk, kSize - start);
                const unsigned char* whole = r.lend(start, length);
                if (c == 3 || c == 7) {
                    CHECK(whole == nullptr);
                    continue;
                }
                REQUIRE(whole != nullptr);
                CHECK(std::memcmp(whole, f.image.data() + start, length) == 0);
                // A part of the same chunk points into the same bytes.
                CHECK(r.lend(start + 100, 1000) == whole + 100);
            }
            for (uint64_t at : {uint64_t{kChunk} - 10, kSize - 10}) {
                try {
                    r.lend(at, 20);
                    FAIL("lend across a chunk boundary or the end succeeded");
                } catch (const Error& e) {
                    CHECK(e.code() == kExitIo);
                }
            }
            // Back to the start: loaded again, the same bytes.
            CHECK(std::memcmp(r.lend(0, kChunk), f.image.data(), kChunk) == 0);
        }
    }
}

TEST_CASE("a damaged chunk fails lend as it fails read, naming its offset") {
    Fixture f(false);
    f.store("g/t/d");
    f.make_chunk_wrong("g/t/d", kBad);
    ImageReader r(*f.repo, "g/t/d");  // no digest promised: every chunk hashed
    CHECK(std::memcmp(r.lend(0, kChunk), f.image.data(), kChunk) == 0);
    CHECK_THAT(error_of([&] { r.lend(kBad * kChunk, kChunk); }),
               Catch::Contains("chunk 5 at offset " + std::to_string(kBad * kChunk)));
}

TEST_CASE("a one-process restore writes chunks as lent only where small writes merge, else in runs of several") {
    Fixture f(false);
    f.store("g/t/d");
    VolumeOptions options;
    options.repo = f.dir + "/r";
    for (bool merges : {true, false}) {
        auto source = open_volume("repo:g/t/d", OpenMode::Read, options);
        MemoryTarget target(kSize, merges);
        copy_volume(*source, target, ProgressMode::kOff);
        CHECK(target.bytes == f.image);
        // Data in chunks 0-2, 4-6 and 8-10 (3 and 7 are holes).
        if (merges)
            CHECK(target.writes.size() == 9);  // one a chunk, from the chunk itself
        else
            CHECK(target.writes == std::vector<size_t>{3 * kChunk, 3 * kChunk, 2 * kChunk + 5000});
    }
}
