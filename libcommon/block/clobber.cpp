#include "libcommon/block/clobber.h"

#include <algorithm>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/stream_io.h"

namespace hci {
namespace {

constexpr uint64_t kExtentWindow = 1ull << 30;
constexpr size_t kReadSize = 1u << 20;

// The first non-zero byte of [offset, offset+length), reading in 1 MiB steps.
std::optional<uint64_t> first_non_zero(Volume& v, uint64_t offset, uint64_t length, std::vector<unsigned char>& buf) {
    for (uint64_t done = 0; done < length;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kReadSize, length - done));
        v.read(offset + done, buf.data(), n);
        for (size_t i = 0; i < n; ++i)
            if (buf[i] != 0) return offset + done + i;
        done += n;
    }
    return std::nullopt;
}

// Scans the allocated parts of [start, end) until `budget` bytes were read.
std::optional<uint64_t> scan_allocated(Volume& v, uint64_t start, uint64_t end, uint64_t& budget,
                                       std::vector<unsigned char>& buf) {
    for (uint64_t pos = start; pos < end && budget > 0;) {
        uint64_t window = std::min(kExtentWindow, end - pos);
        for (const auto& e : v.extents(pos, window)) {
            if (!e.allocated || e.length == 0) continue;
            uint64_t n = std::min(e.length, budget);
            if (auto at = first_non_zero(v, e.offset, n, buf)) return at;
            budget -= n;
            if (budget == 0) break;
        }
        pos += window;
    }
    return std::nullopt;
}

}  // namespace

std::optional<uint64_t> find_existing_data(Volume& target) {
    const uint64_t size = target.size();
    std::vector<unsigned char> buf(kReadSize);
    uint64_t budget = kClobberScanBytes;
    if (auto at = scan_allocated(target, 0, size, budget, buf)) return at;
    uint64_t tail = size > kClobberTailBytes ? size - kClobberTailBytes : 0;
    uint64_t tail_budget = kClobberTailBytes;
    return scan_allocated(target, tail, size, tail_budget, buf);
}

void refuse_to_clobber(Volume& target) {
    if (target.is_new()) return;
    std::optional<uint64_t> at;
    try {
        at = find_existing_data(target);
    } catch (const Error& e) {
        fail(kExitUsage, "cannot tell whether " + target.describe() + " holds data (" + e.what() +
                             "); refusing to overwrite it without --force");
    }
    if (at)
        fail(kExitUsage, target.describe() + " already holds data (a non-zero byte at offset " + std::to_string(*at) +
                             "); refusing to overwrite it without --force");
}

}  // namespace hci
