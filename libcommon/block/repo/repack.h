#pragma once
// gc's repacking (restic's prune.go + repack.go are the model): the plan,
// made from the packs' own tables and what the marks proved live, apart
// from its execution, which copies the live objects of rewritten packs.
// What may be removed follows zadp-repo(5), "What gc may remove": a pack
// whose own table does not read is never removed or rewritten; a pack all
// of whose objects are dead is removed; one with a quarter or more dead, or
// two or more small ones, are rewritten.
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "libcommon/block/repo/chunk_store.h"
#include "libcommon/block/repo/pack.h"

namespace hci::repo::pack {

struct RepackPlan {
    struct Rewrite {
        uint64_t pack = 0;
        std::vector<Entry> live;  // what to copy
        uint64_t file_size = 0, dead = 0, dead_bytes = 0;
    };
    std::vector<uint64_t> drop;      // every object dead: removed whole
    std::vector<Rewrite> rewrites;   // live objects copied, then removed
    ChunkStore::SweepReport report;  // the figures, as if executed
};

// Builds the plan one pack at a time, holding only the live entries of the
// packs to rewrite (bounded memory whatever the repository's size).
class RepackPlanner {
public:
    // `live`: what the marks hold; `damaged`: copies set aside (dead).
    RepackPlanner(std::function<bool(const ChunkId&)> live, const std::set<Location>& damaged);
    // A pack with its own table's entries and its size.
    void add(uint64_t pack, uint64_t file_size, const std::vector<Entry>& entries);
    // A pack whose own table does not read: what it holds is not proven.
    void add_damaged(uint64_t pack);
    RepackPlan finish();

private:
    std::function<bool(const ChunkId&)> live_;
    const std::set<Location>& damaged_;
    RepackPlan plan_;
    std::vector<RepackPlan::Rewrite> small_;
    uint64_t dropped_bytes_ = 0;
};

// Executes the copying of a plan: every live object of every rewritten pack,
// read from the pack `open` gives and checked for its length, goes to `add`
// (the store's new packs). Fails (exit 7) when a pack is gone or changed.
void copy_live_objects(const RepackPlan& plan, const std::function<std::shared_ptr<ObjectReader>(uint64_t)>& open,
                       const std::function<std::string(uint64_t)>& where,
                       const std::function<void(const ChunkId&, const Bytes&)>& add);

}  // namespace hci::repo::pack
