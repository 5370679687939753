// The repository against races and planted files: two processes that
// claim one new group for two VMs, or store one name at once, leave exactly
// one winner; the files the repository creates never follow a link another
// user planted, and its private files are 0600 whatever the umask.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/local_files.h"
#include "libcommon/block/repo/image.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

// Runs each job in its own forked process (as two zadp-write runs would),
// released together through a pipe; returns their exit codes.
std::vector<int> race(const std::vector<std::function<void()>>& jobs) {
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    std::vector<pid_t> pids;
    for (const auto& job : jobs) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(gate[1]);
            char c;
            (void)::read(gate[0], &c, 1);  // returns at EOF: every child starts at once
            int code = exit_code_of(job);
            ::_exit(code);
        }
        pids.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);
    std::vector<int> codes;
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return codes;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%o", static_cast<unsigned>(st.st_mode & 07777));
    return buf;
}

}  // namespace

TEST_CASE("two first stores of different VMs into one new group: exactly one claims it", "[repo-races]") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    for (int round = 0; round < 30; ++round) {
        std::string group = "g";  // appended: "g" + a temporary trips GCC 12's -Wrestrict at -O3
        group += std::to_string(round);
        auto claim = [&](const std::string& vm) {
            return [&, vm] { Repository::open(repo_dir, {})->claim_group(group, vm); };
        };
        auto codes = race({claim("vm-a"), claim("vm-b")});
        INFO("round " << round << ": exits " << codes[0] << " " << codes[1]);
        REQUIRE(std::count(codes.begin(), codes.end(), 0) == 1);
        REQUIRE(std::count(codes.begin(), codes.end(), int(kExitUsage)) == 1);
        std::string winner = codes[0] == 0 ? "vm-a\n" : "vm-b\n";
        CHECK(read_file(repo_dir + "/backups/" + group + "/.vm-id") == winner);
    }
}

TEST_CASE("two put-blobs of one name at once: one stores it, the other is refused", "[repo-races]") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    for (int round = 0; round < 30; ++round) {
        std::string name = "g/t" + std::to_string(round) + "/vm.json";
        auto put = [&](char fill) {
            return [&, fill] { Repository::open(repo_dir, {})->put_blob(name, std::vector<unsigned char>(5000, fill)); };
        };
        auto codes = race({put('a'), put('b')});
        INFO("round " << round << ": exits " << codes[0] << " " << codes[1]);
        REQUIRE(std::count(codes.begin(), codes.end(), 0) == 1);
        REQUIRE(std::count(codes.begin(), codes.end(), int(kExitUsage)) == 1);
        auto got = Repository::open(repo_dir, {})->get_blob(name);
        CHECK(got == std::vector<unsigned char>(5000, codes[0] == 0 ? 'a' : 'b'));  // the winner's bytes
    }
    // No temporary file is left behind by the loser.
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo_dir + "/backups"))
        CHECK(e.path().filename().string().rfind(".tmp.", 0) != 0);
}

TEST_CASE("two stores of one image name committing at once: one index wins", "[repo-races]") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    for (int round = 0; round < 10; ++round) {
        std::string name = "g/t" + std::to_string(round) + "/disk0";
        auto store = [&](unsigned char fill) {
            return [&, fill] {
                auto repo = Repository::open(repo_dir, {});
                std::vector<unsigned char> image(200000, fill);
                ImageWriter w(*repo, name, image.size(), 512, "{}");
                w.write(0, image.data(), image.size());
                w.commit();
            };
        };
        auto codes = race({store(1), store(2)});
        INFO("round " << round << ": exits " << codes[0] << " " << codes[1]);
        REQUIRE(std::count(codes.begin(), codes.end(), 0) == 1);
        // The loser: "exists already" (2), or "being written by another
        // process" (7) while the winner's temporary index is locked.
        int loser = codes[0] == 0 ? codes[1] : codes[0];
        REQUIRE((loser == kExitUsage || loser == kExitIo));
        auto repo = Repository::open(repo_dir, {});
        ImageReader r(*repo, name);
        std::vector<unsigned char> got(200000);
        r.read(0, got.data(), got.size());
        CHECK(got == std::vector<unsigned char>(200000, codes[0] == 0 ? 1 : 2));
    }
}

TEST_CASE("new files: unpredictable names, create-only or replacing, never through a planted link", "[repo-races]") {
    TempDir dir;
    std::string path = dir.path + "/file";
    std::string victim = dir.path + "/victim";
    std::ofstream(victim) << "victim";
    {
        NewFile a(path), b(path);
        CHECK(a.temp_path() != b.temp_path());
        CHECK(std::filesystem::path(a.temp_path()).filename().string().rfind(".tmp.file.", 0) == 0);
        a.write("one", 3);
        b.write("two", 3);
        CHECK(a.create_only());
        CHECK_FALSE(b.create_only());  // never replaces
        CHECK(read_file(path) == "one");
    }
    write_file_atomic(path, "three", 5);
    CHECK(read_file(path) == "three");
    // A link planted at the final name is replaced, not followed.
    std::filesystem::remove(path);
    std::filesystem::create_symlink(victim, path);
    write_file_atomic(path, "four", 4);
    CHECK(read_file(victim) == "victim");
    CHECK(!std::filesystem::is_symlink(path));
    // Every temporary file was published or removed.
    for (const auto& e : std::filesystem::directory_iterator(dir.path))
        CHECK(e.path().filename().string().rfind(".tmp.", 0) != 0);
}

TEST_CASE("key, config and lock are 0600 whatever the umask", "[repo-races]") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    mode_t old = ::umask(0);
    KeySource keys;
    keys.passphrase = "a passphrase";
    keys.has_passphrase = true;
    Repository::init(repo_dir, 65536, true, keys);
    ::umask(old);
    CHECK(mode_of(repo_dir + "/key") == "600");
    CHECK(mode_of(repo_dir + "/config") == "600");
    CHECK(mode_of(repo_dir + "/lock") == "600");
}

TEST_CASE("a directory link another user made is not followed; the admin's own is", "[repo-races]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to give a link another owner");
        return;
    }
    TempDir dir;
    std::filesystem::create_directory(dir.path + "/real");
    std::filesystem::create_directory_symlink(dir.path + "/real", dir.path + "/mine");
    std::filesystem::create_directory_symlink(dir.path + "/real", dir.path + "/planted");
    REQUIRE(::lchown((dir.path + "/planted").c_str(), 65534, 65534) == 0);
    int fd = open_directory(dir.path + "/mine");
    CHECK(fd >= 0);
    ::close(fd);
    CHECK(open_directory(dir.path + "/planted") < 0);
    CHECK(exit_code_of([&] { NewFile f(dir.path + "/planted/x"); }) == kExitIo);
    CHECK(std::filesystem::is_empty(dir.path + "/real"));
}
