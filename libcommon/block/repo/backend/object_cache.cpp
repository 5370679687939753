#include "libcommon/block/repo/backend/object_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/s3/sigv4.h"

namespace hci::repo {
namespace {

uint64_t file_size(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool bytes_hash_to(int fd, const std::string& etag) {
    return s3::file_md5_hex(fd, file_size(fd)) == etag;
}

void make_private_dirs(const std::string& path) {
    for (size_t slash = 1;; ++slash) {
        slash = path.find('/', slash);
        std::string part = path.substr(0, slash);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            fail(kExitIo, "cannot make the cache directory " + part + ": " + errno_text(errno));
        if (slash == std::string::npos) return;
    }
}

class FileReader : public ObjectReader {
public:
    FileReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
    ~FileReader() override { ::close(fd_); }
    uint64_t size() const override { return size_; }
    size_t read(uint64_t offset, size_t length, unsigned char* out) override {
        size_t done = 0;
        while (done < length && offset + done < size_) {
            ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail(kExitIo, "cannot read a cached or downloaded object: " + errno_text(errno));
            if (n == 0) break;
            done += static_cast<size_t>(n);
        }
        return done;
    }

private:
    int fd_;
    uint64_t size_;
};

}  // namespace

ObjectCache::ObjectCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
    make_private_dirs(dir_);
}

bool ObjectCache::checkable(const std::string& etag) {
    return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string ObjectCache::path_of(const std::string& key, const std::string& etag) const {
    return dir_ + "/" + s3::sha256_hex(key).substr(0, 40) + "-" + etag;
}

int ObjectCache::open(const std::string& key, const std::string& etag) {
    if (!checkable(etag)) return -1;
    std::string path = path_of(key, etag);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    if (!bytes_hash_to(fd, etag)) {
        ::close(fd);
        ::unlink(path.c_str());
        ++damaged_;
        log_warning("the cached copy of " + key + " in " + dir_ + " was damaged; downloading it again");
        return -1;
    }
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // recently used
    ++hits_;
    return fd;
}

std::optional<std::vector<unsigned char>> ObjectCache::open_part(const std::string& key, const std::string& etag) {
    if (!checkable(etag)) return std::nullopt;
    std::string path = path_of(key + "#part", etag);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return std::nullopt;
    std::vector<unsigned char> bytes(file_size(fd));
    ssize_t n = bytes.empty() ? 0 : ::pread(fd, bytes.data(), bytes.size(), 0);
    ::close(fd);
    // The part's bytes, then the hex MD5 of them.
    bool intact = n == static_cast<ssize_t>(bytes.size()) && bytes.size() >= 32 &&
                  s3::md5_hex(bytes.data(), bytes.size() - 32) ==
                      std::string(bytes.end() - 32, bytes.end());
    if (!intact) {
        ::unlink(path.c_str());
        ++damaged_;
        log_warning("the cached part of " + key + " in " + dir_ + " was damaged; downloading it again");
        return std::nullopt;
    }
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
    ++hits_;
    bytes.resize(bytes.size() - 32);
    return bytes;
}

void ObjectCache::keep_part(const std::string& key, const std::string& etag, const unsigned char* data, size_t length) {
    if (!checkable(etag)) return;
    auto in = begin();
    std::string md5 = s3::md5_hex(data, length);
    bool written = ::pwrite(in.fd, data, length, 0) == static_cast<ssize_t>(length) &&
                   ::pwrite(in.fd, md5.data(), md5.size(), static_cast<off_t>(length)) == static_cast<ssize_t>(md5.size());
    ::close(in.fd);
    if (!written || ::rename(in.path.c_str(), path_of(key + "#part", etag).c_str()) != 0) {
        ::unlink(in.path.c_str());
        return;
    }
    evict();
}

ObjectCache::Incoming ObjectCache::begin() {
    Incoming in;
    in.path = dir_ + "/.incoming-XXXXXX";
    in.fd = ::mkostemp(in.path.data(), O_CLOEXEC);
    if (in.fd < 0) fail(kExitIo, "cannot write into the cache directory " + dir_ + ": " + errno_text(errno));
    return in;
}

void ObjectCache::discard(Incoming in) {
    if (in.fd >= 0) ::close(in.fd);
    ::unlink(in.path.c_str());
}

int ObjectCache::publish(Incoming in, const std::string& key, const std::string& etag) {
    if (!checkable(etag) || !bytes_hash_to(in.fd, etag)) {
        discard(std::move(in));
        return -1;
    }
    ::close(in.fd);
    std::string path = path_of(key, etag);
    if (::rename(in.path.c_str(), path.c_str()) != 0) {
        ::unlink(in.path.c_str());
        return -1;
    }
    evict();
    return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

// The least recently used files go until the rest fit the bound.
void ObjectCache::evict() {
    struct File {
        std::string path;
        uint64_t size;
        int64_t used;
    };
    std::vector<File> files;
    uint64_t total = 0;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return;
    const time_t an_hour_ago = ::time(nullptr) - 3600;
    while (dirent* e = ::readdir(d)) {
        std::string path = dir_ + "/" + e->d_name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (e->d_name[0] == '.') {  // a download in flight, or one a killed process left
            if (st.st_mtime < an_hour_ago) ::unlink(path.c_str());
            continue;
        }
        files.push_back({path, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
        total += static_cast<uint64_t>(st.st_size);
    }
    ::closedir(d);
    if (total <= max_bytes_) return;
    std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.used < b.used; });
    for (const auto& f : files) {
        if (total <= max_bytes_) break;
        if (::unlink(f.path.c_str()) == 0) total -= f.size;
    }
}

std::string cache_dir_for(const std::string& repository, const EnvLookup& env) {
    std::string root;
    if (auto dir = env("ZADP_CACHE_DIR"); dir && !dir->empty()) {
        if (*dir == "off") return "";
        root = *dir;
    } else if (auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
        root = *xdg + "/zadp";
    } else if (auto home = env("HOME"); home && !home->empty()) {
        root = *home + "/.cache/zadp";
    } else {
        return "";
    }
    return root + "/" + s3::sha256_hex(repository).substr(0, 16);
}

uint64_t cache_size_from(const EnvLookup& env) {
    auto text = env("ZADP_CACHE_SIZE");
    return text && !text->empty() ? parse_size(*text, "ZADP_CACHE_SIZE") : (1ull << 30);
}

std::unique_ptr<ObjectReader> open_file_reader(int fd, uint64_t size) { return std::make_unique<FileReader>(fd, size); }

}  // namespace hci::repo
