#pragma once
// No-clobber for restores: zadp-write refuses to write into an existing
// target that already holds data unless told --force, as cp -n and restore
// tools users trust do.
#include <cstdint>
#include <optional>

#include "libcommon/block/volume.h"

namespace hci {

// How much of a target is examined: its allocated ranges from the start up to
// kClobberScanBytes, and its last kClobberTailBytes (a GPT's backup header).
// A device full of zeros is not read whole to prove it empty.
inline constexpr uint64_t kClobberScanBytes = 32u << 20;
inline constexpr uint64_t kClobberTailBytes = 1u << 20;

// The offset of the first non-zero byte found in those ranges, if any.
std::optional<uint64_t> find_existing_data(Volume& target);

// Usage error (exit 2) when `target` was not created for this copy and holds
// data; says --force overrides.
void refuse_to_clobber(Volume& target);

}  // namespace hci
