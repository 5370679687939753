#include "libcommon/block/stream_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "libcommon/base/error.h"

namespace hci {
namespace {
constexpr size_t kSinkBuffer = 256u << 10;
// Small on purpose: payloads (large reads) go straight to their destination,
// the buffer only gathers record headers and other small reads.
constexpr size_t kSourceBuffer = 64u << 10;
// A pipe we write into holds this much (Linux's default 64 KiB means a
// wake-up of each side per 64 KiB; 1 MiB is the default most an
// unprivileged process may ask for). Measured on zadp-read | zadp-write:
// a fifth of the context switches, the restore up to a third faster.
constexpr int kPipeSize = 1 << 20;

[[noreturn]] void fail_write(int err, const std::string& what) {
    if (err == EPIPE) fail(kExitIo, what + " was closed early (broken pipe); the output is incomplete");
    fail(kExitIo, "write " + what + ": " + errno_text(err));
}
}  // namespace

AlignedBuffer::AlignedBuffer(size_t size) : size_(size) {
    data_ = static_cast<unsigned char*>(std::aligned_alloc(4096, (size + 4095) / 4096 * 4096));
    if (!data_) throw std::bad_alloc();
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

const unsigned char* zero_buffer() {
    alignas(4096) static const unsigned char zeros[kZeroBufferSize] = {};
    return zeros;
}

size_t ByteSource::read_full(void* data, size_t length) {
    auto* out = static_cast<unsigned char*>(data);
    size_t done = 0;
    while (done < length) {
        size_t n = read_some(out + done, length - done);
        if (n == 0) break;
        done += n;
    }
    return done;
}

size_t read_fd(int fd, void* buffer, size_t length, const std::string& what) {
    for (;;) {
        ssize_t n = ::read(fd, buffer, length);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) fail(kExitIo, "read " + what + ": " + errno_text(errno));
    }
}

void write_fd_all(int fd, const void* data, size_t length, const std::string& what) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (length > 0) {
        ssize_t n = ::write(fd, p, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_write(errno, what);
        }
        p += n;
        length -= static_cast<size_t>(n);
    }
}

FdSink::FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)), buffer_(kSinkBuffer) {
    struct stat st {};
    int flags = ::fcntl(fd, F_GETFL);
    // Only past the end of the file: there, skipped bytes read as zeros
    // (in the middle of an existing file they would keep old data).
    bool known = ::fstat(fd, &st) == 0;
    can_skip_ = known && S_ISREG(st.st_mode) && flags >= 0 && !(flags & O_APPEND) &&
                ::lseek(fd, 0, SEEK_CUR) == st.st_size;
    if (known && S_ISFIFO(st.st_mode)) (void)::fcntl(fd, F_SETPIPE_SZ, kPipeSize);  // best effort
}

bool FdSink::skip_zeros(uint64_t length) {
    constexpr uint64_t kMinHole = 64u << 10;
    if (!can_skip_ || length < kMinHole) return false;
    if (used_) flush_with(nullptr, 0);
    if (::lseek(fd_, static_cast<off_t>(length), SEEK_CUR) < 0) fail(kExitIo, "seek " + what_ + ": " + errno_text(errno));
    skipped_ = true;
    return true;
}

void FdSink::write(const void* data, size_t length) {
    if (used_ + length <= buffer_.size()) {
        std::memcpy(buffer_.data() + used_, data, length);
        used_ += length;
        return;
    }
    flush_with(data, length);
}

// Sends the buffered bytes and `extra` with as few syscalls as possible.
void FdSink::flush_with(const void* extra, size_t extra_length) {
    iovec iov[2] = {{buffer_.data(), used_}, {const_cast<void*>(extra), extra_length}};
    int first = used_ ? 0 : 1;
    while (first < 2) {
        ssize_t n = ::writev(fd_, iov + first, 2 - first);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_write(errno, what_);
        }
        auto left = static_cast<size_t>(n);
        while (first < 2 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (first < 2) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
        while (first < 2 && iov[first].iov_len == 0) ++first;
    }
    used_ = 0;
}

void FdSink::finish() {
    if (used_) flush_with(nullptr, 0);
    if (skipped_) {
        // A trailing hole exists only once the file is that long.
        off_t end = ::lseek(fd_, 0, SEEK_CUR);
        if (end < 0 || ::ftruncate(fd_, end) != 0) fail(kExitIo, "extend " + what_ + ": " + errno_text(errno));
    }
}

FdSource::FdSource(int fd, std::string what, std::vector<unsigned char> prefix)
    : fd_(fd), what_(std::move(what)), buffer_(std::max(kSourceBuffer, prefix.size())) {
    std::copy(prefix.begin(), prefix.end(), buffer_.data());
    end_ = prefix.size();
}

size_t FdSource::read_some(void* data, size_t length) {
    if (begin_ == end_) {
        // Large reads bypass the buffer: one copy less for big payloads.
        if (length >= buffer_.size()) return read_fd(fd_, data, length, what_);
        begin_ = 0;
        end_ = read_fd(fd_, buffer_.data(), buffer_.size(), what_);
        if (end_ == 0) return 0;
    }
    size_t n = std::min(length, end_ - begin_);
    std::memcpy(data, buffer_.data() + begin_, n);
    begin_ += n;
    return n;
}

}  // namespace hci
