#include "libcommon/block/repo/chunk_store.h"

#include <cstring>

#include "libcommon/base/error.h"

namespace hci::repo {
namespace {

// Format version 1: an object per chunk.
class DirectoryChunkStore : public ChunkStore {
public:
    DirectoryChunkStore(ObjectStore& store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}

    std::string key_of(const ChunkId& id) const {
        std::string hex = to_hex(id);
        return prefix_ + "/" + hex.substr(0, 3) + "/" + hex;
    }

    bool contains(const ChunkId& id) override { return store_.stat(key_of(id)).has_value(); }

    uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) override {
        // Create-only: a chunk that appeared meanwhile (another writer) is
        // kept as it is, and we learn that we stored nothing. Durable at sync().
        return store_.create(key_of(id), object, length) ? length : 0;
    }

    bool read(const ChunkId& id, Bytes& out) override {
        auto bytes = store_.load(key_of(id));
        if (!bytes) return false;
        out.reset(bytes->size());
        if (!bytes->empty()) std::memcpy(out.data(), bytes->data(), bytes->size());
        return true;
    }

    // Chunk objects: PREFIX/XXX/<64 hex digits>.
    template <class F>
    void for_each_object(F visit) {
        store_.list(prefix_ + "/", [&](const ObjectInfo& o) {
            std::string rest = o.key.substr(prefix_.size() + 1);
            ChunkId id;
            if (rest.size() != 3 + 1 + 64 || rest[3] != '/' || !from_hex(rest.substr(4), id.data(), 32)) return;
            visit(id, o.size);
        });
    }

    void for_each(const std::function<void(const Listed&)>& visit) override {
        for_each_object([&](const ChunkId& id, uint64_t size) { visit({id, size}); });
    }

    void remove(const ChunkId& id) override { store_.remove({key_of(id)}); }

    // Moves the object to KEY.bad: a copy there, then the original removed.
    std::optional<std::string> quarantine(const ChunkId& id) override {
        std::string key = key_of(id);
        if (auto bytes = store_.load(key)) {
            store_.save(key + ".bad", bytes->data(), bytes->size());
            store_.sync();
            store_.remove({key});
        }
        return store_.where(key + ".bad");
    }

    void sync() override { store_.sync(); }

    uint64_t count_hint() override { return 0; }

    std::optional<Place> where(const ChunkId& id) override {
        auto info = store_.stat(key_of(id));
        if (!info) return std::nullopt;
        return Place{info->key, 0, info->size};
    }

    SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) override {
        SweepReport r;
        r.temporaries_removed = store_.remove_temporaries(prefix_, dry_run);
        std::vector<std::string> dead;
        for_each_object([&](const ChunkId& id, uint64_t bytes) {
            if (live(id)) {
                ++r.chunks_kept;
                r.bytes_kept += bytes;
                return;
            }
            dead.push_back(key_of(id));
            ++r.chunks_removed;
            ++r.files_removed;
            r.bytes_removed += bytes;
            r.bytes_freed += bytes;
        });
        if (!dry_run) store_.remove(dead);
        return r;
    }

private:
    ObjectStore& store_;
    std::string prefix_;
};

}  // namespace

std::unique_ptr<ChunkStore> open_directory_chunk_store(ObjectStore& store, const std::string& prefix) {
    return std::make_unique<DirectoryChunkStore>(store, prefix);
}

}  // namespace hci::repo
