#include "libsim/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace sim {

// OpenSSL's EVP digest: well kept, hardware accelerated, same result as sha256sum.
struct Sha256::Impl {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("sha256: cannot initialise OpenSSL digest");
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t len) {
    if (EVP_DigestUpdate(impl_->ctx, data, len) != 1) throw std::runtime_error("sha256: digest update failed");
}

std::string Sha256::hex_digest() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(impl_->ctx, out, &len) != 1) throw std::runtime_error("sha256: digest final failed");
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < len; ++i) {
        s += hex[out[i] >> 4];
        s += hex[out[i] & 15];
    }
    return s;
}

}  // namespace sim
