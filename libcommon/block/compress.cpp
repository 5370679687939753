#include "libcommon/block/compress.h"

#include <lz4frame.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getCParams
#include <zstd.h>

#include <algorithm>
#include <boost/endian/conversion.hpp>
#include <cstring>
#include <vector>

#include "libcommon/base/error.h"

namespace hci {
namespace {

constexpr uint32_t kZstdMagic = 0xFD2FB528;
constexpr uint32_t kLz4Magic = 0x184D2204;

class PassThroughSink : public ByteSink {
public:
    explicit PassThroughSink(ByteSink& out) : out_(out) {}
    void write(const void* data, size_t length) override { out_.write(data, length); }
    bool skip_zeros(uint64_t length) override { return out_.skip_zeros(length); }
    void finish() override { out_.finish(); }

private:
    ByteSink& out_;
};

class ZstdSink : public ByteSink {
public:
    ZstdSink(const CompressSpec& spec, ByteSink& out) : out_(out), buffer_(ZSTD_CStreamOutSize()) {
        cctx_ = ZSTD_createCCtx();
        if (!cctx_) fail(kExitIo, "zstd: out of memory");
        int threads = spec.threads > 0 ? spec.threads : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
        check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, spec.level));
        check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1));
        // nbWorkers > 0 moves compression to libzstd's own threads, so it
        // overlaps with reading even for one worker.
        check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads));
        // Small jobs keep memory bounded: libzstd's default for level 3 (8 MiB
        // jobs) costs ~90 MiB RSS with two workers, 2 MiB jobs ~30 MiB, and
        // were no slower when measured. Levels with windows above 2 MiB keep
        // the default: a job smaller than its window re-reads the overlap.
        ZSTD_compressionParameters cp = ZSTD_getCParams(spec.level, 0, 0);
        if (threads > 0 && cp.windowLog <= 21) check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_jobSize, 2 << 20));
    }
    ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }
    void write(const void* data, size_t length) override { pump(data, length, ZSTD_e_continue); }
    void finish() override {
        pump(nullptr, 0, ZSTD_e_end);
        out_.finish();
    }

private:
    static size_t check(size_t rc) {
        if (ZSTD_isError(rc)) fail(kExitIo, std::string("zstd: ") + ZSTD_getErrorName(rc));
        return rc;
    }
    void pump(const void* data, size_t length, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data, length, 0};
        for (;;) {
            ZSTD_outBuffer out{buffer_.data(), buffer_.size(), 0};
            size_t left = check(ZSTD_compressStream2(cctx_, &out, &in, mode));
            if (out.pos) out_.write(buffer_.data(), out.pos);
            bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
            if (done) return;
        }
    }
    ByteSink& out_;
    ZSTD_CCtx* cctx_ = nullptr;
    AlignedBuffer buffer_;
};

class Lz4Sink : public ByteSink {
public:
    explicit Lz4Sink(ByteSink& out) : out_(out) {
        if (LZ4F_isError(LZ4F_createCompressionContext(&ctx_, LZ4F_VERSION))) fail(kExitIo, "lz4: out of memory");
        prefs_.frameInfo.blockSizeID = LZ4F_max4MB;
        prefs_.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
        buffer_ = std::make_unique<AlignedBuffer>(LZ4F_compressBound(kSlice, &prefs_));
        size_t n = check(LZ4F_compressBegin(ctx_, buffer_->data(), buffer_->size(), &prefs_));
        out_.write(buffer_->data(), n);
    }
    ~Lz4Sink() override { LZ4F_freeCompressionContext(ctx_); }
    void write(const void* data, size_t length) override {
        const auto* p = static_cast<const unsigned char*>(data);
        while (length > 0) {
            size_t n = std::min(length, kSlice);
            size_t m = check(LZ4F_compressUpdate(ctx_, buffer_->data(), buffer_->size(), p, n, nullptr));
            if (m) out_.write(buffer_->data(), m);
            p += n;
            length -= n;
        }
    }
    void finish() override {
        size_t m = check(LZ4F_compressEnd(ctx_, buffer_->data(), buffer_->size(), nullptr));
        if (m) out_.write(buffer_->data(), m);
        out_.finish();
    }

private:
    static constexpr size_t kSlice = 1u << 20;
    static size_t check(size_t rc) {
        if (LZ4F_isError(rc)) fail(kExitIo, std::string("lz4: ") + LZ4F_getErrorName(rc));
        return rc;
    }
    ByteSink& out_;
    LZ4F_cctx* ctx_ = nullptr;
    LZ4F_preferences_t prefs_{};
    std::unique_ptr<AlignedBuffer> buffer_;
};

// Decoders pull compressed bytes from an FdSource and hand out plain bytes.
// The loop is one: refill the input, decode a step, and at the end of the
// input fail if a frame is still open (the stream was cut).
class FrameDecoder : public ByteSource {
public:
    FrameDecoder(std::unique_ptr<ByteSource> in, std::string what, const char* format, size_t buffer_size)
        : in_(std::move(in)), what_(std::move(what)), format_(format), buffer_(buffer_size) {}
    size_t read_some(void* data, size_t length) override {
        auto* out = static_cast<unsigned char*>(data);
        size_t produced = 0;
        while (produced == 0) {
            if (pos_ == end_) {
                end_ = in_->read_some(buffer_.data(), buffer_.size());
                pos_ = 0;
                if (end_ == 0) {
                    if (in_frame_)
                        fail(kExitIntegrity, format_ + " input from " + what_ + " is truncated (frame not complete)");
                    return 0;
                }
            }
            size_t out_size = length - produced, in_size = end_ - pos_;
            in_frame_ = step(out + produced, out_size, buffer_.data() + pos_, in_size);
            pos_ += in_size;
            produced += out_size;
        }
        return produced;
    }

protected:
    // Decodes from in[0, in_size) into out[0, out_size), sets both sizes to
    // what it consumed and produced, and says whether a frame is still open.
    virtual bool step(unsigned char* out, size_t& out_size, const unsigned char* in, size_t& in_size) = 0;
    [[noreturn]] void corrupt(const char* why) const {
        fail(kExitIntegrity, "corrupt " + format_ + " input from " + what_ + ": " + why);
    }

private:
    std::unique_ptr<ByteSource> in_;
    std::string what_, format_;
    AlignedBuffer buffer_;
    size_t pos_ = 0, end_ = 0;
    bool in_frame_ = false;
};

class ZstdSource : public FrameDecoder {
public:
    ZstdSource(std::unique_ptr<ByteSource> in, std::string what)
        : FrameDecoder(std::move(in), std::move(what), "zstd", ZSTD_DStreamInSize()) {
        dctx_ = ZSTD_createDCtx();
        if (!dctx_) fail(kExitIo, "zstd: out of memory");
    }
    ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }

private:
    bool step(unsigned char* out, size_t& out_size, const unsigned char* in, size_t& in_size) override {
        ZSTD_outBuffer o{out, out_size, 0};
        ZSTD_inBuffer i{in, in_size, 0};
        size_t rc = ZSTD_decompressStream(dctx_, &o, &i);
        if (ZSTD_isError(rc)) corrupt(ZSTD_getErrorName(rc));
        out_size = o.pos;
        in_size = i.pos;
        return rc != 0;
    }
    ZSTD_DCtx* dctx_ = nullptr;
};

class Lz4Source : public FrameDecoder {
public:
    Lz4Source(std::unique_ptr<ByteSource> in, std::string what)
        : FrameDecoder(std::move(in), std::move(what), "lz4", 1u << 20) {
        if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION))) fail(kExitIo, "lz4: out of memory");
    }
    ~Lz4Source() override { LZ4F_freeDecompressionContext(ctx_); }

private:
    bool step(unsigned char* out, size_t& out_size, const unsigned char* in, size_t& in_size) override {
        size_t rc = LZ4F_decompress(ctx_, out, &out_size, in, &in_size, nullptr);
        if (LZ4F_isError(rc)) corrupt(LZ4F_getErrorName(rc));
        return rc != 0;
    }
    LZ4F_dctx* ctx_ = nullptr;
};

}  // namespace

CompressSpec parse_compress_spec(const std::string& text) {
    CompressSpec spec;
    if (text == "none" || text.empty()) return spec;
    if (text == "lz4") {
        spec.kind = CompressSpec::kLz4;
        return spec;
    }
    if (text.starts_with("zstd")) {
        spec.kind = CompressSpec::kZstd;
        if (text.size() == 4) return spec;
        if (text[4] == ':' && text.size() > 5 && text.find_first_not_of("-0123456789", 5) == std::string::npos) {
            spec.level = std::stoi(text.substr(5));
            if (spec.level >= ZSTD_minCLevel() && spec.level <= ZSTD_maxCLevel()) return spec;
        }
    }
    fail(kExitUsage, "bad --compress '" + text + "': use zstd, zstd:LEVEL (1.." + std::to_string(ZSTD_maxCLevel()) +
                         "), lz4 or none");
}

std::unique_ptr<ByteSink> make_compressing_sink(const CompressSpec& spec, ByteSink& out) {
    switch (spec.kind) {
        case CompressSpec::kZstd: return std::make_unique<ZstdSink>(spec, out);
        case CompressSpec::kLz4: return std::make_unique<Lz4Sink>(out);
        case CompressSpec::kNone: break;
    }
    return std::make_unique<PassThroughSink>(out);
}

std::unique_ptr<ByteSource> open_decoding_source(int fd, const std::string& what, std::string* format) {
    std::vector<unsigned char> prefix(4);
    size_t got = 0;
    while (got < prefix.size()) {
        size_t n = read_fd(fd, prefix.data() + got, prefix.size() - got, what);
        if (n == 0) break;
        got += n;
    }
    prefix.resize(got);
    auto plain = std::make_unique<FdSource>(fd, what, prefix);
    uint32_t magic = got == 4 ? boost::endian::load_little_u32(prefix.data()) : 0;
    std::string kind = magic == kZstdMagic ? "zstd" : magic == kLz4Magic ? "lz4" : "none";
    if (format) *format = kind;
    if (kind == "zstd") return std::make_unique<ZstdSource>(std::move(plain), what);
    if (kind == "lz4") return std::make_unique<Lz4Source>(std::move(plain), what);
    return plain;
}

}  // namespace hci
