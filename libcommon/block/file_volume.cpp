#include "libcommon/block/file_volume.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "libcommon/base/error.h"
#include "libcommon/block/temp_file.h"

namespace hci {
namespace {

[[noreturn]] void fail_errno(const std::string& what, int err) {
    fail(err == ENOENT ? kExitNotFound : kExitIo, what + ": " + errno_text(err));
}

class FileVolume : public Volume {
public:
    FileVolume(std::string path, int fd, bool block_device, uint64_t size, uint32_t block_size,
               std::unique_ptr<TempFile> temp, bool growable)
        : path_(std::move(path)),
          fd_(fd),
          block_device_(block_device),
          size_(size),
          block_size_(block_size),
          temp_(std::move(temp)),
          growable_(growable),
          file_end_(size) {}
    ~FileVolume() override {
        if (!temp_) ::close(fd_);  // the TempFile owns and closes its own fd
    }

    uint64_t size() const override { return growable_ ? std::numeric_limits<uint64_t>::max() : size_; }
    uint32_t block_size() const override { return block_size_; }
    // 1 MiB, measured: the page-cache copy lands in a buffer that is still in
    // cache when the other thread hashes it; 4-8 MiB reads cost ~1.6x the CPU.
    size_t max_io_size() const override { return 1u << 20; }
    std::string describe() const override { return path_; }

    std::vector<Extent> extents(uint64_t offset, uint64_t length) override {
        std::vector<Extent> out;
        uint64_t end = std::min(offset + length, size_);
        if (block_device_) {
            if (end > offset) out.push_back({offset, end - offset, true});
            return out;
        }
        uint64_t pos = offset;
        while (pos < end) {
            off_t data = ::lseek(fd_, static_cast<off_t>(pos), SEEK_DATA);
            if (data < 0 && errno != ENXIO) {
                if (errno == EINVAL) {  // no SEEK_DATA on this file system: all data
                    out.push_back({pos, end - pos, true});
                    break;
                }
                fail_errno("seek in " + path_, errno);
            }
            uint64_t data_start = data < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(data), end);
            if (data_start > pos) out.push_back({pos, data_start - pos, false});
            if (data_start >= end) break;
            off_t hole = ::lseek(fd_, static_cast<off_t>(data_start), SEEK_HOLE);
            if (hole < 0) fail_errno("seek in " + path_, errno);
            uint64_t data_end = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
            out.push_back({data_start, data_end - data_start, true});
            pos = data_end;
        }
        return out;
    }

    void read(uint64_t offset, void* buf, size_t length) override {
        auto* p = static_cast<unsigned char*>(buf);
        while (length > 0) {
            ssize_t n = ::pread(fd_, p, length, static_cast<off_t>(offset));
            if (n < 0) {
                if (errno == EINTR) continue;
                fail(kExitIo, "read " + path_ + " at offset " + std::to_string(offset) + ": " + errno_text(errno));
            }
            if (n == 0) fail(kExitIo, "read " + path_ + ": unexpected end of file at offset " + std::to_string(offset));
            p += n;
            offset += static_cast<uint64_t>(n);
            length -= static_cast<size_t>(n);
        }
    }

    void write(uint64_t offset, const void* buf, size_t length) override {
        check_range(offset, length);
        const auto* p = static_cast<const unsigned char*>(buf);
        const uint64_t end = offset + length, total = length;
        while (length > 0) {
            ssize_t n = ::pwrite(fd_, p, length, static_cast<off_t>(offset));
            if (n < 0) {
                if (errno == EINTR) continue;
                fail(kExitIo, "write " + path_ + " at offset " + std::to_string(offset) + ": " + errno_text(errno));
            }
            p += n;
            offset += static_cast<uint64_t>(n);
            length -= static_cast<size_t>(n);
        }
        written_end_ = std::max(written_end_, end);
        file_end_ = std::max(file_end_, end);
        start_writeback(total);
    }

    bool zero(uint64_t offset, uint64_t length) override {
        if (length == 0) return true;
        check_range(offset, length);
        uint64_t end = offset + length;
        if (temp_ && offset >= written_end_) {
            // A new file reads as zeros wherever nothing was written yet.
            if (growable_ && end > file_end_) truncate_to(end);
            return true;
        }
        if (block_device_) {
            uint64_t range[2] = {offset, length};
            return offset % 512 == 0 && length % 512 == 0 && ::ioctl(fd_, BLKZEROOUT, range) == 0;
        }
        if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                        static_cast<off_t>(length)) != 0)
            return false;
        if (growable_ && end > file_end_) truncate_to(end);
        return true;
    }

    void flush() override {
        // A new file is synced once by commit(), with its size, before the rename.
        if (temp_) return;
        if (::fsync(fd_) != 0) fail(kExitIo, "sync " + path_ + ": " + errno_text(errno));
    }

    void commit() override {
        if (temp_) temp_->commit();
    }

    bool is_new() const override { return temp_ != nullptr; }
    bool small_writes_merge() const override { return true; }  // buffered I/O, never O_DIRECT

    void end_at(uint64_t end) override {
        if (temp_ || block_device_ || end >= size_) return;
        truncate_to(end);
        size_ = end;
    }

private:
    void check_range(uint64_t offset, uint64_t length) {
        if (!growable_ && (offset > size_ || length > size_ - offset))
            fail(kExitIo, path_ + ": write past the end of the target (" + std::to_string(size_) + " bytes)");
    }
    // Starts writing dirty pages to disk every few MiB, so the disk works
    // while we decode and the final fsync only waits for the tail.
    void start_writeback(uint64_t length) {
        constexpr uint64_t kWritebackStep = 16u << 20;
        unsynced_ += length;
        if (unsynced_ < kWritebackStep) return;
        (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
        unsynced_ = 0;
    }
    void truncate_to(uint64_t end) {
        if (::ftruncate(fd_, static_cast<off_t>(end)) != 0)
            fail(kExitIo, "extend " + path_ + ": " + errno_text(errno));
        file_end_ = end;
    }
    std::string path_;
    int fd_;
    bool block_device_;
    uint64_t size_;
    uint32_t block_size_;
    std::unique_ptr<TempFile> temp_;
    bool growable_;
    uint64_t written_end_ = 0;
    uint64_t unsynced_ = 0;
    uint64_t file_end_;
};

uint64_t device_size(int fd, const std::string& path) {
    uint64_t size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) fail(kExitIo, "size of " + path + ": " + errno_text(errno));
    return size;
}

uint32_t device_block_size(int fd) {
    int bs = 0;
    if (::ioctl(fd, BLKSSZGET, &bs) != 0 || bs <= 0) return 512;
    return static_cast<uint32_t>(bs);
}

// A block device opened for writing gets O_EXCL: the kernel then refuses a
// device that is mounted or opened exclusively by another writer.
// A sink is opened read-write when it can be, so zadp-write can look for
// data it would overwrite (see clobber.h).
int open_sink(const std::string& path, int extra_flags) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | extra_flags);
    if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | extra_flags);
    return fd;
}

int open_block_device_for_writing(const std::string& path) {
    int fd = open_sink(path, O_EXCL);
    if (fd < 0 && errno == EBUSY) fail_busy(path, "in use (mounted, or opened for writing by another process)");
    if (fd < 0) fail_errno("open " + path, errno);
    return fd;
}

int open_target(const std::string& path, OpenMode mode) {
    struct stat st {};
    if (mode == OpenMode::Write && ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode))
        return open_block_device_for_writing(path);
    if (mode == OpenMode::Read) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail_errno("open " + path, errno);
        return fd;
    }
    const std::filesystem::path p(path);
    DirectoryLock guard(p.has_parent_path() ? p.parent_path().string() : ".");
    refuse_concurrent_writer(path);
    int fd = open_sink(path, 0);
    if (fd < 0) fail_errno("open " + path, errno);
    lock_for_writing(fd, path);
    return fd;
}

std::unique_ptr<Volume> open_existing(const std::string& path, OpenMode mode) {
    int fd = open_target(path, mode);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        fail_errno("stat " + path, err);
    }
    bool block = S_ISBLK(st.st_mode);
    if (!block && !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(kExitUsage, path + " is neither a regular file nor a block device");
    }
    uint64_t size = block ? device_size(fd, path) : static_cast<uint64_t>(st.st_size);
    uint32_t bs = block ? device_block_size(fd) : 512;
    if (mode == OpenMode::Read) (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::make_unique<FileVolume>(path, fd, block, size, bs, nullptr, false);
}

}  // namespace

std::unique_ptr<Volume> open_file_volume(const std::string& path, OpenMode mode, const VolumeOptions& options) {
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (!exists && errno != ENOENT) fail_errno("stat " + path, errno);
    if (mode == OpenMode::Read || exists || !options.create) {
        if (exists && S_ISDIR(st.st_mode)) fail(kExitUsage, path + " is a directory");
        return open_existing(path, mode);
    }
    auto temp = std::make_unique<TempFile>(path);
    int fd = temp->fd();
    uint64_t size = options.create_growable ? 0 : options.create_size;
    if (size && ::ftruncate(fd, static_cast<off_t>(size)) != 0)
        fail(kExitIo, "create " + path + " (" + std::to_string(size) + " bytes): " + errno_text(errno));
    return std::make_unique<FileVolume>(path, fd, false, size, 512, std::move(temp), options.create_growable);
}

}  // namespace hci
