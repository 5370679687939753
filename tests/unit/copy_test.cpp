// The copy loops end to end in one process: file -> stream -> new file, and
// the raw paths, through the helper threads and the bounded queues.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "libcommon/block/copy.h"
#include "libcommon/block/open_volume.h"
#include "libcommon/base/error.h"
#include "stream_test_util.h"

namespace fs = std::filesystem;
using namespace hci;
using namespace hci::test;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

fs::path make_dir() {
    std::string t = (fs::temp_directory_path() / "zadp-copy.XXXXXX").string();
    return mkdtemp(t.data());
}

// 20 MiB sparse image: random extents, an all-zero allocated block, odd tail.
fs::path make_image(const fs::path& dir) {
    fs::path img = dir / "src.img";
    int fd = ::open(img.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::mt19937 rng(1);
    std::string chunk(300000, '\0');
    for (auto& c : chunk) c = static_cast<char>(rng());
    for (off_t at : {off_t(0), off_t(5 << 20) + 512, off_t(9 << 20), off_t((20 << 20) - 1000)})
        REQUIRE(::pwrite(fd, chunk.data(), at == (20 << 20) - 1000 ? 1000 : chunk.size(), at) > 0);
    std::string zeros(65536, '\0');
    REQUIRE(::pwrite(fd, zeros.data(), zeros.size(), 12 << 20) > 0);
    ::close(fd);
    return img;
}

// A scratch directory holding make_image's image, removed at the end.
struct Scratch {
    fs::path dir = make_dir();
    fs::path img = make_image(dir);
    ~Scratch() { fs::remove_all(dir); }
};

// What zadp-write does: read the header, open the target to fit, write.
WriteResult restore(const std::string& bytes, const fs::path& target, bool raw) {
    MemorySource in(bytes);
    RestoreSource source(in, raw);
    auto volume = open_volume(target.string(), OpenMode::Write, source.target_options({}));
    return write_volume(source, *volume, ProgressMode::kOff);
}

// What zadp-read does: the image at `img` as a stream (or raw) in memory.
stream::Stats backup(const fs::path& img, MemorySink& sink, bool raw) {
    auto src = open_volume(img.string(), OpenMode::Read, {});
    ReadJob job;
    job.raw = raw;
    job.progress = ProgressMode::kOff;
    return read_volume(*src, sink, job);
}

}  // namespace

TEST_CASE("copy: file -> stream -> new file is identical", "[copy]") {
    Scratch s;
    MemorySink sink;
    stream::Stats rs = backup(s.img, sink, false);
    REQUIRE(rs.data_bytes + rs.zero_bytes == fs::file_size(s.img));
    REQUIRE(rs.data_bytes < (2u << 20));  // holes and the zero block were not sent as data

    WriteResult wr = restore(sink.bytes, s.dir / "out.img", false);
    REQUIRE(wr.stats.digest == rs.digest);
    REQUIRE(slurp(s.dir / "out.img") == slurp(s.img));
}

TEST_CASE("copy: a corrupt stream leaves no target behind", "[copy]") {
    Scratch s;
    MemorySink sink;
    backup(s.img, sink, false);
    sink.bytes[sink.bytes.size() - 5] ^= 1;  // inside the trailer's digest
    try {
        restore(sink.bytes, s.dir / "out.img", false);
        FAIL("corrupt stream accepted");
    } catch (const Error& e) {
        REQUIRE(e.code() == kExitIntegrity);
    }
    REQUIRE(std::distance(fs::directory_iterator(s.dir), fs::directory_iterator()) == 1);  // only src.img
}

TEST_CASE("copy: raw image in, growing new file out", "[copy]") {
    Scratch s;
    MemorySink sink;
    backup(s.img, sink, true);
    REQUIRE(sink.bytes == slurp(s.img));
    restore(sink.bytes, s.dir / "raw.img", true);
    REQUIRE(slurp(s.dir / "raw.img") == slurp(s.img));
}
