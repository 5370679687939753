#pragma once
// The file and block-device transport: regular files (allocation from
// SEEK_DATA/SEEK_HOLE, holes punched for zeros) and block devices (size from
// the device, BLKZEROOUT for zeros). A new file is created sparse under a
// temporary name next to its final one and renamed into place on commit().
#include <memory>
#include <string>

#include "libcommon/block/volume.h"

namespace hci {

std::unique_ptr<Volume> open_file_volume(const std::string& path, OpenMode mode, const VolumeOptions& options);

// A new file written under a temporary name in the destination's directory
// (".NAME.zadp-tmp.XXXXXX"), renamed over NAME by commit(). Until then it is
// removed when this object is destroyed, and also when the process is ended
// by SIGINT, SIGTERM or SIGHUP, so NAME never holds a partial result. It is
// created 0600 whatever the umask (images and streams are private data) and
// holds an exclusive flock(2) while the process lives, so a sweep can remove
// the temporary files of killed (kill -9) runs and no others.
class TempFile {
public:
    explicit TempFile(const std::string& final_path);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    int fd() const { return fd_; }
    const std::string& final_path() const { return final_path_; }
    // fsync, rename into place, fsync the directory.
    void commit();

private:
    std::string final_path_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace hci
