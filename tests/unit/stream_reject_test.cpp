// The decoder rejects every damaged or inconsistent stream with an integrity
// error. Streams here are forged byte by byte from zadp-stream(5), so the
// test also checks that the codec matches its documentation.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/stream.h"
#include "stream_test_util.h"

using namespace hci;
using namespace hci::test;

namespace {

void le(std::string& s, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>(v >> (8 * i));
}

std::string header(uint64_t size, uint32_t block = 4096, uint32_t version = 1, std::string identity = "{}") {
    std::string h = "ZADPSTRM";
    le(h, version, 4);
    le(h, 0, 4);
    le(h, size, 8);
    le(h, block, 4);
    le(h, identity.size(), 4);
    h += identity;
    le(h, XXH3_64bits(h.data(), h.size()), 8);
    return h;
}

std::string record(const char* tag, uint64_t offset, uint64_t length, const std::string& payload = "") {
    std::string r(tag, 4);
    le(r, 0, 4);
    le(r, offset, 8);
    le(r, length, 8);
    std::string summed = r + payload;
    le(r, XXH3_64bits(summed.data(), summed.size()), 8);
    return r + payload;
}

// The trailer for the image `image` as cut into the given record counts.
std::string trailer(const std::string& image, uint64_t data_records, uint64_t zero_records, uint64_t data_bytes,
                    uint64_t zero_bytes) {
    // Digest per zadp-stream(5): XXH3-128 over the LE XXH3-64 of each 1 MiB piece.
    std::string pieces;
    for (size_t pos = 0; pos < image.size(); pos += 1u << 20)
        le(pieces, XXH3_64bits(image.data() + pos, std::min<size_t>(1u << 20, image.size() - pos)), 8);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(pieces.data(), pieces.size()));
    std::string p;
    le(p, data_records, 8);
    le(p, zero_records, 8);
    le(p, data_bytes, 8);
    le(p, zero_bytes, 8);
    p.append(reinterpret_cast<const char*>(c.digest), 16);
    return record("TRLR", image.size(), 48, p);
}

std::string data4k(char fill) { return std::string(4096, fill); }

// A valid stream of 12 KiB: DATA 0..4K, ZERO 4K..8K, DATA 8K..12K.
std::string good_stream() {
    std::string image = data4k('a') + std::string(4096, '\0') + data4k('b');
    return header(image.size()) + record("DATA", 0, 4096, data4k('a')) + record("ZERO", 4096, 4096) +
           record("DATA", 8192, 4096, data4k('b')) + trailer(image, 2, 1, 8192, 4096);
}

std::string rejection(const std::string& bytes) {
    try {
        decode(bytes);
    } catch (const Error& e) {
        REQUIRE(e.code() == kExitIntegrity);
        return e.what();
    }
    FAIL("stream was accepted");
    return "";
}

}  // namespace

TEST_CASE("a forged stream that follows the man page is accepted") {
    Decoded d = decode(good_stream());
    REQUIRE(d.records == 3);
    REQUIRE(d.image[0] == 'a');
    REQUIRE(d.image[8192] == 'b');
}

TEST_CASE("every truncation is rejected") {
    std::string s = good_stream();
    for (size_t n = 0; n < s.size(); ++n) rejection(s.substr(0, n));
    REQUIRE_THAT(rejection(s.substr(0, 20)), Catch::Contains("inside the header"));
    REQUIRE_THAT(rejection(s.substr(0, s.size() - 80 + 5)), Catch::Contains("inside a record header"));
    REQUIRE_THAT(rejection(s.substr(0, s.size() - 80)), Catch::Contains("without a trailer"));
    REQUIRE_THAT(rejection(s.substr(0, s.size() - 10)), Catch::Contains("inside the trailer"));
}

TEST_CASE("every flipped bit is rejected") {
    std::string s = good_stream();
    for (size_t i = 0; i < s.size(); i += (i < 200 || i > s.size() - 200) ? 1 : 97) {
        for (int bit : {0, 7}) {
            std::string bad = s;
            bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
            rejection(bad);
        }
    }
}

TEST_CASE("bad magic, version and trailing garbage have their own messages") {
    std::string s = good_stream();
    std::string bad = s;
    bad[0] = 'X';
    REQUIRE_THAT(rejection(bad), Catch::Contains("bad magic"));
    REQUIRE_THAT(rejection(header(0, 4096, 2) + trailer("", 0, 0, 0, 0)), Catch::Contains("unsupported stream version 2"));
    REQUIRE_THAT(rejection(s + "x"), Catch::Contains("trailing garbage"));
    REQUIRE_THAT(rejection(""), Catch::Contains("empty input"));
}

TEST_CASE("unordered, overlapping, gapped and out-of-range records are rejected") {
    std::string image = data4k('a') + data4k('b');
    std::string h = header(image.size());
    std::string t = trailer(image, 2, 0, 8192, 0);
    REQUIRE_THAT(rejection(h + record("DATA", 0, 4096, data4k('a')) + record("DATA", 4096, 4096, data4k('b')) +
                           record("DATA", 0, 4096, data4k('a')) + t),
                 Catch::Contains("out of order"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 8192, image) + record("DATA", 4096, 4096, data4k('b')) + t),
                 Catch::Contains("overlapping"));
    REQUIRE_THAT(rejection(h + record("DATA", 4096, 4096, data4k('b')) + t), Catch::Contains("gap"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 4096, data4k('a')) + record("ZERO", 4096, 8192) + t),
                 Catch::Contains("out of range"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 4096, data4k('a')) + t), Catch::Contains("trailer too early"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 100, std::string(100, 'a')) + t), Catch::Contains("not aligned"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 4096, data4k('a')) + record("DATA", 4096, 4096, data4k('b')) +
                           trailer(image, 1, 1, 8192, 0)),
                 Catch::Contains("counts disagree"));
    REQUIRE_THAT(rejection(h + record("DATA", 0, 4096, data4k('a')) + record("DATA", 4096, 4096, data4k('c')) + t),
                 Catch::Contains("digest mismatch"));
}
