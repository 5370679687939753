// The block stream codec: round trips of random extent maps and edge sizes,
// and the digest's independence from how an image is cut into records.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/stream.h"
#include "stream_test_util.h"

using namespace hci;
using namespace hci::stream;
using namespace hci::test;

namespace {

struct Piece {
    uint64_t offset, length;
    bool zero;
};

// Cuts [0, size) into random block-aligned pieces, each data or zero; data
// pieces of the image get random bytes (some all-zero, written as DATA).
std::vector<Piece> random_map(std::mt19937_64& rng, uint64_t size, uint32_t block, std::vector<unsigned char>& image) {
    image.assign(size, 0);
    std::vector<Piece> out;
    uint64_t pos = 0;
    while (pos < size) {
        uint64_t blocks = 1 + rng() % 40;
        uint64_t len = std::min(size - pos, blocks * block);
        bool zero = rng() % 2;
        if (!zero && rng() % 8 != 0)
            for (uint64_t i = pos; i < pos + len; ++i) image[i] = static_cast<unsigned char>(rng());
        out.push_back({pos, len, zero});
        pos += len;
    }
    return out;
}

std::string encode(const std::vector<unsigned char>& image, const std::vector<Piece>& map, uint32_t block,
                   Stats* stats = nullptr) {
    MemorySink sink;
    Header h;
    h.size = image.size();
    h.block_size = block;
    h.identity = R"({"vm":{"name":"web01"}})";
    Encoder enc(sink, h);
    for (const auto& p : map) {
        if (p.zero)
            enc.zero(p.offset, p.length);
        else
            enc.data(p.offset, image.data() + p.offset, p.length);
    }
    Stats s = enc.finish();
    if (stats) *stats = s;
    return sink.bytes;
}

Digest plain_digest(const std::vector<unsigned char>& image) {
    ImageDigest d;
    d.add_data(image.data(), image.size());
    return d.finish();
}

}  // namespace

TEST_CASE("random extent maps round-trip through the stream") {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 40; ++round) {
        uint32_t block = round % 3 == 0 ? 512 : 4096;
        uint64_t size = rng() % (3u << 20);
        if (round % 5 == 0) size = size / block * block;  // some exact multiples
        std::vector<unsigned char> image;
        auto map = random_map(rng, size, block, image);
        Stats written;
        std::string bytes = encode(image, map, block, &written);
        Decoded d = decode(bytes);
        REQUIRE(d.image == image);
        REQUIRE(d.header.size == size);
        REQUIRE(d.header.block_size == block);
        REQUIRE(d.stats.digest == written.digest);
        REQUIRE(d.stats.digest == plain_digest(image));
        REQUIRE(d.stats.data_bytes + d.stats.zero_bytes == size);
    }
}

TEST_CASE("an empty volume is a header and a trailer") {
    std::vector<unsigned char> image;
    std::string bytes = encode(image, {}, 4096);
    Decoded d = decode(bytes);
    REQUIRE(d.header.size == 0);
    REQUIRE(d.records == 0);
    REQUIRE(d.stats.digest == plain_digest(image));
}

TEST_CASE("a one-byte volume round-trips") {
    for (unsigned char b : {0, 0x5a}) {
        std::vector<unsigned char> image{b};
        std::string bytes = encode(image, {{0, 1, b == 0}}, 4096);
        Decoded d = decode(bytes);
        REQUIRE(d.image == image);
    }
}

TEST_CASE("extents touching the end of a size that is not a block multiple") {
    std::vector<unsigned char> image(3 * 4096 + 100, 0);
    for (size_t i = 2 * 4096; i < image.size(); ++i) image[i] = static_cast<unsigned char>(i);
    std::string bytes = encode(image, {{0, 2 * 4096, true}, {2 * 4096, 4096 + 100, false}}, 4096);
    Decoded d = decode(bytes);
    REQUIRE(d.image == image);
    REQUIRE(d.stats.zero_records == 1);
    REQUIRE(d.stats.data_records == 1);
}

TEST_CASE("the digest does not depend on how the image is cut into records") {
    std::mt19937_64 rng(7);
    std::vector<unsigned char> image((5u << 20) + 4096 * 3, 0);
    for (size_t i = 0; i < image.size(); i += 3) image[i] = static_cast<unsigned char>(rng());
    Stats one, many;
    encode(image, {{0, image.size(), false}}, 4096, &one);
    std::vector<Piece> cut;
    for (uint64_t pos = 0; pos < image.size(); pos += 4096 * 7)
        cut.push_back({pos, std::min<uint64_t>(4096 * 7, image.size() - pos), false});
    encode(image, cut, 4096, &many);
    REQUIRE(one.digest == many.digest);
    REQUIRE(one.data_records != many.data_records);
}

TEST_CASE("zero runs hash like zero bytes") {
    std::vector<unsigned char> image((3u << 20) + 17, 0);
    ImageDigest fast;
    fast.add_zeros(1000);
    fast.add_zeros(image.size() - 1000);
    REQUIRE(fast.finish() == plain_digest(image));
}

TEST_CASE("adjacent zero calls merge into one ZERO record") {
    std::vector<unsigned char> image(4 * 4096, 0);
    Stats s;
    encode(image, {{0, 4096, true}, {4096, 4096, true}, {8192, 8192, true}}, 4096, &s);
    REQUIRE(s.zero_records == 1);
    REQUIRE(s.zero_bytes == image.size());
}

TEST_CASE("large DATA is split at the record size limit") {
    std::vector<unsigned char> image(kMaxDataLength + 4096, 1);
    Stats s;
    std::string bytes = encode(image, {{0, image.size(), false}}, 4096, &s);
    REQUIRE(s.data_records == 2);
    REQUIRE(decode(bytes).image == image);
}
