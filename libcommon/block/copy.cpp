#include "libcommon/block/copy.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/clobber.h"

namespace hci {
namespace {

constexpr size_t kChunkSize = 4u << 20;  // read size: large, yet 4 of them stay small
constexpr size_t kBuffers = 4;
// Read side: a buffer for each read in flight, one the writing thread
// works on and one waiting for it, so reading never waits for a buffer.
size_t read_buffers(const Volume& source) { return std::max<size_t>(kBuffers, source.read_depth() + 2); }
constexpr uint64_t kExtentWindow = 1ull << 30;  // allocation map queried 1 GiB at a time

// A bounded, closable queue between the helper thread and the main thread.
template <class T>
class Channel {
public:
    explicit Channel(size_t capacity) : capacity_(capacity) {}
    bool push(T value) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return queue_.size() < capacity_ || closed_; });
        if (closed_) return false;
        queue_.push_back(std::move(value));
        cv_.notify_all();
        return true;
    }
    std::optional<T> pop() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return std::nullopt;
        T value = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
        return value;
    }
    void close() {
        std::lock_guard lock(mutex_);
        closed_ = true;
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<T> queue_;
    size_t capacity_;
    bool closed_ = false;
};

// A fixed set of page-aligned buffers, allocated once and never touched
// beyond what is used, so RSS follows the data actually in flight. Taken
// newest first: the buffer given back last was just read by the other
// thread and is likely still in the CPU's cache, so filling it again does
// not first fetch its lines from memory (oldest first, every buffer went
// cold while the others cycled).
class BufferPool {
public:
    BufferPool(size_t count, size_t size) {
        for (size_t i = 0; i < count; ++i) {
            all_.push_back(std::make_unique<AlignedBuffer>(size));
            free_.push_back(all_.back()->data());
        }
    }
    // A free buffer, waiting for one; none once closed and all are out.
    std::optional<unsigned char*> take() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !free_.empty() || closed_; });
        if (free_.empty()) return std::nullopt;
        unsigned char* p = free_.back();
        free_.pop_back();
        return p;
    }
    void give(unsigned char* p) {
        std::lock_guard lock(mutex_);
        free_.push_back(p);
        cv_.notify_one();
    }
    void close() {
        std::lock_guard lock(mutex_);
        closed_ = true;
        cv_.notify_all();
    }

private:
    std::vector<std::unique_ptr<AlignedBuffer>> all_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<unsigned char*> free_;
    bool closed_ = false;
};

struct Segment {
    uint64_t offset;
    uint64_t length;
    bool zero;
};

// A piece of the image on its way from the helper thread to the main thread:
// a buffer (null for a hole) holding [offset, offset+length) and its split
// into data and zero segments; `pooled`, the buffer when it goes back to a
// BufferPool (not when the source lent it). `end` marks the last item;
// `error` a failure.
struct Chunk {
    uint64_t offset = 0;
    const unsigned char* buffer = nullptr;
    unsigned char* pooled = nullptr;
    std::vector<Segment> segments;
    bool end = false;
    std::exception_ptr error;
    stream::Stats stats;  // with `end` on the write side
};

// The zeroing fallback, for a target or sink that could not zero a range
// itself (nbdcopy's way): writes of the zero buffer, each at most its size;
// write(done, n) writes n zero bytes at `done` into the range.
template <class Write>
void write_zero_buffers(uint64_t length, Write write) {
    for (uint64_t done = 0; done < length;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(length - done, kZeroBufferSize));
        write(done, n);
        done += n;
    }
}

bool all_zero(const unsigned char* p, size_t n) {
    // Random data fails on the first byte; zeros compare against a buffer of
    // zeros that stays in cache.
    return p[0] == 0 && std::memcmp(p, zero_buffer(), n) == 0;
}

// Splits [offset, offset+length) of `data` into runs of whole blocks that are
// all zero and runs that are not.
void split_zero_blocks(const unsigned char* data, uint64_t offset, size_t length, uint32_t block,
                       std::vector<Segment>& out) {
    size_t pos = 0;
    while (pos < length) {
        size_t n = std::min<size_t>(block, length - pos);
        bool zero = all_zero(data + pos, n);
        if (!out.empty() && out.back().zero == zero && out.back().offset + out.back().length == offset + pos)
            out.back().length += n;
        else
            out.push_back({offset + pos, n, zero});
        pos += n;
    }
}

// Runs `produce` on a helper thread feeding `chunks`; joins it on destruction
// after closing the queues so it can never block forever.
class Helper {
public:
    Helper(Channel<Chunk>& chunks, BufferPool& pool) : chunks_(chunks), pool_(pool) {}
    template <class F>
    void start(F produce) {
        thread_ = std::thread([this, produce]() mutable {
            try {
                produce();
            } catch (...) {
                Chunk failed;
                failed.error = std::current_exception();
                chunks_.push(std::move(failed));
            }
        });
    }
    ~Helper() {
        chunks_.close();
        pool_.close();
        if (thread_.joinable()) thread_.join();
    }

private:
    Channel<Chunk>& chunks_;
    BufferPool& pool_;
    std::thread thread_;
};

Chunk next_chunk(Channel<Chunk>& chunks) {
    auto chunk = chunks.pop();
    if (!chunk) throw std::logic_error("copy queue closed early");
    if (chunk->error) std::rethrow_exception(chunk->error);
    return std::move(*chunk);
}

// Allocation of [0, size) in extents rounded out to whole stream blocks
// (a partly allocated block is read whole), merged, queried window by window.
template <class F>
void for_each_extent(Volume& v, uint32_t block, F visit) {
    uint64_t size = v.size(), pos = 0, pending_start = 0, pending_end = 0;
    bool pending = false;
    while (pos < size) {
        uint64_t window = std::min(kExtentWindow, size - pos);
        auto extents = v.extents(pos, window);
        if (extents.empty()) extents.push_back({pos, window, true});
        for (const auto& e : extents) {
            if (!e.allocated || e.length == 0) continue;
            uint64_t start = e.offset / block * block;
            uint64_t end = std::min(size, (e.offset + e.length + block - 1) / block * block);
            if (pending && start <= pending_end) {
                pending_end = std::max(pending_end, end);
            } else {
                if (pending) visit(pending_start, pending_end);
                pending = true;
                pending_start = start;
                pending_end = end;
            }
        }
        pos += window;
    }
    if (pending) visit(pending_start, pending_end);
}

}  // namespace

uint32_t stream_block_size(const Volume& source) {
    uint32_t b = std::max<uint32_t>(4096, source.block_size());
    return std::min(b, stream::kMaxBlockSize);
}

// ---- read side: volume -> stream ----

namespace {

// The read size for a source: what it likes, in whole stream blocks.
size_t read_size(const Volume& source, uint32_t block) {
    size_t n = std::clamp<size_t>(source.max_io_size(), 64u << 10, 8u << 20) / block * block;
    return n == 0 ? block : n;
}

// [offset, offset+length) of `data`, split into data and all-zero blocks,
// added to `digest` (if any) in order.
Chunk data_chunk(uint64_t offset, const unsigned char* data, size_t length, uint32_t block,
                 stream::ImageDigest* digest) {
    Chunk c;
    c.offset = offset;
    c.buffer = data;
    split_zero_blocks(data, offset, length, block, c.segments);
    if (digest)
        for (const auto& s : c.segments)
            s.zero ? digest->add_zeros(s.length)
                   : digest->add_data(data + (s.offset - offset), static_cast<size_t>(s.length));
    return c;
}

Chunk hole_chunk(uint64_t start, uint64_t end, stream::ImageDigest* digest) {
    Chunk c;
    c.offset = start;
    c.segments.push_back({start, end - start, true});
    if (digest) digest->add_zeros(end - start);
    return c;
}

// Feeds the whole of `source` as chunks: holes (by its allocation map) as
// zero segments, allocated ranges read in `chunk_size` pieces and split into
// data and all-zero blocks, with up to source.read_depth() reads in flight.
// With `digest`, this thread also takes the image digest of everything it
// feeds, in order, while the buffer is still in cache, so the thread that
// writes does not hash.
void produce_volume(Volume& source, uint32_t block, size_t chunk_size, Channel<Chunk>& chunks, BufferPool& pool,
                    stream::ImageDigest* digest) {
    struct Reading {
        uint64_t offset;
        size_t length;
        unsigned char* buffer;
    };
    std::deque<Reading> reading;  // started, oldest first
    // Reads still in flight when this returns early or throws are abandoned
    // before their buffers can go back to anyone.
    struct Abandon {
        Volume& source;
        std::deque<Reading>& reading;
        ~Abandon() {
            if (!reading.empty()) source.cancel_reads();
        }
    } abandon{source, reading};
    const size_t depth = std::max(1u, source.read_depth());
    auto finish_oldest = [&] {
        source.finish_read();
        Reading r = reading.front();
        reading.pop_front();
        Chunk c = data_chunk(r.offset, r.buffer, r.length, block, digest);
        c.pooled = r.buffer;
        return chunks.push(std::move(c));
    };
    auto finish_all = [&] {
        while (!reading.empty())
            if (!finish_oldest()) return false;
        return true;
    };

    const uint64_t size = source.size();
    uint64_t pos = 0;  // where the next read or hole starts
    auto hole_until = [&](uint64_t end) {
        if (end <= pos) return true;
        if (!finish_all()) return false;  // what was read before the hole goes first
        Chunk c = hole_chunk(pos, end, digest);
        pos = end;
        return chunks.push(std::move(c));
    };
    bool open = true;
    for_each_extent(source, block, [&](uint64_t start, uint64_t end) {
        if (!open || !(open = hole_until(start))) return;
        while (pos < end) {
            auto buffer = pool.take();
            if (!buffer) {
                open = false;
                return;
            }
            size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size - pos % chunk_size, end - pos));
            source.start_read(pos, *buffer, n);
            reading.push_back({pos, n, *buffer});
            pos += n;
            if (reading.size() >= depth && !(open = finish_oldest())) return;
        }
    });
    if (open && finish_all() && hole_until(size)) {
        Chunk done;
        done.end = true;
        chunks.push(std::move(done));
    }
}

// produce_volume for a source that lends its data (Volume::lend): on the
// calling thread, each piece handed to consume() straight from the source's
// memory, which does its own reading ahead (a repository decodes chunks on
// its workers). No read buffers, no copy, no hand-off between threads.
template <class Consume>
void produce_lent(Volume& source, uint32_t block, stream::ImageDigest* digest, Consume consume) {
    const uint64_t size = source.size(), piece = source.lend_size();
    uint64_t pos = 0;
    auto data_until = [&](uint64_t end) {
        while (pos < end) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(piece - pos % piece, end - pos));
            const unsigned char* data = source.lend(pos, n);
            consume(data ? data_chunk(pos, data, n, block, digest) : hole_chunk(pos, pos + n, digest));
            pos += n;
        }
    };
    for_each_extent(source, block, [&](uint64_t start, uint64_t end) {
        if (start > pos) consume(hole_chunk(pos, start, digest));
        pos = start;
        data_until(end);
    });
    if (pos < size) consume(hole_chunk(pos, size, digest));
}

// Every chunk of `source`, in order, to consume(): lent by the source when
// it can and `may_lend`, else read into buffers by a helper thread with
// reads in flight.
template <class Consume>
void for_each_chunk(Volume& source, uint32_t block, stream::ImageDigest* digest, bool may_lend, Consume consume) {
    if (may_lend && source.lend_size() > 0) return produce_lent(source, block, digest, consume);
    const size_t chunk_size = read_size(source, block);
    BufferPool pool(read_buffers(source), chunk_size);
    Channel<Chunk> chunks(read_buffers(source) + 2);
    Helper helper(chunks, pool);
    helper.start([&] { produce_volume(source, block, chunk_size, chunks, pool, digest); });
    for (;;) {
        Chunk c = next_chunk(chunks);
        if (c.end) break;
        consume(c);
        if (c.pooled) pool.give(c.pooled);
    }
}

}  // namespace

stream::Stats read_volume(Volume& source, ByteSink& sink, const ReadJob& job) {
    const uint64_t size = source.size();
    const uint32_t block = stream_block_size(source);

    // This loop reads the whole image once, in order: a source that can
    // check it end to end by its digest is promised the digest (before the
    // first read) and given it before the end goes out. A stream's encoder
    // takes the digest itself; for raw output the reading thread does.
    const bool digest_promised = source.promise_digest_check();
    std::optional<stream::ImageDigest> raw_digest;
    if (job.raw && digest_promised) raw_digest.emplace();

    Progress progress(job.progress, size);
    std::optional<stream::Encoder> encoder;
    if (!job.raw) {
        stream::Header header;
        header.size = size;
        header.block_size = block;
        header.identity = job.identity;
        encoder.emplace(sink, header);
    }
    stream::Stats raw_stats;
    // Lent pieces go to a stream or raw output as they come (its writes are buffered).
    for_each_chunk(source, block, raw_digest ? &*raw_digest : nullptr, true, [&](const Chunk& c) {
        for (const auto& s : c.segments) {
            const unsigned char* data = c.buffer ? c.buffer + (s.offset - c.offset) : nullptr;
            if (encoder) {
                if (s.zero)
                    encoder->zero(s.offset, s.length);
                else
                    encoder->data(s.offset, data, static_cast<size_t>(s.length));
            } else if (s.zero) {
                if (!sink.skip_zeros(s.length))
                    write_zero_buffers(s.length, [&](uint64_t, size_t n) { sink.write(zero_buffer(), n); });
                raw_stats.zero_bytes += s.length;
            } else {
                sink.write(data, static_cast<size_t>(s.length));
                raw_stats.data_bytes += s.length;
            }
            progress.update(s.offset + s.length);
        }
    });
    auto check = [&](const stream::Digest& digest) {
        if (digest_promised) source.check_read_digest(stream::digest_hex(digest));
    };
    if (raw_digest) {
        raw_stats.digest = raw_digest->finish();
        check(raw_stats.digest);
    }
    stream::Stats stats = encoder ? encoder->finish(check) : raw_stats;
    if (!encoder) sink.finish();
    progress.finish();
    return stats;
}

// ---- write side: stream -> volume ----

namespace {

// Feeds verified records of a stream as chunks (one segment each).
void produce_records(stream::Decoder& decoder, Channel<Chunk>& chunks, BufferPool& pool) {
    auto buffer = pool.take();
    while (buffer) {
        stream::Record r;
        if (!decoder.next(r, *buffer)) {
            pool.give(*buffer);
            Chunk done;
            done.end = true;
            done.stats = decoder.stats();
            chunks.push(std::move(done));
            return;
        }
        Chunk c;
        c.offset = r.offset;
        c.segments.push_back({r.offset, r.length, r.kind == stream::Record::kZero});
        if (r.kind == stream::Record::kData) {
            c.buffer = c.pooled = *buffer;
            buffer = pool.take();
        }
        if (!chunks.push(std::move(c))) return;
    }
}

// Feeds a raw image as chunks split into data and all-zero blocks.
void produce_raw(ByteSource& in, Channel<Chunk>& chunks, BufferPool& pool) {
    uint64_t pos = 0;
    stream::Stats stats;
    for (;;) {
        auto buffer = pool.take();
        if (!buffer) return;
        size_t n = in.read_full(*buffer, kChunkSize);
        if (n == 0) {
            pool.give(*buffer);
            break;
        }
        Chunk c;
        c.offset = pos;
        c.buffer = c.pooled = *buffer;
        split_zero_blocks(*buffer, pos, n, 4096, c.segments);
        for (const auto& s : c.segments) (s.zero ? stats.zero_bytes : stats.data_bytes) += s.length;
        pos += n;
        if (!chunks.push(std::move(c))) return;
        if (n < kChunkSize) break;
    }
    Chunk done;
    done.end = true;
    done.stats = stats;
    chunks.push(std::move(done));
}

void check_target_fits(Volume& target, const stream::Header& header) {
    if (target.size() < header.size)
        fail(kExitIo, "target " + target.describe() + " is too small: " + std::to_string(target.size()) +
                          " bytes, the stream holds " + std::to_string(header.size));
    uint32_t tb = target.block_size();
    if (tb == 0 || header.block_size % tb != 0)
        fail(kExitUsage, "the stream's block size " + std::to_string(header.block_size) +
                             " is not a multiple of the target's block size " + std::to_string(tb));
}

// A restore onto a larger device or LUN leaves the rest as it was; users
// comparing whole devices must know.
void warn_about_bytes_past_image(const Volume& target, uint64_t image_size) {
    uint64_t size = target.size();
    if (target.is_new() || size == UINT64_MAX || size <= image_size) return;
    log_warning(target.describe() + " is " + std::to_string(size) + " bytes, the image " +
                std::to_string(image_size) + ": the " + std::to_string(size - image_size) +
                " bytes past the image were left as they were");
}

void write_segment(Volume& target, const Segment& s, const unsigned char* data) {
    if (s.zero) {
        if (!target.zero(s.offset, s.length))
            write_zero_buffers(s.length, [&](uint64_t done, size_t n) { target.write(s.offset + done, zero_buffer(), n); });
        return;
    }
    size_t step = std::max<size_t>(target.max_io_size(), target.block_size());
    for (uint64_t done = 0; done < s.length;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(step, s.length - done));
        target.write(s.offset + done, data + done, n);
        done += n;
    }
}

}  // namespace

RestoreSource::RestoreSource(ByteSource& in, bool raw) : in_(in) {
    if (raw) return;
    decoder_.emplace(in);
    header_ = decoder_->header();
}

VolumeOptions RestoreSource::target_options(VolumeOptions options) const {
    options.create = true;
    options.create_growable = raw();
    options.create_size = header_.size;
    options.identity = header_.identity;
    options.stream_block_size = header_.block_size;
    return options;
}

WriteResult write_volume(RestoreSource& source, Volume& target, ProgressMode progress_mode, bool force) {
    WriteResult result;
    result.header = source.header();
    const bool raw = source.raw();
    if (!raw) check_target_fits(target, result.header);
    if (!force) refuse_to_clobber(target);

    BufferPool pool(kBuffers, raw ? kChunkSize : stream::kMaxDataLength);
    Channel<Chunk> chunks(kBuffers + 2);
    Helper helper(chunks, pool);
    if (raw)
        helper.start([&] { produce_raw(source.bytes(), chunks, pool); });
    else
        helper.start([&] { produce_records(*source.decoder(), chunks, pool); });

    Progress progress(progress_mode, result.header.size);
    uint64_t end = 0;
    for (;;) {
        Chunk c = next_chunk(chunks);
        if (c.end) {
            result.stats = c.stats;
            break;
        }
        for (const auto& s : c.segments) {
            if (raw && s.offset + s.length > target.size())
                fail(kExitIo, "target " + target.describe() + " is too small for the raw input (" +
                                  std::to_string(target.size()) + " bytes)");
            write_segment(target, s, c.buffer ? c.buffer + (s.offset - c.offset) : nullptr);
            end = s.offset + s.length;
            progress.update(end);
        }
        if (c.pooled) pool.give(c.pooled);
    }
    if (raw) result.header.size = end;
    target.end_at(result.header.size);
    if (!raw) target.stream_verified(stream::digest_hex(result.stats.digest));
    warn_about_bytes_past_image(target, result.header.size);
    target.flush();
    target.commit();
    result.report = target.report();
    progress.finish();
    return result;
}

stream::Header copy_header(const Volume& source) {
    stream::Header header;
    header.size = source.size();
    header.block_size = stream_block_size(source);
    if (auto identity = source.identity(); !identity.empty()) header.identity = identity;
    return header;
}

VolumeOptions copy_target_options(const Volume& source, VolumeOptions options) {
    stream::Header header = copy_header(source);
    options.create = true;
    options.create_growable = false;
    options.create_size = header.size;
    options.identity = header.identity;
    options.stream_block_size = header.block_size;
    return options;
}

WriteResult copy_volume(Volume& source, Volume& target, ProgressMode progress_mode, bool force) {
    WriteResult result;
    result.header = copy_header(source);
    const uint32_t block = result.header.block_size;
    check_target_fits(target, result.header);
    if (!force) refuse_to_clobber(target);

    // The whole image, once, in order: the digest is promised and checked
    // before the target is committed (a new file then never appears).
    const bool digest_promised = source.promise_digest_check();
    stream::ImageDigest digest;
    Progress progress(progress_mode, result.header.size);
    // A source's pieces (a repository's chunks, 256 KiB by default) are
    // written as lent only where small writes merge (a file or block device
    // through the page cache); an iSCSI LUN gets reads of max_io_size(), each
    // written with its commands in flight.
    for_each_chunk(source, block, &digest, target.small_writes_merge(), [&](const Chunk& c) {
        for (const auto& s : c.segments) {
            write_segment(target, s, c.buffer ? c.buffer + (s.offset - c.offset) : nullptr);
            if (s.zero) {
                result.stats.zero_records++;
                result.stats.zero_bytes += s.length;
            } else {
                result.stats.data_records++;
                result.stats.data_bytes += s.length;
            }
            progress.update(s.offset + s.length);
        }
    });
    result.stats.digest = digest.finish();
    const std::string hex = stream::digest_hex(result.stats.digest);
    if (digest_promised) source.check_read_digest(hex);
    target.end_at(result.header.size);
    target.stream_verified(hex);
    warn_about_bytes_past_image(target, result.header.size);
    target.flush();
    target.commit();
    result.report = target.report();
    progress.finish();
    return result;
}

WriteResult check_stream(ByteSource& in, ProgressMode mode) {
    stream::Decoder decoder(in);
    WriteResult result;
    result.header = decoder.header();
    Progress progress(mode, result.header.size);
    std::unique_ptr<unsigned char[]> payload(new unsigned char[stream::kMaxDataLength]);
    stream::Record r;
    while (decoder.next(r, payload.get())) progress.update(r.offset + r.length);
    progress.finish();
    result.stats = decoder.stats();
    return result;
}

}  // namespace hci
