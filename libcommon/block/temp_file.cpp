#include "libcommon/block/temp_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "libcommon/base/error.h"
#include "libcommon/base/interrupt.h"

namespace hci {
namespace {

// True when another open file description holds a lock on `path`.
bool locked_by_other(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return false;
    bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return locked;
}

const std::string kTempMark = ".zadp-tmp.";

// A temporary file of `base` as TempFile names it: ".BASE.zadp-tmp.XXXXXX".
bool is_temp_of(const std::string& name, const std::string& base) {
    std::string prefix = "." + base + kTempMark;
    return name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void fail_busy(const std::string& path, const std::string& why) {
    fail(kExitIo, path + " is " + why + "; refusing to write to it at the same time");
}

DirectoryLock::DirectoryLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    // Best effort: without read access to the directory the file locks still hold.
    if (fd_ >= 0) (void)::flock(fd_, LOCK_EX);
}

DirectoryLock::~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
}

void refuse_concurrent_writer(const std::string& path) {
    if (locked_by_other(path)) fail_busy(path, "being written by another process (it holds the write lock)");
    const std::filesystem::path p(path);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    const std::string base = p.filename().string();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::string busy;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (is_temp_of(name, base) && locked_by_other((std::filesystem::path(dir) / name).string())) {
            busy = name;
            break;
        }
    }
    ::closedir(d);
    if (!busy.empty()) fail_busy(path, "being created by another process (its temporary file " + busy + " is locked)");
}

void lock_for_writing(int fd, const std::string& path) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) fail_busy(path, "being written by another process (it holds the write lock)");
    fail(kExitIo, "lock " + path + ": " + errno_text(err));
}

TempFile::TempFile(const std::string& final_path) : final_path_(final_path) {
    const std::filesystem::path path(final_path);
    dir_ = path.has_parent_path() ? path.parent_path().string() : ".";
    // Appended in order, not "." + a temporary string: GCC 12 -O3 misreads
    // that insert at the front as an overlapping copy (-Wrestrict).
    std::string leaf = ".";
    leaf += path.filename().string();
    leaf += kTempMark;
    leaf += "XXXXXX";
    std::string name = (std::filesystem::path(dir_) / leaf).string();
    DirectoryLock guard(dir_);
    refuse_concurrent_writer(final_path);
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0)
        fail(errno == ENOENT ? kExitNotFound : kExitIo, "create a temporary file in " + dir_ + ": " + errno_text(errno));
    temp_path_ = name;
    remove_if_killed(temp_path_);
    // mkostemp already made it 0600; the lock marks it as in use until we exit.
    (void)::flock(fd_, LOCK_EX | LOCK_NB);
}

TempFile::~TempFile() {
    if (!committed_) {
        ::unlink(temp_path_.c_str());
        clear_remove_if_killed();
    }
    ::close(fd_);
}

void TempFile::commit() {
    if (committed_) return;
    if (::fsync(fd_) != 0) fail(kExitIo, "sync " + temp_path_ + ": " + errno_text(errno));
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
        fail(kExitIo, "rename " + temp_path_ + " to " + final_path_ + ": " + errno_text(errno));
    published();
}

bool TempFile::commit_new() {
    if (committed_) return true;
    if (::fsync(fd_) != 0) fail(kExitIo, "sync " + temp_path_ + ": " + errno_text(errno));
    if (::link(temp_path_.c_str(), final_path_.c_str()) != 0) {
        if (errno == EEXIST) return false;  // the destructor removes the temporary file
        fail(kExitIo, "link " + temp_path_ + " to " + final_path_ + ": " + errno_text(errno));
    }
    ::unlink(temp_path_.c_str());
    published();
    return true;
}

void TempFile::published() {
    committed_ = true;
    clear_remove_if_killed();
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace hci
