// The iSCSI transport against a real, private tgtd on 127.0.0.1.
// Without root or tgt installed these cases only warn (Catch2 v2 cannot skip).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/iscsi_volume.h"

extern char** environ;

namespace {

const char* kTgtd = "/usr/sbin/tgtd";
const char* kTgtadm = "/usr/sbin/tgtadm";

bool tgt_usable() {
    if (geteuid() != 0 || access(kTgtd, X_OK) != 0 || access(kTgtadm, X_OK) != 0) {
        WARN("skipped: needs root and tgt (tgtd, tgtadm)");
        return false;
    }
    return true;
}

uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    return pid;
}

// A private tgtd: its own control port, a loopback portal on a free port,
// stopped the documented way (tgtd ignores SIGTERM while targets exist).
class Tgtd {
public:
    Tgtd() {
        char tmpl[] = "/tmp/iscsi-test.XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        dir_ = tmpl;
        port_ = free_port();
        std::mt19937 rng(std::random_device{}());
        do control_ = 20000 + rng() % 12000;  // tgtadm accepts at most 32767
        while (access(("/var/run/tgtd/socket." + std::to_string(control_)).c_str(), F_OK) == 0);
        pid_ = spawn({kTgtd, "-f", "-C", std::to_string(control_), "--iscsi",
                      "portal=127.0.0.1:" + std::to_string(port_)},
                     dir_ + "/tgtd.log");
        for (int i = 0; i < 100 && adm({"--op", "show", "--mode", "sys"}) != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(adm({"--op", "show", "--mode", "sys"}) == 0);
    }
    ~Tgtd() {
        if (pid_ > 0) {
            // tgtd ignores SIGTERM while targets exist, and refuses to
            // delete the system while they have LUNs.
            adm({"--op", "update", "--mode", "sys", "--name", "State", "-v", "offline"});
            for (int tid : tids_) adm({"--op", "delete", "--mode", "target", "--tid", std::to_string(tid), "--force"});
            adm({"--op", "delete", "--mode", "system"});
            for (int i = 0; i < 100 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (kill(pid_, 0) == 0) {
                kill(pid_, SIGKILL);
                waitpid(pid_, nullptr, 0);
            }
        }
        std::string sock = "/var/run/tgtd/socket." + std::to_string(control_);
        unlink(sock.c_str());
        unlink((sock + ".lock").c_str());
        std::string rm = "rm -rf '" + dir_ + "'";
        (void)!system(rm.c_str());
    }
    int adm(std::vector<std::string> args) {
        args.insert(args.begin(), {kTgtadm, "-C", std::to_string(control_), "--lld", "iscsi"});
        pid_t pid = spawn(args, dir_ + "/tgtadm.log");
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    // A target with one thin-provisioned LUN backed by `file`.
    void add_target(int tid, const std::string& iqn, const std::string& file, const std::string& acl = "ALL") {
        std::string t = std::to_string(tid);
        REQUIRE(adm({"--op", "new", "--mode", "target", "--tid", t, "-T", iqn}) == 0);
        tids_.push_back(tid);
        REQUIRE(adm({"--op", "new", "--mode", "logicalunit", "--tid", t, "--lun", "1", "-b", file}) == 0);
        REQUIRE(adm({"--op", "update", "--mode", "logicalunit", "--tid", t, "--lun", "1", "--params",
                     "thin_provisioning=1"}) == 0);
        // -I admits initiator addresses (ALL), -Q initiator names.
        REQUIRE(adm({"--op", "bind", "--mode", "target", "--tid", t, acl == "ALL" ? "-I" : "-Q", acl}) == 0);
    }
    void require_chap(int tid, const std::string& user, const std::string& password) {
        REQUIRE(adm({"--op", "new", "--mode", "account", "--user", user, "--password", password}) == 0);
        REQUIRE(adm({"--op", "bind", "--mode", "account", "--tid", std::to_string(tid), "--user", user}) == 0);
    }
    // Drops every session of a target without stopping tgtd.
    void drop_sessions(int tid) {
        std::string out = dir_ + "/conn.txt";
        std::string cmd = std::string(kTgtadm) + " -C " + std::to_string(control_) +
                          " --lld iscsi --op show --mode conn --tid " + std::to_string(tid) + " > " + out;
        REQUIRE(system(cmd.c_str()) == 0);
        std::ifstream in(out);
        std::string word, sid, cid;
        while (in >> word) {
            if (word == "Session:") in >> sid;
            if (word == "Connection:") {
                in >> cid;
                adm({"--op", "delete", "--mode", "conn", "--tid", std::to_string(tid), "--sid", sid, "--cid", cid});
            }
        }
        REQUIRE(!sid.empty());
    }
    void kill9() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::string url(const std::string& iqn, const std::string& user = "") const {
        return "iscsi://" + (user.empty() ? "" : user + "@") + "127.0.0.1:" + std::to_string(port_) + "/" + iqn +
               "/1";
    }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;
    uint16_t port_ = 0;
    int control_ = 0;
    pid_t pid_ = -1;
    std::vector<int> tids_;
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

TEST_CASE("iscsi volume: size, allocation and reads of a thin LUN") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    std::string img = make_sparse_image(tgt.dir(), content);
    tgt.add_target(1, kIqn, img);

    hci::VolumeOptions opt;
    opt.queue_depth = 8;
    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, opt);
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

    // One large read is many commands in flight; content must match.
    std::vector<unsigned char> buf(vol->size());
    for (uint64_t off = 0; off < vol->size(); off += 16 * kMiB) vol->read(off, buf.data() + off, 16 * kMiB);
    CHECK(buf == content);

    // Unaligned reads work too.
    std::vector<unsigned char> small(1000);
    vol->read(1 * kMiB + 77, small.data(), small.size());
    CHECK(std::memcmp(small.data(), content.data() + 1 * kMiB + 77, small.size()) == 0);

    // Read-only means read-only, and the end of the LUN is the end.
    CHECK(error_code([&] { vol->write(0, buf.data(), 512); }) == hci::kExitUsage);
    CHECK(error_code([&] { vol->read(64 * kMiB - 512, buf.data(), 1024); }) == hci::kExitIo);
}

TEST_CASE("iscsi volume: write, zero and flush reach the backing file") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    std::string img = make_sparse_image(tgt.dir(), content);
    tgt.add_target(1, kIqn, img);

    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Write, {});
    std::vector<unsigned char> data(5 * kMiB + 512);
    std::mt19937 rng(7);
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    vol->write(10 * kMiB, data.data(), data.size());
    std::copy(data.begin(), data.end(), content.begin() + 10 * kMiB);

    CHECK(vol->zero(1 * kMiB, 2 * kMiB));  // whole blocks: WRITE SAME with UNMAP
    std::fill(content.begin() + 1 * kMiB, content.begin() + 3 * kMiB, 0);
    // Partial blocks: the transport declines, the copy loop writes zeros.
    CHECK_FALSE(vol->zero(40 * kMiB + 100, 1000));
    std::vector<unsigned char> zeros(1000, 0);
    vol->write(40 * kMiB + 100, zeros.data(), zeros.size());
    std::fill(content.begin() + 40 * kMiB + 100, content.begin() + 40 * kMiB + 1100, 0);
    vol->write(64 * kMiB - 300, data.data(), 300);  // unaligned tail: read-modify-write
    std::copy(data.begin(), data.begin() + 300, content.end() - 300);
    vol->flush();

    CHECK(read_file(img) == content);
    // The zeroed range was deallocated, not written.
    auto ext = vol->extents(1 * kMiB, 2 * kMiB);
    REQUIRE(ext.size() == 1);
    CHECK_FALSE(ext[0].allocated);
}

TEST_CASE("iscsi volume: a dropped connection is re-established") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    std::string img = make_sparse_image(tgt.dir(), content);
    tgt.add_target(1, kIqn, img);

    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, {});
    std::vector<unsigned char> buf(vol->size());
    vol->read(0, buf.data(), 8 * kMiB);
    tgt.drop_sessions(1);
    vol->read(0, buf.data(), vol->size());
    CHECK(buf == content);
}

TEST_CASE("iscsi volume: login refused for an initiator outside the ACL") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    tgt.add_target(1, kIqn, make_sparse_image(tgt.dir(), content), "iqn.2026-11.example:someone-else");
    hci::VolumeOptions opt;
    opt.initiator_iqn = "iqn.2026-11.example:me";
    std::string msg;
    CHECK(error_code([&] { hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitIo);
    WARN("expected refusal: " << msg);
    CHECK(msg.find("iqn.2026-11.example:me") != std::string::npos);
    CHECK(msg.find("login") != std::string::npos);

    opt.initiator_iqn = "iqn.2026-11.example:someone-else";
    CHECK(hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, opt)->size() == 64 * kMiB);
}

TEST_CASE("iscsi volume: CHAP") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    tgt.add_target(1, kIqn, make_sparse_image(tgt.dir(), content));
    tgt.require_chap(1, "backup", "right-secret-123");
    hci::VolumeOptions opt;

    std::string msg;
    CHECK(error_code([&] { hci::open_iscsi_volume(tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitUsage);  // a user but no secret

    opt.chap_secret = "wrong-secret-456";
    CHECK(error_code([&] { hci::open_iscsi_volume(tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt); }, &msg) ==
          hci::kExitIo);
    WARN("expected refusal: " << msg);
    CHECK(msg.find("wrong-secret-456") == std::string::npos);
    CHECK(msg.find("CHAP") != std::string::npos);

    CHECK(error_code([&] { hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, opt); }) == hci::kExitIo);

    opt.chap_secret = "right-secret-123";
    CHECK(hci::open_iscsi_volume(tgt.url(kIqn, "backup"), hci::OpenMode::Read, opt)->size() == 64 * kMiB);
}

TEST_CASE("iscsi volume: a LUN that vanishes fails the read") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    tgt.add_target(1, kIqn, make_sparse_image(tgt.dir(), content));
    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, {});
    std::vector<unsigned char> buf(vol->size());
    vol->read(0, buf.data(), kMiB);
    REQUIRE(tgt.adm({"--op", "delete", "--mode", "logicalunit", "--tid", "1", "--lun", "1"}) == 0);
    std::string msg;
    CHECK(error_code([&] { vol->read(0, buf.data(), vol->size()); }, &msg) == hci::kExitIo);
    WARN("expected failure: " << msg);
    CHECK(msg.find("LUN") != std::string::npos);
}

TEST_CASE("iscsi volume: tgtd killed in the middle of a read") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    tgt.add_target(1, kIqn, make_sparse_image(tgt.dir(), content));
    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Read, {});
    std::vector<unsigned char> buf(vol->size());
    std::string msg;
    int code = error_code(
        [&] {
            std::thread killer([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                tgt.kill9();
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

TEST_CASE("iscsi volume: writes in flight survive a dropped connection") {
    if (!tgt_usable()) return;
    Tgtd tgt;
    std::vector<unsigned char> content;
    std::string img = make_sparse_image(tgt.dir(), content);
    tgt.add_target(1, kIqn, img);

    auto vol = hci::open_iscsi_volume(tgt.url(kIqn), hci::OpenMode::Write, {});
    std::mt19937 rng(11);
    std::vector<unsigned char> chunk(kMiB);
    for (uint64_t off = 0; off < 32 * kMiB; off += kMiB) {
        for (auto& b : chunk) b = static_cast<unsigned char>(rng());
        vol->write(off, chunk.data(), chunk.size());  // the caller reuses its buffer at once
        std::copy(chunk.begin(), chunk.end(), content.begin() + off);
        if (off == 16 * kMiB) tgt.drop_sessions(1);
    }
    // Rewrites of one range land in the order they were made.
    for (unsigned char round = 1; round <= 8; ++round) {
        std::fill(chunk.begin(), chunk.end(), round);
        vol->write(5 * kMiB, chunk.data(), chunk.size());
    }
    std::fill(content.begin() + 5 * kMiB, content.begin() + 6 * kMiB, 8);
    vol->flush();
    CHECK(read_file(img) == content);
}
