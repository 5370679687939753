#pragma once
// Where a repository keeps its chunk objects. The repository above seals,
// compresses and names chunks; a ChunkStore only keeps opaque object bytes
// by id, so a packing store (many small chunks per file) or an object-store
// backend can replace the directory store without touching the rest.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/format.h"

namespace hci::repo {

class ChunkStore {
public:
    virtual ~ChunkStore() = default;
    virtual bool contains(const ChunkId& id) = 0;
    // Stores an object unless the id is present; returns the bytes written
    // (0 when it was present). Never leaves a partial object under the id.
    virtual uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) = 0;
    uint64_t put(const ChunkId& id, const std::vector<unsigned char>& object) {
        return put(id, object.data(), object.size());
    }
    // Reads the object's bytes into `out`; false when it is missing.
    virtual bool read(const ChunkId& id, Bytes& out) = 0;
    // The object's bytes, or nullopt when it is missing.
    std::optional<std::vector<unsigned char>> get(const ChunkId& id) {
        Bytes b;
        if (!read(id, b)) return std::nullopt;
        return std::vector<unsigned char>(b.data(), b.data() + b.size());
    }
    // Marks a chunk as referenced now (garbage collection); false if missing.
    virtual bool touch(const ChunkId& id) = 0;

    struct Listed {
        ChunkId id;
        uint64_t bytes = 0;
        int64_t mtime_ns = 0;
    };
    // Every stored chunk, in no particular order.
    virtual void for_each(const std::function<void(const Listed&)>& visit) = 0;
    virtual void remove(const ChunkId& id) = 0;
    // Moves a damaged chunk aside (kept for inspection, no longer found by
    // contains()), so the next store that has its bytes writes it again.
    virtual void quarantine(const ChunkId& id) = 0;
    // Removes objects left half-written by interrupted stores; returns how many.
    virtual uint64_t remove_temporaries() = 0;
    // Makes every put() so far durable.
    virtual void sync() = 0;
    // The current time as the store's clock sees it (for mark-and-sweep).
    virtual int64_t now_ns() = 0;
};

// One file per chunk, chunks/XXX/<64 hex digits>, fanned out over 4096
// directories by the first three digits; written to a temporary name in the
// same directory and renamed.
std::unique_ptr<ChunkStore> open_directory_chunk_store(const std::string& dir);

}  // namespace hci::repo
