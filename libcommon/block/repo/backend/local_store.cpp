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
#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/chunk_store.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/repository.h"

namespace hci::repo {
namespace {

class LocalStore : public ObjectStore {
public:
    explicit LocalStore(std::string dir) : dir_(std::move(dir)) {}

    void save(const std::string& key, const void* data, size_t length) override {
        NewFile file(new_file_path(key));
        file.write(data, length);
        file.replace(false);  // durable at sync()
    }

    bool create(const std::string& key, const void* data, size_t length) override {
        NewFile file(new_file_path(key));
        file.write(data, length);
        return file.create_only(false);
    }

    std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset, uint64_t length) override {
        validate_key(key);
        std::string path = where(key);
        int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return std::nullopt;
            fail(kExitIo, "open " + path + ": " + errno_text(errno));
        }
        struct stat st {};
        ::fstat(fd, &st);
        uint64_t size = static_cast<uint64_t>(st.st_size);
        uint64_t begin = std::min(offset, size);
        uint64_t want = length == 0 ? size - begin : std::min(length, size - begin);
        std::vector<unsigned char> out(want);
        size_t got = 0;
        while (got < want) {
            ssize_t n = ::pread(fd, out.data() + got, want - got, static_cast<off_t>(begin + got));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int err = errno;
                ::close(fd);
                fail(kExitIo, "read " + path + ": " + errno_text(err));
            }
            if (n == 0) break;  // shrank meanwhile: what is there
            got += static_cast<size_t>(n);
        }
        ::close(fd);
        out.resize(got);
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
            if (::unlink(where(key).c_str()) == 0)
                ++removed;
            else if (errno != ENOENT && errno != ENOTDIR)
                fail(kExitIo, "remove " + where(key) + ": " + errno_text(errno));
        }
        return removed;
    }

    // The time stamp the file system gives a new file: on NFS the server's.
    int64_t now() override {
        unsigned char r[8];
        random_bytes(r, sizeof r);
        std::string name = ".clock." + to_hex(r, sizeof r);
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

private:
    std::string new_file_path(const std::string& key) {
        validate_key(key);
        std::string path = where(key);
        make_dirs(path.substr(0, path.rfind('/')));
        return path;
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
