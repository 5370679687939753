#pragma once
// The simulator's ZBS volumes: sparse files in the state directory.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sim {

using Extent = std::pair<std::uint64_t, std::uint64_t>;  // offset, length

// Creates the file if missing and sets its logical size (sparse).
void ensure_volume(const std::string& path, std::uint64_t size);
// The allocated extents of a file (SEEK_DATA/SEEK_HOLE), clipped to `size`.
// A missing file has none.
std::vector<Extent> allocated_extents(const std::string& path, std::uint64_t size);
// Point-in-time copy of `src` to a fresh `dst` of `size` bytes that copies only
// allocated extents, so holes stay holes.
void copy_volume(const std::string& src, const std::string& dst, std::uint64_t size);
// Writes bytes at offset; throws std::runtime_error past the end of the volume.
void write_volume(const std::string& path, std::uint64_t size, std::uint64_t offset, const std::string& bytes);

struct Digest {
    std::string sha256;       // of the whole logical image, holes read as zeros
    std::uint64_t size = 0;
    std::uint64_t allocated = 0;
};
Digest digest_volume(const std::string& path, std::uint64_t size);     // cached while the file is unchanged
Digest compute_digest(const std::string& path, std::uint64_t size);  // always reads

// Deterministic pseudo-random bytes (splitmix64) so tests can reproduce data.
class Prng {
public:
    explicit Prng(std::uint64_t seed) : state_(seed) {}
    void fill(char* out, std::size_t n);

private:
    std::uint64_t next();
    std::uint64_t state_;
};

// Standard base64 decoding; throws std::invalid_argument on bad input.
std::string base64_decode(const std::string& text);

}  // namespace sim
