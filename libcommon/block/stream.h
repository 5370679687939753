#pragma once
// The zadp block stream, version 1 (documented in zadp-stream(5)).
//
//   header   "ZADPSTRM" u32 version u32 flags u64 size u32 block_size
//            u32 identity_length, identity JSON, u64 XXH3-64 of all of it
//   records  32-byte record header {u32 tag, u32 reserved, u64 offset,
//            u64 length, u64 XXH3-64(first 24 bytes || payload)} + payload;
//            DATA carries `length` bytes, ZERO none; contiguous from 0.
//   trailer  a record with tag TRLR, offset = size, length = 48 and a payload
//            of counts, byte totals and the XXH3-128 image digest.
// All integers are little-endian.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "libcommon/block/stream_io.h"

namespace hci::stream {

inline constexpr char kMagic[8] = {'Z', 'A', 'D', 'P', 'S', 'T', 'R', 'M'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kTagData = 0x41544144;     // "DATA"
inline constexpr uint32_t kTagZero = 0x4f52455a;     // "ZERO"
inline constexpr uint32_t kTagTrailer = 0x524c5254;  // "TRLR"
inline constexpr size_t kFixedHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 32;
inline constexpr size_t kTrailerPayloadSize = 48;
inline constexpr uint64_t kMaxDataLength = 16u << 20;
inline constexpr uint32_t kMaxIdentityLength = 1u << 20;
inline constexpr uint32_t kMinBlockSize = 512;
inline constexpr uint32_t kMaxBlockSize = 1u << 20;
inline constexpr uint64_t kDigestPiece = 1u << 20;
inline constexpr uint64_t kMaxSize = (uint64_t{1} << 63) - 1;  // largest logical size

using Digest = std::array<unsigned char, 16>;

struct Header {
    uint32_t version = kVersion;
    uint32_t flags = 0;
    uint64_t size = 0;
    uint32_t block_size = 4096;
    std::string identity = "{}";  // a JSON object
};

struct Stats {
    uint64_t data_records = 0;
    uint64_t zero_records = 0;
    uint64_t data_bytes = 0;
    uint64_t zero_bytes = 0;
    Digest digest{};
};

std::string digest_hex(const Digest& digest);

// The image digest: XXH3-128 over the little-endian XXH3-64 of each 1 MiB
// piece of the logical image (the last may be shorter). Zero runs cost one
// 8-byte update per whole piece, so a thin 1 TiB image digests quickly, and
// the result does not depend on how the image was cut into records.
class ImageDigest {
public:
    ImageDigest();
    ~ImageDigest();
    ImageDigest(const ImageDigest&) = delete;
    ImageDigest& operator=(const ImageDigest&) = delete;
    void add_data(const void* data, size_t length);
    void add_zeros(uint64_t length);
    Digest finish();

private:
    void end_piece();
    struct State;
    std::unique_ptr<State> state_;
};

// Writes a stream: the header at construction, then records in offset order
// covering [0, size) exactly, then finish() writes the trailer. Adjacent
// zero() calls merge into one ZERO record.
class Encoder {
public:
    Encoder(ByteSink& sink, const Header& header);
    ~Encoder();
    void data(uint64_t offset, const void* bytes, size_t length);
    void zero(uint64_t offset, uint64_t length);
    // Writes the trailer. `before_trailer`, when given, sees the image digest
    // first and may throw to withhold the trailer (the stream then reads as
    // truncated).
    Stats finish(const std::function<void(const Digest&)>& before_trailer = nullptr);
    uint64_t position() const { return position_; }

private:
    void expect(uint64_t offset, uint64_t length);
    void flush_zero();
    void emit(uint32_t tag, uint64_t offset, uint64_t length, const void* payload, size_t payload_length);
    ByteSink& sink_;
    Header header_;
    ImageDigest digest_;
    Stats stats_;
    uint64_t position_ = 0;
    uint64_t pending_zero_ = 0;
};

struct Record {
    enum Kind { kData, kZero } kind = kData;
    uint64_t offset = 0;
    uint64_t length = 0;
    const unsigned char* payload = nullptr;  // DATA only; valid until the next call
};

// Reads and verifies a stream: header at construction, records from next()
// (each checksum-verified and checked against order and range before it is
// returned), and at the end the trailer, its digest and the end of input.
// Every failure is an Error with kExitIntegrity and a message that says what
// is wrong and where.
class Decoder {
public:
    explicit Decoder(ByteSource& source);
    ~Decoder();
    const Header& header() const { return header_; }
    // Reads the next record into `record`, its payload into `payload_buffer`
    // (at least kMaxDataLength bytes). Returns false after a verified trailer.
    bool next(Record& record, unsigned char* payload_buffer);
    const Stats& stats() const { return stats_; }

private:
    void read_header();
    void check_placement(uint32_t tag, uint64_t offset, uint64_t length);
    void finish_trailer(const unsigned char* record_header);
    ByteSource& source_;
    Header header_;
    ImageDigest digest_;
    Stats stats_;
    uint64_t stream_offset_ = 0;  // bytes consumed, for messages
    uint64_t position_ = 0;       // logical bytes covered so far
    uint64_t last_offset_ = 0;
    bool any_record_ = false;
    bool done_ = false;
};

}  // namespace hci::stream
