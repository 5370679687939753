// gc beside stores and reads on a store whose locks are leases (condemned.h,
// zadp-repo(5) "Object storage"): the memory store with lease objects and
// its clock in the test's hands. Each Repository below is one process: its
// own view of the packs, over the same objects.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "libcommon/block/repo/backend/lease_lock.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/maintenance.h"
#include "repo_test_util.h"
#include "s3_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

constexpr int64_t kDay = 86400;

// One process's handle on the shared objects.
class Shared : public ObjectStore {
public:
    explicit Shared(ObjectStore& inner) : inner_(inner) {}
    void save(const std::string& k, const void* d, size_t n) override { inner_.save(k, d, n); }
    bool create(const std::string& k, const void* d, size_t n) override { return inner_.create(k, d, n); }
    std::optional<std::vector<unsigned char>> load(const std::string& k, uint64_t o, uint64_t n) override {
        return inner_.load(k, o, n);
    }
    std::optional<ObjectInfo> stat(const std::string& k) override { return inner_.stat(k); }
    void list(const std::string& p, const std::function<void(const ObjectInfo&)>& v) override { inner_.list(p, v); }
    uint64_t remove(const std::vector<std::string>& keys) override { return inner_.remove(keys); }
    int64_t now() override { return inner_.now(); }
    void sync() override {}
    std::string where(const std::string& k) const override { return inner_.where(k); }
    std::unique_ptr<StoreLock> lock(const std::string& n, bool x, bool w) override { return inner_.lock(n, x, w); }
    bool locks_are_leases() const override { return true; }

private:
    ObjectStore& inner_;
};

// The memory store with leases and the test's clock, or another store.
struct Bed {
    int64_t clock = 1'700'000'000;
    std::unique_ptr<ObjectStore> objects;
    explicit Bed(std::unique_ptr<ObjectStore> store = nullptr)
        : objects(store ? std::move(store) : open_memory_store([this] { return clock; }, true)) {
        Repository::init(*objects, 65536, false, {});
    }
    std::unique_ptr<Repository> process() { return Repository::open(std::make_unique<Shared>(*objects), "memory", {}); }
    size_t count(const std::string& prefix, const std::string& suffix = "") {
        size_t n = 0;
        objects->list(prefix, [&](const ObjectInfo& o) { n += o.key.ends_with(suffix); });
        return n;
    }
    size_t packs() { return count("packs/", ".pack"); }
};

const std::string kIdentity = R"({"vm":{"id":"vm-1","name":"web"}})";

IndexTrailer store(Repository& repo, const std::string& name, const std::vector<unsigned char>& image) {
    ImageWriter w(repo, name, image.size(), 512, kIdentity);
    w.write(0, image.data(), image.size());
    w.commit();
    return w.totals();
}

const Emit ignore = [](const boost::json::object&) {};

GcReport gc(Bed& bed, int64_t grace = kDay) {
    auto repo = bed.process();
    auto r = collect_garbage(*repo, false, false, grace);
    INFO(boost::json::serialize(gc_report_json(r, false)));
    CHECK(!r.refused);
    CHECK(r.concurrent);
    return r;
}

}  // namespace

TEST_CASE("concurrent gc: a killed store's packs are condemned, then deleted only after the grace period",
          "[concurrent-gc]") {
    Bed bed;
    auto image = random_image(1 << 20, 1);
    store(*bed.process(), "a/T1/disk0", image);
    size_t good_packs = bed.packs();
    {
        // A store killed after its packs: its lease stays, its index never came.
        auto killed = bed.process();
        std::string lease = lease_text(false, bed.clock, 300);
        REQUIRE(bed.objects->create("locks/lock/s-killed", lease.data(), lease.size()));
        auto other = random_image(1 << 20, 2);
        Bytes scratch;
        for (size_t at = 0; at < other.size(); at += 65536)
            killed->store_chunk(chunk_id(other.data() + at, 65536, nullptr), other.data() + at, 65536, scratch);
        killed->chunks().sync();
    }
    REQUIRE(bed.packs() == good_packs + 1);

    auto first = gc(bed);  // new since the last generation: left for the next run
    CHECK(first.files_condemned == 0);
    CHECK(bed.count("packs/locators/") == 1);
    auto second = gc(bed);
    CHECK(second.files_condemned == 1);
    CHECK(second.files_removed == 0);
    CHECK(bed.packs() == good_packs + 1);

    bed.clock += 3600;  // the killed store's lease expired, the grace period (24 h) did not
    auto third = gc(bed);
    CHECK(third.lists_waiting_for_grace == 1);
    CHECK(third.files_removed == 0);
    CHECK(bed.packs() == good_packs + 1);

    bed.clock += kDay;
    auto fourth = gc(bed);
    CHECK(fourth.files_removed == 1);
    CHECK(bed.packs() == good_packs);
    auto repo = bed.process();
    CHECK(read_image(*repo, "a/T1/disk0") == image);
    CHECK(check(*repo, "", true, ignore) == 0);
    bed.clock += 2 * kDay;
    gc(bed);  // superseded locator generations go too: the newest, and the one before it still condemned
    CHECK(bed.count("packs/locators/") == 2);
    CHECK(bed.count("packs/condemned/") == 2);  // that list and its record
}

TEST_CASE("concurrent gc: a store after the list stores a condemned chunk again; one before it keeps its pack",
          "[concurrent-gc]") {
    Bed bed;
    auto image = random_image(1 << 20, 3);
    store(*bed.process(), "a/T1/disk0", image);
    gc(bed);  // its packs are covered by a generation
    remove_items(*bed.process(), "a/T1", ignore);

    SECTION("a store that looked its chunks up before the list: the list waits for its lease, the pack is kept") {
        auto early = bed.process();
        std::optional<ImageWriter> w;
        w.emplace(*early, "a/T2/disk0", image.size(), 512, kIdentity);
        // Its view of the packs loaded (as at its first lookup; its workers
        // look chunks up in the background) before gc runs.
        early->chunks().count_hint();
        w->write(0, image.data(), image.size());  // every chunk reused from the pack gc is about to condemn
        auto during = gc(bed, 0);
        CHECK(during.files_condemned == 1);
        w->commit();
        CHECK(w->totals().new_chunks == 0);
        auto waiting = gc(bed, 0);  // the store's lease is older than the list
        CHECK(waiting.lists_waiting_for_leases == 1);
        CHECK(waiting.files_removed == 0);
        w.reset();  // its lease ends
        auto after = gc(bed, 0);
        CHECK(after.condemned_rescued == 1);  // the fresh mark sees a/T2 using it
        CHECK(after.files_removed == 0);
        auto repo = bed.process();
        CHECK(read_image(*repo, "a/T2/disk0") == image);
        CHECK(check(*repo, "", true, ignore) == 0);
    }

    SECTION("a store that starts after the list stores every chunk again; the condemned pack is then deleted") {
        auto early = bed.process();
        std::optional<ImageWriter> w;
        w.emplace(*early, "a/T2/disk0", image.size(), 512, kIdentity);
        early->chunks().count_hint();  // its view loaded before the list
        w->write(0, image.data(), image.size());
        CHECK(gc(bed, 0).files_condemned == 1);
        w->commit();
        w.reset();
        auto later = store(*bed.process(), "a/T3/disk0", image);
        CHECK(later.new_chunks == later.chunks);  // only in a condemned pack: absent for a store
        CHECK(bed.packs() == 2);
        auto after = gc(bed, 0);  // both stores' leases ended
        CHECK(after.files_removed == 1);
        CHECK(bed.packs() == 1);
        auto repo = bed.process();
        CHECK(read_image(*repo, "a/T2/disk0") == image);  // its chunks now from a/T3's pack
        CHECK(read_image(*repo, "a/T3/disk0") == image);
        CHECK(check(*repo, "", true, ignore) == 0);
    }
}

TEST_CASE("concurrent gc: a reader whose lease predates the list blocks the deletion; it reads to the end",
          "[concurrent-gc]") {
    Bed bed;
    auto image = random_image(1 << 20, 4);
    store(*bed.process(), "a/T1/disk0", image);
    gc(bed);
    auto reading = bed.process();
    std::optional<ImageReader> r;
    r.emplace(*reading, "a/T1/disk0");
    remove_items(*bed.process(), "a/T1", ignore);  // prune removes the backup being restored
    CHECK(gc(bed, 0).files_condemned == 1);
    // Every lease older than the list holds it back, whatever the grace period.
    auto blocked = gc(bed, 0);
    CHECK(blocked.lists_waiting_for_leases == 1);
    CHECK(blocked.files_removed == 0);
    std::vector<unsigned char> got(r->size());
    r->read(0, got.data(), got.size());
    CHECK(got == image);
    r.reset();  // its lease ends
    auto after = gc(bed, 0);
    CHECK(after.files_removed == 1);
    CHECK(bed.packs() == 0);
}

TEST_CASE("concurrent gc: a pack rewritten is copied first, condemned, and deleted later", "[concurrent-gc]") {
    Bed bed;
    auto day1 = random_image(1 << 20, 6), day2 = random_image(1 << 20, 7);
    std::memcpy(day2.data(), day1.data(), 3 << 18);  // three quarters of day 1 stay in day 2
    store(*bed.process(), "a/T1/disk0", day1);
    store(*bed.process(), "a/T2/disk0", day2);
    gc(bed);
    size_t packs = bed.packs();
    remove_items(*bed.process(), "a/T1", ignore);  // a quarter of day 1's pack is dead now
    auto first = gc(bed, 0);
    CHECK(first.files_rewritten == 1);
    CHECK(first.files_condemned == 1);
    CHECK(first.files_removed == 0);
    CHECK(bed.packs() == packs + 1);  // the copy is there before the pack goes
    auto repo = bed.process();
    CHECK(read_image(*repo, "a/T2/disk0") == day2);
    auto second = gc(bed, 0);
    CHECK(second.files_removed == 1);
    CHECK(bed.packs() == packs);
    CHECK(read_image(*bed.process(), "a/T2/disk0") == day2);
    CHECK(check(*bed.process(), "", true, ignore) == 0);
}

TEST_CASE("concurrent gc: the mark finds the chunks of a store that committed after gc rebuilt the locator",
          "[concurrent-gc]") {
    Bed bed;
    store(*bed.process(), "a/T1/disk0", random_image(4 * 65536, 8));
    auto collector = bed.process();
    ChunkStore::ConcurrentGc c;
    c.lease_dir = "locks/lock/";
    REQUIRE(collector->chunks().begin_concurrent_gc(c, false));
    collector->chunks().rebuild(false, false);
    auto late = random_image(4 * 65536, 9);
    store(*bed.process(), "a/T2/disk0", late);  // its pack is in no generation yet
    CHECK(collector->chunks().contains(chunk_id(late.data() + 3 * 65536, 65536, nullptr)));
}

TEST_CASE("concurrent gc: stores never write the locator; gc writes generations, create-only", "[concurrent-gc]") {
    Bed bed;
    for (int i = 0; i < 40; ++i)  // more unmerged tables than a store leaves before it merges where it may
        store(*bed.process(), "a/T" + std::to_string(i) + "/disk0", random_image(65536, 100 + i));
    CHECK(!bed.objects->stat("packs/locator"));
    CHECK(bed.count("packs/locators/") == 0);
    CHECK(bed.count("packs/unmerged/") == 40);
    auto repo = bed.process();
    CHECK(read_image(*repo, "a/T7/disk0") == random_image(65536, 107));
    gc(bed);
    CHECK(bed.count("packs/locators/") == 1);
    CHECK(bed.count("packs/unmerged/") == 0);
    store(*bed.process(), "a/U/disk0", random_image(65536, 999));
    CHECK(bed.count("packs/unmerged/") == 1);
    auto fresh = bed.process();  // the newest generation plus the tables written after it
    CHECK(read_image(*fresh, "a/T7/disk0") == random_image(65536, 107));
    CHECK(read_image(*fresh, "a/U/disk0") == random_image(65536, 999));
    CHECK(check(*fresh, "", false, ignore) == 0);
}

TEST_CASE("concurrent gc on RGW: condemn beside a reader, delete once its lease ended", "[.][s3]") {
    Bed bed(s3_test::fresh_store());
    auto image = random_image(1 << 20, 5);
    store(*bed.process(), "a/T1/disk0", image);
    gc(bed);
    auto reading = bed.process();
    std::optional<ImageReader> r;
    r.emplace(*reading, "a/T1/disk0");
    remove_items(*bed.process(), "a/T1", ignore);
    CHECK(gc(bed, 0).files_condemned == 1);
    CHECK(gc(bed, 0).files_removed == 0);  // the reader's lease is older than the list
    std::vector<unsigned char> got(r->size());
    r->read(0, got.data(), got.size());
    CHECK(got == image);
    r.reset();
    CHECK(gc(bed, 0).files_removed == 1);
    CHECK(bed.packs() == 0);
    CHECK(bed.count("packs/locators/") == 2);  // the newest, and the one it superseded (condemned)
}

// A store killed after its pack's table went up but before the pack (the
// pack's PUT runs in the background): a later store of the same chunks finds
// that pack missing and stores them again. Readers then see two copies of
// each chunk in the unmerged tables and must take the one that exists,
// whichever table they read first (pack names are random: several rounds).
TEST_CASE("concurrent gc: a table whose pack never came does not hide the copy stored again", "[concurrent-gc]") {
    for (uint64_t round = 0; round < 8; ++round) {
        Bed bed;
        auto image = random_image(1 << 20, 10 + round);
        std::set<std::string> before;
        bed.objects->list("packs/", [&](const ObjectInfo& o) { before.insert(o.key); });
        {
            auto killed = bed.process();
            Bytes scratch;
            for (size_t at = 0; at < image.size(); at += 65536)
                killed->store_chunk(chunk_id(image.data() + at, 65536, nullptr), image.data() + at, 65536, scratch);
            killed->chunks().sync();
        }
        std::vector<std::string> lost;
        bed.objects->list("packs/", [&](const ObjectInfo& o) {
            if (o.key.ends_with(".pack") && !before.count(o.key)) lost.push_back(o.key);
        });
        REQUIRE(lost.size() == 1);
        bed.objects->remove(lost);  // its table stays in packs/unmerged/

        auto totals = store(*bed.process(), "a/T1/disk0", image);
        CHECK(totals.new_chunks == image.size() / 65536);  // none taken from the lost pack
        auto repo = bed.process();
        CHECK(read_image(*repo, "a/T1/disk0") == image);
        CHECK(check(*repo, "", true, ignore) == 0);
    }
}
