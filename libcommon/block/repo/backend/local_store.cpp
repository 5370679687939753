// A directory as an object store: today's repository layout, one file per
// key. Objects are written under unpredictable temporary names beside their
// key and renamed (save) or linked (create) into place; one syncfs(2) makes
// everything durable. Temporaries start with '.', which no key does.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "libcommon/base/error.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/block/repo/backend/local_files.h"
#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {
namespace {

// Opens the file of a key for reading, never through a link; -1 when it does
// not exist.
int open_key_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == ENOENT || errno == ENOTDIR) return -1;
    if (errno == ELOOP) fail(kExitIo, path + " is a symbolic link; refusing to follow it (remove it)");
    fail(kExitIo, "open " + path + ": " + errno_text(errno));
}

// Up to `length` bytes at `offset` of an open file; fewer at its end.
size_t pread_some(int fd, uint64_t offset, size_t length, unsigned char* out, const std::string& what) {
    size_t got = 0;
    while (got < length) {
        ssize_t n = ::pread(fd, out + got, length - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(kExitIo, "read " + what + ": " + errno_text(errno));
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    return got;
}

void pread_some(int fd, uint64_t offset, size_t length, std::vector<unsigned char>& out, const std::string& what) {
    out.resize(length);
    out.resize(pread_some(fd, offset, length, out.data(), what));
}

class FileReader : public ObjectReader {
public:
    FileReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
        struct stat st {};
        ::fstat(fd_, &st);
        size_ = static_cast<uint64_t>(st.st_size);
    }
    ~FileReader() override { ::close(fd_); }
    uint64_t size() const override { return size_; }
    size_t read(uint64_t offset, size_t length, unsigned char* out) override {
        return pread_some(fd_, offset, length, out, path_);
    }

private:
    int fd_;
    std::string path_;
    uint64_t size_ = 0;
};

class FileWriter : public ObjectWriter {
public:
    explicit FileWriter(const std::string& path) : file_(path) {}
    ~FileWriter() override {
        if (doomed_) clear_remove_if_killed();
    }
    void write(const void* data, size_t length) override {
        file_.write(data, length);
        size_ += length;
    }
    void write_at(uint64_t offset, const void* data, size_t length) override {
        auto* p = static_cast<const unsigned char*>(data);
        while (length > 0) {
            ssize_t w = ::pwrite(file_.fd(), p, length, static_cast<off_t>(offset));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) fail(kExitIo, "write " + file_.temp_path() + ": " + errno_text(errno));
            p += w;
            length -= static_cast<size_t>(w);
            offset += static_cast<uint64_t>(w);
        }
    }
    void read_at(uint64_t offset, size_t length, std::vector<unsigned char>& out) override {
        pread_some(file_.fd(), offset, length, out, file_.temp_path());
    }
    uint64_t size() const override { return size_; }
    bool commit(bool create_only) override {
        bool done = true;
        if (create_only)
            done = file_.create_only(false);  // durable at sync()
        else
            file_.replace(false);
        if (doomed_) clear_remove_if_killed();
        doomed_ = false;
        return done;
    }
    void remove_if_killed() override {
        hci::remove_if_killed(file_.temp_path());
        doomed_ = true;
    }

private:
    NewFile file_;  // at an unpredictable name: a planted link is never followed
    uint64_t size_ = 0;
    bool doomed_ = false;
};

class FileLock : public StoreLock {
public:
    explicit FileLock(int fd) : fd_(fd) {}
    ~FileLock() override { ::close(fd_); }

private:
    int fd_;
};

// A directory's key depth: "backups/g/t" is 3. Directories of the first
// two levels stay when empty (zadp-repo(5): DIR/backups/GROUP, DIR/packs/XX).
size_t depth(const std::string& rel) { return rel.empty() ? 0 : 1 + std::count(rel.begin(), rel.end(), '/'); }

// What interrupted writers leave: hidden files named with "tmp." (this
// store's ".tmp.NAME.XXXX", older zadp-write's ".NAME.zadp-tmp.XXXXXX" and
// ".NAME.tmp.PID"); a group's ".vm-id" is not one.
bool is_temporary(const std::string& name) { return name[0] == '.' && name.find("tmp.") != std::string::npos; }

// The repository's own files at the top (config, key) are 0600 whatever the
// umask; everything else is 0644 under the umask, which backup-vm.sh sets.
bool is_private(const std::string& key) { return key.find('/') == std::string::npos; }

class LocalStore : public ObjectStore {
public:
    explicit LocalStore(std::string dir) : dir_(std::move(dir)) {}

    void save(const std::string& key, const void* data, size_t length) override {
        NewFile file(new_file_path(key), is_private(key));
        file.write(data, length);
        file.replace(false);  // durable at sync()
    }

    bool create(const std::string& key, const void* data, size_t length) override {
        NewFile file(new_file_path(key), is_private(key));
        file.write(data, length);
        return file.create_only(false);
    }

    std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset, uint64_t length) override {
        validate_key(key);
        std::string path = where(key);
        int fd = open_key_file(path);
        if (fd < 0) return std::nullopt;
        struct stat st {};
        ::fstat(fd, &st);
        uint64_t size = static_cast<uint64_t>(st.st_size);
        uint64_t begin = std::min(offset, size);
        uint64_t want = length == 0 ? size - begin : std::min(length, size - begin);
        std::vector<unsigned char> out;
        try {
            pread_some(fd, begin, want, out, path);  // shorter if it shrank meanwhile
        } catch (...) {
            ::close(fd);
            throw;
        }
        ::close(fd);
        return out;
    }

    std::optional<ObjectInfo> stat(const std::string& key) override {
        validate_key(key);
        struct stat st {};
        if (::lstat(where(key).c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
            fail(kExitIo, "stat " + where(key) + ": " + errno_text(errno));
        }
        if (!S_ISREG(st.st_mode)) return std::nullopt;
        return ObjectInfo{key, static_cast<uint64_t>(st.st_size)};
    }

    void list(const std::string& prefix, const std::function<void(const ObjectInfo&)>& visit) override {
        std::string base = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1);
        std::vector<ObjectInfo> found;
        walk(base, prefix, found);
        std::sort(found.begin(), found.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
        for (const auto& o : found) visit(o);
    }

    uint64_t remove(const std::vector<std::string>& keys) override {
        uint64_t removed = 0;
        for (const auto& key : keys) {
            validate_key(key);
            if (::unlink(where(key).c_str()) == 0) {
                ++removed;
                auto slash = key.rfind('/');
                if (slash != std::string::npos) remove_if_empty(key.substr(0, slash));
            } else if (errno != ENOENT && errno != ENOTDIR) {
                fail(kExitIo, "remove " + where(key) + ": " + errno_text(errno));
            }
        }
        return removed;
    }

    // The time stamp the file system gives a new file: on NFS the server's.
    int64_t now() override {
        unsigned char r[8];
        random_bytes(r, sizeof r);
        std::string name = ".tmp.clock." + to_hex(r, sizeof r);
        int fd = create_file_in(dir_, name, O_WRONLY, 0600);
        if (fd < 0) fail(kExitIo, "create " + dir_ + "/" + name + ": " + errno_text(errno));
        struct stat st {};
        int rc = ::fstat(fd, &st);
        ::close(fd);
        ::unlink((dir_ + "/" + name).c_str());
        if (rc != 0) fail(kExitIo, "stat " + dir_ + "/" + name + ": " + errno_text(errno));
        return static_cast<int64_t>(st.st_mtim.tv_sec);
    }

    void sync() override { sync_file_system(dir_); }

    std::string where(const std::string& key) const override { return dir_ + "/" + key; }

    std::unique_ptr<ObjectReader> open_reader(const std::string& key) override {
        validate_key(key);
        std::string path = where(key);
        int fd = open_key_file(path);
        if (fd < 0) return nullptr;
        return std::make_unique<FileReader>(fd, path);
    }

    std::unique_ptr<ObjectWriter> open_writer(const std::string& key) override {
        return std::make_unique<FileWriter>(new_file_path(key));
    }

    std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait) override {
        validate_key(name);
        std::string path = where(name);
        struct stat st {};
        if (std::string dir = path.substr(0, path.rfind('/')); ::stat(dir.c_str(), &st) != 0) make_dirs(dir);
        int fd = lock_file(path, exclusive, wait);
        if (fd < 0) return nullptr;
        return std::make_unique<FileLock>(fd);
    }

    uint64_t remove_temporaries(const std::string& prefix, bool dry_run) override {
        validate_key(prefix);
        return sweep_dir(prefix, dry_run);
    }

private:
    std::string new_file_path(const std::string& key) {
        validate_key(key);
        std::string path = where(key);
        make_dirs(path.substr(0, path.rfind('/')));
        return path;
    }

    void remove_if_empty(const std::string& rel) {
        if (depth(rel) >= 3 && ::rmdir(where(rel).c_str()) == 0) remove_if_empty(rel.substr(0, rel.rfind('/')));
    }

    // Removes the temporaries under DIR/`rel`, then the directories that
    // leaves empty (not those of the first two levels).
    uint64_t sweep_dir(const std::string& rel, bool dry_run) {
        uint64_t removed = 0;
        std::string dir = where(rel);
        for (const auto& name : list_dir(dir, true)) {
            struct stat st {};
            std::string path = dir + "/" + name;
            if (::lstat(path.c_str(), &st) != 0) continue;
            if (S_ISDIR(st.st_mode) && name[0] != '.') {
                removed += sweep_dir(rel + "/" + name, dry_run);
            } else if (is_temporary(name) && !S_ISDIR(st.st_mode)) {
                if (dry_run || ::unlink(path.c_str()) == 0) ++removed;
            }
        }
        if (!dry_run && depth(rel) >= 3) ::rmdir(dir.c_str());  // only succeeds when empty
        return removed;
    }

    // Regular files under DIR/`rel` whose key starts with `prefix`; links
    // and temporaries are never followed or listed.
    void walk(const std::string& rel, const std::string& prefix, std::vector<ObjectInfo>& found) {
        std::string dir = dir_;
        if (!rel.empty()) (dir += '/').append(rel, 0, rel.size() - 1);  // not "/" + a temporary: GCC 12 -Wrestrict
        for (const auto& name : list_dir(dir)) {  // hidden names (temporaries) left out
            std::string key = rel + name;
            if (!key.starts_with(prefix) && !prefix.starts_with(key + "/")) continue;
            struct stat st {};
            if (::lstat((dir + "/" + name).c_str(), &st) != 0) continue;  // removed meanwhile
            if (S_ISDIR(st.st_mode))
                walk(key + "/", prefix, found);
            else if (S_ISREG(st.st_mode) && key.starts_with(prefix))
                found.push_back({key, static_cast<uint64_t>(st.st_size)});
        }
    }

    std::string dir_;
};

}  // namespace

std::unique_ptr<ObjectStore> open_local_store(const std::string& dir) { return std::make_unique<LocalStore>(dir); }

}  // namespace hci::repo
