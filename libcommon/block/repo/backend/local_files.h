#pragma once
// POSIX file helpers of the local directory store (and of tools reading a
// user's own files). Nothing above the ObjectStore interface uses paths.
#include <sys/types.h>

#include <string>
#include <vector>

namespace hci::repo {

// The names in a directory, sorted; those starting with a dot only with
// `hidden_too`. Empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& path, bool hidden_too = false);
// Creates every missing directory of `path` (like mkdir -p).
void make_dirs(const std::string& path);

// Opens a directory O_NOFOLLOW|O_DIRECTORY; a symbolic link there is
// followed only when root or this user owns it (one the admin made, such
// as the repository's own path), never one another user planted.
int open_directory(const std::string& path);
// Creates DIR/NAME: O_CREAT|O_EXCL|O_NOFOLLOW in DIR opened as above, so a
// link planted at NAME is never followed. -1 with errno when it fails.
int create_file_in(const std::string& dir, const std::string& name, int flags, mode_t mode);

// A new file beside PATH under a name no one can predict
// (".tmp.NAME.<16 random hex>": leftovers of a killed run are temporaries
// gc removes), created by create_file_in, then published at PATH. Private:
// 0600 whatever the umask; else 0644 under the umask. Removed when
// destroyed unpublished.
class NewFile {
public:
    explicit NewFile(const std::string& path, bool private_file = false);
    ~NewFile();
    NewFile(const NewFile&) = delete;
    NewFile& operator=(const NewFile&) = delete;
    int fd() const { return fd_; }
    const std::string& temp_path() const { return temp_path_; }
    void write(const void* data, size_t length);
    // (fsync,) rename over PATH, (fsync the directory).
    void replace(bool sync = true);
    // (fsync,) link at PATH only when nothing is there, (fsync the
    // directory); false when something was (the new file is removed).
    bool create_only(bool sync = true);

private:
    void close_file(bool sync);
    std::string path_, temp_name_, temp_path_;
    int dir_fd_ = -1, fd_ = -1;
};

// Writes a small file atomically through a NewFile: fsync, rename, fsync dir.
void write_file_atomic(const std::string& path, const void* data, size_t length, bool private_file = false);
// A whole small file (exit 4 when missing, 6 when larger than `limit`).
std::string read_small_file(const std::string& path, size_t limit);

// flock(2) on PATH, created 0600 when missing and never followed as a link
// (exit 7 naming it); a file that may not be opened for writing (a read-only
// mount, a reader without write access) is locked through a read-only
// descriptor, which flock allows. Returns the descriptor holding the lock,
// or -1 when `wait` is false and another holder conflicts.
int lock_file(const std::string& path, bool exclusive, bool wait);

// syncfs(2) of the file system holding `dir`: one call makes every file
// written so far durable (exit 7 when it fails).
void sync_file_system(const std::string& dir);

}  // namespace hci::repo
