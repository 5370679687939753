#pragma once
// A new file that appears at its name only when it is complete.
#include <string>

namespace hci {

// A new file written under a temporary name in the destination's directory
// (".NAME.zadp-tmp.XXXXXX"), renamed over NAME by commit(). Until then it is
// removed when this object is destroyed, and also when the process is ended
// by SIGINT, SIGTERM or SIGHUP (interrupt.h), so NAME never holds a partial
// result. It is created 0600 whatever the umask (images and streams are
// private data) and holds an exclusive flock(2) while the process lives, so a
// sweep can remove the temporary files of killed (kill -9) runs and no others.
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
    std::string dir_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace hci
