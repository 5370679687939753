#include "libcommon/block/pipe_volume.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "libcommon/base/error.h"
#include "libcommon/block/stream_io.h"

namespace hci {
namespace {

void refuse_terminal_fd(int fd, const std::string& what) {
    if (::isatty(fd)) fail(kExitUsage, "refusing to use a terminal as " + what);
}

// The length of what stdin holds when it can tell: a regular file from its
// current offset, a block device from its size.
std::optional<uint64_t> known_input_length(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    if (S_ISREG(st.st_mode)) {
        off_t at = ::lseek(fd, 0, SEEK_CUR);
        return static_cast<uint64_t>(st.st_size - (at > 0 ? at : 0));
    }
    uint64_t size = 0;
    if (S_ISBLK(st.st_mode) && ::ioctl(fd, BLKGETSIZE64, &size) == 0) return size;
    return std::nullopt;
}

// Both directions share the in-order bookkeeping: every call must start
// where the previous one ended.
class PipeVolume : public Volume {
public:
    PipeVolume(OpenMode mode, uint64_t size, bool growable)
        : mode_(mode), size_(size), growable_(growable) {
        if (mode == OpenMode::Read)
            source_ = std::make_unique<FdSource>(STDIN_FILENO, "stdin");
        else
            sink_ = std::make_unique<FdSink>(STDOUT_FILENO, "stdout");
    }

    uint64_t size() const override { return growable_ ? std::numeric_limits<uint64_t>::max() : size_; }
    size_t max_io_size() const override { return 1u << 20; }
    bool is_new() const override { return true; }
    std::string describe() const override { return mode_ == OpenMode::Read ? "stdin" : "stdout"; }

    std::vector<Extent> extents(uint64_t offset, uint64_t length) override {
        return {{offset, std::min(length, size_ - offset), true}};
    }

    void read(uint64_t offset, void* buf, size_t length) override {
        advance(offset, length);
        size_t n = source_->read_full(buf, length);
        if (n < length)
            fail(kExitIo, "stdin ended after " + std::to_string(offset + n) + " bytes; the image should have " +
                              std::to_string(size_) + " (--size)");
        if (pos_ == size_) refuse_more_input();
    }

    void write(uint64_t offset, const void* buf, size_t length) override {
        advance(offset, length);
        sink_->write(buf, length);
    }

    // A hole where stdout is a regular file; else the copy loop writes zeros.
    bool zero(uint64_t offset, uint64_t length) override {
        if (offset != pos_ || !sink_->skip_zeros(length)) return false;
        advance(offset, length);
        return true;
    }

    void flush() override {
        if (sink_) sink_->finish();
    }

private:
    void advance(uint64_t offset, uint64_t length) {
        if (offset != pos_)
            fail(kExitIo, describe() + " is a pipe and must be copied in order: asked for offset " +
                              std::to_string(offset) + " at " + std::to_string(pos_));
        if (!growable_ && length > size_ - offset)
            fail(kExitIo, describe() + ": past the end of the image (" + std::to_string(size_) + " bytes)");
        pos_ += length;
    }
    // An input longer than --size would be cut silently; say so instead.
    void refuse_more_input() {
        unsigned char extra;
        if (source_->read_some(&extra, 1) != 0)
            fail(kExitUsage, "stdin holds more than --size " + std::to_string(size_) + " bytes");
    }

    OpenMode mode_;
    uint64_t size_;
    bool growable_;
    uint64_t pos_ = 0;
    std::unique_ptr<FdSource> source_;
    std::unique_ptr<FdSink> sink_;
};

}  // namespace

std::unique_ptr<Volume> open_pipe_volume(OpenMode mode, const VolumeOptions& options) {
    if (mode == OpenMode::Write) {
        refuse_terminal_fd(STDOUT_FILENO, "output for binary data (redirect stdout)");
        return std::make_unique<PipeVolume>(mode, options.create_size, options.create_growable);
    }
    refuse_terminal_fd(STDIN_FILENO, "input for a raw image (pipe one into stdin)");
    std::optional<uint64_t> size = options.size ? options.size : known_input_length(STDIN_FILENO);
    if (!size) fail(kExitUsage, "reading a raw image from a pipe needs its length: give --size BYTES");
    return std::make_unique<PipeVolume>(mode, *size, false);
}

}  // namespace hci
