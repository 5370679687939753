// POSIX file helpers of the local directory store (local_files.h).
#include "libcommon/block/repo/backend/local_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {

std::vector<std::string> list_dir(const std::string& path, bool hidden_too) {
    std::vector<std::string> names;
    DIR* d = ::opendir(path.c_str());
    if (!d) return names;
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || (name[0] == '.' && !hidden_too)) continue;
        names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

void make_dirs(const std::string& path) {
    for (size_t pos = 1; pos != std::string::npos;) {
        pos = path.find('/', pos + 1);
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) fail(kExitIo, "mkdir " + part + ": " + errno_text(errno));
    }
}

int open_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || (errno != ELOOP && errno != ENOTDIR)) return fd;  // a link is ENOTDIR with O_DIRECTORY
    int err = errno;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
        errno = err;
        return -1;
    }
    if (st.st_uid == 0 || st.st_uid == ::geteuid()) return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    errno = ELOOP;  // a link another user made: not followed
    return -1;
}

namespace {

std::pair<std::string, std::string> split_path(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

class DirFd {
public:
    explicit DirFd(const std::string& dir) : fd_(open_directory(dir)) {}
    ~DirFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    DirFd(const DirFd&) = delete;
    DirFd& operator=(const DirFd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

}  // namespace

int create_file_in(const std::string& dir, const std::string& name, int flags, mode_t mode) {
    DirFd d(dir);
    if (d.get() < 0) return -1;
    return ::openat(d.get(), name.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

NewFile::NewFile(const std::string& path, bool private_file) : path_(path) {
    auto [dir, name] = split_path(path);
    DirFd d(dir);
    if (d.get() < 0) fail(errno == ENOENT ? kExitNotFound : kExitIo, "open directory " + dir + ": " + errno_text(errno));
    for (int tries = 0; fd_ < 0; ++tries) {
        unsigned char r[8];
        random_bytes(r, sizeof r);
        temp_name_ = ".tmp." + name + "." + to_hex(r, sizeof r);
        temp_path_ = dir + "/" + temp_name_;
        fd_ = ::openat(d.get(), temp_name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       private_file ? 0600 : 0644);
        if (fd_ < 0 && (errno != EEXIST || tries == 8)) fail(kExitIo, "create " + temp_path_ + ": " + errno_text(errno));
    }
    if (private_file && ::fchmod(fd_, 0600) != 0) {
        int err = errno;
        ::close(fd_);
        ::unlinkat(d.get(), temp_name_.c_str(), 0);
        fail(kExitIo, "chmod " + temp_path_ + ": " + errno_text(err));
    }
    dir_fd_ = d.release();
}

NewFile::~NewFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_name_.empty()) ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    ::close(dir_fd_);
}

void NewFile::write(const void* data, size_t length) { write_fd_all(fd_, data, length, temp_path_); }

void NewFile::close_file(bool sync) {
    if (sync && ::fsync(fd_) != 0) fail(kExitIo, "sync " + temp_path_ + ": " + errno_text(errno));
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail(kExitIo, "write " + temp_path_ + ": " + errno_text(errno));
}

void NewFile::replace(bool sync) {
    close_file(sync);
    std::string name = split_path(path_).second;
    if (::renameat(dir_fd_, temp_name_.c_str(), dir_fd_, name.c_str()) != 0)
        fail(kExitIo, "rename " + temp_path_ + " to " + path_ + ": " + errno_text(errno));
    temp_name_.clear();
    if (sync) ::fsync(dir_fd_);
}

bool NewFile::create_only(bool sync) {
    close_file(sync);
    std::string name = split_path(path_).second;
    // link() never replaces: of two writers racing for one name, one wins.
    if (::linkat(dir_fd_, temp_name_.c_str(), dir_fd_, name.c_str(), 0) != 0) {
        if (errno == EEXIST) return false;
        fail(kExitIo, "link " + temp_path_ + " to " + path_ + ": " + errno_text(errno));
    }
    ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    temp_name_.clear();
    if (sync) ::fsync(dir_fd_);
    return true;
}

void write_file_atomic(const std::string& path, const void* data, size_t length, bool private_file) {
    NewFile file(path, private_file);
    file.write(data, length);
    file.replace();
}

std::string read_small_file(const std::string& path, size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(errno == ENOENT ? kExitNotFound : kExitIo, "open " + path + ": " + errno_text(errno));
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            fail(kExitIo, "read " + path + ": " + errno_text(err));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > limit) {
            ::close(fd);
            fail(kExitIntegrity, path + " is larger than " + std::to_string(limit) + " bytes");
        }
    }
    ::close(fd);
    return text;
}


void sync_file_system(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(kExitIo, "open " + dir + ": " + errno_text(errno));
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) fail(kExitIo, "sync " + dir + ": " + errno_text(err));
}

int lock_file(const std::string& path, bool exclusive, bool wait) {
    auto [dir, name] = split_path(path);
    DirFd d(dir);
    if (d.get() < 0) fail(kExitIo, "open " + dir + ": " + errno_text(errno));
    int fd = ::openat(d.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = ::openat(d.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) (void)::fchmod(fd, 0600);  // whatever the umask
        else if (errno == EEXIST) fd = ::openat(d.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    }
    // A reader that may not write the repository (or a read-only mount):
    // flock works on a read-only descriptor too.
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
        fd = ::openat(d.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP) fail(kExitIo, path + " is a symbolic link; refusing to follow it (remove it)");
        fail(kExitIo, "open " + path + ": " + errno_text(errno));
    }
    while (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK && !wait) return -1;
        fail(kExitIo, "lock " + path + ": " + errno_text(err));
    }
    return fd;
}

}  // namespace hci::repo
