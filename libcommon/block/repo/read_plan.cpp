#include "libcommon/block/repo/read_plan.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace hci::repo {

std::vector<ReadRun> plan_reads(const std::vector<ReadPiece>& pieces, CoalesceLimits limits) {
    std::vector<size_t> order(pieces.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::tie(pieces[a].key, pieces[a].offset) < std::tie(pieces[b].key, pieces[b].offset);
    });
    std::vector<ReadRun> runs;
    for (size_t i : order) {
        const ReadPiece& p = pieces[i];
        if (!runs.empty() && !p.key.empty()) {
            ReadRun& last = runs.back();
            uint64_t end = last.offset + last.length;
            uint64_t new_end = std::max(end, p.offset + p.length);
            if (last.key == p.key && p.offset <= end + limits.max_gap && new_end - last.offset <= limits.max_request) {
                last.length = new_end - last.offset;
                last.pieces.push_back(i);
                continue;
            }
        }
        runs.push_back({p.key, p.offset, p.key.empty() ? 0 : p.length, {i}});
    }
    for (auto& r : runs) std::sort(r.pieces.begin(), r.pieces.end());
    std::sort(runs.begin(), runs.end(), [](const ReadRun& a, const ReadRun& b) { return a.pieces[0] < b.pieces[0]; });
    return runs;
}

}  // namespace hci::repo
