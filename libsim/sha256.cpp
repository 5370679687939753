#include "libsim/sha256.h"

#include <dlfcn.h>

#include <cstring>

namespace sim {
namespace {

// libcrypto's SHA256_Init/Update/Final, looked up at run time so the build
// needs no extra link dependency.
struct Crypto {
    int (*init)(void*) = nullptr;
    int (*update)(void*, const void*, std::size_t) = nullptr;
    int (*final)(unsigned char*, void*) = nullptr;
    bool ok = false;
    Crypto() {
        void* h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (!h) return;
        init = reinterpret_cast<int (*)(void*)>(dlsym(h, "SHA256_Init"));
        update = reinterpret_cast<int (*)(void*, const void*, std::size_t)>(dlsym(h, "SHA256_Update"));
        final = reinterpret_cast<int (*)(unsigned char*, void*)>(dlsym(h, "SHA256_Final"));
        ok = init && update && final;
    }
};

const Crypto& crypto() {
    static Crypto c;
    return c;
}

constexpr std::uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

struct Portable {
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char buf[64];
    std::size_t used = 0;
    std::uint64_t total = 0;

    void block(const unsigned char* p) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t(p[4 * i]) << 24 | std::uint32_t(p[4 * i + 1]) << 16 |
                   std::uint32_t(p[4 * i + 2]) << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; ++i) {
            std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
            std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    void update(const unsigned char* p, std::size_t n) {
        total += n;
        while (n > 0) {
            if (used == 0 && n >= 64) {
                block(p);
                p += 64;
                n -= 64;
                continue;
            }
            std::size_t take = std::min<std::size_t>(64 - used, n);
            std::memcpy(buf + used, p, take);
            used += take;
            p += take;
            n -= take;
            if (used == 64) {
                block(buf);
                used = 0;
            }
        }
    }
    void finish(unsigned char out[32]) {
        std::uint64_t bits = total * 8;
        unsigned char pad = 0x80;
        update(&pad, 1);
        unsigned char zero = 0;
        while (used != 56) update(&zero, 1);
        unsigned char len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
        update(len, 8);
        for (int i = 0; i < 8; ++i) {
            out[4 * i] = static_cast<unsigned char>(h[i] >> 24);
            out[4 * i + 1] = static_cast<unsigned char>(h[i] >> 16);
            out[4 * i + 2] = static_cast<unsigned char>(h[i] >> 8);
            out[4 * i + 3] = static_cast<unsigned char>(h[i]);
        }
    }
};

}  // namespace

struct Sha256::Impl {
    alignas(16) unsigned char ctx[512];  // room for libcrypto's SHA256_CTX
    Portable portable;
    bool use_crypto = crypto().ok;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
    if (impl_->use_crypto) crypto().init(impl_->ctx);
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t len) {
    if (impl_->use_crypto)
        crypto().update(impl_->ctx, data, len);
    else
        impl_->portable.update(static_cast<const unsigned char*>(data), len);
}

std::string Sha256::hex_digest() {
    unsigned char out[32];
    if (impl_->use_crypto)
        crypto().final(out, impl_->ctx);
    else
        impl_->portable.finish(out);
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (unsigned char c : out) {
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

}  // namespace sim
