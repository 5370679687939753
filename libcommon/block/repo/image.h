#pragma once
// Storing and reading one image of a repository. The writer takes the
// image's bytes in offset order, cuts them into chunks aligned to image
// offsets, stores the chunks it has not seen (worker threads hash, compress
// and write them while the caller goes on) and writes the index last; the
// reader serves any byte range from the index and its chunks, every chunk
// checked, loading ahead of a forward reader.
#include <cstdint>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/ordered_pool.h"
#include "libcommon/block/repo/read_plan.h"
#include "libcommon/block/repo/repository.h"
#include "libcommon/block/stream.h"

namespace hci::repo {

// Fails (exit 6) when an index cannot be read back in this repository (its
// chunk size is not the config's): what every read checks, and check too.
void check_index_fits(const Repository& repo, const IndexHeader& header, const std::string& what);

// The most bytes an index of `entries` chunks takes, and a usage error
// (exit 2, before anything is stored) when that is more than one object of
// `store` holds (S3: one PUT of 5 GiB, an image of 39.97 TiB at 256 KiB chunks).
uint64_t index_size_bound(uint64_t entries);
void check_index_fits_one_object(const ObjectStore& store, const IndexHeader& header);

// How many threads hash, compress and seal chunks (or read and check them).
size_t chunk_worker_count();
// How many chunks may be in flight between the caller and the workers: one
// per worker at least, more while they fit in about `budget` bytes, at most
// 32, so memory stays bounded whatever the image size and chunk size.
size_t chunks_in_flight(uint32_t chunk_size, size_t workers, size_t budget = 16u << 20);

class ImageWriter {
public:
    // `identity` is the stream header's JSON object; the store holds the
    // repository lock shared until it is destroyed. With kFromStream the
    // writer does not hash the image itself: commit() needs the digest of
    // the verified stream it was fed from (set_verified_digest).
    enum class Digest { kComputed, kFromStream };
    ImageWriter(Repository& repo, const std::string& name, uint64_t size, uint32_t block_size,
                const std::string& identity, Digest digest = Digest::kComputed);
    ~ImageWriter();
    void write(uint64_t offset, const void* data, size_t length);
    void zero(uint64_t offset, uint64_t length);
    void set_verified_digest(const std::string& hex) { verified_digest_ = hex; }
    // Everything arrived: stores the last chunk, makes the chunks durable and
    // publishes the index under its final name.
    void commit();
    const IndexHeader& header() const { return header_; }
    const IndexTrailer& totals() const { return totals_; }

private:
    struct Result {
        ChunkId id{};
        uint64_t length = 0;
        uint64_t stored = 0;  // bytes written; 0 when the chunk was there
        std::unique_ptr<unsigned char[]> buffer;
    };
    void expect(uint64_t offset, uint64_t length);
    void end_chunk();
    void collect_one();
    void add_zero_chunks(uint64_t count);
    std::unique_ptr<unsigned char[]> take_buffer();

    Repository& repo_;
    std::unique_ptr<Repository::Lock> lock_;
    IndexHeader header_;
    IndexTrailer totals_;
    std::unique_ptr<ObjectWriter> out_;  // the index, published by commit()
    std::unique_ptr<IndexWriter> index_;
    std::optional<stream::ImageDigest> digest_;  // kComputed only
    std::string verified_digest_;
    uint64_t position_ = 0;
    std::unique_ptr<unsigned char[]> current_;  // the chunk being filled
    size_t filled_ = 0;
    bool current_zero_ = true;  // nothing but zeros so far (buffer not written)
    // The index entries not yet written, in image order: 0 for a chunk the
    // workers have (its result is the pool's next), N > 0 for N zero chunks.
    std::deque<uint64_t> order_;
    size_t in_flight_limit_ = 0;
    std::vector<std::unique_ptr<unsigned char[]>> spare_;
    OrderedPool<Result> pool_;  // last: stops before what its jobs use goes away
};

class ImageReader {
public:
    ImageReader(Repository& repo, const std::string& name);
    ~ImageReader();
    const IndexHeader& header() const { return index_.header(); }
    const IndexTrailer& trailer() const { return index_.trailer(); }
    uint64_t size() const { return index_.header().size; }
    uint32_t chunk_size() const { return index_.header().chunk_size; }
    bool chunk_is_zero(uint64_t chunk) { return is_zero_id(index_.entry(chunk)); }
    // Any range. Chunks are loaded and verified by workers ahead of a
    // reader that goes forward; a jump elsewhere starts again there. A
    // missing or damaged chunk is Error(kExitIntegrity) naming the image
    // and offset.
    void read(uint64_t offset, void* buffer, size_t length);
    // read() without the copy: [offset, offset+length) within one chunk,
    // served from the chunk as loaded (checked as read() checks it), valid
    // until the next read() or lend(); null for a zero chunk.
    const unsigned char* lend(uint64_t offset, size_t length);
    // For a caller that reads the whole image once, in order, and then
    // passes the digest of what it got to check_digest() before it lets the
    // end out: chunks are then checked by their seal and decompression only,
    // not hashed to their ids (most of a read's cost). False, changing
    // nothing, when the index records no digest or reading has begun.
    bool rely_on_digest_check();
    // Compares the digest of the image as read with the index's. On a
    // mismatch, finds the damaged chunk by hashing every chunk to its id and
    // fails naming it and its offset; Error(kExitIntegrity) either way.
    void check_digest(const std::string& digest_hex);

private:
    struct Loaded {
        uint64_t chunk = 0;
        ChunkId id{};
        std::unique_ptr<Bytes> file, scratch;
        PlainView plain;
        std::string error;
    };
    const Loaded& chunk(uint64_t index);
    void read_ahead();
    void submit_load(uint64_t c, const ChunkId& id);
    Loaded start_loading(uint64_t c, const ChunkId& id);

    // Coalesced reads, on a store where each read is a request (S3) and
    // chunks share pack objects: the chunks after the read position are
    // located a batch at a time and grouped into ranged reads (read_plan.h),
    // up to kFetchBudget bytes of them requested ahead, many at once; the
    // decoding workers take each chunk's bytes from its read.
    struct Fetch;
    struct Planned {
        uint64_t chunk = 0;
        ChunkId id{};
        ReadPiece piece;
        std::shared_ptr<Fetch> fetch;
    };
    class RequestPool;
    void plan_ahead();
    void plan_batch(std::vector<Planned> batch);
    void submit_planned(Planned planned);
    void forget_planned();
    void recycle(Loaded& loaded);
    [[noreturn]] void damaged(uint64_t chunk, const ChunkId& id, const std::string& why) const;

    Repository& repo_;
    std::unique_ptr<Repository::Lock> lock_;
    std::string what_;
    IndexReader index_;
    bool hash_chunks_ = true;  // false once the caller checks the image digest
    size_t in_flight_limit_ = 0;
    uint64_t next_ahead_ = 0;        // the next chunk read_ahead() looks at
    std::deque<uint64_t> ahead_;     // chunks submitted, in order
    std::optional<Loaded> current_;  // the chunk reads are served from
    std::mutex spare_mutex_;
    std::vector<std::unique_ptr<Bytes>> spare_;
    bool coalesce_ = false;
    std::deque<Planned> planned_;   // located and requested, not yet given to the decoding workers
    // Bytes of the ranged reads requested and not yet done with (their
    // chunks decoded or dropped): each Fetch adds its length while it lives.
    std::shared_ptr<std::atomic<uint64_t>> fetch_bytes_ = std::make_shared<std::atomic<uint64_t>>(0);
    std::unique_ptr<RequestPool> requests_;  // before pool_: its jobs wait for these
    OrderedPool<Loaded> pool_;  // last: stops before what its jobs use goes away
};

}  // namespace hci::repo
