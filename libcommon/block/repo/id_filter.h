#pragma once
// A Bloom filter of chunk ids: gc's set of referenced chunks in about two
// bytes per chunk, whatever the repository's size. A false positive only
// keeps a dead chunk until a later gc; a chunk that was added is always
// found, so no referenced chunk is ever taken for garbage.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "libcommon/block/repo/crypto.h"

namespace hci::repo {

class IdFilter {
public:
    // Sized for `expected` ids at 16 bits each (one false positive in about
    // 2000), but never above 32 MiB: past 16 Mi ids (4 TiB of 256 KiB chunks)
    // more dead chunks survive a gc, and memory stays bounded. At least 1 MiB,
    // so that in a small repository practically no dead chunk survives.
    explicit IdFilter(uint64_t expected) {
        uint64_t bits = uint64_t{1} << 23;
        while (bits < std::min<uint64_t>(expected, uint64_t{1} << 24) * 16) bits <<= 1;
        words_.assign(bits / 64, 0);
        mask_ = bits - 1;
    }
    void add(const ChunkId& id) {
        probe(id, [&](uint64_t bit) { words_[bit / 64] |= uint64_t{1} << (bit % 64); });
    }
    bool maybe_contains(const ChunkId& id) const {
        bool all = true;
        probe(id, [&](uint64_t bit) { all = all && (words_[bit / 64] >> (bit % 64) & 1); });
        return all;
    }

private:
    // Ids are uniformly random (SHA-256 or HMAC), so their own bytes serve
    // as the two hashes of double hashing.
    template <class F>
    void probe(const ChunkId& id, F f) const {
        uint64_t h1, h2;
        std::memcpy(&h1, id.data(), 8);
        std::memcpy(&h2, id.data() + 8, 8);
        h2 |= 1;
        for (int i = 0; i < 11; ++i) f((h1 + static_cast<uint64_t>(i) * h2) & mask_);
    }
    std::vector<uint64_t> words_;
    uint64_t mask_ = 0;
};

}  // namespace hci::repo
