#include "libsim/volume_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <memory>
#include <stdexcept>

#include "libsim/sha256.h"

namespace sim {
namespace {

constexpr std::size_t kChunk = 4 << 20;

std::runtime_error sys_error(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

struct Fd {
    int fd = -1;
    Fd(const std::string& path, int flags, const char* what) : fd(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
        if (fd < 0) throw sys_error(what, path);
    }
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void pread_all(int fd, char* buf, std::size_t n, std::uint64_t off, const std::string& path) {
    while (n > 0) {
        ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw sys_error("read", path);
        if (r == 0) {  // past EOF of a shorter file: zeros
            std::memset(buf, 0, n);
            return;
        }
        buf += r;
        n -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
}

void pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t off, const std::string& path) {
    while (n > 0) {
        ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(off));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw sys_error("write", path);
        buf += r;
        n -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
}

}  // namespace

void ensure_volume(const std::string& path, std::uint64_t size) {
    Fd f(path, O_WRONLY | O_CREAT, "create");
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw sys_error("stat", path);
    if (static_cast<std::uint64_t>(st.st_size) != size && ::ftruncate(f.fd, static_cast<off_t>(size)) != 0)
        throw sys_error("truncate", path);
}

std::vector<Extent> allocated_extents(const std::string& path, std::uint64_t size) {
    std::vector<Extent> out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return out;
        throw sys_error("open", path);
    }
    std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* p) { ::close(*p); });
    off_t pos = 0;
    while (static_cast<std::uint64_t>(pos) < size) {
        off_t data = ::lseek(fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;
            throw sys_error("seek", path);
        }
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0) throw sys_error("seek", path);
        std::uint64_t end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), size);
        if (static_cast<std::uint64_t>(data) >= end) break;
        out.emplace_back(static_cast<std::uint64_t>(data), end - static_cast<std::uint64_t>(data));
        pos = hole;
    }
    return out;
}

void copy_volume(const std::string& src, const std::string& dst, std::uint64_t size) {
    std::string tmp = dst + ".tmp";
    ::unlink(tmp.c_str());
    {
        Fd out(tmp, O_WRONLY | O_CREAT | O_TRUNC, "create");
        if (::ftruncate(out.fd, static_cast<off_t>(size)) != 0) throw sys_error("truncate", tmp);
        std::vector<Extent> extents = allocated_extents(src, size);
        if (!extents.empty()) {
            Fd in(src, O_RDONLY, "open");
            std::unique_ptr<char[]> buf(new char[kChunk]);
            for (auto [off, len] : extents) {
                while (len > 0) {
                    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, kChunk));
                    pread_all(in.fd, buf.get(), n, off, src);
                    pwrite_all(out.fd, buf.get(), n, off, tmp);
                    off += n;
                    len -= n;
                }
            }
        }
        if (::fsync(out.fd) != 0) throw sys_error("fsync", tmp);
    }
    if (::rename(tmp.c_str(), dst.c_str()) != 0) throw sys_error("rename", tmp);
}

void write_volume(const std::string& path, std::uint64_t size, std::uint64_t offset, const std::string& bytes) {
    if (offset > size || bytes.size() > size - offset)
        throw std::runtime_error("write of " + std::to_string(bytes.size()) + " bytes at " + std::to_string(offset) +
                                 " is past the end of the volume (" + std::to_string(size) + " bytes)");
    ensure_volume(path, size);
    Fd f(path, O_WRONLY, "open");
    pwrite_all(f.fd, bytes.data(), bytes.size(), offset, path);
}

namespace {

// Digests of unchanged files (same inode, size and mtime) are remembered:
// snapshots never change, and hashing a big image costs seconds.
struct CachedDigest {
    struct stat st;
    Digest digest;
};
std::map<std::string, CachedDigest>& digest_cache() {
    static std::map<std::string, CachedDigest> cache;
    return cache;
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

Digest digest_volume(const std::string& path, std::uint64_t size) {
    static std::mutex cache_mutex;  // digests run on worker threads
    struct stat st {};
    bool have_stat = ::stat(path.c_str(), &st) == 0;
    if (have_stat) {
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto it = digest_cache().find(path);
        if (it != digest_cache().end() && same_file(it->second.st, st) && it->second.digest.size == size)
            return it->second.digest;
    }
    Digest d = compute_digest(path, size);
    if (have_stat) {
        std::lock_guard<std::mutex> lock(cache_mutex);
        digest_cache()[path] = CachedDigest{st, d};
    }
    return d;
}

Digest compute_digest(const std::string& path, std::uint64_t size) {
    Digest d;
    d.size = size;
    std::vector<Extent> extents = allocated_extents(path, size);
    Sha256 sha;
    std::unique_ptr<char[]> buf(new char[kChunk]);
    std::unique_ptr<char[]> zeros(new char[kChunk]());
    std::unique_ptr<Fd> in;
    if (!extents.empty()) in = std::make_unique<Fd>(path, O_RDONLY, "open");
    std::uint64_t pos = 0;
    auto feed_zeros = [&](std::uint64_t n) {
        while (n > 0) {
            std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, kChunk));
            sha.update(zeros.get(), k);
            n -= k;
        }
    };
    for (auto [off, len] : extents) {
        feed_zeros(off - pos);
        d.allocated += len;
        std::uint64_t end = off + len;
        while (off < end) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(end - off, kChunk));
            pread_all(in->fd, buf.get(), n, off, path);
            sha.update(buf.get(), n);
            off += n;
        }
        pos = end;
    }
    feed_zeros(size - pos);
    d.sha256 = sha.hex_digest();
    return d;
}

std::uint64_t Prng::next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void Prng::fill(char* out, std::size_t n) {
    while (n > 0) {
        std::uint64_t v = next();
        std::size_t k = std::min<std::size_t>(n, 8);
        for (std::size_t i = 0; i < k; ++i) out[i] = static_cast<char>(v >> (8 * i));
        out += k;
        n -= k;
    }
}

std::string base64_decode(const std::string& text) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else if (c == '=' || c == '\n' || c == '\r') continue;
        else throw std::invalid_argument("data_base64 is not valid base64");
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace sim
