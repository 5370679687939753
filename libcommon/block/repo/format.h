#pragma once
// The on-disk codecs of a repository (zadp-repo(5)): sealed pieces (an
// XXH3-64 checksum, or AES-256-GCM when encrypted), object files (chunks and
// blobs: zstd-compressed, sealed) and the fixed index of an image.
#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/crypto.h"

namespace hci::repo {

// A byte buffer for chunk-sized data: reset() keeps its memory when it is
// large enough and never fills it (vectors would zero MiBs per chunk). The
// memory is mapped, not malloc'ed, so a freed buffer goes back to the
// system at once and peak memory is what is in use, not what the worker
// threads' malloc arenas kept.
class Bytes {
public:
    Bytes() = default;
    ~Bytes();
    Bytes(const Bytes&) = delete;
    Bytes& operator=(const Bytes&) = delete;
    unsigned char* data() { return data_; }
    const unsigned char* data() const { return data_; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    // `size` bytes of unspecified content.
    void reset(size_t size);
    void shrink(size_t size) { size_ = std::min(size, size_); }

private:
    unsigned char* data_ = nullptr;
    size_t size_ = 0, capacity_ = 0;
};

// Seals bytes for one place (`aad` names it, so pieces cannot be swapped):
// plain repositories append XXH3-64(aad || bytes); encrypted ones store
// nonce || AES-256-GCM(bytes) || tag.
class Sealer {
public:
    explicit Sealer(const MasterKey* key) : key_(key) {}
    size_t overhead() const;
    // Sealed bytes are prefix() bytes, the (possibly encrypted) bytes, then
    // overhead() - prefix() bytes.
    size_t prefix() const;
    std::vector<unsigned char> seal(const void* data, size_t length, const std::string& aad) const;
    // Empty optional when the checksum or tag does not verify.
    std::optional<std::vector<unsigned char>> open(const void* data, size_t length, const std::string& aad) const;
    bool encrypted() const { return key_ != nullptr; }
    const MasterKey* key() const { return key_; }
    // The first `length` payload bytes of sealed bytes, decrypted but NOT
    // verified (see gcm_peek); plain repositories' payloads are clear.
    void peek(const unsigned char* sealed, size_t length, unsigned char* out) const;
    // In place: `sealed` has prefix() bytes of room, `length` bytes to seal
    // and the rest of overhead() as room after them.
    void seal_in_place(unsigned char* sealed, size_t length, const std::string& aad) const;
    // In place: true when it verifies; the plain bytes are then at
    // sealed + prefix(), length - overhead() of them.
    bool open_in_place(unsigned char* sealed, size_t length, const std::string& aad) const;

private:
    const MasterKey* key_;
};

enum class ObjectKind { kChunk, kBlob };

// An object file: "ZOBJ" u8 version u8 kind u8 flags u8 0 u32 plain_length,
// then the sealed payload (zstd frame when flag 1, else the plain bytes).
// `name` is the chunk id or blob name the object must belong to.
std::vector<unsigned char> encode_object(ObjectKind kind, const std::string& name, const void* data, size_t length,
                                         const Sealer& sealer, int zstd_level);

// The same into `out`, reusing its memory and the calling thread's
// compression context: no allocation per chunk.
void encode_object(ObjectKind kind, const std::string& name, const void* data, size_t length, const Sealer& sealer,
                   int zstd_level, Bytes& out);
// Checks and decodes the object file in `file`, in place (its bytes
// change). Returns an error text, or "" and the plain bytes in `plain`: a
// view into `file` when the object is stored uncompressed, else into
// `scratch`.
struct PlainView {
    const unsigned char* data = nullptr;
    size_t size = 0;
};
std::string decode_object(ObjectKind kind, const std::string& name, Bytes& file, const Sealer& sealer, Bytes& scratch, PlainView& plain);

// Returns the plain bytes, or an error text saying what is wrong.
struct DecodedObject {
    std::vector<unsigned char> data;
    std::string error;
};
DecodedObject decode_object(ObjectKind kind, const std::string& name, const std::vector<unsigned char>& file,
                            const Sealer& sealer);

// ---- chunk objects without their table (a pack whose table is damaged) ----

// The length of the chunk object that starts at `p` (`avail` bytes there),
// from its header and, when compressed, where its zstd frame ends; 0 when no
// chunk object can start there. Nothing is verified yet.
size_t chunk_object_length(const unsigned char* p, size_t avail, const Sealer& sealer);
// The id of the chunk object p[0, length) when it is one that verifies:
// decoded, named by the hash of its bytes, and sealed for that name.
std::optional<ChunkId> identify_chunk_object(const unsigned char* p, size_t length, const Sealer& sealer);

// ---- the fixed index of an image ----
//
//   "ZADPFIDX" u32 version u32 flags(1 = encrypted) u32 header_length u32 0
//   sealed header JSON (header_length bytes)
//   entries: 32-byte chunk ids in image order, all zero bytes for an
//            all-zero chunk, sealed in segments of kEntriesPerSegment
//   sealed trailer JSON, then u32 its sealed length
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kEntriesPerSegment = 4096;
inline constexpr size_t kIndexPrefixSize = 24;

struct IndexHeader {
    std::string name;           // GROUP/TIME/FILE
    uint64_t size = 0;          // logical bytes
    uint32_t chunk_size = 0;
    uint32_t block_size = 4096; // of the stream it came from
    std::string identity = "{}";  // the stream header's identity (JSON object)
    std::string vm_id;          // identity.vm.id, when known
    uint64_t entries() const { return chunk_size ? (size + chunk_size - 1) / chunk_size : 0; }
};

// Totals written at the end of the index.
struct IndexTrailer {
    std::string digest;      // the stream trailer's image digest, hex
    uint64_t chunks = 0;     // non-zero chunks
    uint64_t zero_chunks = 0;
    uint64_t data_bytes = 0;  // bytes in non-zero chunks
    uint64_t new_chunks = 0, new_bytes = 0, reused_chunks = 0, reused_bytes = 0;
    uint64_t stored_bytes = 0;  // bytes the new chunk files take
    std::string created;     // when the store finished (UTC)
};

bool is_zero_id(const ChunkId& id);

// Writes an index to a new object (or an open file descriptor), streaming:
// one segment of entries in memory at most.
class IndexWriter {
public:
    IndexWriter(ObjectWriter& out, std::string what, const IndexHeader& header, const Sealer& sealer);
    IndexWriter(int fd, std::string what, const IndexHeader& header, const Sealer& sealer);
    void add(const ChunkId& id);  // all-zero id for an all-zero chunk
    void finish(const IndexTrailer& trailer);

private:
    void flush_segment();
    void start();
    void put(const std::vector<unsigned char>& bytes);
    std::function<void(const unsigned char*, size_t)> out_;
    std::string what_;
    IndexHeader header_;
    const Sealer& sealer_;
    std::vector<unsigned char> segment_;
    uint64_t added_ = 0;
    uint64_t segments_ = 0;
};

// Reads an index object: header and trailer at open (every length checked,
// so a truncated index is found at once), entries segment by segment on
// demand, by ranged reads. Failures are Error(kExitIntegrity) naming the
// index; a missing one is Error(kExitNotFound).
class IndexReader {
public:
    IndexReader(ObjectStore& store, const std::string& key, const std::string& what, const Sealer& sealer);
    IndexReader(std::unique_ptr<ObjectReader> reader, const std::string& what, const Sealer& sealer);
    ~IndexReader();
    IndexReader(const IndexReader&) = delete;
    IndexReader& operator=(const IndexReader&) = delete;
    const IndexHeader& header() const { return header_; }
    const IndexTrailer& trailer() const { return trailer_; }
    uint64_t entries() const { return header_.entries(); }
    ChunkId entry(uint64_t i);

private:
    void load();  // header and trailer
    void load_segment(uint64_t segment);
    [[noreturn]] void damaged(const std::string& why) const;
    std::unique_ptr<ObjectReader> reader_;
    std::string what_;
    const Sealer& sealer_;
    IndexHeader header_;
    IndexTrailer trailer_;
    uint64_t segments_offset_ = 0;
    // A few decoded segments, most recently used first: a reader, its
    // read-ahead and an allocation scan each walk their own part.
    struct Segment {
        uint64_t number = 0;
        std::vector<unsigned char> entries;
    };
    std::deque<Segment> cache_;
};

// What zadp-write reports and zadp-repo ls lists about a stored image:
// name, size, chunk_size, allocated_bytes, chunks, zero_chunks, new and
// reused chunks and bytes, stored_bytes, digest.
boost::json::object image_summary(const IndexHeader& h, const IndexTrailer& t);

std::string header_json(const IndexHeader& h);
IndexHeader parse_header_json(const std::string& text);
std::string trailer_json(const IndexTrailer& t);
IndexTrailer parse_trailer_json(const std::string& text);

}  // namespace hci::repo
