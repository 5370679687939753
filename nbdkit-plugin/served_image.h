#pragma once
// One repository image served for random access by many threads at once
// (the nbdkit plugin's core; nothing here knows nbdkit). Every chunk is
// checked before a byte of it is returned: its seal (checksum or tag, which
// binds the object to its chunk id), decompression and length, as zadp-read
// checks each chunk; with ServeLimits::hash_ids also its bytes hashed to its
// id (SHA-256: most of a served read's CPU time). A missing or damaged chunk
// is Error(kExitIntegrity) naming the image and the offset.
// Decoded chunks are kept in a cache bounded in bytes, keyed by chunk id (so
// connections, and chunks an image repeats, share it); a sequential reader
// gets the next chunks loaded ahead by a few threads of its own.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "libcommon/block/repo/format.h"
#include "libcommon/block/repo/repository.h"

namespace hci::nbd {

struct ServeLimits {
    size_t cache_bytes = 64u << 20;      // decoded chunks kept
    size_t readahead_bytes = 8u << 20;   // loaded ahead of a sequential reader (at most half the cache)
    size_t readahead_threads = 2;
    bool hash_ids = false;               // also hash every chunk to its id
};

// A decoded chunk: its plain bytes are a view into the buffer the object was
// read (or decompressed) into, so nothing is copied between the load and
// the reader; `give_back` returns that buffer to a pool when the last user
// lets go. `own` holds bytes made some other way (tests).
struct PlainChunk {
    std::unique_ptr<repo::Bytes> buffer;
    repo::PlainView view;
    std::vector<unsigned char> own;
    std::function<void(std::unique_ptr<repo::Bytes>)> give_back;
    const unsigned char* data() const { return view.data; }
    size_t size() const { return view.size; }
    ~PlainChunk() {
        if (give_back && buffer) give_back(std::move(buffer));
    }
};

// What a cache lookup hands out: the chunk's plain bytes, shared with the
// cache (an eviction never frees bytes a reader still copies from).
using ChunkBytes = std::shared_ptr<const PlainChunk>;

// Decoded chunks by id, at most `limit` bytes of them, least recently used
// out first. One load per chunk at a time: a thread asking for a chunk
// another thread is loading waits for that load instead of doing it again.
// A failed load is not kept (the next read tries again and fails again).
class ChunkCache {
public:
    explicit ChunkCache(size_t limit) : limit_(limit) {}
    struct Loaded {
        ChunkBytes bytes;
        std::string error;  // "" when bytes holds the chunk
    };
    // The cached chunk, else load(id) run in this thread (or the result of
    // the load another thread has in progress).
    template <class Load>
    Loaded get(const repo::ChunkId& id, Load&& load);
    bool contains(const repo::ChunkId& id);  // cached or loading
    struct Stats {
        uint64_t hits = 0, misses = 0, waits = 0, evictions = 0, bytes = 0, entries = 0;
    };
    Stats stats();

private:
    struct IdHash {
        size_t operator()(const repo::ChunkId& id) const {
            size_t h;
            std::memcpy(&h, id.data(), sizeof h);  // ids are hashes already
            return h;
        }
    };
    struct Pending {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        Loaded result;
    };
    struct Slot {
        ChunkBytes bytes;                  // null while loading
        std::shared_ptr<Pending> pending;  // set while loading
        std::list<repo::ChunkId>::iterator lru;
    };
    void finish(const repo::ChunkId& id, const std::shared_ptr<Pending>& pending, Loaded result);

    const size_t limit_;
    std::mutex mutex_;
    std::unordered_map<repo::ChunkId, Slot, IdHash> slots_;
    std::list<repo::ChunkId> lru_;  // ready chunks, most recently used first
    size_t bytes_ = 0;
    Stats stats_;
};

// Object buffers handed back when the cache lets go of a chunk (or a load
// did not need one), for the next load: without it every chunk read is
// fresh memory, faulted in page by page (about a third of the server's time
// in a sequential read). Keeps at most `keep` spare buffers.
class BufferPool {
public:
    explicit BufferPool(size_t keep) : keep_(keep) {}
    std::unique_ptr<repo::Bytes> take();
    void give(std::unique_ptr<repo::Bytes> buffer);

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<repo::Bytes>> free_;
    size_t keep_;
};

class ServedImage {
public:
    // Opens GROUP/TIME/FILE of `repo` (exit 4 when absent, 6 when its index
    // is damaged) and holds the repository lock shared until destroyed, so
    // gc never removes a chunk it serves; prune may remove the backup
    // meanwhile: the open index still serves it (see zadp-repo(1), serve).
    ServedImage(std::unique_ptr<repo::Repository> repo, const std::string& name, const ServeLimits& limits);
    ~ServedImage();
    ServedImage(const ServedImage&) = delete;
    ServedImage& operator=(const ServedImage&) = delete;

    const std::string& name() const { return name_; }
    uint64_t size() const { return size_; }
    uint32_t chunk_size() const { return chunk_size_; }

    // Starts the read-ahead threads (nbdkit: after it forked into the
    // background, since threads do not survive a fork). Without them reads
    // still work, without read-ahead.
    void start_threads();

    // A client's read position, for the read-ahead: one per connection.
    struct Cursor {
        std::atomic<uint64_t> next_chunk{0};
    };
    // Reads [offset, offset + length); range checked (exit 7 beyond the end).
    void read(uint64_t offset, void* buffer, size_t length, Cursor* cursor = nullptr);
    // Loads the chunks of a range into the cache in the background (NBD_CMD_CACHE).
    void prefetch(uint64_t offset, uint64_t length);

    // Allocation from the index: runs of chunks that are stored (allocated)
    // or all zeros (holes), from `offset` for at most `length` bytes; stops
    // after `max_runs` runs.
    struct Run {
        uint64_t offset = 0, length = 0;
        bool zero = false;
    };
    std::vector<Run> extents(uint64_t offset, uint64_t length, size_t max_runs = SIZE_MAX);

    ChunkCache::Stats cache_stats() { return cache_.stats(); }

private:
    repo::ChunkId entry(uint64_t chunk);
    ChunkBytes chunk(uint64_t index, const repo::ChunkId& id);
    ChunkCache::Loaded load(uint64_t index, const repo::ChunkId& id);
    void read_ahead(uint64_t from, uint64_t to);
    void worker();

    std::unique_ptr<repo::Repository> repo_;
    std::unique_ptr<repo::Repository::Lock> lock_;
    std::string name_, what_;
    std::mutex index_mutex_;  // IndexReader keeps a segment cache: one thread at a time
    std::unique_ptr<repo::IndexReader> index_;
    uint64_t size_ = 0, chunks_ = 0;
    uint32_t chunk_size_ = 0;
    ServeLimits limits_;
    uint64_t ahead_chunks_ = 0;
    std::shared_ptr<BufferPool> buffers_;
    ChunkCache cache_;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<uint64_t> queue_;  // chunks to load ahead
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// ---- template ----

template <class Load>
ChunkCache::Loaded ChunkCache::get(const repo::ChunkId& id, Load&& load) {
    std::shared_ptr<Pending> pending;
    {
        std::unique_lock lock(mutex_);
        auto it = slots_.find(id);
        if (it != slots_.end() && it->second.bytes) {
            ++stats_.hits;
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            return {it->second.bytes, ""};
        }
        if (it != slots_.end()) {
            ++stats_.waits;
            auto other = it->second.pending;
            lock.unlock();
            std::unique_lock wait(other->mutex);
            other->done_cv.wait(wait, [&] { return other->done; });
            return other->result;
        }
        ++stats_.misses;
        pending = std::make_shared<Pending>();
        slots_[id].pending = pending;
    }
    Loaded result;
    try {
        result = load(id);
    } catch (const std::exception& e) {
        result = {nullptr, e.what()};
    }
    finish(id, pending, result);
    return result;
}

}  // namespace hci::nbd
