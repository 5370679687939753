// AES-GCM sealing as the repository uses it. Each thread keeps one cipher
// context per direction and re-keys it only when the key changes: these
// pin that a changed key, a changed nonce or changed bytes are never
// served by the state a previous call left behind.
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "libcommon/block/repo/crypto.h"

using namespace hci::repo;

namespace {

std::array<unsigned char, 32> key_of(unsigned char fill) {
    std::array<unsigned char, 32> k{};
    k.fill(fill);
    return k;
}

std::vector<unsigned char> plain_bytes(size_t n, unsigned char seed) {
    std::vector<unsigned char> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(seed + i * 7);
    return v;
}

}  // namespace

TEST_CASE("GCM: keys that alternate in one thread each open only their own objects") {
    const auto a = key_of(1), b = key_of(2);
    const auto pa = plain_bytes(300000, 3), pb = plain_bytes(1000, 9);
    for (int round = 0; round < 3; ++round) {  // A, B, A...: the kept context re-keys each time
        auto sa = gcm_seal(a, pa.data(), pa.size(), "chunk a");
        auto sb = gcm_seal(b, pb.data(), pb.size(), "chunk b");
        CHECK(gcm_open(a, sa.data(), sa.size(), "chunk a") == pa);
        CHECK(!gcm_open(b, sa.data(), sa.size(), "chunk a"));  // the other key
        CHECK(gcm_open(b, sb.data(), sb.size(), "chunk b") == pb);
        CHECK(!gcm_open(a, sb.data(), sb.size(), "chunk b"));
        CHECK(!gcm_open(a, sa.data(), sa.size(), "chunk b"));  // the other place
        CHECK(gcm_open(a, sa.data(), sa.size(), "chunk a") == pa);  // after failures too
    }
}

TEST_CASE("GCM: every object gets its own nonce, and an altered byte fails its tag") {
    const auto k = key_of(5);
    const auto p = plain_bytes(4096, 1);
    auto s1 = gcm_seal(k, p.data(), p.size(), "x");
    auto s2 = gcm_seal(k, p.data(), p.size(), "x");
    CHECK(std::memcmp(s1.data(), s2.data(), kNonceSize) != 0);
    CHECK(s1 != s2);
    for (size_t at : {size_t(0), kNonceSize, s1.size() / 2, s1.size() - 1}) {  // nonce, text, tag
        auto bad = s1;
        bad[at] ^= 0x40;
        CHECK(!gcm_open(k, bad.data(), bad.size(), "x"));
    }
    CHECK(gcm_open(k, s1.data(), s1.size(), "x") == p);
    CHECK(gcm_open(k, s2.data(), s2.size(), "x") == p);
}

TEST_CASE("GCM: objects sealed on one thread open on others, each with its own contexts") {
    const auto k = key_of(7);
    const auto p = plain_bytes(65536, 4);
    auto sealed = gcm_seal(k, p.data(), p.size(), "shared");
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            const auto other = key_of(static_cast<unsigned char>(100 + t));
            for (int i = 0; i < 20; ++i) {
                bool mine = gcm_open(k, sealed.data(), sealed.size(), "shared") == p;
                bool theirs = !gcm_open(other, sealed.data(), sealed.size(), "shared");
                if (mine && theirs) ++ok[t];
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) CHECK(ok[t] == 20);
}
