#pragma once
// Storing and reading one image of a repository. The writer takes the
// image's bytes in offset order, cuts them into chunks aligned to image
// offsets, stores the chunks it has not seen (hashing, compressing and
// writing a few at once) and writes the index last; the reader serves any
// byte range from the index and its chunks, every chunk checked.
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "libcommon/block/repo/repository.h"
#include "libcommon/block/stream.h"

namespace hci {
class TempFile;
}

namespace hci::repo {

class ImageWriter {
public:
    // `identity` is the stream header's JSON object; the store holds the
    // repository lock shared until it is destroyed.
    ImageWriter(Repository& repo, const std::string& name, uint64_t size, uint32_t block_size,
                const std::string& identity);
    ~ImageWriter();
    void write(uint64_t offset, const void* data, size_t length);
    void zero(uint64_t offset, uint64_t length);
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
        bool zero = false;
        std::unique_ptr<unsigned char[]> buffer;
    };
    void expect(uint64_t offset, uint64_t length);
    void end_chunk();
    void collect_one();
    std::unique_ptr<unsigned char[]> take_buffer();

    Repository& repo_;
    std::unique_ptr<Repository::Lock> lock_;
    IndexHeader header_;
    IndexTrailer totals_;
    std::unique_ptr<TempFile> temp_;
    std::unique_ptr<IndexWriter> index_;
    stream::ImageDigest digest_;
    uint64_t position_ = 0;
    std::unique_ptr<unsigned char[]> current_;  // the chunk being filled
    size_t filled_ = 0;
    bool current_zero_ = true;  // nothing but zeros so far (buffer not written)
    std::deque<std::future<Result>> pending_;
    std::vector<std::unique_ptr<unsigned char[]>> spare_;
};

class ImageReader {
public:
    ImageReader(Repository& repo, const std::string& name);
    const IndexHeader& header() const { return index_.header(); }
    const IndexTrailer& trailer() const { return index_.trailer(); }
    uint64_t size() const { return index_.header().size; }
    uint32_t chunk_size() const { return index_.header().chunk_size; }
    bool chunk_is_zero(uint64_t chunk) { return is_zero_id(index_.entry(chunk)); }
    // Any range; chunks load in parallel, each verified. A missing or
    // damaged chunk is Error(kExitIntegrity) naming the image and offset.
    void read(uint64_t offset, void* buffer, size_t length);

private:
    const std::vector<unsigned char>& chunk(uint64_t index);
    Repository& repo_;
    std::unique_ptr<Repository::Lock> lock_;
    std::string what_;
    IndexReader index_;
    // A small cache of decoded chunks, so reads smaller than a chunk do not
    // decode it again.
    std::deque<std::pair<uint64_t, std::vector<unsigned char>>> cache_;
};

}  // namespace hci::repo
