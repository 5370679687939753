#include "nbdkit-plugin/served_image.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/image.h"

namespace hci::nbd {

using repo::ChunkId;

// ---- ChunkCache ----

void ChunkCache::finish(const ChunkId& id, const std::shared_ptr<Pending>& pending, Loaded result) {
    {
        std::lock_guard lock(mutex_);
        auto it = slots_.find(id);
        if (!result.error.empty() || !result.bytes) {
            slots_.erase(it);
        } else {
            it->second.bytes = result.bytes;
            it->second.pending.reset();
            lru_.push_front(id);
            it->second.lru = lru_.begin();
            bytes_ += result.bytes->size();
            // Least recently used out, but never the chunk just loaded.
            while (bytes_ > limit_ && lru_.size() > 1) {
                auto victim = slots_.find(lru_.back());
                bytes_ -= victim->second.bytes->size();
                slots_.erase(victim);
                lru_.pop_back();
                ++stats_.evictions;
            }
        }
    }
    std::lock_guard lock(pending->mutex);
    pending->result = std::move(result);
    pending->done = true;
    pending->done_cv.notify_all();
}

bool ChunkCache::contains(const ChunkId& id) {
    std::lock_guard lock(mutex_);
    return slots_.count(id) != 0;
}

ChunkCache::Stats ChunkCache::stats() {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.bytes = bytes_;
    s.entries = lru_.size();
    return s;
}

// ---- BufferPool ----

std::unique_ptr<repo::Bytes> BufferPool::take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::make_unique<repo::Bytes>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
}

void BufferPool::give(std::unique_ptr<repo::Bytes> buffer) {
    if (!buffer || buffer->capacity() == 0) return;  // never used: nothing to keep
    std::lock_guard lock(mutex_);
    if (free_.size() < keep_) free_.push_back(std::move(buffer));
}

// ---- ServedImage ----

ServedImage::ServedImage(std::unique_ptr<repo::Repository> repo, const std::string& name, const ServeLimits& limits)
    : repo_(std::move(repo)),
      name_(name),
      what_("repo:" + name),
      limits_(limits),
      // Spare buffers for the loads in flight (two each: the object and
      // its decompression) and the cache's last few evictions.
      buffers_(std::make_shared<BufferPool>(32)),
      cache_(limits.cache_bytes) {
    repo::validate_name(name);
    lock_ = repo_->lock_shared();
    const std::string key = repo::Repository::index_key(name);
    if (!repo_->store().stat(key)) {
        if (repo_->store().stat(repo::Repository::blob_key(name)))
            fail(kExitUsage, what_ + " is a blob, not an image (zadp-repo cat prints it)");
        fail(kExitNotFound, what_ + " does not exist in " + repo_->dir() + " (zadp-repo ls lists the images)");
    }
    index_ = std::make_unique<repo::IndexReader>(repo_->store(), key, what_, repo_->sealer());
    repo::check_index_fits(*repo_, index_->header(), what_);
    size_ = index_->header().size;
    chunk_size_ = index_->header().chunk_size;
    chunks_ = index_->entries();
    // At most half the cache ahead, so read-ahead never evicts what it loaded
    // before the reader got there; at least one chunk.
    size_t ahead = std::min(limits_.readahead_bytes, limits_.cache_bytes / 2);
    ahead_chunks_ = limits_.readahead_threads ? std::max<uint64_t>(ahead / chunk_size_, 1) : 0;
}

ServedImage::~ServedImage() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
        queue_.clear();
    }
    queue_cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void ServedImage::start_threads() {
    for (size_t i = threads_.size(); i < limits_.readahead_threads; ++i) threads_.emplace_back([this] { worker(); });
}

ChunkId ServedImage::entry(uint64_t chunk) {
    std::lock_guard lock(index_mutex_);
    return index_->entry(chunk);
}

ChunkCache::Loaded ServedImage::load(uint64_t index, const ChunkId& id) {
    auto file = buffers_->take(), scratch = buffers_->take();
    repo::PlainView plain;
    auto failed = [&](std::string why) {
        buffers_->give(std::move(file));
        buffers_->give(std::move(scratch));
        return ChunkCache::Loaded{nullptr, std::move(why)};
    };
    std::string error = limits_.hash_ids ? repo_->load_chunk(id, *file, *scratch, plain)
                                         : repo_->load_chunk_unhashed(id, *file, *scratch, plain);
    if (!error.empty()) return failed("is " + error);
    uint64_t expected = std::min<uint64_t>(chunk_size_, size_ - index * chunk_size_);
    if (plain.size != expected)
        return failed("has " + std::to_string(plain.size) + " bytes, expected " + std::to_string(expected));
    // The plain bytes stay where decoding left them: in the object read
    // (stored uncompressed) or in the decompression buffer. The cache keeps
    // that buffer; the other goes back at once.
    const bool in_scratch = scratch->capacity() && plain.data >= scratch->data() &&
                            plain.data < scratch->data() + scratch->capacity();
    if (in_scratch) std::swap(file, scratch);
    buffers_->give(std::move(scratch));
    auto chunk = std::make_shared<PlainChunk>();
    chunk->buffer = std::move(file);
    chunk->view = plain;
    // The pool outlives the image if a reader still holds the chunk.
    chunk->give_back = [pool = buffers_](std::unique_ptr<repo::Bytes> b) { pool->give(std::move(b)); };
    return {std::move(chunk), ""};
}

ChunkBytes ServedImage::chunk(uint64_t index, const ChunkId& id) {
    auto loaded = cache_.get(id, [&](const ChunkId& i) { return load(index, i); });
    // Cached for another place of the index: the same id is the same bytes,
    // but an index naming a full chunk in the last, short place is damaged.
    uint64_t expected = std::min<uint64_t>(chunk_size_, size_ - index * chunk_size_);
    if (loaded.bytes && loaded.bytes->size() != expected)
        loaded = {nullptr, "has " + std::to_string(loaded.bytes->size()) + " bytes, expected " + std::to_string(expected)};
    if (!loaded.error.empty())
        fail(kExitIntegrity, what_ + ": chunk " + std::to_string(index) + " at offset " +
                                 std::to_string(index * chunk_size_) + " (id " + repo::to_hex(id).substr(0, 16) +
                                 ") " + loaded.error);
    return loaded.bytes;
}

void ServedImage::read(uint64_t offset, void* buffer, size_t length, Cursor* cursor) {
    if (offset > size_ || length > size_ - offset) fail(kExitIo, what_ + ": read beyond the end of the image");
    if (length == 0) return;
    const uint64_t first = offset / chunk_size_, last = (offset + length - 1) / chunk_size_;
    if (cursor) {
        // Sequential when it starts about where this client's last read
        // ended (requests in flight may arrive a little out of order).
        uint64_t expected = cursor->next_chunk.exchange(last + 1);
        if (first + 1 >= expected && first <= expected + 1) read_ahead(last + 1, last + 1 + ahead_chunks_);
    }
    auto* out = static_cast<unsigned char*>(buffer);
    for (uint64_t c = first; c <= last; ++c) {
        uint64_t start = std::max(offset, c * chunk_size_), end = std::min(offset + length, (c + 1) * chunk_size_);
        ChunkId id = entry(c);
        if (repo::is_zero_id(id)) {
            std::memset(out + (start - offset), 0, end - start);
        } else {
            ChunkBytes bytes = chunk(c, id);
            std::memcpy(out + (start - offset), bytes->data() + (start - c * chunk_size_), end - start);
        }
    }
}

void ServedImage::prefetch(uint64_t offset, uint64_t length) {
    if (offset >= size_ || length == 0) return;
    uint64_t end = std::min(size_, offset + length);
    read_ahead(offset / chunk_size_, (end - 1) / chunk_size_ + 1);
}

void ServedImage::read_ahead(uint64_t from, uint64_t to) {
    if (threads_.empty()) return;
    to = std::min(to, chunks_);
    std::lock_guard lock(queue_mutex_);
    for (uint64_t c = from; c < to; ++c) {
        if (std::find(queue_.begin(), queue_.end(), c) != queue_.end()) continue;
        // Bounded: the oldest request gives way (the reader went past it).
        if (queue_.size() >= 2 * std::max<uint64_t>(ahead_chunks_, 1)) queue_.pop_front();
        queue_.push_back(c);
    }
    queue_cv_.notify_all();
}

void ServedImage::worker() {
    for (;;) {
        uint64_t c;
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            c = queue_.front();
            queue_.pop_front();
        }
        try {
            ChunkId id = entry(c);
            if (repo::is_zero_id(id) || cache_.contains(id)) continue;
            // A damaged chunk is reported by the read that needs it, not here.
            cache_.get(id, [&](const ChunkId& i) { return load(c, i); });
        } catch (const std::exception& e) {
            log_debug(what_ + ": read-ahead of chunk " + std::to_string(c) + ": " + e.what());
        }
    }
}

std::vector<ServedImage::Run> ServedImage::extents(uint64_t offset, uint64_t length, size_t max_runs) {
    std::vector<Run> out;
    if (offset >= size_) return out;
    const uint64_t end = std::min(size_, offset + length);
    std::lock_guard lock(index_mutex_);
    for (uint64_t pos = offset; pos < end;) {
        uint64_t c = pos / chunk_size_;
        uint64_t next = std::min(end, (c + 1) * chunk_size_);
        bool zero = repo::is_zero_id(index_->entry(c));
        if (!out.empty() && out.back().zero == zero) {
            out.back().length += next - pos;
        } else {
            if (out.size() == max_runs) break;
            out.push_back({pos, next - pos, zero});
        }
        pos = next;
    }
    return out;
}

}  // namespace hci::nbd
