#pragma once
// SHA-256 for /_sim/digest, over OpenSSL's libcrypto; the same digest as sha256sum.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sim {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t len);
    std::string hex_digest();  // finishes the hash

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim
