#include "libcommon/block/repo/format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {
namespace {

using namespace little_endian;  // zadp-repo(5)

uint64_t checksum(const void* data, size_t length, const std::string& aad) {
    return XXH3_64bits_withSeed(data, length, XXH3_64bits(aad.data(), aad.size()));
}

constexpr char kObjectMagic[4] = {'Z', 'O', 'B', 'J'};
constexpr size_t kObjectHeaderSize = 12;
constexpr unsigned char kFlagZstd = 1;
constexpr char kIndexMagic[8] = {'Z', 'A', 'D', 'P', 'F', 'I', 'D', 'X'};

// One compression and one decompression context per thread, made on first
// use and kept: creating them costs more than a small chunk's compression.
ZSTD_CCtx* thread_cctx() {
    thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    if (!cctx) fail(kExitIo, "zstd: cannot create a compression context");
    return cctx.get();
}

ZSTD_DCtx* thread_dctx() {
    thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!dctx) fail(kExitIo, "zstd: cannot create a decompression context");
    return dctx.get();
}

std::string object_aad(ObjectKind kind, const std::string& name, const unsigned char* header) {
    return std::string(kind == ObjectKind::kChunk ? "chunk " : "blob ") + name + " " +
           std::string(reinterpret_cast<const char*>(header), kObjectHeaderSize);
}

std::string segment_aad(const std::string& name, uint64_t segment) {
    return "index " + name + " segment " + std::to_string(segment);
}

const boost::json::value* member(const boost::json::object& o, const char* key) { return o.if_contains(key); }
std::string str_of(const boost::json::object& o, const char* key) {
    auto* v = member(o, key);
    return v && v->is_string() ? std::string(v->as_string()) : "";
}
uint64_t u64_of(const boost::json::object& o, const char* key) {
    auto* v = member(o, key);
    if (!v || !v->is_number()) return 0;
    boost::system::error_code ec;
    auto n = v->to_number<uint64_t>(ec);
    return ec ? 0 : n;
}

}  // namespace

Bytes::~Bytes() {
    if (data_) ::munmap(data_, capacity_);
}

void Bytes::reset(size_t size) {
    if (size > capacity_) {
        if (data_) ::munmap(data_, capacity_);
        data_ = nullptr;
        capacity_ = 0;
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<unsigned char*>(p);
        capacity_ = size;
    }
    size_ = size;
}

size_t Sealer::overhead() const { return key_ ? kNonceSize + kTagSize : 8; }
size_t Sealer::prefix() const { return key_ ? kNonceSize : 0; }

void Sealer::seal_in_place(unsigned char* sealed, size_t length, const std::string& aad) const {
    if (key_) return gcm_seal_in_place(key_->encryption, sealed, length, aad);
    put64(sealed + length, checksum(sealed, length, aad));
}

bool Sealer::open_in_place(unsigned char* sealed, size_t length, const std::string& aad) const {
    if (key_) return gcm_open_in_place(key_->encryption, sealed, length, aad);
    return length >= 8 && get64(sealed + length - 8) == checksum(sealed, length - 8, aad);
}

void Sealer::peek(const unsigned char* sealed, size_t length, unsigned char* out) const {
    if (key_)
        gcm_peek(key_->encryption, sealed, sealed + kNonceSize, length, out);
    else if (length)
        std::memcpy(out, sealed, length);
}

std::vector<unsigned char> Sealer::seal(const void* data, size_t length, const std::string& aad) const {
    std::vector<unsigned char> out(length + overhead());
    if (length) std::memcpy(out.data() + prefix(), data, length);
    seal_in_place(out.data(), length, aad);
    return out;
}

std::optional<std::vector<unsigned char>> Sealer::open(const void* data, size_t length, const std::string& aad) const {
    std::vector<unsigned char> copy(static_cast<const unsigned char*>(data),
                                    static_cast<const unsigned char*>(data) + length);
    if (!open_in_place(copy.data(), length, aad)) return std::nullopt;
    return std::vector<unsigned char>(copy.begin() + static_cast<ptrdiff_t>(prefix()),
                                      copy.end() - static_cast<ptrdiff_t>(overhead() - prefix()));
}

namespace {

// Whether a chunk is worth compressing. Large ones are sampled first: four
// 16 KiB pieces spread over it are compressed into `room`; when together
// they shrink by less than 3 %, the chunk is taken for random or already
// compressed data and stored as it is. zstd would spend about 1 ms per MiB
// on such data for nothing; mixed chunks (data then zeros, say) have a
// compressible sample and are compressed whole.
bool worth_compressing(const unsigned char* data, size_t length, int level, unsigned char* room, size_t room_size) {
    constexpr size_t kSample = 16u << 10, kSamples = 4;
    if (length < 16 * kSample || room_size < ZSTD_compressBound(kSample)) return true;
    size_t packed = 0;
    for (size_t i = 0; i < kSamples; ++i) {
        size_t at = (length - kSample) / (kSamples - 1) * i;
        size_t n = ZSTD_compressCCtx(thread_cctx(), room, room_size, data + at, kSample, level);
        packed += ZSTD_isError(n) ? kSample : n;
    }
    return packed * 100 < kSample * kSamples * 97;
}

}  // namespace

void encode_object(ObjectKind kind, const std::string& name, const void* data, size_t length, const Sealer& sealer,
                   int zstd_level, Bytes& out) {
    const size_t payload_at = kObjectHeaderSize + sealer.prefix();
    const size_t bound = ZSTD_compressBound(length);
    out.reset(payload_at + std::max(bound, length) + sealer.overhead() - sealer.prefix());
    unsigned char* header = out.data();
    std::memset(header, 0, kObjectHeaderSize);
    std::memcpy(header, kObjectMagic, 4);
    header[4] = 1;
    header[5] = kind == ObjectKind::kChunk ? 1 : 2;
    put32(header + 8, static_cast<uint32_t>(length));
    const auto* plain = static_cast<const unsigned char*>(data);
    size_t n = worth_compressing(plain, length, zstd_level, out.data() + payload_at, bound)
                   ? ZSTD_compressCCtx(thread_cctx(), out.data() + payload_at, bound, data, length, zstd_level)
                   : length;
    size_t payload_length = length;
    if (!ZSTD_isError(n) && n < length) {  // incompressible data is stored as it is
        header[6] = kFlagZstd;
        payload_length = n;
    } else if (length) {
        std::memcpy(out.data() + payload_at, data, length);
    }
    sealer.seal_in_place(out.data() + kObjectHeaderSize, payload_length, object_aad(kind, name, header));
    out.shrink(kObjectHeaderSize + payload_length + sealer.overhead());
}

std::vector<unsigned char> encode_object(ObjectKind kind, const std::string& name, const void* data, size_t length,
                                         const Sealer& sealer, int zstd_level) {
    Bytes out;
    encode_object(kind, name, data, length, sealer, zstd_level, out);
    return std::vector<unsigned char>(out.data(), out.data() + out.size());
}

std::string decode_object(ObjectKind kind, const std::string& name, Bytes& file, const Sealer& sealer,
                          Bytes& scratch, PlainView& plain) {
    if (file.size() < kObjectHeaderSize || std::memcmp(file.data(), kObjectMagic, 4) != 0)
        return "not an object file (bad magic or too short)";
    if (file.data()[4] != 1) return "unsupported object version " + std::to_string(file.data()[4]);
    const uint32_t plain_length = get32(file.data() + 8);
    const size_t sealed_length = file.size() - kObjectHeaderSize;
    if (!sealer.open_in_place(file.data() + kObjectHeaderSize, sealed_length, object_aad(kind, name, file.data())))
        return sealer.encrypted() ? "does not decrypt (damaged, or sealed with another key)" : "checksum mismatch";
    const unsigned char* payload = file.data() + kObjectHeaderSize + sealer.prefix();
    const size_t payload_length = sealed_length - sealer.overhead();
    if (file.data()[6] & kFlagZstd) {
        scratch.reset(plain_length);
        size_t n = ZSTD_decompressDCtx(thread_dctx(), scratch.data(), plain_length, payload, payload_length);
        if (ZSTD_isError(n) || n != plain_length) return "does not decompress";
        plain = {scratch.data(), plain_length};
    } else {
        if (payload_length != plain_length) return "length mismatch";
        plain = {payload, plain_length};
    }
    return "";
}

DecodedObject decode_object(ObjectKind kind, const std::string& name, const std::vector<unsigned char>& file,
                            const Sealer& sealer) {
    Bytes copy, scratch;
    copy.reset(file.size());
    if (!file.empty()) std::memcpy(copy.data(), file.data(), file.size());
    PlainView plain;
    DecodedObject r;
    r.error = decode_object(kind, name, copy, sealer, scratch, plain);
    if (r.error.empty()) r.data.assign(plain.data, plain.data + plain.size);
    return r;
}

size_t chunk_object_length(const unsigned char* p, size_t avail, const Sealer& sealer) {
    if (avail < kObjectHeaderSize + sealer.overhead() || std::memcmp(p, kObjectMagic, 4) != 0 || p[4] != 1 || p[5] != 1)
        return 0;
    const uint32_t plain_length = get32(p + 8);
    const size_t room = avail - kObjectHeaderSize - sealer.overhead();  // the most payload that fits
    size_t payload = plain_length;
    if (p[6] & kFlagZstd) {
        size_t n = std::min<size_t>(room, plain_length);  // a frame is stored only when smaller
        std::vector<unsigned char> clear(n);
        sealer.peek(p + kObjectHeaderSize, n, clear.data());
        payload = ZSTD_findFrameCompressedSize(clear.data(), n);
        if (ZSTD_isError(payload)) return 0;
    }
    return payload > room ? 0 : kObjectHeaderSize + payload + sealer.overhead();
}

std::optional<ChunkId> identify_chunk_object(const unsigned char* p, size_t length, const Sealer& sealer) {
    if (length < kObjectHeaderSize + sealer.overhead()) return std::nullopt;
    const size_t payload_length = length - kObjectHeaderSize - sealer.overhead();
    const uint32_t plain_length = get32(p + 8);
    std::vector<unsigned char> clear(payload_length), plain;
    sealer.peek(p + kObjectHeaderSize, payload_length, clear.data());
    if (p[6] & kFlagZstd) {
        plain.resize(plain_length);
        size_t n = ZSTD_decompressDCtx(thread_dctx(), plain.data(), plain.size(), clear.data(), clear.size());
        if (ZSTD_isError(n) || n != plain_length) return std::nullopt;
    } else {
        plain = std::move(clear);
    }
    ChunkId id = chunk_id(plain.data(), plain.size(), sealer.key());
    Bytes file, scratch;
    file.reset(length);
    std::memcpy(file.data(), p, length);
    PlainView view;
    if (!decode_object(ObjectKind::kChunk, to_hex(id), file, sealer, scratch, view).empty()) return std::nullopt;
    return id;
}

bool is_zero_id(const ChunkId& id) {
    for (auto b : id)
        if (b) return false;
    return true;
}

// ---- JSON parts of the index ----

namespace {

// The trailer's counters by their JSON names: written, read and listed from one table.
constexpr std::pair<const char*, uint64_t IndexTrailer::*> kTrailerCounts[] = {
    {"chunks", &IndexTrailer::chunks},           {"zero_chunks", &IndexTrailer::zero_chunks},
    {"new_chunks", &IndexTrailer::new_chunks},   {"new_bytes", &IndexTrailer::new_bytes},
    {"reused_chunks", &IndexTrailer::reused_chunks}, {"reused_bytes", &IndexTrailer::reused_bytes},
    {"stored_bytes", &IndexTrailer::stored_bytes}};

}  // namespace

boost::json::object image_summary(const IndexHeader& h, const IndexTrailer& t) {
    boost::json::object o;
    o["name"] = h.name;
    o["size"] = h.size;
    o["chunk_size"] = h.chunk_size;
    o["allocated_bytes"] = t.data_bytes;
    for (auto [name, count] : kTrailerCounts) o[name] = t.*count;
    o["digest"] = t.digest;
    return o;
}

std::string header_json(const IndexHeader& h) {
    boost::json::object o;
    o["name"] = h.name;
    o["size"] = h.size;
    o["chunk_size"] = h.chunk_size;
    o["block_size"] = h.block_size;
    boost::system::error_code ec;
    auto identity = boost::json::parse(h.identity, ec);
    o["identity"] = ec ? boost::json::value(boost::json::object()) : identity;
    o["vm_id"] = h.vm_id;
    return boost::json::serialize(o);
}

IndexHeader parse_header_json(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) throw std::runtime_error("header is not JSON");
    const auto& o = v.as_object();
    IndexHeader h;
    h.name = str_of(o, "name");
    h.size = u64_of(o, "size");
    h.chunk_size = static_cast<uint32_t>(u64_of(o, "chunk_size"));
    h.block_size = static_cast<uint32_t>(u64_of(o, "block_size"));
    if (auto* id = member(o, "identity")) h.identity = boost::json::serialize(*id);
    h.vm_id = str_of(o, "vm_id");
    if (h.chunk_size == 0 || (h.chunk_size & (h.chunk_size - 1)) || h.block_size == 0)
        throw std::runtime_error("header has a bad chunk or block size");
    return h;
}

std::string trailer_json(const IndexTrailer& t) {
    boost::json::object o;
    o["digest"] = t.digest;
    o["data_bytes"] = t.data_bytes;
    for (auto [name, count] : kTrailerCounts) o[name] = t.*count;
    o["created"] = t.created;
    return boost::json::serialize(o);
}

IndexTrailer parse_trailer_json(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) throw std::runtime_error("trailer is not JSON");
    const auto& o = v.as_object();
    IndexTrailer t;
    t.digest = str_of(o, "digest");
    t.data_bytes = u64_of(o, "data_bytes");
    for (auto [name, count] : kTrailerCounts) t.*count = u64_of(o, name);
    t.created = str_of(o, "created");
    return t;
}

// ---- IndexWriter ----

IndexWriter::IndexWriter(ObjectWriter& out, std::string what, const IndexHeader& header, const Sealer& sealer)
    : out_([&out](const unsigned char* p, size_t n) { out.write(p, n); }), what_(std::move(what)), header_(header),
      sealer_(sealer) {
    start();
}

IndexWriter::IndexWriter(int fd, std::string what, const IndexHeader& header, const Sealer& sealer)
    : what_(std::move(what)), header_(header), sealer_(sealer) {
    out_ = [fd, this](const unsigned char* p, size_t n) { write_fd_all(fd, p, n, what_); };
    start();
}

void IndexWriter::start() {
    const IndexHeader& header = header_;
    const Sealer& sealer = sealer_;
    std::string json = header_json(header);
    auto sealed = sealer.seal(json.data(), json.size(), "index " + header.name + " header");
    std::vector<unsigned char> prefix(kIndexPrefixSize, 0);
    std::memcpy(prefix.data(), kIndexMagic, 8);
    put32(prefix.data() + 8, kIndexVersion);
    put32(prefix.data() + 12, sealer.encrypted() ? 1 : 0);
    put32(prefix.data() + 16, static_cast<uint32_t>(sealed.size()));
    put(prefix);
    put(sealed);
    segment_.reserve(kEntriesPerSegment * 32);
}

void IndexWriter::put(const std::vector<unsigned char>& bytes) { out_(bytes.data(), bytes.size()); }

void IndexWriter::add(const ChunkId& id) {
    if (added_ >= header_.entries()) throw std::logic_error("index: more entries than the image has chunks");
    segment_.insert(segment_.end(), id.begin(), id.end());
    ++added_;
    if (segment_.size() == kEntriesPerSegment * 32) flush_segment();
}

void IndexWriter::flush_segment() {
    if (segment_.empty()) return;
    put(sealer_.seal(segment_.data(), segment_.size(), segment_aad(header_.name, segments_++)));
    segment_.clear();
}

void IndexWriter::finish(const IndexTrailer& trailer) {
    if (added_ != header_.entries()) throw std::logic_error("index: fewer entries than the image has chunks");
    flush_segment();
    std::string json = trailer_json(trailer);
    auto sealed = sealer_.seal(json.data(), json.size(), "index " + header_.name + " trailer");
    unsigned char len[4];
    put32(len, static_cast<uint32_t>(sealed.size()));
    sealed.insert(sealed.end(), len, len + 4);
    put(sealed);
}

// ---- IndexReader ----

IndexReader::IndexReader(ObjectStore& store, const std::string& key, const std::string& what, const Sealer& sealer)
    : IndexReader(store.open_reader(key), what, sealer) {}

IndexReader::IndexReader(std::unique_ptr<ObjectReader> reader, const std::string& what, const Sealer& sealer)
    : reader_(std::move(reader)), what_(what), sealer_(sealer) {
    if (!reader_) fail(kExitNotFound, what + ": no such image in the repository");
    load();
}

void IndexReader::load() {
    const std::string& what = what_;
    const Sealer& sealer = sealer_;
    uint64_t file_size = reader_->size();
    auto read_at = [&](uint64_t offset, size_t length) {
        std::vector<unsigned char> buf;
        if (offset + length > file_size) damaged("truncated (" + std::to_string(file_size) + " bytes)");
        reader_->read(offset, length, buf);
        if (buf.size() != length) damaged("truncated (" + std::to_string(file_size) + " bytes)");
        return buf;
    };
    auto prefix = read_at(0, kIndexPrefixSize);
    if (std::memcmp(prefix.data(), kIndexMagic, 8) != 0) damaged("not an image index (bad magic)");
    if (get32(prefix.data() + 8) != kIndexVersion)
        damaged("unsupported index version " + std::to_string(get32(prefix.data() + 8)));
    if ((get32(prefix.data() + 12) & 1) != (sealer.encrypted() ? 1u : 0u))
        damaged("encryption flag does not match the repository");
    uint32_t header_length = get32(prefix.data() + 16);
    if (header_length > (1u << 24)) damaged("header length " + std::to_string(header_length) + " is implausible");
    auto sealed_header = read_at(kIndexPrefixSize, header_length);
    // The name is bound into every seal, but unknown until the header opens:
    // the header's own seal uses the name the caller asked for.
    std::string name = what.rfind("repo:", 0) == 0 ? what.substr(5) : what;
    auto header = sealer.open(sealed_header.data(), sealed_header.size(), "index " + name + " header");
    if (!header) damaged(sealer.encrypted() ? "header does not decrypt (damaged or wrong key)" : "header checksum mismatch");
    try {
        header_ = parse_header_json(std::string(header->begin(), header->end()));
    } catch (const std::exception& e) {
        damaged(e.what());
    }
    if (header_.name != name) damaged("it holds image " + header_.name);
    segments_offset_ = kIndexPrefixSize + header_length;
    uint64_t n = header_.entries();
    uint64_t full = n / kEntriesPerSegment, rest = n % kEntriesPerSegment;
    uint64_t entries_bytes = full * (kEntriesPerSegment * 32 + sealer.overhead()) +
                             (rest ? rest * 32 + sealer.overhead() : 0);
    uint64_t trailer_offset = segments_offset_ + entries_bytes;
    if (file_size < trailer_offset + 4) damaged("truncated (" + std::to_string(file_size) + " bytes)");
    auto len = read_at(file_size - 4, 4);
    uint64_t trailer_length = get32(len.data());
    if (trailer_offset + trailer_length + 4 != file_size)
        damaged("truncated or extended (" + std::to_string(file_size) + " bytes, expected " +
                std::to_string(trailer_offset + trailer_length + 4) + ")");
    auto sealed_trailer = read_at(trailer_offset, trailer_length);
    auto trailer = sealer.open(sealed_trailer.data(), sealed_trailer.size(), "index " + name + " trailer");
    if (!trailer) damaged("trailer checksum mismatch");
    try {
        trailer_ = parse_trailer_json(std::string(trailer->begin(), trailer->end()));
    } catch (const std::exception& e) {
        damaged(e.what());
    }
}

IndexReader::~IndexReader() = default;

void IndexReader::damaged(const std::string& why) const {
    fail(kExitIntegrity, what_ + ": the image index is damaged: " + why);
}

void IndexReader::load_segment(uint64_t segment) {
    uint64_t n = header_.entries();
    uint64_t count = std::min<uint64_t>(kEntriesPerSegment, n - segment * kEntriesPerSegment);
    size_t sealed_length = count * 32 + sealer_.overhead();
    uint64_t offset = segments_offset_ + segment * (kEntriesPerSegment * 32 + sealer_.overhead());
    std::vector<unsigned char> buf;
    reader_->read(offset, sealed_length, buf);
    if (buf.size() != sealed_length) damaged("cannot read entries at byte " + std::to_string(offset));
    auto plain = sealer_.open(buf.data(), buf.size(), segment_aad(header_.name, segment));
    if (!plain) damaged("entries at byte " + std::to_string(offset) + " fail their checksum");
    if (cache_.size() >= 4) cache_.pop_back();
    cache_.push_front({segment, std::move(*plain)});
}

ChunkId IndexReader::entry(uint64_t i) {
    if (i >= header_.entries()) throw std::out_of_range("index entry");
    uint64_t segment = i / kEntriesPerSegment;
    auto hit = std::find_if(cache_.begin(), cache_.end(), [&](const Segment& s) { return s.number == segment; });
    if (hit == cache_.end()) {
        load_segment(segment);
    } else if (hit != cache_.begin()) {
        Segment s = std::move(*hit);
        cache_.erase(hit);
        cache_.push_front(std::move(s));
    }
    ChunkId id;
    std::memcpy(id.data(), cache_.front().entries.data() + (i % kEntriesPerSegment) * 32, 32);
    return id;
}

}  // namespace hci::repo
