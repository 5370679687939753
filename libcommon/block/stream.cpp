#include "libcommon/block/stream.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>
#if defined(__x86_64__)
// libxxhash's run-time dispatch picks AVX2/AVX-512 code where the CPU has it;
// the plain entry points are built for baseline x86-64 only.
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"

namespace hci::stream {
namespace {

using namespace little_endian;  // zadp-stream(5)

uint64_t record_checksum(const unsigned char* header24, const void* payload, size_t length) {
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, header24, 24);
    if (length) XXH3_64bits_update(&state, payload, length);
    return XXH3_64bits_digest(&state);
}

const char* tag_name(uint32_t tag) {
    switch (tag) {
        case kTagData: return "DATA";
        case kTagZero: return "ZERO";
        case kTagTrailer: return "TRLR";
    }
    return "?";
}

bool valid_block_size(uint32_t b) { return b >= kMinBlockSize && b <= kMaxBlockSize && (b & (b - 1)) == 0; }

[[noreturn]] void corrupt(const std::string& message) { fail(kExitIntegrity, message); }

std::string num(uint64_t v) { return std::to_string(v); }
std::string hex32(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", v);
    return b;
}

}  // namespace

std::string digest_hex(const Digest& digest) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : digest) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

// ---- ImageDigest ----

struct ImageDigest::State {
    XXH3_state_t piece;
    XXH3_state_t outer;
    uint64_t piece_fill = 0;
    uint64_t zero_piece_hash = 0;
};

ImageDigest::ImageDigest() : state_(std::make_unique<State>()) {
    XXH3_64bits_reset(&state_->piece);
    XXH3_128bits_reset(&state_->outer);
    state_->zero_piece_hash = XXH3_64bits(zero_buffer(), kDigestPiece);
    static_assert(kDigestPiece <= kZeroBufferSize);
}

ImageDigest::~ImageDigest() = default;

void ImageDigest::end_piece() {
    unsigned char le[8];
    put64(le, XXH3_64bits_digest(&state_->piece));
    XXH3_128bits_update(&state_->outer, le, 8);
    XXH3_64bits_reset(&state_->piece);
    state_->piece_fill = 0;
}

void ImageDigest::add_data(const void* data, size_t length) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (length > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(length, kDigestPiece - state_->piece_fill));
        XXH3_64bits_update(&state_->piece, p, n);
        state_->piece_fill += n;
        if (state_->piece_fill == kDigestPiece) end_piece();
        p += n;
        length -= n;
    }
}

void ImageDigest::add_zeros(uint64_t length) {
    unsigned char le[8];
    put64(le, state_->zero_piece_hash);
    while (length > 0) {
        if (state_->piece_fill == 0 && length >= kDigestPiece) {
            XXH3_128bits_update(&state_->outer, le, 8);
            length -= kDigestPiece;
            continue;
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(length, kDigestPiece - state_->piece_fill));
        XXH3_64bits_update(&state_->piece, zero_buffer(), n);
        state_->piece_fill += n;
        length -= n;
        if (state_->piece_fill == kDigestPiece) end_piece();
    }
}

Digest ImageDigest::finish() {
    if (state_->piece_fill > 0) end_piece();
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state_->outer));
    Digest out;
    std::memcpy(out.data(), canonical.digest, out.size());
    return out;
}

// The record checksum and the image digest both read every payload byte;
// doing both slice by slice reads it from memory once instead of twice.
uint64_t checksum_and_digest(const unsigned char* header24, const void* payload, size_t length, ImageDigest& digest) {
    constexpr size_t kSlice = 128u << 10;
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, header24, 24);
    const auto* p = static_cast<const unsigned char*>(payload);
    for (size_t done = 0; done < length;) {
        size_t n = std::min(kSlice, length - done);
        XXH3_64bits_update(&state, p + done, n);
        digest.add_data(p + done, n);
        done += n;
    }
    return XXH3_64bits_digest(&state);
}

// ---- Encoder ----

Encoder::Encoder(ByteSink& sink, const Header& header) : sink_(sink), header_(header) {
    if (!valid_block_size(header.block_size)) throw std::invalid_argument("bad stream block size");
    if (header.identity.size() > kMaxIdentityLength) fail(kExitUsage, "stream identity is too long");
    std::string bytes(kFixedHeaderSize, '\0');
    auto* p = reinterpret_cast<unsigned char*>(bytes.data());
    std::memcpy(p, kMagic, 8);
    put32(p + 8, header.version);
    put32(p + 12, header.flags);
    put64(p + 16, header.size);
    put32(p + 24, header.block_size);
    put32(p + 28, static_cast<uint32_t>(header.identity.size()));
    bytes += header.identity;
    unsigned char sum[8];
    put64(sum, XXH3_64bits(bytes.data(), bytes.size()));
    sink_.write(bytes.data(), bytes.size());
    sink_.write(sum, 8);
}

Encoder::~Encoder() = default;

void Encoder::expect(uint64_t offset, uint64_t length) {
    if (offset != position_ + pending_zero_ || length == 0 || length > header_.size - offset)
        throw std::logic_error("stream encoder: records must be contiguous and in range");
}

void Encoder::emit(uint32_t tag, uint64_t offset, uint64_t length, const void* payload, size_t payload_length) {
    unsigned char h[kRecordHeaderSize];
    put32(h, tag);
    put32(h + 4, 0);
    put64(h + 8, offset);
    put64(h + 16, length);
    put64(h + 24, tag == kTagData ? checksum_and_digest(h, payload, payload_length, digest_)
                                  : record_checksum(h, payload, payload_length));
    sink_.write(h, sizeof h);
    if (payload_length) sink_.write(payload, payload_length);
}

void Encoder::flush_zero() {
    if (!pending_zero_) return;
    emit(kTagZero, position_, pending_zero_, nullptr, 0);
    digest_.add_zeros(pending_zero_);
    stats_.zero_records++;
    stats_.zero_bytes += pending_zero_;
    position_ += pending_zero_;
    pending_zero_ = 0;
}

void Encoder::data(uint64_t offset, const void* bytes, size_t length) {
    expect(offset, length);
    flush_zero();
    const auto* p = static_cast<const unsigned char*>(bytes);
    while (length > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(length, kMaxDataLength));
        emit(kTagData, offset, n, p, n);
        stats_.data_records++;
        stats_.data_bytes += n;
        position_ += n;
        offset += n;
        p += n;
        length -= n;
    }
}

void Encoder::zero(uint64_t offset, uint64_t length) {
    expect(offset, length);
    pending_zero_ += length;
}

Stats Encoder::finish(const std::function<void(const Digest&)>& before_trailer) {
    flush_zero();
    if (position_ != header_.size) throw std::logic_error("stream encoder: records do not cover the image");
    stats_.digest = digest_.finish();
    if (before_trailer) before_trailer(stats_.digest);
    unsigned char payload[kTrailerPayloadSize];
    put64(payload, stats_.data_records);
    put64(payload + 8, stats_.zero_records);
    put64(payload + 16, stats_.data_bytes);
    put64(payload + 24, stats_.zero_bytes);
    std::memcpy(payload + 32, stats_.digest.data(), 16);
    emit(kTagTrailer, header_.size, kTrailerPayloadSize, payload, sizeof payload);
    sink_.finish();
    return stats_;
}

// ---- Decoder ----

Decoder::Decoder(ByteSource& source) : source_(source) { read_header(); }
Decoder::~Decoder() = default;

void Decoder::read_header() {
    unsigned char fixed[kFixedHeaderSize];
    size_t got = source_.read_full(fixed, sizeof fixed);
    if (got == 0) corrupt("empty input: no block stream");
    if (got >= 8 && std::memcmp(fixed, kMagic, 8) != 0)
        corrupt("not a zadp block stream (bad magic); for a plain image use --format raw");
    if (got < 8 && std::memcmp(fixed, kMagic, got) != 0) corrupt("not a zadp block stream (bad magic)");
    if (got < sizeof fixed)
        corrupt("stream truncated inside the header (" + num(got) + " of " + num(sizeof fixed) + " bytes)");
    header_.version = get32(fixed + 8);
    header_.flags = get32(fixed + 12);
    header_.size = get64(fixed + 16);
    header_.block_size = get32(fixed + 24);
    uint32_t identity_length = get32(fixed + 28);
    if (header_.version != kVersion)
        corrupt("unsupported stream version " + num(header_.version) + " (this tool reads version " +
                num(kVersion) + ")");
    if (identity_length > kMaxIdentityLength)
        corrupt("corrupt header: identity length " + num(identity_length) + " exceeds " + num(kMaxIdentityLength));
    std::string bytes(reinterpret_cast<char*>(fixed), sizeof fixed);
    bytes.resize(sizeof fixed + identity_length + 8);
    got = source_.read_full(bytes.data() + sizeof fixed, identity_length + 8);
    if (got < identity_length + 8)
        corrupt("stream truncated inside the header (" + num(sizeof fixed + got) + " of " + num(bytes.size()) +
                " bytes)");
    uint64_t want = get64(reinterpret_cast<unsigned char*>(bytes.data()) + sizeof fixed + identity_length);
    if (XXH3_64bits(bytes.data(), sizeof fixed + identity_length) != want)
        corrupt("header checksum mismatch: the stream header is corrupt");
    if (header_.flags != 0) corrupt("unknown header flags " + hex32(header_.flags) + " (version 1 defines none)");
    if (!valid_block_size(header_.block_size))
        corrupt("bad block size " + num(header_.block_size) + " in header (must be a power of two, 512..1048576)");
    // Offsets are off_t on files and devices; no target holds 2^63 bytes or more.
    if (header_.size > kMaxSize)
        corrupt("logical size " + num(header_.size) + " in header is more than any target can hold (at most " +
                num(kMaxSize) + " bytes)");
    header_.identity = bytes.substr(sizeof fixed, identity_length);
    boost::system::error_code ec;
    auto identity = boost::json::parse(header_.identity, ec);
    if (ec || !identity.is_object()) corrupt("stream header identity is not a JSON object");
    stream_offset_ = bytes.size();
}

void Decoder::check_placement(uint32_t tag, uint64_t offset, uint64_t length) {
    std::string what = std::string(tag_name(tag)) + " record at offset " + num(offset);
    if (length == 0) corrupt("empty " + what);
    if (offset > header_.size || length > header_.size - offset)
        corrupt(what + " length " + num(length) + " is out of range: it ends past the logical size " +
                num(header_.size));
    if (any_record_ && offset <= last_offset_)
        corrupt("records out of order: " + what + " follows a record at offset " + num(last_offset_));
    if (offset < position_)
        corrupt("overlapping records: " + what + " starts before the previous record's end " + num(position_));
    if (offset > position_)
        corrupt("gap in records: bytes " + num(position_) + ".." + num(offset) + " are not covered before " + what);
    uint64_t end = offset + length;
    if (offset % header_.block_size != 0 || (end % header_.block_size != 0 && end != header_.size))
        corrupt(what + " length " + num(length) + " is not aligned to the block size " + num(header_.block_size));
}

bool Decoder::next(Record& record, unsigned char* payload_buffer) {
    if (done_) return false;
    unsigned char h[kRecordHeaderSize];
    size_t got = source_.read_full(h, sizeof h);
    if (got == 0)
        corrupt("stream truncated: it ends without a trailer after " + num(stats_.data_records + stats_.zero_records) +
                " records (" + num(position_) + " of " + num(header_.size) + " bytes)");
    if (got < sizeof h)
        corrupt("stream truncated inside a record header at stream byte " + num(stream_offset_) + " (" + num(got) +
                " of " + num(sizeof h) + " bytes)");
    uint32_t tag = get32(h);
    uint64_t offset = get64(h + 8), length = get64(h + 16), sum = get64(h + 24);
    if (tag == kTagTrailer) {
        finish_trailer(h);
        return false;
    }
    if (tag != kTagData && tag != kTagZero)
        corrupt("unknown record type " + hex32(tag) + " at stream byte " + num(stream_offset_));
    std::string what = std::string(tag_name(tag)) + " record at offset " + num(offset);
    size_t payload_length = 0;
    if (tag == kTagData) {
        if (length > kMaxDataLength)
            corrupt(what + " is too long (" + num(length) + " bytes; at most " + num(kMaxDataLength) +
                    "): corrupt record header");
        payload_length = static_cast<size_t>(length);
        got = source_.read_full(payload_buffer, payload_length);
        if (got < payload_length)
            corrupt("stream truncated inside the payload of the " + what + " (" + num(got) + " of " +
                    num(payload_length) + " bytes)");
    }
    // The digest is fed before the checksum is known good; a mismatch ends
    // decoding anyway, so nothing is lost.
    uint64_t actual = tag == kTagData ? checksum_and_digest(h, payload_buffer, payload_length, digest_)
                                      : record_checksum(h, payload_buffer, payload_length);
    if (actual != sum)
        corrupt("checksum mismatch in the " + what + " at stream byte " + num(stream_offset_) +
                ": corrupt record");
    if (get32(h + 4) != 0) corrupt("reserved field set in the " + what);
    check_placement(tag, offset, length);
    stream_offset_ += sizeof h + payload_length;
    any_record_ = true;
    last_offset_ = offset;
    position_ = offset + length;
    record.offset = offset;
    record.length = length;
    if (tag == kTagData) {
        record.kind = Record::kData;
        record.payload = payload_buffer;
        stats_.data_records++;
        stats_.data_bytes += length;
    } else {
        record.kind = Record::kZero;
        record.payload = nullptr;
        digest_.add_zeros(length);
        stats_.zero_records++;
        stats_.zero_bytes += length;
    }
    return true;
}

void Decoder::finish_trailer(const unsigned char* h) {
    uint64_t offset = get64(h + 8), length = get64(h + 16), sum = get64(h + 24);
    if (length != kTrailerPayloadSize) corrupt("corrupt trailer: payload length " + num(length) + ", expected 48");
    unsigned char payload[kTrailerPayloadSize];
    size_t got = source_.read_full(payload, sizeof payload);
    if (got < sizeof payload)
        corrupt("stream truncated inside the trailer (" + num(kRecordHeaderSize + got) + " of " +
                num(kRecordHeaderSize + kTrailerPayloadSize) + " bytes)");
    if (record_checksum(h, payload, sizeof payload) != sum) corrupt("trailer checksum mismatch: corrupt trailer");
    if (get32(h + 4) != 0) corrupt("reserved field set in the trailer");
    if (offset != header_.size) corrupt("corrupt trailer: offset " + num(offset) + " is not the logical size");
    if (position_ != header_.size)
        corrupt("trailer too early: records cover " + num(position_) + " of " + num(header_.size) + " bytes");
    Stats claimed;
    claimed.data_records = get64(payload);
    claimed.zero_records = get64(payload + 8);
    claimed.data_bytes = get64(payload + 16);
    claimed.zero_bytes = get64(payload + 24);
    std::memcpy(claimed.digest.data(), payload + 32, 16);
    if (claimed.data_records != stats_.data_records || claimed.zero_records != stats_.zero_records ||
        claimed.data_bytes != stats_.data_bytes || claimed.zero_bytes != stats_.zero_bytes)
        corrupt("trailer counts disagree with the records read (records lost or added)");
    stats_.digest = digest_.finish();
    if (claimed.digest != stats_.digest)
        corrupt("image digest mismatch: trailer says " + digest_hex(claimed.digest) + ", the data gives " +
                digest_hex(stats_.digest));
    stream_offset_ += kRecordHeaderSize + kTrailerPayloadSize;
    unsigned char extra[4096];
    got = source_.read_full(extra, sizeof extra);
    if (got > 0)
        corrupt("trailing garbage: " + std::string(got == sizeof extra ? "at least " : "") + num(got) +
                " bytes after the trailer at stream byte " + num(stream_offset_));
    done_ = true;
}

}  // namespace hci::stream
