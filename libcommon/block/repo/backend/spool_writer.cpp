#include "libcommon/block/repo/backend/spool_writer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/crypto.h"

namespace hci::repo {
namespace {

// An unnamed file in `dir`: nothing is left behind however the process ends.
int open_unnamed_file(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    std::string path = dir + "/zadp-spool-XXXXXX";  // a file system without O_TMPFILE
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) fail(kExitIo, "cannot make a spool file in " + dir + " ($TMPDIR): " + errno_text(errno));
    ::unlink(path.c_str());
    return fd;
}

void pwrite_all(int fd, const unsigned char* p, size_t n, uint64_t offset, const std::string& what) {
    while (n > 0) {
        ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail(kExitIo, "cannot spool " + what + " to " + spool_dir() + ": " + errno_text(errno));
        p += w, n -= static_cast<size_t>(w), offset += static_cast<uint64_t>(w);
    }
}

class SpoolWriter : public ObjectWriter {
public:
    SpoolWriter(std::string where, size_t memory_limit, uint64_t max_size, SpoolCommit commit)
        : where_(std::move(where)), memory_limit_(memory_limit), max_size_(max_size), commit_(std::move(commit)),
          sha_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
        if (!sha_ || EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr) != 1) fail(kExitIo, "OpenSSL digest failed");
    }
    ~SpoolWriter() override {
        if (fd_ >= 0) ::close(fd_);
    }

    void write(const void* data, size_t length) override {
        if (length > max_size_ - size_)
            fail(kExitUsage, where_ + ": the object would grow past " + std::to_string(max_size_) +
                                 " bytes, more than one PUT stores; nothing was committed");
        auto* p = static_cast<const unsigned char*>(data);
        if (sha_valid_ && EVP_DigestUpdate(sha_.get(), p, length) != 1) sha_valid_ = false;
        if (fd_ < 0 && size_ + length > memory_limit_) move_to_file();
        if (fd_ >= 0)
            pwrite_all(fd_, p, length, size_, where_);
        else
            memory_.insert(memory_.end(), p, p + length);
        size_ += length;
    }

    void write_at(uint64_t offset, const void* data, size_t length) override {
        if (offset + length > size_) throw std::logic_error("ObjectWriter::write_at past the end");
        sha_valid_ = false;  // the bytes hashed are no longer the object's
        if (fd_ >= 0)
            pwrite_all(fd_, static_cast<const unsigned char*>(data), length, offset, where_);
        else
            std::memcpy(memory_.data() + offset, data, length);
    }

    void read_at(uint64_t offset, size_t length, std::vector<unsigned char>& out) override {
        uint64_t begin = std::min(offset, size_), end = std::min(size_, begin + length);
        out.resize(static_cast<size_t>(end - begin));
        if (fd_ < 0) {
            if (!out.empty()) std::memcpy(out.data(), memory_.data() + begin, out.size());
            return;
        }
        for (size_t got = 0; got < out.size();) {
            ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(begin + got));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail(kExitIo, "cannot read back the spool file of " + where_ + ": " + errno_text(errno));
            got += static_cast<size_t>(n);
        }
    }

    uint64_t size() const override { return size_; }

    bool commit(bool create_only) override {
        if (fd_ < 0) return commit_.from_memory(memory_.data(), memory_.size(), create_only, sha256_hex());
        return commit_.from_file(fd_, size_, create_only, sha256_hex());
    }

    bool spooled() const { return fd_ >= 0; }

private:
    // Of what was written, once (commit may be retried); "" if unknown.
    std::string sha256_hex() {
        if (sha_valid_ && sha_hex_.empty()) {
            unsigned char out[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            if (EVP_DigestFinal_ex(sha_.get(), out, &n) == 1) sha_hex_ = to_hex(out, n);
            sha_valid_ = !sha_hex_.empty();
        }
        return sha_valid_ ? sha_hex_ : std::string();
    }

    void move_to_file() {
        fd_ = open_spool_file();
        pwrite_all(fd_, memory_.data(), memory_.size(), 0, where_);
        std::vector<unsigned char>().swap(memory_);
    }

    std::string where_;
    size_t memory_limit_;
    uint64_t max_size_;
    SpoolCommit commit_;
    std::vector<unsigned char> memory_;
    int fd_ = -1;
    uint64_t size_ = 0;
    // SHA-256 of the bytes as written: a PUT signs it without reading the
    // spool file back (write_at() clears sha_valid_).
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha_;
    bool sha_valid_ = true;
    std::string sha_hex_;
};

}  // namespace

std::string spool_dir() {
    const char* t = std::getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

int open_spool_file() { return open_unnamed_file(spool_dir()); }

std::unique_ptr<ObjectWriter> open_spool_writer(std::string where, size_t memory_limit, uint64_t max_size,
                                                SpoolCommit commit) {
    return std::make_unique<SpoolWriter>(std::move(where), memory_limit, max_size, std::move(commit));
}

}  // namespace hci::repo
