#pragma once
// What the repository's unit tests share: a temporary directory, the exit
// code a call fails with, and images to store and read back.
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/image.h"

namespace hci::repo_test {

// A new directory under /tmp, removed with everything in it.
struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/repo-unit.XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// The exit code of the hci::Error `f` throws, 0 when it returns.
inline int exit_code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

// `size` bytes that no other seed repeats (no chunk dedups by chance).
inline std::vector<unsigned char> random_image(size_t size, uint64_t seed) {
    std::vector<unsigned char> image(size);
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < size; i += 8) {
        uint64_t v = rng();
        std::memcpy(image.data() + i, &v, std::min<size_t>(8, size - i));
    }
    return image;
}

// The whole image `name`, read back through the repository.
inline std::vector<unsigned char> read_image(repo::Repository& repo, const std::string& name) {
    repo::ImageReader r(repo, name);
    std::vector<unsigned char> got(r.size());
    r.read(0, got.data(), got.size());
    return got;
}

}  // namespace hci::repo_test
