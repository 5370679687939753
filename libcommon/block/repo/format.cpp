#include "libcommon/block/repo/format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <boost/endian/conversion.hpp>
#include <boost/json.hpp>
#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {
namespace {

// zadp-repo(5) is little-endian.
void put32(unsigned char* p, uint32_t v) { boost::endian::store_little_u32(p, v); }
void put64(unsigned char* p, uint64_t v) { boost::endian::store_little_u64(p, v); }
uint32_t get32(const unsigned char* p) { return boost::endian::load_little_u32(p); }
uint64_t get64(const unsigned char* p) { return boost::endian::load_little_u64(p); }

uint64_t checksum(const void* data, size_t length, const std::string& aad) {
    return XXH3_64bits_withSeed(data, length, XXH3_64bits(aad.data(), aad.size()));
}

constexpr char kObjectMagic[4] = {'Z', 'O', 'B', 'J'};
constexpr size_t kObjectHeaderSize = 12;
constexpr unsigned char kFlagZstd = 1;
constexpr char kIndexMagic[8] = {'Z', 'A', 'D', 'P', 'F', 'I', 'D', 'X'};

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

size_t Sealer::overhead() const { return key_ ? kNonceSize + kTagSize : 8; }

std::vector<unsigned char> Sealer::seal(const void* data, size_t length, const std::string& aad) const {
    if (key_) return gcm_seal(key_->encryption, data, length, aad);
    std::vector<unsigned char> out(length + 8);
    if (length) std::memcpy(out.data(), data, length);
    put64(out.data() + length, checksum(data, length, aad));
    return out;
}

std::optional<std::vector<unsigned char>> Sealer::open(const void* data, size_t length, const std::string& aad) const {
    if (key_) return gcm_open(key_->encryption, data, length, aad);
    if (length < 8) return std::nullopt;
    const auto* p = static_cast<const unsigned char*>(data);
    if (get64(p + length - 8) != checksum(p, length - 8, aad)) return std::nullopt;
    return std::vector<unsigned char>(p, p + length - 8);
}

std::vector<unsigned char> encode_object(ObjectKind kind, const std::string& name, const void* data, size_t length,
                                         const Sealer& sealer, int zstd_level) {
    unsigned char header[kObjectHeaderSize] = {};
    std::memcpy(header, kObjectMagic, 4);
    header[4] = 1;
    header[5] = kind == ObjectKind::kChunk ? 1 : 2;
    put32(header + 8, static_cast<uint32_t>(length));
    std::vector<unsigned char> packed(ZSTD_compressBound(length));
    size_t n = ZSTD_compress(packed.data(), packed.size(), data, length, zstd_level);
    const void* payload = data;
    size_t payload_length = length;
    if (!ZSTD_isError(n) && n < length) {  // incompressible data is stored as it is
        header[6] = kFlagZstd;
        payload = packed.data();
        payload_length = n;
    }
    auto sealed = sealer.seal(payload, payload_length, object_aad(kind, name, header));
    std::vector<unsigned char> out(kObjectHeaderSize + sealed.size());
    std::memcpy(out.data(), header, kObjectHeaderSize);
    std::memcpy(out.data() + kObjectHeaderSize, sealed.data(), sealed.size());
    return out;
}

DecodedObject decode_object(ObjectKind kind, const std::string& name, const std::vector<unsigned char>& file,
                            const Sealer& sealer) {
    DecodedObject r;
    if (file.size() < kObjectHeaderSize || std::memcmp(file.data(), kObjectMagic, 4) != 0) {
        r.error = "not an object file (bad magic or too short)";
        return r;
    }
    if (file[4] != 1) {
        r.error = "unsupported object version " + std::to_string(file[4]);
        return r;
    }
    uint32_t plain_length = get32(file.data() + 8);
    auto payload = sealer.open(file.data() + kObjectHeaderSize, file.size() - kObjectHeaderSize,
                               object_aad(kind, name, file.data()));
    if (!payload) {
        r.error = sealer.encrypted() ? "does not decrypt (damaged, or sealed with another key)" : "checksum mismatch";
        return r;
    }
    if (file[6] & kFlagZstd) {
        r.data.resize(plain_length);
        size_t n = ZSTD_decompress(r.data.data(), r.data.size(), payload->data(), payload->size());
        if (ZSTD_isError(n) || n != plain_length) {
            r.error = "does not decompress";
            r.data.clear();
        }
    } else if (payload->size() != plain_length) {
        r.error = "length mismatch";
    } else {
        r.data = std::move(*payload);
    }
    return r;
}

bool is_zero_id(const ChunkId& id) {
    for (auto b : id)
        if (b) return false;
    return true;
}

// ---- JSON parts of the index ----

boost::json::object image_summary(const IndexHeader& h, const IndexTrailer& t) {
    boost::json::object o;
    o["name"] = h.name;
    o["size"] = h.size;
    o["chunk_size"] = h.chunk_size;
    o["allocated_bytes"] = t.data_bytes;
    o["chunks"] = t.chunks;
    o["zero_chunks"] = t.zero_chunks;
    o["new_chunks"] = t.new_chunks;
    o["new_bytes"] = t.new_bytes;
    o["reused_chunks"] = t.reused_chunks;
    o["reused_bytes"] = t.reused_bytes;
    o["stored_bytes"] = t.stored_bytes;
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
    o["chunks"] = t.chunks;
    o["zero_chunks"] = t.zero_chunks;
    o["data_bytes"] = t.data_bytes;
    o["new_chunks"] = t.new_chunks;
    o["new_bytes"] = t.new_bytes;
    o["reused_chunks"] = t.reused_chunks;
    o["reused_bytes"] = t.reused_bytes;
    o["stored_bytes"] = t.stored_bytes;
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
    t.chunks = u64_of(o, "chunks");
    t.zero_chunks = u64_of(o, "zero_chunks");
    t.data_bytes = u64_of(o, "data_bytes");
    t.new_chunks = u64_of(o, "new_chunks");
    t.new_bytes = u64_of(o, "new_bytes");
    t.reused_chunks = u64_of(o, "reused_chunks");
    t.reused_bytes = u64_of(o, "reused_bytes");
    t.stored_bytes = u64_of(o, "stored_bytes");
    t.created = str_of(o, "created");
    return t;
}

// ---- IndexWriter ----

IndexWriter::IndexWriter(int fd, std::string what, const IndexHeader& header, const Sealer& sealer)
    : fd_(fd), what_(std::move(what)), header_(header), sealer_(sealer) {
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

void IndexWriter::put(const std::vector<unsigned char>& bytes) { write_fd_all(fd_, bytes.data(), bytes.size(), what_); }

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

IndexReader::IndexReader(const std::string& path, const std::string& what, const Sealer& sealer)
    : what_(what), sealer_(sealer) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        if (errno == ENOENT) fail(kExitNotFound, what + ": no such image in the repository");
        fail(kExitIo, "open " + path + ": " + errno_text(errno));
    }
    struct stat st {};
    ::fstat(fd_, &st);
    uint64_t file_size = static_cast<uint64_t>(st.st_size);
    auto read_at = [&](uint64_t offset, size_t length) {
        std::vector<unsigned char> buf(length);
        if (offset + length > file_size) damaged("truncated (" + std::to_string(file_size) + " bytes)");
        ssize_t n = ::pread(fd_, buf.data(), length, static_cast<off_t>(offset));
        if (n != static_cast<ssize_t>(length)) fail(kExitIo, "read " + path + ": " + errno_text(errno));
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

IndexReader::~IndexReader() {
    if (fd_ >= 0) ::close(fd_);
}

void IndexReader::damaged(const std::string& why) const {
    fail(kExitIntegrity, what_ + ": the image index is damaged: " + why);
}

void IndexReader::load_segment(uint64_t segment) {
    uint64_t n = header_.entries();
    uint64_t count = std::min<uint64_t>(kEntriesPerSegment, n - segment * kEntriesPerSegment);
    size_t sealed_length = count * 32 + sealer_.overhead();
    uint64_t offset = segments_offset_ + segment * (kEntriesPerSegment * 32 + sealer_.overhead());
    std::vector<unsigned char> buf(sealed_length);
    ssize_t got = ::pread(fd_, buf.data(), sealed_length, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(sealed_length)) damaged("cannot read entries at byte " + std::to_string(offset));
    auto plain = sealer_.open(buf.data(), buf.size(), segment_aad(header_.name, segment));
    if (!plain) damaged("entries at byte " + std::to_string(offset) + " fail their checksum");
    cache_ = std::move(*plain);
    cached_segment_ = segment;
}

ChunkId IndexReader::entry(uint64_t i) {
    if (i >= header_.entries()) throw std::out_of_range("index entry");
    uint64_t segment = i / kEntriesPerSegment;
    if (segment != cached_segment_) load_segment(segment);
    ChunkId id;
    std::memcpy(id.data(), cache_.data() + (i % kEntriesPerSegment) * 32, 32);
    return id;
}

}  // namespace hci::repo
