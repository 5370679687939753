#include "libcommon/block/repo/chunk_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/repository.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {
namespace {

class DirectoryChunkStore : public ChunkStore {
public:
    explicit DirectoryChunkStore(std::string dir) : dir_(std::move(dir)) {}

    std::string path_of(const ChunkId& id) const {
        std::string hex = to_hex(id);
        return dir_ + "/" + hex.substr(0, 3) + "/" + hex;
    }

    bool contains(const ChunkId& id) override {
        struct stat st {};
        return ::stat(path_of(id).c_str(), &st) == 0;
    }

    uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) override {
        std::string path = path_of(id);
        std::string sub = path.substr(0, path.rfind('/'));
        if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) fail(kExitIo, "mkdir " + sub + ": " + errno_text(errno));
        NewFile file(path);
        file.write(object, length);
        // Create-only: a chunk that appeared meanwhile (another writer) is
        // kept as it is, and we learn that we stored nothing. Durable at sync().
        return file.create_only(false) ? length : 0;
    }

    bool read(const ChunkId& id, Bytes& out) override {
        std::string path = path_of(id);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return false;
            fail(kExitIo, "open " + path + ": " + errno_text(errno));
        }
        struct stat st {};
        ::fstat(fd, &st);
        out.reset(static_cast<size_t>(st.st_size));
        size_t got = 0;
        try {
            while (got < out.size()) {
                size_t n = read_fd(fd, out.data() + got, out.size() - got, path);
                if (n == 0) break;
                got += n;
            }
        } catch (...) {
            ::close(fd);
            throw;
        }
        ::close(fd);
        out.shrink(got);
        return true;
    }

    template <class F>
    void for_each_file(F visit) {
        DIR* top = ::opendir(dir_.c_str());
        if (!top) fail(kExitIo, "open " + dir_ + ": " + errno_text(errno));
        while (auto* e = ::readdir(top)) {
            if (std::strlen(e->d_name) != 3) continue;
            std::string sub = dir_ + "/" + e->d_name;
            DIR* d = ::opendir(sub.c_str());
            if (!d) continue;
            while (auto* f = ::readdir(d)) {
                if (f->d_name[0] == '.' && (f->d_name[1] == 0 || (f->d_name[1] == '.' && f->d_name[2] == 0))) continue;
                visit(sub, std::string(f->d_name));
            }
            ::closedir(d);
        }
        ::closedir(top);
    }

    void for_each(const std::function<void(const Listed&)>& visit) override {
        for_each_file([&](const std::string& sub, const std::string& name) {
            Listed l;
            if (name.size() != 64 || !from_hex(name, l.id.data(), 32)) return;
            struct stat st {};
            if (::stat((sub + "/" + name).c_str(), &st) != 0) return;
            l.bytes = static_cast<uint64_t>(st.st_size);
            visit(l);
        });
    }

    void remove(const ChunkId& id) override {
        std::string path = path_of(id);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail(kExitIo, "remove " + path + ": " + errno_text(errno));
    }

    std::optional<std::string> quarantine(const ChunkId& id) override {
        std::string path = path_of(id);
        if (::rename(path.c_str(), (path + ".bad").c_str()) != 0 && errno != ENOENT)
            fail(kExitIo, "rename " + path + ": " + errno_text(errno));
        return path + ".bad";
    }

    void sync() override { sync_file_system(dir_); }

    uint64_t count_hint() override { return 0; }

    std::optional<Place> where(const ChunkId& id) override {
        struct stat st {};
        std::string path = path_of(id);
        if (::stat(path.c_str(), &st) != 0) return std::nullopt;
        return Place{path, 0, static_cast<uint64_t>(st.st_size)};
    }

    SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) override {
        SweepReport r;
        for_each_file([&](const std::string& sub, const std::string& name) {
            if (name.rfind(".tmp.", 0) == 0) {
                if (!dry_run && ::unlink((sub + "/" + name).c_str()) == 0) ++r.temporaries_removed;
                return;
            }
            ChunkId id;
            struct stat st {};
            if (name.size() != 64 || !from_hex(name, id.data(), 32) || ::stat((sub + "/" + name).c_str(), &st) != 0)
                return;
            auto bytes = static_cast<uint64_t>(st.st_size);
            if (live(id)) {
                ++r.chunks_kept;
                r.bytes_kept += bytes;
                return;
            }
            if (!dry_run) remove(id);
            ++r.chunks_removed;
            ++r.files_removed;
            r.bytes_removed += bytes;
            r.bytes_freed += bytes;
        });
        return r;
    }

private:
    std::string dir_;
};

}  // namespace

void sync_file_system(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(kExitIo, "open " + dir + ": " + errno_text(errno));
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) fail(kExitIo, "sync " + dir + ": " + errno_text(err));
}

std::unique_ptr<ChunkStore> open_directory_chunk_store(const std::string& dir) {
    return std::make_unique<DirectoryChunkStore>(dir);
}

}  // namespace hci::repo
