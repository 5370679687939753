// The file transport: holes from SEEK_DATA/SEEK_HOLE, new files under a
// temporary name until commit, zeroing of existing files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/file_volume.h"
#include "libcommon/block/open_volume.h"

namespace fs = std::filesystem;
using namespace hci;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "zadp-fv.XXXXXX").string();
        path = mkdtemp(t.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

void write_at(const fs::path& p, uint64_t offset, const std::string& bytes) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

}  // namespace

TEST_CASE("file volume: extents follow the holes of a sparse file", "[file_volume]") {
    TempDir d;
    fs::path img = d.path / "sparse.img";
    write_at(img, 1 << 20, std::string(8192, 'x'));
    fs::resize_file(img, 4 << 20);
    auto v = open_volume(img.string(), OpenMode::Read, {});
    REQUIRE(v->size() == (4u << 20));
    auto ex = v->extents(0, v->size());
    uint64_t allocated = 0, covered = 0;
    for (const auto& e : ex) {
        REQUIRE(e.offset == covered);
        covered += e.length;
        if (e.allocated) allocated += e.length;
    }
    REQUIRE(covered == v->size());
    REQUIRE(allocated >= 8192);
    REQUIRE(allocated < (1u << 20));
    std::vector<char> buf(8192);
    v->read(1 << 20, buf.data(), buf.size());
    REQUIRE(buf[0] == 'x');
}

TEST_CASE("file volume: a new file appears only on commit", "[file_volume]") {
    TempDir d;
    fs::path out = d.path / "new.img";
    VolumeOptions o;
    o.create = true;
    o.create_size = 1 << 20;
    {
        auto v = open_volume(out.string(), OpenMode::Write, o);
        v->write(0, "abcd", 4);
        REQUIRE_FALSE(fs::exists(out));
        REQUIRE(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 1);
    }
    REQUIRE(fs::is_empty(d.path));  // dropped without commit: the temporary file is gone
    {
        auto v = open_volume(out.string(), OpenMode::Write, o);
        v->write(0, "abcd", 4);
        REQUIRE(v->zero(4096, 8192));
        v->flush();
        v->commit();
    }
    REQUIRE(fs::file_size(out) == (1u << 20));
    REQUIRE(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 1);
}

TEST_CASE("file volume: zero() on an existing file reads back as zeros", "[file_volume]") {
    TempDir d;
    fs::path img = d.path / "old.img";
    write_at(img, 0, std::string(64 << 10, 'y'));
    {
        auto v = open_volume(img.string(), OpenMode::Write, {});
        REQUIRE(v->zero(4096, 16384));
        v->flush();
    }
    auto v = open_volume(img.string(), OpenMode::Read, {});
    std::vector<char> buf(64 << 10);
    v->read(0, buf.data(), buf.size());
    REQUIRE(buf[4095] == 'y');
    REQUIRE(buf[4096] == 0);
    REQUIRE(buf[4096 + 16383] == 0);
    REQUIRE(buf[4096 + 16384] == 'y');
}

TEST_CASE("file volume: writes past the end of an existing target fail", "[file_volume]") {
    TempDir d;
    fs::path img = d.path / "small.img";
    write_at(img, 0, std::string(4096, 'z'));
    auto v = open_volume(img.string(), OpenMode::Write, {});
    REQUIRE_THROWS_AS(v->write(4096, "x", 1), Error);
}

TEST_CASE("file volume: missing sources and bad URLs have distinct errors", "[file_volume]") {
    try {
        open_volume("/nonexistent/zadp.img", OpenMode::Read, {});
        FAIL("opened a missing file");
    } catch (const Error& e) {
        REQUIRE(e.code() == kExitNotFound);
    }
    REQUIRE_THROWS_AS(open_volume("nbd://host/x", OpenMode::Read, {}), Error);
    REQUIRE_THROWS_AS(open_volume("-", OpenMode::Read, {}), Error);
}
