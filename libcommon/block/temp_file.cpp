#include "libcommon/block/temp_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "libcommon/base/error.h"
#include "libcommon/base/interrupt.h"

namespace hci {

TempFile::TempFile(const std::string& final_path) : final_path_(final_path) {
    const std::filesystem::path path(final_path);
    dir_ = path.has_parent_path() ? path.parent_path().string() : ".";
    std::string name = (std::filesystem::path(dir_) / ("." + path.filename().string() + ".zadp-tmp.XXXXXX")).string();
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
    committed_ = true;
    clear_remove_if_killed();
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace hci
