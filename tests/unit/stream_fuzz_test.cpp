// A bounded, seeded mutation fuzzer for the stream decoder, run by ctest as
// fuzz/stream (hidden from the plain unit run). Every case goes in the way
// zadp-write takes it (open_decoding_source on a file descriptor, then the
// decoder); some cases are compressed first, and some are also restored into
// a new file with write_volume. The verdict must be the expected one: a
// damaged stream is rejected (integrity error, no file left), and nothing
// is ever accepted with an image other than the original.
//
// HCI_FUZZ_CASES and HCI_FUZZ_SEED change the number of cases and the seed.
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "libcommon/base/error.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/open_volume.h"
#include "memory_fd.h"
#include "stream_test_util.h"
#include "tests/fuzz/stream_mutator.h"

using namespace hci;
using hci::fuzz::Case;
using hci::fuzz::Expected;
using hci::fuzz::Sample;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// An image of `blocks` blocks (plus `tail` bytes) cut into records: runs of
// data and zeros, some data runs split into several records.
Sample make_sample(std::mt19937_64& rng, uint32_t block, size_t blocks, size_t tail, const std::string& identity) {
    size_t size = blocks * block + tail;
    std::string image(size, '\0');
    test::MemorySink sink;
    stream::Header h;
    h.size = size;
    h.block_size = block;
    h.identity = identity;
    stream::Encoder enc(sink, h);
    size_t pos = 0;
    while (pos < size) {
        size_t n = std::min<size_t>(size - pos, block * (1 + rng() % 4));
        if (rng() % 3) {
            for (size_t i = pos; i < pos + n; ++i) image[i] = static_cast<char>(rng() % 7 ? rng() : 0);
            enc.data(pos, image.data() + pos, n);
        } else {
            enc.zero(pos, n);
        }
        pos += n;
    }
    enc.finish();
    return {sink.bytes, image};
}

// `sample` with one block of its image changed: the same shape, another digest.
Sample variant_of(const Sample& sample, std::mt19937_64& rng) {
    test::Decoded d = test::decode(sample.bytes);
    std::string image(d.image.begin(), d.image.end());
    test::MemorySink sink;
    stream::Encoder enc(sink, d.header);
    if (!image.empty()) image[rng() % image.size()] ^= 0x5a;
    if (!image.empty()) enc.data(0, image.data(), image.size());
    enc.finish();
    return {sink.bytes, image};
}

std::string compressed(const std::string& bytes, CompressSpec::Kind kind) {
    test::MemorySink out;
    CompressSpec spec;
    spec.kind = kind;
    spec.threads = 1;
    auto sink = make_compressing_sink(spec, out);
    sink->write(bytes.data(), bytes.size());
    sink->finish();
    return out.bytes;
}

struct Outcome {
    bool accepted = false;
    int code = 0;  // exit code of the error when rejected
    std::string image;
    std::string message;
};

Outcome decode_like_zadp_write(const std::string& bytes) {
    Outcome o;
    int fd = test::memory_fd(bytes);
    try {
        auto in = open_decoding_source(fd, "stdin");
        stream::Decoder dec(*in);
        // A forged header may claim any size: the image is kept only when
        // small (no sample is larger, so a bigger one accepted is a mismatch).
        const bool keep = dec.header().size <= (64u << 20);
        std::string image(keep ? dec.header().size : 0, '\xee');
        std::unique_ptr<unsigned char[]> payload(new unsigned char[stream::kMaxDataLength]);
        stream::Record r;
        while (dec.next(r, payload.get())) {
            if (!keep) continue;
            REQUIRE(r.offset + r.length <= image.size());
            if (r.kind == stream::Record::kData)
                std::memcpy(image.data() + r.offset, r.payload, r.length);
            else
                std::fill(image.begin() + static_cast<long>(r.offset),
                          image.begin() + static_cast<long>(r.offset + r.length), '\0');
        }
        o.accepted = true;
        o.image = keep ? image : "(an image of " + std::to_string(dec.header().size) + " bytes)";
    } catch (const Error& e) {
        o.code = e.code();
        o.message = e.what();
    }
    ::close(fd);
    return o;
}

// zadp-write --target DIR/restored.img: the file exists exactly when it succeeded.
Outcome restore_like_zadp_write(const std::string& bytes, const std::filesystem::path& dir) {
    Outcome o;
    int fd = test::memory_fd(bytes);
    auto target = dir / "restored.img";
    try {
        auto in = open_decoding_source(fd, "stdin");
        RestoreSource source(*in, false);
        auto volume = open_volume(target.string(), OpenMode::Write, source.target_options(VolumeOptions{}));
        write_volume(source, *volume, ProgressMode::kOff);
        o.accepted = true;
        std::ifstream f(target, std::ios::binary);
        o.image.assign(std::istreambuf_iterator<char>(f), {});
    } catch (const Error& e) {
        o.code = e.code();
        o.message = e.what();
        if (!std::filesystem::is_empty(dir)) o.message += " (and the target directory is not empty)";
    }
    ::close(fd);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directory(dir);
    return o;
}

// Empty when the outcome is the one expected, else what went wrong.
// `write_path`: an I/O error (the target could not be created that large) is
// a fine way to refuse a header with a huge size, as long as nothing is left.
std::string judge(const Expected& want, const Outcome& got, bool write_path) {
    bool refused_cleanly = !got.accepted && (got.code == kExitIntegrity || (write_path && got.code == kExitIo)) &&
                           got.message.find("not empty") == std::string::npos;
    switch (want.kind) {
        case Expected::kReject:
            if (got.accepted) return "accepted a damaged stream";
            return refused_cleanly ? "" : "refused with exit " + std::to_string(got.code) + ": " + got.message;
        case Expected::kAccept:
            if (!got.accepted) return "rejected a valid stream: " + got.message;
            return got.image == want.image ? "" : "accepted with a different image";
        case Expected::kRejectOrSame:
            if (got.accepted) return got.image == want.image ? "" : "accepted with a different image";
            return refused_cleanly ? "" : "refused with exit " + std::to_string(got.code) + ": " + got.message;
    }
    return "unknown expectation";
}

}  // namespace

TEST_CASE("stream decoder: seeded mutations get the expected verdict", "[.][fuzz-stream]") {
    const uint64_t cases = env_number("HCI_FUZZ_CASES", 5000);
    const uint64_t seed = env_number("HCI_FUZZ_SEED", 20261128);
    std::mt19937_64 rng(seed);
    std::vector<Sample> samples = {
        make_sample(rng, 4096, 13, 100, "{}"),
        make_sample(rng, 512, 9, 0, R"({"vm":{"id":"v1","name":"w\u00e9b"}})"),
        make_sample(rng, 4096, 300, 0, R"({"disk":{"id":"d1"}})"),  // > 1 MiB: more than one digest piece
        make_sample(rng, 65536, 3, 17, "{}"),
        make_sample(rng, 4096, 0, 0, "{}"),  // an empty image: header and trailer only
    };
    for (size_t i = 0, n = samples.size(); i < n; ++i) samples.push_back(variant_of(samples[i], rng));
    for (const Sample& s : samples) REQUIRE(decode_like_zadp_write(s.bytes).image == s.image);

    auto dir = std::filesystem::temp_directory_path() / ("hci-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directory(dir);
    fuzz::StreamMutator mutator(seed);
    std::map<std::string, uint64_t> tried, accepted;
    uint64_t mismatches = 0, restores = 0;
    for (uint64_t i = 0; i < cases; ++i) {
        const Sample& a = samples[mutator.below(samples.size())];
        const Sample& b = samples[mutator.below(samples.size())];
        Case c = mutator.mutate(a, b);
        std::string label = c.mutation;
        if (mutator.below(8) == 0) {  // through zstd or lz4, perhaps damaged after compression
            bool zstd = mutator.below(2);
            c.bytes = compressed(c.bytes, zstd ? CompressSpec::kZstd : CompressSpec::kLz4);
            label += zstd ? " +zstd" : " +lz4";
            if (mutator.below(2)) {
                c.bytes[mutator.below(c.bytes.size())] ^= static_cast<char>(1u << mutator.below(8));
                if (c.expected.kind == Expected::kAccept) c.expected.kind = Expected::kRejectOrSame;
                label += " flipped";
            }
        }
        tried[label]++;
        Outcome o = decode_like_zadp_write(c.bytes);
        std::string verdict = judge(c.expected, o, false);
        if (verdict.empty() && mutator.below(16) == 0) {
            ++restores;
            verdict = judge(c.expected, restore_like_zadp_write(c.bytes, dir), true);
            if (!verdict.empty()) verdict = "restore: " + verdict;
        }
        if (o.accepted) accepted[label]++;
        if (!verdict.empty()) {
            if (++mismatches <= 20) std::cout << "MISMATCH case " << i << " (" << label << "): " << verdict << "\n";
        }
    }
    std::filesystem::remove_all(dir);
    std::cout << "fuzz/stream: seed " << seed << ", " << cases << " cases (" << restores
              << " also restored to a file), " << mismatches << " verdict mismatches\n";
    for (const auto& [label, n] : tried)
        std::cout << "  " << label << ": " << n << " cases, " << accepted[label] << " accepted\n";
    CHECK(mismatches == 0);
}
