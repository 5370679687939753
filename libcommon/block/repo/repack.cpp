#include "libcommon/block/repo/repack.h"

#include "libcommon/base/error.h"

namespace hci::repo::pack {

RepackPlanner::RepackPlanner(std::function<bool(const ChunkId&)> live, const std::set<Location>& damaged)
    : live_(std::move(live)), damaged_(damaged) {}

void RepackPlanner::add_damaged(uint64_t) { ++plan_.report.damaged_files; }

void RepackPlanner::add(uint64_t pack, uint64_t file_size, const std::vector<Entry>& entries) {
    auto& r = plan_.report;
    RepackPlan::Rewrite w{pack, {}, file_size};
    uint64_t live_bytes = 0;
    for (const auto& e : entries) {
        if (!damaged_.count(e.at) && live_(e.id)) {
            ++r.chunks_kept;
            r.bytes_kept += e.at.length;
            w.live.push_back(e);
            live_bytes += e.at.length;
        } else {
            ++w.dead;
            w.dead_bytes += e.at.length;
        }
    }
    if (w.live.empty()) {
        plan_.drop.push_back(pack);
        dropped_bytes_ += file_size;
        r.chunks_removed += w.dead;
        r.bytes_removed += w.dead_bytes;
    } else if (live_bytes * 4 < (file_size - kPackHeaderSize) * 3) {
        plan_.rewrites.push_back(std::move(w));  // a quarter or more is dead
    } else if (file_size < kPackTarget / 4) {
        small_.push_back(std::move(w));
    } else {
        r.chunks_unused_kept += w.dead;
        r.bytes_unused_kept += w.dead_bytes;
    }
}

RepackPlan RepackPlanner::finish() {
    auto& r = plan_.report;
    if (small_.size() >= 2) {  // small packs (from small nightly changes) are combined
        for (auto& w : small_) plan_.rewrites.push_back(std::move(w));
    } else {
        for (auto& w : small_) {
            r.chunks_unused_kept += w.dead;
            r.bytes_unused_kept += w.dead_bytes;
        }
    }
    small_.clear();
    r.files_removed = plan_.drop.size() + plan_.rewrites.size();
    r.files_rewritten = plan_.rewrites.size();
    uint64_t rewritten_bytes = 0, copied_bytes = 0;
    for (const auto& w : plan_.rewrites) {
        r.chunks_removed += w.dead;
        r.bytes_removed += w.dead_bytes;
        rewritten_bytes += w.file_size;
        for (const auto& e : w.live) copied_bytes += e.at.length;
    }
    // What the new packs take: the live objects, a header, and a table per 16 MiB.
    uint64_t new_packs = plan_.rewrites.empty() ? 0 : copied_bytes / kPackTarget + 1;
    uint64_t written = copied_bytes + new_packs * (kPackHeaderSize + kPackTailSize);
    for (const auto& w : plan_.rewrites) written += w.live.size() * kEntrySize;
    r.bytes_freed = dropped_bytes_ + rewritten_bytes > written ? dropped_bytes_ + rewritten_bytes - written : 0;
    return std::move(plan_);
}

void copy_live_objects(const RepackPlan& plan, const std::function<std::shared_ptr<ObjectReader>(uint64_t)>& open,
                       const std::function<std::string(uint64_t)>& where,
                       const std::function<void(const ChunkId&, const Bytes&)>& add) {
    Bytes object;
    for (const auto& w : plan.rewrites) {
        auto reader = open(w.pack);
        if (!reader) fail(kExitIo, "open " + where(w.pack) + ": " + errno_text(ENOENT));
        for (const auto& e : w.live) {
            read_object(*reader, e.at, object);
            if (object.size() != e.at.length) fail(kExitIo, where(w.pack) + " changed while gc copied it");
            add(e.id, object);
        }
    }
}

}  // namespace hci::repo::pack
