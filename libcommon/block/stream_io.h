#pragma once
// Byte pipes under the block stream: where encoded bytes go (ByteSink) and
// where they come from (ByteSource). Compression lives in compress.h; these
// are the plain file-descriptor ends.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hci {

// A page-aligned heap buffer. Alignment matters: the kernel copies to and from
// page-aligned user memory several times faster than to malloc's 16-byte
// aligned blocks on some CPUs (measured 4x on AMD EPYC for 1 MiB reads).
class AlignedBuffer {
public:
    explicit AlignedBuffer(size_t size);
    ~AlignedBuffer();
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    unsigned char* data() const { return data_; }
    size_t size() const { return size_; }

private:
    unsigned char* data_;
    size_t size_;
};

class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(const void* data, size_t length) = 0;
    // Moves past `length` zero bytes without writing them, where the sink
    // can (a hole at the end of a regular file). False: the caller writes them.
    virtual bool skip_zeros(uint64_t) { return false; }
    // Flushes everything and ends any frame; no write() after it.
    virtual void finish() = 0;
};

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Reads up to `length` bytes; returns 0 only at the end of the input.
    virtual size_t read_some(void* data, size_t length) = 0;
    // Reads until `length` bytes or the end of input; returns the count read.
    size_t read_full(void* data, size_t length);
};

// Writes to a file descriptor: small writes are buffered, large ones go out
// with writev together with the buffered bytes. EPIPE and other errors end
// with an I/O error naming `what`.
class FdSink : public ByteSink {
public:
    FdSink(int fd, std::string what);
    void write(const void* data, size_t length) override;
    // On a regular file (not opened for append) long zero runs become holes:
    // the sink seeks past them and finish() sets the final length.
    bool skip_zeros(uint64_t length) override;
    void finish() override;

private:
    void flush_with(const void* extra, size_t extra_length);
    int fd_;
    bool can_skip_ = false;
    bool skipped_ = false;
    std::string what_;
    AlignedBuffer buffer_;
    size_t used_ = 0;
};

// Reads from a file descriptor through a buffer; `prefix` bytes (already read
// while sniffing the format) are returned first.
class FdSource : public ByteSource {
public:
    FdSource(int fd, std::string what, std::vector<unsigned char> prefix = {});
    size_t read_some(void* data, size_t length) override;

private:
    int fd_;
    std::string what_;
    AlignedBuffer buffer_;
    size_t begin_ = 0, end_ = 0;
};

// One raw read(2) into `buffer`, retrying EINTR; I/O error on failure.
size_t read_fd(int fd, void* buffer, size_t length, const std::string& what);
// write(2) all of `data`; EPIPE becomes a clear "closed early" I/O error.
void write_fd_all(int fd, const void* data, size_t length, const std::string& what);

// A page-aligned buffer of zeros, at least 1 MiB, for writing zero runs.
const unsigned char* zero_buffer();
constexpr size_t kZeroBufferSize = 1u << 20;

}  // namespace hci
