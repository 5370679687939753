// gc's repack plan on its own (repack.h): what it removes, rewrites and
// keeps, from packs' tables and the marks, before anything is executed.
#include <catch2/catch.hpp>
#include <set>

#include "libcommon/block/repo/repack.h"

using namespace hci::repo;
using namespace hci::repo::pack;

namespace {

ChunkId id_of(int n) {
    ChunkId id{};
    id[0] = static_cast<unsigned char>(n);
    id[1] = static_cast<unsigned char>(n >> 8);
    return id;
}

// A pack of `n` objects of `size` bytes, ids first..first+n-1.
std::vector<Entry> objects(uint64_t pack, int first, int n, uint32_t size) {
    std::vector<Entry> entries;
    for (int i = 0; i < n; ++i)
        entries.push_back({id_of(first + i), {pack, static_cast<uint32_t>(kPackHeaderSize + i * size), size}});
    return entries;
}

uint64_t file_size_of(const std::vector<Entry>& entries, uint32_t size) {
    return kPackHeaderSize + entries.size() * (size + kEntrySize) + kPackTailSize;
}

}  // namespace

TEST_CASE("repack plan: only what the marks prove dead goes, damaged packs are never touched") {
    std::set<int> dead = {100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 300};
    std::set<Location> set_aside;
    RepackPlanner planner([&](const ChunkId& id) { return !dead.count(id[0] | (id[1] << 8)); }, set_aside);
    const uint32_t big = 1u << 20;
    // Pack 1: every object dead -> removed whole.
    auto p1 = objects(1, 100, 4, big);
    planner.add(1, file_size_of(p1, big), p1);
    // Pack 2: 10 of 16 dead -> rewritten with its 6 live objects.
    auto p2 = objects(2, 200, 16, big);
    planner.add(2, file_size_of(p2, big), p2);
    // Pack 3: 1 of 16 dead, large -> kept whole, the dead object counted.
    auto p3 = objects(3, 300, 16, big);
    planner.add(3, file_size_of(p3, big), p3);
    // Pack 4: its table does not read -> never removed or rewritten.
    planner.add_damaged(4);
    RepackPlan plan = planner.finish();
    CHECK(plan.drop == std::vector<uint64_t>{1});
    REQUIRE(plan.rewrites.size() == 1);
    CHECK(plan.rewrites[0].pack == 2);
    CHECK(plan.rewrites[0].live.size() == 6);
    CHECK(plan.report.chunks_removed == 4 + 10);
    CHECK(plan.report.chunks_unused_kept == 1);
    CHECK(plan.report.chunks_kept == 6 + 15);
    CHECK(plan.report.damaged_files == 1);
    CHECK(plan.report.files_removed == 2);
    CHECK(plan.report.files_rewritten == 1);
    for (const auto& w : plan.rewrites)
        for (const auto& e : w.live) CHECK(!dead.count(e.id[0] | (e.id[1] << 8)));
}

TEST_CASE("repack plan: small packs are combined only when there are two or more, and set-aside copies are dead") {
    const uint32_t size = 100000;
    SECTION("one small pack stays as it is") {
        std::set<Location> set_aside;
        RepackPlanner planner([](const ChunkId&) { return true; }, set_aside);
        auto p = objects(7, 1, 3, size);
        planner.add(7, file_size_of(p, size), p);
        auto plan = planner.finish();
        CHECK(plan.drop.empty());
        CHECK(plan.rewrites.empty());
    }
    SECTION("two small packs are combined, without the copy set aside") {
        auto a = objects(7, 1, 5, size), b = objects(8, 10, 5, size);  // one fifth dead: not rewritten for that
        std::set<Location> set_aside = {a[1].at};
        RepackPlanner planner([](const ChunkId&) { return true; }, set_aside);
        planner.add(7, file_size_of(a, size), a);
        planner.add(8, file_size_of(b, size), b);
        auto plan = planner.finish();
        REQUIRE(plan.rewrites.size() == 2);
        CHECK(plan.rewrites[0].live.size() + plan.rewrites[1].live.size() == 9);
        CHECK(plan.report.chunks_removed == 1);
    }
}
