#pragma once
// A new file that appears at its name only when it is complete, and one
// writer per file.
#include <string>

namespace hci {

// ---- one writer per file ----
// A writer holds an exclusive flock(2) on what it writes (a new target's
// temporary file, an existing file itself) until it exits. A second writer
// probes those locks and fails at once (exit 7) instead of interleaving its
// blocks or renaming its result over the first one's. Probe and lock happen
// under a short lock on the directory (a DirectoryLock), so two writers that
// start together cannot both see the other's file as free.
class DirectoryLock {
public:
    explicit DirectoryLock(const std::string& dir);
    ~DirectoryLock();
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;

private:
    int fd_;
};

// Fails (kExitIo, "PATH is being written by another process...") when
// another process holds the lock of `path` or of one of its temporary files.
void refuse_concurrent_writer(const std::string& path);

// Locks an opened target for this writer (or fails as above and closes fd).
void lock_for_writing(int fd, const std::string& path);

[[noreturn]] void fail_busy(const std::string& path, const std::string& why);

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
    // The same, but create-only: link(2) into place, which never replaces
    // what another writer put there meanwhile; false (and this file is
    // removed) when the name exists.
    bool commit_new();

private:
    void published();
    std::string final_path_;
    std::string dir_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace hci
