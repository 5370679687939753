// The iSCSI transport against a real, private tgtd on 127.0.0.1 (sim::Tgtd,
// the simulator's). These cases are tagged [iscsi] and run as their own
// ctest entry, which reports "skipped" (exit 77) without root or tgt; run
// without that guard they fail, never pass silently.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/iscsi_volume.h"
#include "libsim/tgtd.h"

namespace {

// A private tgtd with a scratch directory for its log and LUN images.
class PrivateTgtd {
public:
    PrivateTgtd() : dir_(make_dir()), tgtd_(dir_ + "/tgtd.log") {
        std::string why = tgtd_.start();
        INFO("tgtd did not start: " << why);
        REQUIRE(why.empty());
    }
    ~PrivateTgtd() {
        tgtd_.stop();
        std::filesystem::remove_all(dir_);
    }
    // A target with one thin-provisioned LUN (1) backed by `file`; `acl` is
    // an initiator IQN or "*" for all.
    void add_target(const std::string& iqn, const std::string& file, const std::string& acl = "*",
                    const std::vector<sim::ChapAccount>& chap = {}) {
        tgtd_.add_target(iqn, acl, chap);
        tgtd_.add_lun(iqn, 1, file);
    }
    std::string url(const std::string& iqn, const std::string& user = "") const {
        return "iscsi://" + (user.empty() ? "" : user + "@") + tgtd_.portal() + "/" + iqn + "/1";
    }
    sim::Tgtd& tgtd() { return tgtd_; }
    const std::string& dir() const { return dir_; }

private:
    static std::string make_dir() {
        char tmpl[] = "/tmp/iscsi-test.XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        return tmpl;
    }
    std::string dir_;
    sim::Tgtd tgtd_;
};

const std::string kIqn = "iqn.2026-11.io.hci-backup.test:lun";
constexpr uint64_t kMiB = 1 << 20;

// A sparse 64 MiB file with data at 1 MiB (3 MiB long), 40 MiB (64 KiB) and the last 512 bytes.
std::string make_sparse_image(const std::string& dir, std::vector<unsigned char>& content) {
    std::string path = dir + "/lun.img";
    content.assign(64 * kMiB, 0);
    std::mt19937 rng(42);
    auto fill = [&](uint64_t off, uint64_t len) {
        for (uint64_t i = off; i < off + len; ++i) content[i] = static_cast<unsigned char>(rng() | 1);
    };
    fill(1 * kMiB, 3 * kMiB);
    fill(40 * kMiB, 64 * 1024);
    fill(64 * kMiB - 512, 512);
    int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 64 * kMiB) == 0);
    for (auto [off, len] : {std::pair<uint64_t, uint64_t>{1 * kMiB, 3 * kMiB}, {40 * kMiB, 64 * 1024},
                            {64 * kMiB - 512, 512}})
        REQUIRE(pwrite(fd, content.data() + off, len, off) == static_cast<ssize_t>(len));
    close(fd);
    return path;
}

// The usual scene: a private tgtd whose target kIqn serves make_sparse_image's LUN.
struct SparseLun {
    PrivateTgtd tgt;
    std::vector<unsigned char> content;
    std::string img;
    explicit SparseLun(const std::string& acl = "*", const std::vector<sim::ChapAccount>& chap = {})
        : img(make_sparse_image(tgt.dir(), content)) {
        tgt.add_target(kIqn, img, acl, chap);
    }
    auto open(hci::OpenMode mode, const hci::VolumeOptions& options = {}) const {
        return hci::open_iscsi_volume(tgt.url(kIqn), mode, options);
    }
};

std::vector<unsigned char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

int error_code(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const hci::Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    return 0;
}

}  // namespace

TEST_CASE("iscsi volume: size, allocation and reads of a thin LUN", "[iscsi]") {
    SparseLun lun;

    hci::VolumeOptions opt;
    opt.queue_depth = 8;
    auto vol = lun.open(hci::OpenMode::Read, opt);
    CHECK(vol->size() == 64 * kMiB);
    CHECK(vol->block_size() == 512);

    // Allocation: contiguous, in order, covering the range; the written
    // ranges are allocated, and most of the LUN is not.
    auto ext = vol->extents(0, vol->size());
    uint64_t pos = 0, allocated = 0;
    for (auto& e : ext) {
        CHECK(e.offset == pos);
        pos += e.length;
        if (e.allocated) allocated += e.length;
    }
    CHECK(pos == vol->size());
    auto is_allocated = [&](uint64_t off) {
        for (auto& e : ext)
            if (off >= e.offset && off < e.offset + e.length) return e.allocated;
        return false;
    };
    CHECK(is_allocated(1 * kMiB));
    CHECK(is_allocated(4 * kMiB - 1));
    CHECK(is_allocated(40 * kMiB));
    CHECK(is_allocated(64 * kMiB - 1));
    CHECK_FALSE(is_allocated(20 * kMiB));
    CHECK(allocated < 8 * kMiB);

    // A sub-range query is clipped to the range.
    auto sub = vol->extents(2 * kMiB, 10 * kMiB);
    REQUIRE(!sub.empty());
    CHECK(sub.front().offset == 2 * kMiB);
    CHECK(sub.back().offset + sub.back().length == 12 * kMiB);

    // One large read is many commands in flight; the content must match.
    std::vector<unsigned char> buf(vol->size());
    for (uint64_t off = 0; off < vol->size(); off += 16 * kMiB) vol->read(off, buf.data() + off, 16 * kMiB);
    CHECK(buf == lun.content);

    // Unaligned reads work too.
    std::vector<unsigned char> small(1000);
    vol->read(1 * kMiB + 77, small.data(), small.size());
    CHECK(std::memcmp(small.data(), lun.content.data() + 1 * kMiB + 77, small.size()) == 0);

    // Read-only means read-only, and the end of the LUN is the end.
    CHECK(error_code([&] { vol->write(0, buf.data(), 512); }) == hci::kExitUsage);
    CHECK(error_code([&] { vol->read(64 * kMiB - 512, buf.data(), 1024); }) == hci::kExitIo);
}

TEST_CASE("iscsi volume: write, zero and flush reach the backing file", "[iscsi]") {
    SparseLun lun;

    auto vol = lun.open(hci::OpenMode::Write);
    std::vector<unsigned char> data(5 * kMiB + 512);
    std::mt19937 rng(7);
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    vol->write(10 * kMiB, data.data(), data.size());
    std::copy(data.begin(), data.end(), lun.content.begin() + 10 * kMiB);

    CHECK(vol->zero(1 * kMiB, 2 * kMiB));  // whole blocks: WRITE SAME with UNMAP
    std::fill(lun.content.begin() + 1 * kMiB, lun.content.begin() + 3 * kMiB, 0);
    // Partial blocks: the transport declines, the copy loop writes zeros.
    CHECK_FALSE(vol->zero(40 * kMiB + 100, 1000));
    std::vector<unsigned char> zeros(1000, 0);
    vol->write(40 * kMiB + 100, zeros.data(), zeros.size());
    std::fill(lun.content.begin() + 40 * kMiB + 100, lun.content.begin() + 40 * kMiB + 1100, 0);
    vol->write(64 * kMiB - 300, data.data(), 300);  // unaligned tail: read-modify-write
    std::copy(data.begin(), data.begin() + 300, lun.content.end() - 300);
    vol->flush();

    CHECK(read_file(lun.img) == lun.content);
    // The zeroed range was deallocated, not written.
    auto ext = vol->extents(1 * kMiB, 2 * kMiB);
    REQUIRE(ext.size() == 1);
    CHECK_FALSE(ext[0].allocated);
}

TEST_CASE("iscsi volume: a dropped connection is re-established", "[iscsi]") {
    SparseLun lun;

    auto vol = lun.open(hci::OpenMode::Read);
    std::vector<unsigned char> buf(vol->size());
    vol->read(0, buf.data(), 8 * kMiB);
    REQUIRE(lun.tgt.tgtd().drop_sessions(kIqn) > 0);
    vol->read(0, buf.data(), vol->size());
    CHECK(buf == lun.content);
}

TEST_CASE("iscsi volume: login refused for an initiator outside the ACL", "[iscsi]") {
    SparseLun lun("iqn.2026-11.example:someone-else");
    hci::VolumeOptions opt;
    opt.initiator_iqn = "iqn.2026-11.example:me";
    std::string msg;
    CHECK(error_code([&] { lun.open(hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitIo);
    WARN("expected refusal: " << msg);
    CHECK(msg.find("iqn.2026-11.example:me") != std::string::npos);
    CHECK(msg.find("login") != std::string::npos);

    opt.initiator_iqn = "iqn.2026-11.example:someone-else";
    CHECK(lun.open(hci::OpenMode::Read, opt)->size() == 64 * kMiB);
}

TEST_CASE("iscsi volume: CHAP", "[iscsi]") {
    SparseLun lun("*", {{"backup", "right-secret-123"}});
    hci::VolumeOptions opt;

    std::string msg;
    CHECK(error_code([&] { hci::open_iscsi_volume(lun.tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitUsage);  // a user but no secret

    opt.chap_secret = "wrong-secret-456";
    CHECK(error_code([&] { hci::open_iscsi_volume(lun.tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitIo);
    WARN("expected refusal: " << msg);
    CHECK(msg.find("wrong-secret-456") == std::string::npos);
    CHECK(msg.find("CHAP") != std::string::npos);

    CHECK(error_code([&] { lun.open(hci::OpenMode::Read, opt); }) == hci::kExitIo);

    opt.chap_secret = "right-secret-123";
    CHECK(hci::open_iscsi_volume(lun.tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt)->size() == 64 * kMiB);
}

TEST_CASE("iscsi volume: a LUN that vanishes fails the read", "[iscsi]") {
    SparseLun lun;
    auto vol = lun.open(hci::OpenMode::Read);
    std::vector<unsigned char> buf(vol->size());
    vol->read(0, buf.data(), kMiB);
    lun.tgt.tgtd().remove_lun(kIqn, 1);
    std::string msg;
    CHECK(error_code([&] { vol->read(0, buf.data(), vol->size()); }, &msg) == hci::kExitIo);
    WARN("expected failure: " << msg);
    CHECK(msg.find("LUN") != std::string::npos);
}

TEST_CASE("iscsi volume: tgtd killed in the middle of a read", "[iscsi]") {
    SparseLun lun;
    auto vol = lun.open(hci::OpenMode::Read);
    std::vector<unsigned char> buf(vol->size());
    std::string msg;
    int code = error_code(
        [&] {
            std::thread killer([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                lun.tgt.tgtd().kill_now();
            });
            try {
                for (int i = 0; i < 1000; ++i) vol->read(0, buf.data(), vol->size());
            } catch (...) {
                killer.join();
                throw;
            }
            killer.join();
        },
        &msg);
    CHECK(code == hci::kExitIo);
    WARN("expected failure: " << msg);
    CHECK(msg.find("reconnect") != std::string::npos);
}

TEST_CASE("iscsi volume: writes in flight survive a dropped connection", "[iscsi]") {
    SparseLun lun;

    auto vol = lun.open(hci::OpenMode::Write);
    std::mt19937 rng(11);
    std::vector<unsigned char> chunk(kMiB);
    for (uint64_t off = 0; off < 32 * kMiB; off += kMiB) {
        for (auto& b : chunk) b = static_cast<unsigned char>(rng());
        vol->write(off, chunk.data(), chunk.size());  // the caller reuses its buffer at once
        std::copy(chunk.begin(), chunk.end(), lun.content.begin() + off);
        if (off == 16 * kMiB) REQUIRE(lun.tgt.tgtd().drop_sessions(kIqn) > 0);
    }
    // Rewrites of one range land in the order they were made.
    for (unsigned char round = 1; round <= 8; ++round) {
        std::fill(chunk.begin(), chunk.end(), round);
        vol->write(5 * kMiB, chunk.data(), chunk.size());
    }
    std::fill(lun.content.begin() + 5 * kMiB, lun.content.begin() + 6 * kMiB, 8);
    vol->flush();
    CHECK(read_file(lun.img) == lun.content);
}
